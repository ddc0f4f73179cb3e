"""What the resolver reads: a library source (the store index, normally) and the app's own
files (the disk, normally).

Kept as protocols so the resolver knows nothing of SQLite, Nix, caches or the file
system: the unit tests give it both in memory.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Protocol

from autopatchelf.elf.facts import ElfFacts
from autopatchelf.errors import AutopatchelfError
from autopatchelf.problem.verdicts import VerdictStore
from autopatchelf.store.substitute import Substitute


class StoreFile(Protocol):
    """A library file inside a store path."""

    @property
    def path(self) -> str: ...

    @property
    def store_path(self) -> str: ...

    @property
    def facts(self) -> ElfFacts: ...


class LibrarySource(Protocol):
    """Candidate libraries and closures, in a deterministic order."""

    def candidates(self, name: str) -> Sequence[StoreFile]:
        """Files that answer to ``name`` (by DT_SONAME or by file name)."""
        ...

    def lookup(self, directory: str, name: str) -> StoreFile | None:
        """The file ld.so would open for ``name`` in store directory ``directory``."""
        ...

    def entry_names(self, directory: str) -> Sequence[str]:
        """Every name in store lib dir ``directory`` (empty if it is not indexed)."""
        ...

    def resolve_needed(self, file: StoreFile, name: str) -> StoreFile | None:
        """The file ``file``'s own RUNPATH (or RPATH) finds for DT_NEEDED ``name``."""
        ...

    def closure(self, store_path: str) -> frozenset[str]:
        """Every store path ``store_path`` refers to, directly or not (itself included)."""
        ...

    def is_store_path(self, path: str) -> bool:
        """Is ``path`` inside the store this source indexes?"""
        ...

    def names(self) -> Sequence[str]:
        """Every name some indexed file answers to (for closest-match hints)."""
        ...

    def version_of(self, store_path: str) -> tuple[object, ...]:
        """A sort key for the version parsed from the store path name (larger = newer)."""
        ...

    def label(self, store_path: str) -> str:
        """A short human name for a store path (``curl-8.14.1``)."""
        ...

    def substitute(self, store_path: str) -> Substitute | None:
        """What realising ``store_path`` takes (``None``: it is in the store)."""
        ...

    def rejected(self, name: str) -> Sequence[tuple[str, str]]:
        """(store path, why) of unrealised paths that would provide ``name`` but may not
        be used (a signature that does not verify, a closure no cache has...)."""
        ...

    def verdicts(self) -> VerdictStore | None:
        """Where version-check verdicts are kept between runs (``None``: nowhere)."""
        ...


class ForeignFiles(Protocol):
    """The app's own files (roots and the libraries they bundle), as ld.so finds them."""

    def facts(self, path: str) -> ElfFacts | None:
        """The ELF object at ``path`` (symlinks followed), or None when there is none
        (absent, not a regular file, not a readable ELF object)."""
        ...

    def real(self, path: str) -> str:
        """``path`` with symlinks resolved (what ld.so ends up opening)."""
        ...

    def names(self, directory: str) -> frozenset[str]:
        """Every entry name in ``directory`` (empty when it cannot be listed)."""
        ...


class DiskFiles:
    """:class:`ForeignFiles` on the real file system (memoised: the tree is read once).

    ``known``: facts already read, by real path (they are not read again)."""

    def __init__(self, known: Mapping[str, ElfFacts] | None = None) -> None:
        self._facts: dict[str, ElfFacts | None] = dict(known or {})
        self._real: dict[str, str] = {}

    def facts(self, path: str) -> ElfFacts | None:
        real = self.real(path)
        if real not in self._facts:
            found: ElfFacts | None = None
            if os.path.isfile(real):
                try:
                    found = ElfFacts.read(real)
                except AutopatchelfError:
                    found = None
            self._facts[real] = found
        return self._facts[real]

    def real(self, path: str) -> str:
        found = self._real.get(path)
        if found is None:
            found = self._real[path] = os.path.realpath(path)
        return found

    def names(self, directory: str) -> frozenset[str]:
        try:
            return frozenset(os.listdir(directory))
        except OSError:
            return frozenset()
