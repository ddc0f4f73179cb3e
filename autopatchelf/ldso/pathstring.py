"""Search path *strings* as ld.so reads them: the elements of a DT_RPATH, DT_RUNPATH or
library path, the dynamic string tokens in them, and how to write one that ld.so reads
back as exactly the directories meant. Pure string rules (no ELF reading), so ``run`` with
a lock uses them without loading the rest; :mod:`autopatchelf.ldso.search` builds the
search order on them.

Facts carried over from glibc's ``elf/dl-load.c``: DT_RPATH/DT_RUNPATH are split on ``:``
and each element's tokens are expanded after the split; the library path
(``LD_LIBRARY_PATH``, ``--library-path``) is split on ``:`` and ``;``, its tokens expanded
*before* the split; an empty element means the working directory.
"""

from __future__ import annotations

import enum
import os
import re
from collections.abc import Iterable

#: ``$NAME`` or ``${NAME}`` for the three tokens ld.so substitutes; a name continuing with
#: a letter, digit or ``_`` (``$ORIGINAL``) is not one of them.
_DST = re.compile(r"\$(?:\{(ORIGIN|LIB|PLATFORM)\}|(ORIGIN|LIB|PLATFORM)(?![A-Za-z0-9_]))")


class Tag(enum.Enum):
    """Which list an entry comes from."""

    RPATH = "DT_RPATH"
    RUNPATH = "DT_RUNPATH"
    LIBRARY_PATH = "library path"


def has_slash(name: str) -> bool:
    """A DT_NEEDED (or dlopen) name with a slash is a path: opened, never searched."""
    return "/" in name


def has_dst(text: str) -> bool:
    """Whether ``text`` holds a dynamic string token ld.so would substitute."""
    return _DST.search(text) is not None


def split(value: str | None, tag: Tag = Tag.RUNPATH) -> tuple[str, ...]:
    """The elements of a DT_RPATH/DT_RUNPATH (split on ``:``) or library path (``:`` and
    ``;``), empty ones kept (they mean the working directory)."""
    if value is None:
        return ()
    if tag is Tag.LIBRARY_PATH:
        value = value.replace(";", ":")
    return tuple(value.split(":"))


def unsafe_reason(directory: str, tag: Tag) -> str | None:
    """Why ``directory`` cannot be one element of a search path of kind ``tag`` (ld.so would
    split it or substitute part of it), or None."""
    if not os.path.isabs(directory):
        return "it is not absolute (ld.so would resolve it against the working directory)"
    if ":" in directory:
        return "it holds ':', which separates search path elements"
    if tag is Tag.LIBRARY_PATH and ";" in directory:
        return "it holds ';', which separates library path elements"
    if has_dst(directory):
        return "it holds a '$' token ld.so would substitute"
    if "\0" in directory:
        return "it holds a NUL byte"
    return None


def join(dirs: Iterable[str], tag: Tag) -> str:
    """The search path string naming exactly ``dirs``; ``ValueError`` when a directory
    cannot be written so (see :func:`unsafe_reason`)."""
    elements = list(dirs)
    for directory in elements:
        reason = unsafe_reason(directory, tag)
        if reason is not None:
            raise ValueError(f"{directory!r} cannot be in a {tag.value}: {reason}")
    return ":".join(elements)
