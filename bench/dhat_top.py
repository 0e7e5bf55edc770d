#!/usr/bin/env python3
"""The top allocation sites of a dhat heap profile (a `bosun` built with `--features heap-profile`)
at the heap's peak (dhat's t-gmax), grouped by the innermost frame outside the allocator and
the standard library, with the first frame of bosun's own code that led there.

usage: bench/dhat_top.py dhat-heap.json [--top 25] [--by gb|eb|tb]
  gb: bytes live at the peak (default), eb: live at exit, tb: allocated over the whole run.
Only the standard library is used.
"""

import argparse
import json
import re
from collections import defaultdict

# Frames that say nothing about who allocated: the allocator, std's collections and the
# serialization machinery that allocates on behalf of its caller.
PLUMBING = re.compile(
    r"^(<?dhat::|alloc::|core::|std::|<alloc::|<core::|<std::|hashbrown::|<hashbrown::|__rust|"
    r"<?serde::|<?serde_json::|<?serde_core::|<&mut serde_json::|indexmap::|<indexmap::|bytes::|<bytes::|"
    r"smallvec::|<smallvec::|\[root\]|main$|__libc|_start)"
)
OWN = re.compile(r"^<?(bosun|bosun_core|bosun_api)[:<]")


def func(frame):
    """The function of a dhat frame string ("0x…: path::to::fn (file.rs:1:2)")."""
    f = frame.split(": ", 1)[-1]
    return re.sub(r" \(.*\)$", "", f).strip()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("profile")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--by", default="gb", choices=["gb", "eb", "tb"])
    a = ap.parse_args()
    d = json.load(open(a.profile))
    ftbl = d["ftbl"]
    key = a.by
    total = sum(pp.get(key, 0) for pp in d["pps"])
    sites = defaultdict(lambda: [0, 0, defaultdict(int)])
    for pp in d["pps"]:
        b = pp.get(key, 0)
        if not b:
            continue
        frames = [func(ftbl[i]) for i in pp["fs"]]
        site = next((f for f in frames if not PLUMBING.match(f)), frames[-1] if frames else "?")
        own = next((f for f in frames if OWN.match(f)), "(no bosun frame)")
        s = sites[site]
        s[0] += b
        s[1] += pp.get(key + "k", 0)
        s[2][own] += b
    print(f"{d.get('cmd')}: {key} total {total / 2**20:.1f} MiB over {len(d['pps'])} program points"
          + (f"; peak at t-gmax {d.get('tg', 0) / 1e6:.1f} s" if "tg" in d else ""))
    for site, (b, blocks, owners) in sorted(sites.items(), key=lambda kv: -kv[1][0])[: a.top]:
        print(f"{b / 2**20:8.2f} MiB {100 * b / max(1, total):5.1f}% {blocks:9d} blocks  {site}")
        for own, ob in sorted(owners.items(), key=lambda kv: -kv[1])[:3]:
            print(f"{'':34}{ob / 2**20:7.2f} MiB via {own}")


if __name__ == "__main__":
    main()
