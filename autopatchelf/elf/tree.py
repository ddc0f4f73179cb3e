"""Walking directory trees for ELF files: the one walker ``check`` and ``patch`` share.

Directories are walked in sorted order without following symlinks to directories; every
other entry is reported once, with whether it is a symlink, so each command applies its
own rule (``check`` counts a link to a file it already found as a duplicate, ``patch``
never edits through a link). Directories that cannot be listed are reported, not skipped
silently.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import attrs

from autopatchelf.frozen import Record


@attrs.frozen(repr=False)
class TreeEntry(Record):
    """One non-directory entry of a walked tree."""

    #: ``/``-separated, relative to the top of the walk.
    rel: str
    #: As walked (may be a symlink).
    path: str
    is_link: bool


@attrs.frozen(repr=False)
class Unlistable(Record):
    """A directory of the tree that could not be listed."""

    path: str
    reason: str


def walk(top: str, unlistable: list[Unlistable] | None = None) -> Iterator[TreeEntry]:
    """Every non-directory entry under ``top``, in sorted order; directories that cannot
    be listed are appended to ``unlistable``."""

    def failed(exc: OSError) -> None:
        if unlistable is not None:
            unlistable.append(Unlistable(str(exc.filename), exc.strerror or str(exc)))

    for directory, dirnames, filenames in os.walk(top, onerror=failed):
        dirnames.sort()
        for name in sorted(filenames):
            path = os.path.join(directory, name)
            rel = os.path.relpath(path, top).replace(os.sep, "/")
            yield TreeEntry(rel, path, os.path.islink(path))
