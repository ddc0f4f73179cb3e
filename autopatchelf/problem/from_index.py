"""The store index seen through the resolver's :class:`LibrarySource` protocol."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import attrs

from autopatchelf.elf.facts import ElfFacts
from autopatchelf.frozen import Record
from autopatchelf.index.candidate import Candidate
from autopatchelf.index.store_index import StoreIndex
from autopatchelf.problem.source import StoreFile
from autopatchelf.problem.verdicts import VerdictStore
from autopatchelf.store.path import StorePath, parse_store_path
from autopatchelf.store.substitute import Substitute


@attrs.frozen(repr=False)
class IndexFile(Record):
    """A store library as the resolver sees it."""

    path: str
    store_path: str
    facts: ElfFacts = attrs.field(eq=False, repr=False)
    candidate: Candidate = attrs.field(eq=False, repr=False)


class IndexSource:
    """Adapts a :class:`StoreIndex` (and its closures) to :class:`LibrarySource`."""

    def __init__(self, index: StoreIndex) -> None:
        self.index = index
        self._files: dict[str, IndexFile] = {}

    def _wrap(self, cand: Candidate | None) -> IndexFile | None:
        if cand is None:
            return None
        known = self._files.get(cand.path)
        if known is None:
            known = IndexFile(cand.path, cand.store_path.path, cand.facts, cand)
            self._files[cand.path] = known
        return known

    def candidates(self, name: str) -> Sequence[IndexFile]:
        return [f for c in self.index.candidates(name) if (f := self._wrap(c)) is not None]

    def lookup(self, directory: str, name: str) -> IndexFile | None:
        return self._wrap(self.index.lookup(directory, name))

    def entry_names(self, directory: str) -> Sequence[str]:
        return self.index.entry_names(directory)

    def resolve_needed(self, file: StoreFile, name: str) -> IndexFile | None:
        known = self._files.get(file.path)
        cand = known.candidate if known is not None else self.index.candidate(file.path)
        if cand is None:
            return None
        return self._wrap(self.index.resolve_needed(cand, name))

    @functools.cache  # noqa: B019 - one adapter per solve; closures are immutable
    def closure(self, store_path: str) -> frozenset[str]:
        return frozenset(p.path for p in self.index.closure(store_path))

    def is_store_path(self, path: str) -> bool:
        return self.index.store.locate(path) is not None

    def names(self) -> Sequence[str]:
        return self.index.sonames()

    def version_of(self, store_path: str) -> tuple[object, ...]:
        parsed = _parse(store_path)
        return parsed.version_key if parsed is not None else ()

    def label(self, store_path: str) -> str:
        parsed = _parse(store_path)
        return parsed.name_version if parsed is not None else store_path

    def substitute(self, store_path: str) -> Substitute | None:
        return None  # everything the local index holds is realised

    def rejected(self, name: str) -> Sequence[tuple[str, str]]:
        return ()

    def verdicts(self) -> VerdictStore | None:
        return self.index.verdicts()


@functools.lru_cache(maxsize=4096)
def _parse(store_path: str) -> StorePath | None:
    return parse_store_path(store_path)
