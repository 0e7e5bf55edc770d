#!/usr/bin/env bash
# Start the local cluster: etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok
# with fake Ready nodes, all on 127.0.0.1, built from the pinned upstream release.
#
# Idempotent: when the cluster is already up and healthy it does nothing. On any failure it
# prints the failing component's log tail, stops what it started and exits non-zero.
#
# Environment:
#   BOSUN_CLUSTER_DIR  state, logs, certificates and the kubeconfig (default ~/.cache/bosun/cluster)
#   BOSUN_NODES        number of fake nodes (default 3)
#   KCM_QPS / KCM_BURST  kube-controller-manager's client rate limits (default upstream's 20/30)
#   KCM_CONTROLLERS    kube-controller-manager's --controllers (default '*')
#   APISERVER_EXTRA_ARGS / KCM_EXTRA_ARGS  extra flags for kube-apiserver / kube-controller-manager,
#                      split on spaces (the benchmark adds an audit log this way)
#   KWOK_POD_PARALLELISM  kwok's options.podPlayStageParallelism (default 16)
#   BOSUN_REAL_NODES   1: also one real node (hack/cluster/node.sh: containerd, kubelet, CNI,
#                      kube-proxy in a network namespace without a default route, tainted
#                      bosun.dev/real-node=true:NoSchedule), the default; 0: kwok nodes only
#   BOSUN_PROXY_MODE   the real node's kube-proxy mode: iptables (default) or nftables
#
# The node lifecycle controller gets a 1 h grace period: when kwok's heartbeats lag under load it
# would otherwise mark every pod NotReady, and kwok never marks a pod Ready again.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

"$here/build.sh" etcd kube kwok
if [ "$REAL_NODES" != 0 ]; then
  "$here/build.sh" node
  "$here/node.sh" preflight
fi

# Healthy, and started with the same number of real nodes (the apiserver's flags depend on it).
if cluster_healthy && [ "$(cat "$DIR/run/real-nodes" 2>/dev/null || echo 0)" = "$REAL_NODES" ]; then
  if [ "$REAL_NODES" != 0 ]; then
    trap 'fail "the real node failed"' ERR
    "$here/node.sh" up
    trap - ERR
  fi
  log "cluster already up: export KUBECONFIG=$KUBECONFIG_PATH"
  exit 0
fi
# Half-started or stale: clean up first, keeping the certificates.
"$here/down.sh" --keep-pki >/dev/null 2>&1 || true

mkdir -p "$DIR/logs" "$DIR/pki" "$DIR/run"
trap 'fail "cluster-up failed"' ERR

make_pki
write_kubeconfigs
if [ "$REAL_NODES" != 0 ]; then
  # The apiserver reaches kubelet at the node's InternalIP (the default tries its hostname first,
  # a DNS lookup), with a client certificate kubelet's webhook authorizer accepts.
  APISERVER_EXTRA_ARGS="--kubelet-client-certificate $DIR/pki/apiserver-kubelet-client.crt --kubelet-client-key $DIR/pki/apiserver-kubelet-client.key --kubelet-preferred-address-types InternalIP ${APISERVER_EXTRA_ARGS:-}"
  # Pods of images only the real node has go there (real-node-images.yaml): a
  # MutatingAdmissionPolicy, beta and off by default in 1.35.
  APISERVER_EXTRA_ARGS="--feature-gates MutatingAdmissionPolicy=true --runtime-config admissionregistration.k8s.io/v1beta1=true $APISERVER_EXTRA_ARGS"
fi

# --- etcd -------------------------------------------------------------------------------------
start etcd "$BIN/etcd" \
  --name bosun --data-dir "$DIR/etcd-data" \
  --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster "bosun=http://127.0.0.1:$ETCD_PEER_PORT" \
  --listen-metrics-urls "http://127.0.0.1:$ETCD_METRICS_PORT" \
  --quota-backend-bytes 8589934592 --log-level warn
wait_for etcd 30 curl -sf "http://127.0.0.1:$ETCD_PORT/health"

# --- kube-apiserver ---------------------------------------------------------------------------
# shellcheck disable=SC2086 # *_EXTRA_ARGS are split on spaces on purpose
start kube-apiserver "$BIN/kube-apiserver" \
  --bind-address 127.0.0.1 --secure-port "$APISERVER_PORT" \
  --advertise-address "$ADVERTISE_ADDRESS" \
  --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
  --tls-cert-file "$DIR/pki/apiserver.crt" --tls-private-key-file "$DIR/pki/apiserver.key" \
  --client-ca-file "$DIR/pki/ca.crt" \
  --authorization-mode Node,RBAC \
  --service-account-issuer https://kubernetes.default.svc.cluster.local \
  --service-account-key-file "$DIR/pki/sa.pub" \
  --service-account-signing-key-file "$DIR/pki/sa.key" \
  --service-cluster-ip-range 10.96.0.0/16 \
  --requestheader-client-ca-file "$DIR/pki/front-proxy-ca.crt" \
  --requestheader-allowed-names front-proxy-client \
  --requestheader-extra-headers-prefix X-Remote-Extra- \
  --requestheader-group-headers X-Remote-Group \
  --requestheader-username-headers X-Remote-User \
  --proxy-client-cert-file "$DIR/pki/front-proxy-client.crt" \
  --proxy-client-key-file "$DIR/pki/front-proxy-client.key" \
  --enable-priority-and-fairness=false \
  --max-requests-inflight 2000 --max-mutating-requests-inflight 1000 \
  --profiling=false --v=1 ${APISERVER_EXTRA_ARGS:-}
wait_for kube-apiserver 120 kubectl_admin get --raw /readyz

# --- kube-controller-manager --------------------------------------------------------------------
# shellcheck disable=SC2086
start kube-controller-manager "$BIN/kube-controller-manager" \
  --bind-address 127.0.0.1 --secure-port "$KCM_PORT" \
  --kubeconfig "$DIR/controller-manager.kubeconfig" \
  --authentication-kubeconfig "$DIR/controller-manager.kubeconfig" \
  --authorization-kubeconfig "$DIR/controller-manager.kubeconfig" \
  --controllers "${KCM_CONTROLLERS:-*}" \
  --node-monitor-grace-period 1h \
  --use-service-account-credentials \
  --root-ca-file "$DIR/pki/ca.crt" \
  --service-account-private-key-file "$DIR/pki/sa.key" \
  --cluster-signing-cert-file "$DIR/pki/ca.crt" --cluster-signing-key-file "$DIR/pki/ca.key" \
  --cluster-cidr 10.244.0.0/16 --service-cluster-ip-range 10.96.0.0/16 \
  --kube-api-qps "${KCM_QPS:-20}" --kube-api-burst "${KCM_BURST:-30}" \
  --leader-elect=false --v=1 ${KCM_EXTRA_ARGS:-}
wait_for kube-controller-manager 60 curl -skf "https://127.0.0.1:$KCM_PORT/healthz"

# --- kube-scheduler ---------------------------------------------------------------------------
cat > "$DIR/scheduler.yaml" <<EOF
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
clientConnection:
  kubeconfig: $DIR/scheduler.kubeconfig
  qps: 500
  burst: 1000
leaderElection:
  leaderElect: false
EOF
start kube-scheduler "$BIN/kube-scheduler" \
  --config "$DIR/scheduler.yaml" \
  --bind-address 127.0.0.1 --secure-port "$SCHEDULER_PORT" \
  --authentication-kubeconfig "$DIR/scheduler.kubeconfig" \
  --authorization-kubeconfig "$DIR/scheduler.kubeconfig" --v=1
wait_for kube-scheduler 60 curl -skf "https://127.0.0.1:$SCHEDULER_PORT/healthz"

# --- kwok and its nodes -----------------------------------------------------------------------
# A restarted kwok ignores nodes whose leases it did not write until they expire.
kubectl_admin -n kube-node-lease delete lease -l bosun.dev/kwok-node=true --ignore-not-found >/dev/null 2>&1 || true
cat > "$DIR/kwok.yaml" <<EOF
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokConfiguration
options:
  podPlayStageParallelism: ${KWOK_POD_PARALLELISM:-16}
  nodePlayStageParallelism: 4
EOF
start kwok "$BIN/kwok" \
  --config "$DIR/kwok.yaml" \
  --kubeconfig "$KUBECONFIG_PATH" \
  --manage-all-nodes=false \
  --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
  --cidr=10.244.0.1/16 \
  --node-ip=10.240.0.1 \
  --server-address "127.0.0.1:$KWOK_PORT" \
  -v=WARN
create_nodes "${BOSUN_NODES:-3}"
wait_for "kwok nodes Ready" 60 nodes_ready "${BOSUN_NODES:-3}"
wait_for "default ServiceAccount" 60 kubectl_admin -n default get serviceaccount default

# --- the real node ----------------------------------------------------------------------------
if [ "$REAL_NODES" != 0 ]; then
  "$here/node.sh" up
  kubectl_admin apply -f "$here/real-node-images.yaml" >/dev/null
fi
echo "$REAL_NODES" >"$DIR/run/real-nodes"

trap - ERR
log "cluster up in ${SECONDS}s: export KUBECONFIG=$KUBECONFIG_PATH"
