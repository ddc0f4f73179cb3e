"""Which files ``patch FILE_OR_DIR...`` solves: the named ELF files, and in a named
directory every dynamically linked executable and shared library (found by their magic,
not their names), solved together as one set of roots."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence

import attrs

from autopatchelf.actions.patching.atomic import BACKUP_SUFFIX, is_temp
from autopatchelf.actions.patching.plan import store_holding
from autopatchelf.elf.facts import ElfFacts
from autopatchelf.elf.records import ELF_MAGIC
from autopatchelf.elf.tree import Unlistable, walk
from autopatchelf.errors import AutopatchelfError, PatchError
from autopatchelf.frozen import Record
from autopatchelf.ldso.load import LoadRole, load_role
from autopatchelf.ldso.machines import incompatibility


@attrs.frozen(repr=False)
class Targets(Record):
    #: Real paths of the ELF files to solve as roots: programs first, then libraries.
    roots: tuple[str, ...]
    #: (path, reason) for files found in the directories and left out.
    skipped: tuple[tuple[str, str], ...]


def find_targets(paths: Sequence[str], *, store_dir: str | None = None) -> Targets:
    """The roots to solve for ``paths``; raises :class:`PatchError` (or
    :class:`~autopatchelf.errors.ElfError`) for a missing, unreadable or non-ELF file
    named directly, or for anything in the store."""
    if not paths:
        raise PatchError("no file to patch", hint="name ELF files or an app directory")
    found: dict[str, ElfFacts] = {}
    named: set[str] = set()
    skipped: list[tuple[str, str]] = []
    for given in paths:
        if not os.path.lexists(given):
            raise PatchError(f"{given}: no such file or directory")
        real = os.path.realpath(given)
        store = store_holding(real, store_dir)
        if store is not None:
            raise PatchError(
                f"{given} is in the read-only store {store}; store files are never patched",
                hint="copy the app out of the store and patch the copy",
            )
        if os.path.isdir(real):
            before = len(found)
            for path in _walk(real, skipped):
                _consider(path, found, skipped)
            if len(found) == before:
                raise PatchError(
                    f"{given}: no dynamically linked ELF program or library in it",
                    hint="name the directory holding the app's files",
                )
        else:
            facts = ElfFacts.read(real)
            role = load_role(facts)
            if role.reason:
                raise PatchError(f"{given}: nothing to patch: it is {role.reason}")
            found[real] = facts
            named.add(real)
    roots = _compatible(found, named, skipped)
    return Targets(roots, tuple(skipped))


def _walk(top: str, skipped: list[tuple[str, str]]) -> Iterator[str]:
    """Regular files below ``top`` in a stable order; symbolic links are not followed
    (a patch never edits through a link). Unlistable directories are noted in ``skipped``."""
    unlistable: list[Unlistable] = []
    for entry in walk(top, unlistable):
        if not entry.is_link and os.path.isfile(entry.path):
            yield entry.path
    skipped.extend((u.path, f"cannot list it ({u.reason})") for u in unlistable)


def _consider(path: str, found: dict[str, ElfFacts], skipped: list[tuple[str, str]]) -> None:
    if is_temp(os.path.basename(path)):
        return  # a temporary file of an interrupted patch
    if path.endswith(BACKUP_SUFFIX) and os.path.exists(path.removesuffix(BACKUP_SUFFIX)):
        skipped.append((path, "a backup (patch --backup): left as it is"))
        return
    try:
        with open(path, "rb") as handle:
            if handle.read(len(ELF_MAGIC)) != ELF_MAGIC:
                return
    except OSError as exc:
        skipped.append((path, f"cannot read it ({exc.strerror})"))
        return
    try:
        facts = ElfFacts.read(path)
    except AutopatchelfError as exc:
        skipped.append((path, getattr(exc, "short_reason", exc.reason)))
        return
    role = load_role(facts)
    if role.reason:
        skipped.append((path, role.reason))
    else:
        found.setdefault(path, facts)


def _compatible(
    found: dict[str, ElfFacts], named: set[str], skipped: list[tuple[str, str]]
) -> tuple[str, ...]:
    """Programs first, then libraries. Files found in a directory that cannot share a
    process with the first program (another machine or class) are left out; a file named
    directly is an error."""
    ordered = sorted(
        found.items(), key=lambda item: (load_role(item[1]) is not LoadRole.PROGRAM, item[0])
    )
    if not ordered:
        return ()
    reference = ordered[0][1]
    roots = []
    for path, facts in ordered:
        reason = incompatibility(reference, facts)
        if reason is None:
            roots.append(path)
        elif path in named:
            raise PatchError(
                f"{path} cannot share a process with {reference.path}: {reason}",
                hint="patch files of different architectures in separate runs",
            )
        else:
            skipped.append((path, f"cannot share a process with {reference.path}: {reason}"))
    return tuple(roots)
