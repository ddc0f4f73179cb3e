"""The index view as it used to be built (every row read at open), as a reference for the
lazy view: the same tables, read the old way, must give the same answers."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import attrs

from autopatchelf.index import StoreIndex


@attrs.frozen
class EagerView:
    #: file path -> (owner, soname, sorted entries)
    files: dict[str, tuple[str, str | None, tuple[str, ...]]]
    #: name -> sorted file paths
    by_name: dict[str, tuple[str, ...]]
    #: active lib dir -> name -> file path
    dirs: dict[str, dict[str, str]]
    skipped: tuple[int, int, int, int]
    executables: int

    def names_of(self, path: str) -> tuple[str, ...]:
        _owner, soname, entries = self.files[path]
        names = {os.path.basename(e) for e in entries}
        if soname:
            names.add(soname)
        return tuple(sorted(names))


def eager_view(cache_file: str | Path, universe: frozenset[str] | None) -> EagerView:
    conn = sqlite3.connect(str(cache_file))
    try:
        params: tuple[str, ...] = ()
        where_owner = where_namer = where_base = ""
        if universe is not None:
            params = (json.dumps(sorted(universe)),)
            where_owner = " WHERE d.owner IN (SELECT value FROM json_each(?1))"
            where_namer = " WHERE namer IN (SELECT value FROM json_each(?1))"
            where_base = " WHERE basename IN (SELECT value FROM json_each(?1))"
        dir_rows = conn.execute(
            "SELECT id, path, standard, present, non_elf, bad_elf, not_library, outside"
            f" FROM dirs AS d{where_owner}",
            params,
        ).fetchall()
        named = {d for (d,) in conn.execute(f"SELECT DISTINCT dir FROM named{where_namer}", params)}
        entry_rows = conn.execute(
            "SELECT e.dir, e.name, f.path, f.owner, f.soname FROM entries AS e"
            " JOIN files AS f ON f.id = e.file JOIN dirs AS d ON d.id = e.dir"
            f"{where_owner} ORDER BY f.path, e.dir, e.name",
            params,
        ).fetchall()
        (executables,) = conn.execute(
            f"SELECT total(executables) FROM paths{where_base}", params
        ).fetchone()
    finally:
        conn.close()
    active: dict[int, str] = {}
    skipped = [0, 0, 0, 0]
    for dir_id, path, standard, present, *counts in dir_rows:
        if present and (standard or path in named):
            active[dir_id] = path
            skipped = [a + b for a, b in zip(skipped, counts, strict=True)]
    dirs: dict[str, dict[str, str]] = {path: {} for path in active.values()}
    entries: dict[str, list[str]] = {}
    meta: dict[str, tuple[str, str | None]] = {}
    for dir_id, name, file_path, owner, soname in entry_rows:
        directory = active.get(dir_id)
        if directory is None or (universe is not None and owner not in universe):
            continue
        dirs[directory][name] = file_path
        entries.setdefault(file_path, []).append(f"{directory}/{name}")
        meta[file_path] = (owner, soname)
    view = EagerView(
        files={p: (*meta[p], tuple(sorted(e))) for p, e in entries.items()},
        by_name={},
        dirs=dirs,
        skipped=(skipped[0], skipped[1], skipped[2], skipped[3]),
        executables=int(executables),
    )
    by_name: dict[str, list[str]] = {}
    for path in view.files:
        for name in view.names_of(path):
            by_name.setdefault(name, []).append(path)
    view.by_name.update((n, tuple(sorted(p))) for n, p in by_name.items())
    return view


def assert_same_answers(index: StoreIndex, eager: EagerView) -> None:
    """Every public answer of ``index`` is what the eager view says."""
    assert index.sonames() == tuple(sorted(eager.by_name))
    for name, paths in eager.by_name.items():
        found = index.candidates(name)
        assert sorted(c.path for c in found) == list(paths), name
        assert [c.path for c in found] == [
            c.path for c in sorted(found, key=lambda c: (c.store_path.sort_key, c.path))
        ]
    for path, (owner, _soname, entries) in eager.files.items():
        candidate = index.candidate(path)
        assert candidate is not None, path
        assert candidate.store_path.basename == owner
        assert candidate.entries == entries
        assert candidate.names == eager.names_of(path)
    assert index.lib_dirs() == tuple(sorted(eager.dirs))
    for directory, names in eager.dirs.items():
        assert index.entry_names(directory) == tuple(sorted(names))
        for name, path in names.items():
            found = index.lookup(directory, name)
            assert found is not None and found.path == path
    for store_path in index.store_paths():
        owned = sorted(p for p, (o, _, _) in eager.files.items() if o == store_path.basename)
        assert [c.path for c in index.libraries(store_path)] == owned
    assert index.candidates("libnot-there.so.9") == ()
    assert index.candidate("/nonexistent/libx.so") is None
    stats = index.stats
    assert stats.files == len(eager.files)
    assert stats.sonames == len(eager.by_name)
    assert stats.lib_dirs == len(eager.dirs)
    assert (stats.non_elf, stats.bad_elf, stats.not_library, stats.outside) == eager.skipped
    assert stats.executables == eager.executables
