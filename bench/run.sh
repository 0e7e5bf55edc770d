#!/usr/bin/env bash
# `make bench`: build what the benchmark needs, run every scenario on fresh local clusters and
# write bench/results.json and docs/benchmarks.md; without arguments, then the EndpointSlice
# write costs (bench/slice_writes.py: bench/slice-writes.json, docs/slice-writes.md).
#
# Environment (all optional):
#   BOSUN_PORT_OFFSET, BOSUN_CLUSTER_DIR  where the benchmark's clusters run (make bench defaults
#       them to a directory and ports of its own: every run destroys its cluster)
#   BENCH_REPLICAS (1000), BENCH_REPEATS (3), BENCH_EPS_PODS (5000), BENCH_EPS_FLIPS (500),
#   BENCH_DNS_SECONDS (10), BENCH_FRESH_ROUNDS (200), BENCH_FRESH_FLIPS (500),
#   BENCH_SCENARIOS (deploy,ceiling,eps,dns,fresh,scale-deploy,scale-eps,scale-dns), BENCH_RATES
#   (default,unthrottled), BENCH_SIDES (kcm,bosun), BENCH_NOTE (load conditions, for the report)
#   The scale scenarios (issue 19 part 1; `make bench-scale` runs only them), one fresh cluster
#   per side, both sides at BENCH_SCALE_RATE (unthrottled; or default, 20/30):
#     BENCH_SCALE_PODS (10000)  scale-deploy's replicas (0 -> N, then a rolling update of all N)
#                               and scale-eps's Pods behind one Service
#     BENCH_SCALE_FLIPS (1000)  scale-eps: Pods turned unready after the slices are correct
#     BENCH_SCALE_SERVICES (1000), BENCH_SCALE_PODS_PER_SERVICE (10)  scale-dns: headless
#                               Services each over a Deployment, created, then all rolled
#     BENCH_SCALE_REPEATS (1), BENCH_SCALE_TIMEOUT (900 s a phase; past it the phase is reported
#                               as not converged, with what was missing)
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
  # `make bench-quick`: every workload once, at sizes that run in minutes, to see a change's
  # effect before it lands. Its figures are not the README's: they go to target/, and
  # bench/results.json and docs/benchmarks.md stay the full run's. At these sizes scale-deploy
  # and scale-eps are the deploy and eps workloads (unthrottled), so those two are left out to
  # stay within 5 minutes (BENCH_SCENARIOS brings them back).
  export BENCH_SCENARIOS=${BENCH_SCENARIOS:-ceiling,dns,fresh,scale-deploy,scale-eps,scale-dns} \
    BENCH_REPEATS=${BENCH_REPEATS:-1} BENCH_REPLICAS=${BENCH_REPLICAS:-200} \
    BENCH_EPS_PODS=${BENCH_EPS_PODS:-500} BENCH_EPS_FLIPS=${BENCH_EPS_FLIPS:-50} \
    BENCH_DNS_SECONDS=${BENCH_DNS_SECONDS:-3} BENCH_RATES=${BENCH_RATES:-default} \
    BENCH_FRESH_ROUNDS=${BENCH_FRESH_ROUNDS:-20} BENCH_FRESH_FLIPS=${BENCH_FRESH_FLIPS:-40} \
    BENCH_SCALE_PODS=${BENCH_SCALE_PODS:-200} BENCH_SCALE_FLIPS=${BENCH_SCALE_FLIPS:-20} \
    BENCH_SCALE_SERVICES=${BENCH_SCALE_SERVICES:-20} BENCH_SCALE_TIMEOUT=${BENCH_SCALE_TIMEOUT:-120} \
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
if [ "$#" -eq 0 ]; then
  # The whole `make bench` also measures what an EndpointSlice write costs the API server, by
  # method, size and CRD schema variant (`make bench-slice-writes` alone).
  python3 bench/slice_writes.py --cbor --variants
fi
