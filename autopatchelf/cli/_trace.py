"""``autopatchelf trace [OPTIONS] BINARY [-- ARGS...]``: observe what BINARY opens at run
time, solve for it, and keep it in the lock."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from autopatchelf.cli._options import add_solve_options, solve_options
from autopatchelf.errors import ExitCode, UsageError
from autopatchelf.options import Delivery

USAGE = "autopatchelf trace [OPTIONS] BINARY [-- ARGS...]"


def configure_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "trace",
        usage=USAGE,
        help="run a binary, record what it loads at run time, and solve for it",
        description="Run BINARY (through its solution, as `run` does) with the loader's "
        "own tracing; every library it opened from outside the solution (a host copy: a "
        "leak) or failed to open becomes a need, solved for in the next round, until a "
        "run shows nothing new. The result is written to the lock (default "
        "BINARY.autopatchelf.lock), which `run --lock` and `patch --lock` then use. The "
        "program's exit status does not matter; --timeout ends one that does not exit. "
        "Exit 0 when a round showed nothing new, 1 when no solution exists or the rounds "
        "ran out, 2 on bad input.",
    )
    add_solve_options(parser)
    group = parser.add_argument_group("tracing")
    group.add_argument(
        "--lock",
        metavar="FILE",
        help="the lock to write (default: BINARY.autopatchelf.lock beside BINARY)",
    )
    group.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=float,
        default=None,
        help="end each run after SECONDS (its whole process group)",
    )
    group.add_argument(
        "--rounds", metavar="N", type=int, default=4, help="run at most N times (default 4)"
    )
    group.add_argument("--format", choices=["text", "json"], default="text")
    parser.add_argument("binary", metavar="BINARY", help="the foreign program")
    parser.add_argument(
        "args", nargs=argparse.REMAINDER, metavar="ARGS", help="its arguments (after --)"
    )


def execute(args: argparse.Namespace) -> int:
    from autopatchelf import solve
    from autopatchelf.actions import report
    from autopatchelf.actions.locks.lock import Lock
    from autopatchelf.actions.locks.lockfile import write_lock
    from autopatchelf.actions.trace import trace
    from autopatchelf.errors import Unsatisfiable
    from autopatchelf.progress import TerminalProgress

    program_args = list(args.args)
    if program_args[:1] == ["--"]:
        program_args = program_args[1:]
    if args.rounds < 1:
        raise UsageError("--rounds must be 1 or more", hint="--rounds 4 is the default")
    if args.timeout is not None and not 0 < args.timeout < float("inf"):
        raise UsageError("--timeout must be more than 0 seconds", hint="e.g. --timeout 10")
    lock_file = args.lock or f"{args.binary}.autopatchelf.lock"
    options = solve_options(args, delivery=Delivery.LIBRARY_PATH)
    bar = TerminalProgress(sys.stderr)
    try:
        result = trace(
            args.binary,
            program_args,
            options,
            lambda opts: solve([args.binary], opts, progress=bar),
            environ=os.environ,
            timeout=args.timeout,
            rounds=args.rounds,
        )
    except Unsatisfiable as exc:
        sys.stdout.write(report.explanation_text(exc.explanation))
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        return int(ExitCode.UNSATISFIABLE)
    lock = Lock.from_solution(result.solution, os.path.abspath(args.binary))
    written = write_lock(lock, lock_file)
    if args.format == "json":
        sys.stdout.write(report.trace_json(result, written))
    else:
        sys.stdout.write(report.trace_text(result, written))
    return int(ExitCode.OK if result.settled else ExitCode.UNSATISFIABLE)
