"""The in-memory index: which names lead to which library files, within a universe."""

from __future__ import annotations

import os

import attrs

from autopatchelf.frozen import FrozenMap
from autopatchelf.index.cache import IndexCache
from autopatchelf.index.records import SkipCounts


@attrs.frozen
class FileInfo:
    """A library file of the universe, without its facts (they load on demand)."""

    path: str
    owner: str
    soname: str | None
    #: Paths (``<lib dir>/<name>``) by which ld.so finds it, sorted.
    entries: tuple[str, ...]

    @property
    def names(self) -> tuple[str, ...]:
        names = {os.path.basename(entry) for entry in self.entries}
        if self.soname:
            names.add(self.soname)
        return tuple(sorted(names))


@attrs.frozen
class IndexView:
    files: FrozenMap[str, FileInfo] = attrs.field(repr=False)
    #: name -> paths of the files answering to it, sorted.
    by_name: FrozenMap[str, tuple[str, ...]] = attrs.field(repr=False)
    #: lib dir -> name -> file path.
    dirs: FrozenMap[str, FrozenMap[str, str]] = attrs.field(repr=False)
    skipped: SkipCounts
    executables: int


def load_view(cache: IndexCache, universe: frozenset[str] | None) -> IndexView:
    """Read the part of ``cache`` that ``universe`` (basenames; ``None``: all) covers."""
    in_universe = universe
    dir_rows, named_rows, entry_rows, executables = cache.view_rows(universe)
    named = {directory for (directory,) in named_rows}
    active: dict[int, str] = {}
    skipped = SkipCounts()
    for dir_id, path, standard, present, non_elf, bad_elf, not_library, outside in dir_rows:
        if present and (standard or path in named):
            active[dir_id] = path
            skipped += SkipCounts(non_elf, bad_elf, not_library, outside)

    dirs: dict[str, dict[str, str]] = {path: {} for path in active.values()}
    entries: dict[str, list[str]] = {}
    meta: dict[str, tuple[str, str | None]] = {}
    for dir_id, name, file_path, owner, soname in entry_rows:
        directory = active.get(dir_id)
        if directory is None:
            continue
        if in_universe is not None and owner not in in_universe:
            continue
        dirs[directory][name] = file_path
        entries.setdefault(file_path, []).append(f"{directory}/{name}")
        meta[file_path] = (owner, soname)

    files: dict[str, FileInfo] = {}
    by_name: dict[str, list[str]] = {}
    for path, paths in entries.items():
        owner_name, soname = meta[path]
        info = FileInfo(path=path, owner=owner_name, soname=soname, entries=tuple(sorted(paths)))
        files[path] = info
        for name in info.names:
            by_name.setdefault(name, []).append(path)
    return IndexView(
        files=FrozenMap(files),
        by_name=FrozenMap((name, tuple(sorted(paths))) for name, paths in by_name.items()),
        dirs=FrozenMap((path, FrozenMap(names)) for path, names in dirs.items()),
        skipped=skipped,
        executables=int(executables),
    )
