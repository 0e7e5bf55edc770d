#!/usr/bin/env bash
# actionlint (ACTIONLINT_VERSION in hack/cluster/versions.env, built from the Go module proxy by
# hack/cluster/build.sh and cached by version under ~/.cache/bosun/bin) over every workflow in
# .github/workflows/. actionlint runs shellcheck on each `run:` script when shellcheck is on PATH
# (hack/deps.sh installs it); without it that part is skipped, and this says so.
#
#   hack/lint-workflows.sh [actionlint flags]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=cluster/versions.env
. "$root/hack/cluster/versions.env"
bin=${BOSUN_CACHE:-$HOME/.cache/bosun}/bin
"$root/hack/cluster/build.sh" actionlint 2>&1 | grep -v '^\[build\] binaries ready' >&2 || true
actionlint=$bin/actionlint-$ACTIONLINT_VERSION
[ -x "$actionlint" ] || { echo "lint-workflows: $actionlint was not built" >&2; exit 1; }
command -v shellcheck >/dev/null 2>&1 ||
  echo "[lint-workflows] shellcheck is not installed: the run: scripts are not shellchecked" >&2
cd "$root"
shopt -s nullglob
workflows=(.github/workflows/*.yml .github/workflows/*.yaml)
[ ${#workflows[@]} -gt 0 ] || { echo "lint-workflows: no workflow in .github/workflows" >&2; exit 1; }
printf '[lint-workflows] actionlint %s: %s\n' "$ACTIONLINT_VERSION" "${workflows[*]}" >&2
"$actionlint" "$@" "${workflows[@]}"
