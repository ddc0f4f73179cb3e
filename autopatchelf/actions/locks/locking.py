"""Get a trusted lock for a binary: reuse a valid one, or solve (preferring the old choices).

The one policy ``solve --lock``, ``run`` and ``patch`` share:

1. Look for a lock: the file given, else (when asked) the one shipped beside the binary
   (``<binary>.autopatchelf.lock``) and the cached one (``<cache>/locks/<sha256>.json``).
2. The first one that reads and verifies (:func:`~autopatchelf.actions.locks.lock.verify`) is
   used as is: nothing is indexed or solved.
3. Otherwise (no lock, or every one stale or malformed): with ``frozen``,
   :class:`~autopatchelf.actions.locks.lock.StaleLockError`; else solve, preferring the locked
   choices of the stale lock, and write the new lock where the old one was (and the cache).

An app tree's lock (``autopatchelf.lock/2``, :mod:`~autopatchelf.actions.locks.applock`)
serves any one binary of the tree through :func:`obtain` (only that binary's entry is
verified; when it is stale, the tree is re-solved and the lock rewritten); the policy for
the whole tree is :func:`~autopatchelf.actions.locks.applocking.obtain_app`.

Nothing is printed: what happened comes back as :attr:`LockOutcome.notes`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from typing import TYPE_CHECKING, Literal

import attrs

from autopatchelf.actions.locks.hashing import known_sha256
from autopatchelf.actions.locks.locations import beside_path, cached_path, verified_path
from autopatchelf.actions.locks.lock import LOCK_DOCUMENT, Lock, under_any
from autopatchelf.actions.locks.lockfile import read_lock, write_lock
from autopatchelf.actions.locks.verify import describe_problems, verify, verify_claims
from autopatchelf.errors import ElfError, LockFileError, NothingToSolve, StaleLockError
from autopatchelf.frozen import Record
from autopatchelf.nix.dirs import nix_store_dir
from autopatchelf.options import NeedOrigin, SolveOptions

if TYPE_CHECKING:
    from autopatchelf.actions.locks.applock import AppLock
    from autopatchelf.progress import Progress
    from autopatchelf.solution.model import Solution

Source = Literal["lock", "solved", "re-solved"]


@attrs.frozen(repr=False)
class LockOutcome(Record):
    """What :func:`obtain` found or did for one binary."""

    binary: str
    lock: Lock
    #: ``lock``: a valid lock was used (nothing solved); ``solved``: there was none;
    #: ``re-solved``: there was one, but stale or malformed (see ``notes``).
    source: Source
    #: The lock file used (``lock``), or the stale one replaced (``re-solved``).
    lock_file: str | None
    #: Lock files written.
    written: tuple[str, ...]
    #: One line each, for the user: why a lock was not used, which write failed.
    notes: tuple[str, ...]
    #: The fresh solution (``solved``/``re-solved``); None when it came from the lock.
    fresh: Solution | None = attrs.field(default=None, eq=False)

    @property
    def solution(self) -> Solution:
        """The solution to act on (rebuilt from the lock when nothing was solved)."""
        return self.fresh if self.fresh is not None else self.lock.to_solution(self.binary)


def obtain(
    binary: str,
    options: SolveOptions | None = None,
    *,
    lock_file: str | None = None,
    frozen: bool = False,
    beside: bool = False,
    cache: bool = False,
    progress: Progress | None = None,
) -> LockOutcome:
    """A trusted lock for ``binary`` (see the module docstring for the policy).

    ``lock_file``: the lock to use and (re)write; without it, ``beside`` looks for the
    shipped lock and ``cache`` for the cached one (and writes it). ``options`` are what
    :func:`autopatchelf.solve` gets (their ``cache_dir`` holds the lock cache too); their
    ``delivery`` (``library-path`` for ``run``, ``runpath`` for ``patch``) is the one the
    caller needs: a lock made for another delivery is stale. ``progress`` sees a solve's
    downloads, if it solves.

    Raises ``Unsatisfiable`` when solving finds no answer, :class:`StaleLockError` with
    ``frozen`` when no valid lock exists, :class:`LockFileError` when ``lock_file`` cannot
    be written.
    """
    options = options or SolveOptions()
    binary = os.path.abspath(binary)
    lock_file = os.path.abspath(lock_file) if lock_file is not None else None
    try:
        sha256 = known_sha256(binary, options.cache_dir)
    except OSError as exc:
        raise ElfError(binary, f"cannot be read: {exc.strerror or exc}") from exc
    cached = cached_path(sha256, options.cache_dir) if cache else None
    candidates = _places(binary, lock_file, beside, cached)
    notes: list[str] = []
    stale: tuple[str, Lock] | None = None
    stale_app: tuple[str, AppLock] | None = None
    for path in candidates:
        try:
            found = read_lock(path)
        except LockFileError as exc:
            if os.path.exists(path):  # a missing one is simply not there yet
                notes.append(f"{exc.reason}; ignoring it")
            continue
        if not isinstance(found, Lock):  # an app tree's lock
            app_root = found.app_root(path)
            entry = found.entry(binary, app_root)
            if entry is None:
                if not under_any(os.path.realpath(binary), (os.path.realpath(app_root),)):
                    raise LockFileError(
                        path, f"is the lock of the app tree {app_root}; {binary} is not in it"
                    )
                notes.append(f"lock {path} is stale: it has no entry for {binary}")
                stale_app = stale_app or (path, found)
                continue
            lock = found.binary_lock(entry)
        else:
            lock = found
        problems = verify(
            lock, binary, sha256=sha256, delivery=options.delivery, stores=stores_of(options)
        )
        problems.extend(unlocked_dlopen(lock, options))
        if not problems and not trusted(lock, options):
            problems = verify_claims(lock)
            if not problems:
                remember(lock, options)
        if not problems:
            return LockOutcome(binary, lock, "lock", path, (), tuple(notes))
        notes.append(f"lock {path} is stale: {describe_problems(problems)}")
        if not isinstance(found, Lock):
            stale_app = stale_app or (path, found)
        else:
            stale = stale or (path, lock)
    if frozen:
        reason = notes[-1] if notes else "no lock found (looked in: " + ", ".join(candidates) + ")"
        raise StaleLockError(binary, reason)
    if stale_app is not None:
        return _for_binary(binary, stale_app, options, notes, progress)

    from autopatchelf._api import solve

    if stale is not None:
        # Re-solving keeps the old choices where they still hold, and what a trace found.
        seen = [lib.name for lib in stale[1].libraries if lib.via is NeedOrigin.TRACE]
        options = attrs.evolve(
            options,
            locked=stale[1].locked_choices(binary),
            traced=tuple(dict.fromkeys([*options.traced, *seen])),
        )
    solution = solve([binary], options, progress=progress)
    if binary in solution.nothing_to_solve:
        why = solution.nothing_to_solve[binary]
        raise NothingToSolve(binary, why, loadable=why.startswith("statically"))
    lock = Lock.from_solution(solution, binary)
    remember(lock, options)  # made here: its claims are the solver's own
    written: list[str] = []
    for target in _targets(lock_file, stale, cached):
        try:
            written.append(write_lock(lock, target, make_dirs=target == cached))
        except LockFileError as exc:
            if target == lock_file:
                raise
            notes.append(f"{exc.reason}; not saved there")
    return LockOutcome(
        binary,
        lock,
        "re-solved" if stale else "solved",
        stale[0] if stale else None,
        tuple(written),
        tuple(notes),
        solution,
    )


def _for_binary(
    binary: str,
    stale: tuple[str, AppLock],
    options: SolveOptions,
    notes: list[str],
    progress: Progress | None,
) -> LockOutcome:
    """A binary of a stale app lock: the tree re-solved, the lock rewritten, the binary's
    part of it returned."""
    from autopatchelf.actions.locks.applocking import obtain_app

    path, old = stale
    app_root = os.path.realpath(old.app_root(path))
    outcome = obtain_app(app_root, options, lock_file=path, progress=progress)
    entry = outcome.lock.entry(binary, app_root)
    if entry is None:
        raise LockFileError(
            path,
            f"the app tree {app_root} was solved again, but {binary} is not one of its binaries",
        )
    return LockOutcome(
        binary,
        outcome.lock.binary_lock(entry),
        outcome.source,
        path,
        outcome.written,
        (*notes, *outcome.notes),
        outcome.fresh,
    )


def stores_of(options: SolveOptions) -> tuple[str, ...]:
    """The stores a lock's store paths may be in: Nix's own, and the one solved against."""
    stores = [nix_store_dir()]
    if options.store is not None:
        stores.append(os.path.normpath(os.path.abspath(options.store)))
    return tuple(dict.fromkeys(stores))


def _lock_digest(lock: Lock) -> str:
    return hashlib.sha256(LOCK_DOCUMENT.dumps(lock).encode("utf-8")).hexdigest()


def trusted(lock: Lock, options: SolveOptions) -> bool:
    """Whether this very lock passed the deep check before (or was written here)."""
    return os.path.exists(verified_path(_lock_digest(lock), options.cache_dir))


def remember(lock: Lock, options: SolveOptions) -> None:
    """Note that this lock's claims hold (best effort: an unwritable cache only means the
    deep check runs again next time)."""
    marker = verified_path(_lock_digest(lock), options.cache_dir)
    with contextlib.suppress(OSError):
        os.makedirs(os.path.dirname(marker), exist_ok=True)
        with open(marker, "w", encoding="ascii") as stream:
            stream.write("verified\n")


def lock_places(
    binary: str,
    options: SolveOptions | None = None,
    *,
    lock_file: str | None = None,
    beside: bool = False,
    cache: bool = False,
) -> tuple[str, ...]:
    """Where :func:`obtain` looks for ``binary``'s lock (same arguments), in order,
    whether or not a file is there yet."""
    options = options or SolveOptions()
    binary = os.path.abspath(binary)
    cached = None
    if cache and lock_file is None:
        cached = cached_path(known_sha256(binary, options.cache_dir), options.cache_dir)
    lock_file = os.path.abspath(lock_file) if lock_file is not None else None
    return tuple(_places(binary, lock_file, beside, cached))


def _places(binary: str, lock_file: str | None, beside: bool, cached: str | None) -> list[str]:
    if lock_file is not None:
        return [lock_file]
    return [*([beside_path(binary)] if beside else []), *([cached] if cached else [])]


def _targets(
    lock_file: str | None, stale: tuple[str, Lock] | None, cached: str | None
) -> list[str]:
    """Where a new lock goes: the given file, else where the stale one was, and the cache."""
    targets: list[str] = []
    if lock_file is not None:
        targets.append(lock_file)
    elif stale is not None:
        targets.append(stale[0])
    if cached is not None and cached not in targets:
        targets.append(cached)
    return targets


def unlocked_dlopen(lock: Lock, options: SolveOptions) -> list[str]:
    """``--dlopen`` names the lock does not load: a lock made without them is stale."""
    loaded = {lib.name for lib in lock.libraries}
    return [f"it does not load --dlopen {name}" for name in options.dlopen if name not in loaded]
