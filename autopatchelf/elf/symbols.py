"""The dynamic symbol table of one object, decoded lazily and column-wise.

Reading an ELF file copies three raw tables (``.dynsym``, ``.gnu.version``, the dynamic
string table); :class:`DynamicSymbols` decodes them on first use with bulk operations, and
answers ld.so's binding question (:meth:`DynamicSymbols.exports`). For the index cache the
entries are packed to the 8 bytes decoding needs and kept as one payload (a tag byte, then
a marshal dump, zlib-compressed when large) that is only inflated when the symbols are used.
"""

from __future__ import annotations

import functools
import marshal
import struct
import zlib
from collections import Counter
from collections.abc import Iterable
from itertools import compress

import attrs

from autopatchelf.elf.records import (
    DefinedSymbol,
    UndefinedSymbol,
    VersionDefinition,
    VersionNeed,
)
from autopatchelf.errors import ElfError

# The symbol payload (tag byte, then a marshal dump of the three packed tables).
_PAYLOAD_PLAIN = b"M"
_PAYLOAD_ZLIB = b"Z"
_COMPRESS_FROM = 1024
_ZLIB_LEVEL = 1
_MARSHAL_VERSION = 4

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


class _SymbolColumns:
    """Exported definitions and non-weak imports, decoded column-wise: the private memo
    of one :class:`DynamicSymbols` (never handed out, so plain containers are fine).

    Built with C-level bulk operations (byte translation, ``compress``, ``map``,
    ``dict(zip(...))``) rather than Python code per symbol; the attrs records of
    :attr:`DynamicSymbols.defined`/``undefined`` are only built when asked for.
    """

    __slots__ = (
        "ambiguous",
        "by_version",
        "export_names",
        "exports",
        "import_names",
        "imports",
        "oldest",
        "visible",
    )

    def __init__(
        self,
        export_names: list[str],
        exports: list[_Export],
        import_names: list[str],
        imports: list[_Import],
        by_version: dict[tuple[str, str | None], _Export],
        visible: dict[str, _Export],
        ambiguous: frozenset[str],
        oldest: str | None,
    ) -> None:
        self.export_names = export_names
        self.exports = exports
        self.import_names = import_names
        self.imports = imports
        #: (name, version) -> export, for every definition.
        self.by_version = by_version
        #: name -> its non-hidden (default-version or unversioned) definition.
        self.visible = visible
        #: Names with more than one non-hidden definition (ld.so finds them ambiguous).
        self.ambiguous = ambiguous
        #: The object's first, oldest version name (version index 2), if it defines one.
        self.oldest = oldest


class _Tables:
    """The raw tables of :class:`DynamicSymbols`: ``.dynsym`` entries, ``.gnu.version``
    and the string table, or the cache blob's (possibly zlib-compressed) marshal dump of
    them, which is only inflated when the symbols are first used."""

    __slots__ = ("payload", "tables")

    def __init__(self, tables: tuple[bytes, bytes, bytes] | None, payload: bytes = b"") -> None:
        self.tables = tables
        #: A payload tag byte then the dump; kept so that re-encoding need not inflate.
        self.payload = payload

    def get(self, path: str) -> tuple[bytes, bytes, bytes]:
        if self.tables is None:
            self.tables = _inflate_tables(self.payload, path)
        return self.tables


@attrs.frozen(eq=False, init=False)
class DynamicSymbols:
    """The dynamic symbol table of one object, decoded lazily.

    Reading an ELF file only copies the raw ``.dynsym`` entries, the ``.gnu.version``
    array and the dynamic string table: three memory copies, no per-symbol Python work.
    :meth:`exports`, :attr:`defined` and :attr:`undefined` decode them on first use and
    cache the result. Errors found while decoding (a name offset past the string table,
    a version index nobody declares) raise :class:`~autopatchelf.errors.ElfError`.

    The cache blob keeps the entries packed to the 8 bytes decoding needs
    (:meth:`packed`), compressed when large, and :meth:`ElfFacts.from_blob` leaves them
    so until they are used. Equality compares the packed form, so a table read from a
    file equals its round trip through the blob.
    """

    #: ``struct`` byte order of the tables: ``"<"`` or ``">"``.
    byte_order: str
    count: int
    #: Bytes per entry of :attr:`table`: 24 (ELF64), 16 (ELF32) or 8 (packed).
    entry_size: int
    _tables: _Tables = attrs.field(repr=False)
    #: The version tables symbols refer to by index (the same as the ElfFacts' ones).
    version_needs: tuple[VersionNeed, ...] = attrs.field(repr=False)
    version_defs: tuple[VersionDefinition, ...] = attrs.field(repr=False)
    #: The file these came from, for error messages only.
    path: str

    def __init__(
        self,
        byte_order: str,
        count: int,
        entry_size: int,
        table: bytes,
        versym: bytes,
        strtab: bytes,
        version_needs: tuple[VersionNeed, ...] = (),
        version_defs: tuple[VersionDefinition, ...] = (),
        path: str = "",
    ) -> None:
        tables = _Tables((table, versym, strtab))
        self.__attrs_init__(
            byte_order, count, entry_size, tables, version_needs, version_defs, path
        )

    @classmethod
    def deferred(
        cls,
        byte_order: str,
        count: int,
        payload: bytes,
        version_needs: tuple[VersionNeed, ...],
        version_defs: tuple[VersionDefinition, ...],
        path: str,
    ) -> DynamicSymbols:
        """Packed symbols from a cache blob, inflated on first use."""
        symbols = cls.__new__(cls)
        symbols.__attrs_init__(
            byte_order, count, PACKED_SYM_SIZE, _Tables(None, payload), version_needs,
            version_defs, path,
        )  # fmt: skip
        return symbols

    @classmethod
    def empty(cls, path: str = "") -> DynamicSymbols:
        """The symbols of an object without a dynamic symbol table."""
        return cls("<", 0, PACKED_SYM_SIZE, b"", b"", b"", path=path)

    @classmethod
    def build(
        cls,
        defined: Iterable[DefinedSymbol] = (),
        undefined: Iterable[UndefinedSymbol] = (),
        *,
        version_needs: tuple[VersionNeed, ...] = (),
        version_defs: tuple[VersionDefinition, ...] = (),
        path: str = "",
    ) -> DynamicSymbols:
        """The symbol table an object with these exports and imports would have: real
        packed entries, string table and ``.gnu.version`` (so decoding runs as for a file).

        Versions are found by name in ``version_defs`` (definitions) and, for imports, in
        ``version_needs`` under the symbol's ``file``; a version neither declares raises
        ``ValueError``. For objects described in memory (tests, remote listings).
        """
        def_index = {d.name: d.index for d in version_defs if not d.base}
        need_index = {(n.file, v.name): v.index for n in version_needs for v in n.versions}
        strtab = bytearray(b"\0")
        offsets: dict[str, int] = {}

        def name_offset(name: str) -> int:
            if name not in offsets:
                offsets[name] = len(strtab)
                strtab.extend(name.encode("utf-8", "surrogateescape") + b"\0")
            return offsets[name]

        entries = [(0, 0, 0, 0)]  # the null symbol
        for sym in defined:
            if sym.version is None:
                index = VER_NDX_GLOBAL
            elif sym.version in def_index:
                index = def_index[sym.version]
            else:
                raise ValueError(f"{sym.name}@{sym.version}: no such version definition")
            hidden = VERSYM_HIDDEN if sym.hidden else 0
            entries.append((name_offset(sym.name), STB_GLOBAL << 4 | 2, 1, index | hidden))
        for imp in undefined:
            if imp.version is None:
                index = VER_NDX_GLOBAL
            elif imp.file is not None and (imp.file, imp.version) in need_index:
                index = need_index[(imp.file, imp.version)]
            else:
                raise ValueError(f"{imp.name}@{imp.version}: {imp.file} declares no such need")
            entries.append((name_offset(imp.name), STB_GLOBAL << 4, 0, index))
        table = b"".join(struct.pack("<IBBH", n, info, 0, shndx) for n, info, shndx, _ in entries)
        versym = struct.pack(f"<{len(entries)}H", *(v for *_, v in entries))
        return cls(
            "<", len(entries), PACKED_SYM_SIZE, table, versym, bytes(strtab),
            version_needs, version_defs, path,
        )  # fmt: skip

    @property
    def table(self) -> bytes:
        """``count`` symbol entries of :attr:`entry_size` bytes, in the file's byte order."""
        return self._tables.get(self.path)[0]

    @property
    def versym(self) -> bytes:
        """``.gnu.version``: 2 bytes per symbol; empty when the object has no DT_VERSYM."""
        return self._tables.get(self.path)[1]

    @property
    def strtab(self) -> bytes:
        """The dynamic string table (DT_STRTAB, DT_STRSZ bytes)."""
        return self._tables.get(self.path)[2]

    def __len__(self) -> int:
        return self.count

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DynamicSymbols):
            return NotImplemented
        return self._identity == other._identity

    def __hash__(self) -> int:
        return hash(self._identity)

    def packed(self) -> DynamicSymbols:
        """The same symbols with 8-byte entries (what the cache blob stores)."""
        if self.entry_size == PACKED_SYM_SIZE:
            return self
        return DynamicSymbols(
            self.byte_order,
            self.count,
            PACKED_SYM_SIZE,
            _pack_table(self),
            self.versym,
            self.strtab,
            self.version_needs,
            self.version_defs,
            self.path,
        )

    def payload(self) -> bytes:
        """The packed tables as the cache blob stores them (tag byte, then the dump)."""
        if self._tables.payload:
            return self._tables.payload
        packed = self.packed()
        dump = marshal.dumps((packed.table, packed.versym, packed.strtab), _MARSHAL_VERSION)
        if len(dump) < _COMPRESS_FROM:
            return _PAYLOAD_PLAIN + dump
        return _PAYLOAD_ZLIB + zlib.compress(dump, _ZLIB_LEVEL)

    @functools.cached_property
    def defined(self) -> tuple[DefinedSymbol, ...]:
        """Exported definitions (global, weak or unique binding), in table order."""
        columns = self._columns
        exports = columns.exports
        return tuple(
            map(
                DefinedSymbol,
                columns.export_names,
                [export[0] for export in exports],
                [export[1] for export in exports],
            )
        )

    @functools.cached_property
    def undefined(self) -> tuple[UndefinedSymbol, ...]:
        """Non-weak imports (global binding, ``st_shndx == SHN_UNDEF``), in table order."""
        columns = self._columns
        imports = columns.imports
        return tuple(
            map(
                UndefinedSymbol,
                columns.import_names,
                [required[0] for required in imports],
                [required[1] for required in imports],
            )
        )

    def exports(self, name: str, version: str | None = None) -> bool:
        """Whether ld.so would bind a reference to ``name`` (at ``version``) here.

        Follows glibc's lookup rules: a versioned reference binds to a definition of
        that version (default or hidden) or to an unversioned, non-hidden one; an
        unversioned reference binds to an unversioned or oldest-version (index 2)
        definition, or else to the single non-hidden versioned one. An object
        without version information satisfies any reference to a name it defines.
        """
        columns = self._columns
        if version is not None and (name, version) in columns.by_version:
            return True
        unversioned = columns.by_version.get((name, None))
        if unversioned is not None and (version is None or not unversioned[1]):
            return True
        if version is not None:
            return False
        if columns.oldest is not None and (name, columns.oldest) in columns.by_version:
            return True
        return name in columns.visible and name not in columns.ambiguous

    @functools.cached_property
    def _columns(self) -> _SymbolColumns:
        return _decode_columns(self)

    @functools.cached_property
    def _identity(self) -> tuple[object, ...]:
        return (
            self.byte_order,
            self.count,
            self.packed().table,
            self.versym,
            self.strtab,
            self.version_needs,
            self.version_defs,
        )


def _pack_table(symbols: DynamicSymbols) -> bytes:
    """Keep the st_name word and the st_info/st_other/st_shndx word of each entry."""
    info_at, _ = _symbol_fields(symbols)
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


def _symbol_fields(symbols: DynamicSymbols) -> tuple[int, int]:
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


def _decode_columns(symbols: DynamicSymbols) -> _SymbolColumns:
    """Select the exported definitions and non-weak imports and decode their names and
    versions, with bulk operations over whole columns."""
    count, order, size, table = symbols.count, symbols.byte_order, symbols.entry_size, symbols.table
    info_at, shndx_at = _symbol_fields(symbols)
    info = table[info_at::size]
    # 0/1 columns: st_shndx == SHN_UNDEF (both of its bytes zero), exported, imported.
    undefined = _both_zero(table[shndx_at::size], table[shndx_at + 1 :: size], count)
    is_export = _both(info.translate(_EXPORTING_INFO), undefined.translate(_IS_ZERO), count)
    is_import = _both(info.translate(_GLOBAL_INFO), undefined, count)
    with memoryview(table) as view, view.cast("I") as words:
        name_column = words[0 :: size // 4].tobytes()
    name_offsets = struct.unpack(f"{order}{count}I", name_column)
    versyms = (
        struct.unpack(f"{order}{count}H", symbols.versym)
        if symbols.versym
        else (VER_NDX_GLOBAL,) * count
    )
    names = _Names(symbols.strtab, symbols.path)
    versions = _VersionNames(symbols)
    export_names = names.at_offsets(list(compress(name_offsets, is_export)))
    exports = versions.exports(list(compress(versyms, is_export)), export_names)
    import_names = names.at_offsets(list(compress(name_offsets, is_import)))
    imports = versions.imports(list(compress(versyms, is_import)), import_names)
    export_versions = [export[0] for export in exports]
    by_version = dict(zip(zip(export_names, export_versions, strict=True), exports, strict=True))
    shown = [not export[1] for export in exports]
    visible_names = list(compress(export_names, shown))
    visible = dict(zip(visible_names, compress(exports, shown), strict=False))
    ambiguous: frozenset[str] = frozenset()
    if len(visible) != len(visible_names):
        ambiguous = frozenset(name for name, seen in Counter(visible_names).items() if seen > 1)
    return _SymbolColumns(
        export_names,
        exports,
        import_names,
        imports,
        by_version,
        visible,
        ambiguous,
        versions.def_names.get(_FIRST_NEWER_VERSION_INDEX - 1),
    )


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

    def at_offsets(self, offsets: list[int]) -> list[str]:
        text = self.text
        find = text.find
        if offsets and (max(offsets) >= len(text) or not text.endswith("\0")):
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


def _inflate_tables(payload: bytes, path: str) -> tuple[bytes, bytes, bytes]:
    """The (table, versym, strtab) of a blob's symbol payload."""
    try:
        tag, dump = payload[:1], payload[1:]
        if tag == _PAYLOAD_ZLIB:
            dump = zlib.decompress(dump)
        elif tag != _PAYLOAD_PLAIN:
            raise ValueError(f"unknown payload tag {tag!r}")
        tables = marshal.loads(dump)
        if not (isinstance(tables, tuple) and len(tables) == 3):
            raise ValueError("the symbol payload is not three tables")
        table, versym, strtab = tables
        if not all(isinstance(t, bytes) for t in tables):
            raise TypeError("a symbol table is not bytes")
        return table, versym, strtab
    except (ValueError, TypeError, EOFError, zlib.error) as exc:
        raise ElfError(path, f"corrupt facts blob ({exc})") from None
