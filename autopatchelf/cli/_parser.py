"""The argument parser every command is built on: argparse's, with a help formatter that
sizes itself to the terminal without importing :mod:`shutil` (argparse makes a formatter
for every option added, to check its metavar, and shutil's import pulls in bz2 and lzma:
3 ms of every start, help asked for or not)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any


def terminal_columns() -> int:
    """The width help is wrapped to: ``$COLUMNS`` if it is a positive number, else the
    terminal's on stdout, else 80 (what :func:`shutil.get_terminal_size` answers)."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    if columns > 0:
        return columns
    try:
        columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        columns = 0
    return columns if columns > 0 else 80


class HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter, two columns narrower than the terminal as argparse's is."""

    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
    ) -> None:
        width = terminal_columns() - 2 if width is None else width
        super().__init__(prog, indent_increment, max_help_position, width)


class ArgumentParser(argparse.ArgumentParser):
    """An argparse parser with :class:`HelpFormatter` (its subparsers are of this class
    too)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)
