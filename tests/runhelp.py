"""Shared by test_run, test_lock and test_gcroots: the CLI in a subprocess, and a private
cache dir per test whose index over the fixture providers is already warm."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fixtures import FixtureStore

from autopatchelf.cli import main
from autopatchelf.index import StoreIndex


def within_args(fx: FixtureStore) -> list[str]:
    return [arg for p in fx.providers() for arg in ("--within", str(p))]


def warm_index(fx: FixtureStore, directory: Path) -> Path:
    """Index the fixture providers into ``directory`` (so later solves only read it)."""
    with StoreIndex.open(within=[str(p) for p in fx.providers()], cache_dir=str(directory)):
        pass
    return directory


def private_cache(warm: Path, tmp_path: Path) -> Path:
    """A copy of the warm cache dir for one test: its own locks, the index already there."""
    cache = tmp_path / "cache"
    shutil.copytree(warm, cache, ignore=shutil.ignore_patterns("locks", "links"))
    return cache


def cli(
    *args: str,
    cache: Path,
    stdin: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """``python -m autopatchelf ARGS`` with ``AUTOPATCHELF_CACHE_DIR=cache``."""
    environ = {**os.environ, "AUTOPATCHELF_CACHE_DIR": str(cache), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "autopatchelf", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=environ,
        timeout=timeout,
        check=False,
    )


class Executed(BaseException):  # not an Exception: the CLI turns those into exit 70
    def __init__(self, path: str, argv: list[str], env: dict[str, str]) -> None:
        super().__init__(path)
        self.path, self.argv, self.env = path, argv, env


def exec_of(argv: list[str]) -> Executed:
    with pytest.raises(Executed) as caught:
        main(argv)
    return caught.value
