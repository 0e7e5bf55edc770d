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
run kubectl apply -f "$top/manifests/deployment.yaml"
run kubectl get bdeploy
run kubectl scale bdeploy web --replicas=5
run kubectl get bdeploy web -o jsonpath='{.spec.replicas}{"\n"}'
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

The cluster keeps running. Use it from your shell with:
  export KUBECONFIG=$KUBECONFIG_PATH PATH=$BIN:\$PATH
Stop it with:
  make cluster-down
EOF
