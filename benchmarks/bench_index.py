"""Benchmark the store index: a cold index of >= 10,000 library files, then a warm re-open.

The store is a plain directory of ``<hash>-<name>-<version>`` paths built from the host's
real libraries (hard links where possible), generated once and reused::

    python benchmarks/bench_index.py [--files N] [--json OUT] [--store DIR] [--workers N]

Cold = empty cache: every library is read with the real ELF reader. Warm = the same
store again: nothing is read, the index comes from the cache. Files come from the OS page
cache in both runs (the store is hard links to a few hundred libraries).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autopatchelf.elf.facts import ElfFacts, ElfType
from autopatchelf.errors import ElfError
from autopatchelf.index import StoreIndex
from autopatchelf.index.parallel import default_workers

HOST_LIB_DIRS = ("/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib")
NIX_BASE32 = "0123456789abcdfghijklmnpqrsvwxyz"
LIBS_PER_PATH = 5
FORMAT = 1
NOT_ELF_NAME = "pkgconfig.txt"


def fake_hash(seed: str) -> str:
    digest = hashlib.sha256(seed.encode()).digest()
    return "".join(NIX_BASE32[b % 32] for b in digest)


def host_libraries() -> list[tuple[str, str]]:
    """(real file, soname) of the host's shared libraries, deduplicated by real file."""
    found: dict[str, str] = {}
    for directory in HOST_LIB_DIRS:
        if not os.path.isdir(directory):
            continue
        for entry in sorted(os.scandir(directory), key=lambda e: e.name):
            if ".so" not in entry.name:
                continue
            real = os.path.realpath(entry.path)
            if real in found or not os.path.isfile(real):
                continue
            try:
                facts = ElfFacts.read(real)
            except (ElfError, OSError):
                continue
            if facts.type is ElfType.SHARED and facts.soname:
                found[real] = facts.soname
    return sorted(found.items())


def place(source: str, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def build_store(store: Path, files: int) -> dict[str, int]:
    """Make ``store`` hold at least ``files`` library files; reuse it if it already does."""
    marker = store / ".bench.json"
    if marker.exists():
        info = json.loads(marker.read_text())
        if info.get("format") == FORMAT and info.get("files", 0) >= files:
            return dict(info)
    if store.exists():
        shutil.rmtree(store)
    store.mkdir(parents=True)
    libraries = host_libraries()
    if not libraries:
        raise SystemExit("no host libraries found to build the benchmark store from")
    paths = -(-files // LIBS_PER_PATH)
    made = 0
    for number in range(paths):
        root = store / f"{fake_hash(f'path{number}')[:32]}-benchlib{number % 97}-1.{number}"
        lib = root / "lib"
        lib.mkdir(parents=True)
        for slot in range(LIBS_PER_PATH):
            source, soname = libraries[(number * LIBS_PER_PATH + slot) % len(libraries)]
            name = os.path.basename(source)
            if (lib / name).exists():
                continue
            place(source, lib / name)
            if soname != name and not (lib / soname).exists():
                (lib / soname).symlink_to(name)
            made += 1
        (lib / NOT_ELF_NAME).write_text("not ELF\n")
    info = {"format": FORMAT, "files": made, "store_paths": paths, "distinct": len(libraries)}
    marker.write_text(json.dumps(info))
    return info


def default_store_dir() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "autopatchelf-bench" / "store"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000, help="library files (>= 10000)")
    parser.add_argument("--store", type=Path, default=default_store_dir())
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write results as JSON")
    parser.add_argument("--rebuild", action="store_true", help="regenerate the store")
    parser.add_argument(
        "--workers", type=int, help="reader processes for the cold run (default: one per CPU)"
    )
    args = parser.parse_args()
    if args.rebuild and args.store.exists():
        shutil.rmtree(args.store)

    started = time.perf_counter()
    info = build_store(args.store, args.files)
    generate_seconds = time.perf_counter() - started

    # In-run baseline: the ELF reader alone, in-process, over every library file once.
    files = sorted(
        str(lib / name)
        for lib in args.store.glob("*/lib")
        for name in os.listdir(lib)
        if name != NOT_ELF_NAME and not (lib / name).is_symlink()
    )
    started = time.perf_counter()
    for path in files:
        ElfFacts.read(path)
    baseline_read = time.perf_counter() - started

    with tempfile.TemporaryDirectory(prefix="bench-index-cache-") as cache:
        started = time.perf_counter()
        with StoreIndex.open(str(args.store), cache_dir=cache, workers=args.workers) as index:
            cold = index.stats
        cold_seconds = time.perf_counter() - started

        started = time.perf_counter()
        with StoreIndex.open(str(args.store), cache_dir=cache) as index:
            warm = index.stats
            warm_open = time.perf_counter() - started
            names = index.sonames()
            query_started = time.perf_counter()
            answered = sum(len(index.candidates(name)) for name in names)
            query_seconds = time.perf_counter() - query_started
        cache_bytes = sum(p.stat().st_size for p in Path(cache).iterdir())

    results = {
        "store": str(args.store),
        "cpus": os.cpu_count(),
        "workers": args.workers or default_workers(),
        "store_paths": info["store_paths"],
        "library_files": cold.files,
        "distinct_libraries": info["distinct"],
        "generate_seconds": round(generate_seconds, 3),
        "cold_seconds": round(cold_seconds, 3),
        "cold_files_read": cold.files_read,
        "cold_files_per_second": round(cold.files_read / cold_seconds),
        # Library files indexed per second: hard links to one inode are read once.
        "cold_indexed_per_second": round(cold.files / cold_seconds),
        "baseline_read_only_seconds": round(baseline_read, 3),
        "baseline_files": len(files),
        "cold_over_read_only": round(cold_seconds / baseline_read, 2),
        "warm_seconds": round(warm_open, 3),
        "warm_over_cold": round(warm_open / cold_seconds, 4),
        "warm_files_read": warm.files_read,
        "warm_query_all_seconds": round(query_seconds, 3),
        "warm_candidates_answered": answered,
        "sonames": len(names),
        "cache_bytes": cache_bytes,
    }
    width = max(map(len, results))
    for key, value in results.items():
        print(f"{key:<{width}}  {value}")
    if warm.files_read:
        print("ERROR: the warm run read ELF files", file=sys.stderr)
        return 1
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
