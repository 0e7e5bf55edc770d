#!/usr/bin/env bash
# One release archive of kubectl-bosun, as release.yml uploads it (one runner per target).
#
#   hack/release/dist.sh TARGET TAG     e.g. hack/release/dist.sh x86_64-unknown-linux-musl v0.1.0
#
# `cargo build --release --locked` for the Rust TARGET, then target/dist/kubectl-bosun_<TAG>_<os>_<arch>.tar.gz
# with, at its top: kubectl-bosun, kubectl_complete-bosun (the shell script kubectl >= 1.26 runs
# for the plugin's TAB completion), bosun (Linux only), LICENSE and README.md. The krew manifest
# (plugins/bosun.yaml) installs kubectl-bosun and LICENSE from it.
#
#   x86_64-unknown-linux-musl   linux_amd64    static (musl-gcc for C code if installed, else cc)
#   aarch64-unknown-linux-musl  linux_arm64    static; built on an arm64 runner, not cross-compiled
#   x86_64-apple-darwin         darwin_amd64   kubectl-bosun only
#   aarch64-apple-darwin        darwin_arm64   kubectl-bosun only
#
# `bosun` itself (the controllers and the DNS server) runs in the cluster from the image, and its
# DNS server sets SO_RCVBUFFORCE, a Linux socket option: it is built for Linux only.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
[ $# -eq 2 ] || { echo "usage: hack/release/dist.sh TARGET TAG" >&2; exit 2; }
target=$1 tag=$2
log() { printf '[dist] %s\n' "$*" >&2; }

case $target in
  x86_64-unknown-linux-musl) os=linux arch=amd64 ;;
  aarch64-unknown-linux-musl) os=linux arch=arm64 ;;
  x86_64-apple-darwin) os=darwin arch=amd64 ;;
  aarch64-apple-darwin) os=darwin arch=arm64 ;;
  *) echo "dist.sh: no release archive for target $target" >&2; exit 2 ;;
esac
bins=(kubectl-bosun)
[ "$os" = linux ] && bins+=(bosun)

bin_args=()
for b in "${bins[@]}"; do bin_args+=(--bin "$b"); done
if [ "$os" = linux ]; then
  # C code of crates (ring) for the musl target: musl-gcc (musl-tools), as hack/image/build.sh.
  cc_var="CC_${target//-/_}"
  if [ -z "${!cc_var:-}" ]; then
    if command -v musl-gcc >/dev/null 2>&1; then export "$cc_var=musl-gcc"; else export "$cc_var=cc"; fi
  fi
fi
log "cargo build --release --locked --target $target -p bosun ${bin_args[*]}"
(cd "$root" && CARGO_PROFILE_RELEASE_STRIP=symbols nice -n "${BOSUN_NICE:-10}" \
  cargo build --release --locked --target "$target" -p bosun "${bin_args[@]}")
rel=$root/target/$target/release

if [ "$os" = linux ]; then
  for b in "${bins[@]}"; do
    if readelf -d "$rel/$b" | grep -q NEEDED; then
      echo "dist.sh: $rel/$b is not static: $(readelf -d "$rel/$b" | grep NEEDED)" >&2; exit 1
    fi
  done
fi
# Run what this machine can run: the archive's binaries must start and know their version.
host_os=$(uname -s | tr '[:upper:]' '[:lower:]')
host_arch=$(uname -m); host_arch=${host_arch/x86_64/amd64}; host_arch=${host_arch/aarch64/arm64}
if [ "$host_os/$host_arch" = "$os/$arch" ]; then
  want=$(sed -n '/^\[workspace\.package\]/,/^\[/s/^version[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' "$root/Cargo.toml")
  for b in "${bins[@]}"; do
    v=$("$rel/$b" --version)
    log "$b --version: $v"
    [[ $v == *" $want" ]] || { echo "dist.sh: $b --version says '$v', not $want" >&2; exit 1; }
  done
fi

name=kubectl-bosun_${tag}_${os}_${arch}
stage=$root/target/dist/.stage-$name
rm -rf "$stage"; mkdir -p "$stage"
for b in "${bins[@]}"; do install -m 0755 "$rel/$b" "$stage/$b"; done
install -m 0755 "$root/plugins/kubectl_complete-bosun" "$stage/"
install -m 0644 "$root/LICENSE" "$root/README.md" "$stage/"
tar -C "$stage" -czf "$root/target/dist/$name.tar.gz" "${bins[@]}" kubectl_complete-bosun LICENSE README.md
rm -rf "$stage"
log "target/dist/$name.tar.gz"
