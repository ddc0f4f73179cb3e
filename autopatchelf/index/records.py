"""What scanning the store finds, as frozen records the cache stores verbatim."""

from __future__ import annotations

import attrs

from autopatchelf.frozen import Record


@attrs.frozen(repr=False)
class SkipCounts(Record):
    """Files of a lib dir that are not candidates, by reason."""

    #: Not an ELF file at all (linker scripts, ``.la``, ``.a``, data).
    non_elf: int = 0
    #: Claims to be ELF but the reader rejects it (or it cannot be read).
    bad_elf: int = 0
    #: Valid ELF that ld.so would not load as a library (``.o``, executables).
    not_library: int = 0
    #: Symlinks leaving the store (or dangling, or into an invalid path).
    outside: int = 0

    def __add__(self, other: SkipCounts) -> SkipCounts:
        return SkipCounts(
            self.non_elf + other.non_elf,
            self.bad_elf + other.bad_elf,
            self.not_library + other.not_library,
            self.outside + other.outside,
        )


@attrs.frozen(repr=False)
class FileRecord(Record):
    """A library read from disk: where it really is, and its facts as a cache blob, its
    symbol tables apart (:meth:`~autopatchelf.elf.facts.ElfFacts.to_blob_parts`)."""

    path: str
    owner: str
    soname: str | None
    rpath: str | None
    runpath: str | None
    interpreter: str | None
    elf64: bool
    blob: bytes
    symbols: bytes


@attrs.frozen(repr=False)
class DirScan(Record):
    """One lib dir: which names in it lead to which library files."""

    #: The directory's real path (symlinks resolved), spelled under the store dir.
    path: str
    #: Basename of the store path that holds the directory.
    owner: str
    #: ``lib``/``lib64`` of its owner (always searched), as opposed to RUNPATH-named.
    standard: bool
    #: False when the directory does not exist (a dangling RUNPATH entry).
    present: bool
    #: ``(name, real file path)`` for every entry that leads to a library.
    entries: tuple[tuple[str, str], ...] = ()
    #: Libraries this scan read (files already cached are only referred to by path).
    files: tuple[FileRecord, ...] = ()
    skipped: SkipCounts = SkipCounts()
    #: ``(real dir, owning basename)`` of directories its libraries' RUNPATH/RPATH name.
    names: tuple[tuple[str, str], ...] = ()
    #: Basenames this directory's libraries refer to (RUNPATH strings, symlinks).
    refs: tuple[str, ...] = ()
    #: How many times the ELF reader ran.
    files_read: int = 0


@attrs.frozen(repr=False)
class PathScan(Record):
    """One store path: its standard lib dirs and what its ELF files name."""

    basename: str
    stamp: str
    dirs: tuple[DirScan, ...] = ()
    #: ``(real dir, owning basename)`` of directories named by RUNPATH/RPATH of its
    #: executables, and of ``lib``/``lib64`` links that lead out of it.
    names: tuple[tuple[str, str], ...] = ()
    #: Basenames found in its executables' RUNPATH/RPATH/interpreter strings.
    refs: tuple[str, ...] = ()
    executables: int = 0
    files_read: int = 0


@attrs.frozen(repr=False)
class ElfSummary(Record):
    """What the scan needs to know about an ELF file it does not store: a library the
    cache already holds, or an executable (only its search path and interpreter matter)."""

    owner: str
    rpath: str | None
    runpath: str | None
    interpreter: str | None
    elf64: bool
