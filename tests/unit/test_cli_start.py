"""The CLI's start and exit: argparse's help, sized to the terminal as argparse sizes it,
without importing shutil on every start; and no last collection at exit."""

from __future__ import annotations

import argparse
import gc
import subprocess
import sys

import pytest

from autopatchelf.cli import build_parser, skip_final_collection
from autopatchelf.cli._parser import terminal_columns


@pytest.mark.parametrize("columns", ["40", "80", "133"])
@pytest.mark.parametrize("command", [None, "solve", "run"])
def test_help_is_what_argparses_own_formatter_writes(
    monkeypatch: pytest.MonkeyPatch, columns: str, command: str | None
) -> None:
    monkeypatch.setenv("COLUMNS", columns)
    parser = build_parser(command)
    if command is not None:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[command]
    ours = parser.format_help()
    parser.formatter_class = argparse.HelpFormatter
    assert ours == parser.format_help()


@pytest.mark.parametrize(("value", "expected"), [("57", 57), ("0", 80), ("x", 80), ("", 80)])
def test_the_width_comes_from_columns_else_80_off_a_terminal(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: int
) -> None:
    monkeypatch.setenv("COLUMNS", value)
    assert terminal_columns() == expected  # pytest's stdout is no terminal


def test_building_the_parser_imports_no_shutil() -> None:
    code = (
        "import sys\n"
        "from autopatchelf.cli import build_parser, skip_final_collection\n"
        "for command in (None, 'solve', 'run', 'check', 'patch'):\n"
        "    build_parser(command).format_usage()\n"
        "print('shutil' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_the_final_collection_skips_every_object_alive() -> None:
    class Node:
        def __init__(self) -> None:
            self.me = self  # a cycle: only a collection frees it

    kept = Node()
    assert gc.get_freeze_count() == 0
    try:
        skip_final_collection()
        frozen = gc.get_freeze_count()
        assert frozen > 1000  # everything the interpreter holds, the cycle too
        assert not gc.is_finalized(kept) and gc.collect() >= 0
        assert gc.get_freeze_count() == frozen  # collections leave them alone
    finally:
        gc.unfreeze()
