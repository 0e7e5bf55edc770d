#!/usr/bin/env python3
"""bosun's benchmarks, side by side with kube-controller-manager and CoreDNS (issue 8).

Every run starts a fresh local cluster (hack/cluster/up.sh) with an audit log of write requests,
measures one workload through one implementation, reads memory and CPU, and stops the cluster.
Results go to bench/results.json; bench/report.py turns them into docs/benchmarks.md.

Scenarios (numbers as in docs/benchmarks.md):
  deploy  1 and 3: a Deployment 0 -> N replicas, then a 25%/25% rolling update of it
  ceiling 2: a plain parallel client creating N Pods
  eps     4: a Service over P Pods, then F Pods turning unready
  dns     5: dnsperf against `bosun dns` and CoreDNS on the same records
  (6, peak memory, is read in every run of the others)
  fresh   7: freshness (issue 19 parts 2 and 4), both sides on one cluster: a Pod turning Ready to
          the ReplicaSet's and Deployment's status showing it; a Pod's readiness flip to the
          headless Service's DNS answer (CoreDNS and `bosun dns`, polled every few ms)
  Scale (issue 19 part 1), one side per fresh cluster, both at BENCH_SCALE_RATE; a phase that does
  not converge within BENCH_SCALE_TIMEOUT is kept with what was still missing:
  scale-deploy  a Deployment 0 -> BENCH_SCALE_PODS replicas, then a rolling update of all of them
  scale-eps     a Service over BENCH_SCALE_PODS Pods, then BENCH_SCALE_FLIPS Pods turning unready
  scale-dns     BENCH_SCALE_SERVICES headless Services, each over a Deployment of
                BENCH_SCALE_PODS_PER_SERVICE Pods: created, then every Deployment rolled; timed
                until the side's objects (EndpointSlices / DNSRecordSets) and its DNS server
                (CoreDNS / `bosun dns`) hold every Service's Ready Pod IPs

The sizes are parameters (environment, or flags): BENCH_REPLICAS, BENCH_REPEATS, BENCH_EPS_PODS,
BENCH_EPS_FLIPS, BENCH_DNS_SECONDS, BENCH_FRESH_ROUNDS, BENCH_FRESH_FLIPS, BENCH_SCALE_*;
BOSUN_PORT_OFFSET and BOSUN_CLUSTER_DIR place the cluster.
Only the standard library is used.
"""

import argparse
import concurrent.futures
import json
import math
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kube import ApiError, Client  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("BOSUN_CACHE", str(Path.home() / ".cache/bosun")))
BIN = CACHE / "bin"
OFFSET = int(os.environ.get("BOSUN_PORT_OFFSET", "0"))
DIR = Path(os.environ.get("BOSUN_CLUSTER_DIR", str(CACHE / "cluster")))
APISERVER_PORT = 16443 + OFFSET
NS = "bench"
BOSUN_USER = "bosun-bench-controller"
# kube-controller-manager runs each controller under its own service account
# (--use-service-account-credentials): the audit log names the controller.
KCM_USERS = {
    "deployment": "system:serviceaccount:kube-system:deployment-controller",
    "replicaset": "system:serviceaccount:kube-system:replicaset-controller",
    "endpointslice": "system:serviceaccount:kube-system:endpointslice-controller",
}
WRITE_VERBS = {"create", "update", "patch", "delete", "deletecollection"}
# Upstream's default client rate limits, and "unthrottled" (a bucket no run comes near).
RATES = {"default": (20, 30), "unthrottled": (100000, 100000)}
CLK_TCK = os.sysconf("SC_CLK_TCK")
ALL_SCENARIOS = ["deploy", "ceiling", "eps", "dns", "fresh", "scale-deploy", "scale-eps", "scale-dns"]
COMPONENTS = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"]


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --- machine and processes ----------------------------------------------------------------------


def proc_status(pid, field):
    """A kB field of /proc/<pid>/status (VmHWM, VmRSS) in MiB, or None."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def proc_cpu(pid):
    """User+system CPU seconds of a process, or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return None


def machine_cpu():
    """(busy, total) jiffies of the whole machine from /proc/stat."""
    parts = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = parts[3] + parts[4]
    return sum(parts) - idle, sum(parts)


def loadavg():
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def machine_info():
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem = int(line.split()[1]) // 1024
    free = subprocess.run(["free", "-m"], capture_output=True, text=True).stdout
    return {
        "cpu_model": cpu,
        "cpus": os.cpu_count(),
        "mem_total_mib": mem,
        "free_m": free,
        "kernel": platform.release(),
        "loadavg_at_start": loadavg(),
    }


class Sampler:
    """CPU seconds of the named processes and the machine's busy share, between two points."""

    def __init__(self, pids):
        self.pids = {k: v for k, v in pids.items() if v}
        self.cpu0 = {k: proc_cpu(p) for k, p in self.pids.items()}
        self.self0 = sum(os.times()[:2])
        self.children0 = sum(os.times()[2:4])
        self.m0 = machine_cpu()
        self.t0 = time.monotonic()

    def finish(self):
        wall = time.monotonic() - self.t0
        m1 = machine_cpu()
        cpu = {}
        for k, p in self.pids.items():
            c = proc_cpu(p)
            if c is not None and self.cpu0.get(k) is not None:
                cpu[k] = round(c - self.cpu0[k], 2)
        cpu["bench-client"] = round(sum(os.times()[:2]) - self.self0, 2)
        # processes the benchmark waited for: dnsperf, kubectl
        cpu["bench-tools"] = round(sum(os.times()[2:4]) - self.children0, 2)
        busy = (m1[0] - self.m0[0]) / max(1, m1[1] - self.m0[1])
        ours = sum(cpu.values())
        ncpu = os.cpu_count() or 1
        return {
            "wall_s": round(wall, 2),
            "cpu_s": cpu,
            "machine_busy": round(busy, 3),
            # what the rest of the machine (other users) took, as a share of all cores
            "others_busy": round(max(0.0, busy - ours / max(wall, 1e-9) / ncpu), 3),
        }


# --- the cluster ----------------------------------------------------------------------------------


class Cluster:
    """One fresh cluster from hack/cluster/up.sh, with an audit log of writes."""

    def __init__(self, kcm_controllers, kcm_rate=(20, 30), label=""):
        self.kcm_controllers = kcm_controllers
        self.kcm_rate = kcm_rate
        self.label = label
        self.audit = DIR / "logs" / "audit.log"
        self.extra = []  # processes we started: (name, Popen)

    def env(self):
        e = dict(os.environ)
        e.update(
            BOSUN_CLUSTER_DIR=str(DIR),
            BOSUN_PORT_OFFSET=str(OFFSET),
            # kwok nodes only: the benchmark's workloads never run containers, and the machine's
            # one real node belongs to the dev cluster.
            BOSUN_REAL_NODES="0",
            KCM_CONTROLLERS=self.kcm_controllers,
            KCM_QPS=str(self.kcm_rate[0]),
            KCM_BURST=str(self.kcm_rate[1]),
            KWOK_POD_PARALLELISM=os.environ.get("BENCH_KWOK_PARALLELISM", "32"),
            APISERVER_EXTRA_ARGS=" ".join(
                [
                    f"--audit-policy-file={REPO}/bench/audit-policy.yaml",
                    f"--audit-log-path={self.audit}",
                    "--audit-log-format=json",
                    "--audit-log-mode=blocking",
                    "--audit-log-maxsize=100000",
                    "--audit-log-maxbackup=1",
                ]
            ),
        )
        return e

    def __enter__(self):
        subprocess.run([str(REPO / "hack/cluster/down.sh"), "--keep-pki"], env=self.env(), capture_output=True)
        if self.audit.exists():
            self.audit.unlink()
        t = time.monotonic()
        r = subprocess.run([str(REPO / "hack/cluster/up.sh")], env=self.env(), capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"cluster up failed:\n{r.stderr[-3000:]}")
        log(f"cluster up in {time.monotonic() - t:.1f}s ({self.label}; kcm --controllers {self.kcm_controllers})")
        self.admin = Client(APISERVER_PORT, DIR / "pki/ca.crt", DIR / "pki/admin.crt", DIR / "pki/admin.key")
        # The not-ready taint that node registration adds is removed by the node lifecycle
        # controller, which the benchmark does not run: remove it once, the nodes are Ready.
        for node in self.admin.get("/api/v1/nodes?labelSelector=bosun.dev/kwok-node%3Dtrue")["items"]:
            taints = [t for t in node["spec"].get("taints", []) if t["key"] != "node.kubernetes.io/not-ready"]
            self.admin.merge_patch(f"/api/v1/nodes/{node['metadata']['name']}", {"spec": {"taints": taints or None}})
        return self

    def __exit__(self, *exc):
        for name, p in self.extra:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                    p.wait(timeout=10)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    try:
                        os.killpg(p.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
        subprocess.run([str(REPO / "hack/cluster/down.sh"), "--keep-pki"], env=self.env(), capture_output=True)
        return False

    def pid(self, component):
        try:
            return int((DIR / "run" / f"{component}.pid").read_text())
        except (OSError, ValueError):
            return None

    def pids(self):
        p = {c: self.pid(c) for c in COMPONENTS}
        for name, proc in self.extra:
            p[name] = proc.pid
        return p

    def kubectl(self, *args, input=None):
        r = subprocess.run(
            [str(BIN / "kubectl"), "--kubeconfig", str(DIR / "kubeconfig"), *args],
            input=input,
            capture_output=True,
            text=True,
        )
        if r.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(args)}: {r.stderr}")
        return r.stdout

    def audit_offset(self):
        try:
            return self.audit.stat().st_size
        except OSError:
            return 0

    def writes(self, start, end, users):
        """Write requests in the audit log between two offsets, per user label:
        {label: {"total": n, "by": {"verb resource[/sub]": n}, "conflicts": n}}."""
        out = {label: {"total": 0, "by": {}, "conflicts": 0} for label in users}
        byname = {u: label for label, u in users.items()}
        with open(self.audit, "rb") as f:
            f.seek(start)
            data = f.read(max(0, end - start))
        for line in data.splitlines():
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            label = byname.get(ev.get("user", {}).get("username"))
            if label is None or ev.get("verb") not in WRITE_VERBS:
                continue
            ref = ev.get("objectRef", {})
            key = f"{ev['verb']} {ref.get('resource', '?')}" + (f"/{ref['subresource']}" if ref.get("subresource") else "")
            o = out[label]
            o["total"] += 1
            o["by"][key] = o["by"].get(key, 0) + 1
            if ev.get("responseStatus", {}).get("code") == 409:
                o["conflicts"] += 1
        return out

    def wait_audit_quiet(self, secs=1.0, limit=10.0):
        """Let the audit log stop growing (the last writes of a phase land in it)."""
        deadline = time.monotonic() + limit
        last = self.audit_offset()
        while time.monotonic() < deadline:
            time.sleep(secs)
            cur = self.audit_offset()
            if cur == last:
                return
            last = cur

    def namespace(self, name=NS):
        self.admin.create("/api/v1/namespaces", {"metadata": {"name": name}})
        # The serviceaccount controller (kept in every run) creates the default ServiceAccount;
        # the ServiceAccount admission plugin refuses pods until it exists.
        poll(lambda: self._exists(f"/api/v1/namespaces/{name}/serviceaccounts/default"), 60, "default ServiceAccount")

    def _exists(self, path):
        try:
            self.admin.get(path)
            return True
        except ApiError as e:
            if e.status == 404:
                return False
            raise

    def user_client(self, cn, org="system:masters"):
        """A client certificate of our own CA for `cn`, and a kubeconfig for it: the audit log then
        tells that process's writes from everyone else's."""
        pki = DIR / "pki"
        key, crt = pki / f"{cn}.key", pki / f"{cn}.crt"
        if not crt.exists() or crt.stat().st_mtime < (pki / "ca.crt").stat().st_mtime:
            subprocess.run(["openssl", "genrsa", "-out", key, "2048"], check=True, capture_output=True)
            csr = pki / f"{cn}.csr"
            subprocess.run(
                ["openssl", "req", "-new", "-key", key, "-subj", f"/O={org}/CN={cn}", "-out", csr],
                check=True,
                capture_output=True,
            )
            ext = pki / f"{cn}.ext"
            ext.write_text("basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n")
            subprocess.run(
                ["openssl", "x509", "-req", "-in", csr, "-CA", pki / "ca.crt", "-CAkey", pki / "ca.key",
                 "-CAcreateserial", "-days", "30", "-sha256", "-extfile", ext, "-out", crt],
                check=True,
                capture_output=True,
            )
        kc = DIR / f"{cn}.kubeconfig"
        kc.write_text(
            f"""apiVersion: v1
kind: Config
clusters:
- name: bosun
  cluster:
    server: https://127.0.0.1:{APISERVER_PORT}
    certificate-authority: {pki}/ca.crt
users:
- name: {cn}
  user:
    client-certificate: {crt}
    client-key: {key}
contexts:
- name: bosun
  context: {{cluster: bosun, user: {cn}}}
current-context: bosun
"""
        )
        return kc

    def spawn(self, name, argv, env_extra=None, ready=None, timeout=60):
        """Start a process of ours in its own session, logging to logs/<name>.log; wait for
        ready() when given. down.sh stops `bosun` too (its pid file), the rest we stop."""
        env = dict(os.environ)
        env.update(env_extra or {})
        logf = open(DIR / "logs" / f"{name}.log", "w")
        p = subprocess.Popen(argv, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             env=env, start_new_session=True)
        if name == "bosun":
            (DIR / "run" / "bosun.pid").write_text(str(p.pid))
        self.extra.append((name, p))
        if ready is not None:
            poll(lambda: p.poll() is None and ready(), timeout, f"{name} ready",
                 fail=lambda: p.poll() is not None and f"{name} exited: {tail(DIR / 'logs' / f'{name}.log')}")
        return p

    def install_crds(self):
        self.kubectl("apply", "--server-side", "-f", str(REPO / "crds"))
        self.kubectl("wait", "--for=condition=Established", "--timeout=60s", "-f", str(REPO / "crds"))


def tail(path, n=20):
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return ""


def poll(pred, timeout, what, interval=0.2, fail=None):
    deadline = time.monotonic() + timeout
    while True:
        if pred():
            return
        if fail is not None:
            f = fail()
            if f:
                raise RuntimeError(f)
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout}s")
        time.sleep(interval)


# --- watching progress ------------------------------------------------------------------------------


class Tracker:
    """Keeps a summary per object of a watched collection, and marks the first moment each goal
    (a predicate over the tracker) holds. `summarize(obj)` returns a tuple whose first `width`
    entries are numbers summed into `totals` incrementally, or None to forget the object."""

    def __init__(self, client, path, summarize, width=0, selector=None):
        self.summarize, self.width = summarize, width
        self.state, self.totals = {}, [0] * width
        self.goals, self.marks = {}, {}
        self.cond = threading.Condition()
        self.events = 0
        self.last_event = time.monotonic()
        self.watcher = client.watch(path, self.on_event, label_selector=selector)

    def _set(self, name, summ):
        old = self.state.pop(name, None)
        if old is not None:
            for i in range(self.width):
                self.totals[i] -= old[i]
        if summ is not None:
            self.state[name] = summ
            for i in range(self.width):
                self.totals[i] += summ[i]

    def on_event(self, typ, payload, t):
        with self.cond:
            if typ == "SYNC":
                self.state, self.totals = {}, [0] * self.width
                for o in payload:
                    self._set(o["metadata"]["name"], self.summarize(o))
            elif typ == "DELETED":
                self._set(payload["metadata"]["name"], None)
            else:
                self._set(payload["metadata"]["name"], self.summarize(payload))
            self.events += 1
            self.last_event = t
            self._check(t)

    def _check(self, t):
        for name, pred in self.goals.items():
            if name not in self.marks and pred(self):
                self.marks[name] = t
                self.cond.notify_all()

    def goal(self, name, pred):
        with self.cond:
            self.goals[name] = pred
            self.marks.pop(name, None)
            self._check(time.monotonic())

    def wait(self, name, deadline):
        with self.cond:
            while name not in self.marks:
                if self.watcher.error is not None:
                    raise RuntimeError(f"watch failed: {self.watcher.error}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{name}: not reached (totals {self.totals})")
                self.cond.wait(min(1.0, left))
            return self.marks[name]

    def wait_quiet(self, quiet, deadline):
        """Wait until no event arrived for `quiet` seconds; returns when the quiet began."""
        with self.cond:
            while True:
                if self.watcher.error is not None:
                    raise RuntimeError(f"watch failed: {self.watcher.error}")
                now = time.monotonic()
                if now - self.last_event >= quiet:
                    return self.last_event
                if now >= deadline:
                    raise TimeoutError(f"no quiet {quiet}s window ({self.events} events)")
                self.cond.wait(min(quiet, deadline - now))

    def stop(self):
        self.watcher.stop()


def pod_summary(p):
    """(live, scheduled, ready) for a pod; terminating pods are not live."""
    if p["metadata"].get("deletionTimestamp"):
        return (0, 0, 0)
    st = p.get("status", {})
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in st.get("conditions", []) or [])
    return (1, int(bool(p.get("spec", {}).get("nodeName"))), int(ready))


def deploy_summary(d):
    s = d.get("status", {}) or {}
    return (
        d["metadata"].get("generation", 0),
        s.get("observedGeneration", 0),
        s.get("replicas", 0),
        s.get("updatedReplicas", 0),
        s.get("availableReplicas", 0),
        d.get("spec", {}).get("replicas", 0),
    )


def deployment_complete(n):
    """upstream DeploymentComplete, plus no old pods left: the rollout is over."""

    def pred(tr):
        for gen, obs, replicas, updated, available, spec in tr.state.values():
            if obs >= gen and spec == n and replicas == n and updated == n and available == n:
                return True
        return False

    return pred


# --- workloads ------------------------------------------------------------------------------------


def pod_template(app):
    return {
        "metadata": {"labels": {"app": app}},
        "spec": {
            "containers": [{"name": "pause", "image": "registry.k8s.io/pause:3.10",
                            "ports": [{"name": "http", "containerPort": 80}]}],
        },
    }


def deployment(api_version, n):
    return {
        "apiVersion": api_version,
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": NS},
        "spec": {
            "replicas": n,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "template": pod_template("web"),
        },
    }


def create_pods(client, n, app, threads, name_prefix=None, ns=NS):
    """Create n bare Pods with a thread pool; returns (seconds, pods/s) once every create answered."""
    prefix = name_prefix or app
    tmpl = pod_template(app)

    def one(i):
        body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"{prefix}-{i}", **tmpl["metadata"]},
                "spec": tmpl["spec"]}
        client.create(f"/api/v1/namespaces/{ns}/pods", body)

    t = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(threads) as ex:
        for f in concurrent.futures.as_completed([ex.submit(one, i) for i in range(n)]):
            f.result()
    dt = time.monotonic() - t
    return dt, n / dt


def set_ready(client, name, ready, ns=NS):
    """A Pod's Ready condition through pods/status, as a kubelet writes it (kwok keeps what a
    status patch writes and never turns a Pod Ready again by itself)."""
    client.strategic_patch(f"/api/v1/namespaces/{ns}/pods/{name}/status",
                           {"status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}})


def bosun_bin():
    return os.environ.get("BOSUN_BIN", str(REPO / "target/release/bosun"))


def bosun_help(*sub):
    r = subprocess.run([bosun_bin(), *sub, "--help"], capture_output=True, text=True)
    return r.stdout if r.returncode == 0 else None


def bosun_controllers():
    """The controller names `bosun run --controllers` accepts (its --help lists them)."""
    h = bosun_help("run") or ""
    m = re.search(r"--controllers[^\n]*\n(.*?)(?:\n\s+--|\Z)", h, re.S)
    names = set(re.findall(r"possible values: ([^\]]+)\]", h))
    found = set()
    for group in names:
        found.update(x.strip() for x in group.split(","))
    if m:
        found.update(re.findall(r"^\s+- (\w[\w-]*)", m.group(1), re.M))
    return found


def bosun_rate_flags(rate):
    """Client rate-limit flags for `bosun run`, when it has them; (flags, note)."""
    h = bosun_help("run") or ""
    if "--kube-api-qps" in h and "--kube-api-burst" in h:
        return ["--kube-api-qps", str(rate[0]), "--kube-api-burst", str(rate[1])], f"{rate[0]}/{rate[1]}"
    return [], "unthrottled (bosun run has no client rate-limit flags)"


def start_bosun(cl, controllers, rate):
    kc = cl.user_client(BOSUN_USER)
    flags, note = bosun_rate_flags(rate)
    logs = DIR / "logs" / "bosun.log"
    cl.spawn(
        "bosun",
        [bosun_bin(), "run", "--controllers", ",".join(controllers), "--metrics-addr", "127.0.0.1:0", *flags],
        env_extra={"KUBECONFIG": str(kc), "BOSUN_LOG": os.environ.get("BENCH_BOSUN_LOG", "warn,bosun=info")},
        ready=lambda: "caches synced" in logs.read_text(errors="replace"),
        timeout=60,
    )
    return note


def rss(pid):
    return {"peak_rss_mib": proc_status(pid, "VmHWM"), "rss_mib": proc_status(pid, "VmRSS")}


# --- scenario 1 + 3: scale-up and rolling update ---------------------------------------------------


def run_deploy(side, rate_name, n, timeout):
    """A fresh cluster; a Deployment at 0 scaled to n (scenario 1), then rolled (scenario 3)."""
    rate = RATES[rate_name]
    kcm_ctl = "serviceaccount,deployment,replicaset" if side == "kcm" else "serviceaccount"
    res = {"side": side, "rate": rate_name, "replicas": n, "loadavg": loadavg()}
    with Cluster(kcm_ctl, rate if side == "kcm" else (20, 30), f"deploy {side} {rate_name}") as cl:
        if side == "bosun":
            cl.install_crds()
            res["rate_setting"] = start_bosun(cl, ["replicaset", "deployment"], rate)
            api = "apps.bosun.dev/v1"
            ctl_pid = cl.pids()["bosun"]
        else:
            res["rate_setting"] = f"{rate[0]}/{rate[1]}"
            api = "apps/v1"
            ctl_pid = cl.pid("kube-controller-manager")
        cl.namespace()
        group_path = "/apis/" + api
        dpath = f"{group_path}/namespaces/{NS}/deployments"
        cl.admin.create(dpath, deployment(api, 0))
        pods = Tracker(cl.admin, f"/api/v1/namespaces/{NS}/pods", pod_summary, width=3)
        deps = Tracker(cl.admin, dpath, deploy_summary)
        deps.goal("observed", lambda tr: any(s[1] >= s[0] >= 1 for s in tr.state.values()))
        deps.wait("observed", time.monotonic() + 60)
        audit_users = {"controller": BOSUN_USER} if side == "bosun" else {
            "deployment-controller": KCM_USERS["deployment"], "replicaset-controller": KCM_USERS["replicaset"]}

        # scenario 1: 0 -> n
        pods.goal("exist", lambda tr: tr.totals[0] >= n)
        pods.goal("scheduled", lambda tr: tr.totals[1] >= n)
        pods.goal("ready", lambda tr: tr.totals[2] >= n)
        deps.goal("available", lambda tr: any(s[4] >= n for s in tr.state.values()))
        a0, smp = cl.audit_offset(), Sampler(cl.pids())
        t0 = time.monotonic()
        cl.admin.merge_patch(f"{dpath}/web", {"spec": {"replicas": n}})
        deadline = t0 + timeout
        t_avail = deps.wait("available", deadline)
        scale = {
            "exist_s": round(pods.wait("exist", deadline) - t0, 3),
            "scheduled_s": round(pods.wait("scheduled", deadline) - t0, 3),
            "ready_s": round(pods.wait("ready", deadline) - t0, 3),
            "available_s": round(t_avail - t0, 3),
            **smp.finish(),
        }
        cl.wait_audit_quiet()
        a1 = cl.audit_offset()
        scale["writes"] = cl.writes(a0, a1, audit_users)
        res["scale_up"] = scale
        log(f"  scale-up {side}/{rate_name}: exist {scale['exist_s']}s available {scale['available_s']}s")

        # scenario 3: the 25%/25% rolling update of the n replicas
        smp = Sampler(cl.pids())
        t1 = time.monotonic()
        patched = cl.admin.merge_patch(f"{dpath}/web",
                                       {"spec": {"template": {"metadata": {"annotations": {"bench/rev": "2"}}}}})
        gen = patched["metadata"]["generation"]
        # Complete, and for the new generation (the old one was complete already).
        done = deployment_complete(n)
        deps.goal("complete", lambda tr: done(tr) and all(s[1] >= gen for s in tr.state.values()))
        t_done = deps.wait("complete", t1 + timeout)
        roll = {"complete_s": round(t_done - t1, 3), **smp.finish()}
        cl.wait_audit_quiet()
        roll["writes"] = cl.writes(a1, cl.audit_offset(), audit_users)
        res["rolling_update"] = roll
        log(f"  rolling update {side}/{rate_name}: {roll['complete_s']}s, "
            f"{sum(w['total'] for w in roll['writes'].values())} writes")
        res["controller_memory"] = rss(ctl_pid)
        res["memory"] = {k: rss(p) for k, p in cl.pids().items() if p}
        pods.stop()
        deps.stop()
    return res


# --- scenario 2: the ceiling ------------------------------------------------------------------------


def run_ceiling(n, threads, timeout):
    res = {"replicas": n, "threads": threads, "loadavg": loadavg()}
    with Cluster("serviceaccount", label="ceiling") as cl:
        cl.namespace()
        pods = Tracker(cl.admin, f"/api/v1/namespaces/{NS}/pods", pod_summary, width=3)
        pods.goal("exist", lambda tr: tr.totals[0] >= n)
        pods.goal("ready", lambda tr: tr.totals[2] >= n)
        client = Client(APISERVER_PORT, DIR / "pki/ca.crt", DIR / "pki/admin.crt", DIR / "pki/admin.key",
                        user_agent="bosun-bench-ceiling")
        smp = Sampler(cl.pids())
        t0 = time.monotonic()
        created_s, rate = create_pods(client, n, "web", threads)
        res["created_s"] = round(created_s, 3)
        res["pods_per_s"] = round(rate, 1)
        res["exist_s"] = round(pods.wait("exist", t0 + timeout) - t0, 3)
        res["ready_s"] = round(pods.wait("ready", t0 + timeout) - t0, 3)
        res.update(smp.finish())
        pods.stop()
        log(f"  ceiling: {n} pods created in {res['created_s']}s ({res['pods_per_s']}/s), ready {res['ready_s']}s")
    return res


# --- scenario 4: EndpointSlices -----------------------------------------------------------------------


def slice_summary(s):
    ready, notready = set(), set()
    for ep in s.get("endpoints") or []:
        ref = (ep.get("targetRef") or {}).get("name")
        if ref is None:
            continue
        if (ep.get("conditions") or {}).get("ready") is False:
            notready.add(ref)
        else:
            ready.add(ref)
    return (frozenset(ready), frozenset(notready))


def slices_match(ready_want, notready_want):
    total = len(ready_want) + len(notready_want)

    def pred(tr):
        ready, notready, count = set(), set(), 0
        for r, nr in tr.state.values():
            ready |= r
            notready |= nr
            count += len(r) + len(nr)
        return count == total and ready == ready_want and notready == notready_want

    return pred


def run_eps(side, n, flips, threads, timeout):
    res = {"side": side, "pods": n, "flips": flips, "loadavg": loadavg()}
    kcm_ctl = "serviceaccount,endpointslice" if side == "kcm" else "serviceaccount"
    with Cluster(kcm_ctl, RATES["unthrottled"] if side == "kcm" else (20, 30), f"eps {side}") as cl:
        if side == "bosun":
            cl.install_crds()
            res["rate_setting"] = start_bosun(cl, ["endpointslice"], RATES["unthrottled"])
            slice_path = f"/apis/discovery.bosun.dev/v1/namespaces/{NS}/endpointslices"
            audit_users = {"controller": BOSUN_USER}
            ctl_pid = cl.pids()["bosun"]
        else:
            res["rate_setting"] = "{}/{}".format(*RATES["unthrottled"])
            slice_path = f"/apis/discovery.k8s.io/v1/namespaces/{NS}/endpointslices"
            audit_users = {"endpointslice-controller": KCM_USERS["endpointslice"]}
            ctl_pid = cl.pid("kube-controller-manager")
        cl.namespace()
        pods = Tracker(cl.admin, f"/api/v1/namespaces/{NS}/pods", pod_summary, width=3)
        pods.goal("ready", lambda tr: tr.totals[2] >= n)
        t_pods = time.monotonic()
        create_pods(cl.admin, n, "eps", threads)
        pods.wait("ready", time.monotonic() + timeout)
        # kwok keeps rewriting Pods for seconds after they first turn Ready (their IPs change):
        # the Service is created once the Pods are quiet, so neither side chases a moving target.
        res["pods_quiet_after_s"] = round(pods.wait_quiet(2.0, time.monotonic() + timeout) - t_pods, 3)
        names = {f"eps-{i}" for i in range(n)}
        slices = Tracker(cl.admin, slice_path, slice_summary, selector="kubernetes.io/service-name=eps")
        slices.goal("correct", slices_match(names, set()))
        a0, smp = cl.audit_offset(), Sampler(cl.pids())
        t0 = time.monotonic()
        cl.admin.create(f"/api/v1/namespaces/{NS}/services", {
            "metadata": {"name": "eps"},
            "spec": {"selector": {"app": "eps"}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]},
        })
        create = {"correct_s": round(slices.wait("correct", t0 + timeout) - t0, 3), **smp.finish()}
        cl.wait_audit_quiet()
        a1 = cl.audit_offset()
        create["writes"] = cl.writes(a0, a1, audit_users)
        create["slices"] = len(slices.state)
        res["service_create"] = create
        log(f"  eps {side}: {n} endpoints correct after {create['correct_s']}s in {create['slices']} slices")

        flipped = {f"eps-{i}" for i in range(0, n, max(1, n // flips))} if flips else set()
        flipped = set(sorted(flipped, key=lambda x: int(x.split("-")[1]))[:flips])
        slices.goal("flipped", slices_match(names - flipped, flipped))
        smp = Sampler(cl.pids())
        t1 = time.monotonic()

        with concurrent.futures.ThreadPoolExecutor(threads) as ex:
            list(ex.map(lambda name: set_ready(cl.admin, name, False), sorted(flipped)))
        flip = {"patched_s": round(time.monotonic() - t1, 3),
                "correct_s": round(slices.wait("flipped", t1 + timeout) - t1, 3), **smp.finish()}
        cl.wait_audit_quiet()
        flip["writes"] = cl.writes(a1, cl.audit_offset(), audit_users)
        flip["slices"] = len(slices.state)
        res["readiness_flips"] = flip
        log(f"  eps {side}: {flips} flips correct after {flip['correct_s']}s")
        res["controller_memory"] = rss(ctl_pid)
        res["memory"] = {k: rss(p) for k, p in cl.pids().items() if p}
        pods.stop()
        slices.stop()
    return res


# --- scenario 5: DNS -----------------------------------------------------------------------------------


DNS_PORTS = {"coredns": 15353 + OFFSET, "bosun-dns": 15354 + OFFSET, "upstream": 15355 + OFFSET,
             "coredns-health": 15356 + OFFSET, "coredns-ready": 15357 + OFFSET}
# The external names of the mix: answered by the benchmark's own upstream (a third CoreDNS on
# loopback), cached by both servers after their first question.
EXTERNAL_NAMES = 100


def bosun_dns_argv(port, upstream):
    """`bosun dns` listening on 127.0.0.1:port, forwarding to 127.0.0.1:upstream
    (BENCH_BOSUN_DNS_ARGS, with {port} and {upstream}, overrides)."""
    if os.environ.get("BENCH_BOSUN_DNS_ARGS"):
        return [bosun_bin(), "dns", *os.environ["BENCH_BOSUN_DNS_ARGS"].format(port=port, upstream=upstream).split()]
    return [bosun_bin(), "dns", "--listen", f"127.0.0.1:{port}", "--metrics-addr", "127.0.0.1:0",
            "--upstream", f"127.0.0.1:{upstream}"]


def upstream_corefile(port):
    """The benchmark's upstream resolver: `ext-<i>.example.test A` is 192.0.2.1 (TTL 60), every
    other name NXDOMAIN with an SOA (negative TTL 60), so both servers may cache both."""
    return f""".:{port} {{
    bind 127.0.0.1
    template IN A example.test {{
        answer "{{{{ .Name }}}} 60 IN A 192.0.2.1"
    }}
    template ANY ANY {{
        rcode NXDOMAIN
        authority "test. 60 IN SOA ns.test. hostmaster.test. 1 7200 1800 86400 60"
    }}
}}
"""


def kind_corefile(port, upstream, kubeconfig, context, cache=True):
    """kind's Corefile, bound to loopback (health and ready on ports of the benchmark's) and
    forwarding to the benchmark's upstream instead of /etc/resolv.conf; `cache=False` drops its
    `cache 30` (scenario 7 times the watch chain, which a 30 s answer cache would hide)."""
    return f""".:{port} {{
    bind 127.0.0.1
    errors
    health 127.0.0.1:{DNS_PORTS['coredns-health']}
    ready 127.0.0.1:{DNS_PORTS['coredns-ready']}
    kubernetes cluster.local in-addr.arpa ip6.arpa {{
        kubeconfig {kubeconfig} {context}
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 30
    }}
    forward . 127.0.0.1:{upstream} {{
        max_concurrent 1000
    }}
{"    cache 30" + chr(10) if cache else ""}    loop
    loadbalance
}}
"""


def dig(port, name, typ):
    r = subprocess.run(["dig", "+short", "+time=1", "+tries=1", "-p", str(port), "@127.0.0.1", name, typ],
                       capture_output=True, text=True)
    return r.stdout.split("\n") if r.returncode == 0 else None


def dnsperf(port, qfile, secs, clients):
    """dnsperf -v against 127.0.0.1:port; qps and latency percentiles from its per-query lines."""
    r = subprocess.run(
        ["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", str(qfile), "-l", str(secs), "-c", str(clients),
         "-T", str(min(clients, 2)), "-q", "200", "-v"],
        capture_output=True, text=True,
    )
    out = r.stdout
    lat, rcodes = [], {}
    for line in out.splitlines():
        # "> NOERROR svc-1.dnsbench.svc.cluster.local A 0.000123"
        m = re.match(r"^> (\w+) \S+ \S+ ([0-9.]+)$", line)
        if m:
            rcodes[m.group(1)] = rcodes.get(m.group(1), 0) + 1
            lat.append(float(m.group(2)))
    qps = re.search(r"Queries per second:\s+([0-9.]+)", out)
    lost = re.search(r"Queries lost:\s+(\d+)", out)
    lat.sort()

    def pct(p):
        return round(lat[min(len(lat) - 1, int(p * len(lat)))] * 1000, 3) if lat else None

    return {
        "qps": float(qps.group(1)) if qps else None,
        "lost": int(lost.group(1)) if lost else None,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "responses": len(lat),
        "rcodes": rcodes,
        "summary": "\n".join(line for line in out.splitlines() if not line.startswith(">"))[-1500:],
    }


def start_dns_servers(cl, bosun_ok, cache=True, coredns=True):
    """The benchmark's upstream, CoreDNS with kind's Corefile (`cache=False`: without its `cache`
    plugin; `coredns=False`: not at all) and, when bosun_ok, `bosun dns`, all on loopback;
    returns {name: argv} of the servers under test (their ports are DNS_PORTS[name])."""
    up = DNS_PORTS["upstream"]
    (DIR / "Corefile.upstream").write_text(upstream_corefile(up))
    cl.spawn("dns-upstream", [str(BIN / "coredns"), "-conf", str(DIR / "Corefile.upstream")],
             ready=lambda: bool([x for x in (dig(up, "ext-0.example.test", "A") or []) if x]))
    corefile = DIR / "Corefile"
    corefile.write_text(kind_corefile(DNS_PORTS["coredns"], up, DIR / "kubeconfig", "bosun", cache))
    servers = {}
    if coredns and (BIN / "coredns").exists():
        servers["coredns"] = [str(BIN / "coredns"), "-conf", str(corefile)]
    if bosun_ok:
        servers["bosun-dns"] = bosun_dns_argv(DNS_PORTS["bosun-dns"], up)
    kc = cl.user_client("bosun-bench-dns")
    for name, argv in servers.items():
        cl.spawn(name, argv, env_extra={"KUBECONFIG": str(kc)})
    return servers


def run_dns(secs, services, headless, per_headless, clients, timeout, bosun_ok):
    """Both servers on one cluster (they only read it), measured one after the other."""
    res = {"services": services, "headless": headless, "pods_per_headless": per_headless, "seconds": secs,
           "loadavg": loadavg()}
    dns_ns = "dnsbench"
    with Cluster("serviceaccount,endpointslice", RATES["unthrottled"], "dns") as cl:
        if bosun_ok:
            cl.install_crds()
            ctl = bosun_controllers()
            wanted = [c for c in ("endpointslice", "dns", "dnsrecordset") if c in ctl]
            res["bosun_controllers"] = wanted
            start_bosun(cl, wanted, RATES["unthrottled"])
        cl.namespace(dns_ns)
        for i in range(services):
            cl.admin.create(f"/api/v1/namespaces/{dns_ns}/services", {
                "metadata": {"name": f"svc-{i}"},
                "spec": {"selector": {"app": f"svc-{i}"}, "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]},
            })
        for j in range(headless):
            cl.admin.create(f"/api/v1/namespaces/{dns_ns}/services", {
                "metadata": {"name": f"hl-{j}"},
                "spec": {"clusterIP": "None", "selector": {"app": f"hl-{j}"},
                         "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]},
            })
            for k in range(per_headless):
                body = {"apiVersion": "v1", "kind": "Pod",
                        "metadata": {"name": f"hl-{j}-{k}", **pod_template(f"hl-{j}")["metadata"]},
                        "spec": pod_template(f"hl-{j}")["spec"]}
                cl.admin.create(f"/api/v1/namespaces/{dns_ns}/pods", body)
        z = "svc.cluster.local"
        # The mix (issue 16): 50% names of the cluster, 40% external names (forwarded once, then
        # cached), 10% NXDOMAIN (half in the cluster zone, half from the upstream), interleaved
        # so that every stretch of the file has the same mix.
        cluster = []
        for i in range(services):
            cluster += [f"svc-{i}.{dns_ns}.{z} A", f"_http._tcp.svc-{i}.{dns_ns}.{z} SRV"]
        for j in range(headless):
            cluster += [f"hl-{j}.{dns_ns}.{z} A"] * max(1, services // max(1, headless))
        n = len(cluster)  # 50% of the file
        external = [f"ext-{i % EXTERNAL_NAMES}.example.test A" for i in range(n * 4 // 5)]
        nx = [f"missing-{i}.{dns_ns}.{z} A" if i % 2 == 0 else f"nx-{i}.nxdomain.test A" for i in range(n // 5)]
        # Round-robin by weight: 5 cluster, 4 external, 1 NXDOMAIN in every 10 lines.
        queries, ci, ei, ni = [], 0, 0, 0
        while ci < len(cluster) or ei < len(external) or ni < len(nx):
            for _ in range(5):
                if ci < len(cluster):
                    queries.append(cluster[ci])
                    ci += 1
            for _ in range(4):
                if ei < len(external):
                    queries.append(external[ei])
                    ei += 1
            if ni < len(nx):
                queries.append(nx[ni])
                ni += 1
        qfile = DIR / "dns-queries.txt"
        qfile.write_text("\n".join(queries) + "\n")
        res["query_mix"] = {
            "ClusterIP A": services, "SRV": services, "headless A": services // max(1, headless) * headless,
            "external A (forwarded, cached)": len(external), "external names": EXTERNAL_NAMES,
            "NXDOMAIN in the zone": (len(nx) + 1) // 2, "NXDOMAIN from the upstream": len(nx) // 2,
            "lines": len(queries),
        }

        servers = start_dns_servers(cl, bosun_ok)
        last = f"hl-{headless - 1}.{dns_ns}.{z}"
        for name in servers:
            port = DNS_PORTS[name]
            # Ready when the last headless Service answers with all its pods.
            poll(lambda: len([x for x in (dig(port, last, "A") or []) if x]) >= per_headless, timeout,
                 f"{name} answers {last}")
            res.setdefault("checks", {})[name] = {
                "clusterip": dig(port, f"svc-0.{dns_ns}.{z}", "A"),
                "srv": dig(port, f"_http._tcp.svc-0.{dns_ns}.{z}", "SRV"),
                "headless": dig(port, last, "A"),
                "external": dig(port, "ext-0.example.test", "A"),
                "nxdomain_upstream": dig(port, "nx-1.nxdomain.test", "A"),
            }
        pids = {n: p.pid for n, p in cl.extra}
        for name in servers:
            smp = Sampler(cl.pids())
            perf = dnsperf(DNS_PORTS[name], qfile, secs, clients)
            perf.update(smp.finish())
            perf.update(rss(pids[name]))
            res[name] = perf
            log(f"  dns {name}: {perf['qps']} qps, p99 {perf['p99_ms']} ms, peak RSS {perf['peak_rss_mib']} MiB")
    return res


# --- scenario 7: freshness (issue 19, parts 2 and 4) ----------------------------------------------


def set_ready_surely(client, name, ready, tries=5):
    """set_ready, tried again after an error answer of the API server (a loaded one times out a
    write now and then with a 504; setting a condition twice is harmless)."""
    for attempt in range(tries):
        try:
            return set_ready(client, name, ready)
        except ApiError:
            if attempt == tries - 1:
                raise
            time.sleep(1)


def percentile(values, p):
    """The nearest-rank p-th percentile (0 < p <= 100) of a non-empty list."""
    v = sorted(values)
    return v[max(0, math.ceil(p / 100 * len(v)) - 1)]


def delays(seconds):
    """Median, p99 and extremes in ms of a list of delays in seconds (None: never seen)."""
    v = [x * 1000 for x in seconds if x is not None]
    out = {"n": len(v), "missed": len(seconds) - len(v)}
    if v:
        out.update(median_ms=round(statistics.median(v), 1), p99_ms=round(percentile(v, 99), 1),
                   min_ms=round(min(v), 1), max_ms=round(max(v), 1))
    return out


def compare(upstream, bosun):
    """bosun − upstream and bosun ÷ upstream of the median and p99 of two `delays`."""
    out = {}
    for k in ("median_ms", "p99_ms"):
        u, b = upstream.get(k), bosun.get(k)
        if u is not None and b is not None:
            out[f"diff_{k}"] = round(b - u, 1)
            out[f"ratio_{k[:-3]}"] = round(b / u, 2) if u > 0 else None
    return out


def status_summary(o):
    """(readyReplicas, availableReplicas) of a ReplicaSet or a Deployment."""
    s = o.get("status") or {}
    return (s.get("readyReplicas") or 0, s.get("availableReplicas") or 0)


def pod_ready_ip(p):
    """(ready, podIP) of a Pod."""
    st = p.get("status") or {}
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in st.get("conditions") or [])
    return (ready, st.get("podIP"))


def dns_a_query(name, qid):
    """A DNS question for the A records of `name`, recursion desired (RFC 1035 §4.1)."""
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\0" + struct.pack(">HH", 1, 1)


def _skip_name(msg, i):
    while msg[i] != 0:
        if msg[i] & 0xC0 == 0xC0:
            return i + 2
        i += 1 + msg[i]
    return i + 1


def dns_a_answer(msg):
    """(id, rcode, set of A addresses) of a DNS response."""
    qid, flags, qd, an = struct.unpack(">HHHH", msg[:8])
    i = 12
    for _ in range(qd):
        i = _skip_name(msg, i) + 4
    addrs = set()
    for _ in range(an):
        i = _skip_name(msg, i)
        typ, _cls, _ttl, rdlen = struct.unpack(">HHIH", msg[i:i + 10])
        i += 10
        if typ == 1 and rdlen == 4:
            addrs.add(socket.inet_ntoa(msg[i:i + 4]))
        i += rdlen
    return qid, flags & 0xF, addrs


class DnsProbe:
    """Asks one DNS server on loopback for the A records of one name, over UDP from one socket
    (dig's process start would cost more than the poll interval)."""

    def __init__(self, port, name):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.connect(("127.0.0.1", port))
        self.name, self.qid, self.queries = name, 0, 0

    def ask(self, timeout=0.5, name=None):
        """The answer's A addresses (empty for NXDOMAIN), or None on no answer or another rcode;
        for `name` when given, else the probe's own name."""
        self.qid = (self.qid + 1) & 0xFFFF
        self.sock.send(dns_a_query(name or self.name, self.qid))
        self.queries += 1
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                msg = self.sock.recv(4096)
                qid, rcode, addrs = dns_a_answer(msg)
            except socket.timeout:
                return None
            except (OSError, struct.error, IndexError):
                continue
            if qid == self.qid:  # an older question's late answer is skipped
                return addrs if rcode in (0, 3) else None

    def close(self):
        self.sock.close()


FRESH_SIDES = {"kcm": ("apps/v1", "fresh-kcm"), "bosun": ("apps.bosun.dev/v1", "fresh-bosun")}
# After each change has shown everywhere: the next one waits this long, so that every change
# meets quiet controllers (the goal is about low rates: bosun's status pacer lets a quiet
# object's writes through at once, and coalesces only faster changes).
FRESH_GAP_S = float(os.environ.get("BENCH_FRESH_GAP_S", "0.3"))


def fresh_status(cl, sides, replicas, rounds, timeout):
    """Part 2: a Deployment of `replicas` per side; each round makes one Pod of each side's
    Deployment unready, waits until both statuses show it, then Ready again, and times from the
    moment before the harness's status patch making it Ready (t=0 of every phase of the
    benchmark) to the harness's watches seeing the ReplicaSet's and the Deployment's status show
    every replica ready. The same from the harness's own watch event of the Pod is kept beside
    it (`*_from_pod_event`, the e2e test's method: on a busy machine that event can reach the
    harness after the status event it caused, and so can the patch's answer). The sides take turns (one change in flight at a time), first kcm then bosun on even
    rounds, the other way on odd ones."""
    pods = Tracker(cl.admin, f"/api/v1/namespaces/{NS}/pods", pod_summary, width=3)
    rs, dep = {}, {}
    for side in sides:
        api, name = FRESH_SIDES[side]
        body = deployment(api, replicas)
        body["metadata"]["name"] = name
        body["spec"]["selector"] = {"matchLabels": {"app": name}}
        body["spec"]["template"]["metadata"]["labels"] = {"app": name}
        cl.admin.create(f"/apis/{api}/namespaces/{NS}/deployments", body)
        rs[side] = Tracker(cl.admin, f"/apis/{api}/namespaces/{NS}/replicasets", status_summary)
        dep[side] = Tracker(cl.admin, f"/apis/{api}/namespaces/{NS}/deployments", status_summary)

    def shows(tr, n):
        # The side's only ReplicaSet (no rollout happens) or its Deployment, ready and available.
        return lambda t: bool(t.state) and all(r == n and a == n for r, a in t.state.values())

    for side in sides:
        for tr in (rs[side], dep[side]):
            tr.goal("up", shows(tr, replicas))
            tr.wait("up", time.monotonic() + timeout)
    pods.wait_quiet(1.0, time.monotonic() + timeout)
    names = {side: sorted(n for n, s in pods.state.items() if n.startswith(FRESH_SIDES[side][1] + "-") and s[0])
             for side in sides}
    for side in sides:
        if len(names[side]) != replicas:
            raise RuntimeError(f"fresh: {side} has Pods {names[side]}, want {replicas}")
    out = {side: {"replicaset": [], "deployment": [], "replicaset_from_pod_event": [],
                  "deployment_from_pod_event": [], "patch": []} for side in sides}
    smp = Sampler(cl.pids())
    missed, errors = 0, []
    for i in range(rounds):
        for side in (sides if i % 2 == 0 else sides[::-1]):
            pod = names[side][i % replicas]
            r, d = rs[side], dep[side]
            try:
                for tr in (r, d):
                    tr.goal(f"down-{i}", shows(tr, replicas - 1))
                set_ready(cl.admin, pod, False)
                for tr in (r, d):
                    tr.wait(f"down-{i}", time.monotonic() + timeout)
                time.sleep(FRESH_GAP_S)
                for tr in (r, d):
                    tr.goal(f"up-{i}", shows(tr, replicas))
                pods.goal(f"{pod}-{i}", lambda t, pod=pod: t.state.get(pod, (0, 0, 0))[2] == 1)
                t0 = time.monotonic()
                set_ready(cl.admin, pod, True)
                t_ack = time.monotonic()  # the patch's answer
                t_pod = pods.wait(f"{pod}-{i}", t0 + 10)
                t_rs = r.wait(f"up-{i}", t0 + 10)
                t_dep = d.wait(f"up-{i}", t0 + 10)
                o = out[side]
                o["replicaset"].append(t_rs - t0)
                o["deployment"].append(t_dep - t0)
                o["replicaset_from_pod_event"].append(t_rs - t_pod)
                o["deployment_from_pod_event"].append(t_dep - t_pod)
                o["patch"].append(t_ack - t0)
            except (TimeoutError, ApiError) as e:
                # A change not shown within 10 s, or whose patch the API server answered with an
                # error, is not timed; the round ends with the Pod Ready and both statuses
                # showing it. More than a few means something is broken.
                missed += 1
                errors.append(f"{side} round {i}: {e}"[:300])
                log(f"  fresh status {side} round {i}: {e}")
                for key in ("replicaset", "deployment"):
                    out[side][key].append(None)
                if missed > 5:
                    raise
                set_ready_surely(cl.admin, pod, True)
                for tr in (r, d):
                    tr.goal(f"again-{i}", shows(tr, replicas))
                    tr.wait(f"again-{i}", time.monotonic() + timeout)
            time.sleep(FRESH_GAP_S)
        if (i + 1) % 50 == 0:
            log(f"  fresh status: {i + 1}/{rounds} rounds")
    phase = smp.finish()
    for tr in [pods, *rs.values(), *dep.values()]:
        tr.stop()
    res = {"replicas": replicas, "rounds": rounds, "gap_s": FRESH_GAP_S, **phase, "not_timed": errors,
           "delays_s": {}}
    for side in sides:
        res["delays_s"][side] = {k: [None if x is None else round(x, 4) for x in v] for k, v in out[side].items()}
        res[side] = {k: delays(v) for k, v in out[side].items()}
    return res


def fresh_dns(cl, servers, pods_n, flips, poll_ms, timeout, threads):
    """Part 4: a headless Service over `pods_n` Pods; each flip makes one Pod unready (even
    flips) or Ready again (odd flips) and asks every server for the Service's A records every
    `poll_ms` until the answer is the Ready Pods' IPs, timed from the moment before the Pod's
    status patch (and, kept beside it, from the harness's watch event of the Pod). Both
    chains see the same flip: kube-controller-manager's EndpointSlice controller → CoreDNS, and
    bosun's EndpointSlice controller → its DNS controller → `bosun dns`."""
    app = "flip"
    cl.admin.create(f"/api/v1/namespaces/{NS}/services", {
        "metadata": {"name": app},
        "spec": {"clusterIP": "None", "selector": {"app": app},
                 "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]},
    })
    pods = Tracker(cl.admin, f"/api/v1/namespaces/{NS}/pods", pod_ready_ip, selector=f"app%3D{app}")
    pods.goal("ready", lambda t: len(t.state) == pods_n and all(r and ip for r, ip in t.state.values()))
    create_pods(cl.admin, pods_n, app, threads)
    pods.wait("ready", time.monotonic() + timeout)
    # kwok rewrites Pod IPs for a while after Ready (see scenario 4): start once they are quiet.
    pods.wait_quiet(2.0, time.monotonic() + timeout)
    ips = {n: ip for n, (r, ip) in pods.state.items()}
    # Pods to flip: those whose IP no other Pod shares (kwok may repeat IPs), so that the answer
    # changes with each flip.
    victims = sorted((n for n, ip in ips.items() if list(ips.values()).count(ip) == 1),
                     key=lambda n: int(n.rsplit("-", 1)[1]))
    if not victims:
        raise RuntimeError(f"fresh: kwok gave no Pod an IP of its own: {ips}")
    everyone = set(ips.values())
    fqdn = f"{app}.{NS}.svc.cluster.local"
    probes = {name: DnsProbe(DNS_PORTS[name], fqdn) for name in servers}
    for name, pr in probes.items():
        poll(lambda: pr.ask() == everyone, timeout, f"{name} answers {fqdn} with the {pods_n} Pods", interval=0.05)
    period = poll_ms / 1000
    out = {name: {"ready": [], "unready": [], "ready_from_pod_event": [], "unready_from_pod_event": []}
           for name in servers}
    patch, errors = [], []
    queries0 = {name: pr.queries for name, pr in probes.items()}
    smp = Sampler(cl.pids())
    for i in range(flips):
        pod = victims[(i // 2) % len(victims)]
        ready = i % 2 == 1
        want = everyone if ready else everyone - {ips[pod]}
        kind = "ready" if ready else "unready"
        pods.goal(f"flip-{i}", lambda t, pod=pod, ready=ready: t.state.get(pod, (None,))[0] == ready)
        t0 = time.monotonic()
        try:
            set_ready(cl.admin, pod, ready)
        except ApiError as e:
            # Not timed (when the write took effect is unknown); made again, and the next flip
            # starts once every server shows it.
            errors.append(f"flip {i}: {e}"[:300])
            log(f"  fresh dns flip {i}: {e}")
            if len(errors) > 10:
                raise
            set_ready_surely(cl.admin, pod, ready)
            for name, pr in probes.items():
                out[name][kind].append(None)
                out[name][f"{kind}_from_pod_event"].append(None)
                poll(lambda: pr.ask() == want, timeout, f"{name} answers {fqdn} after flip {i}", interval=0.05)
            continue
        tick = time.monotonic()
        patch.append(tick - t0)
        seen, deadline = {}, t0 + 10
        # Poll until every server answers with the new set, 10 s at most (bounds the queries at
        # 10 s / poll_ms per server and flip).
        while len(seen) < len(probes) and time.monotonic() < deadline:
            for name, pr in probes.items():
                if name not in seen and pr.ask() == want:
                    seen[name] = time.monotonic()
            tick += period
            time.sleep(max(0.0, tick - time.monotonic()))
        try:
            t_pod = pods.wait(f"flip-{i}", time.monotonic() + 5)
        except TimeoutError:
            t_pod = None
        for name in servers:
            t = seen.get(name)
            out[name][kind].append(None if t is None else t - t0)
            out[name][f"{kind}_from_pod_event"].append(None if t is None or t_pod is None else t - t_pod)
        if len(seen) < len(probes):
            log(f"  fresh dns flip {i} ({pod} {kind}): not answered by {sorted(set(probes) - set(seen))} in 10 s")
            # Let them catch up before the next flip, so that it starts from a known answer.
            for name, pr in probes.items():
                poll(lambda: pr.ask() == want, timeout, f"{name} answers {fqdn} after flip {i}", interval=0.05)
        time.sleep(FRESH_GAP_S)
        if (i + 1) % 100 == 0:
            log(f"  fresh dns: {i + 1}/{flips} flips")
    phase = smp.finish()
    pods.stop()
    res = {"pods": pods_n, "flips": flips, "flipped_pods": len(victims), "poll_ms": poll_ms, "gap_s": FRESH_GAP_S,
           **phase, "queries": {name: pr.queries - queries0[name] for name, pr in probes.items()},
           "patch": delays(patch), "not_timed": errors, "delays_s": {}}
    for pr in probes.values():
        pr.close()
    for name in servers:
        res["delays_s"][name] = {k: [None if x is None else round(x, 4) for x in v] for k, v in out[name].items()}
        o = out[name]
        res[name] = {k: delays(v) for k, v in o.items()}
        res[name]["all"] = delays(o["ready"] + o["unready"])
        res[name]["all_from_pod_event"] = delays(o["ready_from_pod_event"] + o["unready_from_pod_event"])
    return res


def run_fresh(sides, replicas, rounds, pods_n, flips, poll_ms, threads, timeout, bosun_status, bosun_dns):
    """Scenario 7 on one cluster, both sides at once: kube-controller-manager runs the
    Deployment, ReplicaSet and EndpointSlice controllers on apps/v1 and discovery.k8s.io, and
    bosun its own on apps.bosun.dev and discovery.bosun.dev, with its DNS controller; CoreDNS
    and `bosun dns` answer from the two. Part 2 then part 4."""
    res = {"sides": sides, "loadavg": loadavg()}
    rate = RATES["default"]
    kcm_ctl = ["serviceaccount"]
    if "kcm" in sides:
        kcm_ctl += ["deployment", "replicaset", "endpointslice"]
    status_sides = [s for s in sides if s == "kcm" or bosun_status]
    old_switch = sys.getswitchinterval()
    # The watch threads time the events they read: let them run within 1 ms of their arrival
    # while the main thread polls DNS (CPython's default hands the GIL over every 5 ms).
    sys.setswitchinterval(0.001)
    try:
        with Cluster(",".join(kcm_ctl), rate, "fresh") as cl:
            if "bosun" in sides and (bosun_status or bosun_dns):
                cl.install_crds()
                ctl = bosun_controllers()
                wanted = (["replicaset", "deployment"] if bosun_status else []) + (
                    [c for c in ("endpointslice", "dns", "dnsrecordset") if c in ctl] if bosun_dns else [])
                res["bosun_controllers"] = wanted
                res["rate_setting"] = start_bosun(cl, wanted, rate)
            cl.namespace()
            log(f"  fresh: part 2, {rounds} rounds on Deployments of {replicas} ({', '.join(status_sides)})")
            res["status"] = fresh_status(cl, status_sides, replicas, rounds, timeout)
            for side in status_sides:
                s = res["status"][side]
                log(f"  fresh status {side}: ReplicaSet median {s['replicaset'].get('median_ms')} ms "
                    f"p99 {s['replicaset'].get('p99_ms')} ms; Deployment median {s['deployment'].get('median_ms')} ms "
                    f"p99 {s['deployment'].get('p99_ms')} ms")
            servers = start_dns_servers(cl, "bosun" in sides and bosun_dns, cache=False)
            if "kcm" not in sides:
                servers.pop("coredns", None)
            log(f"  fresh: part 4, {flips} flips over {pods_n} Pods ({', '.join(servers)})")
            res["dns"] = fresh_dns(cl, servers, pods_n, flips, poll_ms, timeout, threads)
            for name in servers:
                a = res["dns"][name]["all"]
                log(f"  fresh dns {name}: median {a.get('median_ms')} ms p99 {a.get('p99_ms')} ms, "
                    f"{a['missed']} missed")
    finally:
        sys.setswitchinterval(old_switch)
    return res


def summarize_fresh(runs):
    """Delays pooled over the runs, with bosun − upstream and bosun ÷ upstream."""
    if not runs:
        return {"runs": [], "failed": True}
    out = {"runs": runs, "status": {}, "dns": {}}
    for kind in ("replicaset", "deployment", "replicaset_from_pod_event", "deployment_from_pod_event"):
        row = {}
        for side in ("kcm", "bosun"):
            xs = [x for r in runs for x in r["status"].get("delays_s", {}).get(side, {}).get(kind, [])]
            if xs:
                row[side] = delays(xs)
        if "kcm" in row and "bosun" in row:
            row.update(compare(row["kcm"], row["bosun"]))
        out["status"][kind] = row
    for base in ("", "_from_pod_event"):
        for kind in ("ready", "unready", "all"):
            keys = ("ready", "unready") if kind == "all" else (kind,)
            row = {}
            for name in ("coredns", "bosun-dns"):
                per = [r["dns"].get("delays_s", {}).get(name) for r in runs]
                if any(per):
                    row[name] = delays([x for p in per if p for k in keys for x in p[k + base]])
            if "coredns" in row and "bosun-dns" in row:
                row.update(compare(row["coredns"], row["bosun-dns"]))
            out["dns"][kind + base] = row
    return out


# --- scale scenarios (issue 19 part 1) ------------------------------------------------------------
#
# The same workloads at 10,000 Pods, one side per fresh cluster, both at the same client rate
# limits (BENCH_SCALE_RATE, unthrottled by default). A phase that does not converge within the
# timeout is kept, with what was still missing, and its writes and CPU up to the deadline.

# The process under test per side, and (scale-dns) its DNS server.
SIDE_PROC = {"kcm": "kube-controller-manager", "bosun": "bosun"}
SIDE_DNS = {"kcm": "coredns", "bosun": "bosun-dns"}


class Phase:
    """One measured phase: the audit log's offset and a CPU sampler at t0; finish() adds the
    marks (seconds from t0), whether it converged and what was missing, the writes, and the CPU
    seconds of the side's controller process, its DNS server and the API server."""

    def __init__(self, cl, side, users):
        self.cl, self.side, self.users = cl, side, users
        self.a0 = cl.audit_offset()
        self.smp = Sampler(cl.pids())
        self.t0 = time.monotonic()

    def finish(self, marks, missing, timeout):
        out = {k: (None if t is None else round(t - self.t0, 3)) for k, t in marks.items()}
        out.update(converged=missing is None, missing=missing, timeout_s=timeout, **self.smp.finish())
        self.cl.wait_audit_quiet()
        out["writes"] = self.cl.writes(self.a0, self.cl.audit_offset(), self.users)
        out["writes_total"] = sum(w["total"] for w in out["writes"].values())
        out["controller_cpu_s"] = out["cpu_s"].get(SIDE_PROC[self.side])
        out["dns_cpu_s"] = out["cpu_s"].get(SIDE_DNS[self.side])
        out["apiserver_cpu_s"] = out["cpu_s"].get("kube-apiserver")
        return out


def reach(tracker, goal, deadline):
    """When the tracker's goal was reached, or None when the deadline passed first."""
    try:
        return tracker.wait(goal, deadline)
    except TimeoutError:
        return None


def scale_cluster(cl, side, bosun_ctl, kcm_users, rate):
    """CRDs and `bosun run` on the bosun side; returns (rate note, audit users, controller pid)."""
    if side == "bosun":
        cl.install_crds()
        note = start_bosun(cl, bosun_ctl, rate)
        return note, {"controller": BOSUN_USER}, cl.pids()["bosun"]
    return f"{rate[0]}/{rate[1]}", {k: KCM_USERS[k] for k in kcm_users}, cl.pid("kube-controller-manager")


def run_scale_deploy(side, rate_name, n, timeout):
    """scale-deploy: a Deployment 0 -> n replicas, then a 25%/25% rolling update of all n."""
    rate = RATES[rate_name]
    kcm_ctl = "serviceaccount,deployment,replicaset" if side == "kcm" else "serviceaccount"
    res = {"side": side, "rate": rate_name, "replicas": n, "loadavg": loadavg()}
    with Cluster(kcm_ctl, rate if side == "kcm" else (20, 30), f"scale-deploy {side} {rate_name}") as cl:
        res["rate_setting"], users, ctl_pid = scale_cluster(cl, side, ["replicaset", "deployment"],
                                                            ["deployment", "replicaset"], rate)
        api = "apps.bosun.dev/v1" if side == "bosun" else "apps/v1"
        cl.namespace()
        dpath = f"/apis/{api}/namespaces/{NS}/deployments"
        cl.admin.create(dpath, deployment(api, 0))
        pods = Tracker(cl.admin, f"/api/v1/namespaces/{NS}/pods", pod_summary, width=3)
        deps = Tracker(cl.admin, dpath, deploy_summary)
        deps.goal("observed", lambda tr: any(s[1] >= s[0] >= 1 for s in tr.state.values()))
        deps.wait("observed", time.monotonic() + 60)

        def missing():
            live, sched, ready = pods.totals
            d = next(iter(deps.state.values()), None)
            dep = "no Deployment" if d is None else (
                f"Deployment generation {d[0]} observed {d[1]}, replicas {d[2]}, updated {d[3]}, available {d[4]}")
            return f"{live} of {n} Pods live, {sched} scheduled, {ready} Ready; {dep}"

        pods.goal("exist", lambda tr: tr.totals[0] >= n)
        pods.goal("ready", lambda tr: tr.totals[2] >= n)
        deps.goal("available", lambda tr: any(s[4] >= n for s in tr.state.values()))
        ph = Phase(cl, side, users)
        cl.admin.merge_patch(f"{dpath}/web", {"spec": {"replicas": n}})
        deadline = ph.t0 + timeout
        marks = {"available_s": reach(deps, "available", deadline)}
        marks["exist_s"] = reach(pods, "exist", deadline)
        marks["ready_s"] = reach(pods, "ready", deadline)
        scale = ph.finish(marks, None if marks["available_s"] else missing(), timeout)
        scale["seconds"] = scale["available_s"]
        res["scale_up"] = scale
        log(f"  scale-deploy {side}: available after {scale['available_s']}s (exist {scale['exist_s']}s), "
            f"{scale['writes_total']} writes" + ("" if scale["converged"] else f"; NOT CONVERGED: {scale['missing']}"))

        if scale["converged"]:
            ph = Phase(cl, side, users)
            patched = cl.admin.merge_patch(f"{dpath}/web",
                                           {"spec": {"template": {"metadata": {"annotations": {"bench/rev": "2"}}}}})
            gen = patched["metadata"]["generation"]
            done = deployment_complete(n)
            deps.goal("complete", lambda tr: done(tr) and all(s[1] >= gen for s in tr.state.values()))
            t = reach(deps, "complete", ph.t0 + timeout)
            roll = ph.finish({"complete_s": t}, None if t else missing(), timeout)
            roll["seconds"] = roll["complete_s"]
        else:
            roll = {"converged": False, "seconds": None, "missing": "not run: the scale-up did not converge"}
        res["rolling_update"] = roll
        log(f"  scale-deploy {side}: rolling update {roll['seconds']}s, {roll.get('writes_total')} writes"
            + ("" if roll["converged"] else f"; NOT CONVERGED: {roll['missing']}"))
        res["controller_memory"] = rss(ctl_pid)
        res["memory"] = {k: rss(p) for k, p in cl.pids().items() if p}
        pods.stop()
        deps.stop()
    return res


def slices_missing(tr, ready_want, notready_want):
    """What a set of EndpointSlices lacks against the wanted ready and not-ready Pod names."""
    ready, notready, count = set(), set(), 0
    with tr.cond:
        for r, nr in tr.state.values():
            ready |= r
            notready |= nr
            count += len(r) + len(nr)
    return (f"{len(tr.state)} slices hold {count} endpoints (want {len(ready_want) + len(notready_want)}): "
            f"{len(ready_want - ready)} ready ones missing, {len(notready_want - notready)} not-ready ones "
            f"missing, {len(ready - ready_want)} ready that should not be")


def run_scale_eps(side, n, flips, threads, rate_name, timeout):
    """scale-eps: a Service over n Pods (slices correct), then `flips` Pods turning unready."""
    rate = RATES[rate_name]
    res = {"side": side, "pods": n, "flips": flips, "loadavg": loadavg()}
    kcm_ctl = "serviceaccount,endpointslice" if side == "kcm" else "serviceaccount"
    with Cluster(kcm_ctl, rate if side == "kcm" else (20, 30), f"scale-eps {side}") as cl:
        res["rate_setting"], users, ctl_pid = scale_cluster(cl, side, ["endpointslice"], ["endpointslice"], rate)
        group = "discovery.bosun.dev" if side == "bosun" else "discovery.k8s.io"
        slice_path = f"/apis/{group}/v1/namespaces/{NS}/endpointslices"
        cl.namespace()
        pods = Tracker(cl.admin, f"/api/v1/namespaces/{NS}/pods", pod_summary, width=3)
        pods.goal("ready", lambda tr: tr.totals[2] >= n)
        t_pods = time.monotonic()
        create_pods(cl.admin, n, "eps", threads)
        pods.wait("ready", time.monotonic() + timeout)
        res["pods_ready_after_s"] = round(time.monotonic() - t_pods, 3)
        # As scenario 4: the Service is created once kwok has stopped rewriting the Pods.
        res["pods_quiet_after_s"] = round(pods.wait_quiet(2.0, time.monotonic() + timeout) - t_pods, 3)
        names = {f"eps-{i}" for i in range(n)}
        slices = Tracker(cl.admin, slice_path, slice_summary, selector="kubernetes.io/service-name=eps")
        slices.goal("correct", slices_match(names, set()))
        ph = Phase(cl, side, users)
        cl.admin.create(f"/api/v1/namespaces/{NS}/services", {
            "metadata": {"name": "eps"},
            "spec": {"selector": {"app": "eps"}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]},
        })
        t = reach(slices, "correct", ph.t0 + timeout)
        create = ph.finish({"correct_s": t}, None if t else slices_missing(slices, names, set()), timeout)
        create["seconds"] = create["correct_s"]
        create["slices"] = len(slices.state)
        res["service_create"] = create
        log(f"  scale-eps {side}: {n} endpoints correct after {create['correct_s']}s in {create['slices']} slices, "
            f"{create['writes_total']} writes" + ("" if create["converged"] else f"; NOT CONVERGED: {create['missing']}"))

        flipped = sorted(names, key=lambda x: int(x.split("-")[1]))[::max(1, n // max(1, flips))][:flips]
        flipped = set(flipped)
        slices.goal("flipped", slices_match(names - flipped, flipped))
        ph = Phase(cl, side, users)
        with concurrent.futures.ThreadPoolExecutor(threads) as ex:
            list(ex.map(lambda name: set_ready_surely(cl.admin, name, False), sorted(flipped)))
        patched = time.monotonic()
        t = reach(slices, "flipped", ph.t0 + timeout)
        flip = ph.finish({"patched_s": patched, "correct_s": t},
                         None if t else slices_missing(slices, names - flipped, flipped), timeout)
        flip["seconds"] = flip["correct_s"]
        flip["slices"] = len(slices.state)
        res["readiness_flips"] = flip
        log(f"  scale-eps {side}: {len(flipped)} flips correct after {flip['correct_s']}s, {flip['writes_total']} "
            f"writes" + ("" if flip["converged"] else f"; NOT CONVERGED: {flip['missing']}"))
        res["controller_memory"] = rss(ctl_pid)
        res["memory"] = {k: rss(p) for k, p in cl.pids().items() if p}
        pods.stop()
        slices.stop()
    return res


def dns_pod_summary(p):
    """(app, ready, podIP, template revision, terminating) of a Pod of scale-dns."""
    md = p["metadata"]
    ready, ip = pod_ready_ip(p)
    return ((md.get("labels") or {}).get("app"), ready, ip, (md.get("annotations") or {}).get("bench/rev", "1"),
            bool(md.get("deletionTimestamp")))


def eps_ips_summary(s):
    """(Service, ready addresses) of an upstream EndpointSlice."""
    svc = (s["metadata"].get("labels") or {}).get("kubernetes.io/service-name")
    addrs = set()
    for ep in s.get("endpoints") or []:
        if (ep.get("conditions") or {}).get("ready") is not False:
            addrs.update(ep.get("addresses") or [])
    return (svc, frozenset(addrs))


def recordset_summary(zone_suffix):
    """(Service, A addresses of the Service's own name) of a DNSRecordSet (one per Service,
    named after it)."""

    def summarize(r):
        name = r["metadata"]["name"]
        fqdn = f"{name}.{r['metadata']['namespace']}.{zone_suffix}"
        addrs = {x.get("address") for x in (r.get("spec") or {}).get("records") or []
                 if x.get("type") == "A" and x.get("name", "").rstrip(".") == fqdn}
        return (name, frozenset(a for a in addrs if a))

    return summarize


def snapshot(tr):
    with tr.cond:
        return list(tr.state.values())


def dns_truth(pods, per, rev):
    """{Service: IPs} for every Service whose Pods are exactly `per` live ones of template
    revision `rev`, all Ready with an IP: what its headless answer must then be."""
    by = {}
    for app, ready, ip, prev, term in snapshot(pods):
        if term or app is None:
            continue
        e = by.setdefault(app, [0, 0, set()])
        e[0] += 1
        if ready and ip and prev == rev:
            e[1] += 1
            e[2].add(ip)
    return {app: frozenset(ips) for app, (live, good, ips) in by.items() if live == per and good == per}


def run_scale_dns(side, services, per, threads, rate_name, timeout):
    """scale-dns: `services` headless Services, each over a Deployment of `per` Pods. Phase one
    creates them all; phase two rolls every Deployment. Each phase is timed until every
    Deployment is complete, the side's objects hold every Service's Ready Pod IPs (upstream's
    EndpointSlices, bosun's DNSRecordSets) and its DNS server (CoreDNS, `bosun dns`) answers every
    Service's A question with exactly those IPs."""
    rate = RATES[rate_name]
    res = {"side": side, "services": services, "pods_per_service": per, "loadavg": loadavg()}
    kcm_ctl = "serviceaccount,deployment,replicaset,endpointslice" if side == "kcm" else "serviceaccount"
    zone = "svc.cluster.local"
    with Cluster(kcm_ctl, rate if side == "kcm" else (20, 30), f"scale-dns {side}") as cl:
        ctl = bosun_controllers()
        bosun_ctl = ["replicaset", "deployment", "endpointslice"] + [c for c in ("dns", "dnsrecordset") if c in ctl]
        res["rate_setting"], users, ctl_pid = scale_cluster(cl, side, bosun_ctl,
                                                            ["deployment", "replicaset", "endpointslice"], rate)
        api = "apps.bosun.dev/v1" if side == "bosun" else "apps/v1"
        cl.namespace()
        start_dns_servers(cl, side == "bosun", cache=False, coredns=side == "kcm")
        server = SIDE_DNS[side]
        probe = DnsProbe(DNS_PORTS[server], "kubernetes.default.svc.cluster.local")
        poll(lambda: probe.ask() is not None, 60, f"{server} answers")
        dns_pid = dict((name, p.pid) for name, p in cl.extra)[server]
        dpath = f"/apis/{api}/namespaces/{NS}/deployments"
        pods = Tracker(cl.admin, f"/api/v1/namespaces/{NS}/pods", dns_pod_summary)
        deps = Tracker(cl.admin, dpath, deploy_summary)
        if side == "bosun":
            objs = Tracker(cl.admin, f"/apis/dns.bosun.dev/v1/namespaces/{NS}/dnsrecordsets", recordset_summary(zone))
        else:
            objs = Tracker(cl.admin, f"/apis/discovery.k8s.io/v1/namespaces/{NS}/endpointslices", eps_ips_summary)
        names = [f"hl-{j}" for j in range(services)]

        def body(j):
            b = deployment(api, per)
            b["metadata"]["name"] = names[j]
            b["spec"]["selector"] = {"matchLabels": {"app": names[j]}}
            b["spec"]["template"]["metadata"]["labels"] = {"app": names[j]}
            return b

        def create(j):
            cl.admin.create(f"/api/v1/namespaces/{NS}/services", {
                "metadata": {"name": names[j]},
                "spec": {"clusterIP": "None", "selector": {"app": names[j]},
                         "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]},
            })
            cl.admin.create(dpath, body(j))

        def roll(j):
            cl.admin.merge_patch(f"{dpath}/{names[j]}",
                                 {"spec": {"template": {"metadata": {"annotations": {"bench/rev": "2"}}}}})

        for phase, act, rev, gen in (("create", create, "1", 1), ("rolling_update", roll, "2", 2)):
            ph = Phase(cl, side, users)
            with concurrent.futures.ThreadPoolExecutor(threads) as ex:
                list(ex.map(act, range(services)))
            marks = {"requests_s": time.monotonic()}
            marks.update(converge_dns(pods, deps, objs, probe, names, per, rev, gen, zone, ph.t0 + timeout))
            missing = marks.pop("missing")
            r = ph.finish(marks, missing, timeout)
            r["seconds"] = r["answers_s"]
            r["queries"], probe.queries = probe.queries, 0
            res[phase] = r
            log(f"  scale-dns {side} {phase}: Deployments {r['deployments_s']} s, objects {r['objects_s']} s, "
                f"answers {r['answers_s']} s, {r['writes_total']} writes"
                + ("" if r["converged"] else f"; NOT CONVERGED: {missing}"))
            if not r["converged"]:
                res["rolling_update"] = res.get("rolling_update") or {
                    "converged": False, "seconds": None, "missing": "not run: the creation did not converge"}
                break
        probe.close()
        res["controller_memory"] = rss(ctl_pid)
        res["dns_memory"] = rss(dns_pid)
        res["memory"] = {k: rss(p) for k, p in cl.pids().items() if p}
        for tr in (pods, deps, objs):
            tr.stop()
    return res


# How often scale-dns compares the watches' caches and asks the DNS server (a sweep asks only
# the Services not yet answered right, so the resolution is this or a sweep, whichever is longer).
SCALE_DNS_PERIOD_S = 0.25


def converge_dns(pods, deps, objs, probe, names, per, rev, gen, zone, deadline):
    """Poll until the Deployments are complete (generation `gen`), the objects hold and the DNS
    server answers every Service's Ready IPs of revision `rev`; the moments each first held
    (None: not by the deadline), and what was missing then (None when all held)."""
    marks = {"pods_ready_s": None, "deployments_s": None, "objects_s": None, "answers_s": None}
    pending, want = set(names), {}
    right = {}
    while time.monotonic() < deadline:
        tick = time.monotonic()
        want = dns_truth(pods, per, rev)
        if marks["pods_ready_s"] is None and all(n in want for n in names):
            marks["pods_ready_s"] = tick
        if marks["deployments_s"] is None:
            done = [s for s in snapshot(deps)
                    if s[0] >= gen and s[1] >= s[0] and s[2] == s[3] == s[4] == s[5] == per]
            if len(done) == len(names):
                marks["deployments_s"] = tick
        if marks["objects_s"] is None:
            got = {}
            for svc, addrs in snapshot(objs):
                got[svc] = got.get(svc, frozenset()) | addrs
            if all(n in want and got.get(n) == want[n] for n in names):
                marks["objects_s"] = tick
        for n in sorted(pending):
            if n in want:
                right[n] = probe.ask(name=f"{n}.{NS}.{zone}")
                if right[n] == want[n]:
                    pending.discard(n)
        if not pending:
            # Every Service answered right at some point of the sweeps: ask all once more, and
            # count the phase done when they still are.
            t_all = time.monotonic()
            for n in names:
                right[n] = probe.ask(name=f"{n}.{NS}.{zone}")
                if right[n] != want.get(n):
                    pending.add(n)
            if not pending and marks["deployments_s"] and marks["objects_s"]:
                marks["answers_s"] = t_all
                marks["missing"] = None
                return marks
        time.sleep(max(0.0, tick + SCALE_DNS_PERIOD_S - time.monotonic()))
    # Not converged: say what was missing at the deadline.
    want = dns_truth(pods, per, rev)
    done = [s for s in snapshot(deps) if s[0] >= gen and s[1] >= s[0] and s[2] == s[3] == s[4] == s[5] == per]
    got = {}
    for svc, addrs in snapshot(objs):
        got[svc] = got.get(svc, frozenset()) | addrs
    bad_obj = [n for n in names if got.get(n) != want.get(n)]
    bad_dns = sorted(pending, key=lambda x: int(x.split("-")[1]))
    # An example of a wrong answer among the Services whose Pods are all Ready (the others'
    # answers cannot be right yet).
    eg = next((n for n in bad_dns if n in want), None)
    marks["missing"] = (
        f"{len(names) - len(want)} of {len(names)} Services without exactly {per} live Pods, all Ready, of "
        f"template revision {rev}; {len(names) - len(done)} Deployments not complete; {len(bad_obj)} Services' "
        f"objects without exactly those IPs; {len(bad_dns)} DNS answers not (yet) right"
        + (f" (e.g. {eg}: answered {sorted(right.get(eg) or [])}, want {sorted(want[eg])})" if eg else ""))
    return marks


def summarize_scale(runs, phases):
    """Per phase: seconds, writes, CPU; peak RSS; every run kept (converged or not)."""
    if not runs:
        return {"runs": [], "failed": True}
    out = {"runs": runs, "rate_setting": runs[0].get("rate_setting")}
    for ph in phases:
        rs = [x[ph] for x in runs if ph in x]
        out[ph] = {
            "seconds": stats([r.get("seconds") for r in rs]),
            "writes": stats([r.get("writes_total") for r in rs]),
            "controller_cpu_s": stats([r.get("controller_cpu_s") for r in rs]),
            "dns_cpu_s": stats([r.get("dns_cpu_s") for r in rs]),
            "apiserver_cpu_s": stats([r.get("apiserver_cpu_s") for r in rs]),
            "not_converged": [r.get("missing") for r in rs if not r.get("converged")],
        }
    out["controller_peak_rss_mib"] = stats([x["controller_memory"]["peak_rss_mib"] for x in runs])
    out["dns_peak_rss_mib"] = stats([(x.get("dns_memory") or {}).get("peak_rss_mib") for x in runs])
    return out


# --- aggregation -----------------------------------------------------------------------------------


def stats(values):
    v = [x for x in values if x is not None]
    if not v:
        return None
    return {"min": round(min(v), 3), "median": round(statistics.median(v), 3), "max": round(max(v), 3),
            "runs": [round(x, 3) for x in v]}


def versions():
    def out(argv):
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=20)
            return (r.stdout or r.stderr).strip().splitlines()[0] if (r.stdout or r.stderr) else None
        except (OSError, subprocess.TimeoutExpired):
            return None

    env = {}
    for line in (REPO / "hack/cluster/versions.env").read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            k, v = line.split("=", 1)
            env[k] = v
    git = out(["git", "-C", str(REPO), "describe", "--always", "--dirty"])
    return {
        "bosun": out([bosun_bin(), "--version"]),
        "bosun_git": git,
        "kubernetes": env.get("KUBE_VERSION"),
        "etcd": env.get("ETCD_VERSION"),
        "kwok": env.get("KWOK_VERSION"),
        "coredns": env.get("COREDNS_VERSION"),
        "dnsperf": out(["sh", "-c", "dnsperf -h 2>&1 | grep Version"]),
        "python": platform.python_version(),
    }


def interrupted(*_):
    raise KeyboardInterrupt


def main():
    # SIGTERM (make interrupted, a timeout) unwinds like Ctrl-C, so the cluster is stopped.
    signal.signal(signal.SIGTERM, interrupted)
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    env = os.environ.get
    ap.add_argument("--scenarios", default=env("BENCH_SCENARIOS", ",".join(ALL_SCENARIOS)))
    ap.add_argument("--replicas", type=int, default=int(env("BENCH_REPLICAS", "1000")))
    ap.add_argument("--repeats", type=int, default=int(env("BENCH_REPEATS", "3")))
    ap.add_argument("--rates", default=env("BENCH_RATES", "default,unthrottled"))
    ap.add_argument("--eps-pods", type=int, default=int(env("BENCH_EPS_PODS", "5000")))
    ap.add_argument("--eps-flips", type=int, default=int(env("BENCH_EPS_FLIPS", "500")))
    ap.add_argument("--dns-seconds", type=int, default=int(env("BENCH_DNS_SECONDS", "10")))
    ap.add_argument("--dns-services", type=int, default=int(env("BENCH_DNS_SERVICES", "100")))
    ap.add_argument("--dns-clients", type=int, default=int(env("BENCH_DNS_CLIENTS", "4")))
    ap.add_argument("--fresh-rounds", type=int, default=int(env("BENCH_FRESH_ROUNDS", "200")),
                    help="scenario 7, part 2: readiness changes per side timed to the status")
    ap.add_argument("--fresh-replicas", type=int, default=int(env("BENCH_FRESH_REPLICAS", "3")))
    ap.add_argument("--fresh-flips", type=int, default=int(env("BENCH_FRESH_FLIPS", "500")),
                    help="scenario 7, part 4: readiness flips timed to the DNS answers")
    ap.add_argument("--fresh-pods", type=int, default=int(env("BENCH_FRESH_PODS", "10")))
    ap.add_argument("--fresh-poll-ms", type=float, default=float(env("BENCH_FRESH_POLL_MS", "3")))
    ap.add_argument("--scale-pods", type=int, default=int(env("BENCH_SCALE_PODS", "10000")),
                    help="scale-deploy's replicas and scale-eps's Pods")
    ap.add_argument("--scale-flips", type=int, default=int(env("BENCH_SCALE_FLIPS", "1000")),
                    help="scale-eps: Pods turned unready")
    ap.add_argument("--scale-services", type=int, default=int(env("BENCH_SCALE_SERVICES", "1000")),
                    help="scale-dns: headless Services, each over a Deployment")
    ap.add_argument("--scale-pods-per-service", type=int, default=int(env("BENCH_SCALE_PODS_PER_SERVICE", "10")))
    ap.add_argument("--scale-repeats", type=int, default=int(env("BENCH_SCALE_REPEATS", "1")))
    ap.add_argument("--scale-rate", default=env("BENCH_SCALE_RATE", "unthrottled"), choices=sorted(RATES))
    ap.add_argument("--scale-timeout", type=int, default=int(env("BENCH_SCALE_TIMEOUT", "900")),
                    help="seconds each phase of a scale scenario may take before it counts as not converged")
    ap.add_argument("--client-threads", type=int, default=int(env("BENCH_CLIENT_THREADS", "32")))
    ap.add_argument("--sides", default=env("BENCH_SIDES", "kcm,bosun"), help="kcm, bosun or both")
    ap.add_argument("--timeout", type=int, default=int(env("BENCH_TIMEOUT", "900")))
    ap.add_argument("--out", default=env("BENCH_OUT", str(REPO / "bench/results.json")))
    ap.add_argument("--merge", default=env("BENCH_MERGE", ""),
                    help="a results.json whose scenarios this run keeps (those it does not run itself)")
    ap.add_argument("--note", default=env("BENCH_NOTE", ""), help="load conditions etc., copied to the report")
    a = ap.parse_args()
    if DIR.resolve() == (CACHE / "cluster").resolve() and env("BENCH_ALLOW_DEFAULT_CLUSTER") != "1":
        sys.exit("bench: BOSUN_CLUSTER_DIR is the default cluster, which the benchmark would destroy; "
                 "set BOSUN_CLUSTER_DIR (make bench does) or BENCH_ALLOW_DEFAULT_CLUSTER=1")
    if not Path(bosun_bin()).exists():
        sys.exit(f"bench: {bosun_bin()} missing: cargo build --release -p bosun")
    scen = [s.strip() for s in a.scenarios.split(",") if s.strip()]
    rates = [r.strip() for r in a.rates.split(",") if r.strip()]
    sides = [x for x in ("kcm", "bosun") if x in a.sides.split(",")]
    ctl = bosun_controllers()
    dns_ok = bosun_help("dns") is not None
    has_eps = "endpointslice" in ctl
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    out = {
        "started": started,
        "command": " ".join(["bench/bench.py", *sys.argv[1:]]) if sys.argv[1:] else "make bench",
        "params": {k: v for k, v in vars(a).items() if k != "out"},
        "env": {k: v for k, v in os.environ.items() if k.startswith("BENCH_") or k in ("BOSUN_PORT_OFFSET",)},
        "machine": machine_info(),
        "versions": versions(),
        "bosun_capabilities": {
            "controllers": sorted(ctl),
            "rate_limit_flags": bool(bosun_rate_flags((1, 1))[0]),
            "dns": dns_ok,
        },
        "note": a.note,
        "scenarios": {},
        "errors": [],
    }

    if a.merge:
        old = json.loads(Path(a.merge).read_text())
        for k, val in old.get("scenarios", {}).items():
            if k not in scen:
                out["scenarios"][k] = val
        out["errors"] += old.get("errors", [])
        out["merged_from"] = {"file": a.merge, "started": old.get("started"), "command": old.get("command"),
                              "machine": old.get("machine")}

    def save():
        out["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        out["machine"]["loadavg_at_end"] = loadavg()
        Path(a.out).write_text(json.dumps(out, indent=1, sort_keys=False) + "\n")

    def attempt(what, fn, *args):
        try:
            return fn(*args)
        except Exception as e:  # one failed run is reported, the others still run
            log(f"  FAILED {what}: {e}")
            out["errors"].append(f"{what}: {e}")
            save()
            return None

    if "deploy" in scen:
        d = out["scenarios"]["deploy"] = {}
        for rate in rates:
            for side in sides:
                runs = []
                for r in range(a.repeats):
                    log(f"scenario 1+3: {side}, rates {rate}, run {r + 1}/{a.repeats}, {a.replicas} replicas")
                    x = attempt(f"deploy {side} {rate} #{r + 1}", run_deploy, side, rate, a.replicas, a.timeout)
                    if x:
                        runs.append(x)
                d.setdefault(rate, {})[side] = summarize_deploy(runs)
                save()
    if "ceiling" in scen:
        runs = []
        for r in range(a.repeats):
            log(f"scenario 2: ceiling, run {r + 1}/{a.repeats}")
            x = attempt(f"ceiling #{r + 1}", run_ceiling, a.replicas, a.client_threads, a.timeout)
            if x:
                runs.append(x)
        out["scenarios"]["ceiling"] = {
            "runs": runs,
            "created_s": stats([x["created_s"] for x in runs]),
            "exist_s": stats([x["exist_s"] for x in runs]),
            "ready_s": stats([x["ready_s"] for x in runs]),
            "pods_per_s": stats([x["pods_per_s"] for x in runs]),
        }
        save()
    if "eps" in scen:
        e = out["scenarios"]["eps"] = {}
        for side in sides:
            if side == "bosun" and not has_eps:
                e[side] = {"skipped": "`bosun run --help` lists no endpointslice controller in this build"}
                log("scenario 4: bosun side skipped (no endpointslice controller)")
                continue
            runs = []
            for r in range(a.repeats):
                log(f"scenario 4: {side}, run {r + 1}/{a.repeats}, {a.eps_pods} pods, {a.eps_flips} flips")
                x = attempt(f"eps {side} #{r + 1}", run_eps, side, a.eps_pods, a.eps_flips, a.client_threads,
                            a.timeout)
                if x:
                    runs.append(x)
            e[side] = summarize_eps(runs)
            save()
    if "dns" in scen:
        if not (BIN / "coredns").exists():
            out["errors"].append("dns: CoreDNS missing: hack/cluster/build.sh coredns")
        if shutil.which("dnsperf") is None:
            out["errors"].append("dns: dnsperf missing: apt-get install dnsperf (hack/deps.sh)")
        else:
            runs = []
            for r in range(a.repeats):
                log(f"scenario 5: dns, run {r + 1}/{a.repeats} (bosun dns {'on' if dns_ok else 'skipped'})")
                x = attempt(f"dns #{r + 1}", run_dns, a.dns_seconds, a.dns_services, 10, 5, a.dns_clients,
                            a.timeout, dns_ok)
                if x:
                    runs.append(x)
            dn = {"runs": runs}
            for name in ("coredns", "bosun-dns"):
                rs = [x[name] for x in runs if name in x]
                if name == "bosun-dns" and not dns_ok:
                    dn[name] = {"skipped": "`bosun dns --help` fails: no DNS server in this build"}
                    continue
                dn[name] = {
                    "qps": stats([x["qps"] for x in rs]),
                    "p99_ms": stats([x["p99_ms"] for x in rs]),
                    "p50_ms": stats([x["p50_ms"] for x in rs]),
                    "peak_rss_mib": stats([x["peak_rss_mib"] for x in rs]),
                }
            c, b = dn.get("coredns", {}), dn.get("bosun-dns", {})
            dn["ratios_bosun_over_coredns"] = {
                k: round(b[k]["median"] / c[k]["median"], 3)
                for k in ("qps", "p50_ms", "p99_ms", "peak_rss_mib")
                if (b.get(k) or {}).get("median") and (c.get(k) or {}).get("median")
            }
            out["scenarios"]["dns"] = dn
            save()
    if "fresh" in scen:
        bosun_status = {"replicaset", "deployment"} <= ctl
        bosun_chain = dns_ok and has_eps and bool({"dns", "dnsrecordset"} & ctl)
        runs = []
        log(f"scenario 7: freshness, {a.fresh_rounds} status rounds, {a.fresh_flips} DNS flips")
        x = attempt("fresh", run_fresh, sides, a.fresh_replicas, a.fresh_rounds, a.fresh_pods, a.fresh_flips,
                    a.fresh_poll_ms, a.client_threads, a.timeout, bosun_status, bosun_chain)
        if x:
            runs.append(x)
        fr = out["scenarios"]["fresh"] = summarize_fresh(runs)
        if "bosun" in sides and not bosun_status:
            fr["status"]["skipped"] = "`bosun run --help` lists no replicaset and deployment controllers"
        if "bosun" in sides and not bosun_chain:
            fr["dns"]["skipped"] = "no endpointslice and dns controllers or no `bosun dns` in this build"
        save()
    scale = [
        ("scale-deploy", ("scale_up", "rolling_update"),
         lambda side: run_scale_deploy(side, a.scale_rate, a.scale_pods, a.scale_timeout)),
        ("scale-eps", ("service_create", "readiness_flips"),
         lambda side: run_scale_eps(side, a.scale_pods, a.scale_flips, a.client_threads, a.scale_rate,
                                    a.scale_timeout)),
        ("scale-dns", ("create", "rolling_update"),
         lambda side: run_scale_dns(side, a.scale_services, a.scale_pods_per_service, a.client_threads,
                                    a.scale_rate, a.scale_timeout)),
    ]
    for name, phases, fn in scale:
        if name not in scen:
            continue
        sc = out["scenarios"][name] = {}
        for side in sides:
            runs = []
            for r in range(a.scale_repeats):
                log(f"{name}: {side}, run {r + 1}/{a.scale_repeats}, rates {a.scale_rate}")
                x = attempt(f"{name} {side} #{r + 1}", fn, side)
                if x:
                    runs.append(x)
            sc[side] = summarize_scale(runs, phases)
            save()
    save()
    log(f"results in {a.out}")


def summarize_deploy(runs):
    if not runs:
        return {"runs": [], "failed": True}

    def writes(phase):
        return [sum(w["total"] for w in x[phase]["writes"].values()) for x in runs]

    return {
        "rate_setting": runs[0].get("rate_setting"),
        "scale_up": {
            "exist_s": stats([x["scale_up"]["exist_s"] for x in runs]),
            "available_s": stats([x["scale_up"]["available_s"] for x in runs]),
            "writes": stats(writes("scale_up")),
        },
        "rolling_update": {
            "complete_s": stats([x["rolling_update"]["complete_s"] for x in runs]),
            "writes": stats(writes("rolling_update")),
        },
        "controller_peak_rss_mib": stats([x["controller_memory"]["peak_rss_mib"] for x in runs]),
        "runs": runs,
    }


def summarize_eps(runs):
    if not runs:
        return {"runs": [], "failed": True}

    def writes(phase):
        return [sum(w["total"] for w in x[phase]["writes"].values()) for x in runs]

    return {
        "service_create": {"correct_s": stats([x["service_create"]["correct_s"] for x in runs]),
                           "writes": stats(writes("service_create"))},
        "readiness_flips": {"correct_s": stats([x["readiness_flips"]["correct_s"] for x in runs]),
                            "writes": stats(writes("readiness_flips"))},
        "controller_peak_rss_mib": stats([x["controller_memory"]["peak_rss_mib"] for x in runs]),
        "runs": runs,
    }


if __name__ == "__main__":
    main()
