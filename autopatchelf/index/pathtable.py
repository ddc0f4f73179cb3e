"""The store paths the cache holds, as a mapping read on demand.

When the store directory is unchanged since the cache last held exactly its listing
(:mod:`autopatchelf.store.dirstamp`), the cache's ``paths`` table *is* the set of valid
paths: a warm open then neither lists the store nor loads that table, and asking
whether a path is valid is one indexed query (memoised).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from autopatchelf.index.cache import cache_error

if TYPE_CHECKING:
    from autopatchelf.index.cache import IndexCache


class PathTable(Mapping[str, str]):
    """Basename -> stamp of the store paths of ``cache``'s ``paths`` table."""

    __slots__ = ("_cache", "_len", "_stamps")

    def __init__(self, cache: IndexCache) -> None:
        self._cache = cache
        #: basename -> stamp, ``None``: not in the table.
        self._stamps: dict[str, str | None] = {}
        self._len: int | None = None

    def _stamp(self, basename: str) -> str | None:
        if basename not in self._stamps:
            try:
                self._stamps[basename] = self._cache.stamp_of(basename)
            except UnicodeEncodeError:
                self._stamps[basename] = None  # the table holds only UTF-8 names
            except sqlite3.DatabaseError as exc:
                raise cache_error(self._cache.path, exc) from exc
        return self._stamps[basename]

    def __contains__(self, basename: object) -> bool:
        return isinstance(basename, str) and self._stamp(basename) is not None

    def __getitem__(self, basename: str) -> str:
        stamp = self._stamp(basename)
        if stamp is None:
            raise KeyError(basename)
        return stamp

    def __iter__(self) -> Iterator[str]:
        try:
            return iter(self._cache.basenames())
        except sqlite3.DatabaseError as exc:
            raise cache_error(self._cache.path, exc) from exc

    def __len__(self) -> int:
        if self._len is None:
            try:
                self._len = self._cache.path_count()
            except sqlite3.DatabaseError as exc:
                raise cache_error(self._cache.path, exc) from exc
        return self._len
