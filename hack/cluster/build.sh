#!/usr/bin/env bash
# Build (or reuse) the pinned upstream binaries, cached by version under ~/.cache/bosun/.
# Prints nothing but progress on stderr; a second run builds nothing.
#
#   hack/cluster/build.sh            # all of them
#   hack/cluster/build.sh coredns    # also CoreDNS (only the benchmark needs it)
#   hack/cluster/build.sh node       # the real node's: kubelet, kube-proxy, containerd (+shim, ctr), runc
#   hack/cluster/build.sh actionlint validate-krew-manifest   # the release checks' (make release-lint)
#   hack/cluster/build.sh krew       # krew itself (hack/release/check-krew.sh DIST installs with it)
#   hack/cluster/build.sh kube-state-metrics   # for the test of docs/kube-state-metrics.yaml
#
# Go builds run one at a time under `nice` (BOSUN_NICE, default 10): the machine is shared.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0
cache=${BOSUN_CACHE:-$HOME/.cache/bosun}
bin=$cache/bin
mkdir -p "$bin"
log() { printf '[build] %s\n' "$*" >&2; }
gonice() { nice -n "${BOSUN_NICE:-10}" go "$@"; }
need_go() {
  command -v go >/dev/null || { echo "go is not installed (need Go >= 1.25)" >&2; exit 1; }
}

kube_ldflags() {
  local minor=${KUBE_VERSION#v1.}; minor=${minor%%.*}
  local f=""
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    f+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    f+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  echo "-s -w$f"
}

# kube-apiserver, kube-controller-manager, kube-scheduler, kubectl from k8s.io/kubernetes,
# built as a dependency of a module of ours that replaces every staging module.
build_kube() {
  local want=("$@") missing=()
  for b in "${want[@]}"; do [ -x "$bin/$b-$KUBE_VERSION" ] || missing+=("$b"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  need_go
  local work=$cache/src/kube-$KUBE_VERSION
  mkdir -p "$work"
  if [ ! -f "$work/go.sum" ]; then
    log "preparing the k8s.io/kubernetes@$KUBE_VERSION module (replacing staging modules)"
    local modfile
    modfile=$(cd "$work" && go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
    {
      echo "module bosun.dev/upstream-kube"
      echo
      echo "go 1.25.0"
      echo
      echo "require k8s.io/kubernetes $KUBE_VERSION"
      echo
      grep -E '=> \./staging/src/' "$modfile" | awk -v v="$KUBE_STAGING_VERSION" '{print "replace " $1 " => " $1 " " v}'
    } > "$work/go.mod"
    cat > "$work/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
    (cd "$work" && go mod tidy -e >/dev/null)
  fi
  # The node's commands live in a second tools file, added only when they are first wanted: the
  # control plane's tools.go (and so the module of a machine without a real node) stays as it was,
  # and the cached control-plane binaries, cached by file name, are not rebuilt.
  if [[ " ${missing[*]} " == *" kubelet "* || " ${missing[*]} " == *" kube-proxy "* ]] && [ ! -f "$work/tools_node.go" ]; then
    log "adding cmd/kubelet and cmd/kube-proxy to the k8s.io/kubernetes@$KUBE_VERSION module"
    cat > "$work/tools_node.go" <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
GO
    (cd "$work" && go mod tidy -e >/dev/null)
  fi
  local ld; ld=$(kube_ldflags)
  for b in "${missing[@]}"; do
    log "building $b $KUBE_VERSION (minutes on a cold cache)"
    (cd "$work" && gonice build -trimpath -ldflags "$ld" -o "$bin/$b-$KUBE_VERSION.tmp" "k8s.io/kubernetes/cmd/$b")
    mv "$bin/$b-$KUBE_VERSION.tmp" "$bin/$b-$KUBE_VERSION"
  done
}

build_etcd() {
  [ -x "$bin/etcd-$ETCD_VERSION" ] && return 0
  need_go
  local work=$cache/src/etcd-$ETCD_VERSION
  mkdir -p "$work"
  if [ ! -f "$work/go.sum" ]; then
    log "preparing etcd $ETCD_VERSION"
    cat > "$work/go.mod" <<MOD
module bosun.dev/upstream-etcd

go 1.25.0

require go.etcd.io/etcd/server/v3 $ETCD_VERSION
MOD
    cat > "$work/main.go" <<'GO'
// Command etcd runs etcd's own main, built from its Go module.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
    (cd "$work" && go mod tidy -e >/dev/null)
  fi
  log "building etcd $ETCD_VERSION"
  (cd "$work" && gonice build -trimpath -ldflags "-s -w" -o "$bin/etcd-$ETCD_VERSION.tmp" .)
  mv "$bin/etcd-$ETCD_VERSION.tmp" "$bin/etcd-$ETCD_VERSION"
}

# go install into a per-version GOBIN, then move into the cache.
go_install() { # name pkg version [ldflags]
  local name=$1 pkg=$2 ver=$3 ld=${4:-}
  [ -x "$bin/$name-$ver" ] && return 0
  need_go
  log "building $name $ver"
  local gobin=$cache/src/gobin-$name-$ver
  mkdir -p "$gobin"
  GOBIN=$gobin gonice install -trimpath -ldflags "-s -w $ld" "$pkg@$ver"
  mv "$gobin/$(basename "${pkg%/v[0-9]*}")" "$bin/$name-$ver" 2>/dev/null || mv "$gobin"/* "$bin/$name-$ver"
  rm -rf "$gobin"
}

# kube-state-metrics, built as a dependency of a module of ours: `go install pkg@version` first
# asks the proxy for the module's version list (to report deprecation), and the proxy refuses
# that list for k8s.io/kube-state-metrics/v2 while it serves the version itself.
build_ksm() {
  local v=$KSM_VERSION
  [ -x "$bin/kube-state-metrics-$v" ] && return 0
  need_go
  local work=$cache/src/kube-state-metrics-$v
  mkdir -p "$work"
  if [ ! -f "$work/go.sum" ]; then
    log "preparing kube-state-metrics $v"
    cat > "$work/go.mod" <<MOD
module bosun.dev/upstream-kube-state-metrics

go 1.25.0

require k8s.io/kube-state-metrics/v2 $v
MOD
    cat > "$work/tools.go" <<'GO'
//go:build tools

package tools

import _ "k8s.io/kube-state-metrics/v2"
GO
    (cd "$work" && go mod tidy -e >/dev/null)
  fi
  log "building kube-state-metrics $v"
  (cd "$work" && gonice build -trimpath \
    -ldflags "-s -w -X github.com/prometheus/common/version.Version=$v -X github.com/prometheus/common/version.Revision=$v" \
    -o "$bin/kube-state-metrics-$v.tmp" k8s.io/kube-state-metrics/v2)
  mv "$bin/kube-state-metrics-$v.tmp" "$bin/kube-state-metrics-$v"
}

# containerd, its runc shim and ctr, from containerd's own module (no replace directives), pure Go.
build_containerd() {
  local v=$CONTAINERD_VERSION b missing=()
  for b in containerd containerd-shim-runc-v2 ctr; do [ -x "$bin/$b-$v" ] || missing+=("$b"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  need_go
  log "building containerd, containerd-shim-runc-v2, ctr $v"
  local gobin=$cache/src/gobin-containerd-$v pkgs=()
  for b in "${missing[@]}"; do pkgs+=("github.com/containerd/containerd/v2/cmd/$b@$v"); done
  rm -rf "$gobin"; mkdir -p "$gobin"
  GOBIN=$gobin gonice install -trimpath -tags "no_btrfs no_devmapper no_zfs" \
    -ldflags "-s -w -X github.com/containerd/containerd/v2/version.Version=$v -X github.com/containerd/containerd/v2/version.Revision=$v" \
    "${pkgs[@]}"
  for b in "${missing[@]}"; do mv "$gobin/$b" "$bin/$b-$v"; done
  rm -rf "$gobin"
}

# runc with seccomp (containerd gives every pause container a seccomp profile; a runc without it
# fails every sandbox), linked statically against Debian's libseccomp.a (libseccomp-dev).
build_runc() {
  local v=$RUNC_VERSION
  [ -x "$bin/runc-$v" ] && return 0
  need_go
  pkg-config --exists libseccomp 2>/dev/null || { echo "runc needs libseccomp-dev and pkg-config (hack/deps.sh node)" >&2; exit 1; }
  log "building runc $v (cgo, seccomp, static)"
  local gobin=$cache/src/gobin-runc-$v
  rm -rf "$gobin"; mkdir -p "$gobin"
  CGO_ENABLED=1 GOBIN=$gobin gonice install -trimpath -tags "seccomp netgo osusergo" \
    -ldflags "-s -w -X main.version=${v#v} -X main.gitCommit=$v -extldflags -static" \
    "github.com/opencontainers/runc@$v"
  mv "$gobin/runc" "$bin/runc-$v"
  rm -rf "$gobin"
}

targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(etcd kube kwok helm)
for t in "${targets[@]}"; do
  case $t in
    etcd) build_etcd ;;
    kube) build_kube kube-apiserver kube-controller-manager kube-scheduler kubectl ;;
    node) build_kube kubelet kube-proxy; build_runc; build_containerd ;;
    kwok) go_install kwok sigs.k8s.io/kwok/cmd/kwok "$KWOK_VERSION" ;;
    helm) go_install helm helm.sh/helm/v3/cmd/helm "$HELM_VERSION" "-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" ;;
    coredns) go_install coredns github.com/coredns/coredns "$COREDNS_VERSION" ;;
    kube-state-metrics) build_ksm ;;
    actionlint) go_install actionlint github.com/rhysd/actionlint/cmd/actionlint "$ACTIONLINT_VERSION" \
      "-X github.com/rhysd/actionlint.version=$ACTIONLINT_VERSION" ;;
    validate-krew-manifest) go_install validate-krew-manifest sigs.k8s.io/krew/cmd/validate-krew-manifest "$KREW_VERSION" ;;
    krew) go_install krew sigs.k8s.io/krew/cmd/krew "$KREW_VERSION" "-X sigs.k8s.io/krew/internal/version.gitTag=$KREW_VERSION" ;;
    *) echo "unknown target $t" >&2; exit 2 ;;
  esac
done
# Stable names without the version, for the other scripts and the user's PATH.
for f in "$bin"/*-v[0-9]*; do
  [ -e "$f" ] || continue
  base=$(basename "$f"); name=${base%-v[0-9]*}
  case $base in *.tmp) continue ;; esac
  ver=${base#"$name"-}
  case $name in
    kube-apiserver|kube-controller-manager|kube-scheduler|kubectl|kubelet|kube-proxy) [ "$ver" = "$KUBE_VERSION" ] || continue ;;
    containerd|containerd-shim-runc-v2|ctr) [ "$ver" = "$CONTAINERD_VERSION" ] || continue ;;
    runc) [ "$ver" = "$RUNC_VERSION" ] || continue ;;
    etcd) [ "$ver" = "$ETCD_VERSION" ] || continue ;;
    kwok) [ "$ver" = "$KWOK_VERSION" ] || continue ;;
    helm) [ "$ver" = "$HELM_VERSION" ] || continue ;;
    coredns) [ "$ver" = "$COREDNS_VERSION" ] || continue ;;
    kube-state-metrics) [ "$ver" = "$KSM_VERSION" ] || continue ;;
    actionlint) [ "$ver" = "$ACTIONLINT_VERSION" ] || continue ;;
    validate-krew-manifest|krew) [ "$ver" = "$KREW_VERSION" ] || continue ;;
  esac
  ln -sfn "$base" "$bin/$name"
done
log "binaries ready in $bin"
