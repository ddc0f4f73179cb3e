"""The index as seen within a universe: which names lead to which library files.

Nothing is read at open: every question (files answering to a name, the entries of one
lib dir, the files of one store path) is one or two indexed queries against the cache,
and only what was asked is kept. A solve asks about a few dozen names, so its cost does
not grow with the store. Listing everything (:meth:`IndexView.names`,
:meth:`IndexView.counts`) is one query over the tables.

A lib dir is *active* (searched) when it exists, its owner is in the universe and it is
a standard dir of its owner or a RUNPATH of the universe names it. A file is in the view
when its owner is in the universe and an active dir leads to it; it answers to its
entries' names there and to its DT_SONAME.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from autopatchelf.frozen import FrozenMap, Record
from autopatchelf.index.cache import cache_error
from autopatchelf.index.records import SkipCounts


@attrs.frozen(repr=False)
class FileInfo(Record):
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


@attrs.frozen(repr=False)
class ViewCounts(Record):
    """What the whole view holds (one pass over the tables)."""

    lib_dirs: int
    files: int
    sonames: int
    executables: int
    skipped: SkipCounts


#: (id, path, owner, soname) of a files row.
_FileRow = tuple[int, str, str, str | None]

_FILE_COLUMNS = "f.id, f.path, f.owner, f.soname"
#: Ids asked about in one query, at most.
_BATCH = 500


class IndexView:
    """Answers from the cache's tables for the store paths of ``universe``
    (basenames; ``None``: every path the cache holds). ``where`` names the cache file
    in errors (``None``: in memory). What was asked is memoised (the tables are one
    read snapshot)."""

    __slots__ = ("_active", "_dirs", "_files", "conn", "universe", "where")

    def __init__(
        self, conn: sqlite3.Connection, universe: frozenset[str] | None, where: str | None = None
    ) -> None:
        self.conn = conn
        self.universe = universe
        self.where = where
        #: dir id -> its path if it is active, else ``None``.
        self._active: dict[int, str | None] = {}
        #: file id -> what the view says about it (``None``: not in the view).
        self._files: dict[int, FileInfo | None] = {}
        #: lib dir -> name -> file path (``None``: not an active dir).
        self._dirs: dict[str, FrozenMap[str, str] | None] = {}

    def _rows(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        try:
            return self.conn.execute(sql, params).fetchall()
        except UnicodeEncodeError:
            return []  # a name that is not UTF-8: the tables hold only UTF-8 text
        except sqlite3.DatabaseError as exc:
            raise cache_error(self.where, exc) from exc

    def _row(self, sql: str, params: tuple[object, ...] = ()) -> tuple[Any, ...] | None:
        rows = self._rows(sql, params)
        return rows[0] if rows else None

    def _covers(self, basename: str) -> bool:
        return self.universe is None or basename in self.universe

    # -- lib dirs ----------------------------------------------------------------------

    def _judge(self, path: str, owner: str, standard: int, present: int) -> str | None:
        """``path`` if the dir of that row is active, else ``None``."""
        if not present or not self._covers(owner):
            return None
        if standard:
            return path
        namers = self._rows("SELECT namer FROM named WHERE dir = ?", (path,))
        return path if any(self._covers(namer) for (namer,) in namers) else None

    def dir_entries(self, directory: str) -> Mapping[str, str] | None:
        """Name -> real file of the active lib dir ``directory`` (``None``: not one)."""
        if directory in self._dirs:
            return self._dirs[directory]
        rows = self._rows(  # the dir and its entries in one query
            "SELECT d.id, d.path, d.owner, d.standard, d.present, e.name, f.path, f.owner"
            " FROM dirs AS d LEFT JOIN entries AS e ON e.dir = d.id"
            " LEFT JOIN files AS f ON f.id = e.file WHERE d.path = ?",
            (directory,),
        )
        found: FrozenMap[str, str] | None = None
        if rows:
            dir_id, *row = rows[0][:5]
            self._active[dir_id] = active = self._judge(*row)
            if active is not None:
                found = FrozenMap(
                    (name, path)
                    for *_, name, path, owner in rows
                    if path is not None and self._covers(owner)
                )
        self._dirs[directory] = found
        return found

    # -- files -------------------------------------------------------------------------

    def _infos(self, rows: Iterable[_FileRow]) -> list[FileInfo]:
        """What the view says about the files of ``rows`` (those it holds, by path); the
        entries and dirs of new ones come in one query each."""
        rows = list(rows)
        new = {r[0]: r for r in rows if r[0] not in self._files}
        wanted = [i for i, r in new.items() if self._covers(r[2])]
        entries: dict[int, list[tuple[int, str]]] = {}
        for start in range(0, len(wanted), _BATCH):
            batch = json.dumps(wanted[start : start + _BATCH])
            for file_id, dir_id, name in self._rows(
                "SELECT file, dir, name FROM entries"
                " WHERE file IN (SELECT value FROM json_each(?))",
                (batch,),
            ):
                entries.setdefault(file_id, []).append((dir_id, name))
        self._judge_dirs({d for found in entries.values() for d, _ in found})
        for file_id, (_, path, owner, soname) in new.items():
            shown = sorted(
                f"{directory}/{name}"
                for dir_id, name in entries.get(file_id, ())
                if (directory := self._active.get(dir_id)) is not None
            )
            self._files[file_id] = (
                FileInfo(path=path, owner=owner, soname=soname, entries=tuple(shown))
                if shown
                else None
            )
        found = (self._files[r[0]] for r in rows)
        return sorted((i for i in found if i is not None), key=lambda i: i.path)

    def _judge_dirs(self, dir_ids: Iterable[int]) -> None:
        """Find out which of ``dir_ids`` are active (one query for those not known)."""
        wanted = sorted(d for d in dir_ids if d not in self._active)
        for start in range(0, len(wanted), _BATCH):
            batch = json.dumps(wanted[start : start + _BATCH])
            for dir_id, *row in self._rows(
                "SELECT id, path, owner, standard, present FROM dirs"
                " WHERE id IN (SELECT value FROM json_each(?))",
                (batch,),
            ):
                self._active[dir_id] = self._judge(*row)
        for dir_id in wanted:
            self._active.setdefault(dir_id, None)

    def file(self, path: str) -> FileInfo | None:
        """The library file whose real path is ``path``, if the view holds it."""
        row = self._row(f"SELECT {_FILE_COLUMNS} FROM files AS f WHERE f.path = ?", (path,))
        found = self._infos([row]) if row is not None else []
        return found[0] if found else None

    def files_named(self, name: str) -> list[FileInfo]:
        """The files answering to ``name`` (an entry name or a DT_SONAME), by path."""
        rows = self._rows(
            f"SELECT {_FILE_COLUMNS} FROM files AS f WHERE f.soname = ?1"
            f" UNION SELECT {_FILE_COLUMNS} FROM entries AS e JOIN files AS f ON f.id = e.file"
            " WHERE e.name = ?1",
            (name,),
        )
        return [i for i in self._infos(rows) if name in i.names]

    def files_of(self, basename: str) -> list[FileInfo]:
        """The files of store path ``basename``, by path."""
        rows = self._rows(f"SELECT {_FILE_COLUMNS} FROM files AS f WHERE f.owner = ?", (basename,))
        return self._infos(rows)

    # -- everything (one query each) ------------------------------------------------------

    def _universe_sql(self) -> tuple[str, str, tuple[str, ...]]:
        """SQL conditions on a dir owner and on a namer, and their parameters."""
        if self.universe is None:
            return "1", "1", ()
        member = "IN (SELECT value FROM json_each(?1))"
        return f"d.owner {member}", f"n.namer {member}", (json.dumps(sorted(self.universe)),)

    def _active_sql(self) -> tuple[str, tuple[str, ...]]:
        """A query of the active dirs' rows (``d.*``), and its parameters."""
        owner_in, namer_in, params = self._universe_sql()
        return (
            f"SELECT d.* FROM dirs AS d WHERE d.present AND {owner_in} AND (d.standard OR"
            f" EXISTS (SELECT 1 FROM named AS n WHERE n.dir = d.path AND {namer_in}))",
            params,
        )

    def _entries_sql(self) -> tuple[str, tuple[str, ...]]:
        """``WITH`` clauses: ``active`` dirs, and ``shown`` (name, file) entries of them."""
        active, params = self._active_sql()
        owner_in = "1" if self.universe is None else "f.owner IN (SELECT value FROM json_each(?1))"
        return (
            f"WITH active AS ({active}), shown AS (SELECT e.name, e.file FROM entries AS e"
            f" JOIN active AS a ON a.id = e.dir JOIN files AS f ON f.id = e.file"
            f" WHERE {owner_in})",
            params,
        )

    def dir_paths(self) -> list[str]:
        """Every active lib dir, sorted."""
        active, params = self._active_sql()
        rows = self._rows(f"SELECT path FROM ({active}) ORDER BY path", params)
        return [path for (path,) in rows]

    def names(self) -> list[str]:
        """Every name some file of the view answers to, sorted."""
        shown, params = self._entries_sql()
        rows = self._rows(
            f"{shown} SELECT name FROM shown UNION SELECT f.soname FROM files AS f"
            " WHERE f.soname IS NOT NULL AND f.soname != ''"
            " AND f.id IN (SELECT file FROM shown) ORDER BY 1",
            params,
        )
        return [name for (name,) in rows]

    def counts(self) -> ViewCounts:
        shown, params = self._entries_sql()
        ((dirs, non_elf, bad_elf, not_library, outside),) = self._rows(
            f"{shown} SELECT count(*), total(non_elf), total(bad_elf), total(not_library),"
            " total(outside) FROM active",
            params,
        )
        ((files,),) = self._rows(f"{shown} SELECT count(DISTINCT file) FROM shown", params)
        ((sonames,),) = self._rows(
            f"{shown} SELECT count(*) FROM (SELECT name FROM shown UNION SELECT f.soname"
            " FROM files AS f WHERE f.soname IS NOT NULL AND f.soname != ''"
            " AND f.id IN (SELECT file FROM shown))",
            params,
        )
        member = " WHERE basename IN (SELECT value FROM json_each(?1))"
        ((executables,),) = self._rows(
            f"SELECT total(executables) FROM paths{'' if self.universe is None else member}",
            params,
        )
        return ViewCounts(
            lib_dirs=int(dirs),
            files=int(files),
            sonames=int(sonames),
            executables=int(executables),
            skipped=SkipCounts(int(non_elf), int(bad_elf), int(not_library), int(outside)),
        )
