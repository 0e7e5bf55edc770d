#!/usr/bin/env bash
# The README's first command: bring up the local real cluster, `helm install` bosun's chart, run
# `bosun run` and `bosun dns` as processes authenticated as the chart's ServiceAccounts (so the
# chart's RBAC is what they get), apply the examples, roll out an update and show what a user
# sees, ending with a DNS answer. Leaves the cluster and bosun running.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=cluster/lib.sh
. "$here/cluster/lib.sh"
export KUBECONFIG=$KUBECONFIG_PATH
top=$(cd "$here/.." && pwd)
RELEASE=bosun
NS=bosun-system
# Moved by BOSUN_PORT_OFFSET like the cluster's ports, with bases 100 apart (cluster/lib.sh).
DNS_PORT=$((10053 + off))
CONTROLLER_METRICS=127.0.0.1:$((18080 + off))
DNS_METRICS=127.0.0.1:$((18180 + off))

say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
run() { say "$*"; "$@"; }

"$here/cluster/up.sh"
run kubectl get nodes -L topology.kubernetes.io/zone

say "cargo build -p bosun   # bosun and the kubectl-bosun plugin"
(cd "$top" && cargo build -q -p bosun)
export PATH="$top/target/debug:$PATH"

# CRDs applied by an earlier `make e2e` belong to no release, or to a release since uninstalled
# (the chart keeps its CRDs): hand them to this one, as Helm documents for adopting objects. If
# another live release owns them, leave them to it.
crd_flags=()
for crd in deployments.apps.bosun.dev replicasets.apps.bosun.dev endpointslices.discovery.bosun.dev dnsrecordsets.dns.bosun.dev; do
  kubectl get crd "$crd" >/dev/null 2>&1 || continue
  owner=$(kubectl get crd "$crd" -o jsonpath='{.metadata.annotations.meta\.helm\.sh/release-name}')
  owner_ns=$(kubectl get crd "$crd" -o jsonpath='{.metadata.annotations.meta\.helm\.sh/release-namespace}')
  if [ -n "$owner" ] && { [ "$owner/$owner_ns" = "$RELEASE/$NS" ] || helm status "$owner" -n "$owner_ns" >/dev/null 2>&1; }; then
    [ "$owner/$owner_ns" = "$RELEASE/$NS" ] || crd_flags=(--set crds.install=false)
    continue
  fi
  kubectl label --overwrite crd "$crd" app.kubernetes.io/managed-by=Helm >/dev/null
  kubectl annotate --overwrite crd "$crd" meta.helm.sh/release-name=$RELEASE meta.helm.sh/release-namespace=$NS >/dev/null
done
# kwok's nodes cannot run containers, so the chart's own pods would only be played by kwok:
# scale them to 0 and run the same binary here, with the chart's ServiceAccounts.
run helm upgrade --install $RELEASE "$top/charts/bosun" --namespace $NS --create-namespace \
  --set controller.replicas=0 --set dns.replicas=0 "${crd_flags[@]}" --wait
run kubectl get crd -l app.kubernetes.io/managed-by=Helm

# A kubeconfig holding a ServiceAccount's token (`kubectl create token`).
sa_kubeconfig() {
  local sa=$1 out=$DIR/$1.kubeconfig token server
  token=$(kubectl create token "$sa" -n $NS --duration=24h)
  server=$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}')
  rm -f "$out"
  kubectl config --kubeconfig "$out" set-cluster local --server "$server" \
    --certificate-authority "$DIR/pki/ca.crt" --embed-certs >/dev/null
  kubectl config --kubeconfig "$out" set-credentials "$sa" --token "$token" >/dev/null
  kubectl config --kubeconfig "$out" set-context "$sa" --cluster local --user "$sa" >/dev/null
  kubectl config --kubeconfig "$out" use-context "$sa" >/dev/null
  echo "$out"
}
ctl_kc=$(sa_kubeconfig $RELEASE-controller)
dns_kc=$(sa_kubeconfig $RELEASE-dns)
if ! alive bosun; then
  say "bosun run --leader-elect ... &   # as system:serviceaccount:$NS:$RELEASE-controller; log: $DIR/logs/bosun.log"
  KUBECONFIG=$ctl_kc POD_NAMESPACE=$NS POD_NAME=demo start bosun "$top/target/debug/bosun" run \
    --leader-elect --lease-name $RELEASE-controller --metrics-addr "$CONTROLLER_METRICS"
fi
if ! alive bosun-dns; then
  say "bosun dns --listen 127.0.0.1:$DNS_PORT &   # as system:serviceaccount:$NS:$RELEASE-dns; log: $DIR/logs/bosun-dns.log"
  # Names outside the cluster are forwarded to --upstream. The demo (which CI runs) sends
  # nothing off this machine: by default its upstream is loopback port 9, where nothing
  # answers (SERVFAIL); BOSUN_DEMO_DNS_UPSTREAM=<IP[:port]> names a real resolver.
  KUBECONFIG=$dns_kc start bosun-dns "$top/target/debug/bosun" dns \
    --listen 127.0.0.1:$DNS_PORT --metrics-addr "$DNS_METRICS" \
    --upstream "${BOSUN_DEMO_DNS_UPSTREAM:-127.0.0.1:9}"
fi
# until WHAT SECONDS COMMAND...: poll COMMAND until it succeeds; on timeout show bosun's logs.
until_ok() {
  local what=$1 secs=$2; shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "ERROR: $what: not after ${secs}s"
      tail -n 20 "$DIR/logs/bosun.log" "$DIR/logs/bosun-dns.log" >&2
      exit 1
    fi
    sleep 0.2
  done
}
leads() { [ "$(kubectl get lease -n $NS $RELEASE-controller -o jsonpath='{.spec.holderIdentity}' 2>/dev/null)" != "" ]; }
until_ok "bosun run holds the lease" 60 leads
until_ok "bosun dns is ready" 60 curl -fsS "http://$DNS_METRICS/readyz"
run kubectl get lease -n $NS $RELEASE-controller

run kubectl apply -f "$top/manifests/deployment.yaml" -f "$top/manifests/services.yaml"
run kubectl bosun rollout status deploy/web --timeout=120s
run kubectl get bdeploy,brs,pods -o wide

say "kubectl bosun set image deploy/web nginx=nginx:1.28   # a rolling update"
kubectl bosun set image deploy/web nginx=nginx:1.28
run kubectl bosun rollout status deploy/web --timeout=120s
run kubectl bosun rollout history deploy/web
run kubectl get bdeploy,brs,beps,bdns
run kubectl bosun describe deploy web

say "dig @127.0.0.1 -p $DNS_PORT web.default.svc.cluster.local A +short"
dig @127.0.0.1 -p $DNS_PORT web.default.svc.cluster.local A +short
say "dig @127.0.0.1 -p $DNS_PORT web-headless.default.svc.cluster.local A +short"
dig @127.0.0.1 -p $DNS_PORT web-headless.default.svc.cluster.local A +short
say "dig @127.0.0.1 -p $DNS_PORT _http._tcp.web.default.svc.cluster.local SRV +noall +answer"
dig @127.0.0.1 -p $DNS_PORT _http._tcp.web.default.svc.cluster.local SRV +noall +answer

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

The cluster, bosun run and bosun dns keep running. Use them from your shell with:
  export KUBECONFIG=$KUBECONFIG_PATH PATH=$top/target/debug:$BIN:\$PATH
  kubectl get bdeploy,brs,beps,bdns; kubectl bosun rollout history deploy/web
  dig @127.0.0.1 -p $DNS_PORT web-headless.default.svc.cluster.local
  curl -s http://$CONTROLLER_METRICS/metrics | grep bosun_reconcile_total
Logs: $DIR/logs/bosun.log and $DIR/logs/bosun-dns.log. Stop everything with:
  make cluster-down
EOF
