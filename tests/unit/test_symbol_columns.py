"""A requester's imports are decoded without its exports' names, yet a bad table fails the
same way whichever is asked first (as when both were decoded together)."""

from __future__ import annotations

import struct

import pytest

from autopatchelf.elf.symbols import DynamicSymbols
from autopatchelf.errors import ElfError

STRTAB = b"\0foo\0bar\0"
GLOBAL_FUNC = 0x12


def table(export_name: int = 1, export_versym: int = 1) -> DynamicSymbols:
    """Packed entries (st_name, st_info, st_other, st_shndx): the null symbol, an export
    ``foo`` (defined in section 1) and an import ``bar``."""
    entries = [(0, 0, 0, 0), (export_name, GLOBAL_FUNC, 0, 1), (5, GLOBAL_FUNC, 0, 0)]
    packed = b"".join(struct.pack("<IBBH", *entry) for entry in entries)
    versym = struct.pack("<3H", 0, export_versym, 1)
    return DynamicSymbols("<", 3, 8, packed, versym, STRTAB, path="/lib/libx.so")


def test_a_good_table_decodes_imports_and_exports_apart() -> None:
    symbols = table()
    assert symbols.unversioned_imports == {"bar"}
    assert symbols.versioned_imports == ()
    assert symbols.defined_names == {"foo"}
    assert symbols.exports("foo") and not symbols.exports("bar")


@pytest.mark.parametrize(
    ("bad", "message"),
    [({"export_versym": 7}, "version index 7"), ({"export_name": 400}, "past the strings")],
)
def test_a_bad_export_fails_the_imports_too_with_the_same_error(
    bad: dict[str, int], message: str
) -> None:
    with pytest.raises(ElfError, match=message) as from_imports:
        _ = table(**bad).versioned_imports
    with pytest.raises(ElfError) as from_exports:
        _ = table(**bad).defined_names
    assert str(from_imports.value) == str(from_exports.value)
