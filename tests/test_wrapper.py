"""Wrapper scripts (``solve --format wrapper``, ``patch --wrap``) with the real loader and
a real POSIX sh: no environment needed, any directory, argv[0], arguments, stdin and the
exit status passed through, and no path can inject a command."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from fixtures import FixtureStore
from runhelp import cli

pytestmark = [pytest.mark.nix, pytest.mark.needs("gcc")]

ECHO = r"""
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
    printf("argv0=%s\n", argv[0]);
    for (int i = 1; i < argc; i++) printf("arg=%s\n", argv[i]);
    int c;
    while ((c = getchar()) != EOF) putchar(c);
    return argc > 1 ? atoi(argv[1]) : 0;
}
"""

#: A directory name no shell may take apart: spaces, both quotes, $( ), backticks, ;, \n.
HOSTILE = "a dir 'q' \"dq\" $(touch PWNED) `touch PWNED2`; x\nnewline"


@pytest.fixture
def echo(tmp_path: Path) -> Path:
    source = tmp_path / "echo.c"
    source.write_text(ECHO)
    out = tmp_path / "echo"
    done = subprocess.run(["gcc", "-o", str(out), str(source)], capture_output=True, text=True,
                          check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture
def trixie(fixture_store: FixtureStore) -> list[str]:
    return [a for p in fixture_store.debian["trixie"].values() for a in ("--within", str(p))]


def bare(argv: list[str], *, stdin: str = "", cwd: str = "/") -> subprocess.CompletedProcess[str]:
    """``env -i``: no PATH, no variable at all."""
    return subprocess.run(["env", "-i", *argv], input=stdin, capture_output=True, text=True,
                          cwd=cwd, timeout=60, check=False)  # fmt: skip


def test_a_wrapper_needs_no_environment_and_passes_everything_through(
    echo: Path, trixie: list[str], cache: Path, tmp_path: Path
) -> None:
    done = cli("solve", str(echo), *trixie, "--format", "wrapper", cache=cache)
    assert done.returncode == 0, done.stderr
    script = done.stdout
    assert script.startswith("#!/bin/sh\n# autopatchelf wrapper for ")
    assert "--library-path" in script and '--argv0 "$0"' in script and script.endswith('"$@"\n')
    wrapper = tmp_path / "bin" / "echo-wrapper"
    wrapper.parent.mkdir()
    wrapper.write_text(script)
    wrapper.chmod(0o755)
    ran = bare([str(wrapper), "7", "two words", "$HOME"], stdin="from stdin\n")
    assert ran.returncode == 7, ran.stderr
    assert ran.stdout == (f"argv0={wrapper}\narg=7\narg=two words\narg=$HOME\nfrom stdin\n")


def test_a_hostile_directory_name_cannot_inject_a_command(
    echo: Path, trixie: list[str], cache: Path, tmp_path: Path
) -> None:
    hostile = tmp_path / HOSTILE
    hostile.mkdir()
    program = hostile / "echo"
    shutil.copy(echo, program)
    done = cli("solve", str(program), *trixie, "--format", "wrapper", cache=cache)
    assert done.returncode == 0, done.stderr
    wrapper = hostile / "run"
    wrapper.write_bytes(done.stdout.encode())
    wrapper.chmod(0o755)
    ran = bare(["/bin/sh", str(wrapper), "0"], cwd=str(tmp_path))
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == f"argv0={wrapper}\narg=0\n"
    assert not any(p.name.startswith("PWNED") for p in tmp_path.rglob("PWNED*"))
    assert not (Path("/") / "PWNED").exists()


def test_a_failed_solve_prints_no_script(
    tmp_path: Path, fixture_store: FixtureStore, cache: Path, echo: Path
) -> None:
    """No solution: nothing on stdout (it would be run), the explanation on stderr."""
    done = cli("solve", str(echo), "--within", str(fixture_store.debian["trixie"]["libc6"]),
               "--dlopen", "libnope.so.9", "--format", "wrapper", cache=cache)  # fmt: skip
    assert done.returncode == 1
    assert done.stdout == ""
    assert "no solution" in done.stderr
    two = cli("solve", str(echo), str(echo), "--format", "wrapper", cache=cache)
    assert two.returncode == 2 and "takes one FILE" in two.stderr


def test_patch_wrap_moves_the_program_aside_and_is_idempotent(
    echo: Path, trixie: list[str], cache: Path, tmp_path: Path
) -> None:
    app = tmp_path / "app"
    app.mkdir()
    program = app / "echo"
    shutil.copy(echo, program)
    original = program.read_bytes()
    done = cli("patch", "--wrap", str(app), *trixie, cache=cache)
    assert done.returncode == 0, done.stdout + done.stderr
    moved = app / ".echo-wrapped"
    assert moved.read_bytes() == original
    first = program.read_bytes()
    assert first.startswith(b"#!/bin/sh\n# autopatchelf wrapper")
    assert os.access(program, os.X_OK)
    ran = bare([str(program), "3"], stdin="")
    assert ran.returncode == 3 and ran.stdout == f"argv0={program}\narg=3\n", ran.stderr
    again = cli("patch", "--wrap", str(program), *trixie, cache=cache)
    assert again.returncode == 0, again.stdout + again.stderr
    assert program.read_bytes() == first
    assert sorted(p.name for p in app.iterdir()) == [".echo-wrapped", "echo"]
    by_dir = cli("patch", "--wrap", str(app), *trixie, cache=cache)
    assert by_dir.returncode == 0, by_dir.stdout + by_dir.stderr
    assert sorted(p.name for p in app.iterdir()) == [".echo-wrapped", "echo"]
    assert program.read_bytes() == first
