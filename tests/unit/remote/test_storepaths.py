"""Store-path lists (``store-paths.xz``)."""

from __future__ import annotations

import lzma
from pathlib import Path

import pytest
import zstandard

from autopatchelf.remote import StorePathListError, parse_store_paths, read_store_paths

PATHS = [
    "/nix/store/5nwcs54gk9n0vsahc57bm0kakpfv7zjf-zlib-1.3",
    "/nix/store/c21cdmcx0qnzcvjyzdi4pi647cbqnzsw-glibc-2.41-lib",
]
TEXT = ("\n".join(PATHS) + "\n\n").encode()


@pytest.mark.parametrize(
    "packed",
    [TEXT, lzma.compress(TEXT), zstandard.ZstdCompressor().compress(TEXT)],
    ids=["plain", "xz", "zstd"],
)
def test_forms_are_sniffed(tmp_path: Path, packed: bytes) -> None:
    path = tmp_path / "store-paths.bin"  # the suffix says nothing
    path.write_bytes(packed)
    parsed = read_store_paths(path)
    assert [str(p) for p in parsed] == PATHS
    assert parsed[1].name == "glibc"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("/nix/store/short-zlib", "line 2: '/nix/store/short-zlib' is not a store path"),
        ("/gnu/store/5nwcs54gk9n0vsahc57bm0kakpfv7zjf-zlib", "line 2"),
        ("/nix/store/5nwcs54gk9n0vsahc57bm0kakpfv7zjf-zlib/lib", "line 2"),
        ("nix/store/5nwcs54gk9n0vsahc57bm0kakpfv7zjf-zlib", "line 2"),
    ],
)
def test_bad_lines(line: str, message: str) -> None:
    with pytest.raises(StorePathListError, match=message):
        parse_store_paths(f"{PATHS[0]}\n{line}\n".encode(), source="sp")


def test_bounds_and_damage(tmp_path: Path) -> None:
    with pytest.raises(StorePathListError, match="line 1 is not UTF-8"):
        parse_store_paths(b"\xff\n", source="sp")
    with pytest.raises(StorePathListError, match="xz stream"):
        parse_store_paths(lzma.compress(TEXT)[:-4], source="sp")
    with pytest.raises(StorePathListError, match="more than 10"):
        parse_store_paths(lzma.compress(TEXT), source="sp", limit=10)
    big = tmp_path / "big"
    big.write_bytes(TEXT * 10)
    with pytest.raises(StorePathListError, match="larger than 100"):
        read_store_paths(big, limit=100)
    with pytest.raises(StorePathListError, match="cannot read"):
        read_store_paths(tmp_path / "missing")
