"""``.note.dlopen`` descriptors (the FDO ELF dlopen metadata spec): what is kept, what is
said about a malformed one; never an exception."""

from __future__ import annotations

import json

import pytest

from autopatchelf.elf._notes import parse_dlopen_note
from autopatchelf.elf.records import DlopenNote
from autopatchelf.options import DlopenPriority


def note(document: object) -> bytes:
    return json.dumps(document).encode() + b"\x00\x00\x00"


def test_systemd_style_entries() -> None:
    found, problem = parse_dlopen_note(
        note(
            [
                {
                    "feature": "zstd",
                    "description": "Support zstd compressed journal files",
                    "priority": "recommended",
                    "soname": ["libzstd.so.1"],
                },
                {"feature": "lz4", "priority": "suggested", "soname": ["liblz4.so.1"]},
                {"soname": ["libgcrypt.so.20", "libgcrypt.so.21"], "priority": "required"},
            ]
        )
    )
    assert problem is None
    assert found == (
        DlopenNote(
            ("libzstd.so.1",),
            DlopenPriority.RECOMMENDED,
            "zstd",
            "Support zstd compressed journal files",
        ),
        DlopenNote(("liblz4.so.1",), DlopenPriority.SUGGESTED, "lz4"),
        DlopenNote(("libgcrypt.so.20", "libgcrypt.so.21"), DlopenPriority.REQUIRED),
    )


def test_priority_defaults_to_recommended() -> None:
    found, problem = parse_dlopen_note(note([{"soname": ["libfoo.so.1"]}]))
    assert problem is None
    assert found == (DlopenNote(("libfoo.so.1",), DlopenPriority.RECOMMENDED),)


@pytest.mark.parametrize(
    ("descriptor", "said"),
    [
        (b"\x00", "is not JSON"),
        (b'[{"soname": ["a"]}', "is not JSON"),
        (b"\xff\xfe[]", "is not JSON"),
        (note({"soname": ["libfoo.so.1"]}), "is not a JSON array"),
        (note("libfoo.so.1"), "is not a JSON array"),
    ],
)
def test_a_descriptor_that_is_no_array_gives_nothing(descriptor: bytes, said: str) -> None:
    found, problem = parse_dlopen_note(descriptor)
    assert found == ()
    assert problem is not None and said in problem


def test_bad_entries_are_skipped_and_said_the_good_kept() -> None:
    found, problem = parse_dlopen_note(
        note(
            [
                {"soname": ["libok.so.1"]},
                "libstring.so.1",
                {"soname": []},
                {"soname": "libnotalist.so.1"},
                {"soname": [7]},
                {"soname": ["libx.so.1"], "priority": "mandatory"},
                {"soname": ["liby.so.1"], "feature": 3},
                {"soname": ["libz.so.1"], "priority": "suggested"},
            ]
        )
    )
    assert [n.sonames for n in found] == [("libok.so.1",), ("libz.so.1",)]
    assert problem is not None
    assert problem.startswith("a .note.dlopen note has bad entries (entry 1: not an object;")
    assert "entry 2: no soname array" in problem


def test_long_texts_are_cut() -> None:
    found, _ = parse_dlopen_note(note([{"soname": ["libok.so.1"], "description": "d" * 10000}]))
    assert found[0].description is not None and len(found[0].description) == 4096
    found, problem = parse_dlopen_note(note([{"soname": ["l" * 5000]}]))
    assert found == () and problem is not None and "not a name" in problem
