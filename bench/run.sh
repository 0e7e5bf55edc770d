#!/usr/bin/env bash
# `make bench`: build what the benchmark needs, run every scenario on fresh local clusters and
# write bench/results.json and docs/benchmarks.md.
#
# Environment (all optional):
#   BOSUN_PORT_OFFSET, BOSUN_CLUSTER_DIR  where the benchmark's clusters run (make bench defaults
#       them to a directory and ports of its own: every run destroys its cluster)
#   BENCH_REPLICAS (1000), BENCH_REPEATS (3), BENCH_EPS_PODS (5000), BENCH_EPS_FLIPS (500),
#   BENCH_DNS_SECONDS (10), BENCH_SCENARIOS (deploy,ceiling,eps,dns), BENCH_RATES
#   (default,unthrottled), BENCH_SIDES (kcm,bosun), BENCH_NOTE (load conditions, for the report)
#   BOSUN_BIN  the bosun binary (default: target/release/bosun, built here)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
export PATH="${BOSUN_CACHE:-$HOME/.cache/bosun}/bin:$HOME/.cargo/bin:$PATH"

hack/deps.sh
hack/cluster/build.sh coredns
if [ -z "${BOSUN_BIN:-}" ]; then
  echo "[bench] cargo build --release -p bosun" >&2
  cargo build --release -p bosun
fi
mkdir -p "$(dirname "${BOSUN_CLUSTER_DIR:?set BOSUN_CLUSTER_DIR to a directory for the benchmark}")"
python3 bench/bench.py "$@"
python3 bench/report.py bench/results.json docs/benchmarks.md
echo "[bench] wrote bench/results.json and docs/benchmarks.md" >&2
