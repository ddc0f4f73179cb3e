"""``autopatchelf solve FILE...``: choose providers and print them (text, json or env)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from autopatchelf.cli._options import add_store_options
from autopatchelf.errors import ExitCode

if TYPE_CHECKING:
    from autopatchelf.actions.locks.locking import LockOutcome
    from autopatchelf.solution.model import Solution


def add_solve_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by every command that solves (solve, patch, run, check)."""
    group = parser.add_argument_group("solving")
    add_store_options(group)
    group.add_argument(
        "--glibc",
        choices=["strict", "compatible"],
        default="strict",
        help="strict: every chosen closure uses the one glibc (default); compatible: "
        "closures may use another glibc if the loaded one has every version they need",
    )
    group.add_argument(
        "--prefer", metavar="NAME_OR_PATH", action="append", default=[], help="prefer these"
    )
    group.add_argument(
        "--avoid", metavar="NAME_OR_PATH", action="append", default=[], help="avoid these"
    )
    group.add_argument(
        "--system",
        metavar="PATH",
        action="append",
        default=None,
        help="prefer providers already in PATH's closure (default: /run/current-system)",
    )
    group.add_argument(
        "--allow-missing",
        metavar="PATTERN",
        action="append",
        default=[],
        help="a missing soname matching PATTERN (fnmatch) is a warning, not a failure",
    )
    group.add_argument(
        "--allow-substitution",
        action="store_true",
        help="let a close soname (libfoo.so.2 for a missing libfoo.so.1) stand in when every "
        "version and versioned symbol still fits",
    )


def solve_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "store": args.store,
        "within": args.within,
        "cache_dir": args.cache_dir,
        "glibc": args.glibc,
        "prefer": args.prefer,
        "avoid": args.avoid,
        "system": args.system,
        "allow_missing": args.allow_missing,
        "allow_substitution": args.allow_substitution,
    }


def add_interactive_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--interactive",
        action="store_true",
        help="on a terminal, ask which provider to use where several are equally good "
        "(each answer is pinned and the set solved again); never prompts otherwise",
    )


def ask_about_ties(
    args: argparse.Namespace, solution: Solution, resolve: Any
) -> tuple[Solution, list[str]]:
    """``--interactive``: let the user break ties; returns the solution and the pins."""
    from autopatchelf.cli._interactive import can_prompt, choose

    pins: list[str] = []
    if not (args.interactive and solution.alternatives and can_prompt()):
        return solution, pins

    def pinned(extra: Sequence[str]) -> Solution:
        pins[:] = list(extra)
        result: Solution = resolve([*args.prefer, *extra])
        return result

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


def locked_solution(
    args: argparse.Namespace,
    binary: str,
    *,
    beside: bool = False,
    cache: bool = False,
    delivery: str | None = None,
) -> Solution:
    """The solution for ``binary`` through the lock policy (``--lock``/``--frozen``; the
    shipped and cached locks with ``beside``/``cache``; a lock made for another
    ``delivery`` is stale); notes go to stderr."""
    return locked_outcome(args, binary, beside=beside, cache=cache, delivery=delivery).solution


def locked_outcome(
    args: argparse.Namespace,
    binary: str,
    *,
    beside: bool = False,
    cache: bool = False,
    delivery: str | None = None,
) -> LockOutcome:
    """:func:`locked_solution`, returning the whole outcome (the lock, what was done)."""
    from autopatchelf.actions.locks.locking import obtain

    outcome = obtain(
        binary,
        lock_file=args.lock,
        frozen=args.frozen,
        beside=beside,
        cache=cache,
        cache_dir=args.cache_dir,
        solve_options=solve_kwargs(args),
        delivery=delivery,
    )
    for note in outcome.notes:
        print(f"autopatchelf: {note}", file=sys.stderr)
    if outcome.source == "re-solved":
        print(
            f"autopatchelf: re-solved; lock rewritten: {', '.join(outcome.written)}",
            file=sys.stderr,
        )
    elif outcome.source == "solved" and args.lock:
        print(f"autopatchelf: lock written: {args.lock}", file=sys.stderr)
    return outcome


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


def _lock_target(args: argparse.Namespace) -> str:
    from autopatchelf.actions.locks.lock import LockUsageError

    if not args.lock:
        raise LockUsageError("--frozen needs --lock FILE", hint="name the lock to hold to")
    if len(args.files) != 1:
        raise LockUsageError(
            f"--lock takes one FILE, got {len(args.files)}",
            hint="a lock belongs to one binary: solve each with its own --lock",
        )
    return str(args.files[0])


def configure_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "solve",
        help="choose a store provider for every library FILE needs",
        description="Choose one /nix/store provider for every library the files load "
        "(exit 0), or explain why none exists (exit 1).",
    )
    parser.add_argument("files", nargs="+", metavar="FILE")
    add_solve_options(parser)
    add_lock_options(parser)
    add_interactive_option(parser)
    parser.add_argument("--format", choices=["text", "json", "env"], default="text")
    parser.add_argument(
        "--link-dir",
        metavar="DIR",
        help="when no library-path order works, make DIR a directory of links to the "
        "chosen files and use it (env format)",
    )


def execute(args: argparse.Namespace) -> int:
    from autopatchelf._api import solve
    from autopatchelf.actions import report
    from autopatchelf.actions.env import nix_ld_variables, render_env
    from autopatchelf.actions.linkdir import write_link_dir
    from autopatchelf.elf.facts import ElfFacts
    from autopatchelf.errors import Unsatisfiable
    from autopatchelf.ldso.machines import nix_system

    try:
        if args.lock or args.frozen:
            solution = locked_solution(args, _lock_target(args))
        else:
            options = solve_kwargs(args)
            solution = solve(args.files, **options)
            solution, _ = ask_about_ties(
                args, solution, lambda prefer: solve(args.files, **{**options, "prefer": prefer})
            )
    except Unsatisfiable as exc:
        if args.format == "json":
            sys.stdout.write(report.to_json(report.explanation_document(exc.explanation)))
        else:
            sys.stdout.write(report.explanation_text(exc.explanation))
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        return int(ExitCode.UNSATISFIABLE)
    if args.gc_root:
        register_gc_roots(args, solution)
    if args.format == "json":
        sys.stdout.write(report.to_json(report.solution_document(solution)))
    elif args.format == "env":
        link_dir = None
        if solution.needs_link_dir:
            if not args.link_dir:
                print(
                    "autopatchelf: error: no library-path order serves every chosen file "
                    "(hint: pass --link-dir DIR)",
                    file=sys.stderr,
                )
                return int(ExitCode.USAGE)
            link_dir = write_link_dir(solution, args.link_dir)
        system = nix_system(ElfFacts.read(solution.roots[0].root))
        sys.stdout.write(render_env(nix_ld_variables(solution, system, link_dir=link_dir)))
    else:
        sys.stdout.write(report.solution_text(solution))
    return int(ExitCode.OK)
