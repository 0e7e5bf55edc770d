#!/usr/bin/env bash
# The krew manifest plugins/bosun.yaml through krew's own checks (krew KREW_VERSION, built from
# the Go module proxy by hack/cluster/build.sh and cached by version).
#
#   hack/release/check-krew.sh        before a release (`make release-lint`): no archive exists
#                                     yet, so it renders the manifest with a fake, well-formed
#                                     checksum (64 zeros) for every archive it names and runs
#                                     validate-krew-manifest -skip-install on the result: krew's
#                                     structural validation, nothing downloaded.
#   hack/release/check-krew.sh DIST   DIST holds a release's archives and checksums.txt (release.yml,
#                                     or hack/release/dist.sh locally): the manifest rendered with
#                                     them into DIST/bosun.yaml, validated as above, then installed
#                                     by krew for each platform whose archive is in DIST, offline:
#                                     `krew install --manifest --archive` with KREW_OS/KREW_ARCH set,
#                                     as validate-krew-manifest's own install step but without the
#                                     download. krew checks the sha256; the install must leave
#                                     kubectl-bosun on krew's bin path and a LICENSE in the store.
#
# Either way the manifest's spec.version must be v<appVersion> (hack/release/check-tag.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../cluster/versions.env
. "$root/hack/cluster/versions.env"
bin=${BOSUN_CACHE:-$HOME/.cache/bosun}/bin
log() { printf '[krew] %s\n' "$*" >&2; }
dist=${1:-}

tag=v$("$root/hack/release/check-tag.sh")
tools=(validate-krew-manifest)
[ -n "$dist" ] && tools+=(krew)
"$root/hack/cluster/build.sh" "${tools[@]}" 2>&1 | grep -v '^\[build\] binaries ready' >&2 || true
validate=$bin/validate-krew-manifest-$KREW_VERSION
[ -x "$validate" ] || { echo "check-krew: $validate was not built" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -z "$dist" ]; then
  # The archives the manifest names, each with a checksum no real archive has.
  sed -n 's|^[[:space:]-]*uri:[[:space:]]*\(.*/\)\{0,1\}\([^/[:space:]]*\)[[:space:]]*$|\2|p' "$root/plugins/bosun.yaml" |
    while read -r asset; do printf '%064d  %s\n' 0 "$asset"; done > "$work/checksums.txt"
  "$root/hack/release/krew-manifest.sh" "$tag" "$work/checksums.txt" "$work"
  manifest=$work/bosun.yaml
else
  [ -r "$dist/checksums.txt" ] || { echo "check-krew: no $dist/checksums.txt" >&2; exit 1; }
  "$root/hack/release/krew-manifest.sh" "$tag" "$dist/checksums.txt" "$dist"
  manifest=$dist/bosun.yaml
fi

log "validate-krew-manifest $KREW_VERSION -skip-install ($([ -z "$dist" ] && echo "fake checksums" || echo "$dist/checksums.txt"))"
"$validate" -manifest "$manifest" -skip-install >"$work/validate.log" 2>&1 || {
  cat "$work/validate.log" >&2; echo "check-krew: validate-krew-manifest refused the manifest" >&2; exit 1; }
[ -n "$dist" ] || exit 0

krew=$bin/krew-$KREW_VERSION
[ -x "$krew" ] || { echo "check-krew: $krew was not built" >&2; exit 1; }
host=$(uname -s | tr '[:upper:]' '[:lower:]')/$(uname -m | sed 's/x86_64/amd64/;s/aarch64/arm64/')
installed=0
for archive in "$dist"/kubectl-bosun_"$tag"_*_*.tar.gz; do
  [ -e "$archive" ] || continue
  platform=${archive##*/kubectl-bosun_"$tag"_}; platform=${platform%.tar.gz}
  os=${platform%_*} arch=${platform#*_}
  root_dir=$work/krew-$os-$arch
  log "krew install --manifest --archive $(basename "$archive") (KREW_OS=$os KREW_ARCH=$arch)"
  if ! env -i PATH="$PATH" HOME="$work" KREW_ROOT="$root_dir" KREW_OS="$os" KREW_ARCH="$arch" \
    "$krew" install --manifest="$manifest" --archive="$archive" >"$work/install.log" 2>&1; then
    cat "$work/install.log" >&2; echo "check-krew: krew could not install $archive" >&2; exit 1
  fi
  [ -x "$root_dir/bin/kubectl-bosun" ] || { echo "check-krew: no kubectl-bosun on krew's bin path after installing $archive" >&2; exit 1; }
  [ -f "$root_dir/store/bosun/$tag/LICENSE" ] || { echo "check-krew: no LICENSE in krew's store after installing $archive" >&2; exit 1; }
  if [ "$os/$arch" = "$host" ]; then
    log "kubectl-bosun from krew's bin path: $("$root_dir/bin/kubectl-bosun" --version)"
  fi
  installed=$((installed + 1))
done
[ "$installed" -gt 0 ] || { echo "check-krew: no kubectl-bosun_${tag}_<os>_<arch>.tar.gz in $dist" >&2; exit 1; }
log "installed $installed of the manifest's platforms from $dist with krew $KREW_VERSION"
