#!/usr/bin/env python3
"""Write a container image as an OCI image layout archive, without a container engine.

One uncompressed layer, made reproducibly (sorted entries, owner 0:0, mtime 0), a config, a
manifest and an index whose manifest carries the `io.containerd.image.name` annotation, so
`ctr -n k8s.io images import`, `kind load image-archive`, `minikube image load` and
`docker load` (Docker >= 25) accept it and name the image. Standard library only.

  oci.py --name bosun:dev --out bosun.tar --file target/bosun=/usr/local/bin/bosun \
         --dir /tmp:1777 --text /etc/passwd=images/bosun/passwd \
         --entrypoint '["/usr/local/bin/bosun"]' --cmd '["run"]' --user 65532:65532
"""
import argparse
import hashlib
import io
import json
import os
import sys
import tarfile


def normalize(ref):
    """Docker's reference normalization: `bosun:dev` -> `docker.io/library/bosun:dev`."""
    name, tag = ref, "latest"
    last = ref.rsplit("/", 1)[-1]
    if "@" in last:
        raise SystemExit(f"oci.py: digests are not supported in --name: {ref}")
    if ":" in last:
        name, tag = ref.rsplit(":", 1)
    first = name.split("/", 1)[0]
    if "/" not in name or not ("." in first or ":" in first or first == "localhost"):
        if "/" not in name:
            name = "library/" + name
        name = "docker.io/" + name
    return f"{name}:{tag}", tag


def layer(files, dirs):
    """The layer tar: every parent directory, then the entries, sorted by path."""
    entries = {}

    def add_dir(path, mode=0o755):
        parts = path.strip("/").split("/")
        for i in range(1, len(parts) + 1):
            p = "/".join(parts[:i])
            if p and p not in entries:
                entries[p] = ("dir", 0o755, None)
        if path.strip("/"):
            entries[path.strip("/")] = ("dir", mode, None)

    for path, mode in dirs:
        add_dir(path, mode)
    for dest, src, mode in files:
        parent = os.path.dirname(dest.strip("/"))
        if parent:
            add_dir(parent, entries.get(parent, ("dir", 0o755, None))[1])
        entries[dest.strip("/")] = ("file", mode, src)

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(entries):
            kind, mode, src = entries[path]
            info = tarfile.TarInfo(path + ("/" if kind == "dir" else ""))
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mode = mode
            if kind == "dir":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                with open(src, "rb") as f:
                    data = f.read()
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def blob(out, data, written):
    digest = hashlib.sha256(data).hexdigest()
    if digest not in written:
        info = tarfile.TarInfo(f"blobs/sha256/{digest}")
        info.size, info.mtime, info.mode = len(data), 0, 0o644
        out.addfile(info, io.BytesIO(data))
        written.add(digest)
    return f"sha256:{digest}", len(data)


def dumps(obj):
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--name", required=True, help="image reference, e.g. bosun:dev")
    ap.add_argument("--out", required=True, help="the archive to write")
    ap.add_argument("--file", action="append", default=[], metavar="SRC=DEST[:MODE]",
                    help="a file into the image (mode: octal, default: the source's x bit -> 0755 else 0644)")
    ap.add_argument("--dir", action="append", default=[], metavar="DEST[:MODE]", help="an (empty) directory")
    ap.add_argument("--entrypoint", help="JSON array")
    ap.add_argument("--cmd", help="JSON array")
    ap.add_argument("--user")
    ap.add_argument("--workdir")
    ap.add_argument("--env", action="append", default=[], metavar="K=V")
    ap.add_argument("--label", action="append", default=[], metavar="K=V")
    ap.add_argument("--expose", action="append", default=[], metavar="PORT/PROTO")
    a = ap.parse_args()

    files = []
    for spec in a.file:
        src, _, dest = spec.partition("=")
        mode = None
        if ":" in dest:
            dest, m = dest.rsplit(":", 1)
            mode = int(m, 8)
        if not os.path.isfile(src):
            raise SystemExit(f"oci.py: no such file: {src}")
        if mode is None:
            mode = 0o755 if os.access(src, os.X_OK) else 0o644
        files.append((dest, src, mode))
    dirs = []
    for spec in a.dir:
        path, _, m = spec.partition(":")
        dirs.append((path, int(m, 8) if m else 0o755))

    full, tag = normalize(a.name)
    layer_tar = layer(files, dirs)
    diff_id = "sha256:" + hashlib.sha256(layer_tar).hexdigest()
    cfg = {}
    if a.user:
        cfg["User"] = a.user
    if a.env:
        cfg["Env"] = a.env
    else:
        cfg["Env"] = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
    if a.entrypoint:
        cfg["Entrypoint"] = json.loads(a.entrypoint)
    if a.cmd:
        cfg["Cmd"] = json.loads(a.cmd)
    if a.workdir:
        cfg["WorkingDir"] = a.workdir
    if a.label:
        cfg["Labels"] = dict(kv.split("=", 1) for kv in a.label)
    if a.expose:
        cfg["ExposedPorts"] = {p: {} for p in a.expose}
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": "1970-01-01T00:00:00Z",
        "config": cfg,
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "hack/image/oci.py"}],
    }

    tmp = a.out + ".tmp"
    written = set()
    with tarfile.open(tmp, mode="w", format=tarfile.PAX_FORMAT) as out:
        for d in ("blobs", "blobs/sha256"):
            info = tarfile.TarInfo(d + "/")
            info.type, info.mtime, info.mode = tarfile.DIRTYPE, 0, 0o755
            out.addfile(info)
        layer_digest, layer_size = blob(out, layer_tar, written)
        config_digest, config_size = blob(out, dumps(config), written)
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": config_digest, "size": config_size},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                        "digest": layer_digest, "size": layer_size}],
        }
        manifest_digest, manifest_size = blob(out, dumps(manifest), written)
        index = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [{
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": manifest_digest, "size": manifest_size,
                "platform": {"architecture": "amd64", "os": "linux"},
                "annotations": {"io.containerd.image.name": full,
                                "org.opencontainers.image.ref.name": tag},
            }],
        }
        for name, data in (("oci-layout", dumps({"imageLayoutVersion": "1.0.0"})), ("index.json", dumps(index))):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            out.addfile(info, io.BytesIO(data))
    os.replace(tmp, a.out)
    print(f"{a.out}: {full} {manifest_digest} ({os.path.getsize(a.out)} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
