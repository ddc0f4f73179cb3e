"""What one ELF file needs and provides, as frozen records.

These are the facts the resolver reasons about. They are produced by the fast reader in
:mod:`autopatchelf.elf._reader` (``ElfFacts.read(path)``) and round-trip through the
index cache (``to_blob``/``from_blob``) without touching the file again.
"""

from __future__ import annotations

import enum
import functools
import marshal
import os
import struct
import zlib
from collections import Counter
from collections.abc import Iterator
from itertools import compress

import attrs

from autopatchelf.errors import ElfError


class ElfClass(enum.IntEnum):
    ELF32 = 1
    ELF64 = 2


class Endian(enum.IntEnum):
    LITTLE = 1
    BIG = 2


class ElfType(enum.Enum):
    """The kind of object, as ld.so and ``file`` tell them apart."""

    RELOCATABLE = "rel"
    EXECUTABLE = "exec"  # ET_EXEC: a non-PIE executable
    PIE = "pie"  # ET_DYN with DF_1_PIE (or an interpreter and no soname)
    SHARED = "dyn"  # ET_DYN: a shared library
    CORE = "core"
    OTHER = "other"


# DT_FLAGS / DT_FLAGS_1 bits that matter to the resolver.
DF_ORIGIN = 0x1
DF_1_NODEFLIB = 0x800
DF_1_PIE = 0x08000000

# Version flags (vd_flags / vna_flags).
VER_FLG_BASE = 0x1
VER_FLG_WEAK = 0x2


@attrs.frozen
class VersionRequirement:
    """One ``Vernaux`` entry: a version name required from one needed file."""

    name: str
    hash: int
    weak: bool
    #: The version index symbols use to refer to this requirement (``vna_other``).
    index: int


@attrs.frozen
class VersionNeed:
    """One ``Verneed`` entry: every version this object requires from ``file``."""

    #: The needed file name as written (normally a DT_NEEDED soname).
    file: str
    versions: tuple[VersionRequirement, ...]


@attrs.frozen
class VersionDefinition:
    """One ``Verdef`` entry; ``name`` is its *first* aux name, the one ld.so matches."""

    name: str
    hash: int
    index: int
    #: The base definition names the object itself (its soname), not a version.
    base: bool
    weak: bool = False


@attrs.frozen
class DefinedSymbol:
    """A dynamic symbol this object exports, with the version it is defined at.

    ``hidden`` is set for non-default versions (``foo@VER`` rather than ``foo@@VER``):
    ld.so still binds a versioned reference to them, but not an unversioned one.
    """

    name: str
    version: str | None
    hidden: bool = False


@attrs.frozen
class UndefinedSymbol:
    """A non-weak dynamic symbol this object imports.

    ``version`` and ``file`` come from the version-requirement table: the version name
    and the needed file that must define it. Both are ``None`` for unversioned imports.
    """

    name: str
    version: str | None
    file: str | None


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


@attrs.frozen(eq=False)
class _SymbolColumns:
    """Exported definitions and non-weak imports, decoded column-wise.

    Built with C-level bulk operations (byte translation, ``compress``, ``map``,
    ``dict(zip(...))``) rather than Python code per symbol; the attrs records of
    :attr:`DynamicSymbols.defined`/``undefined`` are only built when asked for.
    """

    export_names: list[str]
    exports: list[_Export]
    import_names: list[str]
    imports: list[_Import]
    #: (name, version) -> export, for every definition.
    by_version: dict[tuple[str, str | None], _Export]
    #: name -> its non-hidden (default-version or unversioned) definition.
    visible: dict[str, _Export]
    #: Names with more than one non-hidden definition (ld.so finds them ambiguous).
    ambiguous: frozenset[str]
    #: The object's first, oldest version name (version index 2), if it defines one.
    oldest: str | None


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
    def _deferred(
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

    def _payload(self) -> bytes:
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


@attrs.frozen
class ElfFacts:
    """Everything autopatchelf needs to know about one ELF file.

    Read with :meth:`ElfFacts.read`; every field is decoded eagerly except the symbol
    lists, which :class:`DynamicSymbols` decodes on first use (most libraries in a store
    are never asked for their symbols).
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

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> ElfFacts:
        """Read the facts of ``path``; raises :class:`~autopatchelf.errors.ElfError`."""
        from autopatchelf.elf._reader import read_facts

        return read_facts(path)

    def to_blob(self) -> bytes:
        """A compact serialisation (symbols included) for the index cache.

        A marshal dump of plain tuples; the symbol tables in it are packed to 8 bytes per
        entry and zlib-compressed when large. ``from_blob(to_blob())`` equals the facts
        (symbols included) but the bytes of two dumps of equal facts may differ.
        """
        return _encode_blob(self)

    @classmethod
    def from_blob(cls, blob: bytes, path: str) -> ElfFacts:
        """The facts :meth:`to_blob` saved, for the file now at ``path``.

        Raises :class:`ElfError` on a corrupt blob, or one from another format version.
        The symbol tables stay compressed until the symbols are first used (a corrupt
        symbol payload raises :class:`ElfError` then).
        """
        return _decode_blob(blob, path)

    @property
    def rpath_dirs(self) -> tuple[str, ...]:
        return _split_path(self.rpath)

    @property
    def runpath_dirs(self) -> tuple[str, ...]:
        return _split_path(self.runpath)

    @property
    def nodeflib(self) -> bool:
        return bool(self.flags_1 & DF_1_NODEFLIB)

    @property
    def is_pie(self) -> bool:
        return self.type is ElfType.PIE

    @property
    def defined_versions(self) -> frozenset[str]:
        """Version names this object defines (first aux names, base excluded)."""
        return frozenset(d.name for d in self.version_defs if not d.base)


def _split_path(value: str | None) -> tuple[str, ...]:
    # ld.so treats an empty element as the current directory; we keep it as "".
    if value is None:
        return ()
    return tuple(value.split(":"))


# The cache blob: a marshal dump of plain tuples. The symbol tables inside it are a
# separate payload (a tag byte, then a marshal dump, zlib-compressed when large) that
# from_blob leaves as it is until the symbols are used: most never are. Bump
# _BLOB_FORMAT whenever the layout changes: old blobs are then rejected as corrupt, and
# the index re-reads their files.
_BLOB_FORMAT = 2
_PAYLOAD_PLAIN = b"M"
_PAYLOAD_ZLIB = b"Z"
_COMPRESS_FROM = 1024
_ZLIB_LEVEL = 1
_MARSHAL_VERSION = 4


def _encode_blob(facts: ElfFacts) -> bytes:
    symbols = facts.symbols
    record = (
        _BLOB_FORMAT,
        int(facts.elf_class),
        int(facts.endian),
        facts.machine,
        facts.osabi,
        facts.type.value,
        facts.interpreter,
        facts.soname,
        facts.needed,
        facts.rpath,
        facts.runpath,
        facts.flags,
        facts.flags_1,
        tuple(
            (need.file, tuple((v.name, v.hash, v.weak, v.index) for v in need.versions))
            for need in facts.version_needs
        ),
        tuple((d.name, d.hash, d.index, d.base, d.weak) for d in facts.version_defs),
        symbols.byte_order,
        symbols.count,
        symbols._payload(),
    )
    return marshal.dumps(record, _MARSHAL_VERSION)


def _decode_blob(blob: bytes, path: str) -> ElfFacts:
    try:
        return _facts_from_record(_load_record(blob), path)
    except (ValueError, TypeError, EOFError) as exc:
        raise ElfError(path, f"corrupt facts blob ({exc})") from None


def _load_record(blob: bytes) -> tuple[object, ...]:
    record = marshal.loads(blob)
    if not isinstance(record, tuple) or not record or record[0] != _BLOB_FORMAT:
        raise ValueError("unknown blob format")
    return record


def _inflate_tables(payload: bytes, path: str) -> tuple[bytes, bytes, bytes]:
    """The (table, versym, strtab) of a blob's symbol payload."""
    try:
        tag, dump = payload[:1], payload[1:]
        if tag == _PAYLOAD_ZLIB:
            dump = zlib.decompress(dump)
        elif tag != _PAYLOAD_PLAIN:
            raise ValueError(f"unknown payload tag {tag!r}")
        table, versym, strtab = _tuple(marshal.loads(dump))
        return _bytes(table), _bytes(versym), _bytes(strtab)
    except (ValueError, TypeError, EOFError, zlib.error) as exc:
        raise ElfError(path, f"corrupt facts blob ({exc})") from None


def _facts_from_record(record: tuple[object, ...], path: str) -> ElfFacts:
    (
        _,
        elf_class,
        endian,
        machine,
        osabi,
        elf_type,
        interpreter,
        soname,
        needed,
        rpath,
        runpath,
        flags,
        flags_1,
        needs_record,
        defs_record,
        byte_order,
        count,
        payload,
    ) = record
    version_needs = tuple(
        VersionNeed(_str(file), tuple(_requirement(v) for v in _tuple(versions)))
        for file, versions in _pairs(needs_record)
    )
    version_defs = tuple(_definition(d) for d in _tuple(defs_record))
    symbols = DynamicSymbols._deferred(
        _str(byte_order), _int(count), _bytes(payload), version_needs, version_defs, path
    )
    return ElfFacts(
        path=path,
        elf_class=ElfClass(_int(elf_class)),
        endian=Endian(_int(endian)),
        machine=_int(machine),
        osabi=_int(osabi),
        type=ElfType(elf_type),
        interpreter=_optional_str(interpreter),
        soname=_optional_str(soname),
        needed=tuple(_str(n) for n in _tuple(needed)),
        rpath=_optional_str(rpath),
        runpath=_optional_str(runpath),
        flags=_int(flags),
        flags_1=_int(flags_1),
        version_needs=version_needs,
        version_defs=version_defs,
        symbols=symbols,
    )


def _requirement(record: object) -> VersionRequirement:
    name, hash_, weak, index = _tuple(record)
    return VersionRequirement(_str(name), _int(hash_), _bool(weak), _int(index))


def _definition(record: object) -> VersionDefinition:
    name, hash_, index, base, weak = _tuple(record)
    return VersionDefinition(_str(name), _int(hash_), _int(index), _bool(base), _bool(weak))


def _tuple(value: object) -> tuple[object, ...]:
    if not isinstance(value, tuple):
        raise TypeError(f"expected a tuple, got {type(value).__name__}")
    return value


def _pairs(value: object) -> Iterator[tuple[object, object]]:
    for item in _tuple(value):
        first, second = _tuple(item)
        yield first, second


def _int(value: object) -> int:
    if not isinstance(value, int):
        raise TypeError(f"expected an int, got {type(value).__name__}")
    return value


def _bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected a bool, got {type(value).__name__}")
    return value


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a str, got {type(value).__name__}")
    return value


def _optional_str(value: object) -> str | None:
    return None if value is None else _str(value)


def _bytes(value: object) -> bytes:
    if not isinstance(value, bytes):
        raise TypeError(f"expected bytes, got {type(value).__name__}")
    return value
