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

The reader returns the fields of :class:`autopatchelf.ElfFacts` after ``path``,
in order (:data:`Fields`); ``ElfFacts.read``/``ElfFacts.parse`` build the record.
"""

from __future__ import annotations

import errno
import os
import stat
import struct
from typing import Final

from autopatchelf.elf import _symtab, _versions
from autopatchelf.elf._layout import (
    DT_FLAGS,
    DT_FLAGS_1,
    DT_NEEDED,
    DT_NULL,
    DT_RPATH,
    DT_RUNPATH,
    DT_SONAME,
    DT_STRSZ,
    DT_STRTAB,
    DYNAMIC_RUN,
    ET_CORE,
    ET_DYN,
    ET_EXEC,
    ET_REL,
    EV_CURRENT,
    IDENT_SIZE,
    LAYOUTS,
    MAX_DYNAMIC_BYTES,
    MAX_INTERP_BYTES,
    MAX_SECTION_RUN,
    MAX_SECTIONS,
    MAX_STRTAB_BYTES,
    PHDR_SIZES,
    PN_XNUM,
    PT_DYNAMIC,
    PT_INTERP,
    PT_LOAD,
    PT_NOTE,
)
from autopatchelf.elf._notes import dlopen_notes
from autopatchelf.elf.records import (
    DF_1_PIE,
    ELF_MAGIC,
    DlopenNote,
    ElfClass,
    ElfType,
    Endian,
    VersionDefinition,
    VersionNeed,
)
from autopatchelf.elf.symbols import DynamicSymbols
from autopatchelf.errors import ElfError

__all__ = ["SMALL_FILE_BYTES", "Fields", "parse_fields", "read_fields"]

#: ElfFacts' fields after ``path``: class, byte order, machine, OS ABI, type, interpreter,
#: soname, needed, rpath, runpath, flags, flags_1, version needs and definitions, symbols,
#: dlopen notes and their problems.
Fields = tuple[
    ElfClass, Endian, int, int, ElfType, str | None, str | None, tuple[str, ...],
    str | None, str | None, int, int, tuple[VersionNeed, ...],
    tuple[VersionDefinition, ...], DynamicSymbols, tuple[DlopenNote, ...], tuple[str, ...],
]  # fmt: skip

#: Files up to this size are read whole; larger ones are read in pieces.
SMALL_FILE_BYTES: Final = 256 * 1024
#: How much of a large file is read first, and the least read at once after that.
_HEAD_BYTES: Final = 64 * 1024
_WINDOW_BYTES: Final = 8 * 1024

_OS_REASONS: Final = {
    errno.ENOENT: "no such file",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EISDIR: "is a directory",
    errno.ENOTDIR: "a path component is not a directory",
    errno.ELOOP: "too many levels of symbolic links",
}


#: A PT_LOAD segment's file part: (first vaddr, end vaddr, file offset).
_Load = tuple[int, int, int]


def _joined(loads: list[_Load]) -> tuple[_Load, ...]:
    """PT_LOAD file parts, with segments that continue one another (the next starts at the
    address and the file offset where the previous one's file part ends) joined into one.

    Memory holds such segments back to back, so a table may span them: patchelf puts
    the program headers, ``.dynamic`` and the start of a moved ``.dynstr`` in a new
    one-page segment right below the first, and the string table runs on into it (a
    patched ``node`` does this, and runs).
    """
    joined: list[_Load] = []
    for start, end, offset in sorted(loads):
        if joined:
            last_start, last_end, last_offset = joined[-1]
            if start == last_end and offset == last_offset + (last_end - last_start):
                joined[-1] = (last_start, end, last_offset)
                continue
        joined.append((start, end, offset))
    return tuple(joined)


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
            return _parse(Image(name, data, len(data), None))
        return _parse(Image(name, os.pread(fd, _HEAD_BYTES, 0), size, fd))
    except OSError as exc:
        raise ElfError(name, _os_reason(exc)) from None
    finally:
        os.close(fd)


def parse_fields(data: bytes, path: str) -> Fields:
    """The facts of an ELF image already in memory; ``path`` names it in errors."""
    return _parse(Image(path, data, len(data), None))


def _parse(image: Image) -> Fields:
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


class Image:
    """One ELF image being read: its bytes (all of them, or a window on a large file
    read with ``pread``), its layout and its PT_LOAD segments.

    Every read goes through :meth:`fetch` or :meth:`read`, which check it against the
    file size; every reason for rejecting the file is an :class:`~autopatchelf.errors.ElfError`.
    """

    __slots__ = (
        "base", "data", "fd", "layout", "loads", "notes", "path", "sections", "size", "strtab",
    )  # fmt: skip

    def __init__(self, path: str, data: bytes, size: int, fd: int | None) -> None:
        self.path = path
        #: The bytes of file offsets [base, base + len(data)); all of them when fd is None.
        self.data = data
        self.base = 0
        self.size = size
        self.fd = fd
        self.layout = LAYOUTS[1, 1]
        self.loads: tuple[_Load, ...] = ()
        #: (offset, size) of each PT_NOTE segment's file part.
        self.notes: tuple[tuple[int, int], ...] = ()
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
        if phnum == PN_XNUM:
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
        soname = string(tags[DT_SONAME], "DT_SONAME") if DT_SONAME in tags else None
        flags_1 = tags.get(DT_FLAGS_1, 0)
        version_needs = _versions.version_needs(self, tags)
        version_defs = _versions.version_defs(self, tags)
        layout = self.layout
        notes, note_problems = dlopen_notes(self)
        return (
            layout.elf_class,
            layout.endian,
            machine,
            osabi,
            _elf_type(e_type, flags_1, interpreter, soname),
            interpreter,
            soname,
            tuple([string(offset, "DT_NEEDED") for offset in needed_offsets]),
            string(tags[DT_RPATH], "DT_RPATH") if DT_RPATH in tags else None,
            string(tags[DT_RUNPATH], "DT_RUNPATH") if DT_RUNPATH in tags else None,
            tags.get(DT_FLAGS, 0),
            flags_1,
            version_needs,
            version_defs,
            _symtab.dynamic_symbols(self, tags, version_needs, version_defs),
            notes,
            note_problems,
        )

    # -- headers -------------------------------------------------------------------------

    def identify(self) -> int:
        """Check e_ident and choose the layout; returns the OS ABI byte."""
        ident = self.data[:IDENT_SIZE]
        if ident[:4] != ELF_MAGIC:
            raise self.error("not an ELF file (bad magic)")
        if len(ident) < IDENT_SIZE:
            raise self.error("truncated ELF identification")
        elf_class, data, version, osabi = ident[4], ident[5], ident[6], ident[7]
        layout = LAYOUTS.get((elf_class, data))
        if layout is None:
            raise self.error(f"unsupported ELF class {elf_class} / data encoding {data}")
        if version != EV_CURRENT:
            raise self.error(f"unsupported ELF identification version {version}")
        self.layout = layout
        return osabi

    def header(self) -> tuple[int, int, int, int, int, int, int, int]:
        """e_type, e_machine, e_phoff, e_shoff, e_phentsize, e_phnum, e_shentsize, e_shnum."""
        header = self.layout.ehdr
        if IDENT_SIZE + header.size > self.size:
            raise self.error("truncated ELF header")
        e_type, machine, _, _, phoff, shoff, _, _, phentsize, phnum, shentsize, shnum, _ = (
            header.unpack_from(*self.fetch(IDENT_SIZE, header.size, "ELF header"))
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
            if shnum > MAX_SECTIONS:
                raise self.error(f"section 0 claims {shnum} sections (limit {MAX_SECTIONS})")
        if shoff + shnum * entry.size > self.size:
            raise self.error(
                f"the section header table (e_shoff {shoff:#x}) is past the end of the file"
            )
        return shoff, shnum

    def section_types(self) -> tuple[int, ...]:
        """Each section header's sh_type, walked a run of headers at a time."""
        shoff, shnum = self.sections
        entry = self.layout.shdr
        if shnum <= MAX_SECTION_RUN:
            run = self.layout.section_types_run(shnum)
            return run.unpack_from(*self.fetch(shoff, run.size, "section header table"))
        types: list[int] = []
        for first in range(0, shnum, MAX_SECTION_RUN):
            count = min(MAX_SECTION_RUN, shnum - first)
            run = self.layout.section_types_run(count)
            position = shoff + first * entry.size
            types.extend(run.unpack_from(*self.fetch(position, run.size, "section header table")))
        return tuple(types)

    def extended_phnum(self) -> int:
        shoff, shnum = self.sections
        if shnum == 0:
            raise self.error("e_phnum is PN_XNUM but there is no section header 0")
        entry = self.layout.shdr
        return int(entry.unpack_from(*self.fetch(shoff, entry.size, "section header 0"))[3])

    def program_headers(
        self, phoff: int, phentsize: int, phnum: int
    ) -> tuple[tuple[int, int] | None, tuple[int, int] | None]:
        """Record the PT_LOAD file parts; return (offset, size) of PT_DYNAMIC, PT_INTERP."""
        if phnum == 0:
            return None, None
        layout = self.layout
        if phentsize != PHDR_SIZES[layout.elf_class]:
            expected = PHDR_SIZES[layout.elf_class]
            raise self.error(f"e_phentsize is {phentsize}, expected {expected}")
        data, position = self.fetch(phoff, phnum * phentsize, "program header table (e_phoff)")
        fields = layout.program_header_fields(data, position, phnum)
        types, offsets, vaddrs, sizes = fields[0::4], fields[1::4], fields[2::4], fields[3::4]
        loads: list[_Load] = []
        file_size = self.size
        for p_type, offset, vaddr, size in zip(types, offsets, vaddrs, sizes, strict=False):
            if p_type == PT_LOAD:
                if offset + size > file_size:
                    raise self.error("a PT_LOAD segment extends past the end of the file")
                loads.append((vaddr, vaddr + size, offset))
        self.loads = _joined(loads)
        self.notes = tuple(
            (offset, size)
            for p_type, offset, size in zip(types, offsets, sizes, strict=False)
            if p_type == PT_NOTE and size
        )
        dynamic = interp = None
        if PT_DYNAMIC in types:
            first = types.index(PT_DYNAMIC)
            dynamic = (offsets[first], sizes[first])
        if PT_INTERP in types:
            first = types.index(PT_INTERP)
            interp = (offsets[first], sizes[first])
            if sizes[first] > MAX_INTERP_BYTES:
                raise self.error(
                    f"PT_INTERP is {sizes[first]} bytes, longer than PATH_MAX "
                    f"({MAX_INTERP_BYTES}): no kernel would start it"
                )
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
        entry = 2 * layout.word_size
        count = size // entry
        if offset + count * entry > self.size:
            raise self.error(f"PT_DYNAMIC at {offset:#x} (+{size:#x}) is past the end of the file")
        # A run of entries at a time, up to DT_NULL: a section that claims more than it
        # holds costs no more than what is read before its DT_NULL. (Real ones end within
        # the first run.)
        tags: tuple[int, ...] = ()
        values: tuple[int, ...] = ()
        done = 0
        while done < count:
            if done * entry >= MAX_DYNAMIC_BYTES:
                raise self.error(
                    f"PT_DYNAMIC has no DT_NULL in its first {MAX_DYNAMIC_BYTES} bytes"
                )
            run = min(DYNAMIC_RUN, count - done)
            data, position = self.fetch(offset + done * entry, run * entry, "PT_DYNAMIC")
            words = struct.unpack_from(
                f"{layout.byte_order}{2 * run}{layout.dyn_word}", data, position
            )
            run_tags = words[0::2]
            done += run
            if DT_NULL in run_tags:
                end = run_tags.index(DT_NULL)
                tags, values = tags + run_tags[:end], values + words[1 : 2 * end : 2]
                break
            tags, values = tags + run_tags, values + words[1::2]
        # zip(strict=False): tags and values have the same length by construction.
        return dict(zip(tags, values, strict=False)), _values_of(DT_NEEDED, tags, values)

    def string_table(self, tags: dict[int, int]) -> bytes:
        if DT_STRTAB not in tags:
            return b""
        address = tags[DT_STRTAB]
        if DT_STRSZ in tags:
            size = tags[DT_STRSZ]
            if size == 0:
                return b""
            if size > MAX_STRTAB_BYTES:
                raise self.error(
                    f"DT_STRSZ claims {size} bytes of strings (limit {MAX_STRTAB_BYTES})"
                )
            return self.read(self.region(address, size, "DT_STRTAB"), size, "DT_STRTAB")
        offset, limit = self.locate(address, "DT_STRTAB")
        return self.read(offset, min(limit - offset, MAX_STRTAB_BYTES), "DT_STRTAB")

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

    def past_segment(self, what: str) -> ElfError:
        return self.error(f"a {what} entry is past the end of its segment")


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
    if e_type == ET_DYN:
        # Old linkers did not set DF_1_PIE: an interpreter and no soname also marks a PIE
        # (libc.so.6 has an interpreter too, but it has a soname).
        if flags_1 & DF_1_PIE or (interpreter is not None and soname is None):
            return ElfType.PIE
        return ElfType.SHARED
    if e_type == ET_EXEC:
        return ElfType.EXECUTABLE
    if e_type == ET_REL:
        return ElfType.RELOCATABLE
    if e_type == ET_CORE:
        return ElfType.CORE
    return ElfType.OTHER
