"""Nix base-32 and hash notations, against Nix's own conversions."""

from __future__ import annotations

import base64
import hashlib
import subprocess

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autopatchelf.store import nixbase32

from ._nix import require_nix

# From a real narinfo (nix copy of zlib1g): NarHash and `nix-store --dump | sha256sum`.
KNOWN_HEX = "b10b112bb6e0de85e96d085b7f53954d58847f71b47f8021c736c8e9a075070b"
KNOWN_B32 = "02q7fnhfkj1nqwhq0zxlf5zq8n2djm9pynq8dplqbpp0nqmi22xi"


def test_known_value() -> None:
    assert nixbase32.encode(bytes.fromhex(KNOWN_HEX)) == KNOWN_B32
    assert nixbase32.decode(KNOWN_B32).hex() == KNOWN_HEX


@given(st.binary(max_size=80))
def test_round_trip_and_length(data: bytes) -> None:
    text = nixbase32.encode(data)
    assert len(text) == -(-len(data) * 8 // 5)
    assert set(text) <= set(nixbase32.ALPHABET)
    assert nixbase32.decode(text) == data


def test_agrees_with_nix_hash() -> None:
    require_nix()
    for data in (b"", b"a", b"hello world\n", bytes(range(256))):
        for algo in ("md5", "sha1", "sha256", "sha512"):
            hex_digest = hashlib.new(algo, data).hexdigest()
            nix = subprocess.run(
                ["nix-hash", "--type", algo, "--to-base32", hex_digest],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            assert nixbase32.encode(bytes.fromhex(hex_digest)) == nix


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("e" * 52, "character"),
        ("0" * 51, "length"),
        ("z" + "0" * 51, "padding"),  # 52 chars carry 260 bits; the top 4 must be 0
        ("0" * 51 + "u", "character"),
    ],
)
def test_decode_rejects(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        nixbase32.decode(text)


def test_parse_hash_forms() -> None:
    digest = bytes.fromhex(KNOWN_HEX)
    b64 = base64.b64encode(digest).decode()
    for text in (
        f"sha256:{KNOWN_B32}",
        f"sha256:{KNOWN_HEX}",
        f"sha256:{KNOWN_HEX.upper()}",
        f"sha256:{b64}",
        f"sha256-{b64}",
    ):
        assert nixbase32.parse_hash(text) == ("sha256", digest), text
    sha1 = hashlib.sha1(b"x").digest()
    assert nixbase32.parse_hash("sha1:" + nixbase32.encode(sha1)) == ("sha1", sha1)
    assert nixbase32.format_hash("sha256", digest) == f"sha256:{KNOWN_B32}"


@pytest.mark.parametrize(
    "text",
    [
        KNOWN_B32,  # no algorithm
        f"sha257:{KNOWN_B32}",
        f"sha256:{KNOWN_B32[:-1]}",
        f"sha256:{'g' * 64}",
        "sha256-" + "!" * 44,
        "sha256-" + base64.b64encode(b"x" * 31).decode(),
        "sha256:" + "x" * 1000,
    ],
)
def test_parse_hash_rejects(text: str) -> None:
    with pytest.raises(ValueError, match=r"hash|digest|base-"):
        nixbase32.parse_hash(text)


def test_parse_hash_expected_algorithm() -> None:
    with pytest.raises(ValueError, match="expected a sha512"):
        nixbase32.parse_hash(f"sha256:{KNOWN_B32}", algorithm="sha512")
