"""Staging a replacement file (``actions/patching/atomic.py``): its data is synced to the
disk on another thread while the check reads it back, its metadata after; a failing sync
or check leaves the original as it was and no temporary file."""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path

import pytest

from autopatchelf.actions.patching import atomic
from autopatchelf.errors import PatchError

WAIT = 10.0  # seconds: far beyond what a sync of a few bytes takes


def original(tmp_path: Path) -> Path:
    path = tmp_path / "program"
    path.write_bytes(b"old content\n")
    path.chmod(0o751)
    return path


def temps(directory: Path) -> list[str]:
    return sorted(name for name in os.listdir(directory) if atomic.is_temp(name))


def test_the_data_is_synced_while_the_check_runs_and_the_metadata_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = original(tmp_path)
    real_datasync, real_fsync = os.fdatasync, os.fsync
    checking, synced = threading.Event(), threading.Event()
    events: list[tuple[str, int]] = []

    def datasync(fd: int) -> None:
        assert checking.wait(WAIT), "the data sync waited for a check that never ran"
        real_datasync(fd)
        events.append(("datasync", threading.get_ident()))
        synced.set()

    def fsync(fd: int) -> None:
        real_fsync(fd)
        events.append(("fsync", threading.get_ident()))

    def check(temp: str) -> None:
        assert Path(temp).read_bytes() == b"new content\n"
        checking.set()
        # Only a sync running beside this check can finish while the check waits.
        assert synced.wait(WAIT), "the data was not synced while the check ran"
        events.append(("checked", threading.get_ident()))

    monkeypatch.setattr(os, "fdatasync", datasync)
    monkeypatch.setattr(os, "fsync", fsync)
    temp = atomic.stage(str(path), b"new content\n", path.stat(), check)
    me = threading.get_ident()
    assert [name for name, _ in events] == ["datasync", "checked", "fsync"]
    assert events[0][1] != me and events[1][1] == me and events[2][1] == me
    assert Path(temp).read_bytes() == b"new content\n"
    assert os.stat(temp).st_mode & 0o777 == 0o751
    atomic.commit(temp, str(path))
    assert path.read_bytes() == b"new content\n" and temps(tmp_path) == []
    assert not any(t.name == "autopatchelf-datasync" for t in threading.enumerate())


def test_a_failing_data_sync_is_a_patch_error_and_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = original(tmp_path)
    before = path.stat()

    def datasync(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "fdatasync", datasync)
    with pytest.raises(PatchError, match=r"cannot write the patched file.*Input/output error"):
        atomic.stage(str(path), b"new content\n", before, lambda temp: None)
    assert path.read_bytes() == b"old content\n"
    assert path.stat().st_mtime_ns == before.st_mtime_ns
    assert temps(tmp_path) == []


def test_a_failing_check_waits_for_the_sync_and_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = original(tmp_path)
    real_datasync = os.fdatasync
    finished: list[int] = []

    def datasync(fd: int) -> None:
        real_datasync(fd)
        finished.append(fd)

    def check(temp: str) -> None:
        raise PatchError("the written file is not as planned")

    monkeypatch.setattr(os, "fdatasync", datasync)
    with pytest.raises(PatchError, match="not as planned"):
        atomic.stage(str(path), b"new content\n", path.stat(), check)
    assert len(finished) == 1  # joined before the file was closed and removed
    assert path.read_bytes() == b"old content\n"
    assert temps(tmp_path) == []
