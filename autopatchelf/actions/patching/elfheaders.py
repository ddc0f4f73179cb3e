"""The headers the native writer edits, read whole and packed back: the ELF header's
table positions, every program header, every section header and the dynamic entries, in
either ELF class and byte order (field orders from the gABI).

Reads go through a :data:`Read` callable (``pread`` on a file, or a slice of an image in
memory), so a large file is never read whole; anything that does not parse raises
:class:`Unfit`, which makes the writer leave the file to another layout.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

import attrs

from autopatchelf.elf._layout import PN_XNUM
from autopatchelf.frozen import Record

#: ``read(offset, size)``: exactly ``size`` bytes of the file at ``offset`` (or Unfit).
Read = Callable[[int, int], bytes]

PT_LOAD, PT_DYNAMIC, PT_INTERP, PT_PHDR = 1, 2, 3, 6
SHT_NULL, SHT_PROGBITS, SHT_STRTAB, SHT_DYNAMIC, SHT_NOBITS = 0, 1, 3, 6, 8
SHF_ALLOC = 0x2
#: Section headers read at most (a real object has tens; e_shnum is 16 bits anyway).
_MAX_SECTIONS = 1 << 16


class Unfit(Exception):
    """This file cannot be rewritten this way; the reason is one line."""


@attrs.frozen(repr=False)
class Segment(Record):
    """One program header, fields in ELF64 order whatever the class."""

    type: int
    flags: int
    offset: int
    vaddr: int
    paddr: int
    filesz: int
    memsz: int
    align: int


@attrs.frozen(repr=False)
class Section(Record):
    """The fields of one section header the writer looks at (or moves)."""

    index: int
    type: int
    flags: int
    addr: int
    offset: int
    size: int


@attrs.frozen(repr=False)
class Format(Record):
    """Struct formats and header field positions of one ELF class and byte order."""

    is64: bool
    order: str

    @property
    def word(self) -> str:
        return "Q" if self.is64 else "I"

    @property
    def word_size(self) -> int:
        return 8 if self.is64 else 4

    @property
    def ehdr_size(self) -> int:
        return 64 if self.is64 else 52

    @property
    def phentsize(self) -> int:
        return 56 if self.is64 else 32

    @property
    def shentsize(self) -> int:
        return 64 if self.is64 else 40

    @property
    def dyn_size(self) -> int:
        return 2 * self.word_size

    @property
    def phoff_at(self) -> int:
        """Where e_phoff is; e_phnum is at :attr:`phnum_at`."""
        return 32 if self.is64 else 28

    @property
    def phnum_at(self) -> int:
        return 56 if self.is64 else 44

    @property
    def section_place_at(self) -> int:
        """Where sh_addr is in a section header (sh_offset and sh_size follow it)."""
        return 16 if self.is64 else 12

    def pack_word(self, value: int) -> bytes:
        return struct.pack(self.order + self.word, value)

    def pack_half(self, value: int) -> bytes:
        return struct.pack(self.order + "H", value)

    def pack_u32(self, value: int) -> bytes:
        return struct.pack(self.order + "I", value)

    def unpack_segment(self, raw: bytes) -> Segment:
        if self.is64:
            return Segment(*struct.unpack(self.order + "IIQQQQQQ", raw))
        p_type, offset, vaddr, paddr, filesz, memsz, flags, align = struct.unpack(
            self.order + "8I", raw
        )
        return Segment(p_type, flags, offset, vaddr, paddr, filesz, memsz, align)

    def pack_segment(self, s: Segment) -> bytes:
        if self.is64:
            fields = (s.type, s.flags, s.offset, s.vaddr, s.paddr, s.filesz, s.memsz, s.align)
            return struct.pack(self.order + "IIQQQQQQ", *fields)
        fields = (s.type, s.offset, s.vaddr, s.paddr, s.filesz, s.memsz, s.flags, s.align)
        return struct.pack(self.order + "8I", *fields)

    def unpack_section(self, index: int, raw: bytes) -> Section:
        fmt = "IIQQQQIIQQ" if self.is64 else "10I"
        _name, sh_type, flags, addr, offset, size, *_rest = struct.unpack(self.order + fmt, raw)
        return Section(index, sh_type, flags, addr, offset, size)

    def pack_section_place(self, addr: int, offset: int, size: int) -> bytes:
        """sh_addr, sh_offset and sh_size (adjacent in both classes)."""
        return struct.pack(self.order + 3 * self.word, addr, offset, size)

    def unpack_dynamic(self, raw: bytes) -> list[tuple[int, int]]:
        words = struct.unpack(f"{self.order}{len(raw) // self.word_size}{self.word}", raw)
        return list(zip(words[0::2], words[1::2], strict=True))

    def pack_dynamic(self, entries: list[tuple[int, int]]) -> bytes:
        flat = [word for entry in entries for word in entry]
        return struct.pack(f"{self.order}{len(flat)}{self.word}", *flat)


@attrs.frozen(repr=False)
class Headers(Record):
    """The tables of one ELF file, as read."""

    format: Format
    size: int
    phoff: int
    segments: tuple[Segment, ...]
    shoff: int
    sections: tuple[Section, ...]

    @property
    def loads(self) -> tuple[Segment, ...]:
        return tuple(s for s in self.segments if s.type == PT_LOAD)

    def first(self, p_type: int) -> int | None:
        """The index of the first segment of type ``p_type``, or None."""
        return next((i for i, s in enumerate(self.segments) if s.type == p_type), None)

    def file_offset(self, address: int, length: int, what: str) -> int:
        """The file offset of ``length`` bytes at ``address``, inside one PT_LOAD."""
        for load in self.loads:
            if load.vaddr <= address and address + length <= load.vaddr + load.filesz:
                return load.offset + address - load.vaddr
        raise Unfit(f"{what} at {address:#x} is not in the file part of one PT_LOAD")


def read_headers(read: Read, size: int) -> Headers:
    """The ELF and program headers and the section headers of a file of ``size`` bytes."""
    ident = read(0, 16)
    if ident[:4] != b"\x7fELF" or ident[4] not in (1, 2) or ident[5] not in (1, 2):
        raise Unfit("not an ELF file of a known class and byte order")
    fmt = Format(is64=ident[4] == 2, order="<" if ident[5] == 1 else ">")
    w = fmt.word
    header = struct.unpack(f"{fmt.order}HHI{w}{w}{w}IHHHHHH", read(16, fmt.ehdr_size - 16))
    phoff, shoff = header[4], header[5]
    phentsize, phnum, shentsize, shnum = header[8], header[9], header[10], header[11]
    if phnum == PN_XNUM:
        raise Unfit("more program headers than e_phnum holds (PN_XNUM)")
    if phentsize != fmt.phentsize or phnum == 0:
        raise Unfit("no program header table of the standard entry size")
    if phoff + phnum * phentsize > size:
        raise Unfit("the program header table is past the end of the file")
    table = read(phoff, phnum * phentsize)
    segments = tuple(
        fmt.unpack_segment(table[i * phentsize : (i + 1) * phentsize]) for i in range(phnum)
    )
    sections: tuple[Section, ...] = ()
    if shoff:
        if shentsize != fmt.shentsize:
            raise Unfit("section headers of a non-standard entry size")
        if shnum == 0:  # the count is in section 0's sh_size
            shnum = fmt.unpack_section(0, read(shoff, shentsize)).size
        if shnum > _MAX_SECTIONS or shoff + shnum * shentsize > size:
            raise Unfit("the section header table is past the end of the file")
        raw = read(shoff, shnum * shentsize)
        sections = tuple(
            fmt.unpack_section(i, raw[i * shentsize : (i + 1) * shentsize]) for i in range(shnum)
        )
    return Headers(fmt, size, phoff, segments, shoff, sections)
