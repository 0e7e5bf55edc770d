#!/usr/bin/env bash
# The chart's CRD templates are generated from the top-level crds/ (themselves generated from the
# Rust types by `make crds`): each is the crds/ file verbatim, wrapped in `crds.install` and given
# the chart's labels and, with `crds.keep`, `helm.sh/resource-policy: keep`.
#
#   hack/chart-crds.sh          regenerate charts/bosun/templates/crds/
#   hack/chart-crds.sh --check  fail when they drifted from crds/ (run by `make chart-lint`)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
src=$top/crds
dst=$top/charts/bosun/templates/crds

# Print the chart template of one crds/ file. The file must begin with exactly
# apiVersion / kind / metadata / `  name:` (what `bosun crds` writes); anything else fails, so a
# change of the generator cannot silently produce a template that differs from crds/.
render() {
  local file=$1
  awk -v src="crds/$(basename "$file")" '
    NR == 1 && $0 != "apiVersion: apiextensions.k8s.io/v1" { bad = 1 }
    NR == 2 && $0 != "kind: CustomResourceDefinition" { bad = 1 }
    NR == 3 && $0 != "metadata:" { bad = 1 }
    NR == 4 && $0 !~ /^  name: [a-z0-9.-]+$/ { bad = 1 }
    NR == 5 && $0 !~ /^spec:$/ { bad = 1 }
    /\{\{/ { bad = 1 }
    bad { printf "%s: line %d is not what hack/chart-crds.sh expects: %s\n", src, NR, $0 > "/dev/stderr"; exit 1 }
    NR == 1 {
      print "{{- /* Generated from " src " by `make chart-crds`; do not edit. */}}"
      print "{{- if .Values.crds.install }}"
    }
    { print }
    NR == 4 {
      print "  labels:"
      print "    {{- include \"bosun.labels\" . | nindent 4 }}"
      print "  {{- if .Values.crds.keep }}"
      print "  annotations:"
      print "    # helm uninstall keeps the CRDs, and with them every user object of these kinds."
      print "    helm.sh/resource-policy: keep"
      print "  {{- end }}"
    }
    END { if (!bad) print "{{- end }}" }
  ' "$file"
}

check=false
[ "${1:-}" = "--check" ] && check=true
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for f in "$src"/*.yaml; do
  render "$f" >"$out/$(basename "$f")"
done
if $check; then
  if ! diff -ru "$dst" "$out" >&2; then
    echo "charts/bosun/templates/crds/ drifted from crds/: run \`make chart-crds\`" >&2
    exit 1
  fi
  echo "charts/bosun/templates/crds/ matches crds/"
else
  rm -rf "$dst"
  mkdir -p "$dst"
  cp "$out"/*.yaml "$dst"/
  echo "wrote $(ls "$dst" | wc -l) CRD templates to charts/bosun/templates/crds/"
fi
