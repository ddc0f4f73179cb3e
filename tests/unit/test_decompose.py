"""The optimiser conditions on the glibc and optimises independent parts alone: the optimum
must be the one a single RC2 over the whole formula finds, on any problem."""

from __future__ import annotations

import os
import sys

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from memstore import MemStore
from pysat.examples.rc2 import RC2Stratified
from pysat.formula import WCNF

from autopatchelf.options import GlibcPolicy
from autopatchelf.sat.decompose import Conditioner
from autopatchelf.sat.encode import Encoding, encode
from autopatchelf.sat.optimize import check, optimise
from autopatchelf.sat.preferences import Preferences

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks"))
from bench_solve import synthetic


def whole_formula_optimum(enc: Encoding, fixed: frozenset[tuple[str, str]] = frozenset()) -> int:
    """The reference: one stratified RC2 over every clause (``fixed`` choices forced)."""
    wcnf = WCNF()
    for clause in enc.hard:
        wcnf.append(clause)
    for sel in enc.selectors:
        wcnf.append([sel])
    for key in fixed:
        wcnf.append([enc.choices[key]])
    for clause, weight in enc.soft:
        wcnf.append(clause, weight=weight)
    with RC2Stratified(wcnf, solver="g4") as rc2:
        assert rc2.compute() is not None
        return int(rc2.cost)


def assert_optimal(enc: Encoding) -> None:
    best = optimise(enc)
    assert best is not None
    reference = whole_formula_optimum(enc)
    assert best.cost == reference
    # The choices themselves reach that cost (and satisfy every hard clause).
    assert whole_formula_optimum(enc, best.choices) == reference
    for other in best.alternatives:
        assert whole_formula_optimum(enc, other) == reference


@st.composite
def random_store(draw: st.DrawFn) -> tuple[MemStore, list[str]]:
    """Sonames with several releases, some built on a newer glibc, some depending on the
    next soname's release, some lacking a version the program needs."""
    store = MemStore()
    store.glibc("glibc-2.36")
    two_glibcs = draw(st.booleans())
    if two_glibcs:
        store.glibc("glibc-2.41")
    count = draw(st.integers(1, 6))
    needs: list[str] = []
    made: set[str] = set()
    for i in reversed(range(count)):  # a dependency exists before its users
        soname = f"libs{i}.so.1"
        needs.append(soname)
        for release in range(1, draw(st.integers(1, 4)) + 1):
            glibc = "glibc-2.41" if two_glibcs and draw(st.booleans()) else "glibc-2.36"
            refs = [glibc]
            deps = ["libc.so.6"]
            if i + 1 < count and draw(st.booleans()):
                dep = f"libs{i + 1}-{draw(st.integers(1, 2))}.0"
                if dep in made:
                    refs.insert(0, dep)
                    deps.insert(0, f"libs{i + 1}.so.1")
            defines = ("S_1",) if draw(st.integers(0, 4)) == 0 else ("S_1", "S_2")
            store.library(f"libs{i}-{release}.0", soname, defines=defines, needs=deps, refs=refs)
            made.add(f"libs{i}-{release}.0")
    return store, needs


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_store(), st.sampled_from([GlibcPolicy.STRICT, GlibcPolicy.COMPATIBLE]))
def test_the_optimum_is_the_whole_formulas_on_random_problems(
    built: tuple[MemStore, list[str]], policy: GlibcPolicy
) -> None:
    store, needs = built
    program = store.program(
        "/app/bin/tool",
        needs=(*needs, "libc.so.6"),
        version_needs={name: ["S_2"] for name in needs},
    )
    problem = store.problem([program])
    enc = encode(problem, policy, Preferences(), store.version_of)
    if check(enc) is None:
        assert_optimal(enc)


def test_the_benchmark_problem_splits_into_chains_and_keeps_its_optimum() -> None:
    root, source = synthetic(40, 4)
    from autopatchelf.problem.build import build_problem

    problem = build_problem([root], source)
    enc = encode(problem, GlibcPolicy.STRICT, Preferences(), source.version_of)
    assert check(enc) is None
    with Conditioner(enc.hard, enc.soft) as conditioner:
        old, new = enc.glibc_vars.values()
        case = conditioner.condition((old, -new), held=enc.assumptions())
        assert case is not None
        # Chains of ten sonames: four parts with choices (and single store paths apart).
        big = [part for part in case.parts if len(part.variables) > 20]
        assert len(big) == 4
        # The newer glibc is refuted by propagation alone (every seventh soname's newest
        # release lacks LIBS_2, and the older ones are built on the older glibc).
        assert conditioner.condition((-old, new), held=enc.assumptions()) is None
    assert_optimal(enc)


def test_the_formulas_own_units_are_among_the_implied_literals() -> None:
    with Conditioner([[1], [-1, 2], [3, 4]], [([-2], 1), ([-3], 1)]) as conditioner:
        case = conditioner.condition(())
    assert case is not None
    assert {1, 2} <= case.implied
    assert case.cost == 1  # -2 is falsified by the units
    assert [part.hard for part in case.parts] == [((3, 4),)]


def test_ties_in_two_independent_parts_are_both_alternatives() -> None:
    store = MemStore()
    store.glibc("glibc-2.36")
    for name in ("liba", "libb"):
        store.library(f"{name}-1.0", f"{name}.so.1", needs=("libc.so.6",), refs=("glibc-2.36",))
        store.library(
            f"{name}-fork-1.0", f"{name}.so.1", needs=("libc.so.6",), refs=("glibc-2.36",)
        )
    program = store.program("/app/bin/tool", needs=("liba.so.1", "libb.so.1", "libc.so.6"))
    solution = store.solve([program])
    assert [alt.name for alt in solution.alternatives] == ["liba.so.1", "libb.so.1"]


def test_an_unsatisfiable_encoding_has_no_optimum_and_check_names_the_conflict() -> None:
    store = MemStore()
    store.glibc("glibc-2.36")
    store.library("libfoo-1.0", "libfoo.so.1", defines=("FOO_1",), needs=("libc.so.6",),
                  refs=("glibc-2.36",))  # fmt: skip
    program = store.program(
        "/app/bin/tool",
        needs=("libfoo.so.1", "libc.so.6"),
        version_needs={"libfoo.so.1": ["FOO_2"]},
    )
    enc = encode(store.problem([program]), GlibcPolicy.STRICT, Preferences(), store.version_of)
    assert optimise(enc) is None
    conflict = check(enc)
    assert conflict is not None and conflict.facts
