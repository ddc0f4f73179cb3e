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

from collections.abc import Sequence

import attrs
from pysat.solvers import Solver

from autopatchelf.frozen import Record

SoftClause = tuple[tuple[int, ...], int]


@attrs.frozen(repr=False)
class Part(Record):
    """A connected component of what is left: its hard and soft clauses."""

    hard: tuple[tuple[int, ...], ...]
    soft: tuple[SoftClause, ...]
    #: Its variables, sorted.
    variables: tuple[int, ...]


@attrs.frozen(repr=False)
class Case(Record):
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
        # The formula's units (few: its foreign files) are set apart, the rest kept.
        units = {clause[0] for clause in hard if len(clause) == 1}
        self.hard = [clause for clause in hard if len(clause) > 1]
        self.soft = [(tuple(c), w) for c, w in soft]
        # The solver reports what it derives from assumptions, not the formula's own
        # units: those are passed as assumptions instead.
        self.units = frozenset(units)
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
    unsatisfied, untouched = implied.isdisjoint, false.isdisjoint
    rest: list[tuple[int, ...]] = []
    keep = rest.append
    for clause in hard:
        if not unsatisfied(clause):
            continue
        if untouched(clause):  # most clauses left: kept as they are (no filtered copy)
            keep(tuple(clause))
            continue
        left = tuple([lit for lit in clause if lit not in false])
        if not left:  # pragma: no cover - propagation would have found the conflict
            return None
        keep(left)
    rest_soft: list[SoftClause] = []
    cost = 0
    for clause, weight in soft:
        if not implied.isdisjoint(clause):
            continue
        left = clause
        if not false.isdisjoint(clause):
            left = tuple([lit for lit in clause if lit not in false])
        if left:
            rest_soft.append((left, weight))
        else:
            cost += weight
    return Case(assumptions, implied, cost, _components(rest, rest_soft))


def _components(hard: list[tuple[int, ...]], soft: list[SoftClause]) -> tuple[Part, ...]:
    """The connected components of the clauses' variables (union-find with path
    halving), each part's clauses in their given order, the parts by their first
    variable."""
    # The loops are written out (no helper call per literal): they run once per literal
    # of the formula, the bulk of the conditioning's time.
    parent: dict[int, int] = {}
    setdefault = parent.setdefault
    for clause in _linking(hard, soft):
        first = 0
        for lit in clause:
            var = lit if lit > 0 else -lit
            up = setdefault(var, var)
            while up != var:  # find var's root, halving the path
                grand = parent[up]
                parent[var] = grand
                var, up = up, grand
            if not first:
                first = var
            elif var != first:
                parent[var] = first
    # Each variable's root (under both signs), and each root's variables in order of
    # first appearance.
    for clause, _ in soft:  # a unit soft clause links nothing: its variable joins alone
        if len(clause) == 1:
            lit = clause[0]
            setdefault(lit if lit > 0 else -lit, lit if lit > 0 else -lit)
    root_of: dict[int, int] = {}
    members: dict[int, list[int]] = {}
    for var, above in parent.items():
        root, up = var, above
        while up != root:
            root, up = up, parent[up]
        root_of[var] = root_of[-var] = root
        if root in members:
            members[root].append(var)
        else:
            members[root] = [var]
    hard_of: dict[int, list[tuple[int, ...]]] = {root: [] for root in members}
    soft_of: dict[int, list[SoftClause]] = {root: [] for root in members}
    for clause in hard:
        hard_of[root_of[clause[0]]].append(clause)
    for item in soft:
        soft_of[root_of[item[0][0]]].append(item)
    parts = [
        Part(hard=tuple(hard_of[root]), soft=tuple(soft_of[root]), variables=tuple(sorted(own)))
        for root, own in members.items()
    ]
    parts.sort(key=lambda part: part.variables[0])
    return tuple(parts)


def _linking(hard: list[tuple[int, ...]], soft: list[SoftClause]) -> list[tuple[int, ...]]:
    """The clauses that can link variables: the hard ones and soft ones of two or more
    literals (in the encoding every soft clause is a unit: no copy is made then)."""
    longer = [clause for clause, _ in soft if len(clause) > 1]
    return [*hard, *longer] if longer else hard
