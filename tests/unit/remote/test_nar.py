"""The streaming NAR reader: real ``nix-store --dump`` output and malformed NARs."""

from __future__ import annotations

import io
import os
import re
import stat
import struct
import subprocess
import time
from pathlib import Path

import pytest

from autopatchelf.remote import (
    EntryKind,
    NarError,
    NarLimits,
    NarReader,
    extract_files,
    is_elf,
    regular_in_dirs,
)

from ._narbuild import nar, node, string
from ._nix import find_store_path, require_nix

TREE = {
    "bin": {"tool": ("x", b"#!/bin/sh\n")},
    "lib": {
        "libz.so": ("s", "libz.so.1"),
        "libz.so.1": b"\x7fELF" + bytes(100),
        "notes.txt": b"hi",
    },
    "empty": {},
}


def entries_of(data: bytes, **kwargs: object) -> list[tuple[str, EntryKind, bool, int, str | None]]:
    reader = NarReader(io.BytesIO(data), name="t.nar", **kwargs)  # type: ignore[arg-type]
    return [(e.path, e.kind, e.executable, e.size, e.target) for e in reader.entries()]


def test_synthetic_tree() -> None:
    assert entries_of(nar(TREE)) == [
        ("", EntryKind.DIRECTORY, False, 0, None),
        ("bin", EntryKind.DIRECTORY, False, 0, None),
        ("bin/tool", EntryKind.REGULAR, True, 10, None),
        ("empty", EntryKind.DIRECTORY, False, 0, None),
        ("lib", EntryKind.DIRECTORY, False, 0, None),
        ("lib/libz.so", EntryKind.SYMLINK, False, 0, "libz.so.1"),
        ("lib/libz.so.1", EntryKind.REGULAR, False, 104, None),
        ("lib/notes.txt", EntryKind.REGULAR, False, 2, None),
    ]
    assert entries_of(nar(b"single file")) == [("", EntryKind.REGULAR, False, 11, None)]
    assert entries_of(nar(("s", "/target"))) == [("", EntryKind.SYMLINK, False, 0, "/target")]


def test_extract_with_head_predicate() -> None:
    contents = extract_files(
        io.BytesIO(nar(TREE)), name="t", want=regular_in_dirs(["lib"]), head=is_elf
    )
    assert dict(contents.files) == {"lib/libz.so.1": b"\x7fELF" + bytes(100)}
    assert len(contents.entries) == 8
    entry = contents.entry("lib/libz.so.1")
    assert entry is not None and entry.offset is not None
    assert nar(TREE)[entry.offset : entry.offset + entry.size] == contents.files["lib/libz.so.1"]


def test_partial_reads_then_skip() -> None:
    reader = NarReader(io.BytesIO(nar(TREE)), name="t")
    seen = {}
    for entry in reader.entries():
        if entry.kind is EntryKind.REGULAR:
            seen[entry.path] = reader.read(1)
    assert seen == {"bin/tool": b"#", "lib/libz.so.1": b"\x7f", "lib/notes.txt": b"h"}


def _bad(data: bytes, message: str, **limits: int) -> NarError:
    with pytest.raises(NarError, match=re.escape(message)) as caught:
        entries_of(data, limits=NarLimits(**limits))
    assert str(caught.value).startswith("t.nar: invalid NAR at byte ")
    return caught.value


def test_truncated_everywhere() -> None:
    data = nar(TREE)
    for cut in range(0, len(data), 7):
        _bad(data[:cut], "truncated")


def test_malformed() -> None:
    good = nar({"a": b"x"})
    _bad(string(b"nix-archive-2") + node(b""), "not a NAR")
    _bad(good + b"\0" * 8, "trailing data")
    _bad(good.replace(b"x" + bytes(7), b"x\1" + bytes(6)), "non-zero padding")
    err = _bad(good.replace(string(b"regular"), string(b"regulax")), "unknown node type")
    assert err.offset == good.index(string(b"regular"))
    _bad(good.replace(string(b"contents"), string(b"contentz")), "expected 'contents'")
    _bad(good.replace(string(b"entry"), string(b"entrx")), "expected 'entry' or ')'")
    # Executable marker with a value; "executable" after contents.
    _bad(
        nar(("x", b"")).replace(
            string(b"executable") + string(b""), string(b"executable") + string(b"1")
        ),
        "executable marker",
    )


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (b"", "empty entry name"),
        (b".", "entry name '.'"),
        (b"..", "entry name '..'"),
        (b"a/b", "contains '/' or NUL"),
        (b"a\0b", "contains '/' or NUL"),
    ],
)
def test_bad_names(name: bytes, message: str) -> None:
    data = nar({"placeholder": b"x"}).replace(string(b"placeholder"), string(name))
    _bad(data, message)


def test_unsorted_and_duplicate_entries() -> None:
    ordered = nar({"a": b"1", "b": b"2"})
    swapped = ordered.replace(string(b"a"), string(b"c"))  # c before b
    _bad(swapped, "not sorted")
    _bad(ordered.replace(string(b"b"), string(b"a")), "not sorted")


def test_limits() -> None:
    huge = string(b"nix-archive-1") + string(b"(") + string(b"type") + string(b"regular")
    huge += string(b"contents") + struct.pack("<Q", 1 << 62)
    _bad(huge, "more than")
    big_tag = string(b"nix-archive-1") + struct.pack("<Q", 1 << 60)
    _bad(big_tag, "length 1152921504606846976, more than")
    deep: object = b"x"
    for _ in range(10):
        deep = {"d": deep}
    _bad(nar(deep), "nested deeper than 5", max_depth=5)
    _bad(nar({"n" * 20: b""}), "entry name has length 20, more than 10", max_name=10)
    _bad(nar({str(i): b"" for i in range(10)}), "more than 5 entries", max_entries=5)
    _bad(nar({"a": b"123456"}), "size 6, more than 5", max_file_size=5)


def test_deep_nesting_is_not_recursive() -> None:
    level = string(b"(") + string(b"type") + string(b"directory") + string(b"entry")
    level += string(b"(") + string(b"name") + string(b"d") + string(b"node")
    close = string(b")") + string(b")")  # the entry, then the directory
    data = string(b"nix-archive-1") + level * 2000 + node(b"x") + close * 2000
    assert len(entries_of(data, limits=NarLimits(max_depth=5000))) == 2001


def _walk(root: Path) -> dict[str, tuple[EntryKind, bool, bytes | str | None]]:
    found: dict[str, tuple[EntryKind, bool, bytes | str | None]] = {
        "": (EntryKind.DIRECTORY, False, None)
    }
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            full = Path(directory, name)
            rel = str(full.relative_to(root))
            mode = full.lstat().st_mode
            if stat.S_ISLNK(mode):
                found[rel] = (EntryKind.SYMLINK, False, os.readlink(full))
            elif stat.S_ISDIR(mode):
                found[rel] = (EntryKind.DIRECTORY, False, None)
            else:
                found[rel] = (EntryKind.REGULAR, bool(mode & stat.S_IXUSR), full.read_bytes())
    return found


def nar_tree(data: bytes, name: str) -> dict[str, tuple[EntryKind, bool, bytes | str | None]]:
    contents = extract_files(io.BytesIO(data), name=name, want=lambda e: True)
    return {
        e.path: (e.kind, e.executable, contents.files.get(e.path, e.target))
        for e in contents.entries
    }


@pytest.mark.parametrize("fragment", ["-zlib1g-", "-libc6-2"])
def test_real_dump_matches_disk(fragment: str) -> None:
    require_nix()
    path = find_store_path(fragment)
    data = subprocess.run(
        ["nix-store", "--dump", str(path)], capture_output=True, check=True
    ).stdout
    start = time.perf_counter()
    tree = nar_tree(data, str(path))
    seconds = time.perf_counter() - start
    assert tree == _walk(path)
    assert any(kind is EntryKind.SYMLINK for kind, _, _ in tree.values())
    print(f"{path.name}: {len(data) / seconds / 1e6:.0f} MB/s ({len(data)} bytes)")
