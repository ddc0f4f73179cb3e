"""The CLI's start and exit: argparse's help, sized to the terminal as argparse sizes it,
without importing shutil on every start; and no last collection at exit."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from autopatchelf.cli import build_parser
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
        "from autopatchelf.cli import build_parser\n"
        "for command in (None, 'solve', 'run', 'check', 'patch'):\n"
        "    build_parser(command).format_usage()\n"
        "print('shutil' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


#: A cycle that only a collection frees, made garbage before a CLI run: its finaliser
#: prints if the interpreter's last collection runs at exit. (Automatic collections are
#: held off so that none frees it during the run.)
_CLI_EXIT = """
import gc, sys
gc.set_threshold(10**9)
import autopatchelf.cli as cli
if sys.argv[1] == "collect":
    cli.skip_final_collection = lambda: None
class Node:
    def __init__(self):
        self.me = self
    def __del__(self):
        print("collected at exit", flush=True)
Node()
sys.argv = ["autopatchelf", "--version"]
cli.run()
"""


@pytest.mark.parametrize("mode", ["skip", "collect"])
def test_the_cli_exits_without_a_last_collection(mode: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _CLI_EXIT, mode], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("autopatchelf ")
    # (the control: the same run keeping the collection frees the cycle at exit)
    assert ("collected at exit" in done.stdout) == (mode == "collect")
