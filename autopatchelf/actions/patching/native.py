"""Our own ELF writer: the edits that take one file to a planned
:class:`~autopatchelf.actions.patching.plan.ElfState`, as a list of byte ranges.

:func:`plan_edit` reads only the headers and the tables it changes and returns a
:class:`NativeEdit`: the new file is the old one with a few ranges overwritten and a new
PT_LOAD segment appended. Every byte not in :attr:`NativeEdit.writes` stays as it was, so
code, data, symbols and relocations keep their addresses and file offsets (separate
debug info still matches). The edit is applied to a copy of the file
(:meth:`NativeEdit.write`: a kernel-side copy, then ``pwrite``) or of an image in memory
(:meth:`NativeEdit.apply`).

What changes:

* the new strings: a new ``.dynstr`` is the old one with the new RUNPATH / DT_NEEDED /
  ``.gnu.version_r`` names appended (every old string offset still holds), and the new
  interpreter string unless it fits where the old one was;
* the dynamic section is rewritten in place when its spare DT_NULL slots hold the result
  (DT_STRTAB, DT_STRSZ, DT_RUNPATH in the place of a removed DT_RPATH), else moved to the
  new segment (which is then writable: ld.so writes DT_DEBUG);
* ``vn_file`` of renamed ``.gnu.version_r`` entries, in place;
* the program header table grows by the new PT_LOAD (placed after the last one, the
  highest in memory), so it moves (:class:`Placement`), PT_PHDR with it;
* the section headers of ``.interp``, ``.dynstr`` and ``.dynamic`` follow what moved.

The new segment starts page aligned after the end of the file, at an address above every
segment, congruent to its offset modulo the largest PT_LOAD alignment. For a program the
table must also be where the kernel looks for it (``AT_PHDR``, see
:mod:`~autopatchelf.actions.patching.elfedit`): in a PT_LOAD whose ``p_vaddr - p_offset``
is the first PT_LOAD's.
"""

from __future__ import annotations

import enum
import itertools
import os
import struct

import attrs

from autopatchelf.actions.patching import atomic
from autopatchelf.actions.patching.elfheaders import (
    PT_DYNAMIC,
    PT_INTERP,
    PT_LOAD,
    PT_PHDR,
    SHF_ALLOC,
    SHT_DYNAMIC,
    SHT_NOBITS,
    SHT_NULL,
    SHT_PROGBITS,
    SHT_STRTAB,
    Headers,
    Read,
    Segment,
    Unfit,
    read_headers,
)
from autopatchelf.actions.patching.plan import ElfState
from autopatchelf.elf._layout import (
    DT_NEEDED,
    DT_NULL,
    DT_RPATH,
    DT_RUNPATH,
    DT_STRSZ,
    DT_STRTAB,
    DT_VERNEED,
    DT_VERNEEDNUM,
    MAX_STRTAB_BYTES,
    VERNEED_SIZE,
)
from autopatchelf.errors import PatchError
from autopatchelf.frozen import Record

__all__ = ["NativeEdit", "Placement", "Unfit", "plan_edit"]

PF_W, PF_R = 0x2, 0x4
#: File offsets of the new segment are aligned to this; addresses to the PT_LOADs' own.
PAGE = 0x1000
#: The kernel reads at most one page of program headers.
_MAX_TABLE = 0x1000
#: The most zero bytes :attr:`Placement.END` leaves before the new segment (a sparse hole
#: where the file system has them) to keep a program's table where the kernel looks.
MAX_HOLE = 64 << 20
_COMPARE_CHUNK = 1 << 20


class Placement(enum.Enum):
    """Where the grown program header table goes."""

    #: Into the padding after a PT_LOAD (which grows over it): the file grows only by the
    #: new segment.
    GAP = "gap"
    #: At the start of the new segment.
    END = "end"


@attrs.frozen(repr=False)
class NativeEdit(Record):
    """The new file: the old one (``old_size`` bytes) zero-extended to ``size`` bytes,
    with ``writes`` (``(offset, bytes)``, sorted, disjoint) laid over it."""

    old_size: int
    size: int
    writes: tuple[tuple[int, bytes], ...]

    def apply(self, data: bytes) -> bytes:
        """The new image, from the old one in memory."""
        out = bytearray(data)
        out.extend(bytes(self.size - len(out)))
        for offset, chunk in self.writes:
            out[offset : offset + len(chunk)] = chunk
        return bytes(out)

    def write(self, source: int, target: int) -> None:
        """Write the new file to the empty file ``target`` from the old one, ``source``
        (both file descriptors): the untouched bytes are copied by the kernel."""
        atomic.copy_file(source, target, self.old_size)
        if self.size > self.old_size:
            os.ftruncate(target, self.size)
        for offset, chunk in self.writes:
            atomic.write_at(target, chunk, offset)

    def difference(self, old: Read, new: Read, new_size: int) -> str | None:
        """Where the file read by ``new`` is not the old one with these writes, or None."""
        if new_size != self.size:
            return f"it is {new_size} bytes, not {self.size}"
        pending = list(self.writes)
        for start in range(0, self.size, _COMPARE_CHUNK):
            length = min(_COMPARE_CHUNK, self.size - start)
            kept = min(length, max(0, self.old_size - start))
            if kept == length and not any(
                offset < start + length and offset + len(chunk) > start for offset, chunk in pending
            ):  # untouched: the old bytes as they are (most of a big file)
                if new(start, length) != old(start, length):
                    return f"bytes {start:#x}..{start + length:#x} differ from the plan"
                continue
            want = bytearray(old(start, kept) if kept else b"")
            want.extend(bytes(length - kept))
            for offset, chunk in pending:
                if offset < start + length and offset + len(chunk) > start:
                    lo, hi = max(offset, start), min(offset + len(chunk), start + length)
                    want[lo - start : hi - start] = chunk[lo - offset : hi - offset]
            if new(start, length) != want:
                return f"bytes {start:#x}..{start + length:#x} differ from the plan"
        return None


def plan_edit(
    read: Read, size: int, path: str, before: ElfState, after: ElfState, placement: Placement
) -> NativeEdit:
    """The edit taking the file (``size`` bytes, read by ``read``) from ``before`` to
    ``after``. Raises :class:`Unfit` when this placement cannot apply to it, and
    :class:`~autopatchelf.errors.PatchError` for a change no layout can make."""
    return _Planner(read_headers(read, size), read, path).plan(before, after, placement)


def _align(value: int, to: int) -> int:
    return (value + to - 1) // to * to


class _Planner:
    """The working state of one :func:`plan_edit`."""

    def __init__(self, headers: Headers, read: Read, path: str) -> None:
        self.h = headers
        self.fmt = headers.format
        self.read = read
        self.path = path
        self.writes: list[tuple[int, bytes]] = []
        self.segments = list(headers.segments)
        #: Pieces of the new segment: name -> (bytes, alignment).
        self.pieces: dict[str, tuple[bytes, int]] = {}
        #: Section index -> (addr, offset, size) for the headers to rewrite.
        self.moved_sections: dict[int, tuple[int, int, int]] = {}
        #: The old DT_STRTAB address, the dynamic entries up to DT_NULL as they become,
        #: and PT_DYNAMIC's entry count up to DT_NULL and its slot count.
        self.old_strtab = 0
        self.dynamic_entries: list[tuple[int, int]] = []
        self.dynamic_used = 0
        self.dynamic_slots = 0

    # -- the whole edit -----------------------------------------------------------------

    def plan(self, before: ElfState, after: ElfState, placement: Placement) -> NativeEdit:
        loads = self.h.loads
        if not loads:
            raise Unfit("no PT_LOAD segment")
        interp = self.interpreter(before, after)
        dynamic = self.dynamic(before, after)
        if self.pieces:
            self.new_segment(placement, interp, dynamic)
        writes = sorted(self.writes)
        for (a, chunk), (b, _next) in itertools.pairwise(writes):
            if a + len(chunk) > b:
                raise Unfit(f"two edits overlap at {b:#x}")
        end = max((offset + len(chunk) for offset, chunk in writes), default=0)
        return NativeEdit(self.h.size, max(self.h.size, end), tuple(writes))

    # -- PT_INTERP ----------------------------------------------------------------------

    def interpreter(self, before: ElfState, after: ElfState) -> int | None:
        """Edit the interpreter in place when it fits, else queue it; returns the index
        of PT_INTERP when it moves (or None)."""
        if after.interpreter == before.interpreter:
            return None
        index = self.h.first(PT_INTERP)
        if after.interpreter is None or before.interpreter is None or index is None:
            raise PatchError(f"{self.path}: adding or removing an interpreter is not supported")
        raw = after.interpreter.encode("utf-8", "surrogateescape") + b"\0"
        segment = self.segments[index]
        if len(raw) <= segment.filesz:
            self.writes.append((segment.offset, raw.ljust(segment.filesz, b"\0")))
            return None
        self.pieces["interp"] = (raw, 1)
        return index

    # -- the dynamic section and its strings --------------------------------------------

    def dynamic(self, before: ElfState, after: ElfState) -> int | None:
        """Queue the new string table and the dynamic entries' rewrite (in place or in
        the new segment); returns the index of PT_DYNAMIC when it moves (or None)."""
        strings = (before.rpath, before.runpath, before.needed, before.verneed)
        if strings == (after.rpath, after.runpath, after.needed, after.verneed):
            return None
        fmt = self.fmt
        index = self.h.first(PT_DYNAMIC)
        if index is None:
            raise Unfit("no PT_DYNAMIC segment")
        segment = self.segments[index]
        slots = segment.filesz // fmt.dyn_size
        if segment.offset + slots * fmt.dyn_size > self.h.size:
            raise Unfit("PT_DYNAMIC is past the end of the file")
        entries = fmt.unpack_dynamic(self.read(segment.offset, slots * fmt.dyn_size))
        used = next((i for i, (tag, _) in enumerate(entries) if tag == DT_NULL), None)
        if used is None:
            raise Unfit("PT_DYNAMIC has no DT_NULL")
        tags = dict(entries[:used])
        if DT_STRTAB not in tags or DT_STRSZ not in tags:
            raise Unfit("no DT_STRTAB and DT_STRSZ")
        old_size = tags[DT_STRSZ]
        if old_size > MAX_STRTAB_BYTES:
            raise Unfit(f"DT_STRSZ is {old_size} bytes")
        old_address = tags[DT_STRTAB]
        strtab = self.read(self.h.file_offset(old_address, old_size, "DT_STRTAB"), old_size)
        table = _StringTable(old_size)
        rewritten = self.entries(entries[:used], table, before, after)
        self.version_files(tags, table, before, after)
        new_strtab = strtab + table.appended()
        self.pieces["dynstr"] = (new_strtab, 1)
        self.old_strtab = old_address
        self.dynamic_entries = rewritten
        self.dynamic_used, self.dynamic_slots = used, slots
        if len(rewritten) + 1 <= slots:  # in place, DT_NULL-padded over what was used
            return None
        # Moved: one spare DT_NULL for whoever edits it next.
        self.pieces["dynamic"] = (bytes((len(rewritten) + 2) * fmt.dyn_size), fmt.word_size)
        return index

    def entries(
        self,
        entries: list[tuple[int, int]],
        table: _StringTable,
        before: ElfState,
        after: ElfState,
    ) -> list[tuple[int, int]]:
        """The dynamic entries up to DT_NULL, strings re-pointed (DT_STRTAB's value is
        filled in once the new table has an address)."""
        out: list[tuple[int, int]] = []
        needed = 0
        free_slot: int | None = None
        have = {DT_RPATH: False, DT_RUNPATH: False}
        want = {DT_RPATH: after.rpath, DT_RUNPATH: after.runpath}
        was = {DT_RPATH: before.rpath, DT_RUNPATH: before.runpath}
        for tag, old in entries:
            value = old
            if tag == DT_NEEDED:
                if needed >= len(after.needed):
                    raise Unfit("more DT_NEEDED entries than planned")
                if after.needed[needed] != before.needed[needed]:
                    value = table.add(after.needed[needed])
                needed += 1
            elif tag in have:
                new = want[tag]
                if new is None:
                    free_slot = len(out) if free_slot is None else free_slot
                    continue
                have[tag] = True
                if new != was[tag]:
                    value = table.add(new)
            out.append((tag, value))
        if needed != len(before.needed):
            raise Unfit("the DT_NEEDED entries differ from what was planned")
        for tag in (DT_RUNPATH, DT_RPATH):
            new = want[tag]
            if new is not None and not have[tag]:
                at = len(out) if free_slot is None else free_slot
                out.insert(at, (tag, table.add(new)))
                free_slot = None
        return out

    def version_files(
        self, tags: dict[int, int], table: _StringTable, before: ElfState, after: ElfState
    ) -> None:
        """Re-point ``vn_file`` of each renamed ``.gnu.version_r`` entry, in place."""
        if after.verneed == before.verneed:
            return
        count = tags.get(DT_VERNEEDNUM, 0)
        if DT_VERNEED not in tags or count != len(before.verneed):
            raise Unfit("the .gnu.version_r entries differ from what was planned")
        fmt = self.fmt
        position = self.h.file_offset(tags[DT_VERNEED], VERNEED_SIZE, "DT_VERNEED")
        for number, (old, new) in enumerate(zip(before.verneed, after.verneed, strict=True)):
            raw = self.read(position, VERNEED_SIZE)
            next_offset = struct.unpack(fmt.order + "HHIII", raw)[4]
            if old != new:
                self.writes.append((position + 4, fmt.pack_u32(table.add(new))))
            if next_offset == 0 and number < count - 1:
                raise Unfit("the .gnu.version_r chain ends early")
            position += next_offset

    # -- the new segment and the program header table -----------------------------------

    def new_segment(self, placement: Placement, interp: int | None, dynamic: int | None) -> None:
        h, fmt = self.h, self.fmt
        loads = h.loads
        alignment = max(PAGE, *(load.align for load in loads))
        if alignment & (alignment - 1):
            raise Unfit(f"a PT_LOAD alignment {alignment:#x} is not a power of two")
        table_size = (len(self.segments) + 1) * fmt.phentsize
        if table_size > _MAX_TABLE:
            raise Unfit("the program header table would be larger than a page")
        memory_end = max(load.vaddr + load.memsz for load in loads)
        first_delta = loads[0].vaddr - loads[0].offset
        program = h.first(PT_INTERP) is not None
        pieces = dict(self.pieces)
        gap: tuple[int, int] | None = None
        if placement is Placement.GAP:
            gap = self.gap(table_size, first_delta, alignment)
            offset = _align(h.size, PAGE)
            address = _align(memory_end, alignment) + offset % alignment
        else:
            pieces = {"table": (bytes(table_size), fmt.word_size), **pieces}
            if program:  # the table's segment must have the first PT_LOAD's delta
                if first_delta % PAGE:
                    raise Unfit("the first PT_LOAD is not page aligned")
                offset = _align(max(h.size, _align(memory_end, alignment) - first_delta), PAGE)
                if offset - h.size > MAX_HOLE:
                    hole = (offset - h.size) >> 20
                    raise Unfit(f"the table would need a {hole} MiB hole before it")
                address = offset + first_delta
            else:
                offset = _align(h.size, PAGE)
                address = _align(memory_end, alignment) + offset % alignment
        # Lay the pieces out.
        places: dict[str, tuple[int, int, int]] = {}  # name -> (offset, address, size)
        position = 0
        for name, (data, align) in pieces.items():
            position = _align(position, align)
            places[name] = (offset + position, address + position, len(data))
            if name not in {"table", "dynamic"}:
                self.writes.append((offset + position, data))
            position += len(data)
        segment_align = alignment if (address - offset) % alignment == 0 else PAGE
        flags = PF_R | (PF_W if "dynamic" in pieces else 0)
        new_load = Segment(PT_LOAD, flags, offset, address, address, position, position,
                           segment_align)  # fmt: skip
        self.follow(places, interp, dynamic)
        # The table: where it goes, what points at it.
        if gap is not None:
            index, table_offset = gap
            grown = self.segments[index]
            size = table_offset + table_size - grown.offset
            self.segments[index] = attrs.evolve(grown, filesz=size, memsz=size)
            table_address = grown.vaddr + table_offset - grown.offset
        else:
            table_offset, table_address, _ = places["table"]
        last_load = max(i for i, s in enumerate(self.segments) if s.type == PT_LOAD)
        self.segments.insert(last_load + 1, new_load)
        for i, segment in enumerate(self.segments):
            if segment.type == PT_PHDR:
                self.segments[i] = attrs.evolve(
                    segment, offset=table_offset, vaddr=table_address, paddr=table_address,
                    filesz=table_size, memsz=table_size,
                )  # fmt: skip
        table = b"".join(fmt.pack_segment(s) for s in self.segments)
        self.writes.append((table_offset, table))
        self.writes.append((fmt.phoff_at, fmt.pack_word(table_offset)))
        self.writes.append((fmt.phnum_at, fmt.pack_half(len(self.segments))))
        self.section_headers()

    def follow(
        self, places: dict[str, tuple[int, int, int]], interp: int | None, dynamic: int | None
    ) -> None:
        """Point PT_INTERP, PT_DYNAMIC, DT_STRTAB and the section headers at the pieces."""
        fmt = self.fmt
        moves: list[tuple[int, int, tuple[int, int, int]]] = []  # (sh_type, old addr, place)
        if interp is not None:
            place = places["interp"]
            self.retarget(interp, place)
            moves.append((SHT_PROGBITS, self.h.segments[interp].vaddr, place))
        if "dynstr" in places:
            place = places["dynstr"]
            moves.append((SHT_STRTAB, self.old_strtab, place))
            entries = [
                (tag, place[1] if tag == DT_STRTAB else place[2] if tag == DT_STRSZ else value)
                for tag, value in self.dynamic_entries
            ]
            if dynamic is not None:
                place = places["dynamic"]
                self.retarget(dynamic, place)
                moves.append((SHT_DYNAMIC, self.h.segments[dynamic].vaddr, place))
                slots = place[2] // fmt.dyn_size
                self.writes.append((place[0], self.dynamic_bytes(entries, slots)))
            else:  # in place: DT_NULL-padded over at least what was used
                index = self.h.first(PT_DYNAMIC)
                assert index is not None
                slots = max(self.dynamic_used + 1, len(entries) + 1)
                offset = self.h.segments[index].offset
                self.writes.append((offset, self.dynamic_bytes(entries, slots)))
        for section in self.h.sections:
            if section.type in (SHT_NULL, SHT_NOBITS) or not section.flags & SHF_ALLOC:
                continue
            for sh_type, old_address, (offset, address, size) in moves:
                if section.type == sh_type and section.addr == old_address:
                    self.moved_sections[section.index] = (address, offset, size)

    def retarget(self, index: int, place: tuple[int, int, int]) -> None:
        offset, address, size = place
        self.segments[index] = attrs.evolve(
            self.segments[index], offset=offset, vaddr=address, paddr=address, filesz=size,
            memsz=size,
        )  # fmt: skip

    def dynamic_bytes(self, entries: list[tuple[int, int]], slots: int) -> bytes:
        return self.fmt.pack_dynamic(entries + [(DT_NULL, 0)] * (slots - len(entries)))

    def section_headers(self) -> None:
        fmt = self.fmt
        for index, (address, offset, size) in sorted(self.moved_sections.items()):
            at = self.h.shoff + index * fmt.shentsize + fmt.section_place_at
            self.writes.append((at, fmt.pack_section_place(address, offset, size)))

    def gap(self, table_size: int, first_delta: int, alignment: int) -> tuple[int, int]:
        """(index of the PT_LOAD that grows over it, file offset of the table) for the
        padding after a PT_LOAD that can hold the table; Unfit when none can."""
        h = self.h
        taken = [(s.offset, s.offset + s.filesz) for s in h.segments if s.filesz]
        taken += [
            (s.offset, s.offset + s.size)
            for s in h.sections
            if s.type not in (SHT_NULL, SHT_NOBITS) and s.size
        ]
        if h.sections:
            taken.append((h.shoff, h.shoff + len(h.sections) * self.fmt.shentsize))
        taken.append((0, self.fmt.ehdr_size))
        loads = h.loads
        candidates = sorted(
            (i for i, s in enumerate(h.segments) if s.type == PT_LOAD),
            key=lambda i: (bool(h.segments[i].flags & 0x1), i),  # PF_X last
        )
        for index in candidates:
            load = h.segments[index]
            if load.vaddr - load.offset != first_delta or load.filesz != load.memsz:
                continue
            end = load.offset + load.filesz
            start = _align(end, self.fmt.word_size)
            stop = start + table_size
            if stop > h.size:
                continue
            if any(a < stop and b > end and not (load.offset <= a and b <= end) for a, b in taken):
                continue
            memory_end = load.vaddr + stop - load.offset
            if all(self.below(memory_end, load, other, alignment) for other in loads):
                return index, start
        raise Unfit("no gap after a PT_LOAD holds the program header table")

    @staticmethod
    def below(memory_end: int, load: Segment, other: Segment, alignment: int) -> bool:
        """Whether ``load`` grown to ``memory_end`` stays clear of ``other``'s pages."""
        if other is load or other.vaddr < load.vaddr + load.memsz:
            return True
        if other.vaddr - other.offset == load.vaddr - load.offset:
            return memory_end <= other.vaddr  # shared pages would map the same bytes
        return memory_end <= other.vaddr // alignment * alignment


class _StringTable:
    """The strings appended to a string table of ``base`` bytes."""

    def __init__(self, base: int) -> None:
        self.base = base
        self.data = bytearray()
        self.offsets: dict[str, int] = {}

    def add(self, text: str) -> int:
        if text not in self.offsets:
            self.offsets[text] = self.base + len(self.data)
            self.data += text.encode("utf-8", "surrogateescape") + b"\0"
        return self.offsets[text]

    def appended(self) -> bytes:
        return bytes(self.data)
