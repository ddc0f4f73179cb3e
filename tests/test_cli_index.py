"""``autopatchelf index``: output formats, errors, and the real entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from autopatchelf.cli import main

sys.path.insert(0, os.path.dirname(__file__))
import nixutil


@pytest.fixture
def store(tmp_path: Path) -> Path:
    nixutil.require_gcc()
    nixutil.build_plain_store(tmp_path / "store")
    return tmp_path / "store"


def test_json_output(store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["index", "--store", str(store), "--cache-dir", str(tmp_path / "c"), "--format", "json"]
    assert main([*argv, "--soname", "libz.so.1"]) == 0
    out, err = capsys.readouterr()
    document = json.loads(out)
    stats = document["stats"]
    assert stats["backend"] == "plain"
    assert (stats["store_paths"], stats["files"], stats["sonames"]) == (4, 4, 5)
    assert (stats["paths_scanned"], stats["files_cached"]) == (4, 0)
    assert stats["cache_file"].startswith(str(tmp_path / "c"))
    assert [c["soname"] for c in document["candidates"]["libz.so.1"]] == ["libz.so.1"] * 2
    assert err == ""  # not a TTY: no progress bar
    assert main(argv) == 0
    warm = json.loads(capsys.readouterr().out)["stats"]
    assert (warm["paths_scanned"], warm["files_read"], warm["files_cached"]) == (0, 0, 4)


def test_text_summary_and_stats_table(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["index", "--store", str(store), "--cache-dir", str(tmp_path / "c")]
    assert main(argv) == 0
    summary = capsys.readouterr().out
    assert summary.startswith("4 library files, 5 names, 4 store paths in ")
    assert main([*argv, "--stats", "--soname", "libdeb.so.0", "--soname", "libnone.so"]) == 0
    table = capsys.readouterr().out.splitlines()
    rows = {line[:26].strip(): line[26:].strip() for line in table if not line.startswith(" ")}
    assert rows["library files"] == "4"
    assert rows["skipped: bad ELF"] == "1"
    assert rows["paths from cache"] == "4"
    assert rows["ELF files read"] == "0"
    assert "libnone.so: no candidates" in table
    assert any(line.strip().endswith("usr/lib/x86_64-linux-gnu/libdeb.so.0") for line in table)


def test_within_narrows(store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (foo,) = store.glob("*-foo-2.0")
    argv = ["index", "--store", str(store), "--cache-dir", str(tmp_path / "c"), "--format", "json"]
    assert main([*argv, "--within", str(foo)]) == 0
    assert json.loads(capsys.readouterr().out)["stats"]["store_paths"] == 2


def test_missing_store_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["index", "--store", str(tmp_path / "nope"), "--cache-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("autopatchelf: error: store directory")
    assert "hint:" in err
    assert err.count("\n") == 1


@pytest.mark.nix
def test_module_entry_point_on_nix_store(tmp_path: Path) -> None:
    nixutil.require_nix()
    (app,) = [p for p in nixutil.build_sample(tmp_path).values() if p.endswith("-app-0.5")]
    done = subprocess.run(
        [sys.executable, "-m", "autopatchelf", "index", "--within", app, "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "AUTOPATCHELF_CACHE_DIR": str(tmp_path / "cache")},
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    )
    assert done.returncode == 0, done.stderr
    stats = json.loads(done.stdout)["stats"]
    assert stats["backend"] == "nix-db"
    assert stats["store_paths"] == 3
    assert stats["cache_file"].startswith(str(tmp_path / "cache"))
