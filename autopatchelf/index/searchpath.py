"""RUNPATH/RPATH strings: expanding ``$ORIGIN``-style tokens and placing dirs in a store."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

from autopatchelf.store.path import is_store_basename
from autopatchelf.store.store import Store

_TOKEN = re.compile(r"\$(?:\{(ORIGIN|LIB|PLATFORM)\}|(ORIGIN|LIB|PLATFORM)(?![A-Za-z0-9_]))")
#: What ld.so may substitute for $LIB: distributions differ, so we accept both spellings.
_LIB_64 = ("lib64", "lib")
_LIB_32 = ("lib", "lib32")


def effective_search_path(rpath: str | None, runpath: str | None) -> str | None:
    """ld.so ignores DT_RPATH when DT_RUNPATH is present."""
    return runpath if runpath is not None else rpath


def expand_search_path(value: str | None, origin: str, *, elf64: bool = True) -> tuple[str, ...]:
    """The directories a RUNPATH/RPATH string names, in order, for an object in ``origin``.

    ``$ORIGIN`` becomes ``origin``; ``$LIB`` is tried as each usual spelling. Entries
    that ld.so would resolve against the working directory (empty or relative) and
    entries with ``$PLATFORM`` are dropped: no store directory can be inferred from them.
    """
    if not value:
        return ()
    result: list[str] = []
    for element in value.split(":"):
        for expanded in _expand(element, origin, elf64):
            if os.path.isabs(expanded) and expanded not in result:
                result.append(expanded)
    return tuple(result)


def _expand(element: str, origin: str, elf64: bool) -> list[str]:
    if "$" not in element:
        return [element]
    variants = [""]
    pos = 0
    for match in _TOKEN.finditer(element):
        token = match.group(1) or match.group(2)
        if token == "PLATFORM":
            return []
        literal = element[pos : match.start()]
        choices = (origin,) if token == "ORIGIN" else (_LIB_64 if elf64 else _LIB_32)
        variants = [v + literal + choice for v in variants for choice in choices]
        pos = match.end()
    rest = element[pos:]
    if "$" in rest:
        return []  # an unknown token: ld.so would not expand it either
    return [v + rest for v in variants]


def store_basenames_in(strings: Iterable[str | None]) -> frozenset[str]:
    """Every ``<hash>-<name>`` path component found in RUNPATH/RPATH/interpreter strings."""
    found: set[str] = set()
    for text in strings:
        if not text:
            continue
        for part in re.split(r"[/:]", text):
            if is_store_basename(part):
                found.add(part)
    return frozenset(found)


class DirectoryPlacer:
    """Maps directory names (as a RUNPATH writes them) to real directories of the store.

    A result is ``(real path, owning basename)``, or ``None`` when the directory leaves
    the store. A plain store reads a foreign ``/nix/store/<hash>-x/...`` as its own
    ``<hash>-x`` (a copied closure keeps its original RUNPATHs). Results are memoised.
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._memo: dict[str, tuple[str, str] | None] = {}

    def place(self, directory: str) -> tuple[str, str] | None:
        if directory in self._memo:
            return self._memo[directory]
        store = self._store
        path = directory
        if store.locate(os.path.normpath(path)) is None and store.remaps_foreign_paths:
            foreign = store.locate_foreign(os.path.normpath(path))
            if foreign is not None:
                path = os.path.join(store.full_path(foreign[0]), foreign[1])
        real = store.realpath(path)
        where = store.locate(real)
        result = None if where is None else (real, where[0])
        self._memo[directory] = result
        return result
