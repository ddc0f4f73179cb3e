"""The command line: a thin shim over the public API.

Each command lives in its own module with ``configure_parser(subparsers)`` and
``execute(args) -> int``. This module is the one place that turns library exceptions
into a one-line message on stderr and an exit code (see :class:`ExitCode`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib import import_module

from autopatchelf.errors import AutopatchelfError

#: command name -> module (imported lazily so ``--help`` stays fast).
COMMANDS = {
    "index": "autopatchelf.cli._index",
    "solve": "autopatchelf.cli._solve",
    "check": "autopatchelf.cli._check",
}
# Commands whose modules are being written land here as they are finished:
# "patch": "autopatchelf.cli._patch", "run": "autopatchelf.cli._run",
# "check": "autopatchelf.cli._check".


def build_parser() -> argparse.ArgumentParser:
    from autopatchelf import __version__

    parser = argparse.ArgumentParser(
        prog="autopatchelf",
        description="Make foreign ELF binaries run on NixOS.",
    )
    parser.add_argument("--version", action="version", version=f"autopatchelf {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in COMMANDS.values():
        import_module(module_name).configure_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv``; return the exit code instead of exiting."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return int(exc.code or 0)
    module = import_module(COMMANDS[args.command])
    try:
        return int(module.execute(args))
    except AutopatchelfError as exc:
        message = f"autopatchelf: error: {exc.reason}"
        if exc.hint:
            message += f" (hint: {exc.hint})"
        print(message, file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print("autopatchelf: interrupted", file=sys.stderr)
        return 130


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
