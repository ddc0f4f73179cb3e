"""Everything autopatchelf knows about one ELF file: :class:`ElfFacts`.

Read with :meth:`autopatchelf.ElfFacts.read` (the fast reader of ``autopatchelf.elf._reader``), or
decoded from the index cache's blob (:meth:`autopatchelf.ElfFacts.from_blob`) without touching the
file again. What ld.so makes of these facts (search paths, machines, glibc) is
:mod:`autopatchelf.ldso`'s business.
"""

from __future__ import annotations

import functools
import os

import attrs

from autopatchelf.elf import _reader, blob
from autopatchelf.elf.records import (
    DF_1_NODEFLIB,
    DlopenNote,
    ElfClass,
    ElfType,
    Endian,
    VersionDefinition,
    VersionNeed,
    split_search_list,
)
from autopatchelf.elf.symbols import DynamicSymbols, PayloadLoader
from autopatchelf.frozen import Record


@attrs.frozen(repr=False)
class ElfFacts(Record):
    """Everything autopatchelf needs to know about one ELF file.

    Read with :meth:`autopatchelf.ElfFacts.read`; every field is decoded eagerly except
    the symbol lists, which :class:`~autopatchelf.elf.symbols.DynamicSymbols` decodes on
    first use (most libraries in a store are never asked for their symbols).
    """

    path: str
    elf_class: ElfClass
    endian: Endian
    machine: int
    osabi: int
    type: ElfType
    interpreter: str | None
    soname: str | None
    #: DT_NEEDED entries, in file order (ld.so loads them in this order).
    needed: tuple[str, ...]
    #: Raw DT_RPATH / DT_RUNPATH strings (``None`` when absent).
    rpath: str | None
    runpath: str | None
    flags: int
    flags_1: int
    version_needs: tuple[VersionNeed, ...]
    version_defs: tuple[VersionDefinition, ...]
    symbols: DynamicSymbols = attrs.field(eq=False, repr=False)
    #: ``.note.dlopen`` entries: libraries this object may dlopen() (see
    #: :mod:`autopatchelf.elf._notes`), and a sentence per malformed note.
    dlopen: tuple[DlopenNote, ...] = ()
    dlopen_problems: tuple[str, ...] = ()

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> ElfFacts:
        """Read the facts of ``path``; raises :class:`~autopatchelf.errors.ElfError` (and
        nothing else) when it cannot be opened or is not an ELF object we understand."""
        name = os.fspath(path)
        return cls(name, *_reader.read_fields(name))

    @classmethod
    def parse(cls, data: bytes, path: str) -> ElfFacts:
        """The facts of an ELF image already in memory; ``path`` names it in errors."""
        return cls(path, *_reader.parse_fields(data, path))

    def to_blob(self) -> bytes:
        """A compact serialisation (symbols included) for the index cache.

        ``from_blob(to_blob())`` equals the facts (symbols included) but the bytes of two
        dumps of equal facts may differ (see :mod:`autopatchelf.elf.blob`).
        """
        return blob.encode(self)

    def to_blob_parts(self) -> tuple[bytes, bytes]:
        """:meth:`to_blob` in two: the blob without the symbol tables, and their payload
        (what the index cache stores apart, so that reading facts reads no symbols)."""
        return blob.encode_parts(self)

    @classmethod
    def from_blob(
        cls, data: bytes, path: str, symbols: bytes | PayloadLoader | None = None
    ) -> ElfFacts:
        """The facts :meth:`to_blob` saved, for the file now at ``path``; for a blob of
        :meth:`to_blob_parts`, ``symbols`` is its payload or what loads it when the
        symbols are first used (without it, using them raises).

        Raises :class:`~autopatchelf.errors.ElfError` on a corrupt blob, or one from
        another format version. The symbol tables stay packed until the symbols are first
        used (a corrupt symbol payload raises :class:`~autopatchelf.errors.ElfError` then).
        """
        return cls(**blob.decode(data, path, symbols))

    @property
    def rpath_dirs(self) -> tuple[str, ...]:
        """DT_RPATH's elements as written."""
        return split_search_list(self.rpath)

    @property
    def runpath_dirs(self) -> tuple[str, ...]:
        """DT_RUNPATH's elements as written."""
        return split_search_list(self.runpath)

    @property
    def nodeflib(self) -> bool:
        return bool(self.flags_1 & DF_1_NODEFLIB)

    @property
    def is_pie(self) -> bool:
        return self.type is ElfType.PIE

    @functools.cached_property
    def defined_versions(self) -> frozenset[str]:
        """Version names this object defines (first aux names, base excluded; made once:
        every problem a provider takes part in asks)."""
        return frozenset(d.name for d in self.version_defs if not d.base)


def read_facts(path: str | os.PathLike[str]) -> ElfFacts:
    """:meth:`autopatchelf.ElfFacts.read`."""
    return ElfFacts.read(path)


def parse_facts(data: bytes, path: str) -> ElfFacts:
    """:meth:`autopatchelf.ElfFacts.parse`."""
    return ElfFacts.parse(data, path)
