#!/usr/bin/env bash
# Stop every process the local cluster started and remove its state (the etcd data).
#   --keep-pki  keep the certificates and kubeconfigs (a restart then keeps clients' credentials)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
keep_pki=false
[ "${1:-}" = --keep-pki ] && keep_pki=true

# The real node first, while the apiserver still runs (its Pods are deleted through it).
if [ -d "$DIR/node" ]; then
  "$here/node.sh" down || log "WARNING: the real node's teardown failed (see above)"
fi

stopped=()
for c in "${EXTRAS[@]}" "${COMPONENTS[@]}"; do
  pidfile=$DIR/run/$c.pid
  [ -f "$pidfile" ] || continue
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    stopped+=("$c:$pid")
  fi
  rm -f "$pidfile"
done
# Wait for them to exit (etcd and the apiserver flush on SIGTERM), then make sure.
for entry in "${stopped[@]}"; do
  pid=${entry#*:}
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$pid" 2>/dev/null || true
done
rm -rf "$DIR/etcd-data" "$DIR/run"
if ! $keep_pki; then
  rm -rf "$DIR/pki" "$DIR"/*.kubeconfig "$DIR/kubeconfig"
fi
[ ${#stopped[@]} -gt 0 ] && log "stopped ${stopped[*]%%:*}"
exit 0
