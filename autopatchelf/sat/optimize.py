"""Find the optimal model of an :class:`~autopatchelf.sat.encode.Encoding`, or a minimal
set of conflicting facts.

Satisfiability is checked first with every selector as an assumption (Glucose 4); an UNSAT
core is shrunk by deletion until every fact in it is needed. The missing names a solve
allows are not re-encoded: their selectors are held false instead
(:meth:`~autopatchelf.sat.encode.Encoding.assumptions`), so one :class:`Optimiser` serves
every solve of an encoding that differs only in them (``check``'s rounds).

A satisfiable encoding is optimised one glibc at a time (:mod:`~autopatchelf.sat.decompose`):
with the glibc fixed, the formula falls apart into independent parts, and each part is
optimised alone with stratified RC2 over Glucose 4. The best glibc's total wins (ties: the
first glibc in the encoding's order, then no glibc). Models tied at a part's optimum are
enumerated by blocking that part's choices, so callers can show alternatives; another glibc
at the same total cost is an alternative too. Parts of one shape (the same formula once
renumbered) are optimised once (:mod:`~autopatchelf.sat.parts`).

What it answers depends only on the formula it is given, which is what lets
:mod:`~autopatchelf.sat.optimum` keep optima between runs by that formula's digest: a
change here that answers a formula differently must raise ``optimum.RULES``.

One RC2 over the whole formula (what this did before) finds about two cores per soname,
and its core bookkeeping is quadratic in their number: 1,500 sonames x 5 candidates took
9 s, of which 3 s in RC2's assumption filtering. Per part, the same problem is solved in
a fraction of that with the same optimum (see ``benchmarks/bench_solve.py``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

import attrs
from pysat.solvers import Solver

from autopatchelf.frozen import Record
from autopatchelf.sat import facts as F
from autopatchelf.sat.decompose import Case, Conditioner, Part
from autopatchelf.sat.encode import Encoding
from autopatchelf.sat.optimum import Optimum
from autopatchelf.sat.parts import PartOptimiser

_SAT_SOLVER = "g4"


@attrs.frozen(repr=False)
class Conflict(Record):
    """A minimal set of facts that cannot all hold."""

    facts: tuple[F.Fact, ...]


def _minimise(solver: Solver, core: list[int], off: list[int]) -> list[int]:
    """Deletion-based MUS extraction over selector literals (``off``: the selectors held
    false throughout), with the solver that found ``core``."""
    kept = sorted(core)
    i = 0
    while i < len(kept):
        trial = kept[:i] + kept[i + 1 :]
        if solver.solve(assumptions=trial + off):
            i += 1  # kept[i] is needed
        else:
            smaller = solver.get_core() or trial
            keep = set(smaller)
            kept = [s for s in trial if s in keep]
            # kept[:i] were all needed and remain; continue at the same index
    return kept


def _choose_first(solver: Solver, enc: Encoding) -> None:
    """Make the solver try "true" first for every variable: "this provider is chosen,
    this file is loaded". Glucose's default (false first) keeps declining every provider
    until a conflict: at 5,000 sonames a satisfiable check took 2.2 s (380,000 decisions,
    13.9 million propagations) instead of 0.03 s."""
    solver.set_phases(list(range(1, enc.top + 1)))


def check(enc: Encoding, allowed: Collection[str] = ()) -> Conflict | None:
    """Return the conflict if the hard facts cannot all hold together (with the
    ``allowed`` missing names set aside), else None."""
    assumptions = enc.assumptions(allowed)
    off = [s for s in assumptions if s < 0]
    held = [s for s in assumptions if s > 0]
    with Solver(name=_SAT_SOLVER, bootstrap_with=enc.hard) as solver:
        _choose_first(solver, enc)
        if solver.solve(assumptions=assumptions):
            return None
        core = solver.get_core() or held
        minimal = _minimise(solver, [s for s in core if s > 0], off)
    return Conflict(tuple(enc.selectors[s] for s in minimal))


def optimise(
    enc: Encoding, *, allowed: Collection[str] = (), max_alternatives: int = 8
) -> Optimum | None:
    """Optimal choices of an encoding with the ``allowed`` missing names set aside, or
    ``None`` when its hard facts cannot all hold (then :func:`check` says which conflict).
    (:meth:`Optimiser.optimise`, once.)"""
    with Optimiser(enc) as optimiser:
        return optimiser.optimise(allowed, max_alternatives=max_alternatives)


class Optimiser:
    """One encoding, optimised (and refuted) under any set of allowed missing names:
    solves that differ only in those share it, and its conditioner (unit propagation
    alone, so no solve changes what a later one finds). A context manager; :meth:`close`
    frees its solver."""

    def __init__(self, enc: Encoding, *, reuse_shapes: bool = True) -> None:
        self.enc = enc
        self._conditioner: Conditioner | None = None
        #: Hand a part of a shape solved before that shape's optimum (the default); off,
        #: every part is solved (the benchmark measures the cost of parts that all differ).
        self.reuse_shapes = reuse_shapes
        #: Parts solved by RC2, and parts of a shape solved before, over every optimise.
        self.parts_solved = 0
        self.parts_reused = 0

    def __enter__(self) -> Optimiser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Free the conditioner's solver (made again if the optimiser is used after)."""
        if self._conditioner is not None:
            self._conditioner.__exit__()
            self._conditioner = None

    def check(self, allowed: Collection[str] = ()) -> Conflict | None:
        """:func:`check` of the encoding."""
        return check(self.enc, allowed)

    def optimise(
        self, allowed: Collection[str] = (), *, max_alternatives: int = 8
    ) -> Optimum | None:
        """Optimal choices with the ``allowed`` missing names set aside, or ``None`` when
        the hard facts cannot all hold (then :meth:`check` says which conflict).

        Optimising first is the cheaper order: a satisfiable problem (the usual one) is
        never solved twice, and an unsatisfiable one is refuted by propagation or by its
        small parts quickly."""
        enc = self.enc
        x_items = sorted(enc.choices.items(), key=lambda kv: kv[1])
        held = enc.assumptions(allowed)
        if not enc.soft:  # nothing to optimise (no choice at all): any model will do
            return _any_model(enc, held, x_items, max_alternatives)
        if self._conditioner is None:
            self._conditioner = Conditioner(enc.hard, enc.soft)
        choice_vars = {var: key for key, var in x_items}
        # (a shape met under another glibc: solved once)
        parts = PartOptimiser(choice_vars, reuse=self.reuse_shapes)
        solved: list[_Solved] = []
        for assumptions in _glibc_cases(enc):
            case = self._conditioner.condition(assumptions, held)
            if case is not None:
                result = _solve_case(case, choice_vars, parts, max_alternatives)
                if result is not None:
                    solved.append(result)
        self.parts_solved += parts.solved
        self.parts_reused += parts.reused
        if not solved:
            return None
        best = min(solved, key=lambda s: s.cost)  # the first of equal costs: deterministic
        alternatives: list[frozenset[tuple[str, str]]] = []
        seen = {best.choices}
        tied = [s.choices for s in solved if s.cost == best.cost]
        for other in tied + list(best.alternatives):
            if len(alternatives) >= max_alternatives:
                break
            if other not in seen:
                seen.add(other)
                alternatives.append(other)
        return Optimum(best.choices, _glibc(best.model, enc), best.cost, tuple(alternatives))


@attrs.frozen(repr=False)
class _Solved(Record):
    """The optimum under one glibc case."""

    cost: int
    model: frozenset[int]
    choices: frozenset[tuple[str, str]]
    #: Other choice sets of the same cost (one part changed each).
    alternatives: tuple[frozenset[tuple[str, str]], ...]


def _glibc_cases(enc: Encoding) -> list[tuple[int, ...]]:
    """Each glibc alone (in the encoding's order), then none: the conditionings tried."""
    glibcs = list(enc.glibc_vars.values())
    cases = [tuple(g if g == chosen else -g for g in glibcs) for chosen in glibcs]
    cases.append(tuple(-g for g in glibcs))
    return cases


def _solve_case(
    case: Case,
    choice_vars: dict[int, tuple[str, str]],
    parts: PartOptimiser,
    max_alternatives: int,
) -> _Solved | None:
    model = set(case.implied)
    cost = case.cost
    part_alternatives: list[tuple[Part, list[frozenset[int]]]] = []
    plain: list[Part] = []
    for part in case.parts:
        if not part.soft:
            plain.append(part)
            continue
        found = _trivial_part(part) or parts.optimum(part, max_alternatives)
        if found is None:
            return None
        part_cost, part_model, others = found
        cost += part_cost
        model.update(part_model)
        if others:
            part_alternatives.append((part, others))
    if plain:
        plain_model = _any_part_model(plain)
        if plain_model is None:
            return None
        model.update(plain_model)
    choices = _choices(model, choice_vars)
    alternatives: list[frozenset[tuple[str, str]]] = []
    for part, others in part_alternatives:
        room = max_alternatives - len(alternatives)
        if room <= 0:
            break  # (each part's alternative is the whole model: not made past the limit)
        own = {*part.variables, *(-var for var in part.variables)}
        kept = model - own
        alternatives.extend(_choices(kept | other, choice_vars) for other in others[:room])
    return _Solved(cost, frozenset(model), choices, tuple(alternatives))


def _trivial_part(part: Part) -> tuple[int, frozenset[int], list[frozenset[int]]] | None:
    """The optimum of a part made of unit soft clauses alone (a store path no loaded file
    can pull in any more, say): each variable takes its heavier side."""
    if part.hard or any(len(clause) != 1 for clause, _ in part.soft):
        return None
    weight: dict[int, int] = {}
    for (lit,), w in part.soft:
        weight[lit] = weight.get(lit, 0) + w
    model = frozenset(
        var if weight.get(var, 0) >= weight.get(-var, 0) else -var for var in part.variables
    )
    return sum(w for lit, w in weight.items() if lit not in model), model, []


def _any_part_model(parts: Sequence[Part]) -> frozenset[int] | None:
    """A model of parts without soft clauses (independent: solved together)."""
    with Solver(name=_SAT_SOLVER, bootstrap_with=[c for p in parts for c in p.hard]) as solver:
        if not solver.solve():
            return None
        return frozenset(solver.get_model() or ())


def _choices(
    model: Iterable[int], choice_vars: dict[int, tuple[str, str]]
) -> frozenset[tuple[str, str]]:
    return frozenset(choice_vars[lit] for lit in model if lit > 0 and lit in choice_vars)


def _any_model(
    enc: Encoding,
    assumptions: list[int],
    x_items: list[tuple[tuple[str, str], int]],
    max_alternatives: int,
) -> Optimum | None:
    with Solver(name=_SAT_SOLVER, bootstrap_with=enc.hard) as solver:
        _choose_first(solver, enc)
        if not solver.solve(assumptions=assumptions):
            return None
        model = solver.get_model() or []
        best = _project(model, x_items)
        glibc = _glibc(frozenset(model), enc)
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


def _glibc(model: frozenset[int], enc: Encoding) -> str | None:
    """The glibc ``model`` chooses (the first in the encoding's order), if any."""
    chosen = [g for g, var in enc.glibc_vars.items() if var in model]
    return chosen[0] if chosen else None
