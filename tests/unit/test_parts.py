"""Parts of one shape are optimised once: each gets, in its own variables, the optimum
and alternatives an optimisation of its own finds."""

from __future__ import annotations

import os
import sys

from memstore import MemStore

from autopatchelf.options import GlibcPolicy
from autopatchelf.problem.build import build_problem
from autopatchelf.sat.decompose import Conditioner, Part
from autopatchelf.sat.encode import encode
from autopatchelf.sat.parts import PartOptimiser
from autopatchelf.sat.preferences import Preferences

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks"))
from bench_solve import synthetic


def _parts_of_benchmark(sonames: int) -> tuple[list[Part], dict[int, tuple[str, str]]]:
    root, source = synthetic(sonames, 4)
    problem = build_problem([root], source)
    enc = encode(problem, GlibcPolicy.STRICT, Preferences(), source.version_of)
    old, new = enc.glibc_vars.values()
    with Conditioner(enc.hard, enc.soft) as conditioner:
        case = conditioner.condition((old, -new), held=enc.assumptions())
    assert case is not None
    choices = {var: key for key, var in enc.choices.items()}
    return [part for part in case.parts if part.hard], choices


def test_chains_of_one_shape_are_solved_once_with_each_chains_own_optimum() -> None:
    parts, choices = _parts_of_benchmark(40)
    shared = PartOptimiser(choices)
    together = [shared.optimum(part, 8) for part in parts]
    # Four chains of ten: one RC2, three answers handed out again.
    assert (len(parts), shared.solved, shared.reused) == (4, 1, 3)
    alone = [PartOptimiser(choices).optimum(part, 8) for part in parts]
    assert together == alone
    for part, found in zip(parts, together, strict=True):
        assert found is not None
        cost, model, _ = found
        assert cost > 0  # the newest releases are out under the older glibc
        # Each model is the part's own: its variables, every one of them decided.
        assert {abs(lit) for lit in model} == set(part.variables)
    # Different chains choose different files (their own sonames).
    chosen = [{choices[lit] for lit in found[1] if lit in choices} for found in together if found]
    assert all(a.isdisjoint(b) for i, a in enumerate(chosen) for b in chosen[i + 1 :])


def test_tied_parts_of_one_shape_each_keep_their_own_alternatives() -> None:
    store = MemStore()
    store.glibc("glibc-2.36")
    for name in ("liba", "libb", "libc2"):
        for fork in ("", "-fork"):
            store.library(
                f"{name}{fork}-1.0", f"{name}.so.1", needs=("libc.so.6",), refs=("glibc-2.36",)
            )
    program = store.program(
        "/app/bin/tool", needs=("liba.so.1", "libb.so.1", "libc2.so.1", "libc.so.6")
    )
    solution = store.solve([program])
    assert [alt.name for alt in solution.alternatives] == ["liba.so.1", "libb.so.1", "libc2.so.1"]
    for alt in solution.alternatives:
        assert os.path.basename(alt.chosen) == alt.name
        assert len(alt.others) == 1 and alt.others[0] != alt.chosen
        assert f"/{alt.name.split('.')[0]}" in alt.others[0]
