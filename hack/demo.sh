#!/usr/bin/env bash
# The README's first command: bring up the local real cluster, install bosun's CRDs, apply the
# examples and show what a user sees. Leaves the cluster running.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=cluster/lib.sh
. "$here/cluster/lib.sh"
export KUBECONFIG=$KUBECONFIG_PATH
top=$(cd "$here/.." && pwd)

say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
run() { say "$*"; "$@"; }

"$here/cluster/up.sh"
run kubectl get nodes
say "bosun crds | kubectl apply --server-side -f -"
(cd "$top" && cargo run -q -p bosun -- crds) | kubectl apply --server-side -f -
run kubectl wait --for condition=Established --timeout=60s crd \
  deployments.apps.bosun.dev replicasets.apps.bosun.dev endpointslices.discovery.bosun.dev dnsrecordsets.dns.bosun.dev
say "cargo build -p bosun   # bosun and the kubectl-bosun plugin"
(cd "$top" && cargo build -q -p bosun)
export PATH="$top/target/debug:$PATH"
if ! alive bosun; then
  say "bosun run &   # the controllers; log: $DIR/logs/bosun.log"
  start bosun "$top/target/debug/bosun" run
fi
run kubectl apply -f "$top/manifests/deployment.yaml"
run kubectl bosun rollout status deploy/web --timeout=120s
run kubectl get bdeploy,brs,pods -o wide
say "kubectl patch bdeploy web ... nginx:1.28   # a rolling update"
kubectl patch bdeploy web --type=merge \
  -p '{"spec":{"template":{"spec":{"containers":[{"name":"nginx","image":"nginx:1.28"}]}}}}'
run kubectl bosun rollout status deploy/web --timeout=120s
run kubectl get bdeploy,brs
run kubectl bosun rollout history deploy/web
run kubectl describe bdeploy web
run kubectl scale bdeploy web --replicas=5
run kubectl bosun rollout status deploy/web --timeout=120s
run kubectl explain bdeploy.spec.strategy
say "kubectl apply -f - (a Deployment whose selector does not match its template's labels)"
kubectl apply -f - <<'YAML' || true
apiVersion: apps.bosun.dev/v1
kind: Deployment
metadata:
  name: broken
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: api}
    spec:
      containers: [{name: c, image: nginx}]
YAML

cat <<EOF

The cluster and bosun keep running. Use them from your shell with:
  export KUBECONFIG=$KUBECONFIG_PATH PATH=$top/target/debug:$BIN:\$PATH
  kubectl get bdeploy,brs,pods; kubectl bosun rollout history deploy/web
Stop both with:
  make cluster-down
EOF
