"""A binary's sha256 is read from a record while the file is unchanged (device, inode,
size, mtime, ctime), and computed again after any change, even one that restores the
mtime."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

from autopatchelf.actions.locks.hashing import known_sha256
from autopatchelf.actions.locks.locations import hash_record_path


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_the_record_is_used_while_the_file_is_unchanged(tmp_path: Path) -> None:
    binary = tmp_path / "app"
    binary.write_bytes(b"one")
    cache = str(tmp_path / "cache")
    assert known_sha256(str(binary), cache) == sha(b"one")
    st = binary.stat()
    record = Path(hash_record_path(st.st_dev, st.st_ino, cache))
    assert record.read_text().endswith(" " + sha(b"one"))
    # The record is what is read: a planted digest is believed while the stamp matches...
    stamp = record.read_text().rpartition(" ")[0]
    record.write_text(f"{stamp} {'0' * 64}")
    assert known_sha256(str(binary), cache) == "0" * 64
    # ...and a write that restores the mtime still changes the ctime.
    time.sleep(0.01)
    binary.write_bytes(b"two")
    os.utime(binary, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert known_sha256(str(binary), cache) == sha(b"two")


def test_a_broken_record_or_cache_only_costs_the_hash(tmp_path: Path) -> None:
    binary = tmp_path / "app"
    binary.write_bytes(b"x")
    cache = tmp_path / "cache"
    st = binary.stat()
    record = Path(hash_record_path(st.st_dev, st.st_ino, str(cache)))
    record.parent.mkdir(parents=True)
    record.write_bytes(b"\xff\xfe garbage")
    assert known_sha256(str(binary), str(cache)) == sha(b"x")
    unwritable = tmp_path / "file-not-dir"
    unwritable.write_text("")
    assert known_sha256(str(binary), str(unwritable)) == sha(b"x")
