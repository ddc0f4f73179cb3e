"""Rewrite one ELF file to a planned
:class:`~autopatchelf.actions.patching.plan.ElfState`: with our own writer when it can,
else with lief.

The new interpreter and RUNPATH strings do not fit where the old ones were, so the writer
moves ``.interp`` and ``.dynstr`` (and ``.dynamic`` when it has no spare slot) into a new
PT_LOAD segment, which needs a larger program header table. Where that table goes is the
layout, tried in this order:

* ``native-gap``: our writer (:mod:`~autopatchelf.actions.patching.native`) puts the
  table into the padding after a PT_LOAD, which grows over it. Every other byte keeps its
  place: code and data are not touched, and separate debug info (found by build-id) still
  matches. The file is copied by the kernel and the edits written over the copy: a large
  file is never held in memory.
* ``native-end``: the same, the table at the start of the new segment (for a program, at
  an offset that keeps ``AT_PHDR`` right, below).
* ``segment-gap`` (lief): the table moves into the padding between two PT_LOAD segments.
* ``lief-default`` (the last resort): lief's own choice; for a PIE it shifts everything
  after the table by a page and rewrites the relocations.

lief (imported only when a native layout fails) holds the whole file and its own model of
it in memory. lief's ``FILE_END`` placement is never used (it produced a crashing
program here).

Every result is read back with our own reader before it is accepted: the patched state
must be exactly the planned one, everything else the reader sees (soname, type, flags,
version definitions, dynamic symbols) unchanged, and for a program the table must be
where the kernel looks for it (``AT_PHDR``: the first PT_LOAD's ``p_vaddr - p_offset``
plus ``e_phoff``, as Linux computed it before 5.18). A native result must also be the old
file with exactly the planned bytes changed (so its symbol tables, byte-identical and with
the old string table a prefix of the new one, need not be decoded to compare them). A
layout that fails is dropped for the next one.
"""

from __future__ import annotations

import enum
import os
import struct
from collections.abc import Sequence
from typing import Any

import attrs

from autopatchelf.actions.patching import atomic
from autopatchelf.actions.patching.elfheaders import Read, Unfit
from autopatchelf.actions.patching.native import NativeEdit, Placement, plan_edit
from autopatchelf.actions.patching.plan import ElfState
from autopatchelf.elf import parse_facts
from autopatchelf.elf.facts import ElfFacts
from autopatchelf.errors import AutopatchelfError, PatchError
from autopatchelf.frozen import Record

_PT_LOAD = 1
_PT_PHDR = 6


class Layout(enum.Enum):
    NATIVE_GAP = "native-gap"
    NATIVE_END = "native-end"
    SEGMENT_GAP = "segment-gap"
    LIEF_DEFAULT = "lief-default"


#: The layouts tried, in order.
LAYOUTS: tuple[Layout, ...] = (
    Layout.NATIVE_GAP, Layout.NATIVE_END, Layout.SEGMENT_GAP, Layout.LIEF_DEFAULT
)  # fmt: skip
_NATIVE = {Layout.NATIVE_GAP: Placement.GAP, Layout.NATIVE_END: Placement.END}
#: What a layout that does not apply raises (lief's own errors included).
_FAILED = (Unfit, RuntimeError, ValueError, struct.error)


@attrs.frozen(repr=False)
class Rewritten(Record):
    data: bytes
    layout: Layout


@attrs.frozen(repr=False)
class Staged(Record):
    """A checked temporary file beside the original, holding the rewritten file."""

    temp: str
    layout: Layout
    size: int


def rewrite(
    data: bytes,
    path: str,
    before: ElfState,
    after: ElfState,
    *,
    layouts: Sequence[Layout] = LAYOUTS,
) -> Rewritten:
    """The image ``data`` (of ``path``, in state ``before``) rewritten to state ``after``,
    in memory.

    Raises :class:`PatchError` when no layout gives a checked result.
    """
    original = parse_facts(data, path)
    _check_planned(original, path, before)
    reasons: list[str] = []
    for layout in layouts:
        try:
            if layout in _NATIVE:
                read = _image_reader(data)
                edit = plan_edit(read, len(data), path, before, after, _NATIVE[layout])
                out = edit.apply(data)
            else:
                out = _build(data, path, before, after, layout)
            _check(out, path, original, after)
        except (_LayoutFailed, *_FAILED) as exc:
            reasons.append(f"{layout.value}: {exc}")
            continue
        return Rewritten(out, layout)
    raise PatchError(f"{path}: cannot rewrite it ({'; '.join(reasons)})")


def stage_rewrite(
    path: str,
    before: ElfState,
    after: ElfState,
    original: os.stat_result,
    *,
    layouts: Sequence[Layout] = LAYOUTS,
) -> Staged:
    """The file at ``path`` (in state ``before``, with metadata ``original``) rewritten to
    state ``after`` in a temporary file beside it (:func:`atomic.stage`), read back and
    checked there. The native layouts never hold the file in memory.

    Raises :class:`PatchError` when no layout gives a checked result.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise PatchError(f"{path}: cannot read it ({exc.strerror})") from None
    try:
        size = os.fstat(fd).st_size
        facts = ElfFacts.read(path)
        _check_planned(facts, path, before)
        reasons: list[str] = []
        for layout in layouts:
            try:
                if layout in _NATIVE:
                    temp = _stage_native(fd, size, path, facts, after, original, layout)
                else:
                    temp = _stage_lief(fd, size, path, facts, after, original, layout)
            except (_LayoutFailed, *_FAILED) as exc:
                reasons.append(f"{layout.value}: {exc}")
                continue
            return Staged(temp, layout, os.stat(temp).st_size)
        raise PatchError(f"{path}: cannot rewrite it ({'; '.join(reasons)})")
    except OSError as exc:
        raise PatchError(f"{path}: cannot read it ({exc.strerror})") from None
    finally:
        os.close(fd)


def _check_planned(original: ElfFacts, path: str, before: ElfState) -> None:
    if ElfState.of(original) != before:
        raise PatchError(f"{path} changed since the patch was planned", hint="run patch again")


class _LayoutFailed(Exception):
    pass


def _image_reader(data: bytes) -> Read:
    def read(offset: int, size: int) -> bytes:
        if offset < 0 or offset + size > len(data):
            raise Unfit(f"{size} bytes at {offset:#x} are past the end of the file")
        return data[offset : offset + size]

    return read


def _file_reader(fd: int, file_size: int) -> Read:
    def read(offset: int, size: int) -> bytes:
        if offset < 0 or offset + size > file_size:
            raise Unfit(f"{size} bytes at {offset:#x} are past the end of the file")
        chunk = os.pread(fd, size, offset)
        if len(chunk) != size:
            raise Unfit("the file shrank while it was read")
        return chunk

    return read


def _stage_native(
    fd: int,
    size: int,
    path: str,
    original: ElfFacts,
    after: ElfState,
    stat: os.stat_result,
    layout: Layout,
) -> str:
    read = _file_reader(fd, size)
    edit = plan_edit(read, size, path, ElfState.of(original), after, _NATIVE[layout])

    def verify(temp: str) -> None:
        _check_written(temp, path, original, after, edit, read)

    return atomic.stage_with(path, lambda out: edit.write(fd, out), stat, verify)


def _check_written(
    temp: str, path: str, original: ElfFacts, after: ElfState, edit: NativeEdit, old: Read
) -> None:
    """Is the native result at ``temp`` the planned file? (Read in pieces, not whole.)"""
    with open(temp, "rb") as handle:
        written = handle.fileno()
        size = os.fstat(written).st_size
        problem = edit.difference(old, _file_reader(written, size), size)
        if problem is not None:
            raise _LayoutFailed(f"the written file is not as planned: {problem}")
        facts = _read_back(temp, path, after)
        kept = facts.symbols, original.symbols
        if (
            _invariants(facts, symbols=False) != _invariants(original, symbols=False)
            or kept[0].count != kept[1].count
            or kept[0].table != kept[1].table
            or kept[0].versym != kept[1].versym
            or not kept[0].strtab.startswith(kept[1].strtab)
        ):
            raise _LayoutFailed("the result changed what it should have kept")
        if facts.interpreter is not None:
            problem = _phdr_problem_in(_file_reader(written, size))
            if problem is not None:
                raise _LayoutFailed(problem)


def _read_back(temp: str, path: str, after: ElfState) -> ElfFacts:
    try:
        facts = ElfFacts.read(temp)
    except AutopatchelfError as exc:
        raise _LayoutFailed(f"the result is unreadable ({exc})") from None
    got = ElfState.of(facts)
    if got != after:
        raise _LayoutFailed(f"the result reads as {got}, not {after}")
    return facts


def _stage_lief(
    fd: int,
    size: int,
    path: str,
    original: ElfFacts,
    after: ElfState,
    stat: os.stat_result,
    layout: Layout,
) -> str:
    data = _file_reader(fd, size)(0, size)
    out = _build(data, path, ElfState.of(original), after, layout)
    _check(out, path, original, after)
    del data

    def read_back(temp: str) -> None:
        _read_back(temp, path, after)

    return atomic.stage(path, out, stat, read_back)


def _build(data: bytes, path: str, before: ElfState, after: ElfState, layout: Layout) -> bytes:
    import lief  # only here: it takes a second to import

    with lief.logging.level_scope(lief.logging.LEVEL.OFF):
        binary = lief.ELF.parse(data)
        if binary is None:
            raise PatchError(f"{path}: lief cannot parse it")
        _edit(lief, binary, path, before, after)
        gap = lief.ELF.Binary.PHDR_RELOC.SEGMENT_GAP
        if layout is Layout.SEGMENT_GAP and not binary.relocate_phdr_table(gap):
            raise _LayoutFailed("no gap between segments holds the program headers")
        out = binary.write_to_bytes(lief.ELF.Builder.config_t())
    return bytes(out)


def _edit(lief: Any, binary: Any, path: str, before: ElfState, after: ElfState) -> None:
    tags = lief.ELF.DynamicEntry.TAG
    if after.interpreter != before.interpreter:
        if after.interpreter is None or before.interpreter is None:
            raise PatchError(f"{path}: adding or removing an interpreter is not supported")
        binary.interpreter = after.interpreter
    needed = [e for e in binary.dynamic_entries if e.tag == tags.NEEDED]
    _rename(path, "DT_NEEDED", needed, before.needed, after.needed)
    requirements = list(binary.symbols_version_requirement)
    _rename(path, ".gnu.version_r", requirements, before.verneed, after.verneed)
    if (before.rpath, before.runpath) != (after.rpath, after.runpath):
        for tag in (tags.RPATH, tags.RUNPATH):
            while binary.has(tag):
                binary.remove(tag)
        if after.rpath is not None:
            binary.add(lief.ELF.DynamicEntryRpath(after.rpath))
        if after.runpath is not None:
            binary.add(lief.ELF.DynamicEntryRunPath(after.runpath))


def _rename(
    path: str, table: str, entries: list[Any], old: tuple[str, ...], new: tuple[str, ...]
) -> None:
    if tuple(e.name for e in entries) != old:
        raise PatchError(f"{path}: lief reads its {table} entries differently from us")
    for entry, was, becomes in zip(entries, old, new, strict=True):
        if was != becomes:
            entry.name = becomes


def _check(out: bytes, path: str, original: ElfFacts, after: ElfState) -> None:
    try:
        facts = parse_facts(out, path)
    except AutopatchelfError as exc:
        raise _LayoutFailed(f"the result is unreadable ({exc})") from None
    got = ElfState.of(facts)
    if got != after:
        raise _LayoutFailed(f"the result reads as {got}, not {after}")
    if _invariants(facts) != _invariants(original):
        raise _LayoutFailed("the result changed what it should have kept")
    if facts.interpreter is not None:
        problem = _phdr_problem(out)
        if problem is not None:
            raise _LayoutFailed(problem)


def _invariants(facts: ElfFacts, *, symbols: bool = True) -> tuple[object, ...]:
    kept: tuple[object, ...] = (
        facts.elf_class,
        facts.endian,
        facts.machine,
        facts.type,
        facts.soname,
        facts.flags,
        facts.flags_1,
        tuple(v.versions for v in facts.version_needs),
        facts.version_defs,
    )
    if not symbols:
        return kept
    return (
        *kept,
        facts.symbols.count,
        facts.symbols.defined,
        # (the needed file of an import follows a substitution's rename)
        tuple((s.name, s.version) for s in facts.symbols.undefined),
    )


def _program_headers(read: Read) -> tuple[int, int, list[tuple[int, int, int, int]]]:
    """``e_phoff``, the table's size and (type, offset, vaddr, filesz) of every segment."""
    data = read(0, 64)
    order = "<" if data[5] == 1 else ">"
    if data[4] == 2:  # ELF64: type, flags, offset, vaddr, paddr, filesz
        (phoff,) = struct.unpack_from(order + "Q", data, 32)
        phentsize, phnum = struct.unpack_from(order + "HH", data, 54)
        entry, picks = struct.Struct(order + "IIQQQQ"), (0, 2, 3, 5)
    else:  # ELF32: type, offset, vaddr, paddr, filesz
        (phoff,) = struct.unpack_from(order + "I", data, 28)
        phentsize, phnum = struct.unpack_from(order + "HH", data, 42)
        entry, picks = struct.Struct(order + "IIIII"), (0, 1, 2, 4)
    table = read(phoff, phnum * phentsize)
    segments = []
    for i in range(phnum):
        raw = entry.unpack_from(table, i * phentsize)
        kind, offset, vaddr, filesz = (raw[p] for p in picks)
        segments.append((kind, offset, vaddr, filesz))
    return phoff, phnum * phentsize, segments


def _phdr_problem(data: bytes) -> str | None:
    """Why the kernel would hand the program ``data`` a wrong ``AT_PHDR``, or None."""
    return _phdr_problem_in(_image_reader(data))


def _phdr_problem_in(read: Read) -> str | None:
    """:func:`_phdr_problem` of the file ``read`` reads."""
    try:
        phoff, size, segments = _program_headers(read)
    except (struct.error, Unfit):
        return "the program header table is truncated"
    loads = [(off, vaddr, filesz) for kind, off, vaddr, filesz in segments if kind == _PT_LOAD]
    if not loads:
        return "the result has no PT_LOAD segment"
    holder = next((s for s in loads if s[0] <= phoff and phoff + size <= s[0] + s[2]), None)
    if holder is None:
        return "the program header table is in no loaded segment"
    address = holder[1] + phoff - holder[0]
    for kind, _off, vaddr, _filesz in segments:
        if kind == _PT_PHDR and vaddr != address:
            # ld.so computes the load bias from it: the program crashes on any kernel.
            return "PT_PHDR does not point at the program header table"
    first = loads[0]
    if first[1] - first[0] + phoff != address:
        return "kernels before Linux 5.18 would look for the program headers elsewhere"
    return None
