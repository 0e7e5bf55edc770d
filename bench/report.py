#!/usr/bin/env python3
"""Render bench/results.json (from bench/bench.py) as docs/benchmarks.md.

usage: bench/report.py RESULTS.json OUT.md
Every figure in the page comes from the JSON; the bottleneck column is derived from the CPU
seconds each process used during the measured phase, the machine's busy share, the controller's
write rate and where the pods' timeline stalled (created -> scheduled -> Ready).
"""

import json
import statistics
import sys
from pathlib import Path


def fmt(st, unit="s", digits=1):
    """'min / median' of a stats dict, or a dash."""
    if not st:
        return "—"
    return f"{st['min']:.{digits}f} / {st['median']:.{digits}f}{unit}"


def ratio(a, b, digits=2):
    if not a or not b or not b.get("median"):
        return "—"
    return f"{a['median'] / b['median']:.{digits}f}x"


def median_run(runs, key):
    """The run whose `key(run)` is the median (the one whose bottleneck we describe)."""
    runs = [r for r in runs if key(r) is not None]
    if not runs:
        return None
    runs = sorted(runs, key=key)
    return runs[(len(runs) - 1) // 2]


def top_cpu(phase, n=3):
    cpu = sorted(phase.get("cpu_s", {}).items(), key=lambda kv: -kv[1])[:n]
    return ", ".join(f"{k} {v:.1f} s" for k, v in cpu)


def bottleneck(phase, elapsed, writes=None, qps=None):
    """One line naming what limited a measured phase, with the evidence."""
    parts = []
    if writes is not None and qps and elapsed:
        rate = writes / elapsed
        if qps * 0.6 <= rate <= qps * 1.5 + 30 / elapsed:
            parts.append(f"the controller's client rate limit ({qps:g} QPS; it wrote {rate:.0f}/s)")
    busy, others = phase.get("machine_busy", 0), phase.get("others_busy", 0)
    if busy >= 0.85:
        parts.append(f"CPU: the 2 cores {busy:.0%} busy, {others:.0%} of it other users'; top: {top_cpu(phase)}")
    else:
        parts.append(f"not CPU ({busy:.0%} busy); top: {top_cpu(phase)}")
    if "exist_s" in phase and "ready_s" in phase:
        e, s, r = phase["exist_s"], phase.get("scheduled_s"), phase["ready_s"]
        if s is not None:
            parts.append(f"pods all created {e:.1f} s, scheduled {s:.1f} s, Ready {r:.1f} s")
        if r - e > 0.5 * r:
            parts.append("most of the time after the last create: scheduler/kwok readiness")
    return "; ".join(parts)


def writes_total(phase):
    return sum(w["total"] for w in phase.get("writes", {}).values())


def writes_detail(phase):
    out = []
    for who, w in phase.get("writes", {}).items():
        by = ", ".join(f"{k} {v}" for k, v in sorted(w["by"].items(), key=lambda kv: -kv[1]))
        out.append(f"{who}: {w['total']} ({by}; {w['conflicts']} conflicts)")
    return "; ".join(out)


def ms_pair(x):
    """'median / p99 ms' of a scenario 7 delays dict, with the misses when there were any."""
    if not x or x.get("median_ms") is None:
        return "—"
    miss = f" ({x['missed']} of {x['n'] + x['missed']} not timed)" if x.get("missed") else ""
    return f"{x['median_ms']:.1f} / {x['p99_ms']:.1f} ms{miss}"


def diff_pair(row):
    if row.get("diff_median_ms") is None:
        return "—", "—"
    r50, r99 = row.get("ratio_median"), row.get("ratio_p99")
    return (f"{row['diff_median_ms']:+.1f} / {row['diff_p99_ms']:+.1f} ms",
            f"{r50:.2f}x / {r99:.2f}x" if r50 is not None and r99 is not None else "—")


def fresh_section(w, fresh):
    """Scenario 7: issue 19's parts 2 and 4, both sides on one cluster."""
    runs = fresh.get("runs", [])
    r0 = runs[0] if runs else {}
    st, dn = r0.get("status", {}), r0.get("dns", {})
    rtt = [ph.get("patch", {}).get("median_ms") for ph in
           [st.get(side, {}) for side in ("kcm", "bosun")] + [dn]]
    rtt = [x for x in rtt if x is not None]
    patch_ms = f"{statistics.median(rtt):.1f} ms" if rtt else "not recorded"
    w("## 7. Freshness: a Pod's readiness to the status and to the DNS answer (issue 19, parts 2 and 4)")
    w("")
    w("One cluster runs both sides at once: kube-controller-manager with `--controllers "
      "serviceaccount,deployment,replicaset,endpointslice` on `apps/v1` and `discovery.k8s.io`, and "
      f"`bosun run --controllers {','.join(r0.get('bosun_controllers', [])) or '…'}` on bosun's custom "
      f"resources, both at client rate limits {r0.get('rate_setting', '20/30')}. The harness changes a "
      "Pod's readiness with a `pods/status` patch, as a kubelet writes it (kwok keeps it), and times from "
      "the moment before that patch, as every phase of the benchmark (the figures include the patch's own "
      f"round trip, median {patch_ms}); the rows \"from the Pod event\" time from the harness's own watch "
      "event of the Pod instead (the e2e test's method), which on a busy machine can reach the harness "
      "after the status event it caused, so a few of those delays are below zero. Each change waits until it has shown everywhere, then "
      f"{st.get('gap_s', dn.get('gap_s', '?'))} s more, so every change meets idle controllers (the "
      "issue's \"low rates\"). Median and p99 (nearest rank) over every change.")
    w("")
    sr = fresh.get("status", {})
    if st or sr.get("skipped"):
        w(f"**Part 2, status.** A Deployment of {st.get('replicas', '?')} replicas per side; "
          f"{st.get('rounds', '?')} rounds, in each one Pod of each side's Deployment is made unready, "
          "both statuses are awaited, and it is made Ready again: from then to the ReplicaSet's and "
          "the Deployment's status showing every replica ready and available (the status watches' "
          "events). The sides take turns, one change in flight at a time. Goal: "
          "bosun within 20 ms of upstream.")
        w("")
        w("| last Pod Ready → | kube-controller-manager (median / p99) | bosun (median / p99) | "
          "bosun − upstream | bosun ÷ upstream | goal (≤ +20 ms) |")
        w("|---|---|---|---|---|---|")
        if sr.get("skipped"):
            w(f"| (bosun) | | skipped: {sr['skipped']} | | | |")
        for kind, label in (("replicaset", "ReplicaSet status"), ("deployment", "Deployment status"),
                            ("replicaset_from_pod_event", "ReplicaSet status, from the Pod event"),
                            ("deployment_from_pod_event", "Deployment status, from the Pod event")):
            row = sr.get(kind, {})
            d, r = diff_pair(row)
            goal = "—"
            if row.get("diff_median_ms") is not None:
                goal = ("met" if row["diff_median_ms"] <= 20 and row["diff_p99_ms"] <= 20 else
                        "median met, p99 not" if row["diff_median_ms"] <= 20 else "not met")
            w(f"| {label} | {ms_pair(row.get('kcm'))} | {ms_pair(row.get('bosun'))} | {d} | {r} | {goal} |")
        w("")
    dr = fresh.get("dns", {})
    if dn or dr.get("skipped"):
        w(f"**Part 4, DNS.** A headless Service over {dn.get('pods', '?')} Pods; {dn.get('flips', '?')} "
          f"flips, alternately making one Pod unready and Ready again (over the "
          f"{dn.get('flipped_pods', '?')} Pods whose IP no other shares). After each flip the harness asks "
          f"both servers for the Service's A records every {dn.get('poll_ms', '?')} ms (UDP on loopback, "
          "its own client, at most 10 s) until the answer is exactly the Ready Pods' IPs: CoreDNS "
          "behind kube-controller-manager's EndpointSlice controller, and `bosun dns` behind bosun's "
          "EndpointSlice and DNS controllers. CoreDNS runs kind's Corefile without its `cache 30`: "
          "with it, the answer CoreDNS has cached is served for up to 30 s after the change whatever "
          "the chain does (`bosun dns` caches only forwarded answers). The figures include up to one "
          "poll interval of resolution. Goal: bosun's p99 at most CoreDNS's.")
        w("")
        w("| Pod change → answer | kube-controller-manager + CoreDNS (median / p99) | bosun chain "
          "(median / p99) | bosun − upstream | bosun ÷ upstream | goal (p99 ≤ CoreDNS's) |")
        w("|---|---|---|---|---|---|")
        if dr.get("skipped"):
            w(f"| (bosun) | | skipped: {dr['skipped']} | | | |")
        for kind, label in (("unready", "unready → out of the answer"), ("ready", "Ready → in the answer"),
                            ("all", "every flip"), ("all_from_pod_event", "every flip, from the Pod event")):
            row = dr.get(kind, {})
            d, r = diff_pair(row)
            goal = "—"
            if row.get("diff_p99_ms") is not None:
                goal = "met" if row["diff_p99_ms"] <= 0 else "not met"
            w(f"| {label} | {ms_pair(row.get('coredns'))} | {ms_pair(row.get('bosun-dns'))} | {d} | {r} | {goal} |")
        w("")
        q = dn.get("queries")
        if q:
            w(f"Questions asked over the flips: {', '.join(f'{k} {v}' for k, v in q.items())}.")
            w("")
    for label, ph in (("part 2", st), ("part 4", dn)):
        for e in ph.get("not_timed", []):
            w(f"- not timed, {label}: {e}")
        if ph.get("wall_s"):
            w(f"- load, {label}: " + bottleneck(ph, ph["wall_s"]) + f"; {ph['wall_s']:.0f} s")
    if st or dn:
        w("")


SCALE_PHASES = {
    "scale-deploy": [
        ("scale_up", "Deployment 0 → N: availableReplicas = N",
         [("exist_s", "all Pods exist")]),
        ("rolling_update", "rolling update of all N (25%/25%) complete", []),
    ],
    "scale-eps": [
        ("service_create", "Service over N Pods created → slices correct", []),
        ("readiness_flips", "F Pods unready → slices correct", [("patched_s", "every status patch answered")]),
    ],
    "scale-dns": [
        ("create", "S headless Services + Deployments created → every DNS answer right",
         [("pods_ready_s", "every Pod Ready"), ("deployments_s", "every Deployment complete"),
          ("objects_s", "objects hold the Ready IPs (EndpointSlices / DNSRecordSets)")]),
        ("rolling_update", "every Deployment rolled → every DNS answer right",
         [("pods_ready_s", "every new Pod Ready"), ("deployments_s", "every Deployment complete"),
          ("objects_s", "objects hold the new IPs (EndpointSlices / DNSRecordSets)")]),
    ],
}


def run_stats(side, phase, key):
    """stats() over a side's runs of one figure of a phase (seconds, CPU seconds...)."""
    v = [r[phase].get(key) for r in side.get("runs", []) if phase in r]
    v = [x for x in v if x is not None]
    if not v:
        return None
    return {"min": min(v), "median": statistics.median(v), "max": max(v)}


def scale_cell(side, phase, key, unit="s", digits=1):
    """A figure of a scale phase, or why there is none (not converged, not run, failed)."""
    if not side:
        return "not run"
    if side.get("failed"):
        return "run failed (below)"
    st = run_stats(side, phase, key)
    if st is not None:
        return fmt(st, unit, digits)
    runs = [r.get(phase, {}) for r in side.get("runs", [])]
    if runs and all(not r.get("converged") for r in runs):
        t = runs[0].get("timeout_s")
        return f"**not converged** within {t} s" if t else "**not run**"
    return "—"


def scale_section(w, sc):
    """The scale scenarios (issue 19 part 1): one table, every phase's figures per side."""
    present = [k for k in SCALE_PHASES if k in sc]
    if not present:
        return
    sizes = {}
    for k in present:
        for side in sc[k].values():
            for r in side.get("runs", []):
                sizes[k] = r
                break
    n = (sizes.get("scale-deploy") or {}).get("replicas") or (sizes.get("scale-eps") or {}).get("pods")
    title = f"{n:,} Pods" if n else "many Pods"
    w(f"## Scale: {title} (issue 19 part 1)")
    w("")
    dn = sizes.get("scale-dns") or {}
    ep = sizes.get("scale-eps") or {}
    rate = next((s.get("rate_setting") for k in present for s in sc[k].values() if s.get("rate_setting")), "?")
    w("Each scenario runs each side on a fresh cluster, both at client rate limits "
      f"{rate}: kube-controller-manager restricted to the controllers under test (plus "
      "`serviceaccount`), and `bosun run` with the same controllers on its custom resources. "
      f"**scale-deploy**: a Deployment from 0 to {(sizes.get('scale-deploy') or {}).get('replicas', 'N')} "
      "replicas, then a 25%/25% rolling update of all of them (as scenarios 1 and 3). "
      f"**scale-eps**: {ep.get('pods', 'N')} Ready Pods, then a Service over them (timed until the slices "
      f"hold every Pod, ready), then {ep.get('flips', 'F')} of them made unready through `pods/status` "
      "(timed from the first patch until the slices show exactly those not ready). "
      f"**scale-dns**: {dn.get('services', 'S')} headless Services, each over a Deployment of "
      f"{dn.get('pods_per_service', '?')} Pods, created together, then every Deployment rolled; "
      "timed until every Deployment is complete, the side's objects hold each Service's Ready Pod IPs "
      "(upstream's EndpointSlices; bosun's DNSRecordSets) and its DNS server (CoreDNS with kind's "
      "Corefile without `cache`, behind kube-controller-manager's Deployment, ReplicaSet and "
      "EndpointSlice controllers; `bosun dns` behind bosun's Deployment, ReplicaSet, EndpointSlice "
      "and DNS controllers) answers every Service's A question with exactly those IPs. The harness "
      "compares its watches' caches and asks the server every 0.25 s (only the Services not yet "
      "answered right), and asks all once more before it stops the clock. CPU-seconds are the "
      "process's utime+stime over the phase; the controller is kube-controller-manager or `bosun run`, "
      "the DNS server CoreDNS or `bosun dns`. Writes are the controllers' (audit log), Events included.")
    w("")
    w("| scenario | phase (timed until) | figure | kube-controller-manager | bosun | bosun ÷ upstream |")
    w("|---|---|---|---|---|---|")
    notes = []
    for k in present:
        kc, bo = sc[k].get("kcm", {}), sc[k].get("bosun", {})
        for phase, label, extra in SCALE_PHASES[k]:
            figs = [("seconds", "seconds", "s", 1)] + [(key, name, "s", 1) for key, name in extra] + [
                ("writes_total", "API writes", "", 0), ("controller_cpu_s", "controller CPU-seconds", " s", 1)]
            if k == "scale-dns":
                figs.append(("dns_cpu_s", "DNS server CPU-seconds", " s", 1))
            figs.append(("apiserver_cpu_s", "API server CPU-seconds", " s", 1))
            for key, name, unit, digits in figs:
                ks, bs = run_stats(kc, phase, key), run_stats(bo, phase, key)
                w(f"| {k} | {label} | {name} | {scale_cell(kc, phase, key, unit, digits)} | "
                  f"{scale_cell(bo, phase, key, unit, digits)} | {ratio(bs, ks)} |")
            for side_name, side in (("kube-controller-manager", kc), ("bosun", bo)):
                for r in side.get("runs", []):
                    ph = r.get(phase, {})
                    if ph and not ph.get("converged"):
                        notes.append(f"{k}, {label}, {side_name}: {ph.get('missing')}")
        for key, name in (("controller_peak_rss_mib", "controller peak RSS"),
                          ("dns_peak_rss_mib", "DNS server peak RSS")):
            ks, bs = kc.get(key), bo.get(key)
            if ks or bs:
                w(f"| {k} | whole run | {name} | {fmt(ks, ' MiB')} | {fmt(bs, ' MiB')} | {ratio(bs, ks)} |")
    w("")
    if notes:
        w("Not converged (what was still missing at the deadline):")
        w("")
        for x in notes:
            w(f"- {x}")
        w("")
    w("Bottlenecks:")
    w("")
    for k in present:
        for side_name, side in sc[k].items():
            for r in side.get("runs", []):
                for phase, label, _ in SCALE_PHASES[k]:
                    ph = r.get(phase, {})
                    if ph.get("wall_s"):
                        w(f"- {k}, {label}, {side_name}: " + bottleneck(ph, ph["wall_s"]) +
                          f"; load average at the run's start {r.get('loadavg')}")
                        w(f"  - writes: {writes_detail(ph)}")
    w("")


def main():
    src, dst = sys.argv[1], sys.argv[2]
    d = json.load(open(src))
    m, v, caps = d["machine"], d["versions"], d.get("bosun_capabilities", {})
    sc = d.get("scenarios", {})
    L = []
    w = L.append
    w("# Benchmarks: bosun beside kube-controller-manager and CoreDNS")
    w("")
    w("Generated by `bench/report.py` from `bench/results.json` (`make bench`, issue 8). Every figure is")
    w("**min / median** over the repeats; every run used a fresh cluster. Ratios are bosun ÷ upstream")
    w("of the medians (below 1 is faster for times, fewer for writes, smaller for memory; for DNS")
    w("queries per second above 1 is better).")
    w("")
    w("## Conditions of this run")
    w("")
    if d.get("note"):
        w(f"> {d['note']}")
        w("")
    # The note is quoted above: the command and the parameters say where it went.
    note = d.get("note")
    command = d["command"].replace(note, "(the note above)") if note else d["command"]
    params = {k: ("(the note above)" if k == "note" and val else val) for k, val in d["params"].items()}
    w(f"- started {d['started']}, finished {d.get('finished', '?')}; command: `{command}`")
    w(f"- parameters: `{json.dumps(params, sort_keys=True)}`")
    if d.get("merged_from"):
        mf = d["merged_from"]
        w(f"- the scenarios this command did not run come from an earlier run on the same machine "
          f"(started {mf.get('started')}, `{mf.get('command')}`, load average at its start "
          f"{(mf.get('machine') or {}).get('loadavg_at_start')})")
    w(f"- machine: {m['cpu_model']}, {m['cpus']} CPUs, {m['mem_total_mib']} MiB; kernel {m['kernel']}")
    w(f"- load average at start {m['loadavg_at_start']}, at end {m.get('loadavg_at_end')}")
    others = []
    for scen in sc.values():
        stack = [scen]
        while stack:
            x = stack.pop()
            if isinstance(x, dict):
                if "others_busy" in x:
                    others.append(x["others_busy"])
                stack.extend(x.values())
            elif isinstance(x, list):
                stack.extend(x)
    if others:
        w(f"- share of both cores taken by other users' processes during the measured phases: median "
          f"{statistics.median(others):.0%}, max {max(others):.0%}")
    w("- versions: " + ", ".join(f"{k} {val}" for k, val in v.items() if val))
    w(f"- bosun build: controllers {caps.get('controllers')}, client rate-limit flags: "
      f"{'yes' if caps.get('rate_limit_flags') else 'no (bosun is unthrottled in every run)'}, "
      f"`bosun dns`: {'yes' if caps.get('dns') else 'no'}")
    w("")
    w("`free -m` at the start:")
    w("")
    w("```")
    w(m.get("free_m", "").rstrip())
    w("```")
    w("")

    ceiling = sc.get("ceiling", {})
    dep = sc.get("deploy", {})
    if dep:
        w("## 1. Scale-up: a Deployment from 0 to N replicas")
        w("")
        w("kube-controller-manager runs `--controllers serviceaccount,deployment,replicaset` (the service")
        w("account controller only makes the namespace's `default` ServiceAccount); bosun runs")
        w("`bosun run --controllers replicaset,deployment` against `apps.bosun.dev/v1`. Time from the")
        w("scale request to every Pod existing, and to the Deployment's `availableReplicas` = N.")
        w("")
        w("| client rate limits | figure | kube-controller-manager | bosun | bosun ÷ upstream | bosun ÷ ceiling |")
        w("|---|---|---|---|---|---|")
        for rate, sides in dep.items():
            k, b = sides.get("kcm", {}), sides.get("bosun", {})
            setting = f"{rate}: kcm {k.get('rate_setting', '—')}, bosun {b.get('rate_setting', '—')}"
            for fig, key, ckey in (("all Pods exist", "exist_s", "exist_s"),
                                   ("availableReplicas = N", "available_s", "ready_s")):
                ks = k.get("scale_up", {}).get(key)
                bs = b.get("scale_up", {}).get(key)
                w(f"| {setting} | {fig} | {fmt(ks)} | {fmt(bs)} | {ratio(bs, ks)} | {ratio(bs, ceiling.get(ckey))} |")
        w("")
        w("## 3. Rolling update of the N replicas (maxSurge 25%, maxUnavailable 25%)")
        w("")
        w("Same runs, after the scale-up: a change of the Pod template's annotations, timed until the")
        w("Deployment is complete (observedGeneration current, replicas = updated = available = N).")
        w("API writes are counted from the API server's audit log (`bench/audit-policy.yaml`, every")
        w("write request with its user): kube-controller-manager's deployment-controller and")
        w("replicaset-controller service accounts, and bosun's own client certificate. Events count.")
        w("")
        w("| client rate limits | figure | kube-controller-manager | bosun | bosun ÷ upstream |")
        w("|---|---|---|---|---|")
        for rate, sides in dep.items():
            k, b = sides.get("kcm", {}), sides.get("bosun", {})
            kr, br = k.get("rolling_update", {}), b.get("rolling_update", {})
            w(f"| {rate} | seconds to complete | {fmt(kr.get('complete_s'))} | {fmt(br.get('complete_s'))} | "
              f"{ratio(br.get('complete_s'), kr.get('complete_s'))} |")
            w(f"| {rate} | API writes (rolling update) | {fmt(kr.get('writes'), '', 0)} | "
              f"{fmt(br.get('writes'), '', 0)} | {ratio(br.get('writes'), kr.get('writes'))} |")
            ku, bu = k.get("scale_up", {}), b.get("scale_up", {})
            w(f"| {rate} | API writes (scale-up, for reference) | {fmt(ku.get('writes'), '', 0)} | "
              f"{fmt(bu.get('writes'), '', 0)} | {ratio(bu.get('writes'), ku.get('writes'))} |")
        w("")
        w("Bottlenecks (median run of each):")
        w("")
        for rate, sides in dep.items():
            for side, s in sides.items():
                runs = s.get("runs", [])
                if not runs:
                    continue
                qps = None
                rs = s.get("rate_setting") or ""
                if rs[:1].isdigit():
                    qps = float(rs.split("/")[0])
                r = median_run(runs, lambda x: x["scale_up"]["available_s"])
                su = r["scale_up"]
                w(f"- scale-up, {side}, {rate}: " + bottleneck(su, su["available_s"], writes_total(su), qps))
                r = median_run(runs, lambda x: x["rolling_update"]["complete_s"])
                ru = r["rolling_update"]
                w(f"- rolling update, {side}, {rate}: " + bottleneck(ru, ru["complete_s"], writes_total(ru), qps))
                w(f"  - writes: {writes_detail(ru)}")
        w("")
    if ceiling.get("runs"):
        w("## 2. The ceiling: a plain parallel client creating N Pods")
        w("")
        w(f"`bench/bench.py`'s own client ({ceiling['runs'][0]['threads']} threads, one kept-alive HTTPS")
        w("connection each, no rate limit) POSTs N bare Pods to the same kind of fresh cluster.")
        w("")
        w("| figure | value |")
        w("|---|---|")
        w(f"| every create answered | {fmt(ceiling.get('created_s'))} |")
        w(f"| all Pods seen in the watch | {fmt(ceiling.get('exist_s'))} |")
        w(f"| all Pods Ready (kwok) | {fmt(ceiling.get('ready_s'))} |")
        w(f"| Pods created per second | {fmt(ceiling.get('pods_per_s'), '', 0)} |")
        r = median_run(ceiling["runs"], lambda x: x["exist_s"])
        w("")
        w("Bottleneck: " + bottleneck(r, r["exist_s"]))
        w("")
    eps = sc.get("eps", {})
    if eps:
        w("## 4. EndpointSlices: a Service over P Pods, then F Pods turning unready")
        w("")
        w("P Ready Pods exist first; then the Service is created (timed until the slices hold exactly")
        w("the P Pods, all ready), then F Pods get `Ready=False` through their status (timed from the")
        w("first patch until the slices show exactly those F as not ready). Slice writes from the audit")
        w("log. kube-controller-manager runs `--controllers serviceaccount,endpointslice`.")
        w("")
        w("| figure | kube-controller-manager | bosun | bosun ÷ upstream |")
        w("|---|---|---|---|")
        k, b = eps.get("kcm", {}), eps.get("bosun", {})
        if b.get("skipped"):
            w(f"| (bosun) | | skipped: {b['skipped']} | |")
        for phase, label in (("service_create", "Service created → slices correct"),
                             ("readiness_flips", "flips → slices correct")):
            kp, bp = k.get(phase, {}), b.get(phase, {})
            w(f"| {label} | {fmt(kp.get('correct_s'), 's', 2)} | {fmt(bp.get('correct_s'), 's', 2)} | "
              f"{ratio(bp.get('correct_s'), kp.get('correct_s'))} |")
            w(f"| {label}: API writes | {fmt(kp.get('writes'), '', 0)} | {fmt(bp.get('writes'), '', 0)} | "
              f"{ratio(bp.get('writes'), kp.get('writes'))} |")
        w("")
        w("Bottlenecks (median run):")
        w("")
        for side, s in eps.items():
            runs = s.get("runs", [])
            if not runs:
                continue
            for phase in ("service_create", "readiness_flips"):
                r = median_run(runs, lambda x: x[phase]["correct_s"])[phase]
                w(f"- {phase.replace('_', ' ')}, {side}: " + bottleneck(r, r["correct_s"]))
                w(f"  - writes: {writes_detail(r)}")
        w("")
    dns = sc.get("dns", {})
    if dns:
        w("## 5. DNS: dnsperf against `bosun dns` and CoreDNS")
        w("")
        runs = dns.get("runs", [])
        if runs:
            r0 = runs[0]
            mix = r0["query_mix"]
            if "external names" in mix:
                w(f"{r0['services']} ClusterIP Services (A and SRV) and {r0['headless']} headless Services of "
                  f"{r0['pods_per_headless']} Pods make half of the questions; 40% are {mix['external names']} "
                  f"external names (forwarded once, then cached) and 10% NXDOMAIN (half in the cluster zone, "
                  f"half from the upstream): {mix}. `dnsperf -c {d['params'].get('dns_clients')} -q 200 "
                  f"-l {r0['seconds']}` on UDP, one server at a time, both watching the same cluster and "
                  "forwarding to the same upstream on loopback (a third CoreDNS whose `template` plugin "
                  "answers the external names and NXDOMAIN to the rest).")
                w("CoreDNS runs kind's Corefile (`errors`, `health`, `ready`, `kubernetes cluster.local "
                  "in-addr.arpa ip6.arpa { pods insecure; fallthrough in-addr.arpa ip6.arpa; ttl 30 }`, "
                  "`forward . <upstream> { max_concurrent 1000 }`, `cache 30`, `loop`, `loadbalance`).")
            else:
                w(f"{r0['services']} ClusterIP Services (A and SRV), {r0['headless']} headless Services of "
                  f"{r0['pods_per_headless']} Pods, and NXDOMAIN names, in the mix {mix}; "
                  f"`dnsperf -c {d['params'].get('dns_clients')} -q 200 -l {r0['seconds']}` on UDP, one server at a")
                w("time, both watching the same cluster. CoreDNS runs the kubernetes plugin with `cache 30` and")
                w("`loadbalance`, as the default cluster Corefile has them (no forwarding: nothing outside).")
            w("p99 is computed from dnsperf's per-query latencies (`-v`).")
            w("")
        w("| figure | CoreDNS | bosun dns | bosun ÷ CoreDNS |")
        w("|---|---|---|---|")
        c, b = dns.get("coredns", {}), dns.get("bosun-dns", {})
        if b.get("skipped"):
            w(f"| (bosun dns) | | skipped: {b['skipped']} | |")
        w(f"| queries per second | {fmt(c.get('qps'), '', 0)} | {fmt(b.get('qps'), '', 0)} | {ratio(b.get('qps'), c.get('qps'))} |")
        w(f"| p50 latency | {fmt(c.get('p50_ms'), ' ms', 3)} | {fmt(b.get('p50_ms'), ' ms', 3)} | {ratio(b.get('p50_ms'), c.get('p50_ms'))} |")
        w(f"| p99 latency | {fmt(c.get('p99_ms'), ' ms', 3)} | {fmt(b.get('p99_ms'), ' ms', 3)} | {ratio(b.get('p99_ms'), c.get('p99_ms'))} |")
        w(f"| peak RSS | {fmt(c.get('peak_rss_mib'), ' MiB')} | {fmt(b.get('peak_rss_mib'), ' MiB')} | {ratio(b.get('peak_rss_mib'), c.get('peak_rss_mib'))} |")
        w("")
        if runs:
            for name in ("coredns", "bosun-dns"):
                r = median_run([x for x in runs if name in x], lambda x: x[name]["qps"])
                if r:
                    w(f"- bottleneck, {name}: " + bottleneck(r[name], r[name]["wall_s"]) +
                      f"; rcodes {r[name]['rcodes']}, lost {r[name]['lost']}")
            w("")
    if dep or eps or dns:
        w("## 6. Peak memory (VmHWM of /proc/<pid>/status at the end of each run)")
        w("")
        w("| scenario | kube-controller-manager (equivalent controllers only) | bosun run | bosun ÷ upstream |")
        w("|---|---|---|---|")
        for rate, sides in dep.items():
            k, b = sides.get("kcm", {}), sides.get("bosun", {})
            ks, bs = k.get("controller_peak_rss_mib"), b.get("controller_peak_rss_mib")
            w(f"| 1+3 deploy ({rate}) | {fmt(ks, ' MiB')} | {fmt(bs, ' MiB')} | {ratio(bs, ks)} |")
        if eps:
            ks, bs = eps.get("kcm", {}).get("controller_peak_rss_mib"), eps.get("bosun", {}).get("controller_peak_rss_mib")
            w(f"| 4 EndpointSlices | {fmt(ks, ' MiB')} | {fmt(bs, ' MiB')} | {ratio(bs, ks)} |")
        if dns:
            c, b = dns.get("coredns", {}), dns.get("bosun-dns", {})
            w(f"| 5 DNS: CoreDNS vs bosun dns | {fmt(c.get('peak_rss_mib'), ' MiB')} | "
              f"{fmt(b.get('peak_rss_mib'), ' MiB')} | {ratio(b.get('peak_rss_mib'), c.get('peak_rss_mib'))} |")
        w("")
    fresh = sc.get("fresh", {})
    if fresh:
        fresh_section(w, fresh)
    scale_section(w, sc)
    if d.get("errors"):
        w("## Runs that failed")
        w("")
        for e in d["errors"]:
            w(f"- {e}")
        w("")
    extra = d.get("closing_note")
    if extra:
        w("## Closing note of this run")
        w("")
        w(extra)
        w("")
    # The method and what limits each side: hand-written, kept beside this script.
    notes = Path(__file__).resolve().parent / "notes.md"
    if notes.exists():
        L.append(notes.read_text().rstrip())
        L.append("")
    open(dst, "w").write("\n".join(L))


if __name__ == "__main__":
    main()
