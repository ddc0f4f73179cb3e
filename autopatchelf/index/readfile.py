"""Reading one file for the index: is it ELF, is it a library, what does it name.

Pure functions of a path and a reader, so that :mod:`autopatchelf.index.parallel` can
run them in worker processes.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from autopatchelf.elf.facts import ElfFacts
from autopatchelf.elf.records import ELF_MAGIC, ElfClass, ElfType
from autopatchelf.errors import ElfError
from autopatchelf.index.records import ElfSummary, FileRecord
from autopatchelf.sqlite import storable

Reader = Callable[[str], ElfFacts]

NON_ELF = "non_elf"
BAD_ELF = "bad_elf"
NOT_LIBRARY = "not_library"

#: A library read: its record, or why it is none (``non_elf``/``bad_elf``/``not_library``).
LibraryRead = FileRecord | str
#: An executable read: what it names, or why it has nothing to say.
ExecutableRead = ElfSummary | str


def read_elf(path: str, reader: Reader) -> tuple[ElfFacts | str, bool]:
    """The facts of ``path`` (or why it has none), and whether ``reader`` was called."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return BAD_ELF, False
    try:
        magic = os.pread(fd, 4, 0)  # no buffered file object: most files are read no further
    except OSError:
        return BAD_ELF, False
    finally:
        os.close(fd)
    if magic != ELF_MAGIC:
        return NON_ELF, False
    try:
        return reader(path), True
    except (ElfError, OSError):
        return BAD_ELF, True


def read_library(path: str, owner: str, reader: Reader) -> tuple[LibraryRead, bool]:
    """``path`` as a library of store path ``owner``; and whether ``reader`` was called.

    A library whose soname or search path is not valid UTF-8 counts as a bad ELF file.
    """
    facts, called = read_elf(path, reader)
    if isinstance(facts, str):
        return facts, called
    if not storable(facts.soname, facts.rpath, facts.runpath, facts.interpreter):
        return BAD_ELF, called
    if facts.type is not ElfType.SHARED:
        return NOT_LIBRARY, called
    blob, symbols = facts.to_blob_parts()
    record = FileRecord(
        path=path,
        owner=owner,
        soname=facts.soname,
        rpath=facts.rpath,
        runpath=facts.runpath,
        interpreter=facts.interpreter,
        elf64=facts.elf_class is ElfClass.ELF64,
        blob=blob,
        symbols=symbols,
    )
    return record, called


def read_executable(path: str, owner: str, reader: Reader) -> tuple[ExecutableRead, bool]:
    """What executable ``path`` names (RUNPATH, interpreter); and whether ``reader`` ran."""
    facts, called = read_elf(path, reader)
    if isinstance(facts, str):
        return facts, called
    if not storable(facts.rpath, facts.runpath, facts.interpreter):
        return BAD_ELF, called
    summary = ElfSummary(
        owner=owner,
        rpath=facts.rpath,
        runpath=facts.runpath,
        interpreter=facts.interpreter,
        elf64=facts.elf_class is ElfClass.ELF64,
    )
    return summary, called


def summary_of(record: FileRecord) -> ElfSummary:
    return ElfSummary(
        owner=record.owner,
        rpath=record.rpath,
        runpath=record.runpath,
        interpreter=record.interpreter,
        elf64=record.elf64,
    )
