#!/usr/bin/env python3
"""Where `bosun run`'s memory goes: a heap profile of the Deployment and ReplicaSet controllers
scaling a Deployment from 0 to N replicas (scale-deploy's first phase), on a fresh local cluster.

  cargo build --release -p bosun --features heap-profile
  cp target/release/bosun /tmp/bosun-heap        # so that a rebuild cannot change it mid-run
  BOSUN_CLUSTER_DIR=... BOSUN_PORT_OFFSET=... BOSUN_BIN=/tmp/bosun-heap \\
      python3 bench/heap_profile.py --replicas 10000 --out target/dhat-heap.json
  python3 bench/dhat_top.py target/dhat-heap.json

The binary must be built with `--features heap-profile` (dhat as the global allocator, which
slows every allocation: no timing from this run means anything). Once the Deployment is
available the harness stops bosun with SIGTERM and waits for it to write the profile; it also
prints bosun's VmHWM and VmRSS then, for comparison with the heap's peak.
Only the standard library is used.
"""

import argparse
import os
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--replicas", type=int, default=10000)
    ap.add_argument("--timeout", type=int, default=1800)
    ap.add_argument("--out", default=str(bench.REPO / "target/dhat-heap.json"))
    a = ap.parse_args()
    if bench.DIR.resolve() == (bench.CACHE / "cluster").resolve():
        sys.exit("heap_profile: set BOSUN_CLUSTER_DIR to a cluster of its own (this one is destroyed)")
    out = Path(a.out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists():
        out.unlink()
    os.environ["BOSUN_HEAP_PROFILE"] = str(out)
    n = a.replicas
    with bench.Cluster("serviceaccount", label="heap profile") as cl:
        cl.install_crds()
        bench.start_bosun(cl, ["replicaset", "deployment"], bench.RATES["unthrottled"])
        pid = cl.pids()["bosun"]
        cl.namespace()
        api = "apps.bosun.dev/v1"
        dpath = f"/apis/{api}/namespaces/{bench.NS}/deployments"
        cl.admin.create(dpath, bench.deployment(api, 0))
        deps = bench.Tracker(cl.admin, dpath, bench.deploy_summary)
        deps.goal("available", lambda tr: any(s[4] >= n for s in tr.state.values()))
        t0 = time.monotonic()
        cl.admin.merge_patch(f"{dpath}/web", {"spec": {"replicas": n}})
        deps.wait("available", t0 + a.timeout)
        bench.log(f"{n} replicas available after {time.monotonic() - t0:.1f} s (under dhat)")
        # Let the last status writes and Events settle before the profile is taken at exit.
        cl.wait_audit_quiet(2.0, 60)
        hwm, cur = bench.proc_status(pid, "VmHWM"), bench.proc_status(pid, "VmRSS")
        bench.log(f"bosun VmHWM {hwm} MiB, VmRSS {cur} MiB; stopping it for the profile")
        deps.stop()
        proc = next(p for name, p in cl.extra if name == "bosun")
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=600)
        if not out.exists():
            sys.exit(f"heap_profile: {out} not written: is {bench.bosun_bin()} built with --features heap-profile?")
        bench.log(f"profile in {out} ({out.stat().st_size / 2**20:.1f} MiB); python3 bench/dhat_top.py {out}")


if __name__ == "__main__":
    main()
