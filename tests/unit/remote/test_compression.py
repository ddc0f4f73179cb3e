"""Sniffing and bounded streaming decompression; the hashing reader."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import os
import time

import pytest
import zstandard

from autopatchelf.remote import (
    Compression,
    CompressionError,
    HashingReader,
    IntegrityError,
    decompress,
    decompress_sniffed,
    open_decompressed,
    sniff,
)

DATA = os.urandom(200_000) + bytes(300_000)
COMPRESSORS = {
    Compression.XZ: lzma.compress,
    Compression.ZSTD: lambda d: zstandard.ZstdCompressor().compress(d),
    Compression.BZIP2: bz2.compress,
    Compression.GZIP: gzip.compress,
}


@pytest.mark.parametrize("compression", list(COMPRESSORS))
def test_round_trip_sniff_and_concatenation(compression: Compression) -> None:
    packed = COMPRESSORS[compression](DATA)
    assert sniff(packed[:6]) is compression
    assert decompress(packed, compression, limit=len(DATA), name="f") == DATA
    assert decompress_sniffed(packed + packed, limit=2 * len(DATA), name="f") == DATA + DATA
    reader = open_decompressed(io.BytesIO(packed), compression, limit=len(DATA), name="f")
    chunks = []
    while chunk := reader.read(1000):
        assert len(chunk) <= 1000
        chunks.append(chunk)
    assert b"".join(chunks) == DATA


@pytest.mark.parametrize("compression", list(COMPRESSORS))
@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty", "limit"])
def test_damage_is_named(compression: Compression, damage: str) -> None:
    packed = COMPRESSORS[compression](DATA)
    limit = len(DATA)
    if damage == "truncated":
        packed = packed[: len(packed) // 2]
    elif damage == "garbage":
        packed += b"this is not a stream at all"
    elif damage == "empty":
        packed = b""
    else:
        limit -= 1
    with pytest.raises(CompressionError, match=compression.value) as caught:
        decompress(packed, compression, limit=limit, name="nar/x.nar")
    assert str(caught.value).startswith("nar/x.nar: ")


def test_zstd_bomb_is_stopped_early() -> None:
    bomb = zstandard.ZstdCompressor(level=3).compress(bytes(128 << 20))
    assert len(bomb) < 20_000
    start = time.monotonic()
    with pytest.raises(CompressionError, match="more than 1000 bytes"):
        decompress(bomb, Compression.ZSTD, limit=1000, name="bomb")
    assert time.monotonic() - start < 1.0


def test_xz_bomb_is_stopped_early() -> None:
    bomb = lzma.compress(bytes(16 << 20), preset=0)
    start = time.monotonic()
    with pytest.raises(CompressionError, match="more than"):
        decompress_sniffed(bomb, limit=1 << 20, name="bomb")
    assert time.monotonic() - start < 1.0


def test_plain_and_unsupported() -> None:
    assert decompress_sniffed(b'{"version":1}', limit=100, name="x.ls") == b'{"version":1}'
    with pytest.raises(CompressionError, match="more than 5"):
        decompress_sniffed(b"123456", limit=5, name="x")
    for compression in (Compression.BROTLI, Compression.LZ4):
        with pytest.raises(CompressionError, match=f"'{compression.value}' is not supported"):
            decompress(b"x", compression, limit=10, name="x")


def test_from_field() -> None:
    assert Compression.from_field("") is Compression.BZIP2
    assert Compression.from_field("zstd") is Compression.ZSTD
    with pytest.raises(ValueError, match="unknown compression"):
        Compression.from_field("7z")


def test_hashing_reader() -> None:
    data = b"abc" * 1000
    digest = hashlib.sha256(data).digest()

    def reader(payload: bytes, size: int = len(data)) -> HashingReader:
        return HashingReader(
            io.BytesIO(payload), name="n", what="NAR", algorithm="sha256", digest=digest, size=size
        )

    ok = reader(data)
    assert ok.read(10) == data[:10]
    ok.verify()
    assert ok.count == len(data)
    with pytest.raises(IntegrityError, match="NAR hash mismatch: expected sha256:"):
        reader(data[:-1] + b"x").verify()
    with pytest.raises(IntegrityError, match="is 2999 bytes, expected 3000"):
        reader(data[:-1]).verify()
    with pytest.raises(IntegrityError, match="longer than the expected 3000"):
        reader(data + b"x").verify()
