"""Benchmark the store index: a cold index of >= 10,000 library files, then a warm re-open.

The store is a plain directory of ``<hash>-<name>-<version>`` paths built from the host's
real libraries (hard links where possible), generated once and reused::

    python benchmarks/bench_index.py [--files N] [--runs 3] [--json OUT] [--store DIR]
                                     [--workers N]

Cold = empty cache: every library is read with the real ELF reader (a hard-linked inode
once). Warm = the same store again: nothing is read, the index comes from the cache; then
36 sonames are looked up, as a solve would. Each phase runs in a process of its own, so
its peak RSS (``getrusage``) is its own. Files come from the OS page cache in both runs
(the store is hard links to a few hundred libraries). ``--files 100000`` makes a
100k-file store (20,000 store paths) for the flat-memory check.

The cold build and its in-run baseline (the ELF reader alone over every library file)
run ``--runs`` times, in turn, each cold build into a new empty cache; ``cold_seconds``
and ``baseline_read_only_seconds`` are the medians (a single run on a shared machine
swings by 2x), ``cold_runs_seconds`` and ``baseline_runs_seconds`` every run.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autopatchelf.elf.facts import ElfFacts, ElfType
from autopatchelf.errors import ElfError
from autopatchelf.index import StoreIndex
from autopatchelf.index.parallel import default_workers

HOST_LIB_DIRS = ("/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib")
NIX_BASE32 = "0123456789abcdfghijklmnpqrsvwxyz"
LIBS_PER_PATH = 5
FORMAT = 2  # 2: probe store paths
NOT_ELF_NAME = "pkgconfig.txt"
#: Names the warm run asks for (about a 30-soname program's closure), each provided by
#: PROBE_PROVIDERS store paths whatever the store's size, as in a real store.
LOOKUP_SONAMES = 36
PROBE_PROVIDERS = 5


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
    for probe, version in itertools.product(range(LOOKUP_SONAMES), range(PROBE_PROVIDERS)):
        lib = store / f"{fake_hash(f'probe{probe}-{version}')[:32]}-probe{probe}-1.{version}/lib"
        lib.mkdir(parents=True)
        place(libraries[probe % len(libraries)][0], lib / probe_name(probe))
        made += 1
        paths += 1
    info = {"format": FORMAT, "files": made, "store_paths": paths, "distinct": len(libraries)}
    marker.write_text(json.dumps(info))
    return info


def default_store_dir(files: int) -> Path:
    """One generated store per size (a smaller run must not reuse a bigger store)."""
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "autopatchelf-bench" / f"store-{files}"


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MiB (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def phase_cold(store: str, cache: str, workers: int | None) -> dict[str, object]:
    """Index ``store`` into the empty ``cache`` (run in a process of its own)."""
    started = time.perf_counter()
    index = StoreIndex.open(store, cache_dir=cache, workers=workers)
    seconds = time.perf_counter() - started
    try:
        stats = index.stats
    finally:
        index.close()
    return {
        "seconds": seconds,
        "files": stats.files,
        "files_read": stats.files_read,
        "peak_rss_mb": peak_rss_mb(),
    }


def phase_warm(store: str, cache: str, names: list[str]) -> dict[str, object]:
    """Re-open, then ask for ``names`` as a solve would (nothing else: its peak RSS)."""
    started = time.perf_counter()
    with StoreIndex.open(store, cache_dir=cache) as index:
        opened = time.perf_counter()
        answered = 0
        for name in names:
            for candidate in index.candidates(name):
                answered += 1
                index.lookup(candidate.dirs[0], name)
        looked_up = time.perf_counter()
        files_read = index.stats.files_read
    return {
        "open_ms": (opened - started) * 1000,
        "lookup_ms": (looked_up - opened) * 1000,
        "answered": answered,
        "files_read": files_read,
        "peak_rss_mb": peak_rss_mb(),
    }


def phase_query_all(store: str, cache: str) -> dict[str, object]:
    """Every name's candidates (what a full listing costs; no solve does this)."""
    with StoreIndex.open(store, cache_dir=cache) as index:
        names = index.sonames()
        started = time.perf_counter()
        answered = sum(len(index.candidates(name)) for name in names)
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "answered": answered, "sonames": len(names)}


def run_phase(*args: str) -> dict[str, Any]:
    """Run one phase in a fresh interpreter (so that its peak RSS is its own)."""
    done = subprocess.run(
        [sys.executable, __file__, "--phase", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"phase {args[0]} failed:\n{done.stdout}{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


def phase_main(argv: list[str]) -> int:
    kind, store, cache, extra = argv[0], argv[1], argv[2], argv[3:]
    if kind == "cold":
        result = phase_cold(store, cache, int(extra[0]) if extra else None)
    elif kind == "warm":
        result = phase_warm(store, cache, extra)
    else:
        result = phase_query_all(store, cache)
    print(json.dumps(result))
    return 0


def read_all(files: list[str]) -> float:
    """Seconds the ELF reader alone takes over ``files``, in this process."""
    started = time.perf_counter()
    for path in files:
        ElfFacts.read(path)
    return time.perf_counter() - started


def probe_name(number: int) -> str:
    """A name the warm run looks up: PROBE_PROVIDERS store paths provide it."""
    return f"libprobe{number}.so.1"


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--phase":
        return phase_main(sys.argv[2:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000, help="library files (>= 10000)")
    parser.add_argument("--store", type=Path, help="the generated store (default: per size)")
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write results as JSON")
    parser.add_argument("--rebuild", action="store_true", help="regenerate the store")
    parser.add_argument(
        "--runs", type=int, default=3, help="cold builds and baseline passes, in turn (median)"
    )
    parser.add_argument(
        "--workers", type=int, help="reader processes for the cold run (default: one per CPU)"
    )
    args = parser.parse_args()
    store_dir: Path = args.store or default_store_dir(args.files)
    if args.rebuild and store_dir.exists():
        shutil.rmtree(store_dir)

    started = time.perf_counter()
    info = build_store(store_dir, args.files)
    generate_seconds = time.perf_counter() - started

    # In-run baseline: the ELF reader alone, in-process, over every library file once.
    files = sorted(
        str(lib / name)
        for lib in store_dir.glob("*/lib")
        for name in os.listdir(lib)
        if name != NOT_ELF_NAME and not (lib / name).is_symlink()
    )
    names = [probe_name(n) for n in range(LOOKUP_SONAMES)]
    store = str(store_dir)
    workers = [] if args.workers is None else [str(args.workers)]
    baseline_runs: list[float] = []
    colds: list[dict[str, Any]] = []
    for _ in range(max(1, args.runs) - 1):  # the last cold build is kept for the warm runs
        baseline_runs.append(read_all(files))
        with tempfile.TemporaryDirectory(prefix="bench-index-cache-") as cache:
            colds.append(run_phase("cold", store, cache, *workers))
    baseline_runs.append(read_all(files))
    with tempfile.TemporaryDirectory(prefix="bench-index-cache-") as cache:
        colds.append(run_phase("cold", store, cache, *workers))
        warm = run_phase("warm", store, cache, *names)
        query = run_phase("all", store, cache)
        cache_bytes = sum(p.stat().st_size for p in Path(cache).iterdir())

    cold_seconds = statistics.median(c["seconds"] for c in colds)
    baseline_read = statistics.median(baseline_runs)
    cold = {
        "files": colds[-1]["files"],
        "files_read": colds[-1]["files_read"],
        "peak_rss_mb": max(c["peak_rss_mb"] for c in colds),
    }
    if any((c["files"], c["files_read"]) != (cold["files"], cold["files_read"]) for c in colds):
        raise SystemExit(f"the cold builds differ: {colds}")
    warm_open = warm["open_ms"] / 1000
    results = {
        "store": store,
        "cpus": os.cpu_count(),
        "workers": args.workers or default_workers(),
        "store_paths": info["store_paths"],
        "library_files": cold["files"],
        "distinct_libraries": info["distinct"],
        "generate_seconds": round(generate_seconds, 3),
        "runs": len(colds),
        "cold_seconds": round(cold_seconds, 3),
        "cold_runs_seconds": [round(c["seconds"], 3) for c in colds],
        "cold_files_read": cold["files_read"],
        "cold_files_per_second": round(cold["files_read"] / cold_seconds),
        # Library files indexed per second: hard links to one inode are read once.
        "cold_indexed_per_second": round(cold["files"] / cold_seconds),
        "files_per_s": round(cold["files"] / cold_seconds),
        "cold_peak_rss_mb": cold["peak_rss_mb"],
        "baseline_read_only_seconds": round(baseline_read, 3),
        "baseline_runs_seconds": [round(s, 3) for s in baseline_runs],
        "baseline_files": len(files),
        "cold_over_read_only": round(cold_seconds / baseline_read, 2),
        "warm_seconds": round(warm_open, 3),
        "warm_open_ms": round(warm["open_ms"], 1),
        "warm_over_cold": round(warm_open / cold_seconds, 4),
        "warm_files_read": warm["files_read"],
        "warm_peak_rss_mb": warm["peak_rss_mb"],
        "lookup_sonames": len(names),
        "warm_lookup_ms": round(warm["lookup_ms"], 1),
        "warm_lookup_candidates": warm["answered"],
        "warm_query_all_seconds": round(query["seconds"], 3),
        "warm_candidates_answered": query["answered"],
        "sonames": query["sonames"],
        "cache_bytes": cache_bytes,
    }
    width = max(map(len, results))
    for key, value in results.items():
        print(f"{key:<{width}}  {value}")
    if warm["files_read"]:
        print("ERROR: the warm run read ELF files", file=sys.stderr)
        return 1
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
