#!/usr/bin/env bash
# Package the chart and push it as an OCI artifact (release.yml, after `helm registry login`).
#
#   hack/release/push-chart.sh OCI_REPO [helm push flags]     e.g. oci://ghcr.io/bosun-dev/charts
#
# `helm package charts/bosun` into target/chart, then `helm push` to OCI_REPO (the chart lands
# at OCI_REPO/bosun:<chart version>). Prints the pushed chart by digest,
# REGISTRY/PATH/bosun@sha256:..., the reference cosign signs; helm's own output goes to stderr.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
[ $# -ge 1 ] || { echo "usage: hack/release/push-chart.sh oci://REGISTRY/PATH [helm push flags]" >&2; exit 2; }
repo=$1; shift
case $repo in oci://*) ;; *) echo "push-chart: $repo is not an oci:// reference" >&2; exit 2 ;; esac
out=$root/target/chart
rm -rf "$out"; mkdir -p "$out"
helm package "$root/charts/bosun" --destination "$out" >&2
pkgs=("$out"/bosun-*.tgz)
if [ ${#pkgs[@]} -ne 1 ] || [ ! -f "${pkgs[0]}" ]; then
  echo "push-chart: helm package wrote no single chart archive" >&2; exit 1
fi
# helm push reports "Pushed: REF" and "Digest: sha256:..." on stderr.
log=$out/push.log
helm push "${pkgs[0]}" "$repo" "$@" 2>&1 | tee "$log" >&2
pushed=$(sed -n 's/^Pushed: //p' "$log")
digest=$(sed -n 's/^Digest: //p' "$log")
[[ $digest =~ ^sha256:[0-9a-f]{64}$ ]] || { echo "push-chart: no digest in helm push's output" >&2; exit 1; }
[ -n "$pushed" ] || { echo "push-chart: no 'Pushed:' line in helm push's output" >&2; exit 1; }
echo "${pushed%:*}@$digest"
