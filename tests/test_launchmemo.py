"""Recorded launches: the second ``run`` of a command starts from the record of the first
verified start, and any change to what that verification looked at sends it back to the
full path (which verifies, and records again).

Which path a start took is read from the interpreter's own import log
(``PYTHONPROFILEIMPORTTIME``): the full path imports the CLI, a recorded start does not.
"""

from __future__ import annotations

import os
import shutil
import zlib
from pathlib import Path

import pytest
from fixtures import SCENARIOS, FixtureStore
from runhelp import cli, exec_of, within_args

from autopatchelf.actions import launchmemo
from autopatchelf.actions.locks.locations import launch_record_path
from autopatchelf.actions.locks.lockfile import read_lock
from autopatchelf.actions.locks.verify import watched_paths

PRINTS = SCENARIOS["bundled"].prints


def bundled_tree(fx: FixtureStore, tmp_path: Path, cache: Path) -> Path:
    """A copy of the bundled app's tree with its lock shipped beside the binary."""
    tree = tmp_path / "app"
    shutil.copytree(fx.apps["bundled"].parent.parent, tree, symlinks=True)
    binary = tree / "bin" / "app"
    done = cli(
        "solve", *within_args(fx), "--lock", f"{binary}.autopatchelf.lock", str(binary), cache=cache
    )
    assert done.returncode == 0, done.stderr
    return binary


def start(cache: Path, *words: str) -> tuple[bool, str]:
    """Run ``autopatchelf WORDS``; whether it was a recorded start, and the program's stdout."""
    done = cli(*words, cache=cache, env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    imports = [line for line in done.stderr.splitlines() if line.startswith("import time:")]
    assert imports, "the import log is missing: the test cannot tell the paths apart"
    full = any(line.endswith(" autopatchelf.cli") for line in imports)
    return not full, done.stdout


def record_of(binary: Path, cache: Path) -> str:
    st = os.stat(binary)
    return launch_record_path(st.st_dev, st.st_ino, str(cache))


@pytest.fixture
def binary(fixture_store: FixtureStore, tmp_path: Path, cache: Path) -> Path:
    return bundled_tree(fixture_store, tmp_path, cache)


def test_second_start_is_recorded_and_is_what_verifying_gives(
    binary: Path, cache: Path, monkeypatch: pytest.MonkeyPatch, execs: None
) -> None:
    words = ["run", str(binary), "--", "one", "two words"]
    first, out = start(cache, *words)
    assert (first, start(cache, *words)) == (False, (True, out))
    assert PRINTS in out
    # The recorded launch is the full path's own, program arguments included.
    full = exec_of(words)
    assert launchmemo.recorded_launch(words) == (full.path, full.argv)
    other = launchmemo.recorded_launch(["run", str(binary), "--", "-x"])
    assert other == (full.path, [*full.argv[:-2], "-x"])


def test_watched_paths_are_the_store_paths_and_the_bundled_files(binary: Path) -> None:
    lock = read_lock(f"{binary}.autopatchelf.lock")
    watched = watched_paths(lock, str(binary))
    assert set(lock.store_paths) <= set(watched)
    bundled = binary.parent.parent / "lib" / "libbundled.so.1"
    assert str(bundled) in watched
    assert all(p in lock.store_paths or not p.startswith("/nix/store/") for p in watched)


def _touch_binary(binary: Path) -> None:
    os.utime(binary)


def _rewrite_lock(binary: Path) -> None:
    _rewrite_lock_file(Path(f"{binary}.autopatchelf.lock"))


def _replace_bundled_lib(binary: Path) -> None:
    lib = binary.parent.parent / "lib" / "libbundled.so.1"
    real = lib.resolve()
    copy = real.with_name(real.name + ".new")
    shutil.copy2(real, copy)
    os.replace(copy, real)  # the same bytes under a new inode


def _drop_the_record(binary: Path) -> None:
    cache = Path(os.environ["AUTOPATCHELF_CACHE_DIR"])
    os.unlink(record_of(binary, cache))


def _corrupt_the_record(binary: Path) -> None:
    cache = Path(os.environ["AUTOPATCHELF_CACHE_DIR"])
    path = Path(record_of(binary, cache))
    path.write_bytes(path.read_bytes()[:-7])


def _foreign_version(binary: Path) -> None:
    """The record rewritten by another version: intact (its CRC-32 matches), not ours."""
    cache = Path(os.environ["AUTOPATCHELF_CACHE_DIR"])
    path = Path(record_of(binary, cache))
    data = path.read_bytes().rpartition(b"\0")[0].replace(b"launch/1", b"launch/0", 1)
    path.write_bytes(data + b"\0" + b"%08x" % zlib.crc32(data))


@pytest.mark.parametrize(
    "change",
    [
        _touch_binary,
        _rewrite_lock,
        _replace_bundled_lib,
        _drop_the_record,
        _corrupt_the_record,
        _foreign_version,
    ],
)
def test_a_change_means_the_full_path_then_a_new_record(
    binary: Path, cache: Path, change: object
) -> None:
    words = ["run", str(binary), "--", "x"]
    start(cache, *words)
    assert start(cache, *words)[0]
    change(binary)  # type: ignore[operator]
    recorded, out = start(cache, *words)
    assert not recorded and PRINTS in out
    assert start(cache, *words) == (True, out)


def test_a_lock_appearing_where_none_was_is_a_change(
    fixture_store: FixtureStore, binary: Path, cache: Path, tmp_path: Path
) -> None:
    """Started from the cached lock first; then a shipped lock appears beside the binary."""
    shipped = Path(f"{binary}.autopatchelf.lock")
    kept = tmp_path / "kept.lock"
    shutil.move(shipped, kept)
    words = ["run", *within_args(fixture_store), str(binary), "--"]
    start(cache, *words)  # solved: the lock is cached now
    start(cache, *words)  # verified from the cache: recorded
    assert start(cache, *words)[0]
    shutil.copy(kept, shipped)
    assert start(cache, *words)[0] is False


def test_other_words_directory_or_cache_are_other_commands(
    binary: Path, cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    words = ["run", str(binary), "--", "a"]
    start(cache, *words)
    assert launchmemo.recorded_launch(words) is not None
    assert launchmemo.recorded_launch(["run", "--frozen", str(binary), "--", "a"]) is None
    # Without --, a word that might be one of our options is for the full parser to judge.
    assert launchmemo.recorded_launch(["run", str(binary), "a"]) is None
    start(cache, "run", str(binary), "a")
    assert launchmemo.recorded_launch(["run", str(binary), "b"]) is not None
    assert launchmemo.recorded_launch(["run", str(binary), "--lock=x"]) is None
    assert launchmemo.recorded_launch(["run", str(binary), "-v"]) is None
    monkeypatch.chdir(tmp_path)
    assert launchmemo.recorded_launch(words) is None
    monkeypatch.chdir(binary.parent)
    assert launchmemo.recorded_launch(["run", "./app", "--", "a"]) is None
    monkeypatch.setenv("AUTOPATCHELF_CACHE_DIR", str(tmp_path / "elsewhere"))
    assert launchmemo.recorded_launch(words) is None


def test_no_record_for_a_run_that_had_something_to_say(
    fixture_store: FixtureStore, binary: Path, cache: Path
) -> None:
    """A stale lock is re-solved (with a note): that start leaves no record; the next,
    from the rewritten lock, does."""
    shipped = Path(f"{binary}.autopatchelf.lock")
    locked = read_lock(str(shipped)).sha256
    shipped.write_text(shipped.read_text().replace(locked, "e" * 64))
    words = ["run", *within_args(fixture_store), str(binary), "--"]
    done = cli(*words, cache=cache)
    assert done.returncode == 0 and "re-solved" in done.stderr
    assert not os.path.exists(record_of(binary, cache))
    start(cache, *words)
    assert start(cache, *words)[0]


def test_a_binary_of_an_app_lock_is_recorded_too(
    fixture_store: FixtureStore, binary: Path, cache: Path
) -> None:
    tree = binary.parent.parent
    app_lock = tree / "app.autopatchelf.lock"
    done = cli(
        "solve", *within_args(fixture_store), str(tree), "--lock", str(app_lock), cache=cache
    )
    assert done.returncode == 0, done.stderr
    words = ["run", "--lock", str(app_lock), str(binary), "--"]
    assert start(cache, *words)[0] is False
    recorded, out = start(cache, *words)
    assert recorded and PRINTS in out
    _rewrite_lock_file(app_lock)
    assert start(cache, *words)[0] is False


def _rewrite_lock_file(path: Path) -> None:
    path.write_bytes(path.read_bytes())  # the same content: a new ctime is enough
