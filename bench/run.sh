#!/usr/bin/env bash
# `make bench`: build what the benchmark needs, run every scenario on fresh local clusters and
# write bench/results.json and docs/benchmarks.md.
#
# Environment (all optional):
#   BOSUN_PORT_OFFSET, BOSUN_CLUSTER_DIR  where the benchmark's clusters run (make bench defaults
#       them to a directory and ports of its own: every run destroys its cluster)
#   BENCH_REPLICAS (1000), BENCH_REPEATS (3), BENCH_EPS_PODS (5000), BENCH_EPS_FLIPS (500),
#   BENCH_DNS_SECONDS (10), BENCH_FRESH_ROUNDS (200), BENCH_FRESH_FLIPS (500),
#   BENCH_SCENARIOS (deploy,ceiling,eps,dns,fresh), BENCH_RATES
#   (default,unthrottled), BENCH_SIDES (kcm,bosun), BENCH_NOTE (load conditions, for the report)
#   BOSUN_BIN  the bosun binary (default: target/release/bosun, built here)
#   BENCH_QUICK=1  `make bench-quick`: one repeat at reduced sizes, written to target/ only
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
if [ "${BENCH_QUICK:-0}" = 1 ]; then
  # `make bench-quick`: every scenario once, at sizes that run in minutes, to see a change's
  # effect before it lands. Its figures are not the README's: they go to target/, and
  # bench/results.json and docs/benchmarks.md stay the full run's.
  export BENCH_REPEATS=${BENCH_REPEATS:-1} BENCH_REPLICAS=${BENCH_REPLICAS:-200} \
    BENCH_EPS_PODS=${BENCH_EPS_PODS:-500} BENCH_EPS_FLIPS=${BENCH_EPS_FLIPS:-50} \
    BENCH_DNS_SECONDS=${BENCH_DNS_SECONDS:-3} BENCH_RATES=${BENCH_RATES:-default} \
    BENCH_FRESH_ROUNDS=${BENCH_FRESH_ROUNDS:-20} BENCH_FRESH_FLIPS=${BENCH_FRESH_FLIPS:-40} \
    BENCH_NOTE=${BENCH_NOTE:-"make bench-quick: one repeat, reduced sizes"}
  mkdir -p target
  t0=$SECONDS
  python3 bench/bench.py --out target/bench-quick.json "$@"
  python3 bench/report.py target/bench-quick.json target/bench-quick.md
  echo "[bench] quick run in $((SECONDS - t0))s: target/bench-quick.json and target/bench-quick.md" >&2
  exit 0
fi
python3 bench/bench.py "$@"
python3 bench/report.py bench/results.json docs/benchmarks.md
echo "[bench] wrote bench/results.json and docs/benchmarks.md" >&2
