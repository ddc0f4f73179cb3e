"""Find the optimal model of an :class:`~autopatchelf.sat.encode.Encoding`, or a minimal
set of conflicting facts.

Satisfiability is checked first with every selector as an assumption (Glucose 4); an UNSAT
core is shrunk by deletion until every fact in it is needed. A satisfiable encoding is
optimised with stratified RC2 over Glucose 4; models tied at the optimum are enumerated by
blocking their choices, so callers can show alternatives.
"""

from __future__ import annotations

import attrs
from pysat.examples.rc2 import RC2Stratified
from pysat.formula import WCNF
from pysat.solvers import Solver

from autopatchelf.sat import facts as F
from autopatchelf.sat.encode import Encoding

_SAT_SOLVER = "g4"
_MAXSAT_SOLVER = "g4"


@attrs.frozen
class Optimum:
    #: Chosen (name, file) pairs.
    choices: frozenset[tuple[str, str]]
    glibc: str | None
    cost: int
    #: Other choice sets with the same cost (at most ``max_alternatives``).
    alternatives: tuple[frozenset[tuple[str, str]], ...]


@attrs.frozen
class Conflict:
    """A minimal set of facts that cannot all hold."""

    facts: tuple[F.Fact, ...]


def _minimise(enc: Encoding, core: list[int]) -> list[int]:
    """Deletion-based MUS extraction over selector literals."""
    kept = sorted(core)
    with Solver(name=_SAT_SOLVER, bootstrap_with=enc.hard) as solver:
        i = 0
        while i < len(kept):
            trial = kept[:i] + kept[i + 1 :]
            if solver.solve(assumptions=trial):
                i += 1  # kept[i] is needed
            else:
                smaller = solver.get_core() or trial
                keep = set(smaller)
                kept = [s for s in trial if s in keep]
                # kept[:i] were all needed and remain; continue at the same index
    return kept


def check(enc: Encoding) -> Conflict | None:
    """Return the conflict if the hard facts cannot all hold together, else None."""
    assumptions = sorted(enc.selectors)
    with Solver(name=_SAT_SOLVER, bootstrap_with=enc.hard) as solver:
        if solver.solve(assumptions=assumptions):
            return None
        core = solver.get_core() or assumptions
    minimal = _minimise(enc, list(core))
    return Conflict(tuple(enc.selectors[s] for s in minimal))


def optimise(enc: Encoding, *, max_alternatives: int = 8) -> Optimum:
    """Optimal choices of a satisfiable encoding (call :func:`check` first)."""
    wcnf = WCNF()
    for clause in enc.hard:
        wcnf.append(clause)
    for sel in sorted(enc.selectors):
        wcnf.append([sel])
    for clause, weight in enc.soft:
        wcnf.append(clause, weight=weight)
    x_items = sorted(enc.choices.items(), key=lambda kv: kv[1])
    if not enc.soft:  # nothing to optimise (no choice at all): RC2 needs a soft clause
        return _any_model(enc, x_items, max_alternatives)
    # Plain stratification over Glucose 4 measured fastest on 1,000 x 5 problems
    # (0.9 s, against 4.6 s with adapt/exhaust/minz); see benchmarks/bench_solve.py.
    with RC2Stratified(wcnf, solver=_MAXSAT_SOLVER) as rc2:
        model = rc2.compute()
        if model is None:  # pragma: no cover - check() ran first
            raise RuntimeError("hard clauses became unsatisfiable during optimisation")
        cost = int(rc2.cost)
        best = _project(model, x_items)
        glibc = _glibc(model, enc)
        alternatives: list[frozenset[tuple[str, str]]] = []
        seen = {best}
        block = [-enc.choices[c] for c in sorted(best)]
        for _ in range(max_alternatives * 4):
            if len(alternatives) >= max_alternatives or not block:
                break
            rc2.add_clause(block)
            other = rc2.compute()
            if other is None or int(rc2.cost) != cost:
                break
            chosen = _project(other, x_items)
            block = [-enc.choices[c] for c in sorted(chosen)]
            if chosen not in seen:
                seen.add(chosen)
                alternatives.append(chosen)
    return Optimum(best, glibc, cost, tuple(alternatives))


def _any_model(
    enc: Encoding, x_items: list[tuple[tuple[str, str], int]], max_alternatives: int
) -> Optimum:
    with Solver(name=_SAT_SOLVER, bootstrap_with=enc.hard) as solver:
        assumptions = sorted(enc.selectors)
        if not solver.solve(assumptions=assumptions):  # pragma: no cover - check() ran first
            raise RuntimeError("hard clauses became unsatisfiable during optimisation")
        model = solver.get_model() or []
        best = _project(model, x_items)
        glibc = _glibc(model, enc)
        alternatives: list[frozenset[tuple[str, str]]] = []
        chosen = best
        while len(alternatives) < max_alternatives and chosen:
            solver.add_clause([-enc.choices[c] for c in sorted(chosen)])
            if not solver.solve(assumptions=assumptions):
                break
            chosen = _project(solver.get_model() or [], x_items)
            alternatives.append(chosen)
    return Optimum(best, glibc, 0, tuple(alternatives))


def _project(
    model: list[int], x_items: list[tuple[tuple[str, str], int]]
) -> frozenset[tuple[str, str]]:
    true = {lit for lit in model if lit > 0}
    return frozenset(key for key, var in x_items if var in true)


def _glibc(model: list[int], enc: Encoding) -> str | None:
    true = {lit for lit in model if lit > 0}
    chosen = [g for g, var in enc.glibc_vars.items() if var in true]
    return chosen[0] if chosen else None
