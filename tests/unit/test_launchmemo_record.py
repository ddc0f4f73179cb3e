"""The launch record's codec: any path and argument round-trips; anything damaged reads as
no record (see :mod:`autopatchelf.actions.launchmemo`)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autopatchelf.actions import launchmemo

# Paths and arguments are bytes without NUL; as str, undecodable bytes are surrogates.
words = st.binary(max_size=40).filter(lambda b: b"\0" not in b).map(os.fsdecode)
pairs = st.lists(st.tuples(words, words), max_size=5)


@settings(max_examples=200, deadline=None)
@given(
    key=st.lists(words, min_size=5, max_size=9),
    watched=pairs,
    launch=st.lists(words, min_size=1, max_size=6),
)
def test_any_record_round_trips(
    tmp_path_factory: pytest.TempPathFactory,
    key: list[str],
    watched: list[tuple[str, str]],
    launch: list[str],
) -> None:
    path = os.path.join(str(tmp_path_factory.mktemp("r")), "record")
    assert launchmemo.write_record(path, key, watched, launch)
    assert launchmemo.read_record(path) == (tuple(key), tuple(watched), tuple(launch))


def _written(tmp_path: Path) -> Path:
    path = tmp_path / "record"
    key = ["v", "/cwd", "/cache", "/nix/store", "/nix/var/nix", "run", "/bin/app"]
    assert launchmemo.write_record(str(path), key, [("/bin/app", "1:2:3:4:5")], ["/ld.so", "x"])
    return path


def test_every_truncation_and_every_flipped_byte_is_no_record(tmp_path: Path) -> None:
    path = _written(tmp_path)
    data = path.read_bytes()
    for cut in range(len(data)):
        path.write_bytes(data[:cut])
        assert launchmemo.read_record(str(path)) is None, cut
    for at in range(len(data)):
        path.write_bytes(data[:at] + bytes([data[at] ^ 0x20]) + data[at + 1 :])
        assert launchmemo.read_record(str(path)) is None, at


def test_only_run_commands_are_looked_up(tmp_path: Path) -> None:
    assert launchmemo.recorded_launch([]) is None
    assert launchmemo.recorded_launch(["run"]) is None
    assert launchmemo.recorded_launch(["solve", str(_written(tmp_path))]) is None
    assert launchmemo.read_record(str(tmp_path / "missing")) is None


def test_stamps_change_with_the_file_and_say_when_it_is_absent(tmp_path: Path) -> None:
    path = tmp_path / "f"
    assert launchmemo.stamp(str(path)) == launchmemo.ABSENT
    path.write_bytes(b"a")
    first = launchmemo.stamp(str(path))
    path.write_bytes(b"ab")
    assert launchmemo.stamp(str(path)) not in (first, launchmemo.ABSENT)
    assert launchmemo.stamp("bad\0path") == launchmemo.ABSENT
