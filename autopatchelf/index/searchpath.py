"""Which store directories RUNPATH/RPATH strings name (the rules: :mod:`autopatchelf.ldso`)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

from autopatchelf.elf.records import ElfClass
from autopatchelf.ldso import search
from autopatchelf.store.path import is_store_basename
from autopatchelf.store.store import Store


def named_dirs(
    rpath: str | None, runpath: str | None, origin: str, *, elf64: bool = True
) -> tuple[str, ...]:
    """Every directory an object's own search path (DT_RUNPATH, else DT_RPATH) may name on
    any machine of its class, for an object in ``origin``: what the index scans.

    Tokens expand to every value some glibc uses (``$LIB``: ``lib64`` and ``lib``); the
    index keeps no machine, so x86's spellings stand for every machine of the class.
    Elements relative to the working directory are dropped.
    """
    elf_class = ElfClass.ELF64 if elf64 else ElfClass.ELF32
    machine = search.machine_for(None, elf_class)
    value, _tag = search.own_search_string(rpath, runpath)
    found: list[str] = []
    for element in search.split(value):
        for directory in search.expand(element, origin, machine, every=True):
            if directory not in found:
                found.append(directory)
    return tuple(found)


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
