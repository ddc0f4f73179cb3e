"""Predict what ld.so loads, and order the library path so the chosen files win.

The prediction replays glibc's breadth-first loading with the delivery's search path; the
solver's choices are only trusted once the replay agrees with them.
"""

from __future__ import annotations

import heapq
import os
from collections.abc import Callable, Mapping, Sequence

import attrs

from autopatchelf.elf.facts import ElfFacts
from autopatchelf.errors import ElfError
from autopatchelf.frozen import Record
from autopatchelf.ldso.load import load_order
from autopatchelf.ldso.search import Tag, has_slash, split, unsafe_reason
from autopatchelf.options import Delivery, NeedOrigin
from autopatchelf.problem.source import DiskFiles, ForeignFiles, LibrarySource
from autopatchelf.solution.model import LoadedLibrary

#: A pseudo directory standing for "a directory of links holding exactly the chosen files".
LINK_DIR = "<links>"


@attrs.frozen(repr=False)
class Replay(Record):
    libraries: tuple[LoadedLibrary, ...]
    #: Names ld.so would not find at all.
    not_found: tuple[tuple[str, str], ...]
    #: (calling object, name) a dlopen() would not find.
    dlopen_not_found: tuple[tuple[str, str], ...] = ()


class FileView:
    """Answers "which file does ld.so open for NAME in DIR?" for store and foreign dirs."""

    def __init__(
        self,
        source: LibrarySource,
        links: Mapping[str, str] | None = None,
        foreign_dirs: frozenset[str] = frozenset(),
        files: ForeignFiles | None = None,
    ) -> None:
        self.source = source
        self.files = files or DiskFiles()
        self.links = dict(links or {})
        #: Directories of the app itself (bundled libraries), read from disk even when
        #: the app tree lies inside the store.
        self.foreign_dirs = foreign_dirs
        self._foreign: dict[str, ElfFacts | None] = {}
        self._facts: dict[str, ElfFacts] = {}
        self._names: dict[str, frozenset[str]] = {}
        self._own: dict[str, bool] = {}

    def is_foreign(self, directory: str) -> bool:
        """Whether ``directory`` is one of the app's own (``lib/../lib`` spellings too)."""
        known = self._own.get(directory)
        if known is None:
            known = directory in self.foreign_dirs or (
                self.files.real(directory) in self.foreign_dirs
            )
            self._own[directory] = known
        return known

    def find(self, directory: str, name: str) -> tuple[str, ElfFacts] | None:
        if directory == LINK_DIR:
            path = self.links.get(name)
            return (path, self.facts(path)) if path is not None else None
        if not self.is_foreign(directory) and self.source.is_store_path(directory):
            if name not in self.names_in(directory):
                return None
            hit = self.source.lookup(directory, name)
            if hit is None:
                return None
            self._facts[hit.path] = hit.facts
            return hit.path, hit.facts
        if not self.is_foreign(directory):
            return None  # a host directory: it does not exist on NixOS (the build ignored it)
        candidate = os.path.join(directory, name)
        facts = self.files.facts(candidate)
        if facts is None:
            return None
        real = self.files.real(candidate)
        self._foreign[real] = facts
        return real, facts

    def names_in(self, directory: str) -> frozenset[str]:
        """Every name ld.so could open in ``directory``."""
        if directory == LINK_DIR:
            return frozenset(self.links)
        known = self._names.get(directory)
        if known is None:
            known = self._names[directory] = self._list(directory)
        return known

    def _list(self, directory: str) -> frozenset[str]:
        if not self.is_foreign(directory) and self.source.is_store_path(directory):
            return frozenset(self.source.entry_names(directory))
        return self.files.names(directory)

    def facts(self, path: str) -> ElfFacts:
        known = self._facts.get(path) or self._foreign.get(path)
        if known is None and self.source.is_store_path(path):
            hit = self.source.lookup(os.path.dirname(path), os.path.basename(path))
            known = hit.facts if hit is not None and hit.path == path else None
        if known is None:
            known = self.files.facts(path)
            if known is None:
                raise ElfError(path, "cannot be read as ld.so would load it")
            self._facts[path] = known
        return known


def replay(
    root: ElfFacts,
    interpreter: str | None,
    view: FileView,
    *,
    library_path: Sequence[str] = (),
    runpath_override: Callable[[ElfFacts], Sequence[str] | None] | None = None,
    store_path_of: Callable[[str], str | None] = lambda _path: None,
    renames: Mapping[str, Mapping[str, str]] | None = None,
    dlopen: Callable[[str], Sequence[tuple[str, NeedOrigin]]] = lambda _path: (),
) -> Replay:
    """What ld.so loads for ``root`` (:func:`autopatchelf.ldso.load.load_order`) with
    this library path and these patched RUNPATHs. The default directories are the chosen
    glibc's own directory, as on NixOS; host directories never take part (``view``
    answers only for store directories and the app's own)."""
    # ld.so reads the library path as one string: replay what it will split it into.
    library_path = split(":".join(library_path), Tag.LIBRARY_PATH) if library_path else ()
    # The library path is searched for every name: index which of its dirs hold what, so
    # a search visits only those (the others cannot answer; the order is kept).
    holders: dict[str, list[str]] = {}
    for directory in library_path:
        for entry in view.names_in(directory):
            holders.setdefault(entry, []).append(directory)
    order = load_order(
        root,
        view,
        interpreter=interpreter,
        library_path=lambda name: holders.get(name, ()),
        runpath_override=runpath_override or (lambda _obj: None),
        renames=renames,
        dlopen=dlopen,
    )
    libraries = tuple(
        LoadedLibrary(m.name, m.path, store_path_of(m.path), m.requested_by, m.via)
        for m in order.mapped
    )
    return Replay(libraries, order.not_found, order.dlopen_not_found)


def link_entries(
    choices: Mapping[str, str], substitutions: Mapping[str, str], delivery: Delivery
) -> dict[str, str]:
    """name -> file for a directory of links serving exactly the chosen files: every chosen
    name, and with runpath delivery the substitute names patched DT_NEEDED entries ask for
    (``libfoo.so.2``). Names with a slash are opened as paths: they need no link."""
    entries = {name: path for name, path in choices.items() if not has_slash(name)}
    if delivery is Delivery.RUNPATH:
        for old, new in substitutions.items():
            if old in choices:
                entries.setdefault(new, choices[old])
    return dict(sorted(entries.items()))


def order_library_path(
    chosen: Mapping[str, str],
    view: FileView,
    first_use: Sequence[str],
    tag: Tag = Tag.LIBRARY_PATH,
) -> tuple[str, ...] | None:
    """Order the directories of the chosen files so that, for every loaded name, the first
    directory holding a file of that name holds the chosen one. None if no order works,
    or if a directory cannot be written in a search path of kind ``tag`` (a ``:`` in its
    name would split it: a directory of links serves instead)."""
    dir_of: dict[str, str] = {}
    for name, path in chosen.items():
        if has_slash(name):
            continue  # opened as a path, never searched
        directory = os.path.dirname(path)
        hit = view.find(directory, name)
        if hit is None or hit[0] != path:
            return None  # reachable only under another name: needs a link directory
        dir_of[name] = directory
    if any(unsafe_reason(d, tag) is not None for d in dir_of.values()):
        return None
    rank = {name: i for i, name in enumerate(first_use)}
    dir_rank: dict[str, int] = {}
    for name, directory in dir_of.items():
        dir_rank[directory] = min(dir_rank.get(directory, 1 << 30), rank.get(name, 1 << 29))
    # An edge a -> b: a must come before b (b holds another file of a name a serves).
    after: dict[str, set[str]] = {directory: set() for directory in dir_rank}
    for directory in sorted(dir_rank):
        for name in sorted(view.names_in(directory) & dir_of.keys()):
            if dir_of[name] == directory:
                continue
            hit = view.find(directory, name)
            if hit is not None and hit[0] != chosen[name]:
                after[dir_of[name]].add(directory)
    return _first_come_order(after, lambda d: (dir_rank[d], d))


def _first_come_order(
    after: Mapping[str, set[str]], key: Callable[[str], tuple[int, str]]
) -> tuple[str, ...] | None:
    """A topological order of ``after`` (node -> nodes that must come later) that, among
    the nodes free to come next, always takes the smallest ``key`` (Kahn's algorithm with a
    heap); None when there is a cycle."""
    waiting = {node: 0 for node in after}
    for successors in after.values():
        for node in successors:
            waiting[node] += 1
    ready = [(key(node), node) for node, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        _, node = heapq.heappop(ready)
        order.append(node)
        for successor in after[node]:
            waiting[successor] -= 1
            if waiting[successor] == 0:
                heapq.heappush(ready, (key(successor), successor))
    return tuple(order) if len(order) == len(after) else None
