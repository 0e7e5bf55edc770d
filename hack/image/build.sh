#!/usr/bin/env bash
# Build bosun's images as OCI archives, without a Docker daemon (hack/image/oci.py writes them),
# and import them into the real node when one runs.
#
#   hack/image/build.sh [bosun] [pause] [echo] [coredns]     (default: all four)
#
#   bosun  $IMAGE (default bosun:dev): bosun and kubectl-bosun, static musl binaries built with
#          the rustup target, in /usr/local/bin; /etc/passwd and /etc/group with nonroot (65532);
#          an empty /tmp; user 65532:65532; no shell, nothing else. The Dockerfile builds the same.
#   pause  $PAUSE_IMAGE: images/pause/pause.c linked statically; the real node's sandbox image.
#   echo   $ECHO_IMAGE: images/echo (bosun-echo), answers HTTP with its Pod's name on :8080; the
#          same /etc/passwd and /etc/group (kubelet passes only the image's uid to the runtime,
#          which takes the group from /etc/passwd: without it the process runs with gid 0).
#   coredns $COREDNS_IMAGE: the CoreDNS that hack/cluster/build.sh built ($COREDNS_VERSION, static)
#          as /coredns, for the in-cluster test of the kube-dns switch (kind's Corefile comes from
#          a ConfigMap, as on kind).
#
# Archives go to $BOSUN_IMAGE_DIR (default target/images/NAME.tar). They load with
# `ctr -n k8s.io images import`, `kind load image-archive`, `minikube image load`, `docker load`.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../cluster/versions.env
. "$root/hack/cluster/versions.env"
IMAGE=${IMAGE:-bosun:dev}
out=${BOSUN_IMAGE_DIR:-$root/target/images}
target=x86_64-unknown-linux-musl
log() { printf '[image] %s\n' "$*" >&2; }
mkdir -p "$out"

want=("$@")
[ ${#want[@]} -eq 0 ] && want=(bosun pause echo coredns)
for w in "${want[@]}"; do
  case $w in bosun|pause|echo|coredns) ;; *) echo "usage: hack/image/build.sh [bosun] [pause] [echo] [coredns]" >&2; exit 2 ;; esac
done
has() { [[ " ${want[*]} " == *" $1 "* ]]; }

# musl-gcc (musl-tools) compiles C for the musl target: ring's, and pause.c. Without it the host's
# gcc also works for ring (checked), so it is a preference, not a requirement.
musl_cc=cc
command -v musl-gcc >/dev/null 2>&1 && musl_cc=musl-gcc

static_check() {
  local f
  for f in "$@"; do
    if readelf -d "$f" 2>/dev/null | grep -q NEEDED; then
      echo "$f is not static: $(readelf -d "$f" | grep NEEDED)" >&2; exit 1
    fi
  done
}

# --- Rust binaries (one cargo build for both images) ---------------------------------------------
pkgs=()
has bosun && pkgs+=(-p bosun)
has echo && pkgs+=(-p bosun-echo)
if [ ${#pkgs[@]} -gt 0 ]; then
  if command -v rustup >/dev/null 2>&1 && ! rustup target list --installed | grep -qx "$target"; then
    log "rustup target add $target"
    rustup target add "$target" >&2
  fi
  log "cargo build --release --target $target ${pkgs[*]}"
  CC_x86_64_unknown_linux_musl=$musl_cc CARGO_PROFILE_RELEASE_STRIP=symbols \
    nice -n "${BOSUN_NICE:-10}" cargo build -q --release --locked --target "$target" "${pkgs[@]}" --bins
fi
rel=$root/target/$target/release

if has bosun; then
  static_check "$rel/bosun" "$rel/kubectl-bosun"
  "$root/hack/image/oci.py" --name "$IMAGE" --out "$out/bosun.tar" \
    --file "$rel/bosun=/usr/local/bin/bosun:0755" \
    --file "$rel/kubectl-bosun=/usr/local/bin/kubectl-bosun:0755" \
    --file "$root/images/bosun/passwd=/etc/passwd:0644" \
    --file "$root/images/bosun/group=/etc/group:0644" \
    --dir /tmp:1777 \
    --user 65532:65532 \
    --entrypoint '["/usr/local/bin/bosun"]' --cmd '["run"]' \
    --expose 5353/udp --expose 5353/tcp --expose 8080/tcp --expose 8081/tcp \
    --label "org.opencontainers.image.title=bosun" \
    --label "org.opencontainers.image.description=Kubernetes' core controllers as custom resources, and a DNS server" \
    --label "org.opencontainers.image.licenses=Apache-2.0"
fi

if has pause; then
  mkdir -p "$root/target/pause"
  log "$musl_cc -static pause.c"
  "$musl_cc" -static -Os -s -Wall -Werror -o "$root/target/pause/pause" "$root/images/pause/pause.c"
  static_check "$root/target/pause/pause"
  "$root/hack/image/oci.py" --name "$PAUSE_IMAGE" --out "$out/pause.tar" \
    --file "$root/target/pause/pause=/pause:0755" \
    --user 65535:65535 --entrypoint '["/pause"]'
fi

if has echo; then
  static_check "$rel/bosun-echo"
  "$root/hack/image/oci.py" --name "$ECHO_IMAGE" --out "$out/echo.tar" \
    --file "$rel/bosun-echo=/bosun-echo:0755" \
    --file "$root/images/bosun/passwd=/etc/passwd:0644" \
    --file "$root/images/bosun/group=/etc/group:0644" \
    --user 65532:65532 --entrypoint '["/bosun-echo"]' --expose 8080/tcp
fi

if has coredns; then
  coredns=${BOSUN_CACHE:-$HOME/.cache/bosun}/bin/coredns-$COREDNS_VERSION
  [ -x "$coredns" ] || { echo "$coredns is missing: hack/deps.sh builds it" >&2; exit 1; }
  static_check "$coredns"
  "$root/hack/image/oci.py" --name "$COREDNS_IMAGE" --out "$out/coredns.tar" \
    --file "$coredns=/coredns:0755" \
    --entrypoint '["/coredns"]' --expose 53/udp --expose 53/tcp --expose 9153/tcp
fi

# Into the real node, when one runs (a no-op otherwise).
files=()
for w in "${want[@]}"; do files+=("$out/$w.tar"); done
"$root/hack/cluster/node.sh" import "${files[@]}"
