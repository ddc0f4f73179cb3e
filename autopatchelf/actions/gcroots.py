"""Indirect GC roots: keep the store paths a solution uses out of ``nix-store --gc``'s reach.

For every store path, ``DIR/<store path name>`` becomes a symlink to it, registered as an
indirect root the way Nix does it (``nix-store --add-root DIR/<name> --indirect --realise
<path>``: Nix links ``<state>/gcroots/auto/<hash of the link's path>`` to the link). Delete
the link (or ``DIR``) and the path becomes collectable again. A path that is not valid is
realised first (substituted, when Nix can), else reported.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterable

import attrs

from autopatchelf.errors import GcRootError
from autopatchelf.frozen import Record
from autopatchelf.nix.dirs import nix_state_dir, nix_store_dir
from autopatchelf.store import nixbase32


@attrs.frozen(repr=False)
class GcRoot(Record):
    #: The symlink in the roots directory.
    link: str
    #: The store path it keeps alive.
    target: str


@attrs.frozen(repr=False)
class GcRootsResult(Record):
    directory: str
    #: Roots registered by this call.
    added: tuple[GcRoot, ...]
    #: Roots that were already registered (nothing run for them).
    present: tuple[GcRoot, ...]

    @property
    def roots(self) -> tuple[GcRoot, ...]:
        return tuple(sorted(self.added + self.present, key=lambda r: r.link))


def root_link(directory: str, store_path: str) -> str:
    """The link that roots ``store_path`` in ``directory``: named like the store path."""
    return os.path.join(os.path.abspath(directory), os.path.basename(store_path.rstrip("/")))


def auto_root(link: str, state_dir: str | None = None) -> str:
    """Where Nix registers the indirect root ``link``: ``<state>/gcroots/auto/<hash>``."""
    state = os.path.normpath(state_dir or nix_state_dir())
    name = nixbase32.encode(hashlib.sha1(link.encode("utf-8", "surrogateescape")).digest())
    return os.path.join(state, "gcroots", "auto", name)


def is_registered(link: str, target: str, state_dir: str | None = None) -> bool:
    """Is ``link`` a symlink to ``target`` that Nix knows as an indirect root?"""
    try:
        return os.readlink(link) == target and os.readlink(auto_root(link, state_dir)) == link
    except OSError:
        return False


def add_gc_roots(
    store_paths: Iterable[str],
    directory: str,
    *,
    realise: bool = True,
    executable: str = "nix-store",
) -> GcRootsResult:
    """Register every one of ``store_paths`` as an indirect GC root in ``directory``.

    Roots already registered are left alone (so a second call runs nothing). Raises
    :class:`GcRootError` when Nix is missing, a path lies outside the Nix store, or a path
    is not valid and cannot be realised (with ``realise=False``: is not valid); the roots
    of the other paths are registered all the same.
    """
    directory = os.path.abspath(directory)
    _check_roots_directory(directory)
    paths = sorted(set(store_paths))
    present = tuple(
        GcRoot(root_link(directory, p), p)
        for p in paths
        if is_registered(root_link(directory, p), p) and os.path.exists(p)
    )
    todo = [p for p in paths if p not in {r.target for r in present}]
    if not todo:
        return GcRootsResult(directory, (), present)
    nix_store = shutil.which(executable)
    if nix_store is None:
        raise GcRootError(
            f"{executable} not found on PATH: cannot register GC roots",
            hint="GC roots need Nix; drop --gc-root on a machine without it",
        )
    store_dir = nix_store_dir()
    outside = [p for p in todo if os.path.dirname(p) != store_dir]
    if outside:
        raise GcRootError(
            f"{outside[0]} is not a path of the Nix store {store_dir}",
            hint="GC roots protect Nix store paths only",
        )
    from autopatchelf.actions.locks.storecheck import invalid_store_paths

    invalid = invalid_store_paths(todo)
    failures: list[str] = []
    if invalid and not realise:
        failures.extend(f"{path} {reason}" for path, reason in invalid.items())
        todo = [p for p in todo if p not in invalid]
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as exc:
        raise GcRootError(f"cannot create {directory}: {exc.strerror or exc}") from exc
    added: list[GcRoot] = []
    for path in todo:
        link = root_link(directory, path)
        error = _add_root(nix_store, link, path)
        if error is None:
            added.append(GcRoot(link, path))
        else:
            state = "is not valid and could not be realised" if path in invalid else "failed"
            failures.append(f"{path} {state}: {error}")
    if failures:
        more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
        raise GcRootError(
            f"{len(paths) - len(failures)} of {len(paths)} GC roots registered in "
            f"{directory}; {failures[0]}{more}",
            hint="build or fetch the missing paths (nix-store --realise), or re-solve",
        )
    return GcRootsResult(directory, tuple(added), present)


def _check_roots_directory(directory: str) -> None:
    """Refuse, before anything is created, a roots directory in the store (Nix would refuse
    it after we made it there) or one whose parent does not exist (a typo would make a
    whole tree of directories)."""
    store = os.path.realpath(nix_store_dir())
    real = os.path.realpath(directory)
    if real == store or real.startswith(store + "/"):
        raise GcRootError(
            f"{directory} is inside the Nix store {store}", hint="name a directory outside it"
        )
    parent = os.path.dirname(directory)
    if not os.path.isdir(parent):
        raise GcRootError(
            f"cannot make {directory}: {parent} is not a directory",
            hint="create the parent first, or name an existing directory",
        )
    if os.path.lexists(directory) and not os.path.isdir(directory):
        raise GcRootError(f"{directory} exists and is not a directory")


def _add_root(nix_store: str, link: str, path: str) -> str | None:
    """Register one root; the last line of Nix's complaint on failure, else None."""
    argv = [nix_store, "--add-root", link, "--indirect", "--realise", path]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
    except OSError as exc:
        return f"cannot run {nix_store}: {exc.strerror or exc}"
    if done.returncode == 0:
        return None
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    return lines[-1].strip() if lines else f"exit status {done.returncode}"
