"""``autopatchelf solve FILE_OR_DIR...``: choose providers and print them (text, json, env
or a wrapper). A directory stands for every dynamically linked program and library in it,
solved together as one app (``--lock`` then writes the app tree's lock)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any

from autopatchelf.cli._options import add_solve_options, solve_options
from autopatchelf.cli._shared import (
    add_interactive_option,
    add_lock_options,
    ask_about_ties,
    locked_app_outcome,
    locked_outcome,
    refuse_no_realise,
    register_gc_roots,
    solution_link_dir,
    with_prefer,
)
from autopatchelf.errors import ExitCode, LockUsageError, UsageError

if TYPE_CHECKING:
    from autopatchelf.solution.model import Solution


def _lock_target(args: argparse.Namespace) -> str:
    if not args.lock:
        raise LockUsageError("--frozen needs --lock FILE", hint="name the lock to hold to")
    if len(args.files) != 1:
        raise LockUsageError(
            f"--lock takes one FILE or DIR, got {len(args.files)}",
            hint="a lock belongs to one binary or one app directory: solve each with its "
            "own --lock",
        )
    return str(args.files[0])


def _expanded(files: list[str], store: str | None) -> list[str]:
    """The files to solve: directories replaced by their programs and libraries."""
    if not any(os.path.isdir(f) for f in files):
        return files
    from autopatchelf.actions.patching.targets import find_targets

    out: list[str] = []
    for given in files:
        out.extend(
            find_targets([given], store_dir=store).roots if os.path.isdir(given) else [given]
        )
    return list(dict.fromkeys(out))


def configure_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "solve",
        help="choose a store provider for every library FILE needs",
        description="Choose one /nix/store provider for every library the files load "
        "(exit 0), or explain why none exists (exit 1).",
    )
    parser.add_argument(
        "files",
        nargs="+",
        metavar="FILE_OR_DIR",
        help="ELF files; a directory stands for its dynamically linked programs and "
        "libraries, solved as one app",
    )
    add_solve_options(parser)
    add_lock_options(parser)
    add_interactive_option(parser)
    parser.add_argument(
        "--format",
        choices=["text", "json", "env", "wrapper"],
        default="text",
        help="text (default), json, env (nix-ld variables for eval) or wrapper (a POSIX sh "
        "script that execs the one FILE through its loader)",
    )
    parser.add_argument(
        "--link-dir",
        metavar="DIR",
        help="when no library-path order works, make DIR a directory of links to the "
        "chosen files and use it (env format)",
    )


def execute(args: argparse.Namespace) -> int:
    from autopatchelf import Solution, solve
    from autopatchelf.actions import report
    from autopatchelf.actions.env import nix_ld_variables, render_env, system_of
    from autopatchelf.actions.escape import shell_bytes, visible
    from autopatchelf.errors import NothingToSolve, Unsatisfiable
    from autopatchelf.progress import TerminalProgress

    refuse_no_realise(
        args,
        (bool(args.lock), "--lock"),
        (bool(args.gc_root), "--gc-root"),
        (args.format == "wrapper", "--format wrapper"),
    )
    if args.format == "wrapper" and (len(args.files) != 1 or os.path.isdir(args.files[0])):
        raise UsageError(
            f"--format wrapper takes one FILE, got {len(args.files)}"
            if len(args.files) != 1
            else f"--format wrapper takes one program, not the directory {args.files[0]}",
            hint="a wrapper starts one program: make one per FILE (patch --wrap DIR wraps "
            "every program of an app)",
        )
    options = solve_options(args)
    names = {os.path.abspath(file): file for file in args.files}
    try:
        if args.lock or args.frozen:
            target = _lock_target(args)
            if os.path.isdir(target):
                solution = locked_app_outcome(args, target, options).solution
            else:
                solution = locked_outcome(args, target, options).solution
            files = [target]
        else:
            bar = TerminalProgress(sys.stderr)
            files = _expanded(list(args.files), options.store)
            solution = solve(files, options, progress=bar)
            solution, _ = ask_about_ties(
                args,
                solution,
                lambda prefer: solve(files, with_prefer(options, prefer), progress=bar),
            )
    except NothingToSolve as exc:  # --lock of a file that needs nothing
        solution = Solution.empty({exc.path: exc.why})
    except Unsatisfiable as exc:
        if args.format == "json":
            sys.stdout.write(report.to_json(report.explanation_document(exc.explanation)))
        elif args.format in ("env", "wrapper"):
            # Nothing on stdout: it is meant for eval (or to be run), and the explanation
            # holds names taken from the binary.
            sys.stderr.write(report.explanation_text(exc.explanation))
        else:
            sys.stdout.write(report.explanation_text(exc.explanation))
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        return int(ExitCode.UNSATISFIABLE)
    if args.gc_root:
        register_gc_roots(args, solution)
    if args.format == "json":
        sys.stdout.write(report.to_json(report.solution_document(solution)))
    elif args.format == "wrapper":
        return _print_wrapper(args, solution, names)
    elif args.format == "env":
        for path, reason in solution.nothing_to_solve.items():
            print(f"autopatchelf: nothing to solve: {visible(names.get(path, path))} is {reason}",
                  file=sys.stderr)  # fmt: skip
        for warning in solution.warnings:
            print(f"autopatchelf: warning: {visible(warning)}", file=sys.stderr)
        if not solution.roots:
            return int(ExitCode.OK)
        link_dir = solution_link_dir(args, solution)
        system = system_of(solution.roots[0].root)
        variables = nix_ld_variables(solution, system, link_dir=link_dir)
        sys.stdout.flush()
        sys.stdout.buffer.write(shell_bytes(render_env(variables)))
        sys.stdout.buffer.flush()
    else:
        sys.stdout.write(report.solution_text(solution, names))
    return int(ExitCode.OK)


def _print_wrapper(args: argparse.Namespace, solution: Solution, names: dict[str, str]) -> int:
    """``--format wrapper``: the script on stdout, everything else on stderr."""
    from autopatchelf.actions.escape import visible
    from autopatchelf.actions.wrapper import render_wrapper

    for warning in solution.warnings:
        print(f"autopatchelf: warning: {visible(warning)}", file=sys.stderr)
    if solution.nothing_to_solve:
        path, reason = next(iter(solution.nothing_to_solve.items()))
        raise UsageError(
            f"{visible(names.get(path, path))} is {reason}: it needs no wrapper",
            hint="start it as it is",
        )
    link_dir = solution_link_dir(args, solution)
    script = render_wrapper(solution, solution.roots[0].root, link_dir=link_dir)
    sys.stdout.flush()
    sys.stdout.buffer.write(script)
    sys.stdout.buffer.flush()
    return int(ExitCode.OK)
