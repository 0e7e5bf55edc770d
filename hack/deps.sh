#!/usr/bin/env bash
# Install what bosun's scripts need, from the registries only: Debian packages (apt), the Go
# module proxy (the upstream control plane, via hack/cluster/build.sh) and crates.io (cargo).
# Idempotent and quiet when everything is present.
#
#   hack/deps.sh            what `make demo` and `make test` need
#   hack/deps.sh node       also the real node's (BOSUN_REAL_NODES=1, the default, implies it and image): Debian packages
#                           and the node's binaries (kubelet, kube-proxy, containerd, runc)
#   hack/deps.sh image      also what `make image` needs (the musl target, a static C compiler)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
want_node=false want_image=false
[ "${BOSUN_REAL_NODES:-1}" != 0 ] && want_node=true want_image=true
for a in "$@"; do
  case $a in
    node) want_node=true ;;
    image) want_image=true ;;
    *) echo "usage: hack/deps.sh [node] [image]" >&2; exit 2 ;;
  esac
done

need_apt=()
# shellcheck: actionlint (make release-lint) shellchecks every workflow's run: scripts with it.
pairs=(openssl:openssl curl:curl setsid:util-linux hostname:hostname dig:bind9-dnsutils dnsperf:dnsperf python3:python3
  shellcheck:shellcheck)
# The real node: iptables/nftables for kube-proxy (and kubelet's checks), socat for the apiserver
# bridge into the node's network namespace, the CNI bridge/host-local/portmap plugins, and what a
# static seccomp-enabled runc links against.
$want_node && pairs+=(iptables:iptables nft:nftables socat:socat nsenter:util-linux ip:iproute2
  /usr/lib/cni/bridge:containernetworking-plugins /usr/include/seccomp.h:libseccomp-dev
  pkg-config:pkg-config gcc:gcc)
# make image: musl-gcc links the pause binary (and C code of Rust crates) for the musl target.
$want_image && pairs+=(musl-gcc:musl-tools)
for pair in "${pairs[@]}"; do
  cmd=${pair%%:*} pkg=${pair#*:}
  case $cmd in
    /*) [ -e "$cmd" ] || need_apt+=("$pkg") ;;
    *) command -v "$cmd" >/dev/null 2>&1 || need_apt+=("$pkg") ;;
  esac
done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "[deps] apt-get install ${need_apt[*]}" >&2
  if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

command -v go >/dev/null 2>&1 || { echo "[deps] Go (>= 1.25) is required to build the upstream control plane" >&2; exit 1; }
command -v cargo >/dev/null 2>&1 || { echo "[deps] Rust (cargo) is required" >&2; exit 1; }
if command -v rustup >/dev/null 2>&1; then
  for comp in rustfmt clippy; do
    rustup component list --installed 2>/dev/null | grep -q "^$comp" || rustup component add "$comp" >&2
  done
  if $want_image; then
    rustup target list --installed 2>/dev/null | grep -qx x86_64-unknown-linux-musl ||
      rustup target add x86_64-unknown-linux-musl >&2
  fi
fi

"$here/cluster/build.sh"
# make release-lint: actionlint for the workflows, krew's validate-krew-manifest for plugins/bosun.yaml.
"$here/cluster/build.sh" actionlint validate-krew-manifest
# CoreDNS: the DNS tests compare bosun dns with it, name by name (and the benchmark measures both).
"$here/cluster/build.sh" coredns
# kube-state-metrics: the test of docs/kube-state-metrics.yaml runs it against the local cluster.
"$here/cluster/build.sh" kube-state-metrics
if $want_node; then "$here/cluster/build.sh" node; fi
