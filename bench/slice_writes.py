#!/usr/bin/env python3
"""The API server's cost of an EndpointSlice write, per write method and slice size (issue 19 §3).

One fresh local cluster (no controller touches the slices: kube-controller-manager runs only its
serviceaccount controller, no bosun). For each kind — bosun's `discovery.bosun.dev/v1`
EndpointSlice and the built-in `discovery.k8s.io/v1` one — and each slice size, one slice is
created; then, per write method, W writes each flip one endpoint's `ready` condition (the change
a readiness flip makes). Around each method's writes the API server's and etcd's CPU seconds
are read from /proc: the figure is their CPU per write, in ms, with the writes' wall time.

Methods:
  put        GET-free update: the whole object with the resourceVersion last written (bosun's
             EndpointSlice controller today, as upstream's)
  apply      server-side apply of the whole slice, forced, one field manager
  merge      JSON merge patch of `endpoints` (an atomic list: the whole list), with the
             resourceVersion as a precondition
  json       JSON patch of only the flipped condition, with a `test` of the resourceVersion

Writes go one at a time from one connection (the measure is cost, not throughput). The audit
log is off. With --cbor, the API server runs with CBORServingAndStorage and the bosun rows are
repeated with the request body in CBOR (needs the cbor2 module; the built-in kind is served
as protobuf by clients, so it has no CBOR rows).

Schema variants (--variants): the same bosun EndpointSlice under copies of its CRD in groups of
their own (`<variant>.bench.bosun.dev`), each changed in one way that bears on the API server's
work per write, measured by update (PUT):
  shipped      crds/endpointslices.discovery.bosun.dev.yaml as it is (the copy's baseline)
  no-cel       without its CEL rule (addressType immutable: `self == oldSelf`)
  no-defaults  without `default` values (defaulting walks every object read and written)
  no-descriptions without descriptions (the schema's size, not its rules)
  maps         `x-kubernetes-list-type: map` on the lists that have a natural key (ports by
               name), instead of atomic: field-level ownership in managedFields
  opaque-endpoints  `endpoints` items without a schema (`x-kubernetes-preserve-unknown-fields`),
               the rest as shipped: how much of the cost is the schema of the endpoints
  unvalidated  no schema below the root (`x-kubernetes-preserve-unknown-fields`): the floor of a
               custom resource, what no schema choice can beat
Output: bench/slice-writes.json and a markdown table (docs/slice-writes.md).

    python3 bench/slice_writes.py [--sizes 10,100,1000] [--writes 200] [--cbor] [--variants]
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402
from bench import NS, Cluster, log, proc_cpu  # noqa: E402

KINDS = {
    "bosun": ("discovery.bosun.dev/v1", "/apis/discovery.bosun.dev/v1"),
    "built-in": ("discovery.k8s.io/v1", "/apis/discovery.k8s.io/v1"),
}
METHODS = ["put", "apply", "merge", "json"]


class QuietCluster(Cluster):
    """The benchmark's cluster without the audit log (its cost would fall on every write);
    optionally with CBOR serving for custom resources."""

    def __init__(self, cbor):
        super().__init__("serviceaccount", label="slice writes")
        self.cbor = cbor

    def env(self):
        e = super().env()
        e["APISERVER_EXTRA_ARGS"] = "--feature-gates=CBORServingAndStorage=true" if self.cbor else ""
        return e


def endpoint(i):
    return {
        "addresses": [f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"],
        "conditions": {"ready": True, "serving": True, "terminating": False},
        "nodeName": f"kwok-node-{i % 3}",
        "zone": "zone-a",
        "targetRef": {"kind": "Pod", "namespace": NS, "name": f"pod-{i}", "uid": f"00000000-0000-0000-0000-{i:012d}"},
    }


def slice_obj(api_version, name, size):
    return {
        "apiVersion": api_version,
        "kind": "EndpointSlice",
        "metadata": {
            "name": name,
            "labels": {
                "kubernetes.io/service-name": "svc",
                "endpointslice.kubernetes.io/managed-by": "bench",
            },
        },
        "addressType": "IPv4",
        "endpoints": [endpoint(i) for i in range(size)],
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
    }


CBOR2 = "6.3.0"


def cbor_module():
    """cbor2 (PyPI), installed once under the cache by version (only --cbor needs it)."""
    target = bench.CACHE / "python" / f"cbor2-{CBOR2}"
    if not (target / "cbor2").is_dir():
        log(f"pip install cbor2=={CBOR2} into {target}")
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--target", str(target), f"cbor2=={CBOR2}"],
            check=True,
        )
    if str(target) not in sys.path:
        sys.path.insert(0, str(target))
    import cbor2  # noqa: PLC0415

    return cbor2


def write(client, method, path, obj, i, cbor):
    """Flip endpoint i's ready condition in `obj` (the last version written) by `method`; returns
    the object the API server answers with."""
    e = obj["endpoints"][i]
    ready = not e["conditions"]["ready"]
    e["conditions"]["ready"] = ready
    rv = obj["metadata"]["resourceVersion"]
    if method == "put":
        body, ctype, verb = obj, "application/json", "PUT"
    elif method == "apply":
        sent = {k: v for k, v in obj.items() if k != "metadata"}
        sent["metadata"] = {"name": obj["metadata"]["name"], "labels": obj["metadata"]["labels"]}
        body, ctype, verb = sent, "application/apply-patch+yaml", "PATCH"
        path += "?fieldManager=bench&force=true"
    elif method == "merge":
        body = {"metadata": {"resourceVersion": rv}, "endpoints": obj["endpoints"]}
        ctype, verb = "application/merge-patch+json", "PATCH"
    else:
        body = [
            {"op": "test", "path": "/metadata/resourceVersion", "value": rv},
            {"op": "replace", "path": f"/endpoints/{i}/conditions/ready", "value": ready},
        ]
        ctype, verb = "application/json-patch+json", "PATCH"
    if cbor:
        data = cbor_module().dumps(body)
        ctype = {"application/json": "application/cbor", "application/apply-patch+yaml": "application/apply-patch+cbor"}.get(ctype)
        if ctype is None:
            return None
        out = client.request(verb, path, data, content_type=ctype)
    else:
        out = client.request(verb, path, body, content_type=ctype)
    obj["metadata"]["resourceVersion"] = out["metadata"]["resourceVersion"]
    return out


def measure(cl, kind, size, method, writes, cbor=False):
    api_version, prefix = KINDS[kind]
    name = f"s-{re.sub('[^a-z0-9]', '', kind)}-{size}-{method}{'-cbor' if cbor else ''}"
    coll = f"{prefix}/namespaces/{NS}/endpointslices"
    created = cl.admin.create(coll, slice_obj(api_version, name, size))
    obj = slice_obj(api_version, name, size)
    obj["metadata"]["resourceVersion"] = created["metadata"]["resourceVersion"]
    path = f"{coll}/{name}"
    pids = cl.pids()
    api_pid, etcd_pid = pids["kube-apiserver"], pids["etcd"]
    # A few writes first: caches warm, connection open.
    for i in range(5):
        if write(cl.admin, method, path, obj, i % size, cbor) is None:
            return None
    a0, e0, t0 = proc_cpu(api_pid), proc_cpu(etcd_pid), time.monotonic()
    lat = []
    for w in range(writes):
        t = time.monotonic()
        write(cl.admin, method, path, obj, w % size, cbor)
        lat.append(time.monotonic() - t)
    a1, e1, t1 = proc_cpu(api_pid), proc_cpu(etcd_pid), time.monotonic()
    got = cl.admin.get(path)
    want = [e["conditions"]["ready"] for e in obj["endpoints"]]
    have = [e["conditions"]["ready"] for e in got["endpoints"]]
    if want != have:
        raise RuntimeError(f"{name}: the slice does not hold what was written")
    row = {
        "kind": kind + (" (CBOR)" if cbor else ""),
        "size": size,
        "method": method,
        "writes": writes,
        "apiserver_cpu_ms_per_write": round((a1 - a0) * 1000 / writes, 2),
        "etcd_cpu_ms_per_write": round((e1 - e0) * 1000 / writes, 2),
        "wall_ms_per_write": round((t1 - t0) * 1000 / writes, 2),
        "p50_ms": round(statistics.median(lat) * 1000, 2),
        "request_bytes": len(json.dumps(obj if method in ("put", "apply") else obj["endpoints"] if method == "merge" else [0, 0])),
    }
    cl.admin.delete(path)
    return row


VARIANTS = ["shipped", "no-cel", "no-defaults", "no-descriptions", "maps", "opaque-endpoints", "unvalidated"]
CRD_FILE = bench.REPO / "crds/endpointslices.discovery.bosun.dev.yaml"


def strip(node, key):
    """`node` without `key` at any depth."""
    if isinstance(node, dict):
        return {k: strip(v, key) for k, v in node.items() if k != key}
    if isinstance(node, list):
        return [strip(v, key) for v in node]
    return node


def ports_as_map(node):
    """Every `ports` list keyed by name (`x-kubernetes-list-type: map`); a map key must be
    required, so `name` becomes required with a default of \"\" (as the built-in type's
    merge key behaves)."""
    if isinstance(node, dict):
        out = {k: ports_as_map(v) for k, v in node.items()}
        ports = out.get("properties", {}).get("ports", {})
        if ports.get("type") == "array" and "items" in ports:
            ports["x-kubernetes-list-type"] = "map"
            ports["x-kubernetes-list-map-keys"] = ["name"]
            item = ports["items"]
            item["required"] = sorted(set(item.get("required", [])) | {"name"})
            item["properties"]["name"]["default"] = ""
        return out
    if isinstance(node, list):
        return [ports_as_map(v) for v in node]
    return node


def variant_crd(cl, variant):
    """The bosun EndpointSlice CRD, renamed into group `<variant>.bench.bosun.dev` and changed
    as the variant says."""
    crd = json.loads(cl.kubectl("create", "--dry-run=client", "-o", "json", "-f", str(CRD_FILE)))
    group = f"{variant}.bench.bosun.dev"
    crd["metadata"] = {"name": f"endpointslices.{group}"}
    crd["spec"]["group"] = group
    crd["spec"]["names"].pop("shortNames", None)
    crd["spec"]["names"].pop("categories", None)
    version = crd["spec"]["versions"][0]
    schema = version["schema"]["openAPIV3Schema"]
    if variant == "no-cel":
        schema = strip(schema, "x-kubernetes-validations")
    elif variant == "no-defaults":
        schema = strip(schema, "default")
    elif variant == "no-descriptions":
        schema = strip(schema, "description")
    elif variant == "maps":
        schema = ports_as_map(schema)
    elif variant == "opaque-endpoints":
        schema["properties"]["endpoints"]["items"] = {
            "type": "object",
            "x-kubernetes-preserve-unknown-fields": True,
        }
    elif variant == "unvalidated":
        schema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
        version.pop("additionalPrinterColumns", None)
    version["schema"]["openAPIV3Schema"] = schema
    return group, crd


def install_variants(cl, variants):
    for v in variants:
        _, crd = variant_crd(cl, v)
        cl.admin.create("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
    names = [f"crd/endpointslices.{v}.bench.bosun.dev" for v in variants]
    cl.kubectl("wait", "--for=condition=Established", "--timeout=60s", *names)
    for v in variants:
        KINDS[f"bosun schema: {v}"] = (f"{v}.bench.bosun.dev/v1", f"/apis/{v}.bench.bosun.dev/v1")


def markdown(out):
    lines = [
        "# EndpointSlice writes: the API server's cost per method",
        "",
        "Generated by `python3 bench/slice_writes.py` (bench/slice-writes.json); "
        f"{out['writes']} writes per row, each flipping one endpoint's `ready`, one at a time; "
        f"machine: {out['machine']['cpu_model']}, {out['machine']['cpus']} CPUs; load average at "
        f"start {out['loadavg']}" + (f" ({out['note']})" if out.get("note") else "") + ".",
        "CPU is the process's user+system time over the writes (from /proc), per write."
        + (
            " The API server ran with the CBORServingAndStorage feature gate, for every row;"
            " the CBOR rows send their request bodies in CBOR (answers stay JSON)."
            if out.get("cbor")
            else ""
        ),
        ""
        + (
            "The `bosun schema: <variant>` rows write the same bosun EndpointSlice under a copy of"
            " its CRD changed in one way (shipped: unchanged; no-cel: without its one CEL rule;"
            " no-defaults: without `default` values; no-descriptions: without descriptions; maps:"
            " `ports` as a list-type map keyed by name instead of atomic; opaque-endpoints: the"
            " endpoints' items without a schema; unvalidated: no schema below the root, the floor of any custom resource), by update."
            if out.get("variants")
            else ""
        ),
        "",
        "| kind | endpoints | method | API server CPU ms/write | etcd CPU ms/write | wall ms/write |",
        "|---|---:|---|---:|---:|---:|",
    ]
    for r in out["rows"]:
        lines.append(
            f"| {r['kind']} | {r['size']} | {r['method']} | {r['apiserver_cpu_ms_per_write']} | "
            f"{r['etcd_cpu_ms_per_write']} | {r['wall_ms_per_write']} |"
        )
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default=os.environ.get("BENCH_SLICE_SIZES", "10,100,1000"))
    ap.add_argument("--writes", type=int, default=int(os.environ.get("BENCH_SLICE_WRITES", "200")))
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--cbor", action="store_true")
    ap.add_argument("--variants", nargs="?", const=",".join(VARIANTS), default="",
                    help="also measure these CRD schema variants by update (default: all)")
    ap.add_argument("--out", default=str(bench.REPO / "bench/slice-writes.json"))
    ap.add_argument("--markdown", default=str(bench.REPO / "docs/slice-writes.md"))
    ap.add_argument("--render", metavar="JSON", help="only write the markdown of an earlier run's JSON")
    ap.add_argument("--append", action="store_true",
                    help="measure only --variants and add their rows to --out's earlier run")
    a = ap.parse_args()
    if a.render:
        Path(a.markdown).write_text(markdown(json.loads(Path(a.render).read_text())))
        return
    sizes = [int(s) for s in a.sizes.split(",")]
    methods = a.methods.split(",")
    out = {
        "writes": a.writes,
        "machine": bench.machine_info(),
        "loadavg": bench.loadavg(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "note": os.environ.get("BENCH_NOTE", ""),
        "cbor": a.cbor,
        "variants": a.variants,
        "rows": [],
    }
    if a.append:
        earlier = json.loads(Path(a.out).read_text())
        for v in a.variants.split(","):
            earlier["rows"] = [r for r in earlier["rows"] if r["kind"] != f"bosun schema: {v}"]
        earlier["appended"] = f"{out['started']}, load average {out['loadavg']}"
        out, kinds = earlier, []
    else:
        kinds = list(KINDS)
    with QuietCluster(a.cbor) as cl:
        cl.install_crds()
        cl.namespace()
        for kind in kinds:
            for size in sizes:
                for m in methods:
                    row = measure(cl, kind, size, m, a.writes)
                    log(f"{kind} {size} {m}: {row['apiserver_cpu_ms_per_write']} ms API server CPU per write")
                    out["rows"].append(row)
        if a.cbor and not a.append:
            for size in sizes:
                for m in methods:
                    row = measure(cl, "bosun", size, m, a.writes, cbor=True)
                    if row:
                        log(f"bosun CBOR {size} {m}: {row['apiserver_cpu_ms_per_write']} ms")
                        out["rows"].append(row)
        if a.variants:
            variants = a.variants.split(",")
            install_variants(cl, variants)
            for v in variants:
                for size in sizes:
                    row = measure(cl, f"bosun schema: {v}", size, "put", a.writes)
                    log(f"variant {v} {size} put: {row['apiserver_cpu_ms_per_write']} ms")
                    out["rows"].append(row)
    Path(a.out).write_text(json.dumps(out, indent=1) + "\n")
    Path(a.markdown).write_text(markdown(out))
    log(f"wrote {a.out} and {a.markdown}")


if __name__ == "__main__":
    main()
