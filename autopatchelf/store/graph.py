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


class ClosedGraph:
    """``graph`` over ``closed``, a set of paths closed under references (the closure an
    index was narrowed to): their references come in one batch (``fetch``) on first
    use, and closures of them are walked in memory instead of asked one by one (a warm
    solve asks for some 60). A closure from outside the set is asked of ``graph``."""

    def __init__(
        self,
        graph: ReferenceGraph,
        closed: frozenset[str],
        fetch: Callable[[Iterable[str]], Mapping[str, frozenset[str]]],
    ) -> None:
        self._graph = graph
        self._closed = closed
        self._fetch = fetch
        self._inside: MappingGraph | None = None

    def _among(self) -> MappingGraph:
        if self._inside is None:
            self._inside = MappingGraph(self._fetch(sorted(self._closed)))
        return self._inside

    def references(self, basename: str) -> frozenset[str]:
        if basename not in self._closed:
            return self._graph.references(basename)
        return self._among().references(basename)

    def closure(self, basenames: Iterable[str]) -> frozenset[str]:
        roots = list(basenames)
        if not all(b in self._closed for b in roots):
            return self._graph.closure(roots)
        return self._among().closure(roots)
