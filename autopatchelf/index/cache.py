"""The on-disk index cache: one SQLite file per store dir, keyed by store path.

Store paths are immutable, so what a scan found in one stays true until the path is
garbage-collected (or re-made, which changes its stamp). The cache holds, per store path:
its lib dirs and their entries, the facts of every library file (as
:meth:`autopatchelf.ElfFacts.to_blob` blobs), the dirs its RUNPATHs name and the store paths they
mention. Updates are incremental and transactional (WAL, ``BEGIN IMMEDIATE``); writers
also take an ``flock`` so that concurrent runs scan a new path once, not twice.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from autopatchelf.cachedir import cache_dir as resolve_cache_dir
from autopatchelf.errors import ElfError
from autopatchelf.index.records import DirScan, ElfSummary, PathScan
from autopatchelf.sqlite import connect_cache, transaction
from autopatchelf.sqlite import is_busy as _is_busy

#: Bump whenever the tables change meaning: an older cache is then rebuilt from scratch.
SCHEMA_VERSION = 4  # 2: FHS and multiarch lib dirs are standard dirs; 3: every machine's
_BUSY_TIMEOUT = 60.0

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE paths (
    basename TEXT PRIMARY KEY,
    stamp TEXT NOT NULL,
    executables INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE dirs (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    owner TEXT NOT NULL,
    standard INTEGER NOT NULL,
    present INTEGER NOT NULL,
    non_elf INTEGER NOT NULL,
    bad_elf INTEGER NOT NULL,
    not_library INTEGER NOT NULL,
    outside INTEGER NOT NULL
);
CREATE INDEX dirs_owner ON dirs (owner);
CREATE TABLE files (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    owner TEXT NOT NULL,
    soname TEXT,
    rpath TEXT,
    runpath TEXT,
    interpreter TEXT,
    elf64 INTEGER NOT NULL,
    facts BLOB NOT NULL REFERENCES blobs (digest)
);
CREATE INDEX files_owner ON files (owner);
CREATE INDEX files_facts ON files (facts);
CREATE TABLE blobs (digest BLOB PRIMARY KEY, blob BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE entries (
    dir INTEGER NOT NULL REFERENCES dirs (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    file INTEGER NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    PRIMARY KEY (dir, name)
) WITHOUT ROWID;
CREATE INDEX entries_file ON entries (file);
CREATE TABLE named (
    namer TEXT NOT NULL,
    dir TEXT NOT NULL,
    target TEXT NOT NULL,
    PRIMARY KEY (namer, dir)
) WITHOUT ROWID;
CREATE INDEX named_dir ON named (dir);
CREATE TABLE refs (
    referrer TEXT NOT NULL,
    reference TEXT NOT NULL,
    PRIMARY KEY (referrer, reference)
) WITHOUT ROWID;
"""

_TABLES = ("meta", "paths", "dirs", "files", "entries", "named", "refs", "blobs")


def blob_digest(blob: bytes) -> bytes:
    """The key a facts blob is stored under: equal files (copies of one library in many
    store paths) share one row."""
    return hashlib.blake2b(blob, digest_size=16).digest()


def cache_file_name(store_dir: str) -> str:
    digest = hashlib.sha256(store_dir.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    return f"index-{digest}.sqlite"


def cache_path(store_dir: str, cache_dir: str | None = None) -> str:
    """The SQLite file that caches ``store_dir``'s index under ``cache_dir``
    (``--cache-dir``; default :func:`autopatchelf.cachedir.default_cache_dir`)."""
    return os.path.join(resolve_cache_dir(cache_dir), cache_file_name(store_dir))


def stamps_differ(old: str, new: str) -> bool:
    """Whether a path was re-made; stamps of different kinds (``reg:``/``ino:``) can't tell."""
    return old.partition(":")[0] == new.partition(":")[0] and old != new


class IndexCache:
    """An open cache for one store dir (or an in-memory one when no dir is writable)."""

    def __init__(
        self, conn: sqlite3.Connection, path: str | None, *, warning: str | None = None
    ) -> None:
        self._conn = conn
        #: Digests of blobs written lately: hard-linked files share one bytes object, and
        #: a bytes object keeps its own hash, so a repeat costs a dict lookup.
        self._digests: dict[bytes, bytes] = {}
        #: The SQLite file, or ``None`` for an in-memory cache.
        self.path = path
        #: Why the cache is in memory, or that a corrupt file was rebuilt: said once.
        self.warning = warning
        self._lock_depth = 0

    @classmethod
    def open(cls, store_dir: str, cache_dir: str | None = None) -> IndexCache:
        directory = resolve_cache_dir(cache_dir)
        try:
            os.makedirs(directory, exist_ok=True)
            if not os.access(directory, os.W_OK | os.X_OK):
                raise PermissionError(13, "not writable", directory)
        except OSError as exc:
            why = exc.strerror or str(exc)
            return cls.in_memory(
                store_dir,
                warning=f"cache dir {directory} is unusable ({why}); the index is kept in "
                "memory and rebuilt on every run",
            )
        path = cache_path(store_dir, cache_dir)
        if os.path.exists(path) and not os.access(path, os.R_OK | os.W_OK):
            return cls.in_memory(
                store_dir,
                warning=f"cache file {path} is not writable; the index is kept in memory "
                "and rebuilt on every run",
            )
        cache = cls(_connect(path), path)
        cache._prepare(store_dir)
        return cache

    @classmethod
    def in_memory(cls, store_dir: str, *, warning: str | None = None) -> IndexCache:
        cache = cls(_connect(":memory:"), None, warning=warning)
        cache._prepare(store_dir)
        return cache

    def close(self) -> None:
        self._conn.close()

    # -- integrity -----------------------------------------------------------------

    def _meta(self) -> dict[str, str]:
        return dict(self._conn.execute("SELECT key, value FROM meta").fetchall())

    def _prepare(self, store_dir: str) -> None:
        """Make sure the file holds our schema for ``store_dir``; rebuild it if not."""
        wanted = {"schema": str(SCHEMA_VERSION), "store": store_dir}
        try:
            if self._meta() == wanted:
                return
        except sqlite3.DatabaseError as exc:
            if _is_busy(exc):
                raise
        with self.exclusive():
            try:
                if self._meta() == wanted:
                    return  # another process rebuilt it meanwhile
            except sqlite3.DatabaseError as exc:
                if _is_busy(exc):
                    raise
                if not self._is_empty():
                    self.note_rebuilt(exc)
            self.reset(store_dir)

    def _is_empty(self) -> bool:
        """A new file (no table at all), as opposed to one that is not a database."""
        try:
            row = self._conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.DatabaseError:
            return False
        return bool(row is not None and row[0] == 0)

    def note_rebuilt(self, why: BaseException) -> None:
        """Remember (for the one warning of this run) that a corrupt file was rebuilt."""
        if self.warning is None:
            self.warning = f"index cache {self.path} was corrupt ({why}); rebuilt it"

    def reset(self, store_dir: str) -> None:
        """Throw everything away and start an empty cache (corrupt or outdated file)."""
        with self.exclusive():
            try:
                self._recreate(store_dir)
            except sqlite3.DatabaseError as exc:
                if _is_busy(exc) or self.path is None:
                    raise
                # Not even a database: remove the files and start a new one.
                self._conn.close()
                for suffix in ("", "-wal", "-shm"):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(self.path + suffix)
                self._conn = _connect(self.path)
                self._recreate(store_dir)

    def _recreate(self, store_dir: str) -> None:
        with self._transaction():
            for table in _TABLES:
                self._conn.execute(f"DROP TABLE IF EXISTS {table}")
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self._conn.execute(statement)
            self._conn.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?)",
                [("schema", str(SCHEMA_VERSION)), ("store", store_dir)],
            )

    # -- locking -------------------------------------------------------------------

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the writers' lock (a no-op for an in-memory cache); re-entrant."""
        if self.path is None or self._lock_depth:
            self._lock_depth += 1
            try:
                yield
            finally:
                self._lock_depth -= 1
            return
        fd = os.open(self.path + ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._lock_depth = 1
            yield
        finally:
            self._lock_depth = 0
            os.close(fd)  # releases the flock

    def _transaction(self) -> contextlib.AbstractContextManager[None]:
        return transaction(self._conn)

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[None]:
        """One consistent read view for the queries inside (WAL readers never block)."""
        self._conn.execute("BEGIN")
        try:
            yield
        finally:
            self._conn.execute("ROLLBACK")

    def begin_snapshot(self) -> None:
        """Start a read view that lasts until :meth:`close` (for lazy blob reads)."""
        self._conn.execute("BEGIN")
        self._conn.execute("SELECT count(*) FROM meta").fetchone()

    # -- queries used while updating ---------------------------------------------------

    def path_stamps(self) -> dict[str, str]:
        return dict(self._conn.execute("SELECT basename, stamp FROM paths").fetchall())

    def known_file(self, path: str) -> ElfSummary | None:
        row = self._conn.execute(
            "SELECT owner, rpath, runpath, interpreter, elf64 FROM files WHERE path = ?", (path,)
        ).fetchone()
        if row is None:
            return None
        return ElfSummary(
            owner=row[0], rpath=row[1], runpath=row[2], interpreter=row[3], elf64=bool(row[4])
        )

    def file_paths(self) -> set[str]:
        """Every library file the cache holds."""
        return {path for (path,) in self._conn.execute("SELECT path FROM files")}

    def pending_names(self) -> list[tuple[str, str, str]]:
        """``(namer, dir, target)`` of named dirs that were never scanned."""
        return self._conn.execute(
            "SELECT namer, dir, target FROM named AS n"
            " WHERE NOT EXISTS (SELECT 1 FROM dirs AS d WHERE d.path = n.dir)"
            " ORDER BY dir, namer"
        ).fetchall()

    # -- writes ----------------------------------------------------------------------

    def drop_paths(self, basenames: Iterable[str]) -> None:
        """Forget garbage-collected (or re-made) store paths and everything only they held."""
        rows = [(b,) for b in basenames]
        if not rows:
            return
        conn = self._conn
        with self._transaction():
            conn.executemany("DELETE FROM paths WHERE basename = ?", rows)
            conn.executemany("DELETE FROM dirs WHERE owner = ?", rows)
            conn.executemany("DELETE FROM files WHERE owner = ?", rows)
            conn.executemany("DELETE FROM named WHERE namer = ?", rows)
            conn.executemany("DELETE FROM refs WHERE referrer = ?", rows)
            # Dirs searched only because a vanished path's RUNPATH named them.
            conn.execute(
                "DELETE FROM dirs WHERE standard = 0"
                " AND NOT EXISTS (SELECT 1 FROM named WHERE named.dir = dirs.path)"
            )
            conn.execute(
                "DELETE FROM files WHERE NOT EXISTS (SELECT 1 FROM entries WHERE file = files.id)"
            )
            conn.execute(
                "DELETE FROM blobs WHERE NOT EXISTS (SELECT 1 FROM files WHERE facts = digest)"
            )

    def write(self, paths: Sequence[PathScan], dirs: Sequence[DirScan] = ()) -> None:
        """Record scanned store paths and dirs, in one transaction."""
        with self._transaction():
            for scan in paths:
                self._conn.execute(
                    "INSERT OR REPLACE INTO paths (basename, stamp, executables) VALUES (?, ?, ?)",
                    (scan.basename, scan.stamp, scan.executables),
                )
                self._write_names(scan.basename, scan.names, scan.refs)
                for directory in scan.dirs:
                    self._write_dir(directory)
            for directory in dirs:
                self._write_dir(directory)

    def _write_names(
        self, namer: str, names: Sequence[tuple[str, str]], refs: Sequence[str]
    ) -> None:
        self._conn.executemany(
            "INSERT OR IGNORE INTO named (namer, dir, target) VALUES (?, ?, ?)",
            [(namer, directory, target) for directory, target in names],
        )
        self._conn.executemany(
            "INSERT OR IGNORE INTO refs (referrer, reference) VALUES (?, ?)",
            [(namer, ref) for ref in refs],
        )

    def _write_dir(self, scan: DirScan) -> None:
        conn = self._conn
        existing = conn.execute("SELECT id FROM dirs WHERE path = ?", (scan.path,)).fetchone()
        if existing is not None:
            if scan.standard:
                conn.execute("UPDATE dirs SET standard = 1 WHERE id = ?", existing)
            return
        skipped = scan.skipped
        cursor = conn.execute(
            "INSERT INTO dirs (path, owner, standard, present, non_elf, bad_elf, not_library,"
            " outside) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                scan.path,
                scan.owner,
                int(scan.standard),
                int(scan.present),
                skipped.non_elf,
                skipped.bad_elf,
                skipped.not_library,
                skipped.outside,
            ),
        )
        dir_id = cursor.lastrowid
        digests = [self._digest(f.blob) for f in scan.files]
        conn.executemany(
            "INSERT OR IGNORE INTO blobs (digest, blob) VALUES (?, ?)",
            [(d, f.blob) for d, f in zip(digests, scan.files, strict=True)],
        )
        conn.executemany(
            "INSERT OR IGNORE INTO files (path, owner, soname, rpath, runpath, interpreter, elf64,"
            " facts) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (f.path, f.owner, f.soname, f.rpath, f.runpath, f.interpreter, int(f.elf64), d)
                for d, f in zip(digests, scan.files, strict=True)
            ],
        )
        conn.executemany(
            "INSERT OR IGNORE INTO entries (dir, name, file)"
            " SELECT ?, ?, id FROM files WHERE path = ?",
            [(dir_id, name, path) for name, path in scan.entries],
        )
        self._write_names(scan.owner, scan.names, scan.refs)

    def _digest(self, blob: bytes) -> bytes:
        found = self._digests.get(blob)
        if found is None:
            if len(self._digests) >= 4096:
                self._digests.clear()
            found = self._digests[blob] = blob_digest(blob)
        return found

    def replace_blob(self, path: str, blob: bytes) -> None:
        """Store re-read facts for one file (its old blob could not be decoded)."""
        digest = blob_digest(blob)
        with self._transaction():
            self._conn.execute(
                "INSERT OR IGNORE INTO blobs (digest, blob) VALUES (?, ?)", (digest, blob)
            )
            self._conn.execute("UPDATE files SET facts = ? WHERE path = ?", (digest, path))

    # -- queries used to build the in-memory view -----------------------------------------

    def view_rows(
        self, universe: frozenset[str] | None
    ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]], int]:
        """What the in-memory view is built from, in one consistent snapshot: the dirs
        (id, path, standard, present, skip counts), the dirs some RUNPATH names, the
        entries (dir id, name, file path, owner, soname) and the executables counted;
        only those of ``universe``'s store paths (basenames; ``None``: all)."""
        params: tuple[str, ...] = ()
        where_owner = where_namer = where_base = ""
        if universe is not None:
            params = (json.dumps(sorted(universe)),)
            where_owner = " WHERE d.owner IN (SELECT value FROM json_each(?1))"
            where_namer = " WHERE namer IN (SELECT value FROM json_each(?1))"
            where_base = " WHERE basename IN (SELECT value FROM json_each(?1))"
        conn = self._conn
        with self.snapshot():
            dir_rows = conn.execute(
                "SELECT id, path, standard, present, non_elf, bad_elf, not_library, outside"
                f" FROM dirs AS d{where_owner}",
                params,
            ).fetchall()
            named_rows = conn.execute(
                f"SELECT DISTINCT dir FROM named{where_namer}", params
            ).fetchall()
            entry_rows = conn.execute(
                "SELECT e.dir, e.name, f.path, f.owner, f.soname FROM entries AS e"
                " JOIN files AS f ON f.id = e.file JOIN dirs AS d ON d.id = e.dir"
                f"{where_owner} ORDER BY f.path, e.dir, e.name",
                params,
            ).fetchall()
            (executables,) = conn.execute(
                f"SELECT total(executables) FROM paths{where_base}", params
            ).fetchone()
        return dir_rows, named_rows, entry_rows, int(executables)

    def blobs_by_path(self, paths: Sequence[str]) -> dict[str, bytes]:
        """The facts blobs of the given library files (absent ones are left out)."""
        result: dict[str, bytes] = {}
        for start in range(0, len(paths), 500):
            batch = list(paths[start : start + 500])
            marks = ",".join("?" * len(batch))
            for path, blob in self._conn.execute(
                "SELECT f.path, b.blob FROM files AS f JOIN blobs AS b ON b.digest = f.facts"
                f" WHERE f.path IN ({marks})",
                batch,
            ):
                result[path] = blob
        return result

    def blobs_decode(self, decode: Callable[[bytes, str], object]) -> bool:
        """Whether a sample blob still decodes (``False``: written by an older reader)."""
        row = self._conn.execute(
            "SELECT f.path, b.blob FROM files AS f LEFT JOIN blobs AS b ON b.digest = f.facts"
            " ORDER BY f.id LIMIT 1"
        ).fetchone()
        if row is None:
            return True
        if row[1] is None:
            return False  # a file whose blob is gone: not a cache we wrote
        try:
            decode(row[1], row[0])
        except ElfError:
            return False
        return True

    def references(self) -> dict[str, frozenset[str]]:
        edges: dict[str, set[str]] = {}
        for referrer, reference in self._conn.execute("SELECT referrer, reference FROM refs"):
            edges.setdefault(referrer, set()).add(reference)
        return {k: frozenset(v) for k, v in edges.items()}


def _connect(path: str) -> sqlite3.Connection:
    return connect_cache(path, timeout=_BUSY_TIMEOUT, foreign_keys=True)
