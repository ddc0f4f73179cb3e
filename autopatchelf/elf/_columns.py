"""Decoding a dynamic symbol table column-wise: which entries are exported definitions and
non-weak imports, their names and versions, with bulk operations over whole columns
(byte translation, ``compress``, ``map``) rather than Python code per symbol."""

from __future__ import annotations

import struct
from collections import Counter
from itertools import compress
from typing import TYPE_CHECKING

from autopatchelf.errors import ElfError

if TYPE_CHECKING:
    from autopatchelf.elf.symbols import DynamicSymbols

# Symbol bindings (the high nibble of ``st_info``).
STB_GLOBAL = 1
STB_WEAK = 2
STB_GNU_UNIQUE = 10
_EXPORTING_BINDINGS = frozenset({STB_GLOBAL, STB_WEAK, STB_GNU_UNIQUE})
# st_info byte -> 1 when its binding exports a definition / is a non-weak import.
_EXPORTING_INFO = bytes(int(info >> 4 in _EXPORTING_BINDINGS) for info in range(256))
_GLOBAL_INFO = bytes(int(info >> 4 == STB_GLOBAL) for info in range(256))
# A byte -> 1 when it is zero.
_IS_ZERO = bytes([1]) + bytes(255)

# ``.gnu.version`` entries: a version index plus the "hidden" (non-default) bit.
VERSYM_HIDDEN = 0x8000
VERSYM_INDEX_MASK = 0x7FFF
#: Indexes 0 (local) and 1 (global) mean "no version".
VER_NDX_GLOBAL = 1
#: ld.so binds an unversioned reference to a definition whose index is below this
#: (unversioned, or the object's first, oldest version) even when it is hidden.
_FIRST_NEWER_VERSION_INDEX = 3

#: ``.dynsym`` entry sizes: ELF64, ELF32, and the packed form the cache blob keeps
#: (``st_name`` word, then ``st_info``/``st_other``/``st_shndx``).
SYM64_SIZE = 24
SYM32_SIZE = 16
PACKED_SYM_SIZE = 8
#: Per entry size: the byte offsets of ``st_info`` and ``st_shndx`` (``st_name`` is at 0).
_SYM_FIELDS = {SYM64_SIZE: (4, 6), SYM32_SIZE: (12, 14), PACKED_SYM_SIZE: (4, 6)}

#: What one exported definition binds as: (version, hidden, version index).
_Export = tuple[str | None, bool, int]
#: What one import requires: (version, needed file).
_Import = tuple[str | None, str | None]


class SymbolColumns:
    """Exported definitions, decoded column-wise: the private memo of one
    :class:`DynamicSymbols` (never handed out, so plain containers are fine; its imports
    are decoded apart, :func:`decode_imports`).

    Built with C-level bulk operations (byte translation, ``compress``, ``map``,
    ``dict(zip(...))``) rather than Python code per symbol; the attrs records of
    :attr:`DynamicSymbols.defined`/``undefined`` are only built when asked for.
    """

    __slots__ = (
        "ambiguous",
        "by_version",
        "export_names",
        "exports",
        "oldest",
        "visible",
    )

    def __init__(
        self,
        export_names: list[str],
        exports: list[_Export],
        by_version: dict[tuple[str, str | None], _Export],
        visible: dict[str, _Export],
        ambiguous: frozenset[str],
        oldest: str | None,
    ) -> None:
        self.export_names = export_names
        self.exports = exports
        #: (name, version) -> export, for every definition.
        self.by_version = by_version
        #: name -> its non-hidden (default-version or unversioned) definition.
        self.visible = visible
        #: Names with more than one non-hidden definition (ld.so finds them ambiguous).
        self.ambiguous = ambiguous
        #: The object's first, oldest version name (version index 2), if it defines one.
        self.oldest = oldest


def pack_table(symbols: DynamicSymbols) -> bytes:
    """Keep the st_name word and the st_info/st_other/st_shndx word of each entry."""
    info_at, _ = symbol_fields(symbols)
    step = symbols.entry_size // 4
    packed = bytearray(PACKED_SYM_SIZE * symbols.count)
    if symbols.count:
        with (
            memoryview(symbols.table) as table,
            table.cast("I") as words,
            memoryview(packed) as out,
            out.cast("I") as packed_words,
        ):
            packed_words[0::2] = words[0::step]
            packed_words[1::2] = words[info_at // 4 :: step]
    return bytes(packed)


def symbol_fields(symbols: DynamicSymbols) -> tuple[int, int]:
    """The byte offsets of st_info and st_shndx in an entry, once the table is checked."""
    fields = _SYM_FIELDS.get(symbols.entry_size)
    if (
        fields is None
        or symbols.byte_order not in ("<", ">")
        or len(symbols.table) != symbols.entry_size * symbols.count
        or len(symbols.versym) not in (0, 2 * symbols.count)
    ):
        raise ElfError(symbols.path, "inconsistent dynamic symbol table")
    return fields


class _Table:
    """The columns of one table both decodings start from: which entries are exported
    definitions and which non-weak imports, their name offsets and version entries."""

    __slots__ = ("is_export", "is_import", "name_offsets", "names", "versions", "versyms")

    def __init__(self, symbols: DynamicSymbols) -> None:
        count, order, size = symbols.count, symbols.byte_order, symbols.entry_size
        table = symbols.table
        info_at, shndx_at = symbol_fields(symbols)
        info = table[info_at::size]
        # 0/1 columns: st_shndx == SHN_UNDEF (both of its bytes zero), exported, imported.
        undefined = _both_zero(table[shndx_at::size], table[shndx_at + 1 :: size], count)
        self.is_export = _both(
            info.translate(_EXPORTING_INFO), undefined.translate(_IS_ZERO), count
        )
        self.is_import = _both(info.translate(_GLOBAL_INFO), undefined, count)
        with memoryview(table) as view, view.cast("I") as words:
            name_column = words[0 :: size // 4].tobytes()
        self.name_offsets: tuple[int, ...] = struct.unpack(f"{order}{count}I", name_column)
        self.versyms: tuple[int, ...] = (
            struct.unpack(f"{order}{count}H", symbols.versym)
            if symbols.versym
            else (VER_NDX_GLOBAL,) * count
        )
        self.names = _Names(symbols.strtab, symbols.path)
        self.versions = _VersionNames(symbols)

    def export_names(self) -> list[str]:
        return self.names.at_offsets(list(compress(self.name_offsets, self.is_export)))

    def export_versyms(self) -> list[int]:
        return list(compress(self.versyms, self.is_export))

    def imports(self) -> tuple[list[str], list[_Import]]:
        names = self.names.at_offsets(list(compress(self.name_offsets, self.is_import)))
        return names, self.versions.imports(list(compress(self.versyms, self.is_import)), names)


def decode_columns(symbols: DynamicSymbols) -> SymbolColumns:
    """Select the exported definitions and decode their names and versions, with bulk
    operations over whole columns. (What the table's imports would raise is raised by
    :func:`decode_imports`, which :class:`DynamicSymbols` runs first.)"""
    table = _Table(symbols)
    export_names = table.export_names()
    exports = table.versions.exports(table.export_versyms(), export_names)
    export_versions = [export[0] for export in exports]
    by_version = dict(zip(zip(export_names, export_versions, strict=True), exports, strict=True))
    shown = [not export[1] for export in exports]
    visible_names = list(compress(export_names, shown))
    visible = dict(zip(visible_names, compress(exports, shown), strict=False))
    ambiguous: frozenset[str] = frozenset()
    if len(visible) != len(visible_names):
        ambiguous = frozenset(name for name, seen in Counter(visible_names).items() if seen > 1)
    return SymbolColumns(
        export_names,
        exports,
        by_version,
        visible,
        ambiguous,
        table.versions.def_names.get(_FIRST_NEWER_VERSION_INDEX - 1),
    )


def decode_imports(symbols: DynamicSymbols) -> tuple[list[str], list[_Import]]:
    """The names and (version, file) of the non-weak imports, without decoding the
    exports' names (most of a library's table): what a requester's checks read. Raises
    the first error of the whole table, exports first (as one decoding of both did): the
    exports are checked (every name ends inside the strings, every version index is
    declared) without being decoded, unless one is wrong, which is then reported as
    :func:`decode_columns` reports it."""
    table = _Table(symbols)
    offsets = list(compress(table.name_offsets, table.is_export))
    if not table.names.all_end(offsets):
        table.export_names()  # raises for the first name without an end
    versyms = table.export_versyms()
    if not table.versions.all_defined(set(versyms)):
        table.versions.exports(versyms, table.export_names())  # raises for the first
    return table.imports()


def _both(first: bytes, second: bytes, count: int) -> bytes:
    """The bytewise AND of two 0/1 columns (one big-integer operation)."""
    if not count:
        return b""
    return (int.from_bytes(first, "big") & int.from_bytes(second, "big")).to_bytes(count, "big")


def _both_zero(first: bytes, second: bytes, count: int) -> bytes:
    """1 where both columns hold a zero byte, else 0."""
    if not count:
        return b""
    either = int.from_bytes(first, "big") | int.from_bytes(second, "big")
    return either.to_bytes(count, "big").translate(_IS_ZERO)


class _Names:
    """Symbol names out of a string table."""

    __slots__ = ("path", "strtab", "text")

    def __init__(self, strtab: bytes, path: str) -> None:
        self.strtab = strtab
        self.path = path
        # Latin-1 maps each byte to one character, so str offsets stay byte offsets.
        self.text = strtab.decode("latin-1")

    def all_end(self, offsets: list[int]) -> bool:
        """Whether every name at ``offsets`` ends at a NUL inside the table (then
        :meth:`at_offsets` takes its fast path and cannot fail)."""
        return not offsets or (max(offsets) < len(self.text) and self.text.endswith("\0"))

    def at_offsets(self, offsets: list[int]) -> list[str]:
        text = self.text
        find = text.find
        if not self.all_end(offsets):
            names = [self.name_at(offset) for offset in offsets]
        else:  # every name ends at a NUL inside the table
            names = [text[offset : find("\0", offset)] for offset in offsets]
        if self.strtab.isascii():
            return names
        return list(map(_utf8, names))

    def name_at(self, offset: int) -> str:
        end = self.text.find("\0", offset)
        if end < 0:
            raise ElfError(self.path, f"a symbol name offset ({offset:#x}) is past the strings")
        return self.text[offset:end]


def _utf8(latin1: str) -> str:
    return latin1.encode("latin-1").decode("utf-8", "surrogateescape")


class _VersionNames:
    """What the ``.gnu.version`` entries of exports and imports mean."""

    __slots__ = ("def_names", "need_names", "path")

    def __init__(self, symbols: DynamicSymbols) -> None:
        self.path = symbols.path
        self.def_names = {
            d.index & VERSYM_INDEX_MASK: d.name for d in symbols.version_defs if not d.base
        }
        self.need_names = {
            v.index & VERSYM_INDEX_MASK: (v.name, need.file)
            for need in symbols.version_needs
            for v in need.versions
        }

    def all_defined(self, versyms: set[int]) -> bool:
        """Whether :meth:`exports` can read every one of ``versyms`` (none undeclared)."""
        return all(
            (index := versym & VERSYM_INDEX_MASK) <= VER_NDX_GLOBAL
            or index in self.def_names
            or index in self.need_names
            for versym in versyms
        )

    def exports(self, versyms: list[int], names: list[str]) -> list[_Export]:
        """(version, hidden, index) of each definition."""
        meaning: dict[int, _Export] = {}
        for versym in set(versyms):
            index = versym & VERSYM_INDEX_MASK
            version = self.defined_version(index, versyms, names)
            meaning[versym] = (version, bool(versym & VERSYM_HIDDEN), index)
        return list(map(meaning.__getitem__, versyms))

    def imports(self, versyms: list[int], names: list[str]) -> list[_Import]:
        """(version, file) of each import."""
        meaning = {
            versym: self.required_version(versym & VERSYM_INDEX_MASK, versyms, names)
            for versym in set(versyms)
        }
        return list(map(meaning.__getitem__, versyms))

    def defined_version(self, index: int, versyms: list[int], names: list[str]) -> str | None:
        if index <= VER_NDX_GLOBAL:
            return None
        if index in self.def_names:
            return self.def_names[index]
        if index in self.need_names:  # e.g. a copy-relocated variable in an executable
            return self.need_names[index][0]
        raise self.undeclared(index, versyms, names)

    def required_version(self, index: int, versyms: list[int], names: list[str]) -> _Import:
        if index <= VER_NDX_GLOBAL:
            return None, None
        if index in self.need_names:
            return self.need_names[index]
        if index in self.def_names:
            return self.def_names[index], None
        raise self.undeclared(index, versyms, names)

    def undeclared(self, index: int, versyms: list[int], names: list[str]) -> ElfError:
        user = next(
            n for v, n in zip(versyms, names, strict=True) if v & VERSYM_INDEX_MASK == index
        )
        reason = f"symbol {user!r} uses version index {index}, which nothing declares"
        return ElfError(self.path, reason)
