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
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from autopatchelf.cachedir import cache_dir as resolve_cache_dir
from autopatchelf.errors import ElfError, StoreError
from autopatchelf.index import cacheverdicts
from autopatchelf.index.cachewrite import DigestMemo, blob_digest, write_scans
from autopatchelf.index.records import DirScan, ElfSummary, PathScan
from autopatchelf.sqlite import connect_cache, storable, transaction
from autopatchelf.sqlite import is_busy as _is_busy

#: Bump whenever the tables change meaning: an older cache is then rebuilt from scratch.
#: 2: FHS and multiarch lib dirs are standard dirs; 3: every machine's; 4: one row per
#: distinct facts blob; 5: entries and files indexed by name (the view queries on demand);
#: 6: kept verdicts; 7: a blob's symbol tables in a column of their own; 8: when each
#: verdict was saved (the oldest are dropped past a size: :mod:`.cacheverdicts`), and the
#: symbol tables in a table of their own (the facts blobs' pages hold only facts).
SCHEMA_VERSION = 8
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
CREATE TABLE files (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    owner TEXT NOT NULL,
    soname TEXT,
    rpath TEXT,
    runpath TEXT,
    interpreter TEXT,
    elf64 INTEGER NOT NULL,
    facts BLOB NOT NULL
);
CREATE TABLE blobs (digest BLOB PRIMARY KEY, blob BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE symbols (digest BLOB PRIMARY KEY, payload BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE entries (
    dir INTEGER NOT NULL REFERENCES dirs (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    file INTEGER NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    PRIMARY KEY (dir, name)
) WITHOUT ROWID;
CREATE TABLE named (
    namer TEXT NOT NULL,
    dir TEXT NOT NULL,
    target TEXT NOT NULL,
    PRIMARY KEY (namer, dir)
) WITHOUT ROWID;
CREATE TABLE refs (
    referrer TEXT NOT NULL,
    reference TEXT NOT NULL,
    PRIMARY KEY (referrer, reference)
) WITHOUT ROWID;
CREATE TABLE verdicts (
    key BLOB PRIMARY KEY,
    kind TEXT,
    what TEXT,
    saved INTEGER NOT NULL
) WITHOUT ROWID;
"""

#: Indexes no query of an update needs: a cold build makes them after its last insert
#: (:meth:`IndexCache.bulk_load`), sorting once instead of inserting row by row.
_INDEXES = {
    "dirs_owner": "dirs (owner)",
    "files_owner": "files (owner)",
    "files_facts": "files (facts)",
    "files_soname": "files (soname)",
    "entries_file": "entries (file)",
    "entries_name": "entries (name)",
    "named_dir": "named (dir)",
}

#: The ``meta`` key of a cold build under way: a cache holding it is not ours (an
#: interrupted build is made again from scratch, never trusted).
_UNFINISHED = "unfinished"
#: The ``meta`` key of the recorded store dir stamp (:meth:`IndexCache.record_listing`).
_LISTING = "listing"

#: The page cache of a cold build's one transaction (negative: KiB), so that its
#: pages are not spilled to the file and read back before the commit.
_BULK_CACHE_KIB = -32768

_TABLES = (
    "meta",
    "paths",
    "dirs",
    "files",
    "entries",
    "named",
    "refs",
    "blobs",
    "symbols",
    "verdicts",
)

#: How long a solve waits for another run's write lock to save its verdicts (seconds):
#: they are an optimisation, so a busy cache drops them rather than stall the solve.
_VERDICT_WAIT = 0.2


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
        self._digests = DigestMemo()
        self._closed = False
        #: The SQLite file, or ``None`` for an in-memory cache.
        self.path = path
        #: Why the cache is in memory, or that a corrupt file was rebuilt: said once.
        self.warning = warning
        self._lock_depth = 0
        self._reader: sqlite3.Connection | None = None
        #: Inside :meth:`bulk_load`: its one transaction holds every write.
        self._bulk = False

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
        self._closed = True
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        self._conn.close()

    # -- integrity -----------------------------------------------------------------

    def _meta(self) -> dict[str, str]:
        return dict(self._conn.execute("SELECT key, value FROM meta").fetchall())

    def _prepare(self, store_dir: str) -> None:
        """Make sure the file holds our schema for ``store_dir``; rebuild it if not."""
        wanted = {"schema": str(SCHEMA_VERSION), "store": store_dir}
        try:
            if _is_ours(self._meta(), wanted):
                return
        except sqlite3.DatabaseError as exc:
            if _is_busy(exc):
                raise
        with self.exclusive():
            try:
                if _is_ours(self._meta(), wanted):
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
            self._create_indexes()
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

    def _create_indexes(self) -> None:
        for name, on in _INDEXES.items():
            self._conn.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {on}")

    def unfinished(self) -> bool:
        """Whether a cold build of this cache was interrupted (or is under way: ask with
        the writers' lock held)."""
        return _UNFINISHED in self._meta()

    @contextlib.contextmanager
    def bulk_load(self) -> Iterator[None]:
        """The writes of a cold build (the caller holds the writers' lock), in one
        transaction: the indexes of :data:`_INDEXES` are dropped until the end, the
        journal is a rollback one meanwhile when no other connection is open (each page
        is written once, not to the WAL and again by its checkpoint) and the page cache
        holds the whole build (no page is spilled and read back). Until the end, the
        cache says it is unfinished (a marker committed before): another run waits for
        the lock, and one that finds it still unfinished (this run was interrupted, its
        transaction rolled back) rebuilds it from scratch."""
        conn = self._conn
        with self._transaction():
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, '1')", (_UNFINISHED,))
            for name in _INDEXES:
                conn.execute(f"DROP INDEX IF EXISTS {name}")
        journal = self._rollback_journal()
        (pages,) = conn.execute("PRAGMA cache_size").fetchone()
        conn.execute(f"PRAGMA cache_size = {_BULK_CACHE_KIB}")
        try:
            with self._transaction():
                self._bulk = True
                try:
                    yield
                finally:
                    self._bulk = False
                self._create_indexes()
                conn.execute("DELETE FROM meta WHERE key = ?", (_UNFINISHED,))
        finally:
            conn.execute(f"PRAGMA cache_size = {int(pages)}")
            if journal:  # else the next connection sets it (another one is open now)
                with contextlib.suppress(sqlite3.OperationalError):
                    conn.execute("PRAGMA journal_mode = WAL")

    def _rollback_journal(self) -> bool:
        """Leave WAL mode for the rest of a cold build, if no other connection is open
        (else stay in WAL): a rollback journal keeps no copy of pages the file did not
        hold before the transaction, so each page of the new tables is written once,
        into the file, instead of into the WAL and then again by its checkpoint."""
        if self.path is None:
            return False
        try:
            (mode,) = self._conn.execute("PRAGMA journal_mode = DELETE").fetchone()
        except sqlite3.OperationalError:
            return False  # another connection is open: WAL mode stays
        return str(mode).lower() == "delete"

    # -- queries used while updating ---------------------------------------------------

    def path_stamps(self) -> dict[str, str]:
        return dict(self._conn.execute("SELECT basename, stamp FROM paths").fetchall())

    def stamp_of(self, basename: str) -> str | None:
        """The stamp of store path ``basename`` in the ``paths`` table, if it is there."""
        row = self._conn.execute(
            "SELECT stamp FROM paths WHERE basename = ?", (basename,)
        ).fetchone()
        return None if row is None else str(row[0])

    def basenames(self) -> list[str]:
        """Every store path of the ``paths`` table, sorted."""
        return [b for (b,) in self._conn.execute("SELECT basename FROM paths ORDER BY 1")]

    def path_count(self) -> int:
        (count,) = self._conn.execute("SELECT count(*) FROM paths").fetchone()
        return int(count)

    def listing_stamp(self) -> str | None:
        """The store dir's stamp (:mod:`autopatchelf.store.dirstamp`) under which the
        ``paths`` table is exactly its listing, if one is recorded."""
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (_LISTING,)).fetchone()
        return None if row is None else str(row[0])

    def record_listing(self, stamp: str, valid: Mapping[str, str]) -> None:
        """Record that the ``paths`` table is the store dir's listing ``valid``, read
        under ``stamp``, if it still is once the writers' lock is held. Any later
        change to the table forgets it (:meth:`write`, :meth:`drop_paths`)."""
        with self.exclusive():
            if self.path_stamps() != valid:
                return  # another run changed it meanwhile
            with self._transaction():
                self._conn.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (_LISTING, stamp)
                )

    def _forget_listing(self) -> None:
        self._conn.execute("DELETE FROM meta WHERE key = ?", (_LISTING,))

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
            self._forget_listing()
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
            conn.execute(
                "DELETE FROM symbols WHERE NOT EXISTS"
                " (SELECT 1 FROM blobs WHERE blobs.digest = symbols.digest)"
            )

    def write(self, paths: Sequence[PathScan], dirs: Sequence[DirScan] = ()) -> None:
        """Record scanned store paths and dirs, in one transaction (a few batched
        statements for the whole lot, not a few per store path)."""
        with contextlib.nullcontext() if self._bulk else self._transaction():
            if paths:
                self._forget_listing()
            write_scans(self._conn, paths, dirs, self._digests)

    def replace_blob(self, path: str, blob: bytes, symbols: bytes) -> bytes:
        """Store re-read facts for one file (its old blob could not be decoded); their
        digest."""
        digest = blob_digest(blob, symbols)
        with self._transaction():
            self._conn.execute(
                "INSERT OR IGNORE INTO blobs (digest, blob) VALUES (?, ?)", (digest, blob)
            )
            self._conn.execute(
                "INSERT OR IGNORE INTO symbols (digest, payload) VALUES (?, ?)", (digest, symbols)
            )
            self._conn.execute("UPDATE files SET facts = ? WHERE path = ?", (digest, path))
        return digest

    # -- queries used by the view ---------------------------------------------------------

    def reader(self) -> sqlite3.Connection:
        """A connection for the view's queries, in one read snapshot from now until
        :meth:`close` (another run's later writes stay unseen); the cache's own connection
        when it lives in memory (no other run can write to it then)."""
        if self.path is None:
            return self._conn
        if self._reader is None:
            conn = _connect(self.path)
            try:
                conn.execute("BEGIN")
                conn.execute("SELECT count(*) FROM meta").fetchone()
            except BaseException:
                conn.close()
                raise
            self._reader = conn
        return self._reader

    def blobs_by_path(self, paths: Sequence[str]) -> dict[str, tuple[bytes, bytes]]:
        """The facts blobs of the given library files, without their symbols
        (:meth:`symbols`), each with its digest (the key it is stored under:
        :func:`~autopatchelf.index.cachewrite.blob_digest`; absent files are left out)."""
        rows = self._select_in(
            "SELECT f.path, f.facts, b.blob FROM files AS f JOIN blobs AS b"
            " ON b.digest = f.facts WHERE f.path IN ({marks})",
            paths,
        )
        return {path: (digest, blob) for path, digest, blob in rows}

    def symbols(self, digest: bytes) -> bytes | None:
        """The symbol payload stored with the facts of ``digest`` (``None``: no such row,
        or the cache is closed)."""
        if self._closed:
            return None
        try:
            sql = "SELECT payload FROM symbols WHERE digest = ?"
            row = self.reader().execute(sql, (digest,)).fetchone()
        except sqlite3.DatabaseError:
            return None
        return row[0] if row is not None and isinstance(row[0], bytes) else None

    def verdicts(self, keys: Sequence[bytes]) -> dict[bytes, tuple[str, str] | None]:
        """Saved version-check verdicts (:mod:`autopatchelf.problem.verdicts`) of those of
        ``keys`` that have one: ``None`` for a pair that is fine, else (kind, what)."""
        found: dict[bytes, tuple[str, str] | None] = {}
        sql = "SELECT key, kind, what FROM verdicts WHERE key IN ({marks})"
        for key, kind, what in self._select_in(sql, keys):
            if kind is None:
                found[key] = None
            elif isinstance(kind, str) and isinstance(what, str):
                found[key] = (kind, what)
        return found

    def _select_in(self, sql: str, values: Sequence[object]) -> Iterator[tuple[Any, ...]]:
        """The rows of ``sql`` (the view's read snapshot) for ``values``, 500 at a time in
        its ``IN ({marks})``."""
        for start in range(0, len(values), 500):
            batch = list(values[start : start + 500])
            yield from self.reader().execute(sql.format(marks=",".join("?" * len(batch))), batch)

    def save_verdicts(self, verdicts: Mapping[bytes, tuple[str, str] | None]) -> bool:
        """Keep these verdicts (the oldest kept are dropped past a size:
        :mod:`.cacheverdicts`); ``False`` when another run held the write lock for longer
        than a solve waits (they are dropped then: the next run judges them again)."""
        kept = {
            k: v for k, v in verdicts.items() if v is None or storable(*v)
        }  # a symbol name that is not UTF-8 (a hostile file): judged again each time
        conn = self._conn
        (waited,) = conn.execute("PRAGMA busy_timeout").fetchone()
        conn.execute(f"PRAGMA busy_timeout = {int(_VERDICT_WAIT * 1000)}")
        try:
            with self._transaction():
                cacheverdicts.save(conn, kept)
        except sqlite3.OperationalError:
            return False  # busy for longer than that, or the disk is full
        finally:
            conn.execute(f"PRAGMA busy_timeout = {int(waited)}")
        return True

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


def _is_ours(meta: Mapping[str, str], wanted: Mapping[str, str]) -> bool:
    """Whether ``meta`` (the table) has the schema and store dir ``wanted`` says, and
    no cold build is unfinished."""
    return _UNFINISHED not in meta and all(meta.get(k) == v for k, v in wanted.items())


def cache_error(path: str | None, exc: sqlite3.DatabaseError) -> StoreError:
    """The error for a cache that fails a query (locked by another run, or corrupt)."""
    where = path or "(in memory)"
    if _is_busy(exc):
        return StoreError(
            f"index cache {where} is locked: {exc}",
            hint="another autopatchelf run holds it; retry, or pass --cache-dir",
        )
    return StoreError(
        f"index cache {where} is unusable: {exc}",
        hint="delete it, or pass another --cache-dir",
    )


def _connect(path: str) -> sqlite3.Connection:
    return connect_cache(path, timeout=_BUSY_TIMEOUT, foreign_keys=True)
