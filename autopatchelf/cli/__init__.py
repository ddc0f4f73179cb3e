"""The command line: a thin shim over the public API.

Each command lives in its own module with ``configure_parser(subparsers)`` and
``execute(args) -> int``. This module is the one place that turns library exceptions
into a one-line message on stderr and an exit code (see :class:`~autopatchelf.errors.ExitCode`).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import sys
from collections.abc import Sequence
from importlib import import_module

from autopatchelf.actions.escape import visible
from autopatchelf.cli._parser import ArgumentParser
from autopatchelf.errors import AutopatchelfError, ExitCode

#: command name -> module (imported lazily so ``--help`` stays fast).
COMMANDS = {
    "index": "autopatchelf.cli._index",
    "solve": "autopatchelf.cli._solve",
    "check": "autopatchelf.cli._check",
    "patch": "autopatchelf.cli._patch",
    "run": "autopatchelf.cli._run",
    "trace": "autopatchelf.cli._trace",
}


class _Version(argparse.Action):
    """``--version``, reading the package metadata only when asked."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        from autopatchelf import __version__

        sys.stdout.write(f"autopatchelf {__version__}\n")
        parser.exit()


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; with a known ``command``, only that command's options are built (the
    others cost imports that ``run`` with a lock must not pay)."""
    parser = ArgumentParser(
        prog="autopatchelf",
        description="Make foreign ELF binaries run on NixOS.",
    )
    parser.add_argument("--version", action=_Version)
    # prog given: argparse would otherwise build a help formatter (and import shutil).
    sub = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, prog="autopatchelf"
    )
    for name, module_name in COMMANDS.items():
        if command is None or name == command:
            import_module(module_name).configure_parser(sub)
    return parser


#: Set to 1 to see the traceback of an internal error (a bug) as well as its one line.
DEBUG_ENV = "AUTOPATCHELF_DEBUG"


def _safe_streams() -> None:
    """Whatever the locale, what we print encodes: undecodable bytes and characters the
    stream's encoding lacks become backslash escapes, never an exception."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(ValueError, OSError):  # a closed or odd stream
                reconfigure(errors="backslashreplace")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv``; return the exit code instead of exiting."""
    _safe_streams()
    words = list(sys.argv[1:] if argv is None else argv)
    command = words[0] if words and words[0] in COMMANDS else None
    parser = build_parser(command)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return int(exc.code or 0)
    args.words = tuple(words)  # as given: what ``run`` keys its launch records by
    module = import_module(COMMANDS[args.command])
    try:
        return int(module.execute(args))
    except AutopatchelfError as exc:
        message = f"autopatchelf: error: {visible(exc.reason)}"
        if exc.hint:
            message += f" (hint: {visible(exc.hint)})"
        print(message, file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print("autopatchelf: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: one line (the traceback with AUTOPATCHELF_DEBUG=1)
        if os.environ.get(DEBUG_ENV) == "1":
            import traceback  # only for a bug, and only when asked for

            traceback.print_exc()
        print(
            f"autopatchelf: internal error: {type(exc).__name__}: {visible(str(exc))} "
            f"(a bug: please report it; {DEBUG_ENV}=1 shows the traceback)",
            file=sys.stderr,
        )
        return int(ExitCode.INTERNAL)


def run() -> None:
    """Console-script entry point."""
    code = main()
    skip_final_collection()
    sys.exit(code)


def skip_final_collection() -> None:
    """Spare the interpreter's exit its last collection (for when a command is done):
    every object is moved to the collector's permanent generation, which that collection
    does not scan. What a finished command leaves is modules and acyclic garbage:
    reference counting and module teardown still free it and close what is open. The
    collection skipped is 8 to 10 ms of a warm ``solve`` (``benchmarks/bench_warm.py``)."""
    gc.freeze()
