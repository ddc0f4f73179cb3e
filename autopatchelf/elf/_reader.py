"""A fast, bounds-checked reader of the facts in :mod:`autopatchelf.elf.facts`.

Indexing a store reads tens of thousands of libraries, so this reader touches as little
of each file as it can: the ELF header, the program headers, PT_INTERP, PT_DYNAMIC and
the tables the dynamic section points at (string table, hash table, version tables,
``.dynsym`` and ``.gnu.version``). Section headers are read only when no hash table
tells the number of dynamic symbols, so files without them work.

Dynamic tags hold virtual addresses; they are mapped to file offsets through the PT_LOAD
segments. Every read is checked against the segment that holds it and the file size,
every walk over untrusted counts is bounded (the version chains link entries by unsigned
offsets, so they only move forward and end inside their segment), and every problem
raises :class:`~autopatchelf.errors.ElfError` with the path and a one-line reason.

I/O: a file up to :data:`SMALL_FILE_BYTES` is read whole with one ``read``. A larger one
is read in pieces with ``pread``: its first 64 KiB (headers, and often every table),
then each table that lies elsewhere (a big library's PT_DYNAMIC sits megabytes further
on). That beats ``mmap``, whose page faults cost more than copying the few hundred
kilobytes the tables take even in the largest libraries, and a file truncated while it
is read cannot crash the process with SIGBUS.

Symbol lists are not decoded here: the raw ``.dynsym`` entries are copied into
:class:`~autopatchelf.elf.symbols.DynamicSymbols`, which decodes them on first use.

The reader returns the fields of :class:`~autopatchelf.elf.facts.ElfFacts` after ``path``,
in order (:data:`Fields`); ``ElfFacts.read``/``ElfFacts.parse`` build the record.
"""

from __future__ import annotations

import errno
import os
import stat
import struct
from typing import Final

from autopatchelf.elf.records import (
    DF_1_PIE,
    ELF_MAGIC,
    VER_FLG_BASE,
    VER_FLG_WEAK,
    ElfClass,
    ElfType,
    Endian,
    VersionDefinition,
    VersionNeed,
    VersionRequirement,
)
from autopatchelf.elf.symbols import SYM32_SIZE, SYM64_SIZE, DynamicSymbols
from autopatchelf.errors import ElfError

__all__ = ["SMALL_FILE_BYTES", "Fields", "parse_fields", "read_fields"]

#: ElfFacts' fields after ``path``: class, byte order, machine, OS ABI, type, interpreter,
#: soname, needed, rpath, runpath, flags, flags_1, version needs and definitions, symbols.
Fields = tuple[
    ElfClass, Endian, int, int, ElfType, str | None, str | None, tuple[str, ...],
    str | None, str | None, int, int, tuple[VersionNeed, ...],
    tuple[VersionDefinition, ...], DynamicSymbols,
]  # fmt: skip

#: Files up to this size are read whole; larger ones are read in pieces.
SMALL_FILE_BYTES: Final = 256 * 1024
#: How much of a large file is read first, and the least read at once after that.
_HEAD_BYTES: Final = 64 * 1024
_WINDOW_BYTES: Final = 8 * 1024

_IDENT_SIZE: Final = 16
_EV_CURRENT: Final = 1

# e_type
_ET_REL, _ET_EXEC, _ET_DYN, _ET_CORE = 1, 2, 3, 4
# p_type
_PT_LOAD, _PT_DYNAMIC, _PT_INTERP = 1, 2, 3
# The real e_phnum lives in section 0's sh_info when e_phnum is PN_XNUM.
_PN_XNUM: Final = 0xFFFF
# sh_type of .dynsym
_SHT_DYNSYM: Final = 11

# Dynamic tags.
_DT_NULL = 0
_DT_NEEDED = 1
_DT_HASH = 4
_DT_STRTAB = 5
_DT_SYMTAB = 6
_DT_STRSZ = 10
_DT_SYMENT = 11
_DT_SONAME = 14
_DT_RPATH = 15
_DT_RUNPATH = 29
_DT_FLAGS = 30
_DT_GNU_HASH = 0x6FFFFEF5
_DT_VERSYM = 0x6FFFFFF0
_DT_FLAGS_1 = 0x6FFFFFFB
_DT_VERDEF = 0x6FFFFFFC
_DT_VERDEFNUM = 0x6FFFFFFD
_DT_VERNEED = 0x6FFFFFFE
_DT_VERNEEDNUM = 0x6FFFFFFF

# Verneed/Vernaux/Verdef/Verdaux have the same layout in ELF32 and ELF64.
_VERNEED_SIZE: Final = 16
_VERNAUX_SIZE: Final = 16
_VERDEF_SIZE: Final = 20
_VERDAUX_SIZE: Final = 8
_VERSION_REVISION: Final = 1
#: Longest run of Vernaux entries decoded with one unpack (longer ones walk the chain).
_MAX_RUN: Final = 64
#: Most section header tables read with one unpack (more sections are walked).
_MAX_SECTION_RUN: Final = 1024
_GNU_HASH_HEADER: Final = 16
#: Version indexes are 15 bits: no object can use more version entries than this.
_MAX_VERSIONS: Final = 0x8000

_OS_REASONS: Final = {
    errno.ENOENT: "no such file",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EISDIR: "is a directory",
    errno.ENOTDIR: "a path component is not a directory",
    errno.ELOOP: "too many levels of symbolic links",
}


class _Layout:
    """The struct formats of one ELF class and byte order."""

    __slots__ = (
        "byte_order",
        "dyn_word",
        "ehdr",
        "elf_class",
        "endian",
        "phdr",
        "phdr_runs",
        "section_types_runs",
        "shdr",
        "sym_size",
        "u32",
        "verdaux",
        "verdef",
        "vernaux",
        "vernaux_runs",
        "verneed",
        "word_size",
    )

    def __init__(self, elf_class: ElfClass, endian: Endian) -> None:
        is64 = elf_class is ElfClass.ELF64
        order = "<" if endian is Endian.LITTLE else ">"
        self.elf_class = elf_class
        self.endian = endian
        self.byte_order = order
        word = "Q" if is64 else "I"
        self.word_size = 8 if is64 else 4
        self.dyn_word = word
        # e_type .. e_shstrndx (after e_ident)
        self.ehdr = struct.Struct(f"{order}HHI{word}{word}{word}IHHHHHH")
        # Program headers, unpacked to (p_type, p_offset, p_vaddr, p_filesz) only.
        self.phdr = "I4xQQ8xQ16x" if is64 else "III4xI12x"
        # Section headers, unpacked to (sh_type, sh_offset, sh_size, sh_info, sh_entsize).
        self.shdr = struct.Struct(f"{order}4xI16xQQ4xI8xQ" if is64 else f"{order}4xI8xII4xI4xI")
        self.sym_size = SYM64_SIZE if is64 else SYM32_SIZE
        self.u32 = struct.Struct(f"{order}I")
        self.verneed = struct.Struct(f"{order}HHIII")  # version, cnt, file, aux, next
        self.vernaux = struct.Struct(f"{order}IHHII")  # hash, flags, other, name, next
        self.verdef = struct.Struct(f"{order}HHHHIII")  # version, flags, ndx, cnt, hash, aux, next
        self.verdaux = struct.Struct(f"{order}II")  # name, next
        self.phdr_runs: dict[int, struct.Struct] = {}
        self.section_types_runs: dict[int, struct.Struct] = {}
        self.vernaux_runs: dict[int, struct.Struct] = {}

    def program_header_fields(self, data: bytes, position: int, count: int) -> tuple[int, ...]:
        """(p_type, p_offset, p_vaddr, p_filesz) of ``count`` program headers, flattened."""
        if count > _MAX_SECTION_RUN:  # rare: no giant struct format for it
            one = struct.Struct(f"{self.byte_order}{self.phdr}")
            table = data[position : position + count * one.size]
            return tuple(field for fields in one.iter_unpack(table) for field in fields)
        run = self.phdr_runs.get(count)
        if run is None:
            run = struct.Struct(f"{self.byte_order}{self.phdr * count}")
            if len(self.phdr_runs) < _MAX_RUN:
                self.phdr_runs[count] = run
        return run.unpack_from(data, position)

    def section_types_run(self, count: int) -> struct.Struct:
        """The format of the sh_type fields of ``count`` section headers."""
        run = self.section_types_runs.get(count)
        if run is None:
            skip = self.shdr.size - 8
            run = struct.Struct(f"{self.byte_order}{f'4xI{skip}x' * count}")
            if len(self.section_types_runs) < _MAX_RUN:
                self.section_types_runs[count] = run
        return run

    def vernaux_run(self, count: int) -> struct.Struct:
        """The format of ``count`` consecutive Vernaux entries (count <= _MAX_RUN)."""
        run = self.vernaux_runs.get(count)
        if run is None:
            run = self.vernaux_runs[count] = struct.Struct(f"{self.byte_order}{'IHHII' * count}")
        return run


_LAYOUTS: Final = {(int(c), int(e)): _Layout(c, e) for c in ElfClass for e in Endian}
_PHDR_SIZES: Final = {ElfClass.ELF32: 32, ElfClass.ELF64: 56}

#: A PT_LOAD segment's file part: (first vaddr, end vaddr, file offset).
_Load = tuple[int, int, int]


def read_fields(path: str | os.PathLike[str]) -> Fields:
    """Read the facts of the file at ``path``.

    Raises :class:`~autopatchelf.errors.ElfError` (and nothing else) when the file
    cannot be opened or is not an ELF object this reader understands.
    """
    name = os.fspath(path)
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise ElfError(name, _os_reason(exc)) from None
    try:
        size = _regular_file_size(fd, name)
        if size <= SMALL_FILE_BYTES:
            data = os.read(fd, size)
            return _parse(_Image(name, data, len(data), None))
        return _parse(_Image(name, os.pread(fd, _HEAD_BYTES, 0), size, fd))
    except OSError as exc:
        raise ElfError(name, _os_reason(exc)) from None
    finally:
        os.close(fd)


def parse_fields(data: bytes, path: str) -> Fields:
    """The facts of an ELF image already in memory; ``path`` names it in errors."""
    return _parse(_Image(path, data, len(data), None))


def _parse(image: _Image) -> Fields:
    try:
        return image.facts()
    except ElfError:
        raise
    except (struct.error, ValueError, IndexError, OverflowError) as exc:
        # A safety net: the explicit checks should catch malformed input first.
        raise image.error(f"malformed ELF file ({exc})") from None


def _regular_file_size(fd: int, path: str) -> int:
    info = os.fstat(fd)
    if stat.S_ISDIR(info.st_mode):
        raise ElfError(path, "is a directory")
    if not stat.S_ISREG(info.st_mode):
        raise ElfError(path, "not a regular file")
    return info.st_size


def _os_reason(exc: OSError) -> str:
    reason = _OS_REASONS.get(exc.errno or 0)
    return reason or f"cannot read ({exc.strerror or type(exc).__name__})"


class _Image:
    """One ELF image being read: its bytes (all of them, or a window on a large file
    read with ``pread``), its layout and its PT_LOAD segments.

    Every read goes through :meth:`fetch` or :meth:`read`, which check it against the
    file size; every reason for rejecting the file is an :class:`ElfError`.
    """

    __slots__ = ("base", "data", "fd", "layout", "loads", "path", "sections", "size", "strtab")

    def __init__(self, path: str, data: bytes, size: int, fd: int | None) -> None:
        self.path = path
        #: The bytes of file offsets [base, base + len(data)); all of them when fd is None.
        self.data = data
        self.base = 0
        self.size = size
        self.fd = fd
        self.layout = _LAYOUTS[1, 1]
        self.loads: tuple[_Load, ...] = ()
        #: The section header table's offset and entry count ((0, 0) without one).
        self.sections = (0, 0)
        self.strtab = b""

    def error(self, reason: str) -> ElfError:
        return ElfError(self.path, reason)

    # -- reading -------------------------------------------------------------------------

    def fetch(self, offset: int, size: int, what: str) -> tuple[bytes, int]:
        """A buffer holding the file's bytes [offset, offset + size) and where ``offset``
        is in it (reading a new window of a large file when needed)."""
        if offset + size > self.size:
            raise self.error(f"{what} at {offset:#x} (+{size:#x}) is past the end of the file")
        position = offset - self.base
        if position >= 0 and position + size <= len(self.data):
            return self.data, position
        length = min(max(size, _WINDOW_BYTES), self.size - offset)
        self.data, self.base = self.pread(offset, length, size), offset
        return self.data, 0

    def read(self, offset: int, size: int, what: str) -> bytes:
        """A copy of the file's bytes [offset, offset + size)."""
        if offset + size > self.size:
            raise self.error(f"{what} at {offset:#x} (+{size:#x}) is past the end of the file")
        position = offset - self.base
        if position >= 0 and position + size <= len(self.data):
            return self.data[position : position + size]
        return self.pread(offset, size, size)

    def pread(self, offset: int, length: int, at_least: int) -> bytes:
        if self.fd is None:  # the whole file is in memory: nothing more to read
            raise self.error(f"offset {offset:#x} is past the end of the file")
        data = os.pread(self.fd, length, offset)
        if len(data) < at_least:
            raise self.error("the file was truncated while being read")
        return data

    # -- the whole record ----------------------------------------------------------------

    def facts(self) -> Fields:
        osabi = self.identify()
        e_type, machine, phoff, shoff, phentsize, phnum, shentsize, shnum = self.header()
        self.sections = self.section_table(shoff, shentsize, shnum)
        if phnum == _PN_XNUM:
            phnum = self.extended_phnum()
        dynamic, interp = self.program_headers(phoff, phentsize, phnum)
        interpreter = self.interpreter(interp)
        if dynamic is None:
            tags: dict[int, int] = {}
            needed_offsets: tuple[int, ...] = ()
        else:
            tags, needed_offsets = self.dynamic_entries(dynamic)
            self.strtab = self.string_table(tags)
        string = self.string
        soname = string(tags[_DT_SONAME], "DT_SONAME") if _DT_SONAME in tags else None
        flags_1 = tags.get(_DT_FLAGS_1, 0)
        version_needs = self.version_needs(tags)
        version_defs = self.version_defs(tags)
        layout = self.layout
        return (
            layout.elf_class,
            layout.endian,
            machine,
            osabi,
            _elf_type(e_type, flags_1, interpreter, soname),
            interpreter,
            soname,
            tuple([string(offset, "DT_NEEDED") for offset in needed_offsets]),
            string(tags[_DT_RPATH], "DT_RPATH") if _DT_RPATH in tags else None,
            string(tags[_DT_RUNPATH], "DT_RUNPATH") if _DT_RUNPATH in tags else None,
            tags.get(_DT_FLAGS, 0),
            flags_1,
            version_needs,
            version_defs,
            self.dynamic_symbols(tags, version_needs, version_defs),
        )

    # -- headers -------------------------------------------------------------------------

    def identify(self) -> int:
        """Check e_ident and choose the layout; returns the OS ABI byte."""
        ident = self.data[:_IDENT_SIZE]
        if ident[:4] != ELF_MAGIC:
            raise self.error("not an ELF file (bad magic)")
        if len(ident) < _IDENT_SIZE:
            raise self.error("truncated ELF identification")
        elf_class, data, version, osabi = ident[4], ident[5], ident[6], ident[7]
        layout = _LAYOUTS.get((elf_class, data))
        if layout is None:
            raise self.error(f"unsupported ELF class {elf_class} / data encoding {data}")
        if version != _EV_CURRENT:
            raise self.error(f"unsupported ELF identification version {version}")
        self.layout = layout
        return osabi

    def header(self) -> tuple[int, int, int, int, int, int, int, int]:
        """e_type, e_machine, e_phoff, e_shoff, e_phentsize, e_phnum, e_shentsize, e_shnum."""
        header = self.layout.ehdr
        if _IDENT_SIZE + header.size > self.size:
            raise self.error("truncated ELF header")
        e_type, machine, _, _, phoff, shoff, _, _, phentsize, phnum, shentsize, shnum, _ = (
            header.unpack_from(*self.fetch(_IDENT_SIZE, header.size, "ELF header"))
        )
        return e_type, machine, phoff, shoff, phentsize, phnum, shentsize, shnum

    def section_table(self, shoff: int, shentsize: int, shnum: int) -> tuple[int, int]:
        """The offset and entry count of the section header table ((0, 0) without one).

        ld.so never reads section headers, but a table past the end of the file means a
        truncated file or a lying e_shoff: both are rejected."""
        if shoff == 0:
            return 0, 0
        entry = self.layout.shdr
        if shentsize != entry.size:
            raise self.error(f"e_shentsize is {shentsize}, expected {entry.size}")
        if shnum == 0:  # more than SHN_LORESERVE sections: section 0's sh_size counts them
            shnum = entry.unpack_from(*self.fetch(shoff, entry.size, "section header 0"))[2]
        if shoff + shnum * entry.size > self.size:
            raise self.error(
                f"the section header table (e_shoff {shoff:#x}) is past the end of the file"
            )
        return shoff, shnum

    def section_headers(self) -> tuple[tuple[int, ...], ...]:
        """Each section header's (type, offset, size, info, entsize)."""
        shoff, shnum = self.sections
        entry = self.layout.shdr
        table = self.read(shoff, shnum * entry.size, "section header table")
        return tuple(entry.iter_unpack(table))

    def extended_phnum(self) -> int:
        sections = self.section_headers()
        if not sections:
            raise self.error("e_phnum is PN_XNUM but there is no section header 0")
        return sections[0][3]

    def program_headers(
        self, phoff: int, phentsize: int, phnum: int
    ) -> tuple[tuple[int, int] | None, tuple[int, int] | None]:
        """Record the PT_LOAD file parts; return (offset, size) of PT_DYNAMIC, PT_INTERP."""
        if phnum == 0:
            return None, None
        layout = self.layout
        if phentsize != _PHDR_SIZES[layout.elf_class]:
            expected = _PHDR_SIZES[layout.elf_class]
            raise self.error(f"e_phentsize is {phentsize}, expected {expected}")
        data, position = self.fetch(phoff, phnum * phentsize, "program header table (e_phoff)")
        fields = layout.program_header_fields(data, position, phnum)
        types, offsets, vaddrs, sizes = fields[0::4], fields[1::4], fields[2::4], fields[3::4]
        loads: list[_Load] = []
        file_size = self.size
        for p_type, offset, vaddr, size in zip(types, offsets, vaddrs, sizes, strict=False):
            if p_type == _PT_LOAD:
                if offset + size > file_size:
                    raise self.error("a PT_LOAD segment extends past the end of the file")
                loads.append((vaddr, vaddr + size, offset))
        self.loads = tuple(loads)
        dynamic = interp = None
        if _PT_DYNAMIC in types:
            first = types.index(_PT_DYNAMIC)
            dynamic = (offsets[first], sizes[first])
        if _PT_INTERP in types:
            first = types.index(_PT_INTERP)
            interp = (offsets[first], sizes[first])
        return dynamic, interp

    def interpreter(self, interp: tuple[int, int] | None) -> str | None:
        if interp is None:
            return None
        raw = self.read(*interp, "PT_INTERP")
        end = raw.find(b"\0")
        return (raw if end < 0 else raw[:end]).decode("utf-8", "surrogateescape")

    # -- addresses -----------------------------------------------------------------------

    def locate(self, address: int, what: str) -> tuple[int, int]:
        """The file offset of ``address`` and the end offset of its segment's file part."""
        for start, end, offset in self.loads:
            if start <= address < end:
                return offset + address - start, offset + end - start
        raise self.error(f"{what} address {address:#x} is not in any PT_LOAD segment")

    def region(self, address: int, size: int, what: str) -> int:
        """The file offset of ``size`` bytes at ``address``, inside one PT_LOAD segment."""
        offset, limit = self.locate(address, what)
        if offset + size > limit:
            raise self.error(f"{what} ({size:#x} bytes) runs past the end of its segment")
        return offset

    # -- the dynamic section and its string table ---------------------------------------

    def dynamic_entries(self, dynamic: tuple[int, int]) -> tuple[dict[int, int], tuple[int, ...]]:
        """Dynamic tags up to DT_NULL: the last value of each tag (ld.so keeps the last
        one too), and the DT_NEEDED string offsets in order."""
        offset, size = dynamic
        layout = self.layout
        count = size // (2 * layout.word_size)
        data, position = self.fetch(offset, size, "PT_DYNAMIC")
        words = struct.unpack_from(
            f"{layout.byte_order}{2 * count}{layout.dyn_word}", data, position
        )
        tags, values = words[0::2], words[1::2]
        if _DT_NULL in tags:
            end = tags.index(_DT_NULL)
            tags, values = tags[:end], values[:end]
        # zip(strict=False): tags and values have the same length by construction.
        return dict(zip(tags, values, strict=False)), _values_of(_DT_NEEDED, tags, values)

    def string_table(self, tags: dict[int, int]) -> bytes:
        if _DT_STRTAB not in tags:
            return b""
        address = tags[_DT_STRTAB]
        if _DT_STRSZ in tags:
            size = tags[_DT_STRSZ]
            if size == 0:
                return b""
            return self.read(self.region(address, size, "DT_STRTAB"), size, "DT_STRTAB")
        offset, limit = self.locate(address, "DT_STRTAB")
        return self.read(offset, limit - offset, "DT_STRTAB")

    def string(self, offset: int, what: str) -> str:
        strtab = self.strtab
        end = strtab.find(b"\0", offset)
        if end < 0:
            raise self.error(f"{what} string offset {offset:#x} is past the string table")
        return strtab[offset:end].decode("utf-8", "surrogateescape")

    def string_bytes(self, offset: int, what: str) -> bytes:
        strtab = self.strtab
        end = strtab.find(b"\0", offset)
        if end < 0:
            raise self.error(f"{what} string offset {offset:#x} is past the string table")
        return strtab[offset:end]

    # -- symbol versioning ---------------------------------------------------------------

    def version_needs(self, tags: dict[int, int]) -> tuple[VersionNeed, ...]:
        """DT_VERNEED: a chain of Verneed entries, each with a chain of Vernaux entries."""
        if _DT_VERNEED not in tags:
            return ()
        offset, limit = self.locate(tags[_DT_VERNEED], "DT_VERNEED")
        max_entries = min(tags.get(_DT_VERNEEDNUM, _MAX_VERSIONS), _MAX_VERSIONS)
        unpack = self.layout.verneed.unpack_from
        needs: list[VersionNeed] = []
        total = 0
        for _ in range(max_entries):
            if offset + _VERNEED_SIZE > limit:
                raise self.past_segment("Verneed")
            revision, count, file, aux, next_offset = unpack(
                *self.fetch(offset, _VERNEED_SIZE, "Verneed")
            )
            if revision != _VERSION_REVISION:
                raise self.error(f"unsupported Verneed revision {revision}")
            versions = self.vernaux_chain(offset + aux, count, limit)
            total += len(versions)
            if total > _MAX_VERSIONS:
                raise self.error("more version requirements than version indexes")
            needs.append(VersionNeed(self.string(file, "Verneed file"), versions))
            if next_offset == 0:
                break
            offset += next_offset
        return tuple(needs)

    def vernaux_chain(self, offset: int, count: int, limit: int) -> tuple[VersionRequirement, ...]:
        """The ``count`` Vernaux entries at ``offset`` (the chain ends early at a zero
        ``vna_next``). Linkers write them back to back: that case is decoded with one
        unpack; anything else walks the chain entry by entry."""
        if 0 < count <= _MAX_RUN and offset + count * _VERNAUX_SIZE <= limit:
            run = self.layout.vernaux_run(count)
            fields = run.unpack_from(*self.fetch(offset, run.size, "Vernaux"))
            links = fields[4::5]
            if links[-1] == 0 and links.count(_VERNAUX_SIZE) == count - 1:
                return self.requirements(fields)
        unpack = self.layout.vernaux.unpack_from
        walked: list[int] = []
        for _ in range(min(count, _MAX_VERSIONS)):
            if offset + _VERNAUX_SIZE > limit:
                raise self.past_segment("Vernaux")
            entry = unpack(*self.fetch(offset, _VERNAUX_SIZE, "Vernaux"))
            walked.extend(entry)
            if entry[4] == 0:
                break
            offset += entry[4]
        return self.requirements(tuple(walked))

    def requirements(self, fields: tuple[int, ...]) -> tuple[VersionRequirement, ...]:
        """VersionRequirements from flattened (hash, flags, other, name, next) fields."""
        requirements: list[VersionRequirement] = []
        for hash_, flags, other, name in zip(
            fields[0::5], fields[1::5], fields[2::5], fields[3::5], strict=False
        ):
            key = (self.string_bytes(name, "Vernaux"), hash_, flags, other)
            requirement = _REQUIREMENTS.get(key)
            if requirement is None:
                requirement = _intern_requirement(key)
            requirements.append(requirement)
        return tuple(requirements)

    def version_defs(self, tags: dict[int, int]) -> tuple[VersionDefinition, ...]:
        """DT_VERDEF: a chain of Verdef entries; each is named by its first Verdaux."""
        if _DT_VERDEF not in tags:
            return ()
        offset, limit = self.locate(tags[_DT_VERDEF], "DT_VERDEF")
        max_entries = min(tags.get(_DT_VERDEFNUM, _MAX_VERSIONS), _MAX_VERSIONS)
        unpack_verdef = self.layout.verdef.unpack_from
        unpack_verdaux = self.layout.verdaux.unpack_from
        definitions: list[VersionDefinition] = []
        for _ in range(max_entries):
            if offset + _VERDEF_SIZE > limit:
                raise self.past_segment("Verdef")
            revision, flags, index, _, hash_, aux, next_offset = unpack_verdef(
                *self.fetch(offset, _VERDEF_SIZE, "Verdef")
            )
            if revision != _VERSION_REVISION:
                raise self.error(f"unsupported Verdef revision {revision}")
            if offset + aux + _VERDAUX_SIZE > limit:
                raise self.past_segment("Verdaux")
            name = unpack_verdaux(*self.fetch(offset + aux, _VERDAUX_SIZE, "Verdaux"))[0]
            key = (self.string_bytes(name, "Verdaux"), hash_, index, flags)
            definition = _DEFINITIONS.get(key)
            if definition is None:
                definition = _intern_definition(key)
            definitions.append(definition)
            if next_offset == 0:
                break
            offset += next_offset
        return tuple(definitions)

    def past_segment(self, what: str) -> ElfError:
        return self.error(f"a {what} entry is past the end of its segment")

    # -- dynamic symbols -----------------------------------------------------------------

    def dynamic_symbols(
        self,
        tags: dict[int, int],
        version_needs: tuple[VersionNeed, ...],
        version_defs: tuple[VersionDefinition, ...],
    ) -> DynamicSymbols:
        if _DT_SYMTAB not in tags:
            return DynamicSymbols.empty(self.path)
        layout = self.layout
        entry_size = tags.get(_DT_SYMENT, layout.sym_size)
        if entry_size != layout.sym_size:
            raise self.error(f"DT_SYMENT is {entry_size}, expected {layout.sym_size}")
        symtab, _ = self.locate(tags[_DT_SYMTAB], "DT_SYMTAB")
        count = self.symbol_count(tags, symtab)
        size = count * entry_size
        table = b""
        if size:
            table = self.read(self.region(tags[_DT_SYMTAB], size, "DT_SYMTAB"), size, "DT_SYMTAB")
        versym = b""
        if _DT_VERSYM in tags and count:
            offset = self.region(tags[_DT_VERSYM], 2 * count, "DT_VERSYM")
            versym = self.read(offset, 2 * count, "DT_VERSYM")
        return DynamicSymbols(
            layout.byte_order,
            count,
            entry_size,
            table,
            versym,
            self.strtab,
            version_needs,
            version_defs,
            self.path,
        )

    def symbol_count(self, tags: dict[int, int], symtab: int) -> int:
        """The number of dynamic symbols in the table at file offset ``symtab``.

        DT_HASH's nchain when there is one; else the size of the SHT_DYNSYM section when
        it describes that same table (cheapest); else the end of DT_GNU_HASH's last
        chain."""
        if _DT_HASH in tags:
            offset = self.region(tags[_DT_HASH], 8, "DT_HASH")
            return int(self.layout.u32.unpack_from(*self.fetch(offset + 4, 4, "DT_HASH"))[0])
        count = self.section_symbol_count(symtab)
        if count is not None:
            return count
        if _DT_GNU_HASH in tags:
            return self.gnu_hash_count(tags[_DT_GNU_HASH])
        raise self.error("DT_SYMTAB without DT_HASH, DT_GNU_HASH or a .dynsym section")

    def gnu_hash_count(self, address: int) -> int:
        # Header: nbuckets, symoffset, bloom words, bloom shift; then the bloom filter
        # (ELF-class words), the buckets (u32) and the chains (u32, one per hashed
        # symbol, the last of each chain with bit 0 set). Hashed symbols come last.
        offset, limit = self.locate(address, "DT_GNU_HASH")
        order = self.layout.byte_order
        if offset + _GNU_HASH_HEADER > limit:
            raise self.error("the DT_GNU_HASH header runs past the end of its segment")
        header = self.fetch(offset, _GNU_HASH_HEADER, "DT_GNU_HASH")
        nbuckets, symoffset, bloom_words, _ = struct.unpack_from(f"{order}4I", *header)
        buckets = offset + _GNU_HASH_HEADER + bloom_words * self.layout.word_size
        chains = buckets + 4 * nbuckets
        if chains > limit:
            raise self.error("the DT_GNU_HASH buckets run past the end of their segment")
        bucket_data = self.fetch(buckets, 4 * nbuckets, "DT_GNU_HASH buckets")
        last = max(struct.unpack_from(f"{order}{nbuckets}I", *bucket_data), default=0)
        if last == 0:
            return int(symoffset)
        if last < symoffset:
            raise self.error("a DT_GNU_HASH bucket points below its symbol offset")
        position = chains + 4 * (last - symoffset)
        read_u32 = self.layout.u32.unpack_from
        while True:
            if position + 4 > limit:
                raise self.error("a DT_GNU_HASH chain runs past the end of its segment")
            if read_u32(*self.fetch(position, 4, "DT_GNU_HASH chain"))[0] & 1:
                return int(last) + 1
            position += 4
            last += 1

    def section_symbol_count(self, symtab: int) -> int | None:
        """sh_size / sh_entsize of the SHT_DYNSYM section at file offset ``symtab``."""
        shoff, shnum = self.sections
        if shnum == 0:
            return None
        layout = self.layout
        entry = layout.shdr
        if shnum > _MAX_SECTION_RUN:  # rare: no giant struct format for it
            found = tuple(fields[0] for fields in self.section_headers())
        else:
            types = layout.section_types_run(shnum)
            found = types.unpack_from(*self.fetch(shoff, types.size, "section header table"))
        if _SHT_DYNSYM not in found:
            return None
        position = shoff + found.index(_SHT_DYNSYM) * entry.size
        _, offset, size, _, entsize = entry.unpack_from(
            *self.fetch(position, entry.size, "section header")
        )
        if offset != symtab or entsize != layout.sym_size:
            return None
        return int(size // entsize)


#: Interned VersionRequirements: the same few (name, hash, flags, index) entries recur in
#: thousands of files, and a dict lookup is much cheaper than building a record.
_REQUIREMENTS: dict[tuple[bytes, int, int, int], VersionRequirement] = {}
#: Interned VersionDefinitions (name, hash, index, flags), for the same reason.
_DEFINITIONS: dict[tuple[bytes, int, int, int], VersionDefinition] = {}
_MAX_INTERNED: Final = 1 << 14


def _intern_requirement(key: tuple[bytes, int, int, int]) -> VersionRequirement:
    name, hash_, flags, other = key
    requirement = VersionRequirement(
        name.decode("utf-8", "surrogateescape"), hash_, bool(flags & VER_FLG_WEAK), other
    )
    if len(_REQUIREMENTS) >= _MAX_INTERNED:
        _REQUIREMENTS.clear()
    _REQUIREMENTS[key] = requirement
    return requirement


def _intern_definition(key: tuple[bytes, int, int, int]) -> VersionDefinition:
    name, hash_, index, flags = key
    definition = VersionDefinition(
        name=name.decode("utf-8", "surrogateescape"),
        hash=hash_,
        index=index,
        base=bool(flags & VER_FLG_BASE),
        weak=bool(flags & VER_FLG_WEAK),
    )
    if len(_DEFINITIONS) >= _MAX_INTERNED:
        _DEFINITIONS.clear()
    _DEFINITIONS[key] = definition
    return definition


def _values_of(tag: int, tags: tuple[int, ...], values: tuple[int, ...]) -> tuple[int, ...]:
    """The values of every ``tag`` entry, in order (one slice when they are adjacent)."""
    count = tags.count(tag)
    if count == 0:
        return ()
    first = tags.index(tag)
    if tags[first : first + count].count(tag) == count:
        return values[first : first + count]
    return tuple(value for key, value in zip(tags, values, strict=False) if key == tag)


def _elf_type(e_type: int, flags_1: int, interpreter: str | None, soname: str | None) -> ElfType:
    if e_type == _ET_DYN:
        # Old linkers did not set DF_1_PIE: an interpreter and no soname also marks a PIE
        # (libc.so.6 has an interpreter too, but it has a soname).
        if flags_1 & DF_1_PIE or (interpreter is not None and soname is None):
            return ElfType.PIE
        return ElfType.SHARED
    if e_type == _ET_EXEC:
        return ElfType.EXECUTABLE
    if e_type == _ET_REL:
        return ElfType.RELOCATABLE
    if e_type == _ET_CORE:
        return ElfType.CORE
    return ElfType.OTHER
