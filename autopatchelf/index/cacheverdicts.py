"""The index cache's ``verdicts`` table: version-check verdicts, undefined-import sets and
optima (``autopatchelf.problem.verdicts``, :mod:`autopatchelf.sat.optimum`), kept under
digests of what they were judged on, and kept within a size.

A key never goes stale, but the keys of a store that changes (new builds, a CI checking
each day's binaries) keep coming: without a bound the table would only grow. Each row
records when it was saved; once the rows' bytes pass :data:`MAX_BYTES`, the oldest saved
are dropped until a quarter of that is free. A dropped verdict is only work to redo: the
next solve that needs it judges (or optimises) again and keeps the answer anew.

The bytes are counted as they are saved, in ``meta`` (an upper bound: a row another run
saved first is counted twice), and summed exactly only when that bound passes the limit.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Mapping

#: The most bytes (keys, kinds and values) the table keeps.
MAX_BYTES = 64 << 20
#: What is left after a drop, at most: the newest rows, up to this many bytes.
_KEEP_BYTES_NUMERATOR, _KEEP_BYTES_DENOMINATOR = 3, 4
#: The ``meta`` key of the counted bytes.
BYTES_KEY = "verdict_bytes"
#: When a row is saved (unix seconds; replaced in tests).
clock: Callable[[], float] = time.time

_ROW_BYTES = (
    "length(key) + coalesce(length(CAST(kind AS BLOB)), 0)"
    " + coalesce(length(CAST(what AS BLOB)), 0)"
)

#: A kept row's value: ``None`` (the pair is fine) or (kind, what).
Value = tuple[str, str] | None


def row_bytes(key: bytes, value: Value) -> int:
    """What one row counts for (as :data:`_ROW_BYTES` sums it)."""
    if value is None:
        return len(key)
    return len(key) + len(value[0].encode("utf-8")) + len(value[1].encode("utf-8"))


def save(conn: sqlite3.Connection, verdicts: Mapping[bytes, Value]) -> None:
    """Insert ``verdicts`` (storable ones: the caller filters), saved now, inside the
    caller's write transaction; then keep the table within :data:`MAX_BYTES`."""
    saved = int(clock())
    rows = [
        (key, None, None, saved) if value is None else (key, value[0], value[1], saved)
        for key, value in verdicts.items()
    ]
    conn.executemany("INSERT OR IGNORE INTO verdicts VALUES (?, ?, ?, ?)", rows)
    counted = counted_bytes(conn) + sum(row_bytes(k, v) for k, v in verdicts.items())
    if counted > MAX_BYTES:
        counted = _shrink(conn)
    _set_counted(conn, counted)


def counted_bytes(conn: sqlite3.Connection) -> int:
    """The bytes counted so far (at least what the table holds)."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (BYTES_KEY,)).fetchone()
    try:
        return max(0, int(row[0])) if row is not None else 0
    except ValueError:
        return MAX_BYTES + 1  # not a number we wrote: sum the table again


def stored_bytes(conn: sqlite3.Connection) -> int:
    """The bytes the table holds, summed."""
    (total,) = conn.execute(f"SELECT coalesce(sum({_ROW_BYTES}), 0) FROM verdicts").fetchone()
    return int(total)


def _shrink(conn: sqlite3.Connection) -> int:
    """If the table holds more than :data:`MAX_BYTES`, drop its oldest rows until the
    newest ones left hold at most three quarters of it; the bytes it then holds."""
    total = stored_bytes(conn)
    if total <= MAX_BYTES:
        return total
    keep = MAX_BYTES * _KEEP_BYTES_NUMERATOR // _KEEP_BYTES_DENOMINATOR
    conn.execute(
        "DELETE FROM verdicts WHERE key IN (SELECT key FROM ("
        f" SELECT key, sum({_ROW_BYTES}) OVER (ORDER BY saved DESC, key DESC) AS newer"
        " FROM verdicts) WHERE newer > ?)",
        (keep,),
    )
    return stored_bytes(conn)


def _set_counted(conn: sqlite3.Connection, counted: int) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (BYTES_KEY, str(counted))
    )
