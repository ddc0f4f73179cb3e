"""Hostile input: mutated, truncated or random bytes give the module's own error only."""

from __future__ import annotations

import io
import json
import lzma
from collections.abc import Callable

import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nixindex_writer import Package, encode_database

from autopatchelf.remote import (
    CompressionError,
    ListingError,
    NarError,
    NarInfo,
    NarInfoError,
    NixIndexError,
    StorePathListError,
    decompress_sniffed,
    extract_files,
    parse_store_paths,
    read_packages,
)
from autopatchelf.remote.listing import Listing

from ._narbuild import nar

NAR = nar(
    {"lib": {"a.so": ("s", "b.so"), "b.so": b"\x7fELF" + bytes(20)}, "bin": {"x": ("x", b"#!")}}
)
LISTING = json.dumps(
    {
        "version": 1,
        "root": {
            "type": "directory",
            "entries": {
                "lib": {
                    "type": "directory",
                    "entries": {
                        "a.so": {"type": "symlink", "target": "b.so"},
                        "b.so": {"type": "regular", "size": 24, "narOffset": 400},
                    },
                }
            },
        },
    }
).encode()
NARINFO = (
    b"StorePath: /nix/store/5nwcs54gk9n0vsahc57bm0kakpfv7zjf-zlib-1.3\nURL: nar/x.nar.xz\n"
    b"Compression: xz\nNarHash: sha256:02q7fnhfkj1nqwhq0zxlf5zq8n2djm9pynq8dplqbpp0nqmi22xi\n"
    b"NarSize: 166384\nReferences: 5nwcs54gk9n0vsahc57bm0kakpfv7zjf-zlib-1.3\nSig: k:"
    + b"A" * 86
    + b"==\n"
)
NIXINDEX_BODY = encode_database(
    [Package("5nwcs54gk9n0vsahc57bm0kakpfv7zjf", "zlib-1.3", {"lib": {"libz.so": ("r", 5)}})]
)
HEADER = b"NIXI" + (1).to_bytes(8, "little")

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def mutated(draw: st.DrawFn, base: bytes) -> bytes:
    data = bytearray(base)
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["flip", "cut", "insert", "delete"]))
        position = draw(st.integers(0, max(len(data) - 1, 0)))
        if action == "flip" and data:
            data[position] ^= draw(st.integers(1, 255))
        elif action == "cut":
            del data[position:]
        elif action == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=16))
        elif data:
            del data[position : position + draw(st.integers(1, 16))]
    return bytes(data)


def only(error: type[Exception], call: Callable[[], object]) -> None:
    """``call`` succeeds, or raises ``error`` (nothing else) with a one-line message."""
    message = ""
    try:
        call()
    except error as caught:
        message = str(caught)
    assert "\n" not in message


@FAST
@given(mutated(NAR))
def test_nar(data: bytes) -> None:
    only(NarError, lambda: extract_files(io.BytesIO(data), name="n", want=lambda e: True))


@FAST
@given(mutated(LISTING))
def test_listing(data: bytes) -> None:
    only(ListingError, lambda: Listing.parse(data, source="l"))


@FAST
@given(mutated(NARINFO))
def test_narinfo(data: bytes) -> None:
    only(NarInfoError, lambda: NarInfo.parse(data, url="u"))


@FAST
@given(mutated(NIXINDEX_BODY))
def test_nixindex(data: bytes) -> None:
    packed = HEADER + zstandard.ZstdCompressor().compress(data)
    only(NixIndexError, lambda: list(read_packages(io.BytesIO(packed), name="db")))


@FAST
@given(mutated(HEADER + zstandard.ZstdCompressor().compress(NIXINDEX_BODY)))
def test_nixindex_compressed(data: bytes) -> None:
    only(NixIndexError, lambda: list(read_packages(io.BytesIO(data), name="db", dirs=["lib"])))


@FAST
@given(mutated(lzma.compress(NAR)))
def test_compressed(data: bytes) -> None:
    only(CompressionError, lambda: decompress_sniffed(data, limit=1 << 16, name="c"))


@FAST
@given(mutated(b"/nix/store/5nwcs54gk9n0vsahc57bm0kakpfv7zjf-zlib-1.3\n" * 3))
def test_store_paths(data: bytes) -> None:
    only(StorePathListError, lambda: parse_store_paths(data, source="s"))


@FAST
@given(st.binary(max_size=300))
def test_random_bytes(data: bytes) -> None:
    only(NarError, lambda: extract_files(io.BytesIO(data), name="n", want=lambda e: True))
    only(ListingError, lambda: Listing.parse(data, source="l"))
    only(NarInfoError, lambda: NarInfo.parse(data, url="u"))
    only(NixIndexError, lambda: list(read_packages(io.BytesIO(HEADER + data), name="db")))
    only(StorePathListError, lambda: parse_store_paths(data, source="s"))
