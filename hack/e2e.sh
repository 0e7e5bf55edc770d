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
# Likewise the chart's controllers that `make demo` runs in Pods on the real node: scaled to 0
# for the suite of host processes, installed again for the in-cluster suite below.
if [ "${BOSUN_E2E_CONTROLLER:-}" != external ] &&
  [ "$(kubectl -n bosun-system get deploy bosun-controller -o jsonpath='{.spec.replicas}' 2>/dev/null || echo 0)" != 0 ]; then
  log "scaling the chart's controllers to 0: the tests run their own"
  kubectl -n bosun-system scale deploy bosun-controller --replicas=0 >/dev/null
  kubectl -n bosun-system wait --for=delete pod -l app.kubernetes.io/component=controller --timeout=60s >/dev/null
fi
# The tests start `bosun run` themselves unless BOSUN_E2E_CONTROLLER=external.
cargo build -p bosun
export BOSUN_BIN=${BOSUN_BIN:-$(cd "$here/.." && pwd)/target/debug/bosun}
log "end-to-end tests against $(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}')"
rc=0
cargo test -p bosun-e2e --no-fail-fast -- --test-threads="${E2E_THREADS:-4}" || rc=$?

# bosun as its users run it: the chart with bosun's own image on the real node, and the suite
# that tests it there (tests/tests/in_cluster.rs), one test at a time.
if [ "$REAL_NODES" != 0 ] && [ "$KUBECONFIG" = "$KUBECONFIG_PATH" ]; then
  t0=$SECONDS
  "$here/install.sh"
  log "the in-cluster suite against the chart's bosun on the real node"
  BOSUN_E2E_IMAGE_LOADER="$here/cluster/node.sh import" \
    cargo test -p bosun-e2e --features in-cluster --test in_cluster -- --test-threads=1 --nocapture || rc=$?
  log "install and in-cluster suite: $((SECONDS - t0))s"
else
  log "no real node (BOSUN_REAL_NODES=0 or another cluster): the in-cluster suite does not run here"
fi
exit $rc
