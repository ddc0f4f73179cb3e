"""Reading the dynamic symbol table: where it is, how many entries it has (DT_HASH,
the SHT_DYNSYM section, or the end of DT_GNU_HASH's last chain), and its raw tables."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from autopatchelf.elf._layout import (
    DT_GNU_HASH,
    DT_HASH,
    DT_SYMENT,
    DT_SYMTAB,
    DT_VERSYM,
    GNU_HASH_HEADER,
    MAX_SYMBOLS,
    SHT_DYNSYM,
)
from autopatchelf.elf.records import VersionDefinition, VersionNeed
from autopatchelf.elf.symbols import DynamicSymbols

if TYPE_CHECKING:
    from autopatchelf.elf._reader import Image


def dynamic_symbols(
    image: Image,
    tags: dict[int, int],
    version_needs: tuple[VersionNeed, ...],
    version_defs: tuple[VersionDefinition, ...],
) -> DynamicSymbols:
    if DT_SYMTAB not in tags:
        return DynamicSymbols.empty(image.path)
    layout = image.layout
    entry_size = tags.get(DT_SYMENT, layout.sym_size)
    if entry_size != layout.sym_size:
        raise image.error(f"DT_SYMENT is {entry_size}, expected {layout.sym_size}")
    symtab, _ = image.locate(tags[DT_SYMTAB], "DT_SYMTAB")
    count = symbol_count(image, tags, symtab)
    if count > MAX_SYMBOLS:
        raise image.error(f"DT_SYMTAB would hold {count} dynamic symbols (limit {MAX_SYMBOLS})")
    size = count * entry_size
    table = b""
    if size:
        table = image.read(image.region(tags[DT_SYMTAB], size, "DT_SYMTAB"), size, "DT_SYMTAB")
    versym = b""
    if DT_VERSYM in tags and count:
        offset = image.region(tags[DT_VERSYM], 2 * count, "DT_VERSYM")
        versym = image.read(offset, 2 * count, "DT_VERSYM")
    return DynamicSymbols(
        layout.byte_order,
        count,
        entry_size,
        table,
        versym,
        image.strtab,
        version_needs,
        version_defs,
        image.path,
    )


def symbol_count(image: Image, tags: dict[int, int], symtab: int) -> int:
    """The number of dynamic symbols in the table at file offset ``symtab``.

    DT_HASH's nchain when there is one; else the size of the SHT_DYNSYM section when
    it describes that same table (cheapest); else the end of DT_GNU_HASH's last
    chain."""
    if DT_HASH in tags:
        offset = image.region(tags[DT_HASH], 8, "DT_HASH")
        return int(image.layout.u32.unpack_from(*image.fetch(offset + 4, 4, "DT_HASH"))[0])
    count = section_symbol_count(image, symtab)
    if count is not None:
        return count
    if DT_GNU_HASH in tags:
        return gnu_hash_count(image, tags[DT_GNU_HASH])
    raise image.error("DT_SYMTAB without DT_HASH, DT_GNU_HASH or a .dynsym section")


def gnu_hash_count(image: Image, address: int) -> int:
    # Header: nbuckets, symoffset, bloom words, bloom shift; then the bloom filter
    # (ELF-class words), the buckets (u32) and the chains (u32, one per hashed
    # symbol, the last of each chain with bit 0 set). Hashed symbols come last.
    offset, limit = image.locate(address, "DT_GNU_HASH")
    order = image.layout.byte_order
    if offset + GNU_HASH_HEADER > limit:
        raise image.error("the DT_GNU_HASH header runs past the end of its segment")
    header = image.fetch(offset, GNU_HASH_HEADER, "DT_GNU_HASH")
    nbuckets, symoffset, bloom_words, _ = struct.unpack_from(f"{order}4I", *header)
    if nbuckets > MAX_SYMBOLS:
        raise image.error(f"DT_GNU_HASH claims {nbuckets} buckets (limit {MAX_SYMBOLS})")
    buckets = offset + GNU_HASH_HEADER + bloom_words * image.layout.word_size
    chains = buckets + 4 * nbuckets
    if chains > limit:
        raise image.error("the DT_GNU_HASH buckets run past the end of their segment")
    bucket_data = image.fetch(buckets, 4 * nbuckets, "DT_GNU_HASH buckets")
    last = max(struct.unpack_from(f"{order}{nbuckets}I", *bucket_data), default=0)
    if last == 0:
        return int(symoffset)
    if last < symoffset:
        raise image.error("a DT_GNU_HASH bucket points below its symbol offset")
    position = chains + 4 * (last - symoffset)
    read_u32 = image.layout.u32.unpack_from
    while last <= MAX_SYMBOLS:
        if position + 4 > limit:
            raise image.error("a DT_GNU_HASH chain runs past the end of its segment")
        if read_u32(*image.fetch(position, 4, "DT_GNU_HASH chain"))[0] & 1:
            return int(last) + 1
        position += 4
        last += 1
    raise image.error(f"a DT_GNU_HASH chain runs past {MAX_SYMBOLS} symbols")


def section_symbol_count(image: Image, symtab: int) -> int | None:
    """sh_size / sh_entsize of the SHT_DYNSYM section at file offset ``symtab``."""
    shoff, shnum = image.sections
    if shnum == 0:
        return None
    layout = image.layout
    entry = layout.shdr
    found = image.section_types()
    if SHT_DYNSYM not in found:
        return None
    position = shoff + found.index(SHT_DYNSYM) * entry.size
    _, offset, size, _, entsize = entry.unpack_from(
        *image.fetch(position, entry.size, "section header")
    )
    if offset != symtab or entsize != layout.sym_size:
        return None
    return int(size // entsize)
