"""Optimise one part of a conditioned formula (:class:`~autopatchelf.sat.decompose.Part`)
alone, and hand out again the optimum of a part already solved in the same shape.

A part's variables are renumbered from 1, in their order, before it is solved: a
solver's model (and RC2's work per model) is as long as the highest variable number,
which would otherwise be the whole encoding's. Parts of one formula are often the same
formula once renumbered (a program's sonames in chains of the same length, each soname
with the same candidate releases: the benchmark's 150 chains of ten are one shape). Every
step of the optimisation below, RC2 included, is a deterministic function of that
renumbered formula and of which of its variables are choices: a part of a shape solved
before gets that shape's optimum, its alternatives and its cost, in its own numbers,
without a solver: the answer RC2 would have given it.
"""

from __future__ import annotations

from collections.abc import Container, Sequence

from pysat.examples.rc2 import RC2Stratified
from pysat.formula import WCNF

from autopatchelf.sat.decompose import Part

_MAXSAT_SOLVER = "g4"

#: A part's optimum: its cost, an optimal model and other models of that cost whose
#: choices differ (each a set of literals).
PartOptimum = tuple[int, frozenset[int], list[frozenset[int]]]

#: A part's optimum in its renumbered variables: cost, model, other models.
_LocalOptimum = tuple[int, tuple[int, ...], tuple[tuple[int, ...], ...]]

#: What a renumbered part's optimum is a function of: its hard clauses, its soft clauses
#: and their weights, its variable count, which of its variables are choices, and how
#: many alternatives are looked for.
_Shape = tuple[
    tuple[tuple[int, ...], ...],
    tuple[tuple[int, ...], ...],
    tuple[int, ...],
    int,
    frozenset[int],
    int,
]


class PartOptimiser:
    """Optimal models of parts, each shape solved once (by stratified RC2 over Glucose
    4); ``choices``: the variables whose true literals make a choice set (alternatives
    differ in them)."""

    def __init__(self, choices: Container[int], *, reuse: bool = True) -> None:
        self._choices = choices
        self._reuse = reuse
        self._solved: dict[_Shape, _LocalOptimum | None] = {}
        #: How many parts were solved, and how many were a shape solved before.
        self.solved = 0
        self.reused = 0

    def optimum(self, part: Part, max_alternatives: int) -> PartOptimum | None:
        """``part``'s optimal cost and model, and up to ``max_alternatives`` other models
        of that cost (with other choices); ``None`` if its hard clauses cannot hold."""
        variables = part.variables
        local = _local_numbers(variables)
        renumber = local.__getitem__
        choices = self._choices
        shape: _Shape = (
            tuple([tuple(map(renumber, clause)) for clause in part.hard]),
            tuple([tuple(map(renumber, clause)) for clause, _ in part.soft]),
            tuple([weight for _, weight in part.soft]),
            len(variables),
            frozenset(i for i, var in enumerate(variables, start=1) if var in choices),
            max_alternatives,
        )
        if self._reuse and shape in self._solved:
            self.reused += 1
            found = self._solved[shape]
        else:
            self.solved += 1
            found = self._solved[shape] = _solve(shape)
        if found is None:
            return None
        cost, best, others = found
        return cost, _global(best, variables), [_global(o, variables) for o in others]


def _solve(shape: _Shape) -> _LocalOptimum | None:
    """The optimum of a renumbered part, and other models of its cost: models are
    enumerated by blocking the choices of the last one found."""
    hard, soft, weights, size, choices, max_alternatives = shape
    wcnf = WCNF()  # filled directly: WCNF.append rescans each clause for its top variable
    wcnf.hard = [list(clause) for clause in hard]
    wcnf.soft = [list(clause) for clause in soft]
    wcnf.wght = list(weights)
    wcnf.topw = 1 + sum(weights)
    wcnf.nv = size
    with RC2Stratified(wcnf, solver=_MAXSAT_SOLVER) as rc2:
        found = rc2.compute()
        if found is None:
            return None
        cost = int(rc2.cost)
        best = _own(found, size)
        others: list[tuple[int, ...]] = []
        first = _chosen(best, choices)
        seen = {first}
        block = sorted(-lit for lit in first)
        for _ in range(max_alternatives * 4):
            if len(others) >= max_alternatives or not block:
                break
            rc2.add_clause(block)
            other = rc2.compute()
            if other is None or int(rc2.cost) != cost:
                break
            model = _own(other, size)
            chosen = _chosen(model, choices)
            block = sorted(-lit for lit in chosen)
            if chosen not in seen:
                seen.add(chosen)
                others.append(model)
    return cost, best, tuple(others)


def _own(model: Sequence[int], size: int) -> tuple[int, ...]:
    """A model's literals of the part's own variables (RC2 adds its auxiliaries)."""
    return tuple(lit for lit in model if 0 < abs(lit) <= size)


def _chosen(model: tuple[int, ...], choices: frozenset[int]) -> frozenset[int]:
    """The true choice literals of ``model``."""
    return frozenset(lit for lit in model if lit > 0 and lit in choices)


def _local_numbers(variables: tuple[int, ...]) -> dict[int, int]:
    """Each literal of ``variables`` -> the same literal with the variables numbered 1, 2,
    ... in their order (both signs: one lookup per literal)."""
    local: dict[int, int] = {}
    for i, var in enumerate(variables, start=1):
        local[var] = i
        local[-var] = -i
    return local


def _global(model: tuple[int, ...], variables: tuple[int, ...]) -> frozenset[int]:
    """A renumbered model in the encoding's own variable numbers."""
    return frozenset(variables[lit - 1] if lit > 0 else -variables[-lit - 1] for lit in model)
