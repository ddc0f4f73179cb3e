"""Split an encoding into independent parts once its glibc is fixed.

Almost every clause of a solve is local: a soname, its candidates, their closures. What
ties the whole problem together is the one glibc (every candidate's closure names one,
every libc candidate implies its ``G`` variable). Fixing the glibc and propagating its
consequences therefore leaves a formula that falls apart into connected components (for
a program with 1,500 sonames in chains of ten, 150 parts of ten). The optimum of the
whole, under that glibc, is the fixed part's cost plus each component's own optimum, so
each part can be optimised alone: the cores a MaxSAT solver finds stay inside one part,
and the work grows with the problem instead of with its square.

A :class:`Case` is one such conditioning: its assumptions, the literals they imply, the
cost of the soft clauses those literals already decide, and the remaining parts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import attrs
from pysat.solvers import Solver

SoftClause = tuple[tuple[int, ...], int]


@attrs.frozen
class Part:
    """A connected component of what is left: its hard and soft clauses."""

    hard: tuple[tuple[int, ...], ...]
    soft: tuple[SoftClause, ...]
    #: Its variables, sorted.
    variables: tuple[int, ...]


@attrs.frozen
class Case:
    """The formula under ``assumptions``: implied literals, decided cost, the parts."""

    assumptions: tuple[int, ...]
    #: Literals unit propagation derives from the assumptions (the assumptions included).
    implied: frozenset[int]
    #: Total weight of the soft clauses the implied literals falsify.
    cost: int
    parts: tuple[Part, ...]


class Conditioner:
    """Conditions one formula on several sets of assumptions (a context manager: it holds
    a SAT solver, used only for unit propagation, so no conditioning changes what a later
    one finds: one conditioner serves every solve of its formula)."""

    def __init__(
        self, hard: Sequence[Sequence[int]], soft: Sequence[tuple[Sequence[int], int]]
    ) -> None:
        """``hard`` clauses and ``soft`` (clause, weight) pairs."""
        self.hard = [c for c in hard if len(c) > 1]
        self.soft = [(tuple(c), w) for c, w in soft]
        # The solver reports what it derives from assumptions, not the formula's own
        # units: those are passed as assumptions instead.
        self.units = frozenset(c[0] for c in hard if len(c) == 1)
        self.solver = Solver(name="g4", bootstrap_with=self.hard)

    def __enter__(self) -> Conditioner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.solver.delete()

    def condition(self, assumptions: Sequence[int], held: Sequence[int] = ()) -> Case | None:
        """The formula under ``assumptions`` and the literals ``held`` with them (the
        encoding's selectors, negated where a solve sets a fact aside; not copied into a
        clause each): ``None`` when propagation already finds them contradictory."""
        units = self.units.union(held)
        if any(-lit in units for lit in assumptions):
            return None
        ok, implied_list = self.solver.propagate(assumptions=[*sorted(units), *assumptions])
        if not ok:
            return None
        return _simplified(self.hard, self.soft, tuple(assumptions), frozenset(implied_list))


def _simplified(
    hard: Sequence[Sequence[int]],
    soft: list[SoftClause],
    assumptions: tuple[int, ...],
    implied: frozenset[int],
) -> Case | None:
    false = frozenset(-lit for lit in implied)
    rest: list[tuple[int, ...]] = []
    for clause in hard:
        if not implied.isdisjoint(clause):
            continue
        left = tuple(lit for lit in clause if lit not in false)
        if not left:  # pragma: no cover - propagation would have found the conflict
            return None
        rest.append(left)
    rest_soft: list[SoftClause] = []
    cost = 0
    for clause, weight in soft:
        if not implied.isdisjoint(clause):
            continue
        left = clause
        if not false.isdisjoint(clause):
            left = tuple(lit for lit in clause if lit not in false)
        if left:
            rest_soft.append((left, weight))
        else:
            cost += weight
    return Case(assumptions, implied, cost, _components(rest, rest_soft))


def _components(hard: list[tuple[int, ...]], soft: list[SoftClause]) -> tuple[Part, ...]:
    """The connected components of the clauses' variables (union-find, by size, with
    path halving)."""
    parent: dict[int, int] = {}
    size: dict[int, int] = {}

    def find(var: int) -> int:
        up = parent.get(var)
        if up is None:
            parent[var] = var
            size[var] = 1
            return var
        while up != var:
            grand = parent[up]
            parent[var] = grand
            var, up = up, grand
        return var

    for clause in _all_clauses(hard, soft):
        first = find(abs(clause[0]))
        for lit in clause[1:]:
            other = find(abs(lit))
            if other == first:
                continue
            if size[other] > size[first]:
                first, other = other, first
            parent[other] = first
            size[first] += size[other]
    root_of = {var: find(var) for var in parent}
    hard_of: dict[int, list[tuple[int, ...]]] = {}
    soft_of: dict[int, list[SoftClause]] = {}
    for clause in hard:
        hard_of.setdefault(root_of[abs(clause[0])], []).append(clause)
    for item in soft:
        soft_of.setdefault(root_of[abs(item[0][0])], []).append(item)
    vars_of: dict[int, list[int]] = {}
    for var, root in root_of.items():
        vars_of.setdefault(root, []).append(var)
    parts = [
        Part(
            hard=tuple(hard_of.get(root, ())),
            soft=tuple(soft_of.get(root, ())),
            variables=tuple(sorted(members)),
        )
        for root, members in vars_of.items()
    ]
    parts.sort(key=lambda part: part.variables[0])
    return tuple(parts)


def _all_clauses(
    hard: Iterable[tuple[int, ...]], soft: Iterable[SoftClause]
) -> Iterable[tuple[int, ...]]:
    yield from hard
    for clause, _ in soft:
        yield clause
