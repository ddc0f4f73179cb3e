"""The ELF constants and struct layouts the reader needs (from the gABI and the GNU
extensions), one :class:`Layout` per ELF class and byte order."""

from __future__ import annotations

import struct
from typing import Final

from autopatchelf.elf.records import ElfClass, Endian
from autopatchelf.elf.symbols import SYM32_SIZE, SYM64_SIZE

IDENT_SIZE: Final = 16
EV_CURRENT: Final = 1

# e_type
ET_REL, ET_EXEC, ET_DYN, ET_CORE = 1, 2, 3, 4
# p_type
PT_LOAD, PT_DYNAMIC, PT_INTERP, PT_NOTE = 1, 2, 3, 4
# The real e_phnum lives in section 0's sh_info when e_phnum is PN_XNUM.
PN_XNUM: Final = 0xFFFF
# sh_type of .dynsym
SHT_DYNSYM: Final = 11

# Dynamic tags.
DT_NULL = 0
DT_NEEDED = 1
DT_HASH = 4
DT_STRTAB = 5
DT_SYMTAB = 6
DT_STRSZ = 10
DT_SYMENT = 11
DT_SONAME = 14
DT_RPATH = 15
DT_RUNPATH = 29
DT_FLAGS = 30
DT_GNU_HASH = 0x6FFFFEF5
DT_VERSYM = 0x6FFFFFF0
DT_FLAGS_1 = 0x6FFFFFFB
DT_VERDEF = 0x6FFFFFFC
DT_VERDEFNUM = 0x6FFFFFFD
DT_VERNEED = 0x6FFFFFFE
DT_VERNEEDNUM = 0x6FFFFFFF

# Verneed/Vernaux/Verdef/Verdaux have the same layout in ELF32 and ELF64.
VERNEED_SIZE: Final = 16
VERNAUX_SIZE: Final = 16
VERDEF_SIZE: Final = 20
VERDAUX_SIZE: Final = 8
VERSION_REVISION: Final = 1
#: Longest run of Vernaux entries decoded with one unpack (longer ones walk the chain).
MAX_RUN: Final = 64
#: Most section header tables read with one unpack (more sections are walked).
MAX_SECTION_RUN: Final = 1024
GNU_HASH_HEADER: Final = 16
#: Version indexes are 15 bits: no object can use more version entries than this.
MAX_VERSIONS: Final = 0x8000

# Limits on what a file's own counts make us read: every table is also bounded by the
# file's size, but a sparse file can claim gigabytes it does not hold. Each is far above
# what real objects use (the largest dynamic string table seen, librustc_driver's, is
# 2.5 MiB; dynamic sections hold tens of entries).
#: Dynamic entries are read up to DT_NULL, at most this many bytes of them.
MAX_DYNAMIC_BYTES: Final = 1 << 20
#: The kernel refuses a PT_INTERP longer than PATH_MAX.
MAX_INTERP_BYTES: Final = 4096
MAX_STRTAB_BYTES: Final = 64 << 20
#: Dynamic symbols (and GNU hash buckets) of one object.
MAX_SYMBOLS: Final = 1 << 22
#: Section headers walked to find .dynsym (beyond SHN_LORESERVE via section 0).
MAX_SECTIONS: Final = 1 << 20
#: Dynamic entries decoded per unpack while looking for DT_NULL.
DYNAMIC_RUN: Final = 256


class Layout:
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
        if count > MAX_SECTION_RUN:  # rare: no giant struct format for it
            one = struct.Struct(f"{self.byte_order}{self.phdr}")
            table = data[position : position + count * one.size]
            return tuple(field for fields in one.iter_unpack(table) for field in fields)
        run = self.phdr_runs.get(count)
        if run is None:
            run = struct.Struct(f"{self.byte_order}{self.phdr * count}")
            if len(self.phdr_runs) < MAX_RUN:
                self.phdr_runs[count] = run
        return run.unpack_from(data, position)

    def section_types_run(self, count: int) -> struct.Struct:
        """The format of the sh_type fields of ``count`` section headers."""
        run = self.section_types_runs.get(count)
        if run is None:
            skip = self.shdr.size - 8
            run = struct.Struct(f"{self.byte_order}{f'4xI{skip}x' * count}")
            if len(self.section_types_runs) < MAX_RUN:
                self.section_types_runs[count] = run
        return run

    def vernaux_run(self, count: int) -> struct.Struct:
        """The format of ``count`` consecutive Vernaux entries (count <= MAX_RUN)."""
        run = self.vernaux_runs.get(count)
        if run is None:
            run = self.vernaux_runs[count] = struct.Struct(f"{self.byte_order}{'IHHII' * count}")
        return run


LAYOUTS: Final = {(int(c), int(e)): Layout(c, e) for c in ElfClass for e in Endian}
PHDR_SIZES: Final = {ElfClass.ELF32: 32, ElfClass.ELF64: 56}
