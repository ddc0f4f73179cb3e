"""Driver libraries with the real loader: a driver dir's libGL.so.1 beats a store path's,
and is what ld.so loads; without a driver dir the output warns and the store's copy is not
taken."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from fixtures import FixtureStore
from runhelp import cli

pytestmark = [pytest.mark.nix, pytest.mark.needs("gcc")]

LIBGL = 'const char *gl_vendor(void) { return "%s"; }\n'
GAME = r"""
#include <stdio.h>
const char *gl_vendor(void);
int main(void) { printf("%s\n", gl_vendor()); return 0; }
"""


def gcc(*argv: str) -> None:
    done = subprocess.run(["gcc", *argv], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def fake_libgl(directory: Path, vendor: str) -> Path:
    """A real shared object with soname libGL.so.1 whose gl_vendor() says ``vendor``."""
    directory.mkdir(parents=True, exist_ok=True)
    source = directory / "gl.c"
    source.write_text(LIBGL % vendor)
    out = directory / "libGL.so.1"
    gcc("-shared", "-fPIC", "-Wl,-soname,libGL.so.1", "-o", str(out), str(source))
    source.unlink()
    return out


@pytest.fixture
def setup(tmp_path: Path, fixture_store: FixtureStore) -> tuple[Path, Path, list[str], str]:
    """(game, driver dir, --within args including a store path with its own libGL, that
    store path)."""
    drivers = tmp_path / "opengl-driver" / "lib"
    fake_libgl(drivers, "driver")
    store_lib = tmp_path / "mesa-store" / "lib"
    fake_libgl(store_lib, "store")
    added = subprocess.run(
        ["nix-store", "--add", str(store_lib.parent)], capture_output=True, text=True, check=False
    )
    assert added.returncode == 0, added.stderr
    mesa = added.stdout.strip()
    game = tmp_path / "game"
    source = tmp_path / "game.c"
    source.write_text(GAME)
    gcc("-o", str(game), str(source), f"-L{drivers}", "-l:libGL.so.1")
    within = [a for p in fixture_store.debian["trixie"].values() for a in ("--within", str(p))]
    return game, drivers, [*within, "--within", mesa], mesa


def test_the_driver_dir_wins_and_is_loaded(
    setup: tuple[Path, Path, list[str], str], cache: Path
) -> None:
    game, drivers, within, mesa = setup
    solved = cli("solve", str(game), *within, "--driver-dir", str(drivers), "--format", "json",
                 cache=cache)  # fmt: skip
    assert solved.returncode == 0, solved.stderr
    document = json.loads(solved.stdout)
    gl = next(lib for lib in document["roots"][0]["libraries"] if lib["name"] == "libGL.so.1")
    assert gl["path"] == str(drivers / "libGL.so.1") and gl["driver"] is True
    assert document["library_path"][0] == str(drivers)
    assert mesa not in document["store_paths"]
    text = cli("solve", str(game), *within, "--driver-dir", str(drivers), cache=cache)
    assert f"{drivers}/libGL.so.1  driver" in text.stdout
    ran = cli("run", str(game), *within, "--driver-dir", str(drivers), "--no-lock-cache", "--",
              cache=cache)  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == "driver\n"


def test_without_a_driver_dir_the_store_copy_is_not_taken(
    setup: tuple[Path, Path, list[str], str], cache: Path
) -> None:
    game, _, within, mesa = setup
    solved = cli("solve", str(game), *within, "--no-driver-dir", "--format", "json", cache=cache)
    assert solved.returncode == 0, solved.stderr
    document = json.loads(solved.stdout)
    assert "libGL.so.1" not in document["choices"]
    assert mesa not in document["store_paths"]
    assert any(
        w.startswith("libGL.so.1 is a graphics/GPU driver library") for w in document["warnings"]
    )
