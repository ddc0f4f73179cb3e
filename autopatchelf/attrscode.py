"""The code attrs generates for our records, compiled once and kept as Python keeps byte code.

attrs writes the ``__init__``, ``__eq__``, ``__hash__`` and ``__setattr__`` of each class
it makes as source text and compiles that source when the class is made. For our frozen
records the compile is the largest part of making a class: 17 ms of the 66 ms our modules
take to import for a warm ``solve`` (55 classes). The source is a pure function of the
class definition and of attrs, but for one number: the seed that ``__hash__`` mixes into
every hash, ``hash()`` of a string, which Python draws anew in each process (hash
randomisation). The code compiled from the source is a function of the source, the compile
flags and the Python. So the code of this package's classes is kept in one marshal file
beside this module's byte code (``autopatchelf/__pycache__/attrs-methods.<tag>.bin``),
one entry per name attrs gives the source, each holding that source (its seed line
blanked) and its code: an entry whose source is not the one attrs wrote now (a changed
class, another attrs) is compiled again and replaced, and the file is written again at
exit. A kept ``__hash__`` mixes in the seed of the process that compiled it, which is as
good as this one's: hashes are consistent within a process and were never the same in
two.

It follows Python's rules for ``.pyc`` files: read when present, written only where
Python writes byte code (not with ``PYTHONDONTWRITEBYTECODE``, not in a read-only
install), and a file that cannot be read or written is ignored. Classes of other
packages, and any compile attrs asks for differently, go to ``compile()`` as before.

:func:`install` is called by :class:`autopatchelf.frozen.Record` when its first subclass
is made (attrs is then imported already), so modules that make no record never import
attrs.
"""

from __future__ import annotations
import __future__

import atexit
import builtins
import contextlib
import marshal
import os
import re
import sys
from types import CodeType, ModuleType
from typing import Any

__all__ = ["cache_file", "install", "stats"]

#: The module of attrs that compiles generated methods, through its global ``compile``.
_ATTRS_MAKE = "attr._make"
#: How attrs names the source of the methods of one of our classes (its module's name).
_OURS = f"<attrs generated methods {__name__.partition('.')[0]}."
#: Marks the file's layout: a table of another shape is ignored.
_FORMAT = ("autopatchelf attrs methods", 1)
#: The per-process seed in ``__hash__``'s source: the first item of the tuple it hashes,
#: a bare number on the line after ``hash((``.
_SEED_LINE = re.compile(r"(hash\(\(\n +)-?[0-9]+,$", re.MULTILINE)


class _Kept:
    """This process's table (read on first use) and what became of it."""

    __slots__ = ("compiled", "dirty", "installed", "kept", "table")

    def __init__(self) -> None:
        self.installed = False
        self.table: dict[str, tuple[str, CodeType]] | None = None
        self.dirty = False
        self.kept = 0
        self.compiled = 0


_KEPT = _Kept()


def cache_file() -> str | None:
    """Where the compiled methods are kept for this Python: beside this module's own byte
    code, wherever the import system put it (``__pycache__``, or its mirror under
    ``PYTHONPYCACHEPREFIX``); None when it has no byte code file."""
    cached = __spec__.cached if __spec__ is not None else None
    if not cached:
        return None
    tag = sys.implementation.cache_tag or "python"
    return os.path.join(os.path.dirname(cached), f"attrs-methods.{tag}.bin")


def stats() -> dict[str, int]:
    """How many of our classes' methods came from the file (kept) or were compiled."""
    return {"kept": _KEPT.kept, "compiled": _KEPT.compiled}


def _future_flags(module: ModuleType) -> int:
    """The compile flags of the ``from __future__`` imports in effect in ``module``: what
    :func:`compile` called from there inherits."""
    feature = type(__future__.annotations)
    flags = 0
    for value in vars(module).values():
        if isinstance(value, feature):
            flags |= value.compiler_flag
    return flags


def _load() -> dict[str, tuple[str, CodeType]]:
    target = cache_file()
    if target is None:
        return {}
    try:
        with open(target, "rb") as handle:
            stored = marshal.loads(handle.read())
    except (OSError, ValueError, EOFError, TypeError):
        return {}
    if not (isinstance(stored, tuple) and len(stored) == 2 and stored[0] == _FORMAT):
        return {}
    table = stored[1]
    if not isinstance(table, dict):
        return {}
    return {
        name: entry
        for name, entry in table.items()
        if isinstance(name, str)
        and isinstance(entry, tuple)
        and len(entry) == 2
        and isinstance(entry[0], str)
        and isinstance(entry[1], CodeType)
    }


def _save() -> None:
    """Write the table if anything was compiled, as Python writes byte code."""
    table = _KEPT.table
    target = cache_file()
    if not _KEPT.dirty or table is None or target is None or sys.dont_write_bytecode:
        return
    temporary = f"{target}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(temporary, "wb") as handle:
            handle.write(marshal.dumps((_FORMAT, table)))
        os.replace(temporary, target)
    except (OSError, ValueError):
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        return
    _KEPT.dirty = False


def _make_compile(flags: int) -> Any:
    def compile_kept(source: Any, filename: Any, mode: Any, *rest: Any, **options: Any) -> Any:
        if rest or options or mode != "exec" or not isinstance(source, str):
            return builtins.compile(source, filename, mode, *rest, **options)
        if not (isinstance(filename, str) and filename.startswith(_OURS)):
            return builtins.compile(source, filename, mode, flags, True)
        table = _KEPT.table
        if table is None:
            table = _KEPT.table = _load()
        entry = table.get(filename)
        key = _SEED_LINE.sub(r"\1seed,", source)
        if entry is not None and entry[0] == key:
            _KEPT.kept += 1
            return entry[1]
        code = builtins.compile(source, filename, mode, flags, True)
        table[filename] = (key, code)
        _KEPT.compiled += 1
        if not _KEPT.dirty:
            _KEPT.dirty = True
            atexit.register(_save)
        return code

    return compile_kept


def install() -> None:
    """Have attrs take our classes' compiled methods from the kept file (once; a no-op
    before attrs is imported, or when attrs does not compile where it did)."""
    if _KEPT.installed:
        return
    make = sys.modules.get(_ATTRS_MAKE)
    if make is None:
        return
    _KEPT.installed = True
    if not callable(getattr(make, "_compile_and_eval", None)) or "compile" in vars(make):
        return  # another attrs layout, or another hook: leave it as it is
    setattr(make, "compile", _make_compile(_future_flags(make)))  # noqa: B010 (a module global)
