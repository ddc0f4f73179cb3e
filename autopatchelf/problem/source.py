"""What the resolver asks of a library source (the store index, normally).

Kept as a protocol so the resolver knows nothing of SQLite, Nix or caches.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from autopatchelf.elf.facts import ElfFacts


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
