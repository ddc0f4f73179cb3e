"""Find the ELF files under the paths ``check`` is given: by magic, not by name.

Directories are walked in sorted order without following symlinks to directories.
A file reached twice (a symlink or hard link to a file already found) is counted once,
under its real name when the walk saw that; non-regular files (fifos, devices) are never
opened; files that are not ELF are only counted.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence

import attrs

from autopatchelf.actions.checks.check_model import CheckRoot
from autopatchelf.actions.patching.atomic import is_temp
from autopatchelf.elf.records import ELF_MAGIC
from autopatchelf.elf.tree import Unlistable, walk
from autopatchelf.errors import CheckInputError
from autopatchelf.frozen import Record


@attrs.frozen(repr=False)
class FoundFile(Record):
    #: Index into :attr:`Discovery.roots`.
    root: int
    #: Relative to the root's base, ``/``-separated.
    rel: str
    #: Absolute path as walked (may be a symlink).
    path: str
    #: The file it names (symlinks resolved).
    real: str


@attrs.frozen(repr=False)
class Discovery(Record):
    roots: tuple[CheckRoot, ...]
    files: tuple[FoundFile, ...]
    non_elf: int
    unreadable: int
    duplicates: int
    #: What could not be read (files) or listed (directories): (path, reason), by path.
    unreadable_paths: tuple[tuple[str, str], ...] = ()


def discover(paths: Sequence[str]) -> Discovery:
    """Every ELF file under ``paths`` (files or directories); raises
    :class:`CheckInputError` for a path that does not exist."""
    if not paths:
        raise CheckInputError("no path to check", hint="name a directory or an ELF file")
    roots: list[CheckRoot] = []
    walked: list[tuple[int, str, str, bool]] = []
    unlistable: list[Unlistable] = []
    unreadable_paths: list[tuple[str, str]] = []
    for index, given in enumerate(paths):
        absolute = os.path.abspath(given)
        if not os.path.exists(absolute):
            raise CheckInputError(
                f"{given}: no such file or directory", hint="check the paths you passed"
            )
        if os.path.isdir(absolute):
            roots.append(CheckRoot(os.path.normpath(given), absolute))
            walked.extend((index, e.rel, e.path, e.is_link) for e in walk(absolute, unlistable))
        else:
            roots.append(CheckRoot(os.path.normpath(given), os.path.dirname(absolute)))
            walked.append((index, os.path.basename(absolute), absolute, os.path.islink(absolute)))
    walked.sort()
    seen: set[tuple[int, int]] = set()
    found: dict[tuple[int, str], FoundFile] = {}
    non_elf = unreadable = duplicates = 0
    # Real files first, then symlinks: a link to a file the walk reaches anyway is a
    # duplicate, whatever the names' order. Hard links: the first name in path order wins.
    for want_links in (False, True):
        for root, rel, path, is_link in walked:
            if is_link is not want_links:
                continue
            try:
                info = os.stat(path)
            except OSError:
                continue  # a dangling symlink
            if not stat.S_ISREG(info.st_mode) or is_temp(os.path.basename(path)):
                continue  # not a file, or the temporary file of an interrupted patch
            identity = (info.st_dev, info.st_ino)
            if identity in seen:
                duplicates += 1
                continue
            seen.add(identity)
            try:
                with open(path, "rb") as stream:
                    magic = stream.read(len(ELF_MAGIC))
            except OSError as exc:
                unreadable += 1
                unreadable_paths.append((path, exc.strerror or str(exc)))
                continue
            if magic != ELF_MAGIC:
                non_elf += 1
                continue
            found[(root, rel)] = FoundFile(root, rel, path, os.path.realpath(path))
    files = tuple(found[key] for key in sorted(found))
    unreadable_paths.extend((u.path, f"cannot list it: {u.reason}") for u in unlistable)
    return Discovery(
        tuple(roots),
        files,
        non_elf,
        unreadable + len(unlistable),
        duplicates,
        tuple(sorted(unreadable_paths)),
    )
