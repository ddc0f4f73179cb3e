"""What several commands share beyond the solve flags: the lock policy's flags and the
notes it prints, ``--interactive`` tie breaking, ``--gc-root``."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import attrs

from autopatchelf.errors import LockUsageError, UsageError

if TYPE_CHECKING:
    from autopatchelf import Solution
    from autopatchelf.actions.locks.applocking import AppLockOutcome
    from autopatchelf.actions.locks.locking import LockOutcome
    from autopatchelf.options import SolveOptions


def add_interactive_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--interactive",
        action="store_true",
        help="on a terminal, ask which provider to use where several are equally good "
        "(each answer is pinned and the set solved again); never prompts otherwise",
    )


def ask_about_ties(
    args: argparse.Namespace,
    solution: Solution,
    resolve: Callable[[Sequence[str]], Solution],
) -> tuple[Solution, list[str]]:
    """``--interactive``: let the user break ties; returns the solution and the pins.
    ``resolve(prefer)`` solves again with those ``--prefer`` patterns."""
    pins: list[str] = []
    if not (args.interactive and solution.alternatives):
        return solution, pins
    from autopatchelf.cli._interactive import can_prompt, choose  # only for --interactive

    if not can_prompt():
        return solution, pins

    def pinned(extra: Sequence[str]) -> Solution:
        pins[:] = list(extra)
        return resolve([*args.prefer, *extra])

    return choose(solution, pinned), pins


def add_lock_options(parser: argparse.ArgumentParser) -> None:
    """``--lock``, ``--frozen`` and ``--gc-root`` (solve, run, patch)."""
    group = parser.add_argument_group("lock file and GC roots")
    group.add_argument(
        "--lock",
        metavar="FILE",
        help="use FILE's choices when it is still valid (nothing is solved), else solve "
        "preferring them and (re)write FILE; convention: BINARY.autopatchelf.lock",
    )
    group.add_argument(
        "--frozen",
        action="store_true",
        help="fail (exit 2) instead of re-solving when the lock is missing or stale",
    )
    group.add_argument(
        "--gc-root",
        metavar="DIR",
        help="register every chosen store path as an indirect GC root in DIR",
    )


def refuse_no_realise(args: argparse.Namespace, *uses: tuple[bool, str]) -> None:
    """``--no-realise`` leaves chosen store paths out of the store: refuse it where that
    cannot work (each of ``uses``: whether it applies, and what would break)."""
    if getattr(args, "realise", True):
        return
    for applies, what in uses:
        if applies:
            raise UsageError(
                f"--no-realise with {what}: the chosen store paths would not be in the store",
                hint="leave out --no-realise (or use it with solve alone, to see what would "
                "be downloaded)",
            )


def check_lock_target(path: str | None) -> None:
    """``--lock FILE`` is an output: its directory must exist (nothing is created)."""
    if path is None:
        return
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise LockUsageError(
            f"--lock {path}: {directory} is not a directory",
            hint="create it first, or name a lock in an existing directory",
        )


def locked_outcome(
    args: argparse.Namespace,
    binary: str,
    options: SolveOptions,
    *,
    beside: bool = False,
    cache: bool = False,
) -> LockOutcome:
    """The lock policy for ``binary`` (``--lock``/``--frozen``; the shipped and cached
    locks with ``beside``/``cache``; a lock made for another ``options.delivery`` is
    stale); its notes go to stderr."""
    from autopatchelf.actions.locks.locking import obtain
    from autopatchelf.progress import TerminalProgress

    check_lock_target(args.lock)
    outcome = obtain(
        binary,
        options,
        lock_file=args.lock,
        frozen=args.frozen,
        beside=beside,
        cache=cache,
        progress=TerminalProgress(sys.stderr),
    )
    _say_notes(args, outcome.notes, outcome.fresh)
    if outcome.source == "re-solved":
        print(
            f"autopatchelf: re-solved; lock rewritten: {', '.join(outcome.written)}",
            file=sys.stderr,
        )
    elif outcome.source == "solved" and args.lock:
        print(f"autopatchelf: lock written: {args.lock}", file=sys.stderr)
    return outcome


def locked_app_outcome(
    args: argparse.Namespace, app_root: str, options: SolveOptions
) -> AppLockOutcome:
    """The lock policy for the app tree ``app_root`` (``--lock FILE`` naming a directory
    to solve or patch as one app); its notes go to stderr."""
    from autopatchelf.actions.locks.applocking import obtain_app
    from autopatchelf.progress import TerminalProgress

    check_lock_target(args.lock)
    outcome = obtain_app(
        app_root,
        options,
        lock_file=args.lock,
        frozen=args.frozen,
        progress=TerminalProgress(sys.stderr),
    )
    _say_notes(args, outcome.notes, outcome.fresh)
    if outcome.fresh is not None:
        what = "re-solved; lock rewritten" if outcome.source == "re-solved" else "lock written"
        print(
            f"autopatchelf: {what}: {args.lock} ({len(outcome.lock.binaries)} binaries)",
            file=sys.stderr,
        )
    return outcome


def _say_notes(args: argparse.Namespace, notes: Sequence[str], fresh: Solution | None) -> None:
    """A lock policy's notes on stderr, and what a fresh solve downloaded."""
    for note in notes:
        print(f"autopatchelf: {note}", file=sys.stderr)
    if fresh is not None:
        say_downloads(args, fresh)


def say_downloads(args: argparse.Namespace, solution: Solution) -> None:
    """One stderr line on what the solution downloaded (or, unrealised, would download)."""
    from autopatchelf.actions.report import mebibytes

    if not solution.downloads:
        return
    size = mebibytes(solution.download_bytes)
    if not solution.realised:
        print(
            f"autopatchelf: would download {len(solution.downloads)} store paths ({size}) "
            "from binary caches",
            file=sys.stderr,
        )
        return
    keep = "" if args.gc_root else "; --gc-root DIR keeps them from the garbage collector"
    print(
        f"autopatchelf: downloaded {len(solution.downloads)} store paths ({size}) from "
        f"binary caches{keep}",
        file=sys.stderr,
    )


def solution_link_dir(args: argparse.Namespace, solution: Solution) -> str | None:
    """The directory of links a solution needs for library-path delivery (``--link-dir``,
    made now), or None when its library path serves it; refused without ``--link-dir``."""
    if not solution.needs_link_dir:
        return None
    if not args.link_dir:
        raise UsageError(
            "no library-path order serves every chosen file", hint="pass --link-dir DIR"
        )
    from autopatchelf.actions.linkdir import write_link_dir

    return write_link_dir(solution, args.link_dir)


def register_gc_roots(args: argparse.Namespace, solution: Solution) -> None:
    """``--gc-root DIR``: root ``solution``'s store paths in DIR; a summary on stderr."""
    from autopatchelf.actions.gcroots import add_gc_roots

    result = add_gc_roots(solution.store_paths, args.gc_root)
    if result.added:
        print(
            f"autopatchelf: {len(result.added)} GC roots added in {result.directory} "
            f"({len(result.present)} already there)",
            file=sys.stderr,
        )


def with_prefer(options: SolveOptions, prefer: Sequence[str]) -> SolveOptions:
    return attrs.evolve(options, prefer=tuple(prefer))
