# shellcheck shell=bash
# Shared by up.sh, down.sh and the other scripts under hack/: paths, ports and helpers.
CLUSTER_SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
. "$CLUSTER_SCRIPTS/versions.env"

CACHE=${BOSUN_CACHE:-$HOME/.cache/bosun}
BIN=$CACHE/bin
DIR=${BOSUN_CLUSTER_DIR:-$CACHE/cluster}
KUBECONFIG_PATH=$DIR/kubeconfig
export PATH="$BIN:$PATH"

# BOSUN_PORT_OFFSET moves every port, so two clusters (two clones) can run side by side. The
# bases lie at least 100 apart, so two offsets between 0 and 99 never share a port (with bases 10
# apart, offset 10's etcd took offset 0's etcd peer port). demo.sh follows the same rule.
off=${BOSUN_PORT_OFFSET:-0}
ETCD_PORT=$((23790 + off))
ETCD_PEER_PORT=$((23890 + off))
ETCD_METRICS_PORT=$((23990 + off))
APISERVER_PORT=$((16443 + off))
KCM_PORT=$((10357 + off))
SCHEDULER_PORT=$((10459 + off))
KWOK_PORT=$((10647 + off))
# A non-loopback address of this machine: the apiserver refuses to publish a loopback one in the
# default/kubernetes Endpoints. Nothing connects to it; everything binds to 127.0.0.1.
ADVERTISE_ADDRESS=${BOSUN_ADVERTISE_ADDRESS:-$(hostname -I 2>/dev/null | tr ' ' '\n' | grep -E '^[0-9]+\.' | grep -v '^127\.' | head -n1)}
ADVERTISE_ADDRESS=${ADVERTISE_ADDRESS:-192.0.2.1}
# The real node (hack/cluster/node.sh): containerd, kubelet and kube-proxy in a network namespace
# of their own. On by default (BOSUN_REAL_NODES=0 turns it off: kwok nodes only).
REAL_NODES=${BOSUN_REAL_NODES:-1}
# Its IP (in its namespace): the apiserver advertises it when the node runs, so Pods reach the
# apiserver through the kubernetes Service (10.96.0.1 -> this IP -> a socat bridge -> 127.0.0.1).
REAL_NODE_IP=10.250.$off.2
if [ "$REAL_NODES" != 0 ]; then ADVERTISE_ADDRESS=$REAL_NODE_IP; fi
COMPONENTS=(kwok kube-scheduler kube-controller-manager kube-apiserver etcd)
# Processes the demo starts beside the cluster; down.sh stops them first.
EXTRAS=(bosun bosun-dns)

log() { printf '[cluster] %s\n' "$*" >&2; }

kubectl_admin() { "$BIN/kubectl" --kubeconfig "$KUBECONFIG_PATH" "$@"; }

# Print the log tail of every component that is not running, and of FAILED_COMPONENT.
fail() {
  log "ERROR: $*"
  local c
  for c in "${COMPONENTS[@]}"; do
    [ -f "$DIR/logs/$c.log" ] || continue
    if ! alive "$c" || [ "$c" = "${FAILED_COMPONENT:-}" ]; then
      printf '\n----- %s (last 25 lines of %s) -----\n' "$c" "$DIR/logs/$c.log" >&2
      tail -n 25 "$DIR/logs/$c.log" >&2
    fi
  done
  "$CLUSTER_SCRIPTS/down.sh" --keep-pki >/dev/null 2>&1 || true
  exit 1
}

alive() { [ -f "$DIR/run/$1.pid" ] && kill -0 "$(cat "$DIR/run/$1.pid")" 2>/dev/null; }

# start NAME BINARY ARGS...: run in the background, log to $DIR/logs/NAME.log.
start() {
  local name=$1; shift
  log "starting $name"
  # setsid: its own process group, so down.sh can stop it and whatever it spawned.
  setsid "$@" >"$DIR/logs/$name.log" 2>&1 < /dev/null &
  echo $! >"$DIR/run/$name.pid"
}

# wait_for WHAT SECONDS COMMAND...: poll COMMAND until it succeeds or the deadline passes.
wait_for() {
  local what=$1 secs=$2; shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      FAILED_COMPONENT=${what%% *}
      fail "$what not ready after ${secs}s"
    fi
    case $what in
      kwok*|default*) ;;
      *) alive "${what%% *}" || { FAILED_COMPONENT=${what%% *}; fail "$what exited"; } ;;
    esac
    sleep 0.2
  done
  log "$what ready"
}

cluster_healthy() {
  local c
  for c in "${COMPONENTS[@]}"; do alive "$c" || return 1; done
  kubectl_admin get --raw /readyz >/dev/null 2>&1 || return 1
  nodes_ready "${BOSUN_NODES:-3}" >/dev/null 2>&1
}

nodes_ready() {
  local want=$1 n
  n=$(kubectl_admin get nodes -l bosun.dev/kwok-node=true \
    -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' 2>/dev/null | grep -c True || true)
  [ "$n" -ge "$want" ]
}

# --- certificates -----------------------------------------------------------------------------
cert() { # name CN O [server SANs]
  local name=$1 cn=$2 org=$3 sans=${4:-} ca=${5:-ca}
  [ -f "$DIR/pki/$name.crt" ] && return 0
  local subj="/CN=$cn"; [ -n "$org" ] && subj="/O=$org$subj"
  openssl genrsa -out "$DIR/pki/$name.key" 2048 2>/dev/null
  openssl req -new -key "$DIR/pki/$name.key" -subj "$subj" -out "$DIR/pki/$name.csr" 2>/dev/null
  local ext="$DIR/pki/$name.ext"
  if [ -n "$sans" ]; then
    printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=%s\n' "$sans" >"$ext"
  else
    printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n' >"$ext"
  fi
  openssl x509 -req -in "$DIR/pki/$name.csr" -CA "$DIR/pki/$ca.crt" -CAkey "$DIR/pki/$ca.key" \
    -CAcreateserial -days 3650 -sha256 -extfile "$ext" -out "$DIR/pki/$name.crt" 2>/dev/null
}

ca() { # name
  [ -f "$DIR/pki/$1.crt" ] && return 0
  openssl genrsa -out "$DIR/pki/$1.key" 2048 2>/dev/null
  openssl req -x509 -new -key "$DIR/pki/$1.key" -subj "/CN=bosun-$1" -days 3650 -sha256 \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign,digitalSignature \
    -out "$DIR/pki/$1.crt" 2>/dev/null
}

make_pki() {
  command -v openssl >/dev/null || { log "openssl is required (apt-get install openssl)"; exit 1; }
  ca ca
  ca front-proxy-ca
  # A kept certificate made for another advertise address (the real node on or off): remake it.
  if [ -f "$DIR/pki/apiserver.crt" ] &&
    ! openssl x509 -in "$DIR/pki/apiserver.crt" -noout -ext subjectAltName 2>/dev/null | grep -q "IP Address:$ADVERTISE_ADDRESS\(,\|$\)"; then
    rm -f "$DIR/pki/apiserver.crt" "$DIR/pki/apiserver.key"
  fi
  cert apiserver kube-apiserver "" \
    "IP:127.0.0.1,IP:10.96.0.1,IP:$ADVERTISE_ADDRESS,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  cert admin bosun-admin system:masters
  cert controller-manager system:kube-controller-manager ""
  cert scheduler system:kube-scheduler ""
  cert front-proxy-client front-proxy-client "" "" front-proxy-ca
  # The apiserver's client certificate towards kubelets (logs, exec, port-forward).
  cert apiserver-kubelet-client kube-apiserver-kubelet-client system:masters
  if [ ! -f "$DIR/pki/sa.key" ]; then
    openssl genrsa -out "$DIR/pki/sa.key" 2048 2>/dev/null
    openssl rsa -in "$DIR/pki/sa.key" -pubout -out "$DIR/pki/sa.pub" 2>/dev/null
  fi
}

kubeconfig() { # file user cert
  cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: bosun
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority: $DIR/pki/ca.crt
users:
- name: $2
  user:
    client-certificate: $DIR/pki/$3.crt
    client-key: $DIR/pki/$3.key
contexts:
- name: bosun
  context:
    cluster: bosun
    user: $2
current-context: bosun
EOF
}

write_kubeconfigs() {
  kubeconfig "$KUBECONFIG_PATH" bosun-admin admin
  kubeconfig "$DIR/controller-manager.kubeconfig" system:kube-controller-manager controller-manager
  kubeconfig "$DIR/scheduler.kubeconfig" system:kube-scheduler scheduler
}

# Fake nodes that kwok plays: Ready, with room for many pods, one zone each.
create_nodes() {
  local count=$1 i zones=(zone-a zone-b zone-c)
  for ((i = 0; i < count; i++)); do
    cat <<EOF
---
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-$i
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    bosun.dev/kwok-node: "true"
    kubernetes.io/hostname: kwok-node-$i
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    kubernetes.io/role: agent
    type: kwok
    topology.kubernetes.io/zone: ${zones[$((i % 3))]}
status:
  allocatable: {cpu: "1000", memory: 4Ti, pods: "20000"}
  capacity: {cpu: "1000", memory: 4Ti, pods: "20000"}
EOF
  done | kubectl_admin apply -f - >/dev/null
}
