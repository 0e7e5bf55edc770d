#!/usr/bin/env bash
# Install what bosun's scripts need, from the registries only: Debian packages (apt), the Go
# module proxy (the upstream control plane, via hack/cluster/build.sh) and crates.io (cargo).
# Idempotent and quiet when everything is present.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

need_apt=()
for pair in openssl:openssl curl:curl setsid:util-linux hostname:hostname dig:bind9-dnsutils dnsperf:dnsperf python3:python3; do
  cmd=${pair%%:*} pkg=${pair#*:}
  command -v "$cmd" >/dev/null 2>&1 || need_apt+=("$pkg")
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
fi

"$here/cluster/build.sh"
