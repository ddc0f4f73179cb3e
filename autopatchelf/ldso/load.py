"""What ld.so maps for a program, in order: the breadth-first loading of its needs.

Facts carried over from glibc's ``_dl_map_object_deps``/``_dl_map_object`` behaviour:

* needs are loaded breadth first: the program's DT_NEEDED in order, then the needs of the
  first of those, and so on; each object's search uses the chain of objects that loaded
  it (for inherited DT_RPATH, see :func:`~autopatchelf.ldso.search.search_order`);
* a name already loaded is not searched again: an object answers to the name it was
  loaded under and to its DT_SONAME (so one copy per soname per process); a file opened
  again under another name (same file) is the same object;
* the loader itself is loaded first: it answers to its file name and its soname
  (``ld-linux-x86-64.so.2``), and its directory is the default search directory of a Nix
  glibc;
* a name with a slash is opened as a path; a name found nowhere is an error at start-up.
"""

from __future__ import annotations

import enum
import os
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

import attrs

from autopatchelf.elf.facts import ElfFacts
from autopatchelf.elf.records import ElfType
from autopatchelf.frozen import Record
from autopatchelf.ldso.machines import compatible
from autopatchelf.ldso.search import has_slash, search_order
from autopatchelf.options import NeedOrigin


class LoadRole(enum.Enum):
    """What ld.so makes of a file: the one classification ``solve``, ``run``, ``patch``
    and ``check`` share."""

    #: Has an interpreter (PT_INTERP): ld.so starts it and loads what it needs.
    PROGRAM = "program"
    #: A shared object other objects load.
    LIBRARY = "library"
    #: Needs no library and no loader: statically linked (or a library needing nothing).
    SELF_CONTAINED = "self-contained"
    #: Not something ld.so loads at all: a relocatable object (``.o``), a core dump.
    NOT_LOADABLE = "not-loadable"

    @property
    def reason(self) -> str:
        """Why there is nothing to solve for such a file (empty for the other roles)."""
        return _NOTHING_TO_SOLVE.get(self, "")


_NOTHING_TO_SOLVE = {
    LoadRole.SELF_CONTAINED: "statically linked: it needs no shared library",
    LoadRole.NOT_LOADABLE: "not loaded by ld.so (a relocatable object or core dump)",
}


def load_role(facts: ElfFacts) -> LoadRole:
    """What ld.so makes of ``facts``."""
    if facts.type in (ElfType.RELOCATABLE, ElfType.CORE, ElfType.OTHER):
        return LoadRole.NOT_LOADABLE
    if facts.interpreter is not None:
        return LoadRole.PROGRAM
    if not facts.needed:
        return LoadRole.SELF_CONTAINED
    if facts.type is ElfType.SHARED:
        return LoadRole.LIBRARY
    return LoadRole.PROGRAM  # needs libraries but names no loader: it gets one


class Finder(Protocol):
    """The file system as ld.so sees it (the store, the app's own tree, a link dir)."""

    def find(self, directory: str, name: str) -> tuple[str, ElfFacts] | None:
        """The real path and facts of what ld.so opens as ``name`` in ``directory``."""
        ...

    def facts(self, path: str) -> ElfFacts:
        """The facts of a file already found (the interpreter)."""
        ...


@attrs.frozen(repr=False)
class Mapped(Record):
    """One object ld.so maps, in load order."""

    #: The name it is first requested by (a DT_NEEDED string).
    name: str
    path: str
    #: Who asked for it first.
    requested_by: str
    #: Why: a DT_NEEDED at start-up, or a dlopen() after (a note, ``--dlopen``...).
    via: NeedOrigin = NeedOrigin.NEEDED


@attrs.frozen(repr=False)
class LoadOrder(Record):
    mapped: tuple[Mapped, ...]
    #: (requesting object, name) ld.so would not find at all.
    not_found: tuple[tuple[str, str], ...]
    #: (calling object, name) a dlopen() would not find.
    dlopen_not_found: tuple[tuple[str, str], ...] = ()


def load_order(
    root: ElfFacts,
    finder: Finder,
    *,
    interpreter: str | None = None,
    library_path: Callable[[str], Sequence[str]] = lambda _name: (),
    runpath_override: Callable[[ElfFacts], Sequence[str] | None] = lambda _obj: None,
    renames: Mapping[str, Mapping[str, str]] | None = None,
    dlopen: Callable[[str], Sequence[tuple[str, NeedOrigin]]] = lambda _path: (),
) -> LoadOrder:
    """Replay the loading of ``root``'s needs, then of what its objects dlopen().

    ``library_path(name)``: the library path directories to try for ``name`` (callers may
    pass only those that hold it; order kept). ``runpath_override(obj)``: the directories
    of a DT_RUNPATH that replaces ``obj``'s own (a patched one), or None. ``renames``:
    object path -> {needed name: the name it asks for instead} (a patched DT_NEEDED).
    ``dlopen(path)``: the names the object at ``path`` dlopen()s once started, and why.
    Host directories take part only as far as ``finder`` answers for them.

    Start-up maps DT_NEEDED breadth first. Then each object, in load order, dlopen()s
    its names: a name already loaded (as asked, or as a DT_SONAME) is that object again;
    otherwise glibc searches exactly as for a DT_NEEDED of the calling object (its
    RPATH chain or RUNPATH, the library path, the default dirs), and maps what the new
    object needs breadth first. Those mapped after start-up carry the dlopen's origin.
    """
    state = _State(finder, library_path, runpath_override, renames, interpreter)
    state.breadth_first(deque([(root, ())]), NeedOrigin.NEEDED)
    # Callers in load order: the root, then every object mapped (also by a dlopen below;
    # the list grows while it is walked). Facts are fetched only for objects that dlopen.
    dlopen_missing: list[tuple[str, str]] = []
    position = -1
    while position < len(state.mapped):
        path = root.path if position < 0 else state.mapped[position].path
        position += 1
        wanted = dlopen(path)
        if not wanted:
            continue
        obj = root if path == root.path else finder.facts(path)
        chain = state.chains.get(path, ())
        for name, origin in wanted:
            if name in state.loaded:
                continue
            found = state.search(obj, chain, name)
            if found is None:
                dlopen_missing.append((obj.path, name))
                continue
            state.map(obj, chain, name, found, origin)
            state.breadth_first(deque([(found[1], (obj, *chain))]), origin)
    return LoadOrder(tuple(state.mapped), tuple(state.not_found), tuple(dlopen_missing))


class _State:
    """What one replay has mapped so far."""

    def __init__(
        self,
        finder: Finder,
        library_path: Callable[[str], Sequence[str]],
        runpath_override: Callable[[ElfFacts], Sequence[str] | None],
        renames: Mapping[str, Mapping[str, str]] | None,
        interpreter: str | None,
    ) -> None:
        self.finder = finder
        self.library_path = library_path
        self.runpath_override = runpath_override
        self.renames = renames or {}
        self.loaded: dict[str, str] = {}
        self.mapped: list[Mapped] = []
        self.not_found: list[tuple[str, str]] = []
        self.chains: dict[str, tuple[ElfFacts, ...]] = {}
        self.default_dirs: tuple[str, ...] = ()
        if interpreter is not None:
            interp_facts = finder.facts(interpreter)
            for alias in (os.path.basename(interpreter), interp_facts.soname):
                if alias:
                    self.loaded[alias] = interpreter
            self.default_dirs = (os.path.dirname(interpreter),)
        self.files: set[str] = set(self.loaded.values())

    def search(
        self, obj: ElfFacts, chain: tuple[ElfFacts, ...], name: str
    ) -> tuple[str, ElfFacts] | None:
        return _search(
            obj, chain, name, self.finder, self.library_path, self.runpath_override,
            self.default_dirs,
        )  # fmt: skip

    def map(
        self,
        obj: ElfFacts,
        chain: tuple[ElfFacts, ...],
        name: str,
        found: tuple[str, ElfFacts],
        via: NeedOrigin,
    ) -> bool:
        """Record that ``name`` (asked by ``obj``) is ``found``; whether it is new."""
        path, facts = found
        self.loaded[name] = path
        if facts.soname:
            self.loaded.setdefault(facts.soname, path)
        if path in self.files:
            return False
        self.files.add(path)
        self.mapped.append(Mapped(name, path, obj.path, via))
        self.chains[path] = (obj, *chain)
        return True

    def breadth_first(
        self, queue: deque[tuple[ElfFacts, tuple[ElfFacts, ...]]], via: NeedOrigin
    ) -> None:
        """Map the DT_NEEDED of every queued object, breadth first, as ld.so does."""
        while queue:
            obj, chain = queue.popleft()
            own_renames = self.renames.get(obj.path, {})
            for name in obj.needed:
                wanted = own_renames.get(name, name)
                if name in self.loaded or wanted in self.loaded:
                    continue
                found = self.search(obj, chain, wanted)
                if found is None:
                    self.not_found.append((obj.path, name))
                    continue
                if self.map(obj, chain, name, found, via):
                    queue.append((found[1], (obj, *chain)))


def _search(
    obj: ElfFacts,
    chain: tuple[ElfFacts, ...],
    name: str,
    finder: Finder,
    library_path: Callable[[str], Sequence[str]],
    runpath_override: Callable[[ElfFacts], Sequence[str] | None],
    default_dirs: tuple[str, ...],
) -> tuple[str, ElfFacts] | None:
    if has_slash(name):
        return finder.find(os.path.dirname(name), os.path.basename(name))
    main = chain[-1] if chain else obj
    dirs = search_order(
        obj,
        chain,
        library_path=library_path(name),
        runpath=runpath_override(obj),
        default_dirs=default_dirs,
        main=main,
    )
    for directory in dirs:
        hit = finder.find(directory, name)
        if hit is not None and compatible(main, hit[1]):
            return hit
    return None
