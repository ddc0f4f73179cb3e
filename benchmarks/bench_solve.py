"""Benchmark the resolver: solve time against problem size, and a greedy baseline.

    python benchmarks/bench_solve.py [--sizes 50,200,500,1000,1500,5000] [--candidates 5]
                                     [--json OUT] [--no-scenarios]

1. Scaling, on synthetic stores held in memory (facts built directly, no ELF files): a
   root needs N sonames; each has K candidates (K releases, one store path each). Release
   k of soname i depends on release k of soname i+1 (chains of ten, fixed through its
   RUNPATH, as in Nix), the newest release of every soname is built against a newer glibc,
   and every seventh soname's newest release lacks a version the root needs. The one
   glibc rule then forbids the newest release everywhere: an optimum that no per-soname
   rule finds. Reported: build+encode+solve seconds per size and its peak RSS, the greedy
   first-match baseline's time on the same inputs, whether each answer is consistent, and
   the optimiser alone against one RC2 over the whole formula (the baseline it replaced;
   up to ``--whole-max`` sonames): both times and whether the optimum is the same.
2. Scenarios, when the real fixture store can be built (Nix, root): every fixture
   scenario solved by the resolver and by greedy first-match, each answer *run* through
   ld.so; reported: how many each gets right.

Ratios against the greedy baseline measured in the same run are what to compare.
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from typing import Any

import attrs
from pysat.examples.rc2 import RC2Stratified
from pysat.formula import WCNF

from autopatchelf.elf import (
    DynamicSymbols,
    ElfClass,
    ElfFacts,
    ElfType,
    Endian,
    VersionDefinition,
    VersionNeed,
    VersionRequirement,
)
from autopatchelf.errors import Unsatisfiable
from autopatchelf.options import GlibcPolicy
from autopatchelf.problem.build import build_problem
from autopatchelf.sat.encode import Encoding, encode
from autopatchelf.sat.optimize import Optimiser
from autopatchelf.sat.preferences import Preferences
from autopatchelf.solution.greedy import greedy_first_match
from autopatchelf.solution.solve import solve_problem

STORE = "/bench/store"
GLIBC_OLD = f"{STORE}/00000000000000000000000000000001-glibc-2.36"
GLIBC_NEW = f"{STORE}/00000000000000000000000000000002-glibc-2.41"


@attrs.frozen
class MemFile:
    path: str
    store_path: str
    facts: ElfFacts = attrs.field(eq=False)


def _vdef(names: Sequence[str]) -> tuple[VersionDefinition, ...]:
    return tuple(VersionDefinition(n, 0, i + 2, base=False) for i, n in enumerate(names))


def _facts(
    path: str,
    soname: str | None,
    needed: Sequence[str],
    runpath: str | None,
    defs: Sequence[str] = (),
    needs: Sequence[VersionNeed] = (),
    interpreter: str | None = None,
) -> ElfFacts:
    return ElfFacts(
        path=path,
        elf_class=ElfClass.ELF64,
        endian=Endian.LITTLE,
        machine=62,
        osabi=0,
        type=ElfType.PIE if interpreter else ElfType.SHARED,
        interpreter=interpreter,
        soname=soname,
        needed=tuple(needed),
        rpath=None,
        runpath=runpath,
        flags=0,
        flags_1=0,
        version_needs=tuple(needs),
        version_defs=_vdef(defs),
        symbols=DynamicSymbols.empty(path),
    )


class MemorySource:
    """A synthetic store held in memory, answering the resolver's LibrarySource protocol.

    Like the store index, it keeps the answers it has worked out (each name's sorted
    candidates, each store path's closure): what is timed is the resolver, not the
    walks of a stand-in source."""

    def __init__(self) -> None:
        self.by_name: dict[str, list[MemFile]] = {}
        self.by_dir: dict[str, dict[str, MemFile]] = {}
        self.refs: dict[str, set[str]] = {}
        self._sorted: dict[str, list[MemFile]] = {}
        self._closures: dict[str, frozenset[str]] = {}

    def add(self, store_path: str, facts: ElfFacts, refs: Sequence[str] = ()) -> None:
        f = MemFile(facts.path, store_path, facts)
        name = os.path.basename(facts.path)
        self.by_name.setdefault(name, []).append(f)
        self.by_dir.setdefault(os.path.dirname(facts.path), {})[name] = f
        self.refs.setdefault(store_path, set()).update(refs)
        self._sorted.clear()
        self._closures.clear()

    def candidates(self, name: str) -> list[MemFile]:
        found = self._sorted.get(name)
        if found is None:
            found = self._sorted[name] = sorted(self.by_name.get(name, []), key=lambda f: f.path)
        return list(found)

    def lookup(self, directory: str, name: str) -> MemFile | None:
        return self.by_dir.get(directory, {}).get(name)

    def entry_names(self, directory: str) -> list[str]:
        return sorted(self.by_dir.get(directory, {}))

    def resolve_needed(self, file: Any, name: str) -> MemFile | None:
        for d in (file.facts.runpath or "").split(":"):
            hit = self.lookup(d, name)
            if hit is not None:
                return hit
        return None

    def closure(self, store_path: str) -> frozenset[str]:
        known = self._closures.get(store_path)
        if known is not None:
            return known
        seen, todo = {store_path}, [store_path]
        while todo:
            for ref in self.refs.get(todo.pop(), ()):
                if ref not in seen:
                    seen.add(ref)
                    todo.append(ref)
        known = self._closures[store_path] = frozenset(seen)
        return known

    def is_store_path(self, path: str) -> bool:
        return path.startswith(STORE + "/")

    def names(self) -> list[str]:
        return sorted(self.by_name)

    def version_of(self, store_path: str) -> tuple[object, ...]:
        version = store_path.rsplit("-", 1)[-1]
        return tuple(int(p) for p in version.split("."))

    def label(self, store_path: str) -> str:
        return os.path.basename(store_path)[33:]

    def substitute(self, store_path: str) -> None:
        return None  # every path is "in the store": nothing to download

    def rejected(self, name: str) -> tuple[tuple[str, str], ...]:
        return ()

    def verdicts(self) -> None:
        return None  # nothing is kept between runs


def synthetic(n: int, k: int) -> tuple[ElfFacts, MemorySource]:
    src = MemorySource()
    for glibc, top in ((GLIBC_OLD, 36), (GLIBC_NEW, 41)):
        versions = [f"GLIBC_2.{v}" for v in range(2, top + 1)]
        src.add(glibc, _facts(f"{glibc}/lib/libc.so.6", "libc.so.6", [], None, versions))
        src.add(
            glibc,
            _facts(f"{glibc}/lib/ld-linux-x86-64.so.2", "ld-linux-x86-64.so.2", [], None, versions),
        )
    for i in range(n):
        for rel in range(k):
            sp = f"{STORE}/{i:016d}{rel:016d}-libs{i}-{rel + 1}.0"
            glibc = GLIBC_NEW if rel == k - 1 else GLIBC_OLD
            needed, runpath, refs = ["libc.so.6"], [f"{glibc}/lib"], [glibc]
            if i % 10 != 9 and i + 1 < n:
                dep = f"{STORE}/{i + 1:016d}{rel:016d}-libs{i + 1}-{rel + 1}.0"
                needed.insert(0, f"libs{i + 1}.so.1")
                runpath.insert(0, f"{dep}/lib")
                refs.append(dep)
            defs = ["LIBS_1"] if (rel == k - 1 and i % 7 == 3) else ["LIBS_1", "LIBS_2"]
            src.add(
                sp,
                _facts(f"{sp}/lib/libs{i}.so.1", f"libs{i}.so.1", needed, ":".join(runpath), defs),
                refs,
            )
    needs = [
        VersionNeed(f"libs{i}.so.1", (VersionRequirement("LIBS_2", 0, False, 10),))
        for i in range(n)
    ]
    needs.append(VersionNeed("libc.so.6", (VersionRequirement("GLIBC_2.34", 0, False, 11),)))
    root = _facts(
        "/bench/app",
        None,
        [*(f"libs{i}.so.1" for i in range(n)), "libc.so.6"],
        None,
        needs=needs,
        interpreter="/lib64/ld-linux-x86-64.so.2",
    )
    return root, src


def consistent(mapping: dict[str, str], src: MemorySource) -> bool:
    """One glibc, and every chosen library's closure agrees with the mapping."""
    glibcs = {p.rsplit("/lib/", 1)[0] for n, p in mapping.items() if n == "libc.so.6"}
    for name, path in mapping.items():
        f = src.lookup(os.path.dirname(path), name)
        if f is None:
            return False
        if "LIBS_2" not in f.facts.defined_versions and name.startswith("libs"):
            return False
        for dep in f.facts.needed:
            fixed = src.resolve_needed(f, dep)
            if fixed is not None and mapping.get(dep) != fixed.path:
                return False
    return len(glibcs) == 1


def scaling(sizes: Sequence[int], k: int, whole_max: int) -> list[dict[str, Any]]:
    rows = []
    context = multiprocessing.get_context("fork")
    for n in sizes:
        # Each size in its own process: its peak RSS is its own.
        with context.Pool(1) as pool:
            row = pool.apply(_measure, (n, k, n <= whole_max))
        rows.append(row)
        whole = (
            f"  whole-formula RC2 {row['whole_rc2_s']:7.3f}s (optimise x"
            f"{row['ratio_optimise_to_whole']:.3f}, same optimum={row['same_optimum']})"
            if row["whole_rc2_s"] is not None
            else ""
        )
        print(
            f"{n:5d} x {k}: solve {row['solve_s']:7.3f}s  greedy {row['greedy_s']:7.3f}s  "
            f"(x{row['ratio_solve_to_greedy']:.1f})  solver ok={row['solver_consistent']}  "
            f"greedy ok={row['greedy_consistent']}  peak {row['peak_rss_mib']:.0f} MiB  "
            f"(build {row['build_s']:.3f}s, encode {row['encode_s']:.3f}s, optimise "
            f"{row['optimise_s']:.3f}s, {row['parts_solved']} parts solved, "
            f"{row['parts_reused']} of a shape met before; every part solved: "
            f"{row['solve_distinct_s']:.3f}s){whole}"
        )
    return rows


def _measure(n: int, k: int, with_whole: bool) -> dict[str, Any]:
    root, src = synthetic(n, k)
    started = time.perf_counter()
    solution = solve_problem([root], src)
    solve_s = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    greedy = greedy_first_match([root], src)
    greedy_s = time.perf_counter() - started
    # The solve's stages again, one by one (the cyclic collector paused, as in the solve):
    # the optimiser alone is then held against one RC2 over the whole formula (what it
    # did before it conditioned on the glibc and split the formula): same encoding, same
    # optimum.
    gc.disable()
    started = time.perf_counter()
    problem = build_problem([root], src)
    build_s = time.perf_counter() - started
    started = time.perf_counter()
    enc = encode(problem, GlibcPolicy.STRICT, Preferences(), src.version_of)
    encode_s = time.perf_counter() - started
    started = time.perf_counter()
    with Optimiser(enc) as optimiser:
        best = optimiser.optimise()
        parts = (optimiser.parts_solved, optimiser.parts_reused)
    assert best is not None
    optimise_s = time.perf_counter() - started
    # Parts of one shape are solved once: the benchmark's chains are all alike, most real
    # stores' parts are not. The same optimisation with every part solved is that case.
    started = time.perf_counter()
    with Optimiser(enc, reuse_shapes=False) as optimiser:
        distinct = optimiser.optimise()
    optimise_distinct_s = time.perf_counter() - started
    assert distinct is not None and distinct.choices == best.choices
    gc.enable()
    whole_s: float | None = None
    same: bool | None = None
    if with_whole:
        started = time.perf_counter()
        cost, chosen = whole_formula_optimum(enc)
        whole_s = time.perf_counter() - started
        same = cost == best.cost and whole_formula_optimum(enc, best.choices)[0] == cost
        same = same and consistent(dict(chosen), src)
    return {
        "sonames": n,
        "candidates": k,
        "solve_s": round(solve_s, 4),
        "greedy_s": round(greedy_s, 4),
        "ratio_solve_to_greedy": round(solve_s / greedy_s, 2),
        "solver_consistent": consistent(dict(solution.choices), src),
        "greedy_consistent": consistent(greedy, src),
        "peak_rss_mib": round(peak, 1),
        "build_s": round(build_s, 4),
        "encode_s": round(encode_s, 4),
        "optimise_s": round(optimise_s, 4),
        "parts_solved": parts[0],
        "parts_reused": parts[1],
        "optimise_distinct_s": round(optimise_distinct_s, 4),
        #: The solve with every part solved by RC2 (as when no two parts are alike).
        "solve_distinct_s": round(solve_s - optimise_s + optimise_distinct_s, 4),
        "whole_rc2_s": None if whole_s is None else round(whole_s, 4),
        "ratio_optimise_to_whole": None if whole_s is None else round(optimise_s / whole_s, 4),
        "same_optimum": same,
    }


def whole_formula_optimum(
    enc: Encoding, fixed: frozenset[tuple[str, str]] = frozenset()
) -> tuple[int, frozenset[tuple[str, str]]]:
    """The baseline: one stratified RC2 over every clause (``fixed`` choices forced)."""
    wcnf = WCNF()
    for clause in enc.hard:
        wcnf.append(clause)
    for sel in sorted(enc.selectors):
        wcnf.append([sel])
    for key in sorted(fixed):
        wcnf.append([enc.choices[key]])
    for clause, weight in enc.soft:
        wcnf.append(clause, weight=weight)
    with RC2Stratified(wcnf, solver="g4") as rc2:
        model = rc2.compute()
        if model is None:
            raise RuntimeError("unsatisfiable benchmark problem")
        true = {lit for lit in model if lit > 0}
        chosen = frozenset(key for key, var in enc.choices.items() if var in true)
        return int(rc2.cost), chosen


def scenarios() -> dict[str, Any] | None:
    """Solve and greedy-pick every fixture scenario, then run both answers."""
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
    try:
        from fixtures import SCENARIOS, build_fixture_store
        from fixtures.policy import fixture_store_unavailable_reason
    except ImportError:
        return None
    if fixture_store_unavailable_reason() is not None:
        return None
    from autopatchelf.actions.launch import loader_command
    from autopatchelf.index import StoreIndex
    from autopatchelf.problem.from_index import IndexSource

    fx = build_fixture_store()
    results = {"solver": 0, "greedy": 0, "scenarios": 0, "detail": {}}
    with (
        tempfile.TemporaryDirectory() as tmp,
        StoreIndex.open(
            within=[str(p) for p in fx.providers()], cache_dir=os.path.join(tmp, "cache")
        ) as index,
    ):
        source = IndexSource(index)
        for name, sc in SCENARIOS.items():
            if not sc.satisfiable or sc.library:
                continue
            app = str(fx.apps[name])
            results["scenarios"] += 1
            try:
                solution = solve_problem([app], source)
                argv = (
                    loader_command(solution, app, sc.args, link_dir=None)
                    if not solution.needs_link_dir
                    else None
                )
                solver_ok = argv is not None and _runs(argv)
            except Unsatisfiable:
                solver_ok = False
            greedy = greedy_first_match([app], source)
            links = os.path.join(tmp, f"links-{name}")
            os.mkdir(links)
            for soname, path in greedy.items():
                os.symlink(path, os.path.join(links, soname))
            libc = greedy.get("libc.so.6", "")
            loader = os.path.join(os.path.dirname(libc), "ld-linux-x86-64.so.2")
            greedy_ok = _runs([loader, "--library-path", links, app, *sc.args])
            results["solver"] += solver_ok
            results["greedy"] += greedy_ok
            results["detail"][name] = {"solver": solver_ok, "greedy": greedy_ok}
            print(
                f"  {name:16s} solver {'ok ' if solver_ok else 'BAD'}  "
                f"greedy {'ok' if greedy_ok else 'BAD'}"
            )
    print(
        f"scenarios run-checked: solver {results['solver']}/{results['scenarios']}, "
        f"greedy {results['greedy']}/{results['scenarios']}"
    )
    return results


def _runs(argv: list[str]) -> bool:
    done = subprocess.run(argv, capture_output=True, env={"LD_BIND_NOW": "1"}, check=False)
    return done.returncode == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="50,200,500,1000,1500,5000")
    parser.add_argument("--candidates", type=int, default=5)
    parser.add_argument(
        "--whole-max",
        type=int,
        default=1500,
        help="largest size also optimised by one RC2 over the whole formula (the baseline)",
    )
    parser.add_argument("--json")
    parser.add_argument("--no-scenarios", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    report: dict[str, Any] = {"scaling": scaling(sizes, args.candidates, args.whole_max)}
    if not args.no_scenarios:
        report["scenarios"] = scenarios()
    if args.json:
        with open(args.json, "w") as out:
            json.dump(report, out, indent=2)


if __name__ == "__main__":
    main()
