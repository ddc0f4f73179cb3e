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
from autopatchelf.nix.dirs import nix_state_dir, nix_store_dir

#: Reasons, as they complete "store path X ...".
MISSING = "does not exist (garbage-collected?)"
INVALID = "exists but is not a valid Nix store path (half-deleted or never registered)"


def invalid_store_paths(paths: Iterable[str]) -> dict[str, str]:
    """path -> reason, for each of ``paths`` that cannot be trusted; sorted by path."""
    wanted = sorted(set(paths))
    problems = {p: MISSING for p in wanted if not os.path.lexists(p)}
    store_dir, state_dir = nix_store_dir(), nix_state_dir()
    managed = [p for p in wanted if p not in problems and _in_store(p, store_dir)]
    if managed:
        valid = _valid_in_db(managed, state_dir, store_dir)
        if valid is None:
            valid = _valid_by_command(managed, store_dir)
        if valid is not None:
            problems.update({p: INVALID for p in managed if p not in valid})
    return dict(sorted(problems.items()))


def _in_store(path: str, store_dir: str) -> bool:
    rest = path[len(store_dir) + 1 :] if path.startswith(store_dir + "/") else ""
    return bool(rest) and "/" not in rest


def _valid_in_db(paths: list[str], state_dir: str, store_dir: str) -> set[str] | None:
    """The valid ones among ``paths`` per Nix's database, or None when it cannot be read."""
    from autopatchelf.nix.db import DB_RELATIVE, NixDatabase

    db = os.path.join(state_dir, DB_RELATIVE)
    if not os.access(db, os.R_OK):
        return None
    try:
        database = NixDatabase(db, store_dir, timeout=5.0)
    except StoreError:
        return None
    try:
        return database.valid_among(paths)
    except StoreError:
        return None
    finally:
        database.close()


def _valid_by_command(paths: list[str], store_dir: str) -> set[str] | None:
    """The valid ones per ``nix-store --check-validity``, or None without ``nix-store``."""
    if shutil.which("nix-store") is None:
        return None
    from autopatchelf.nix.cli import NixStoreCommand

    try:
        command = NixStoreCommand(store_dir)
        invalid = command.invalid(os.path.basename(p) for p in paths)
    except StoreError:
        return None
    return {p for p in paths if os.path.basename(p) not in invalid}
