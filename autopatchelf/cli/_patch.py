"""``autopatchelf patch FILE_OR_DIR...``: edit the files so they run without a wrapper."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
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
    say_downloads,
    solution_link_dir,
    with_prefer,
)
from autopatchelf.errors import ExitCode, LockUsageError, UsageError
from autopatchelf.options import Delivery, SolveOptions

if TYPE_CHECKING:
    from autopatchelf.actions.patching.plan import PatchPlan


def configure_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "patch",
        help="set the interpreter and RUNPATH of foreign files to the chosen providers",
        description="Solve the files (a directory: every dynamically linked program and "
        "library in it, as one set) with runpath delivery, then edit them in place: "
        "PT_INTERP becomes the chosen glibc's loader, DT_RUNPATH the object's own $ORIGIN "
        "entries followed by the chosen library directories (DT_RPATH is removed). Files "
        "already patched this way are left untouched. Exit 0 when done, 1 when no "
        "consistent choice exists, 2 on bad input.",
    )
    parser.add_argument("paths", nargs="+", metavar="FILE_OR_DIR")
    add_solve_options(parser)
    group = parser.add_argument_group("patching")
    group.add_argument(
        "--dry-run", action="store_true", help="print what would change (old -> new); write nothing"
    )
    group.add_argument(
        "--backup", action="store_true", help="keep each original as FILE.orig (not replaced)"
    )
    group.add_argument(
        "--force", action="store_true", help="also patch setuid/setgid files and files "
        "with capabilities",
    )  # fmt: skip
    group.add_argument(
        "--link-dir",
        metavar="DIR",
        help="when no RUNPATH order serves every chosen file, make DIR a directory of "
        "links to exactly the chosen files and point RUNPATH at it",
    )
    group.add_argument(
        "--wrap",
        action="store_true",
        help="leave the ELF files as they are: put a POSIX sh wrapper at each program's "
        "path that execs it through its loader (the program moves to .NAME-wrapped beside "
        "it); libraries are solved with it, not touched",
    )
    add_lock_options(parser)
    add_interactive_option(parser)


def execute(args: argparse.Namespace) -> int:
    from autopatchelf.actions import report
    from autopatchelf.actions.escape import visible
    from autopatchelf.actions.patching.patch import apply_plan, plan_files, render_report
    from autopatchelf.actions.patching.plan import render_plan
    from autopatchelf.errors import Unsatisfiable
    from autopatchelf.progress import TerminalProgress

    refuse_no_realise(args, (not args.dry_run, "patch (without --dry-run)"))
    if args.wrap:
        return _wrap(args)
    options = solve_options(args, delivery=Delivery.RUNPATH)

    def planned(prefer: Sequence[str]) -> PatchPlan:
        return plan_files(
            args.paths,
            with_prefer(options, prefer),
            link_dir=args.link_dir,
            force=args.force,
            progress=TerminalProgress(sys.stderr),
        )

    try:
        if args.lock or args.frozen:
            plan = _locked_plan(args, options)
        else:
            plan = planned(args.prefer)
            _, pins = ask_about_ties(args, plan.solution, lambda prefer: planned(prefer).solution)
            if pins:
                plan = planned([*args.prefer, *pins])
    except Unsatisfiable as exc:
        sys.stdout.write(report.explanation_text(exc.explanation))
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        return int(ExitCode.UNSATISFIABLE)
    for warning in plan.solution.warnings:
        print(f"warning: {visible(warning)}", file=sys.stderr)
    if not (args.lock or args.frozen):  # else locked_outcome said it
        say_downloads(args, plan.solution)
    if args.dry_run:
        sys.stdout.write(render_plan(plan))
    else:
        sys.stdout.write(render_report(apply_plan(plan, backup=args.backup)))
        if args.gc_root:
            register_gc_roots(args, plan.solution)
    return int(ExitCode.OK)


def _locked_plan(args: argparse.Namespace, options: SolveOptions) -> PatchPlan:
    """``--lock FILE``: one program, or one app directory (solved as one app), its choices
    taken from (or written to) the lock."""
    from autopatchelf.actions.patching.plan import plan_patch

    if len(args.paths) != 1 or not (os.path.isfile(args.paths[0]) or os.path.isdir(args.paths[0])):
        raise LockUsageError(
            "--lock takes one FILE or DIR to patch",
            hint="a lock belongs to one binary or one app directory: patch each with its "
            "own --lock",
        )
    if os.path.isdir(args.paths[0]):
        solution = locked_app_outcome(args, args.paths[0], options).solution
    else:
        solution = locked_outcome(args, args.paths[0], options).solution
    return plan_patch(
        solution, args.paths, store_dir=options.store, link_dir=args.link_dir, force=args.force
    )


def _wrap(args: argparse.Namespace) -> int:
    """``patch --wrap``: a wrapper script for every program, library-path delivery."""
    from autopatchelf import solve
    from autopatchelf.actions import report
    from autopatchelf.actions.escape import visible
    from autopatchelf.actions.patching.targets import find_targets
    from autopatchelf.actions.wrapper import elf_behind, programs_among, wrap, wrapper_of
    from autopatchelf.errors import PatchError, Unsatisfiable
    from autopatchelf.progress import TerminalProgress

    if args.lock or args.frozen or args.dry_run:
        raise UsageError(
            "--wrap does not go with --lock, --frozen or --dry-run",
            hint="solve --format wrapper prints a wrapper without writing one",
        )
    options = solve_options(args, delivery=Delivery.LIBRARY_PATH)
    given = [elf_behind(p) if os.path.isfile(p) else p for p in args.paths]
    targets = find_targets(given, store_dir=options.store)
    programs = programs_among(targets.roots)
    if not programs:
        raise PatchError("no program to wrap", hint="--wrap makes wrappers for programs only")
    try:
        solution = solve(list(targets.roots), options, progress=TerminalProgress(sys.stderr))
    except Unsatisfiable as exc:
        sys.stdout.write(report.explanation_text(exc.explanation))
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        return int(ExitCode.UNSATISFIABLE)
    for warning in solution.warnings:
        print(f"warning: {visible(warning)}", file=sys.stderr)
    say_downloads(args, solution)
    link_dir = solution_link_dir(args, solution)
    for elf in programs:
        path = wrapper_of(elf)
        moved = wrap(solution, path, link_dir=link_dir)
        print(visible(f"wrapped {path} (the program is {moved})"))
    if args.gc_root:
        register_gc_roots(args, solution)
    return int(ExitCode.OK)
