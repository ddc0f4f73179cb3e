"""The lock policy of an app tree (``solve DIR --lock``, ``patch --lock DIR``): the lock is
used when it lists exactly the tree's binaries and every entry verifies as that binary's own
lock would (:mod:`~autopatchelf.actions.locks.locking`); otherwise the tree is solved as one
app, preferring the old choices, and the lock rewritten.

Kept apart from :mod:`~autopatchelf.actions.locks.locking` so that ``run`` of one binary
(its fast path) does not build these classes.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import attrs

from autopatchelf.actions.locks.applock import AppLock
from autopatchelf.actions.locks.hashing import known_sha256
from autopatchelf.actions.locks.lock import Lock
from autopatchelf.actions.locks.lockfile import read_lock, write_lock
from autopatchelf.actions.locks.locking import (
    Source,
    remember,
    stores_of,
    trusted,
    unlocked_dlopen,
)
from autopatchelf.actions.locks.verify import describe_problems, verify, verify_claims
from autopatchelf.errors import LockFileError, StaleLockError
from autopatchelf.frozen import Record
from autopatchelf.options import NeedOrigin, SolveOptions

if TYPE_CHECKING:
    from autopatchelf.progress import Progress
    from autopatchelf.solution.model import Solution


@attrs.frozen(repr=False)
class AppLockOutcome(Record):
    """What :func:`obtain_app` found or did for an app tree."""

    app_root: str
    lock: AppLock
    source: Source
    lock_file: str
    written: tuple[str, ...]
    notes: tuple[str, ...]
    fresh: Solution | None = attrs.field(default=None, eq=False)

    @property
    def solution(self) -> Solution:
        """The solution to act on, every binary of the tree a root."""
        return self.fresh if self.fresh is not None else self.lock.to_solution(self.app_root)


def obtain_app(
    app_root: str,
    options: SolveOptions | None = None,
    *,
    lock_file: str,
    frozen: bool = False,
    progress: Progress | None = None,
) -> AppLockOutcome:
    """A trusted lock for the app tree at ``app_root``, in ``lock_file``.

    The lock there is used when it is an app lock of this tree listing exactly the
    binaries the tree holds now (the dynamically linked programs and libraries ``patch``
    would take), each of which verifies as its own lock would. Otherwise (or with none)
    the tree is solved as one, preferring the old choices, and the lock written; with
    ``frozen`` that is a :class:`StaleLockError` instead.
    """
    from autopatchelf.actions.patching.targets import find_targets

    options = options or SolveOptions()
    app_root = os.path.realpath(app_root)
    lock_file = os.path.abspath(lock_file)
    binaries = find_targets([app_root], store_dir=options.store).roots
    notes: list[str] = []
    old: AppLock | None = None
    try:
        found = read_lock(lock_file)
    except LockFileError as exc:
        found = None
        if os.path.exists(lock_file):
            notes.append(f"{exc.reason}; ignoring it")
    if isinstance(found, Lock):
        notes.append(f"lock {lock_file} is the lock of one binary ({found.binary}), not of a tree")
    elif found is not None:
        problems = _app_problems(found, lock_file, app_root, binaries, options)
        if not problems:
            return AppLockOutcome(app_root, found, "lock", lock_file, (), tuple(notes))
        notes.append(f"lock {lock_file} is stale: {describe_problems(problems)}")
        old = found
    if frozen:
        raise StaleLockError(app_root, notes[-1] if notes else f"no lock at {lock_file}")
    solution, lock = _solve_app(app_root, binaries, lock_file, old, options, progress)
    write_lock(lock, lock_file, make_dirs=False)
    source: Source = "re-solved" if old is not None else "solved"
    return AppLockOutcome(app_root, lock, source, lock_file, (lock_file,), tuple(notes), solution)


def _app_problems(
    lock: AppLock,
    lock_file: str,
    app_root: str,
    binaries: tuple[str, ...],
    options: SolveOptions,
) -> list[str]:
    locked_root = os.path.realpath(lock.app_root(lock_file))
    if locked_root != app_root:
        return [f"it is the lock of {locked_root}"]
    listed = {os.path.join(app_root, entry.path) for entry in lock.binaries}
    problems = [
        f"{os.path.relpath(path, app_root)} is new in the tree"
        for path in binaries
        if path not in listed
    ]
    problems.extend(
        f"{os.path.relpath(path, app_root)} is gone from the tree"
        for path in sorted(listed - set(binaries))
    )
    if problems:
        return problems
    for entry in lock.binaries:
        binary = os.path.join(app_root, entry.path)
        view = lock.binary_lock(entry)
        found = verify(
            view,
            binary,
            sha256=known_sha256(binary, options.cache_dir),
            delivery=options.delivery,
            stores=stores_of(options),
        )
        found.extend(unlocked_dlopen(view, options))
        if not found and not trusted(view, options):
            found = verify_claims(view)
            if not found:
                remember(view, options)
        problems.extend(f"{entry.path}: {problem}" for problem in found)
    return problems


def _solve_app(
    app_root: str,
    binaries: tuple[str, ...],
    lock_file: str,
    old: AppLock | None,
    options: SolveOptions,
    progress: Progress | None,
) -> tuple[Solution, AppLock]:
    """Solve the tree as one (preferring ``old``'s choices); its new lock."""
    from autopatchelf._api import solve

    if old is not None:
        seen = [
            lib.name for entry in old.binaries for lib in entry.libraries
            if lib.via is NeedOrigin.TRACE
        ]  # fmt: skip
        options = attrs.evolve(
            options,
            locked=old.locked_choices(app_root),
            traced=tuple(dict.fromkeys([*options.traced, *seen])),
        )
    solution = solve(list(binaries), options, progress=progress)
    lock = AppLock.from_solution(solution, app_root, lock_file)
    for entry in lock.binaries:
        remember(lock.binary_lock(entry), options)  # made here: the solver's own claims
    return solution, lock
