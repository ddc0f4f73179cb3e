"""Benchmark indexing a binary cache's listings: a generated cache of many store paths.

    python benchmarks/bench_remote.py [--paths 10000] [--json OUT]

Writes a binary cache of ``--paths`` store paths (each a ``.ls`` NAR listing with a lib
dir of three entries, as Nix writes them with ``write-nar-listing=true``) and a
``store-paths.xz`` naming them, serves it with ``python -m http.server`` on 127.0.0.1,
and measures, each in a fresh process:

* ``floor``: fetching every ``.ls`` over the same server with 8 threads of plain
  ``urllib`` (the least any client can do);
* ``cold``: ``RemoteIndex`` over ``--remote-paths`` with an empty cache dir: every listing
  fetched, parsed and cached;
* ``warm``: the same again: everything from the cache, no request.

Reports seconds, requests, the ratio cold/floor (machines are shared and noisy: only
ratios measured in the same run mean anything) and each process's peak RSS. No Nix is
needed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import lzma
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from autopatchelf.store import nixbase32

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))


def _hash_part(seed: str) -> str:
    """A store path's hash part made from ``seed`` (nix base-32 of 20 bytes of sha256)."""
    return nixbase32.encode(hashlib.sha256(seed.encode()).digest()[:20])


def write_cache(directory: Path, count: int) -> Path:
    """``count`` listings under ``directory`` and the store-path list; returns the list."""
    paths = []
    for number in range(count):
        name = f"lib{number:05d}-1.{number % 7}"
        basename = f"{_hash_part(name)}-{name}"
        soname = f"lib{number:05d}.so.1"
        listing = {
            "version": 1,
            "root": {
                "type": "directory",
                "entries": {
                    "lib": {
                        "type": "directory",
                        "entries": {
                            f"{soname}.0.{number % 5}": {
                                "type": "regular", "size": 16384, "executable": True,
                                "narOffset": 400,
                            },
                            soname: {"type": "symlink", "target": f"{soname}.0.{number % 5}"},
                            f"lib{number:05d}.so": {"type": "symlink", "target": soname},
                        },
                    },
                    "share": {"type": "directory", "entries": {}},
                },
            },
        }  # fmt: skip
        (directory / f"{basename[:32]}.ls").write_text(json.dumps(listing))
        paths.append(f"/nix/store/{basename}")
    listed = directory / "store-paths.xz"
    listed.write_bytes(lzma.compress("\n".join(paths).encode() + b"\n"))
    (directory / "nix-cache-info").write_text("StoreDir: /nix/store\n")
    return listed


#: Each measured step runs in its own interpreter and prints one JSON line.
_FLOOR = """
import json, sys, time, urllib.request, concurrent.futures, lzma, resource
base, listed = sys.argv[1], sys.argv[2]
lines = lzma.decompress(open(listed, "rb").read()).decode().split()
names = [line.rsplit("/", 1)[1][:32] for line in lines]
started = time.perf_counter()
def get(name):
    with urllib.request.urlopen(f"{base}/{name}.ls", timeout=30) as response:
        return len(response.read())
with concurrent.futures.ThreadPoolExecutor(8) as pool:
    total = sum(pool.map(get, names))
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": time.perf_counter() - started, "requests": len(names),
                  "bytes": total, "peak_rss_kib": peak}))
"""

_INDEX = """
import json, sys, time, resource
from autopatchelf.index.remote import RemoteIndex, RemoteSettings
base, listed, cache = sys.argv[1], sys.argv[2], sys.argv[3]
started = time.perf_counter()
remote = RemoteIndex(RemoteSettings(remote_paths=(listed,), substituters=(base,)),
                     is_local=lambda basename: False, cache_dir=cache)
seconds = time.perf_counter() - started
stats = remote.stats
found = len(remote.names())
remote.close()
print(json.dumps({"seconds": seconds, "requests": sum(stats.requests.values()),
                  "paths": stats.paths, "names": found,
                  "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def measure(script: str, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"benchmark step failed: {done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--paths", type=int, default=10_000)
    parser.add_argument("--json", metavar="OUT")
    args = parser.parse_args()
    from fixtures.remote import serve

    with tempfile.TemporaryDirectory() as work:
        cache_root = Path(work) / "cache"
        cache_root.mkdir()
        started = time.perf_counter()
        listed = write_cache(cache_root, args.paths)
        generated = time.perf_counter() - started
        with serve(cache_root) as base:
            floor = measure(_FLOOR, base, str(listed))
            index_cache = os.path.join(work, "index-cache")
            cold = measure(_INDEX, base, str(listed), index_cache)
            warm = measure(_INDEX, base, str(listed), index_cache)
    result = {
        "paths": args.paths,
        "generated_seconds": round(generated, 3),
        "floor": floor,
        "cold": cold,
        "warm": warm,
        "cold_over_floor": round(cold["seconds"] / floor["seconds"], 2),
        "cold_paths_per_second": round(args.paths / cold["seconds"]),
    }
    print(
        f"{args.paths} store paths over http: floor {floor['seconds']:.2f} s "
        f"({floor['requests']} requests); cold index {cold['seconds']:.2f} s "
        f"({cold['requests']} requests, {result['cold_over_floor']}x the floor, "
        f"{result['cold_paths_per_second']} paths/s, peak RSS {cold['peak_rss_kib'] // 1024} MiB); "
        f"warm {warm['seconds']:.2f} s ({warm['requests']} requests, "
        f"peak RSS {warm['peak_rss_kib'] // 1024} MiB); {cold['names']} names"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
