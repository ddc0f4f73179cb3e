"""Where glibc's loader looks for a library: the one model of its search rules.

Every part of autopatchelf that asks "where would ld.so look for NAME when OBJ needs it?"
asks this module: the index (which directories a RUNPATH names), the resolver (which
bundled file an object's own search finds), the replay (what ld.so will load), ``check``
(which files an app loads from its own tree) and ``patch`` (which entries a new RUNPATH
keeps). Facts carried over from glibc's ``elf/dl-load.c`` behaviour (not its code):

* **Names with a slash** (``DT_NEEDED ./lib/x.so``, ``/opt/x.so``) are opened as paths,
  relative to the working directory; they are never searched (:func:`has_slash`).
* **Search order** for a name that is not loaded yet (:func:`search_order`):

  1. only when the requesting object has no ``DT_RUNPATH``: its ``DT_RPATH``, then the
     ``DT_RPATH`` of the object that loaded it, and so on up to the executable; an object
     in that chain that has a ``DT_RUNPATH`` contributes nothing (``cache_rpath`` ignores
     the RPATH of an object with a RUNPATH); the executable's RPATH is searched even when
     it is not in the chain (a ``dlopen`` from a library);
  2. the library path (``LD_LIBRARY_PATH``, or ``ld.so --library-path`` which replaces
     it; nix-ld sets it from ``NIX_LD_LIBRARY_PATH``);
  3. the requesting object's own ``DT_RUNPATH`` (never inherited);
  4. ``/etc/ld.so.cache`` and the loader's default directories, both skipped when the
     *requesting* object has ``DF_1_NODEFLIB``. Nix's glibc reads no system cache and its
     default directory is its own ``lib``; a Debian glibc copied into a store path still
     searches the host's ``/lib/<multiarch>`` and ``/usr/lib/<multiarch>``.

* **Splitting**: ``DT_RPATH``/``DT_RUNPATH`` are split on ``:`` only; the library path on
  ``:`` *and* ``;``. An empty element, or a relative one, names a directory relative to the
  working directory (unpredictable: :attr:`Entry.directory` is ``None``).
* **Dynamic string tokens** (``$ORIGIN``, ``$LIB``, ``$PLATFORM``, also ``${...}``) are
  expanded in all three: ``$ORIGIN`` to the directory of the object whose entry it is
  (for the library path: of the executable), ``$LIB`` and ``$PLATFORM`` per machine (see
  :mod:`~autopatchelf.ldso.machines`). A ``$`` not starting one of these names is kept
  literally. A dynamic string token therefore cannot be written in a directory name.
* Candidates of the wrong ELF class or machine are skipped and the search goes on
  (:func:`~autopatchelf.ldso.machines.compatible`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import attrs

from autopatchelf.elf.facts import ElfFacts
from autopatchelf.elf.records import ElfClass
from autopatchelf.frozen import Record
from autopatchelf.ldso.machines import EM_386, EM_X86_64, Machine, machine_of
from autopatchelf.ldso.pathstring import (
    _DST,
    Tag,
    has_dst,
    has_slash,
    join,
    split,
    unsafe_reason,
)

__all__ = [
    "HOST_LIB_DIRS",
    "Entry",
    "Tag",
    "expand",
    "has_dst",
    "has_slash",
    "inherits_rpath",
    "is_host_lib_dir",
    "join",
    "library_path_entries",
    "object_entries",
    "own_entries",
    "own_search_path",
    "own_search_string",
    "rpath_entries",
    "runpath_entries",
    "search_order",
    "split",
    "unsafe_reason",
]

#: The distribution's library directories: they hold the host's libraries (on NixOS they
#: do not exist), so a foreign file's entry naming one is never followed.
HOST_LIB_DIRS = (
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/usr/lib",
    "/usr/lib32",
    "/usr/lib64",
    "/usr/libx32",
    "/usr/local/lib",
)


@attrs.frozen(repr=False)
class Entry(Record):
    """One element of a search path, as written and as ld.so will use it."""

    #: The element as written (``$ORIGIN/../lib``).
    raw: str
    #: The directory it names, DSTs expanded; ``None`` when ld.so would
    #: resolve it against the working directory (empty or relative).
    directory: str | None
    #: The object whose DT_RPATH/DT_RUNPATH holds it (empty for the library path).
    owner: str
    tag: Tag

    @property
    def origin_relative(self) -> bool:
        """Whether it names a place relative to its object (``$ORIGIN``)."""
        return any("ORIGIN" in (m.group(1), m.group(2)) for m in _DST.finditer(self.raw))


def _default_machine(elf_class: ElfClass) -> Machine:
    found = machine_of(_Arch(EM_X86_64 if elf_class is ElfClass.ELF64 else EM_386, elf_class))
    assert found is not None
    return found


@attrs.frozen(repr=False)
class _Arch(Record):
    machine: int
    elf_class: ElfClass


def machine_for(facts: ElfFacts | None, elf_class: ElfClass = ElfClass.ELF64) -> Machine:
    """The machine whose tokens apply to ``facts`` (an unknown one: x86's of its class)."""
    if facts is not None:
        found = machine_of(facts)
        if found is not None:
            return found
        elf_class = facts.elf_class
    return _default_machine(elf_class)


def expand(entry: str, origin: str, machine: Machine, *, every: bool = False) -> tuple[str, ...]:
    """The directories one element names once its tokens are expanded.

    ``every=False``: the one the chosen loader uses (Nix's glibc: ``$LIB`` is ``lib``,
    ``$PLATFORM`` the kernel's ``AT_PLATFORM``). ``every=True``: every directory some glibc
    on this machine may use (``lib64`` and ``lib``; ``haswell`` too...), for finding which
    directories to index. Empty or relative elements give nothing (they depend on the
    working directory). Results are not normalised: ``bin/../lib`` goes through ``bin``
    as the kernel resolves it (``bin`` may be a symlink).
    """
    if not entry:
        return ()
    choices = {
        "ORIGIN": (origin,),
        "LIB": machine.lib_names if every else ("lib",),
        "PLATFORM": machine.platforms if every else machine.platforms[:1],
    }
    variants = [""]
    pos = 0
    for match in _DST.finditer(entry):
        token = match.group(1) or match.group(2)
        literal = entry[pos : match.start()]
        variants = [v + literal + choice for v in variants for choice in choices[token]]
        pos = match.end()
    rest = entry[pos:]
    found: list[str] = []
    for variant in variants:
        path = variant + rest
        if os.path.isabs(path) and path not in found:
            found.append(path)
    return tuple(found)


def _entries(
    owner: ElfFacts, raw: str | None, tag: Tag, every: bool, origin: str | None = None
) -> list[Entry]:
    origin = origin if origin is not None else os.path.dirname(owner.path)
    machine = machine_for(owner)
    entries: list[Entry] = []
    for element in split(raw, tag):
        dirs = expand(element, origin, machine, every=every)
        if not dirs:
            entries.append(Entry(element, None, owner.path, tag))
        entries.extend(Entry(element, d, owner.path, tag) for d in dirs)
    return entries


def own_search_string(rpath: str | None, runpath: str | None) -> tuple[str | None, Tag]:
    """The raw string an object's own search uses and which tag it is: its DT_RUNPATH
    when it has one (its DT_RPATH is then ignored), else its DT_RPATH."""
    if runpath is not None:
        return runpath, Tag.RUNPATH
    return rpath, Tag.RPATH


def own_search_path(facts: ElfFacts) -> tuple[str | None, Tag]:
    """:func:`own_search_string` of an object."""
    return own_search_string(facts.rpath, facts.runpath)


def inherits_rpath(facts: ElfFacts) -> bool:
    """Whether the DT_RPATHs of the objects that loaded ``facts`` (and the executable's)
    are searched for its needs: only when it has no DT_RUNPATH."""
    return facts.runpath is None


def own_entries(
    facts: ElfFacts, *, origin: str | None = None, every: bool = False
) -> tuple[Entry, ...]:
    """The elements of an object's own search path (RUNPATH, else RPATH), expanded.

    ``$ORIGIN`` is the directory ld.so opened the object from: ``origin`` when given (a
    library found through a link in another directory), else the directory of its path.
    """
    raw, tag = own_search_path(facts)
    return tuple(_entries(facts, raw, tag, every, origin))


def rpath_entries(
    facts: ElfFacts,
    chain: Sequence[ElfFacts] = (),
    *,
    main: ElfFacts | None = None,
    every: bool = False,
) -> tuple[Entry, ...]:
    """Step 1 of the search: DT_RPATH of ``facts`` and of the objects that loaded it
    (``chain``, nearest first), then of the executable ``main`` when it is not in the
    chain. Empty when ``facts`` has a DT_RUNPATH; an object with one adds nothing."""
    if not inherits_rpath(facts):
        return ()
    entries: list[Entry] = []
    seen: set[str] = set()
    for obj in (facts, *chain, *((main,) if main is not None else ())):
        if obj.path in seen:
            continue
        seen.add(obj.path)
        if obj.runpath is None:
            entries.extend(_entries(obj, obj.rpath, Tag.RPATH, every))
    return tuple(entries)


def runpath_entries(facts: ElfFacts, *, every: bool = False) -> tuple[Entry, ...]:
    """Step 3: the requesting object's own DT_RUNPATH (never inherited)."""
    return tuple(_entries(facts, facts.runpath, Tag.RUNPATH, every))


def object_entries(facts: ElfFacts, chain: Sequence[ElfFacts] = ()) -> tuple[Entry, ...]:
    """What the object and its loaders name themselves, in search order: steps 1 and 3
    (its DT_RUNPATH; or, without one, its DT_RPATH and the inherited ones)."""
    return rpath_entries(facts, chain) + runpath_entries(facts)


def library_path_entries(value: str | None, main: ElfFacts | None) -> tuple[Entry, ...]:
    """Step 2 as ld.so reads a library path string (``$ORIGIN``: the executable's dir)."""
    if value is None:
        return ()
    if main is None:
        return tuple(
            Entry(e, os.path.normpath(e) if os.path.isabs(e) else None, "", Tag.LIBRARY_PATH)
            for e in split(value, Tag.LIBRARY_PATH)
        )
    return tuple(
        attrs.evolve(entry, owner="")
        for entry in _entries(main, value, Tag.LIBRARY_PATH, every=False)
    )


def search_order(
    facts: ElfFacts,
    chain: Sequence[ElfFacts] = (),
    *,
    library_path: Sequence[str] = (),
    runpath: Sequence[str] | None = None,
    default_dirs: Sequence[str] = (),
    main: ElfFacts | None = None,
) -> tuple[str, ...]:
    """The directories ld.so tries, in order, for a name ``facts`` needs.

    ``library_path``: directories of ``--library-path``/``LD_LIBRARY_PATH`` (already
    split). ``runpath``: the directories of a DT_RUNPATH that replaces the object's own
    (a patched one); with it, the object's DT_RPATH is ignored as ld.so would ignore it
    next to a RUNPATH. ``default_dirs``: the loader's own (skipped with DF_1_NODEFLIB).
    Elements relative to the working directory are left out. Order kept, repeats kept
    (ld.so tries a directory again; the answer is the same).
    """
    dirs: list[str] = []
    if runpath is None:
        dirs.extend(e.directory for e in rpath_entries(facts, chain, main=main) if e.directory)
    dirs.extend(library_path)
    if runpath is not None:
        dirs.extend(runpath)
    else:
        dirs.extend(e.directory for e in runpath_entries(facts) if e.directory)
    if not facts.nodeflib:
        dirs.extend(default_dirs)
    return tuple(dirs)


def is_host_lib_dir(directory: str) -> bool:
    """Is ``directory`` one of (or inside) the distribution's library directories?"""
    return any(directory == d or directory.startswith(d + "/") for d in HOST_LIB_DIRS)
