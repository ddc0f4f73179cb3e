"""SQLite conventions shared by the index cache and the read-only view of Nix's database."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path


def storable(*texts: str | None) -> bool:
    """Whether SQLite can hold these strings: valid UTF-8, as names decoded from a file
    with surrogateescape may not be (``None`` is always storable)."""
    try:
        for text in texts:
            if text is not None:
                text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def is_busy(exc: sqlite3.Error) -> bool:
    """Whether ``exc`` says another connection holds the database (retry later), as
    opposed to a corrupt or unreadable file."""
    message = str(exc)
    return "locked" in message or "busy" in message


def connect_readonly(path: str, *, timeout: float) -> sqlite3.Connection:
    """A read-only connection to ``path`` (``mode=ro`` URI, whatever the path holds:
    ``%``, ``?`` and ``#`` are escaped by the URI form). Never creates the file."""
    uri = Path(path).absolute().as_uri() + "?mode=ro"
    return sqlite3.connect(uri, uri=True, timeout=timeout, check_same_thread=False)


def connect_cache(path: str, *, timeout: float, foreign_keys: bool = False) -> sqlite3.Connection:
    """A connection to one of our cache files (or ``:memory:``): autocommit (transactions
    are explicit, :func:`transaction`), usable from several threads, WAL on disk. A corrupt
    file still connects: the caller's schema check notices and rebuilds it."""
    conn = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
    with contextlib.suppress(sqlite3.DatabaseError):
        if foreign_keys:
            conn.execute("PRAGMA foreign_keys = ON")
        if path != ":memory:":
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
    return conn


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """``BEGIN IMMEDIATE`` (the write lock up front) ... ``COMMIT``; rolled back on error."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
