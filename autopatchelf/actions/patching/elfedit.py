"""Rewrite one ELF image to a planned
:class:`~autopatchelf.actions.patching.plan.ElfState`, with lief.

The new interpreter and RUNPATH strings do not fit where the old ones were, so the writer
moves ``.interp`` and ``.dynstr`` (and ``.dynamic`` when it has no spare slot) into a new
PT_LOAD segment, which needs a larger program header table. Where that table goes is the
layout:

* ``segment-gap`` (tried first): the table moves into the padding between two PT_LOAD
  segments. Every other section keeps its address and file offset: code and data are not
  touched, and separate debug info (found by build-id) still matches.
* ``lief-default`` (the fallback, when no gap is large enough): lief's own choice; for a
  PIE it shifts everything after the table by a page and rewrites the relocations.

lief's ``FILE_END`` placement is never used (it produced a crashing program here).

Every result is read back with our own reader before it is accepted: the patched state
must be exactly the planned one, everything else the reader sees (soname, type, flags,
version definitions, dynamic symbols) unchanged, and for a program the table must be
where the kernel looks for it (``AT_PHDR``: the first PT_LOAD's ``p_vaddr - p_offset``
plus ``e_phoff``, as Linux computed it before 5.18). A layout that fails is dropped for
the next one.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Sequence
from typing import Any

import attrs
import lief

from autopatchelf.actions.patching.plan import ElfState
from autopatchelf.elf import parse_facts
from autopatchelf.elf.facts import ElfFacts
from autopatchelf.errors import AutopatchelfError, PatchError

_TAG = lief.ELF.DynamicEntry.TAG
_PT_LOAD = 1
_PT_PHDR = 6


class Layout(enum.Enum):
    SEGMENT_GAP = "segment-gap"
    LIEF_DEFAULT = "lief-default"


#: The layouts tried, in order.
LAYOUTS: tuple[Layout, ...] = (Layout.SEGMENT_GAP, Layout.LIEF_DEFAULT)


@attrs.frozen
class Rewritten:
    data: bytes
    layout: Layout


def rewrite(
    data: bytes,
    path: str,
    before: ElfState,
    after: ElfState,
    *,
    layouts: Sequence[Layout] = LAYOUTS,
) -> Rewritten:
    """The image ``data`` (of ``path``, in state ``before``) rewritten to state ``after``.

    Raises :class:`PatchError` when no layout gives a checked result.
    """
    original = parse_facts(data, path)
    if ElfState.of(original) != before:
        raise PatchError(f"{path} changed since the patch was planned", hint="run patch again")
    reasons: list[str] = []
    for layout in layouts:
        try:
            out = _build(data, path, before, after, layout)
            _check(out, path, original, after)
        except (_LayoutFailed, RuntimeError, ValueError) as exc:  # lief's own errors too
            reasons.append(f"{layout.value}: {exc}")
            continue
        return Rewritten(out, layout)
    raise PatchError(f"{path}: cannot rewrite it ({'; '.join(reasons)})")


class _LayoutFailed(Exception):
    pass


def _build(data: bytes, path: str, before: ElfState, after: ElfState, layout: Layout) -> bytes:
    with lief.logging.level_scope(lief.logging.LEVEL.OFF):
        binary = lief.ELF.parse(data)
        if binary is None:
            raise PatchError(f"{path}: lief cannot parse it")
        _edit(binary, path, before, after)
        gap = lief.ELF.Binary.PHDR_RELOC.SEGMENT_GAP
        if layout is Layout.SEGMENT_GAP and not binary.relocate_phdr_table(gap):
            raise _LayoutFailed("no gap between segments holds the program headers")
        out = binary.write_to_bytes(lief.ELF.Builder.config_t())
    return bytes(out)


def _edit(binary: Any, path: str, before: ElfState, after: ElfState) -> None:
    if after.interpreter != before.interpreter:
        if after.interpreter is None or before.interpreter is None:
            raise PatchError(f"{path}: adding or removing an interpreter is not supported")
        binary.interpreter = after.interpreter
    needed = [e for e in binary.dynamic_entries if e.tag == _TAG.NEEDED]
    _rename(path, "DT_NEEDED", needed, before.needed, after.needed)
    requirements = list(binary.symbols_version_requirement)
    _rename(path, ".gnu.version_r", requirements, before.verneed, after.verneed)
    if (before.rpath, before.runpath) != (after.rpath, after.runpath):
        for tag in (_TAG.RPATH, _TAG.RUNPATH):
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


def _invariants(facts: ElfFacts) -> tuple[object, ...]:
    return (
        facts.elf_class,
        facts.endian,
        facts.machine,
        facts.type,
        facts.soname,
        facts.flags,
        facts.flags_1,
        tuple(v.versions for v in facts.version_needs),
        facts.version_defs,
        facts.symbols.count,
        facts.symbols.defined,
        # (the needed file of an import follows a substitution's rename)
        tuple((s.name, s.version) for s in facts.symbols.undefined),
    )


def _program_headers(data: bytes) -> tuple[int, int, list[tuple[int, int, int, int]]]:
    """``e_phoff``, the table's size and (type, offset, vaddr, filesz) of every segment."""
    order = "<" if data[5] == 1 else ">"
    if data[4] == 2:  # ELF64: type, flags, offset, vaddr, paddr, filesz
        (phoff,) = struct.unpack_from(order + "Q", data, 32)
        phentsize, phnum = struct.unpack_from(order + "HH", data, 54)
        entry, picks = struct.Struct(order + "IIQQQQ"), (0, 2, 3, 5)
    else:  # ELF32: type, offset, vaddr, paddr, filesz
        (phoff,) = struct.unpack_from(order + "I", data, 28)
        phentsize, phnum = struct.unpack_from(order + "HH", data, 42)
        entry, picks = struct.Struct(order + "IIIII"), (0, 1, 2, 4)
    segments = []
    for i in range(phnum):
        raw = entry.unpack_from(data, phoff + i * phentsize)
        kind, offset, vaddr, filesz = (raw[p] for p in picks)
        segments.append((kind, offset, vaddr, filesz))
    return phoff, phnum * phentsize, segments


def _phdr_problem(data: bytes) -> str | None:
    """Why the kernel would hand a program a wrong ``AT_PHDR``, or None."""
    try:
        phoff, size, segments = _program_headers(data)
    except struct.error:
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
