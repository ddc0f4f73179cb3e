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
from collections.abc import Callable, Iterable

import attrs

from autopatchelf.elf._columns import (
    PACKED_SYM_SIZE,
    STB_GLOBAL,
    SYM32_SIZE,
    SYM64_SIZE,
    VER_NDX_GLOBAL,
    VERSYM_HIDDEN,
    SymbolColumns,
    decode_columns,
    decode_imports,
    pack_table,
)
from autopatchelf.elf.records import (
    DefinedSymbol,
    UndefinedSymbol,
    VersionDefinition,
    VersionNeed,
)
from autopatchelf.errors import ElfError
from autopatchelf.frozen import Record

__all__ = ["PACKED_SYM_SIZE", "SYM32_SIZE", "SYM64_SIZE", "DynamicSymbols"]

# The symbol payload (tag byte, then a marshal dump of the three packed tables).
_PAYLOAD_PLAIN = b"M"
_PAYLOAD_ZLIB = b"Z"
_COMPRESS_FROM = 1024
_ZLIB_LEVEL = 1
_MARSHAL_VERSION = 4


#: What gives a payload stored apart (the index keeps symbols out of the facts it reads
#: for every candidate): called at most once, when the symbols are first used.
PayloadLoader = Callable[[], bytes]


class _Tables:
    """The raw tables of :class:`DynamicSymbols`: ``.dynsym`` entries, ``.gnu.version``
    and the string table, or the cache blob's (possibly zlib-compressed) marshal dump of
    them, which is only inflated when the symbols are first used; or what loads that dump
    when it is first needed. A pickle carries the dump (never the loader)."""

    __slots__ = ("_load", "payload", "tables")

    def __init__(
        self,
        tables: tuple[bytes, bytes, bytes] | None,
        payload: bytes = b"",
        load: PayloadLoader | None = None,
    ) -> None:
        self.tables = tables
        #: A payload tag byte then the dump; kept so that re-encoding need not inflate.
        self.payload = payload
        self._load = load

    def stored(self) -> bytes:
        """The payload (loaded now if it is stored apart; empty if there is none)."""
        if self._load is not None:
            self.payload, self._load = self._load(), None
        return self.payload

    def get(self, path: str) -> tuple[bytes, bytes, bytes]:
        if self.tables is None:
            self.tables = _inflate_tables(self.stored(), path)
        return self.tables

    def __reduce__(self) -> tuple[type[_Tables], tuple[object, ...]]:
        return (_Tables, (self.tables, self.stored()))


@attrs.frozen(eq=False, init=False, repr=False)
class DynamicSymbols(Record):
    """The dynamic symbol table of one object, decoded lazily.

    Reading an ELF file only copies the raw ``.dynsym`` entries, the ``.gnu.version``
    array and the dynamic string table: three memory copies, no per-symbol Python work.
    :meth:`exports`, ``defined`` and ``undefined`` decode them on first use and
    cache the result. Errors found while decoding (a name offset past the string table,
    a version index nobody declares) raise :class:`~autopatchelf.errors.ElfError`.

    The cache blob keeps the entries packed to the 8 bytes decoding needs
    (:meth:`packed`), compressed when large, and :meth:`autopatchelf.ElfFacts.from_blob` leaves them
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
        payload: bytes | PayloadLoader,
        version_needs: tuple[VersionNeed, ...],
        version_defs: tuple[VersionDefinition, ...],
        path: str,
    ) -> DynamicSymbols:
        """Packed symbols from a cache blob, inflated on first use; ``payload`` is the
        blob's, or what loads it (then only on first use too)."""
        tables = (
            _Tables(None, payload) if isinstance(payload, bytes) else _Tables(None, b"", payload)
        )
        symbols = cls.__new__(cls)
        symbols.__attrs_init__(
            byte_order, count, PACKED_SYM_SIZE, tables, version_needs, version_defs, path
        )
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
            pack_table(self),
            self.versym,
            self.strtab,
            self.version_needs,
            self.version_defs,
            self.path,
        )

    def payload(self) -> bytes:
        """The packed tables as the cache blob stores them (tag byte, then the dump)."""
        stored = self._tables.stored()
        if stored:
            return stored
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
        import_names, imports = self._imports
        return tuple(
            map(
                UndefinedSymbol,
                import_names,
                [required[0] for required in imports],
                [required[1] for required in imports],
            )
        )

    @functools.cached_property
    def defined_names(self) -> frozenset[str]:
        """The names of :attr:`defined` (decoded once per object)."""
        if not self.count:
            return frozenset()
        return frozenset(self._columns.export_names)

    @functools.cached_property
    def unversioned_imports(self) -> frozenset[str]:
        """The names of :attr:`undefined` imported without a version."""
        if not self.count:
            return frozenset()
        import_names, imports = self._imports
        return frozenset(
            name
            for name, (version, _) in zip(import_names, imports, strict=True)
            if version is None
        )

    @functools.cached_property
    def versioned_imports(self) -> tuple[tuple[str, str, str], ...]:
        """(needed file, name, version) of each :attr:`undefined` symbol the version table
        ties to a file, in table order, without building a record per import."""
        if not self.count:
            return ()
        import_names, imports = self._imports
        return tuple(
            (file, name, version)
            for name, (version, file) in zip(import_names, imports, strict=True)
            if version is not None and file is not None
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
    def _columns(self) -> SymbolColumns:
        self._imports  # noqa: B018 - raises what the whole table would, first
        return decode_columns(self)

    @functools.cached_property
    def _imports(self) -> tuple[list[str], list[tuple[str | None, str | None]]]:
        """Import names and (version, needed file): decoded without the exports' names,
        which a requester's checks never read."""
        return decode_imports(self)

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
