#!/usr/bin/env bash
# Render the krew manifest plugins/bosun.yaml for a release: each platform's `sha256:` becomes
# the checksum, from CHECKSUMS (sha256sum's format), of the archive its `uri` names.
#
#   hack/release/krew-manifest.sh TAG CHECKSUMS OUT_DIR     writes OUT_DIR/bosun.yaml
#
# Fails, writing nothing, when spec.version is not TAG, when a uri is not under the release
# TAG's downloads, when an archive has no well-formed line in CHECKSUMS, or when a platform's
# sha256 does not follow its uri. (krew names a plugin after its manifest's file: bosun.yaml.)
# Checksums are written quoted: YAML would read one of only digits as a number.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
[ $# -eq 3 ] || { echo "usage: hack/release/krew-manifest.sh TAG CHECKSUMS OUT_DIR" >&2; exit 2; }
tag=$1 checksums=$2 out=$3
[ -r "$checksums" ] || { echo "krew-manifest: cannot read $checksums" >&2; exit 1; }
mkdir -p "$out"
awk -v tag="$tag" -v sums="$checksums" '
  function fail(msg) { print "krew-manifest: plugins/bosun.yaml:" NR ": " msg > "/dev/stderr"; bad = 1 }
  BEGIN {
    while ((getline line < sums) > 0) {
      # "<sha256>  <file>" (or " *<file>", binary mode)
      if (split(line, f, /[ \t]+\*?/) == 2 && f[1] ~ /^[0-9a-f]+$/ && length(f[1]) == 64) sum[f[2]] = f[1]
    }
  }
  # The template'"'"'s own header comment is not the rendered file'"'"'s.
  /^apiVersion:/ && !body {
    body = 1
    print "# The krew manifest of kubectl-bosun " tag ": plugins/bosun.yaml with the release'"'"'s checksums,"
    print "# rendered by hack/release/krew-manifest.sh."
  }
  !body { next }
  /^  version:/ {
    v = $2; gsub(/["\047]/, "", v)
    if (v != tag) fail("spec.version is " v ", not " tag)
    seen_version = 1
  }
  /^[ \t-]*uri:/ {
    uri = $NF; asset = uri; sub(/.*\//, "", asset)
    if (index(uri, "/releases/download/" tag "/") == 0) fail(uri " is not among the downloads of release " tag)
    if (!(asset in sum)) fail("no sha256 of " asset " in " sums)
    pending = asset; uris++
  }
  /^[ \t-]*sha256:/ {
    if (pending == "") fail("a sha256 with no uri before it")
    else { sub(/sha256:.*/, "sha256: \"" sum[pending] "\""); shas++ }
    pending = ""
  }
  { print }
  END {
    if (!seen_version) fail("no spec.version")
    if (uris == 0) fail("no platform has a uri")
    if (uris != shas) fail(uris " uris but " shas " sha256 fields")
    exit bad
  }
' "$root/plugins/bosun.yaml" > "$out/bosun.yaml.tmp" || { rm -f "$out/bosun.yaml.tmp"; exit 1; }
mv "$out/bosun.yaml.tmp" "$out/bosun.yaml"
