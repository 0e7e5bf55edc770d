#!/usr/bin/env bash
# The real node beside the kwok nodes: containerd + runc, kubelet, CNI bridge/host-local and
# kube-proxy, all in a network namespace of their own that has NO default route, so nothing
# started here can send a packet beyond this machine.
#
#   hack/cluster/node.sh up        start it (up.sh does, after the control plane, when BOSUN_REAL_NODES=1)
#   hack/cluster/node.sh down      stop it and undo everything it did to the machine (down.sh does)
#   hack/cluster/node.sh import F  import OCI archives into its containerd (no-op when it is not running)
#   hack/cluster/node.sh preflight check the machine can run it, naming what is missing
#   hack/cluster/node.sh status    exit 0 when it runs and is Ready
#
#   host netns                                       netns bosun-node-$OFF (no default route)
#    kube-apiserver 127.0.0.1:$APISERVER_PORT <- socat <- unix sock <- socat 0.0.0.0:$APISERVER_PORT
#    bn$OFF-host 10.250.$OFF.1/30 <------ veth ------> bn$OFF-node 10.250.$OFF.2/30 (the node IP)
#    route 10.245.$OFF.0/24 via 10.250.$OFF.2             containerd, kubelet, kube-proxy
#                                                         bridge bn$OFF-br 10.245.$OFF.1/24 -- pods
#
# Per BOSUN_PORT_OFFSET ($OFF, 0..255): the namespace, link names, node IP, pod CIDR and every
# file (under $BOSUN_CLUSTER_DIR/node). NOT per offset, so one real node per machine (node.sh up
# refuses a second one, naming the cluster directory that owns it, see /run/bosun-real-node):
# kubelet's hard-coded /var/lib/kubelet/device-plugins and /var/log/containers, libcni's
# /var/lib/cni, containerd's shim sockets under /run/containerd/s, the /kubepods cgroups, and the
# kernel sysctls kubelet rewrites (saved here, restored by `down`). Paths outside our directory
# that did not exist before `up` are recorded and removed by `down`.
#
# Facts behind the settings (cgroup v1, no CAP_SYS_RESOURCE, static seccomp runc, ...):
# shared/real-node.md of the project's notes.
set -Eeuo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

ND=$DIR/node
NODE_NAME=${BOSUN_REAL_NODE_NAME:-real-node-0}
if [ "$off" -gt 255 ] 2>/dev/null; then echo "node.sh: BOSUN_PORT_OFFSET must be 0..255 for the real node" >&2; exit 2; fi
NS=bosun-node-$off
HOST_IF=bn$off-host
NODE_IF=bn$off-node
BRIDGE=bn$off-br
HOST_IP=10.250.$off.1
NODE_IP=$REAL_NODE_IP
POD_CIDR=10.245.$off.0/24
PROXY_MODE=${BOSUN_PROXY_MODE:-iptables}
LOCK=/run/bosun-real-node
IMAGE_DIR=${BOSUN_IMAGE_DIR:-$root/target/images}
SOCK=$ND/run/containerd.sock
# Started in this order, stopped in the reverse one.
NODE_PROCS=(bridge-host bridge-node containerd kubelet kube-proxy)
# Host paths kubelet, containerd, libcni or iproute2 create outside our directory.
HOST_PATHS=(/var/lib/kubelet /var/log/containers /var/lib/cni /run/containerd /run/netns /run/mount)
# The kernel sysctls kubelet sets (setupKernelTunables) and the conntrack ones kube-proxy could.
SYSCTLS=(vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops
  kernel.keys.root_maxkeys kernel.keys.root_maxbytes net.netfilter.nf_conntrack_max)
CGROUP_ROOTS=(/sys/fs/cgroup/*/kubepods)

nlog() { printf '[node] %s\n' "$*" >&2; }
in_ns() { nsenter --net="/run/netns/$NS" "$@"; }
nalive() { [ -f "$ND/run/$1.pid" ] && kill -0 "$(cat "$ND/run/$1.pid")" 2>/dev/null; }
kc() { "$BIN/kubectl" --kubeconfig "$KUBECONFIG_PATH" --request-timeout 10s "$@"; }

# Name the component that failed, with its log tail, and stop.
node_fail() { # component message
  local c=$1; shift
  nlog "ERROR: $c: $*"
  if [ -f "$ND/logs/$c.log" ]; then
    printf '\n----- %s (last 30 lines of %s) -----\n' "$c" "$ND/logs/$c.log" >&2
    tail -n 30 "$ND/logs/$c.log" >&2
  fi
  exit 1
}

nstart() { # name command...
  local name=$1; shift
  nlog "starting $name"
  setsid nice -n "${BOSUN_NODE_NICE:-5}" "$@" >"$ND/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$ND/run/$name.pid"
}

nwait() { # component seconds command...
  local c=$1 secs=$2; shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    nalive "$c" || node_fail "$c" "exited"
    [ "$SECONDS" -lt "$deadline" ] || node_fail "$c" "not ready after ${secs}s"
    sleep 0.2
  done
}

node_ready() {
  [ "$(kc get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]
}

status() {
  local p
  for p in "${NODE_PROCS[@]}"; do nalive "$p" || return 1; done
  node_ready
}

# --- preflight: everything that can be checked before touching the machine ---------------------
preflight() {
  local missing=() b
  [ "$(id -u)" -eq 0 ] || { echo "node.sh: the real node needs root (network namespaces, mounts, cgroups)" >&2; exit 1; }
  [ "${BOSUN_REAL_NODES:-1}" -le 1 ] || { echo "node.sh: BOSUN_REAL_NODES=${BOSUN_REAL_NODES}: one real node per machine is supported" >&2; exit 1; }
  for b in kubelet kube-proxy containerd containerd-shim-runc-v2 ctr runc kubectl; do
    [ -x "$BIN/$b" ] || missing+=("$BIN/$b (hack/cluster/build.sh node)")
  done
  for b in ip nsenter socat iptables nft mount umount; do
    command -v "$b" >/dev/null 2>&1 || missing+=("$b (hack/deps.sh node)")
  done
  for b in bridge host-local portmap loopback; do
    [ -x "/usr/lib/cni/$b" ] || missing+=("/usr/lib/cni/$b (apt-get install containernetworking-plugins)")
  done
  for b in cpu cpuacct cpuset memory pids; do
    [ -d "/sys/fs/cgroup/$b" ] || [ -f /sys/fs/cgroup/cgroup.controllers ] || missing+=("the $b cgroup controller")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    printf 'node.sh: the real node cannot start, missing:\n' >&2
    printf '  %s\n' "${missing[@]}" >&2
    exit 1
  fi
  "$BIN/runc" --version 2>/dev/null | grep -q libseccomp ||
    { echo "node.sh: $BIN/runc lacks seccomp (containerd gives every sandbox a profile): rebuild it with hack/cluster/build.sh node" >&2; exit 1; }
  if [ -f "$LOCK" ]; then
    local owner; owner=$(cat "$LOCK")
    if [ "$owner" != "$ND" ] && [ -e "/run/netns/$(cat "$owner/netns" 2>/dev/null || echo none)" ]; then
      echo "node.sh: a real node already runs on this machine, from $owner: one per machine (kubelet's /var/lib/kubelet/device-plugins, /var/log/containers, the /kubepods cgroups are global). Stop it with BOSUN_CLUSTER_DIR=${owner%/node} hack/cluster/down.sh" >&2
      exit 1
    fi
  fi
}

# --- configuration files -------------------------------------------------------------------------
node_pki() {
  cert "node-$NODE_NAME" "system:node:$NODE_NAME" system:nodes
  cert kube-proxy system:kube-proxy ""
}

write_config() {
  mkdir -p "$ND"/{run,logs,cni/net.d,cni/ipam,kubelet/pki,pod-logs,containerd/opt,volume-plugins}
  echo "$NS" >"$ND/netns"
  node_kubeconfig() { # file user cert
    cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: bosun
  cluster: {server: "https://127.0.0.1:$APISERVER_PORT", certificate-authority: "$DIR/pki/ca.crt"}
users:
- name: $2
  user: {client-certificate: "$DIR/pki/$3.crt", client-key: "$DIR/pki/$3.key"}
contexts:
- name: bosun
  context: {cluster: bosun, user: $2}
current-context: bosun
EOF
  }
  printf '# The real node has no resolver and no route off this machine: nothing answers here.\nnameserver %s\n' "$NODE_IP" >"$ND/resolv.conf"
  node_kubeconfig "$ND/kubelet.kubeconfig" "system:node:$NODE_NAME" "node-$NODE_NAME"
  node_kubeconfig "$ND/kube-proxy.kubeconfig" system:kube-proxy kube-proxy

  cat >"$ND/containerd.toml" <<EOF
version = 3
root = "$ND/containerd/root"
state = "$ND/containerd/state"
[grpc]
  address = "$SOCK"
[ttrpc]
  address = "$SOCK.ttrpc"
[plugins.'io.containerd.internal.v1.opt']
  path = "$ND/containerd/opt"
[plugins.'io.containerd.nri.v1.nri']
  disable = true
# ctr import unpacks through the transfer service, only for the pairs listed here.
[plugins.'io.containerd.transfer.v1.local']
  [[plugins.'io.containerd.transfer.v1.local'.unpack_config]]
    platform = "linux/amd64"
    snapshotter = "overlayfs"
[plugins.'io.containerd.cri.v1.images']
  snapshotter = "overlayfs"
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    # Imported, never pulled; pinned, so image GC never removes it.
    sandbox = "$PAUSE_IMAGE"
[plugins.'io.containerd.cri.v1.runtime']
  # No CAP_SYS_RESOURCE on such machines: nobody may lower an oom_score_adj, and CRI asks -998
  # for every sandbox. Clamp to containerd's own.
  restrict_oom_score_adj = true
  enable_cdi = false
  # Pod network namespaces under our state dir, not /var/run/netns.
  netns_mounts_under_state_dir = true
  [plugins.'io.containerd.cri.v1.runtime'.containerd]
    default_runtime_name = "runc"
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
        BinaryName = "$BIN/runc"
        Root = "$ND/run/runc"
        SystemdCgroup = false
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = ["/usr/lib/cni"]
    conf_dir = "$ND/cni/net.d"
[plugins.'io.containerd.grpc.v1.cri']
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
EOF

  cat >"$ND/cni/net.d/10-bosun.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "bosun",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$ND/cni/ipam",
        "ranges": [[{"subnet": "$POD_CIDR"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF

  cat >"$ND/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# Kubernetes 1.35 refuses cgroup v1 (and hybrid) hosts unless told otherwise.
failCgroupV1: false
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://$SOCK
imageServiceEndpoint: unix://$SOCK
address: $NODE_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: "$DIR/pki/ca.crt"}
authorization: {mode: Webhook}
clusterDomain: cluster.local
clusterDNS: ["10.96.0.10"]
# Pods never see the host's resolver: the node's own (dnsPolicy Default, as bosun dns and
# CoreDNS use, for their forwarding) names the node's IP, where nothing answers on port 53.
resolvConf: "$ND/resolv.conf"
podLogsDir: "$ND/pod-logs"
rotateCertificates: false
serverTLSBootstrap: false
failSwapOn: false
# Without CAP_SYS_RESOURCE kubelet cannot give itself -999.
oomScoreAdj: 0
# The imported images cannot be pulled back: never garbage-collect them.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
# Absolute disk thresholds: a shared development disk is often >95 % full (reserved blocks,
# other clones' targets); a percentage would taint the node with disk-pressure and evict the
# Pods, which no test expects.
evictionHard: {memory.available: "100Mi", nodefs.available: "512Mi", imagefs.available: "512Mi", nodefs.inodesFree: "2%"}
maxPods: 110
# Only Pods that tolerate this (and select the node) land here; the rest go to the kwok nodes.
registerWithTaints:
- {key: bosun.dev/real-node, value: "true", effect: NoSchedule}
EOF

  cat >"$ND/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: "$ND/kube-proxy.kubeconfig"}
hostnameOverride: $NODE_NAME
mode: $PROXY_MODE
clusterCIDR: $POD_CIDR
# NodePorts on the node IP only.
nodePortAddresses: ["primary"]
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
# Leave the global conntrack sysctls alone.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
EOF
}

# --- import ------------------------------------------------------------------------------------
import() {
  local f
  [ -S "$SOCK" ] && nalive containerd || return 0
  for f in "$@"; do
    [ -f "$f" ] || { echo "node.sh import: no such archive $f" >&2; exit 1; }
    "$BIN/ctr" -a "$SOCK" -n k8s.io images import --snapshotter overlayfs "$f" >>"$ND/logs/import.log" 2>&1 ||
      node_fail import "ctr images import $f failed"
    nlog "imported $(basename "$f") into $NODE_NAME"
  done
}

# --- up ----------------------------------------------------------------------------------------
up() {
  local t0=$SECONDS p
  trap 'node_fail "${STEP:-setup}" "failed at line $LINENO: $BASH_COMMAND"' ERR
  preflight
  if status 2>/dev/null; then nlog "$NODE_NAME already up"; return 0; fi
  down_node >/dev/null 2>&1 || true
  # The sandbox image must be there before kubelet starts; it builds in about a second.
  [ -f "$IMAGE_DIR/pause.tar" ] || "$root/hack/image/build.sh" pause
  echo "$ND" >"$LOCK"
  mkdir -p "$ND/run" "$ND/logs"
  # What exists before we start: down removes only what we created.
  if [ ! -f "$ND/host-paths.created" ]; then
    for p in "${HOST_PATHS[@]}"; do [ -e "$p" ] || echo "$p"; done >"$ND/host-paths.created"
  fi
  if [ ! -f "$ND/sysctls.saved" ]; then
    for p in "${SYSCTLS[@]}"; do
      sysctl -n "$p" >/dev/null 2>&1 && printf '%s=%s\n' "$p" "$(sysctl -n "$p")"
    done >"$ND/sysctls.saved"
  fi
  node_pki
  write_config

  # The node's network namespace: one veth pair to the host, no default route.
  ip netns add "$NS"
  ip link add "$HOST_IF" type veth peer name "$NODE_IF" netns "$NS"
  ip addr add "$HOST_IP/30" dev "$HOST_IF"
  ip link set "$HOST_IF" up
  ip -n "$NS" link set lo up
  ip -n "$NS" addr add "$NODE_IP/30" dev "$NODE_IF"
  ip -n "$NS" link set "$NODE_IF" up
  # The host reaches pod IPs through the node (curl a Pod from here); nothing routes further.
  ip route add "$POD_CIDR" via "$NODE_IP" dev "$HOST_IF"
  # The pods' bridge, made here so that the node's own processes (kubelet, a hostNetwork Pod)
  # reach ClusterIPs: kube-proxy DNATs them in OUTPUT, but only after a route was found. The CNI
  # bridge plugin adopts it and gives it the gateway address. Still no default route.
  ip -n "$NS" link add "$BRIDGE" type bridge
  ip -n "$NS" link set "$BRIDGE" up
  ip -n "$NS" route add 10.96.0.0/16 dev "$BRIDGE"
  if ip -n "$NS" route show default | grep -q .; then node_fail netns "the node's namespace has a default route"; fi

  # The apiserver listens on 127.0.0.1 only: carry TCP into the namespace over a unix socket.
  nstart bridge-host socat "UNIX-LISTEN:$ND/run/apiserver.sock,fork,unlink-early,mode=600" "TCP:127.0.0.1:$APISERVER_PORT"
  nwait bridge-host 10 test -S "$ND/run/apiserver.sock"
  nstart bridge-node nsenter --net="/run/netns/$NS" socat "TCP-LISTEN:$APISERVER_PORT,bind=0.0.0.0,reuseaddr,fork" "UNIX-CONNECT:$ND/run/apiserver.sock"
  nwait bridge-node 10 in_ns curl -sk -o /dev/null "https://127.0.0.1:$APISERVER_PORT/"

  # containerd finds the shim on PATH; runc is named in its config.
  nstart containerd env PATH="$BIN:$PATH" nsenter --net="/run/netns/$NS" "$BIN/containerd" --config "$ND/containerd.toml"
  nwait containerd 30 "$BIN/ctr" -a "$SOCK" version
  local imgs=("$IMAGE_DIR/pause.tar")
  for p in echo bosun; do [ -f "$IMAGE_DIR/$p.tar" ] && imgs+=("$IMAGE_DIR/$p.tar"); done
  import "${imgs[@]}"

  nstart kubelet env PATH="$BIN:$PATH" nsenter --net="/run/netns/$NS" "$BIN/kubelet" \
    --config "$ND/kubelet.yaml" --kubeconfig "$ND/kubelet.kubeconfig" \
    --root-dir "$ND/kubelet" --cert-dir "$ND/kubelet/pki" --volume-plugin-dir "$ND/volume-plugins" \
    --hostname-override "$NODE_NAME" --node-ip "$NODE_IP" \
    --node-labels "bosun.dev/real-node=true" --v=2
  nwait kubelet 90 node_ready

  nstart kube-proxy env PATH="$BIN:$PATH" nsenter --net="/run/netns/$NS" "$BIN/kube-proxy" \
    --config "$ND/kube-proxy.yaml" --v=2
  nwait kube-proxy 60 in_ns curl -sf http://127.0.0.1:10256/healthz
  nlog "$NODE_NAME Ready in $((SECONDS - t0))s (node IP $NODE_IP, pods $POD_CIDR, kube-proxy $PROXY_MODE, netns $NS, taint bosun.dev/real-node=true:NoSchedule)"
}

# --- down --------------------------------------------------------------------------------------
stop_pid() { # name: TERM its process group, wait, then KILL
  local f=$ND/run/$1.pid pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

# Processes of ours that outlive their parents: the shims and runc (their command lines name our
# socket or runc root, both under $ND) and whatever runs in a pod cgroup.
stray_pids() {
  local p exe
  for p in /proc/[0-9]*; do
    exe=$(readlink "$p/exe" 2>/dev/null) || continue
    case $exe in
      "$BIN"/containerd-shim-runc-v2*|"$BIN"/runc*)
        tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -qF "$ND/" && echo "${p#/proc/}" ;;
    esac
  done
  cat /sys/fs/cgroup/*/kubepods/cgroup.procs /sys/fs/cgroup/*/kubepods/*/cgroup.procs \
    /sys/fs/cgroup/*/kubepods/*/*/cgroup.procs /sys/fs/cgroup/*/kubepods/*/*/*/cgroup.procs 2>/dev/null || true
}

down_node() {
  local existed=false p
  [ -d "$ND" ] || [ -e "/run/netns/$NS" ] || return 0
  [ -e "/run/netns/$NS" ] || nalive kubelet || nalive containerd || [ -f "$ND/sysctls.saved" ] && existed=true
  # What the node cost over its life: each process's peak resident memory (VmHWM).
  local peaks=()
  for p in containerd kubelet kube-proxy; do
    nalive "$p" || continue
    peaks+=("$p $(awk '/^VmHWM/ {printf "%.0f MiB", $2 / 1024}' "/proc/$(cat "$ND/run/$p.pid")/status" 2>/dev/null)")
  done
  [ ${#peaks[@]} -eq 0 ] || nlog "peak RSS: $(IFS=,; echo "${peaks[*]}" | sed 's/,/, /g')"
  # Pods first, while kubelet runs (it unmounts their volumes, CNI DEL frees their IPs); cordon
  # before, so that no controller puts a new one there meanwhile.
  if nalive kubelet && kc get node "$NODE_NAME" >/dev/null 2>&1; then
    kc cordon "$NODE_NAME" >/dev/null 2>&1 || true
    kc delete pods -A --field-selector "spec.nodeName=$NODE_NAME" --wait=true --timeout=30s >/dev/null 2>&1 ||
      kc delete pods -A --field-selector "spec.nodeName=$NODE_NAME" --force --grace-period=0 >/dev/null 2>&1 || true
  fi
  for p in kube-proxy kubelet; do stop_pid "$p"; done
  # The Node object goes with its cluster; when the cluster stays (node.sh down alone) remove it.
  kc delete node "$NODE_NAME" --ignore-not-found --wait=false >/dev/null 2>&1 || true
  # Containers the kubelet left: kill them through containerd while it still answers.
  if nalive containerd && [ -S "$SOCK" ]; then
    for p in $("$BIN/ctr" -a "$SOCK" -n k8s.io tasks ls -q 2>/dev/null); do
      "$BIN/ctr" -a "$SOCK" -n k8s.io tasks kill -s KILL "$p" >/dev/null 2>&1 || true
    done
  fi
  stop_pid containerd
  for _ in 1 2 3; do
    p=$(stray_pids | sort -u | tr '\n' ' ')
    [ -n "${p// /}" ] || break
    # shellcheck disable=SC2086
    kill -KILL $p 2>/dev/null || true
    sleep 0.3
  done
  for p in bridge-node bridge-host; do stop_pid "$p"; done

  # Mounts: everything under our directory and kubelet's fixed paths, deepest first.
  local m
  for _ in 1 2 3; do
    m=$(awk '{print $5}' /proc/self/mountinfo | grep -E "^($ND|/var/lib/kubelet|/run/containerd)(/|$)" | sort -r || true)
    [ -n "$m" ] || break
    for p in $m; do umount "$p" 2>/dev/null || umount -l "$p" 2>/dev/null || true; done
  done
  # Pod cgroups in every hierarchy, leaves first.
  for p in "${CGROUP_ROOTS[@]}"; do
    [ -d "$p" ] || continue
    find "$p" -depth -type d -exec rmdir {} + 2>/dev/null || true
    [ -d "$p" ] && nlog "WARNING: could not remove cgroup $p"
  done
  # The namespace takes the veths, the bridge, routes, iptables/nftables rules and its sysctls.
  if [ -e "/run/netns/$NS" ]; then ip netns del "$NS" 2>/dev/null || true; fi
  ip link del "$HOST_IF" 2>/dev/null || true
  # Sysctls kubelet rewrote.
  if [ -f "$ND/sysctls.saved" ]; then
    while IFS= read -r p; do
      if [ -n "$p" ]; then sysctl -q -w "$p" >/dev/null 2>&1 || nlog "WARNING: could not restore $p"; fi
    done <"$ND/sysctls.saved"
    rm -f "$ND/sysctls.saved"
  fi
  # Host paths we created (recorded at up), /run/mount last: umount recreates it.
  if [ -f "$ND/host-paths.created" ]; then
    while IFS= read -r p; do
      case $p in
        /run/netns)
          if [ -d /run/netns ] && [ -z "$(ls -A /run/netns)" ]; then
            umount /run/netns 2>/dev/null || true; rmdir /run/netns 2>/dev/null || true
          fi ;;
        /run/mount) ;;
        /var/lib/kubelet|/var/log/containers|/var/lib/cni|/run/containerd) rm -rf "$p" ;;
      esac
    done <"$ND/host-paths.created"
    grep -qx /run/mount "$ND/host-paths.created" && rm -rf /run/mount
    rm -f "$ND/host-paths.created"
  fi
  rm -rf "$ND/run" "$ND/containerd" "$ND/kubelet" "$ND/cni/ipam" "$ND/pod-logs"
  [ "$(cat "$LOCK" 2>/dev/null)" = "$ND" ] && rm -f "$LOCK"
  $existed && nlog "stopped $NODE_NAME and cleaned up"
  return 0
}

cmd=${1:-}
shift || true
case $cmd in
  up) up ;;
  down) down_node ;;
  import) import "$@" ;;
  preflight) preflight ;;
  status) status ;;
  *) echo "usage: hack/cluster/node.sh up|down|import ARCHIVE...|preflight|status" >&2; exit 2 ;;
esac
