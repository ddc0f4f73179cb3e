"""The local index and the binary caches seen as one library source
(:class:`~autopatchelf.problem.source.LibrarySource`).

A path the local index offers (valid, and within ``--within``) is always the local
index's: the remote index leaves such paths out. A remote path's closure comes from its
verified narinfos' references; where a reference is offered locally, the local closure
takes over. A remote path that happens to be valid already (realised by an earlier run,
outside ``--within``) costs no download. A remote candidate whose
closure holds a path no cache can give (absent, or rejected) is no candidate: it could
not be realised.
"""

from __future__ import annotations

import functools
import posixpath
from collections.abc import Sequence

from autopatchelf.index.remote import RemoteFile, RemoteIndex
from autopatchelf.ldso.search import own_entries
from autopatchelf.problem.from_index import IndexFile, IndexSource
from autopatchelf.problem.source import StoreFile
from autopatchelf.problem.verdicts import VerdictStore
from autopatchelf.store.substitute import Substitute

_File = IndexFile | RemoteFile


class CombinedSource:
    """``IndexSource`` plus the unrealised candidates of a
    :class:`~autopatchelf.index.remote.RemoteIndex`."""

    def __init__(self, local: IndexSource, remote: RemoteIndex) -> None:
        self.local = local
        self.remote = remote
        self._rejected: dict[str, list[tuple[str, str]]] = {}

    def _is_local(self, store_path: str) -> bool:
        return self.local.index.offers(posixpath.basename(store_path))

    def _is_valid(self, store_path: str) -> bool:
        return self.local.index.is_valid(posixpath.basename(store_path))

    def candidates(self, name: str) -> Sequence[_File]:
        found: list[_File] = list(self.local.candidates(name))
        for file in self.remote.candidates(name):
            why = self._unrealisable(file.store_path)
            if why is None:
                found.append(file)
            else:
                self._rejected.setdefault(name, []).append((file.store_path, why))
        return found

    def _unrealisable(self, store_path: str) -> str | None:
        """Why some path of ``store_path``'s closure cannot be substituted, if one cannot."""
        for member in sorted(self.closure(store_path)):
            if self._is_valid(member):
                continue
            if self.remote.substitute(member) is None:
                reason = self.remote.rejection(posixpath.basename(member)) or "no cache has it"
                if member == store_path:
                    return reason
                return f"its closure's {member}: {reason}"
        return None

    def lookup(self, directory: str, name: str) -> _File | None:
        hit = self.local.lookup(directory, name)
        if hit is not None:
            return hit
        return self.remote.lookup(directory, name)

    def entry_names(self, directory: str) -> Sequence[str]:
        if self.remote.has_directory(directory):
            return self.remote.entry_names(directory)
        return self.local.entry_names(directory)

    def resolve_needed(self, file: StoreFile, name: str) -> _File | None:
        if not isinstance(file, RemoteFile):
            return self.local.resolve_needed(file, name)
        for entry in own_entries(file.facts, origin=posixpath.dirname(file.path)):
            if entry.directory and self.local.is_store_path(entry.directory):
                hit = self.lookup(entry.directory, name)
                if hit is not None:
                    return hit
        return None

    @functools.cache  # noqa: B019 - one adapter per solve; closures are immutable
    def closure(self, store_path: str) -> frozenset[str]:
        if self._is_local(store_path):
            return self.local.closure(store_path)
        reached: set[str] = set()
        pending = [store_path]
        while pending:
            self.remote.prefetch_narinfos(p for p in pending if not self._is_local(p))
            nxt: list[str] = []
            for path in pending:
                if path in reached:
                    continue
                reached.add(path)
                if self._is_local(path):
                    reached.update(self.local.closure(path))
                    continue
                nxt.extend(r for r in self.remote.references(path) if r not in reached)
            pending = nxt
        return frozenset(reached)

    def is_store_path(self, path: str) -> bool:
        return self.local.is_store_path(path)

    def names(self) -> Sequence[str]:
        return sorted({*self.local.names(), *self.remote.names()})

    def version_of(self, store_path: str) -> tuple[object, ...]:
        return self.local.version_of(store_path)

    def label(self, store_path: str) -> str:
        label = self.local.label(store_path)
        origin = self.remote.origin(store_path)
        return f"{label} ({origin})" if origin else label

    def substitute(self, store_path: str) -> Substitute | None:
        if self._is_valid(store_path):
            return None
        return self.remote.substitute(store_path)

    def rejected(self, name: str) -> Sequence[tuple[str, str]]:
        return sorted({*self._rejected.get(name, ()), *self.remote.rejected_for(name)})

    def verdicts(self) -> VerdictStore | None:
        return self.local.verdicts()  # it vouches for the local store's files only
