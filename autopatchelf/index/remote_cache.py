"""The on-disk cache of what binary caches said about store paths we do not have.

Store paths are immutable, so what a cache said about one stays true: its lib-dir entries
(from its ``.ls`` listing or a nix-index database), its narinfo (kept as text and verified
again on every use, against the keys trusted *then*), and the ELF facts of the libraries
its NAR held. A second solve makes no request for a path already read. One SQLite file per
store dir, beside the index cache (``remote-<digest>.sqlite``); a corrupt or outdated file
is rebuilt, never fatal.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping

from autopatchelf.cachedir import cache_dir as resolve_cache_dir
from autopatchelf.sqlite import connect_cache, is_busy, transaction

SCHEMA_VERSION = 1
_BUSY_TIMEOUT = 60.0

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE listings (
    basename TEXT PRIMARY KEY,
    entries TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE narinfos (
    basename TEXT PRIMARY KEY,
    cache TEXT NOT NULL,
    text BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE nars (basename TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE facts (
    path TEXT PRIMARY KEY,
    basename TEXT NOT NULL,
    blob BLOB NOT NULL
) WITHOUT ROWID;
CREATE INDEX facts_by_basename ON facts (basename);
CREATE TABLE databases (
    path TEXT PRIMARY KEY,
    stamp TEXT NOT NULL,
    packages TEXT NOT NULL
) WITHOUT ROWID;
"""
_TABLES = ("meta", "listings", "narinfos", "nars", "facts", "databases")

#: Lib dir (relative) -> entry name -> the regular file it leads to (relative), for one
#: store path.
Entries = Mapping[str, Mapping[str, str]]


def remote_cache_path(store_dir: str, cache_dir: str | None = None) -> str:
    digest = hashlib.sha256(store_dir.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    return os.path.join(resolve_cache_dir(cache_dir), f"remote-{digest}.sqlite")


class RemoteCache:
    """An open remote cache (in memory when its directory cannot be written)."""

    def __init__(self, store_dir: str, cache_dir: str | None = None) -> None:
        path = remote_cache_path(store_dir, cache_dir)
        self.warning: str | None = None
        self._writing = threading.Lock()
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            self._conn = self._connect(path)
            self.path: str | None = path
            self._prepare(store_dir)
        except (OSError, sqlite3.DatabaseError) as exc:
            if isinstance(exc, sqlite3.DatabaseError) and is_busy(exc):
                raise
            self.warning = f"remote cache {path} is unusable ({exc}); kept in memory"
            self._conn = self._connect(":memory:")
            self.path = None
            self._prepare(store_dir)

    @staticmethod
    def _connect(path: str) -> sqlite3.Connection:
        return connect_cache(path, timeout=_BUSY_TIMEOUT)

    def _prepare(self, store_dir: str) -> None:
        wanted = {"schema": str(SCHEMA_VERSION), "store": store_dir}
        try:
            found = dict(self._conn.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.DatabaseError as exc:
            if is_busy(exc):
                raise
            found = None
        if found == wanted:
            return
        if found is None and self.path is not None:
            # Not even our schema (or not a database): start again from an empty file.
            self._conn.close()
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.path + suffix)
            self._conn = self._connect(self.path)
        with self._transaction():
            for table in _TABLES:
                self._conn.execute(f"DROP TABLE IF EXISTS {table}")
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self._conn.execute(statement)
            self._conn.executemany("INSERT INTO meta VALUES (?, ?)", sorted(wanted.items()))

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        # One connection serves the threads that fetch narinfos and NARs in parallel: a
        # transaction is the connection's state, so one thread at a time opens one.
        with self._writing, transaction(self._conn):
            yield

    def close(self) -> None:
        self._conn.close()

    # -- listings ------------------------------------------------------------------------

    def listings(self, basenames: Iterable[str]) -> dict[str, Entries]:
        found: dict[str, Entries] = {}
        names = list(basenames)
        for start in range(0, len(names), 500):
            batch = names[start : start + 500]
            marks = ",".join("?" * len(batch))
            rows = self._conn.execute(
                f"SELECT basename, entries FROM listings WHERE basename IN ({marks})", batch
            )
            for basename, text in rows:
                found[basename] = json.loads(text)
        return found

    def put_listings(self, listings: Mapping[str, Entries]) -> None:
        if not listings:
            return
        rows = [(b, json.dumps(e, sort_keys=True)) for b, e in sorted(listings.items())]
        with self._transaction():
            self._conn.executemany("INSERT OR REPLACE INTO listings VALUES (?, ?)", rows)

    # -- narinfos ------------------------------------------------------------------------

    def narinfo(self, basename: str) -> tuple[str, bytes] | None:
        row = self._conn.execute(
            "SELECT cache, text FROM narinfos WHERE basename = ?", (basename,)
        ).fetchone()
        return None if row is None else (str(row[0]), bytes(row[1]))

    def put_narinfo(self, basename: str, cache: str, text: bytes) -> None:
        with self._transaction():
            self._conn.execute(
                "INSERT OR REPLACE INTO narinfos VALUES (?, ?, ?)", (basename, cache, text)
            )

    # -- facts -----------------------------------------------------------------------------

    def nar_read(self, basename: str) -> bool:
        row = self._conn.execute("SELECT 1 FROM nars WHERE basename = ?", (basename,)).fetchone()
        return row is not None

    def facts_of(self, basename: str) -> dict[str, bytes]:
        rows = self._conn.execute("SELECT path, blob FROM facts WHERE basename = ?", (basename,))
        return {str(path): bytes(blob) for path, blob in rows}

    def put_facts(self, basename: str, blobs: Mapping[str, bytes]) -> None:
        with self._transaction():
            self._conn.execute("DELETE FROM facts WHERE basename = ?", (basename,))
            self._conn.executemany(
                "INSERT INTO facts VALUES (?, ?, ?)",
                [(path, basename, blob) for path, blob in sorted(blobs.items())],
            )
            self._conn.execute("INSERT OR REPLACE INTO nars VALUES (?)", (basename,))

    # -- nix-index databases ---------------------------------------------------------------

    def database(self, path: str, stamp: str) -> dict[str, str] | None:
        """basename -> origin (``gcc.cc.lib``) of a database read before, unchanged since."""
        row = self._conn.execute(
            "SELECT stamp, packages FROM databases WHERE path = ?", (path,)
        ).fetchone()
        if row is None or row[0] != stamp:
            return None
        packages: dict[str, str] = json.loads(row[1])
        return packages

    def put_database(self, path: str, stamp: str, packages: Mapping[str, str]) -> None:
        with self._transaction():
            self._conn.execute(
                "INSERT OR REPLACE INTO databases VALUES (?, ?, ?)",
                (path, stamp, json.dumps(dict(sorted(packages.items())))),
            )
