"""Are these store paths still there, and does Nix still consider them valid?

Cheap enough for every ``autopatchelf run``: a ``lstat`` per path, then one query of Nix's
database opened read-only for the paths of the store Nix manages (``nix-store
--check-validity`` when the database cannot be read; existence only without Nix).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable

from autopatchelf.errors import StoreError

#: Reasons, as they complete "store path X ...".
MISSING = "does not exist (garbage-collected?)"
INVALID = "exists but is not a valid Nix store path (half-deleted or never registered)"

#: Characters a file name must not hold as such in an SQLite URI.
_URI_ESCAPES = {"%": "%25", "?": "%3f", "#": "%23"}


def invalid_store_paths(paths: Iterable[str]) -> dict[str, str]:
    """path -> reason, for each of ``paths`` that cannot be trusted; sorted by path."""
    wanted = sorted(set(paths))
    problems = {p: MISSING for p in wanted if not os.path.lexists(p)}
    store_dir, state_dir = _nix_dirs()
    managed = [p for p in wanted if p not in problems and _in_store(p, store_dir)]
    if managed:
        valid = _valid_in_db(managed, state_dir)
        if valid is None:
            valid = _valid_by_command(managed, store_dir)
        if valid is not None:
            problems.update({p: INVALID for p in managed if p not in valid})
    return dict(sorted(problems.items()))


def _nix_dirs() -> tuple[str, str]:
    store = os.path.normpath(os.environ.get("NIX_STORE_DIR") or "/nix/store")
    state = os.path.normpath(os.environ.get("NIX_STATE_DIR") or "/nix/var/nix")
    return store, state


def _in_store(path: str, store_dir: str) -> bool:
    rest = path[len(store_dir) + 1 :] if path.startswith(store_dir + "/") else ""
    return bool(rest) and "/" not in rest


def _valid_in_db(paths: list[str], state_dir: str) -> set[str] | None:
    """The valid ones among ``paths`` per Nix's database, or None when it cannot be read."""
    db = os.path.join(state_dir, "db", "db.sqlite")
    if not os.access(db, os.R_OK):
        return None
    import sqlite3

    uri = "file:" + "".join(_URI_ESCAPES.get(c, c) for c in os.path.abspath(db)) + "?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=5.0)
    except sqlite3.Error:
        return None
    try:
        valid: set[str] = set()
        for start in range(0, len(paths), 500):
            batch = paths[start : start + 500]
            marks = ",".join("?" * len(batch))
            rows = conn.execute(f"SELECT path FROM ValidPaths WHERE path IN ({marks})", batch)
            valid.update(str(path) for (path,) in rows)
        return valid
    except sqlite3.Error:
        return None
    finally:
        conn.close()


def _valid_by_command(paths: list[str], store_dir: str) -> set[str] | None:
    """The valid ones per ``nix-store --check-validity``, or None without ``nix-store``."""
    if shutil.which("nix-store") is None:
        return None
    from autopatchelf.store.nixcli import NixStoreCommand

    try:
        command = NixStoreCommand(store_dir)
        invalid = command.invalid(os.path.basename(p) for p in paths)
    except StoreError:
        return None
    return {p for p in paths if os.path.basename(p) not in invalid}
