"""A greedy first-match baseline, for benchmarks and tests only.

This is what a simple tool does: walk the needs breadth-first and take, for each name,
the newest candidate whose versions the requester's needs allow, never revisiting a
choice. It ignores glibc unity, diamonds and versioned symbols of later objects; the
benchmarks count how often that is wrong.
"""

from __future__ import annotations

from collections.abc import Sequence

from autopatchelf.elf.facts import ElfFacts
from autopatchelf.problem.build import build_problem
from autopatchelf.problem.model import ExclusionKind
from autopatchelf.problem.source import LibrarySource


def greedy_first_match(files: Sequence[str | ElfFacts], source: LibrarySource) -> dict[str, str]:
    """name -> file chosen greedily (names with no acceptable candidate are left out)."""
    problem = build_problem(files, source)
    blocked = {
        (e.requester, e.name, e.provider)
        for e in problem.exclusions
        if e.kind is ExclusionKind.VERSION
    }
    chosen: dict[str, str] = {}

    def pick(obj: str, name: str) -> str | None:
        """The first acceptable answer for ``name``, never revisited."""
        if name in chosen:
            return chosen[name]
        fixed = problem.fixed.get((obj, name))
        options = (
            [fixed]
            if fixed is not None
            else [
                path
                for path in problem.candidates.get(name, ())
                if (obj, name, path) not in blocked
            ]
        )
        if not options:
            return None
        options.sort(key=lambda path: _newest_first(problem.providers[path].store_path, source))
        chosen[name] = options[0]
        return options[0]

    for _need in problem.needs_in_load_order((p.path for p in problem.foreign), pick):
        pass
    return chosen


def _newest_first(store_path: str | None, source: LibrarySource) -> tuple[int, object]:
    if store_path is None:
        return (0, ())
    return (1, _Reversed(source.version_of(store_path)))


class _Reversed:
    """Sort key wrapper that inverts the order of a version key."""

    def __init__(self, key: tuple[object, ...]) -> None:
        self.key = key

    def __lt__(self, other: _Reversed) -> bool:
        return bool(other.key < self.key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Reversed) and self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)
