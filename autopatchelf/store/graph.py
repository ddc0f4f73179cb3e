"""The reference graph between store paths, by basename (``<hash>-<name>``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Protocol


class ReferenceGraph(Protocol):
    """Who refers to whom. Basenames in, basenames out; unknown paths have no references."""

    def references(self, basename: str) -> frozenset[str]:
        """The direct references of ``basename`` (itself included if self-referential)."""
        ...

    def closure(self, basenames: Iterable[str]) -> frozenset[str]:
        """``basenames`` and everything they reach, transitively."""
        ...


def walk_closure(roots: Iterable[str], references: Callable[[str], Iterable[str]]) -> set[str]:
    """Breadth-first closure of ``roots`` under ``references``."""
    seen = set(roots)
    todo = list(seen)
    while todo:
        for ref in references(todo.pop()):
            if ref not in seen:
                seen.add(ref)
                todo.append(ref)
    return seen


class MappingGraph:
    """A graph held in memory (the references a plain store's scan found)."""

    def __init__(self, edges: Mapping[str, frozenset[str]]) -> None:
        self._edges = edges

    def references(self, basename: str) -> frozenset[str]:
        return self._edges.get(basename, frozenset())

    def closure(self, basenames: Iterable[str]) -> frozenset[str]:
        return frozenset(walk_closure(basenames, self.references))
