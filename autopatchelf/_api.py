"""The public entry point :func:`solve` (and the index it needs)."""

from __future__ import annotations

import os
from collections.abc import Sequence

import attrs

from autopatchelf.elf.facts import ElfFacts
from autopatchelf.index import StoreIndex
from autopatchelf.ldso.load import load_role
from autopatchelf.options import SolveOptions
from autopatchelf.problem.from_index import IndexSource
from autopatchelf.solution.model import Solution
from autopatchelf.solution.solve import solve_problem

#: The running NixOS system: its closure is preferred when it exists.
CURRENT_SYSTEM = "/run/current-system"


def open_index(options: SolveOptions) -> StoreIndex:
    """The store index ``options`` describe (``store``, ``within``, ``cache_dir``)."""
    return StoreIndex.open(options.store, within=options.within, cache_dir=options.cache_dir)


def solve(
    files: Sequence[str],
    options: SolveOptions | None = None,
    *,
    index: StoreIndex | None = None,
) -> Solution:
    """Choose one store provider for every library ``files`` load.

    ``options`` (default: ``SolveOptions()``, what ``autopatchelf solve`` does with no
    flag) say where candidates come from, what must hold and what is preferred; ``index``
    is used as it is instead of opening the one ``options`` describe (and left open).

    Raises :class:`~autopatchelf.errors.Unsatisfiable` (with the explanation and its
    diagnosis as data) when no choice exists, :class:`~autopatchelf.errors.ElfError` for
    unreadable roots, :class:`~autopatchelf.errors.StoreError` for an unreadable store.
    """
    options = options or SolveOptions()
    # Read the roots first: a bad one fails before a whole store is indexed.
    read = [(file, ElfFacts.read(os.path.abspath(file))) for file in files]
    idle = {facts.path: load_role(facts).reason for _, facts in read if load_role(facts).reason}
    solved = [(file, facts) for file, facts in read if facts.path not in idle]
    if not solved:
        return Solution.empty(idle)
    roots = [facts for _, facts in solved]
    own_index = index is None
    opened = index if index is not None else open_index(options)
    try:
        system = options.system
        if system is None:
            system = (CURRENT_SYSTEM,) if os.path.exists(CURRENT_SYSTEM) else ()
        in_use: set[str] = set()
        for root in system:
            in_use.update(p.path for p in opened.closure(opened.store.resolve(root)))
        names = {facts.path: file for file, facts in solved}
        solution = solve_problem(
            roots, IndexSource(opened), options, in_use=frozenset(in_use), names=names
        )
        if opened.stats.cache_warning:
            solution = attrs.evolve(
                solution, warnings=(opened.stats.cache_warning, *solution.warnings)
            )
        return attrs.evolve(solution, nothing_to_solve=idle) if idle else solution
    finally:
        if own_index:
            opened.close()
