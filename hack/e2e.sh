#!/usr/bin/env bash
# Run the end-to-end suite against the cluster KUBECONFIG names. When that is the project's
# local cluster and it is not up, start it, and stop it again afterwards (CI starts with nothing
# running and must end the same way).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=cluster/lib.sh
. "$here/cluster/lib.sh"
export KUBECONFIG=${KUBECONFIG:-$KUBECONFIG_PATH}

started=false
if ! kubectl get --raw /readyz >/dev/null 2>&1; then
  if [ "$KUBECONFIG" != "$KUBECONFIG_PATH" ]; then
    log "KUBECONFIG=$KUBECONFIG names no reachable cluster"
    exit 1
  fi
  "$here/cluster/up.sh"
  started=true
fi
cleanup() {
  local rc=$?
  if [ $rc -ne 0 ] && $started; then tails_all; fi
  if $started; then "$here/cluster/down.sh"; fi
  exit $rc
}
tails_all() {
  local c
  for c in "${COMPONENTS[@]}"; do
    [ -f "$DIR/logs/$c.log" ] && { printf '\n----- %s (last 15 lines) -----\n' "$c"; tail -n 15 "$DIR/logs/$c.log"; }
  done >&2
}
trap cleanup EXIT

# The tests start `bosun run` themselves unless BOSUN_E2E_CONTROLLER=external: a bosun left running
# by `make demo` would act beside theirs, so stop it (`make demo` starts it again).
if [ "${BOSUN_E2E_CONTROLLER:-}" != external ]; then
  for c in "${EXTRAS[@]}"; do
    if alive "$c"; then
      log "stopping the demo's $c: the tests run their own"
      kill -TERM -- "-$(cat "$DIR/run/$c.pid")" 2>/dev/null || kill -TERM "$(cat "$DIR/run/$c.pid")" 2>/dev/null || true
      rm -f "$DIR/run/$c.pid"
    fi
  done
fi
# The tests start `bosun run` themselves unless BOSUN_E2E_CONTROLLER=external.
cargo build -p bosun
export BOSUN_BIN=${BOSUN_BIN:-$(cd "$here/.." && pwd)/target/debug/bosun}
log "end-to-end tests against $(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}')"
cargo test -p bosun-e2e --no-fail-fast -- --test-threads="${E2E_THREADS:-4}"
