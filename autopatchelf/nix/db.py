"""Nix's own database, opened read-only: valid paths, references and closures.

We never write to it: the connection uses ``mode=ro``, and waits (``timeout``) when Nix
holds a write lock. A locked, unreadable or foreign file becomes a
:class:`~autopatchelf.errors.StoreError`.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable

from autopatchelf.errors import StoreError
from autopatchelf.sqlite import connect_readonly, is_busy

DB_RELATIVE = os.path.join("db", "db.sqlite")

_CLOSURE_SQL = """
WITH RECURSIVE closure(id) AS (
    SELECT id FROM ValidPaths WHERE path IN ({roots})
    UNION
    SELECT Refs.reference FROM Refs JOIN closure ON Refs.referrer = closure.id
)
SELECT ValidPaths.path FROM ValidPaths JOIN closure ON ValidPaths.id = closure.id
"""

_REFERENCES_SQL = """
SELECT target.path FROM ValidPaths AS source
JOIN Refs ON Refs.referrer = source.id
JOIN ValidPaths AS target ON target.id = Refs.reference
WHERE source.path = ?
"""


_REFERENCES_AMONG_SQL = """
SELECT source.path, target.path FROM ValidPaths AS source
JOIN Refs ON Refs.referrer = source.id
JOIN ValidPaths AS target ON target.id = Refs.reference
WHERE source.path IN ({marks})
"""


class NixDatabase:
    """Read-only view of ``<state dir>/db/db.sqlite`` for the paths of ``store_dir``."""

    def __init__(self, db_path: str, store_dir: str, *, timeout: float = 10.0) -> None:
        self.db_path = db_path
        self.store_dir = store_dir
        self._prefix = store_dir.rstrip("/") + "/"
        if not os.path.exists(db_path):
            raise StoreError(
                f"Nix database {db_path} does not exist",
                hint="set NIX_STATE_DIR, or index the directory without Nix",
            )
        try:
            self._conn = connect_readonly(db_path, timeout=timeout)
            self._conn.execute("SELECT count(*) FROM ValidPaths WHERE id < 0").fetchone()
        except sqlite3.Error as exc:
            raise _db_error(db_path, exc) from exc

    def close(self) -> None:
        self._conn.close()

    def _query(self, sql: str, params: Iterable[object] = ()) -> list[tuple[object, ...]]:
        try:
            return self._conn.execute(sql, tuple(params)).fetchall()
        except sqlite3.Error as exc:
            raise _db_error(self.db_path, exc) from exc

    def _basename(self, path: object) -> str | None:
        text = str(path)
        if text.startswith(self._prefix) and "/" not in text[len(self._prefix) :]:
            return text[len(self._prefix) :]
        return None

    def valid_among(self, paths: Iterable[str]) -> set[str]:
        """Those of ``paths`` (full store paths) that are valid."""
        wanted = sorted(set(paths))
        valid: set[str] = set()
        for start in range(0, len(wanted), 500):
            batch = wanted[start : start + 500]
            marks = ",".join("?" * len(batch))
            rows = self._query(f"SELECT path FROM ValidPaths WHERE path IN ({marks})", batch)
            valid.update(str(path) for (path,) in rows)
        return valid

    def valid_paths(self) -> dict[str, str]:
        """Basename -> registration stamp of every valid path in our store dir."""
        rows = self._query("SELECT path, registrationTime FROM ValidPaths")
        result: dict[str, str] = {}
        for path, registered in rows:
            base = self._basename(path)
            if base is not None:
                result[base] = f"reg:{registered}"
        return result

    def references(self, basename: str) -> frozenset[str]:
        rows = self._query(_REFERENCES_SQL, (self._prefix + basename,))
        return frozenset(b for (path,) in rows if (b := self._basename(path)) is not None)

    def references_among(self, basenames: Iterable[str]) -> dict[str, frozenset[str]]:
        """The direct references of each of ``basenames`` (500 a query)."""
        wanted = sorted({self._prefix + b for b in basenames})
        edges: dict[str, set[str]] = {}
        for start in range(0, len(wanted), 500):
            batch = wanted[start : start + 500]
            rows = self._query(
                _REFERENCES_AMONG_SQL.format(marks=",".join("?" * len(batch))), batch
            )
            for source, target in rows:
                referrer, reference = self._basename(source), self._basename(target)
                if referrer is not None and reference is not None:
                    edges.setdefault(referrer, set()).add(reference)
        found = {self._basename(path) for path in wanted}
        return {b: frozenset(edges.get(b, ())) for b in found if b is not None}

    def closure(self, basenames: Iterable[str]) -> frozenset[str]:
        roots = [self._prefix + b for b in basenames]
        if not roots:
            return frozenset()
        sql = _CLOSURE_SQL.format(roots=",".join("?" * len(roots)))
        rows = self._query(sql, roots)
        return frozenset(b for (path,) in rows if (b := self._basename(path)) is not None)


def _db_error(db_path: str, exc: sqlite3.Error) -> StoreError:
    message = str(exc)
    if is_busy(exc):
        return StoreError(
            f"Nix database {db_path} is locked ({message})",
            hint="retry when the running Nix operation has finished",
        )
    return StoreError(
        f"cannot read Nix database {db_path}: {message}",
        hint="check its permissions, or use the nix-store command (--nix cli)",
    )
