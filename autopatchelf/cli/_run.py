"""``autopatchelf run BINARY -- ARGS``: start a foreign binary through a solution, unpatched.

The process is *replaced* (``execve``): the program's exit code, signals, stdin and stdout
are its own. With a valid lock (given, shipped beside the binary, or cached by hash) nothing
is indexed or solved: every import of the solving side (index, SAT encoding, solver) is
deferred to the code that solves, so this path loads only the lock and launch modules.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any

from autopatchelf.cli._options import add_solve_options, solve_options
from autopatchelf.cli._parser import ArgumentParser
from autopatchelf.cli._shared import (
    add_lock_options,
    locked_outcome,
    refuse_no_realise,
    register_gc_roots,
)
from autopatchelf.errors import AutopatchelfError, ExitCode
from autopatchelf.options import Delivery

if TYPE_CHECKING:
    from autopatchelf.actions.locks.lock import Lock
    from autopatchelf.options import SolveOptions

    Stamps = tuple[tuple[str, str], ...]

USAGE = "autopatchelf run [OPTIONS] BINARY [OPTIONS --] [ARGS...]"


def _add_options(parser: argparse.ArgumentParser) -> None:
    add_solve_options(parser)
    add_lock_options(parser)
    group = parser.add_argument_group("running")
    group.add_argument(
        "--nix-ld",
        action="store_true",
        help="exec BINARY itself with NIX_LD/NIX_LD_LIBRARY_PATH set (needs nix-ld as "
        "its interpreter, as on NixOS with programs.nix-ld.enable)",
    )
    group.add_argument(
        "--link-dir",
        metavar="DIR",
        help="where to make the directory of links when no library-path order works "
        "(default: under the cache dir)",
    )
    group.add_argument(
        "--no-lock-cache",
        action="store_true",
        help="neither read nor write the cached lock (<cache dir>/locks/<sha256>.json)",
    )


def configure_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "run",
        usage=USAGE,
        help="run a foreign binary through its solution, without patching it",
        description="Start BINARY with the chosen loader and library path (or nix-ld's "
        "variables with --nix-ld), passing ARGS, stdin, stdout, signals and the exit code "
        "through. The choice comes from a valid lock when there is one (--lock FILE, "
        "BINARY.autopatchelf.lock, or the lock cache), else from solving (then cached). "
        "Options go before BINARY, or between BINARY and --; everything after BINARY is "
        "the program's when there is no --.",
    )
    _add_options(parser)
    parser.add_argument("binary", metavar="BINARY", help="the foreign program")
    parser.add_argument(
        "args", nargs=argparse.REMAINDER, metavar="ARGS", help="its arguments (after --)"
    )


def _split_arguments(args: argparse.Namespace) -> list[str] | int:
    """The program's arguments; our options between BINARY and ``--`` are parsed into
    ``args`` (an int: the exit code of a usage error there)."""
    words = list(args.args)
    parser = ArgumentParser(prog="autopatchelf run", usage=USAGE, add_help=False)
    _add_options(parser)
    if "--" not in words:
        ambiguous = _our_option_among(parser, words)
        if ambiguous is not None:
            return _ambiguous(args.binary, words, ambiguous)
        return words
    split = words.index("--")
    ours, theirs = words[:split], words[split + 1 :]
    if ours:
        try:
            parser.parse_args(ours, namespace=args)
        except SystemExit as exc:  # argparse printed the usage error
            return int(exc.code or ExitCode.USAGE)
    return theirs


def _our_option_among(parser: argparse.ArgumentParser, words: list[str]) -> str | None:
    """The first of ``words`` that is one of our options (``--within``, ``--glibc=...``)."""
    ours = {s for action in parser._actions for s in action.option_strings}
    for word in words:
        if word.partition("=")[0] in ours and word.startswith("--"):
            return word.partition("=")[0]
    return None


def _ambiguous(binary: str, words: list[str], option: str) -> int:
    """Refuse to guess whose ``option`` is: say the two commands that are not ambiguous."""
    import shlex

    from autopatchelf.actions.escape import visible

    # Long option lists (one --within per store path) are cut after the first option.
    at = next(i for i, w in enumerate(words) if w.partition("=")[0] == option)
    shown = words[: at + (1 if "=" in words[at] else 2)]
    more = " ..." if len(shown) < len(words) else ""
    mine = shlex.join(["autopatchelf", "run", binary, *shown]) + f"{more} --"
    theirs = shlex.join(["autopatchelf", "run", binary, "--", *shown]) + more
    print(
        f"autopatchelf run: error: {option} after BINARY is an autopatchelf option, and "
        "without -- it would be passed to the program (hint: end autopatchelf's options "
        f"with --: {visible(mine)} [ARGS...]; or give them all to the program: "
        f"{visible(theirs)})",
        file=sys.stderr,
    )
    return int(ExitCode.USAGE)


def execute(args: argparse.Namespace) -> int:
    from autopatchelf.actions import run
    from autopatchelf.cachedir import cache_dir
    from autopatchelf.errors import NothingToSolve

    program_args = _split_arguments(args)
    if isinstance(program_args, int):
        return program_args
    try:
        refuse_no_realise(args, (True, "run"))
        # What the loader's --library-path and nix-ld need: library-path delivery.
        options = solve_options(args, delivery=Delivery.LIBRARY_PATH)
        before = _inputs_before(args, options)
        outcome = locked_outcome(
            args, args.binary, options, beside=True, cache=not args.no_lock_cache
        )
    except NothingToSolve as exc:
        if not exc.loadable:
            raise
        return _exec_directly(args.binary, program_args, exc)
    except AutopatchelfError as exc:
        return _unsatisfiable(exc)
    solution = outcome.solution
    if args.gc_root:
        register_gc_roots(args, solution)
    link_dir = None
    if solution.needs_link_dir:
        directory = args.link_dir or run.default_link_dir(solution, cache_dir(args.cache_dir))
        link_dir = run.ensure_link_dir(solution, directory)
    if args.nix_ld:
        plan = run.nix_ld_plan(
            solution,
            args.binary,
            program_args,
            os.environ,
            system=outcome.lock.system,
            link_dir=link_dir,
        )
    else:
        plan = run.loader_plan(solution, args.binary, program_args, os.environ, link_dir=link_dir)
    clean = outcome.source == "lock" and not outcome.notes and not args.gc_root
    if before is not None and clean and plan.mode == "loader" and link_dir is None:
        _record_launch(args, program_args, options, before, outcome.lock, plan.argv)
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execve(plan.executable, list(plan.argv), dict(plan.env))
    except OSError as exc:
        raise run.exec_error(plan, exc) from exc
    return int(ExitCode.INTERNAL)  # only reached when execve is replaced (tests)


def _inputs_before(args: argparse.Namespace, options: SolveOptions) -> Stamps | None:
    """Stamps of the binary and of every place its lock may be, taken before the lock is
    read: a change after this shows as a difference next time, never as a valid record."""
    from autopatchelf.actions import launchmemo
    from autopatchelf.actions.locks.locking import lock_places

    if not hasattr(args, "words"):  # parsed by someone else than cli.main
        return None
    try:
        places = lock_places(
            args.binary, options, lock_file=args.lock, beside=True, cache=not args.no_lock_cache
        )
    except OSError:
        return None
    return launchmemo.stamps([os.path.abspath(args.binary), *places])


def _record_launch(
    args: argparse.Namespace,
    program_args: list[str],
    options: SolveOptions,
    before: Stamps,
    lock: Lock,
    argv: tuple[str, ...],
) -> None:
    """Leave the launch record that lets the next start of this command skip verifying
    (:mod:`autopatchelf.actions.launchmemo`)."""
    from autopatchelf.actions import launchmemo
    from autopatchelf.actions.locks.locations import launch_record_path
    from autopatchelf.actions.locks.verify import watched_paths
    from autopatchelf.cachedir import cache_dir

    words = list(args.words)
    command = words[: len(words) - len(program_args)]
    binary = os.path.abspath(args.binary)
    loaded = launchmemo.stamps(watched_paths(lock, binary))
    if any(was == launchmemo.ABSENT for _, was in loaded):
        return  # gone since it was verified: the next start must look again
    watched = (*before, *loaded)
    launch = argv[: len(argv) - len(program_args)]
    try:
        st = os.stat(binary)
    except OSError:
        return
    directory = cache_dir(options.cache_dir)
    path = launch_record_path(st.st_dev, st.st_ino, directory)
    launchmemo.write_record(path, launchmemo.key(command, directory), watched, launch)


def _exec_directly(binary: str, program_args: list[str], why: AutopatchelfError) -> int:
    """A statically linked program needs no loader: start it as it is, and say so."""
    from autopatchelf.actions import run
    from autopatchelf.actions.escape import visible

    print(f"autopatchelf: {visible(why.reason)}; starting it directly", file=sys.stderr)
    plan = run.direct_plan(binary, program_args, os.environ)
    sys.stderr.flush()
    try:
        os.execve(plan.executable, list(plan.argv), dict(plan.env))
    except OSError as exc:
        raise run.exec_error(plan, exc) from exc
    return int(ExitCode.INTERNAL)  # only reached when execve is replaced (tests)


def _unsatisfiable(exc: AutopatchelfError) -> int:
    """No solution: the explanation on stderr (stdout is the program's), exit 1."""
    from autopatchelf.actions import report
    from autopatchelf.errors import Unsatisfiable

    if not isinstance(exc, Unsatisfiable):
        raise exc
    sys.stderr.write(report.explanation_text(exc.explanation))
    if exc.hint:
        print(f"hint: {exc.hint}", file=sys.stderr)
    print(f"hint: options of run go here: {USAGE}", file=sys.stderr)
    return int(ExitCode.UNSATISFIABLE)
