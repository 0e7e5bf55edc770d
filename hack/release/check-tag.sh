#!/usr/bin/env bash
# The version a release of this tree has, and the check release.yml runs first on a tag push.
#
#   hack/release/check-tag.sh          prints the chart's appVersion (a release's tag is v<appVersion>)
#   hack/release/check-tag.sh TAG      the same, and fails unless TAG is v<appVersion>
#
# Also fails unless the chart's version and the Cargo workspace's version equal appVersion: the
# tag names the image (tagged <appVersion>), the chart (pushed as version <version>) and the
# binaries (`--version` prints Cargo's), and Chart.yaml says the three share one version.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
fail() { echo "check-tag: $*" >&2; exit 1; }

# A top-level `key: value` of Chart.yaml, quotes removed.
chart_field() {
  sed -n "s/^$1:[[:space:]]*[\"']\{0,1\}\([^\"'#[:space:]]*\)[\"']\{0,1\}[[:space:]]*\(#.*\)\{0,1\}$/\1/p" \
    "$root/charts/bosun/Chart.yaml"
}
app=$(chart_field appVersion)
chart=$(chart_field version)
cargo=$(sed -n '/^\[workspace\.package\]/,/^\[/s/^version[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' "$root/Cargo.toml")

[[ $app =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] ||
  fail "charts/bosun/Chart.yaml: appVersion '${app}' is not a semantic version X.Y.Z"
[ "$chart" = "$app" ] || fail "charts/bosun/Chart.yaml: version '$chart' differs from appVersion '$app'"
[ "$cargo" = "$app" ] || fail "Cargo.toml: [workspace.package] version '$cargo' differs from the chart's appVersion '$app'"
if [ $# -gt 0 ]; then
  [ "$1" = "v$app" ] || fail "the tag '$1' is not v<appVersion> = 'v$app' (charts/bosun/Chart.yaml)"
fi
echo "$app"
