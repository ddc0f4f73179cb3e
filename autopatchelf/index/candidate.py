"""What the index hands out: library candidates, and counts about the index itself."""

from __future__ import annotations

import os

import attrs

from autopatchelf.elf.facts import ElfFacts
from autopatchelf.frozen import Record
from autopatchelf.store.path import StorePath


@attrs.frozen(repr=False)
class Candidate(Record):
    """A library file of the store that can provide one or more sonames.

    One candidate per real file: symlinks (``libz.so.1 -> libz.so.1.3.1``) are resolved,
    and every lib dir entry that leads to the file is listed in :attr:`entries`.
    """

    #: The real file (symlinks resolved; always inside the store).
    path: str
    #: The store path holding :attr:`path`.
    store_path: StorePath
    #: The names it answers to: its lib dir entry names, plus its DT_SONAME.
    names: tuple[str, ...]
    #: ``<lib dir>/<name>`` paths by which ld.so finds it, sorted.
    entries: tuple[str, ...]
    facts: ElfFacts = attrs.field(eq=False, repr=False)

    @property
    def soname(self) -> str | None:
        return self.facts.soname

    @property
    def dirs(self) -> tuple[str, ...]:
        """The lib dirs holding an entry for it (a RUNPATH must name one of these)."""
        return tuple(dict.fromkeys(os.path.dirname(e) for e in self.entries))

    def found_as(self, name: str) -> tuple[str, ...]:
        """The lib dirs where ld.so finds it under exactly ``name`` (no soname magic)."""
        return tuple(os.path.dirname(e) for e in self.entries if os.path.basename(e) == name)


@attrs.frozen(repr=False)
class IndexStats(Record):
    """Counts and timings of one :meth:`autopatchelf.StoreIndex.open`."""

    store_dir: str
    #: ``nix-db``, ``nix-cli`` or ``plain``.
    backend: str
    #: The cache file, or ``None`` when the cache lives in memory.
    cache_file: str | None
    #: Why the cache is in memory (unwritable cache dir), if it is.
    cache_warning: str | None
    #: Store paths the index covers (the whole store, or the ``within`` closure).
    store_paths: int
    lib_dirs: int
    #: Library files (candidates).
    files: int
    sonames: int
    #: ELF executables whose RUNPATHs were scanned for more lib dirs.
    executables: int
    non_elf: int
    bad_elf: int
    not_library: int
    #: Lib dir entries leading out of the store (or dangling).
    outside: int
    #: This run's work: store paths and RUNPATH-named dirs scanned, paths dropped (GC'd).
    paths_scanned: int
    dirs_scanned: int
    paths_dropped: int
    #: ELF reader calls this run, and libraries newly stored by them.
    files_read: int
    libraries_read: int
    update_seconds: float
    load_seconds: float
    seconds: float

    @property
    def paths_cached(self) -> int:
        return max(0, self.store_paths - self.paths_scanned)

    @property
    def files_cached(self) -> int:
        """Library files served from the cache (not read this run)."""
        return max(0, self.files - self.libraries_read)

    def as_dict(self) -> dict[str, object]:
        data = attrs.asdict(self)
        data["paths_cached"] = self.paths_cached
        data["files_cached"] = self.files_cached
        return data
