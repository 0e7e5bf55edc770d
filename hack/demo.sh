#!/usr/bin/env bash
# The README's first command: bring up the local real cluster (kwok nodes and one real node),
# build bosun's image and `helm install` its chart with it, so the controllers (2 replicas,
# leader election) and `bosun dns` (2 replicas, the cluster's DNS) run as Pods on the real node.
# Then what a user sees: the examples on kwok nodes, a rolling update, `kubectl bosun describe`;
# the tutorial's app on the real node reached with curl through kube-proxy, a rolling update
# under a request loop with the count of failed requests, a Pod resolving names through bosun
# dns, and a selector-less Service that kube-proxy routes through bosun's mirrored slices.
# Leaves the cluster and bosun running.
#
# BOSUN_REAL_NODES=0 (no real node: no root, or no cgroups) runs `bosun run` and `bosun dns` as
# host processes with the chart's ServiceAccounts instead, and skips the real node's part.
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
# until WHAT SECONDS COMMAND...: poll COMMAND until it succeeds; on timeout show what explains it.
until_ok() {
  local what=$1 secs=$2; shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "ERROR: $what: not after ${secs}s"
      if [ "$REAL_NODES" = 0 ]; then
        tail -n 20 "$DIR/logs/bosun.log" "$DIR/logs/bosun-dns.log" >&2
      else
        kubectl -n $NS get pods -o wide >&2 || true
        kubectl -n $NS logs -l app.kubernetes.io/component=controller --tail=20 --prefix >&2 || true
      fi
      exit 1
    fi
    sleep 0.2
  done
}

"$here/cluster/up.sh"
run kubectl get nodes -L topology.kubernetes.io/zone

say "cargo build -p bosun   # bosun and the kubectl-bosun plugin"
(cd "$top" && cargo build -q -p bosun)
export PATH="$top/target/debug:$PATH"

# No real node: the chart's Pods could only be played by kwok, so scale them to 0 and run the
# same binary here, with the chart's ServiceAccounts.
host_processes() {
# CRDs applied by an earlier `make e2e` belong to no release, or to a release since uninstalled
  # (the chart keeps its CRDs): hand them to this one, as Helm documents for adopting objects. If
  # another live release owns them, leave them to it.
  "$here/install.sh"
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
  leads() { [ "$(kubectl get lease -n $NS $RELEASE-controller -o jsonpath='{.spec.holderIdentity}' 2>/dev/null)" != "" ]; }
  until_ok "bosun run holds the lease" 60 leads
  until_ok "bosun dns is ready" 60 curl -fsS "http://$DNS_METRICS/readyz"
  run kubectl get lease -n $NS $RELEASE-controller
}

if [ "$REAL_NODES" = 0 ]; then
  host_processes
  DNS_AT=(127.0.0.1 "$DNS_PORT")
else
  "$here/install.sh"
  run kubectl -n $NS get pods -o wide
  run kubectl -n $NS get lease $RELEASE-controller
  run kubectl -n $NS get svc $RELEASE-dns
  dns_pod_ip=$(kubectl -n $NS get pods -l app.kubernetes.io/component=dns -o jsonpath='{.items[0].status.podIP}')
  DNS_AT=("$dns_pod_ip" 5353)
fi

run kubectl apply -f "$top/manifests/deployment.yaml" -f "$top/manifests/services.yaml"
run kubectl bosun rollout status deploy/web --timeout=120s
run kubectl get bdeploy,brs,pods -o wide

say "kubectl bosun set image deploy/web nginx=nginx:1.28   # a rolling update"
kubectl bosun set image deploy/web nginx=nginx:1.28
run kubectl bosun rollout status deploy/web --timeout=120s
run kubectl bosun rollout history deploy/web
run kubectl get bdeploy,brs,beps,bdns
run kubectl bosun describe deploy web

say "dig @${DNS_AT[0]} -p ${DNS_AT[1]} web.default.svc.cluster.local A +short"
dig @${DNS_AT[0]} -p ${DNS_AT[1]} web.default.svc.cluster.local A +short
say "dig @${DNS_AT[0]} -p ${DNS_AT[1]} web-headless.default.svc.cluster.local A +short"
dig @${DNS_AT[0]} -p ${DNS_AT[1]} web-headless.default.svc.cluster.local A +short
say "dig @${DNS_AT[0]} -p ${DNS_AT[1]} _http._tcp.web.default.svc.cluster.local SRV +noall +answer"
dig @${DNS_AT[0]} -p ${DNS_AT[1]} _http._tcp.web.default.svc.cluster.local SRV +noall +answer

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

if [ "$REAL_NODES" != 0 ]; then
  node_ip=$(kubectl get node real-node-0 -o jsonpath='{.status.addresses[?(@.type=="InternalIP")].address}')

  say "# The tutorial's app on the real node (the image exists only there: bosun.local/...)"
  # A second `make demo` shows the same steps again.
  kubectl delete bdeploy/hello-minikube svc/hello-minikube --ignore-not-found --wait=true >/dev/null
  run kubectl bosun create deployment hello-minikube --image="$ECHO_IMAGE"
  run kubectl bosun rollout status deploy/hello-minikube --timeout=120s
  run kubectl bosun expose deploy/hello-minikube --type=NodePort --port=8080
  hello_port=$(kubectl get svc hello-minikube -o jsonpath='{.spec.ports[0].nodePort}')
  # kube-proxy programs the NodePort once the Service's slices exist.
  until_ok "NodePort $hello_port answers" 60 curl -fsS --max-time 2 "http://$node_ip:$hello_port/"
  run curl -sS "http://$node_ip:$hello_port/"

  say "kubectl apply -f manifests/echo.yaml   # 3 echo Pods, maxUnavailable 0; Services echo and echo-mirror"
  kubectl apply -f "$top/manifests/echo.yaml"
  run kubectl bosun rollout status deploy/echo --timeout=120s
  run kubectl get pods -l app=echo -o wide
  echo_port=$(kubectl get svc echo -o jsonpath='{.spec.ports[0].nodePort}')
  until_ok "NodePort $echo_port answers" 60 curl -fsS --max-time 2 "http://$node_ip:$echo_port/"
  say "for i in 1 2 3 4 5 6; do curl -s http://$node_ip:$echo_port/; done   # kube-proxy spreads them"
  for _ in 1 2 3 4 5 6; do curl -sS --max-time 2 "http://$node_ip:$echo_port/"; done

  say "# a rolling update while a loop of requests runs (one every 20 ms)"
  loop_log=$DIR/logs/demo-requests.log
  : >"$loop_log"
  ( while :; do
      if out=$(curl -sS --max-time 2 "http://$node_ip:$echo_port/" 2>&1); then echo "ok $out"; else echo "FAILED $out"; fi
      sleep 0.02
    done >>"$loop_log" ) &
  loop_pid=$!
  trap 'kill "$loop_pid" 2>/dev/null || true' EXIT
  run kubectl bosun rollout restart deploy/echo
  run kubectl bosun rollout status deploy/echo --timeout=180s
  # Requests that started during the last old Pod's shutdown delay.
  echo_pods_are() { [ "$(kubectl get pods -l app=echo --no-headers | wc -l)" -eq "$1" ]; }
  until_ok "the last old Pod gone" 60 echo_pods_are 3
  kill "$loop_pid"; wait "$loop_pid" 2>/dev/null || true
  trap - EXIT
  total=$(wc -l <"$loop_log"); failed=$(grep -c '^FAILED' "$loop_log" || true)
  served=$(awk '$1 == "ok" {print $2}' "$loop_log" | sort -u | wc -l)
  printf '%s requests during the rollout, answered by %s Pods, %s failed\n' "$total" "$served" "$failed"
  if [ "$failed" -ne 0 ]; then grep '^FAILED' "$loop_log" | head -n 5; log "ERROR: requests failed during the rolling update"; exit 1; fi

  say "# a Pod on the real node resolves names through bosun dns (the kubelet's clusterDNS, 10.96.0.10)"
  kubectl delete pod resolve --ignore-not-found --wait=true >/dev/null
  run kubectl run resolve --image="$ECHO_IMAGE" --restart=Never -- \
    --resolve=web-headless.default.svc.cluster.local --resolve=web --resolve=kubernetes.default
  resolved() { [ "$(kubectl get pod resolve -o jsonpath='{.status.phase}')" = Succeeded ]; }
  until_ok "pod resolve finished" 60 resolved
  run kubectl logs resolve
  kubectl delete pod resolve --wait=false >/dev/null

  say "# echo-mirror has no selector: bosun mirrors its endpoints into core EndpointSlices, kube-proxy routes"
  run kubectl get endpointslices.discovery.k8s.io -l kubernetes.io/service-name=echo-mirror
  mirror_port=$(kubectl get svc echo-mirror -o jsonpath='{.spec.ports[0].nodePort}')
  until_ok "NodePort $mirror_port answers" 60 curl -fsS --max-time 2 "http://$node_ip:$mirror_port/"
  run curl -sS "http://$node_ip:$mirror_port/"
fi

if [ "$REAL_NODES" = 0 ]; then
  cat <<EOF

The cluster, bosun run and bosun dns keep running. Use them from your shell with:
  export KUBECONFIG=$KUBECONFIG_PATH PATH=$top/target/debug:$BIN:\$PATH
  kubectl get bdeploy,brs,beps,bdns; kubectl bosun rollout history deploy/web
  dig @${DNS_AT[0]} -p ${DNS_AT[1]} web-headless.default.svc.cluster.local
  curl -s http://$CONTROLLER_METRICS/metrics | grep bosun_reconcile_total
Logs: $DIR/logs/bosun.log and $DIR/logs/bosun-dns.log. Stop everything with:
  make cluster-down
EOF
else
  cat <<EOF

The cluster and bosun (its Pods on real-node-0) keep running. Use them from your shell with:
  export KUBECONFIG=$KUBECONFIG_PATH PATH=$top/target/debug:$BIN:\$PATH
  kubectl get bdeploy,brs,beps,bdns; kubectl bosun rollout history deploy/echo
  curl http://$node_ip:$echo_port/          # the echo Service's NodePort, through kube-proxy
  dig @${DNS_AT[0]} -p ${DNS_AT[1]} web-headless.default.svc.cluster.local
  kubectl -n $NS logs deploy/$RELEASE-controller; kubectl -n $NS logs deploy/$RELEASE-dns
Stop everything with:
  make cluster-down
EOF
fi
