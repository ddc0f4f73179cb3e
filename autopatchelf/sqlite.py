"""SQLite conventions shared by the index cache and the read-only view of Nix's database."""

from __future__ import annotations

import sqlite3
from pathlib import Path


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
