"""Nix's base-32 encoding of hashes, and the hash notations Nix accepts.

Facts relied on (Nix ``src/libutil/hash.cc``, checked against real output: a narinfo's
``NarHash: sha256:<52 chars>`` equals ``nix-store --dump PATH | sha256sum`` encoded here,
and ``nix-hash --type sha256 --to-base32 HEX`` agrees with :func:`encode`):

* The alphabet is ``0123456789abcdfghijklmnpqrsvwxyz`` (no ``e o t u``).
* ``n`` bytes encode to ``ceil(n * 8 / 5)`` characters. Read the bytes as one little-endian
  integer; the *last* character holds its lowest 5 bits, the one before the next 5, and so
  on. The unused high bits of the first character must be zero.
* A hash is written ``<algo>:<digest>`` with the digest in base-16 (lower or upper case),
  Nix base-32 or base-64 (told apart by length), or in SRI form ``<algo>-<base64>``.
"""

from __future__ import annotations

import base64
import binascii
import re

ALPHABET = "0123456789abcdfghijklmnpqrsvwxyz"
_DIGIT = {char: value for value, char in enumerate(ALPHABET)}

#: Digest sizes in bytes of the hash algorithms Nix knows.
HASH_SIZES: dict[str, int] = {"md5": 16, "sha1": 20, "sha256": 32, "sha512": 64}

_HEX = re.compile(r"[0-9a-fA-F]*")
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")


def encoded_length(size: int) -> int:
    """How many base-32 characters encode ``size`` bytes: ``ceil(size * 8 / 5)``."""
    return (size * 8 + 4) // 5


def encode(data: bytes) -> str:
    """Encode ``data`` in Nix's base-32 (as ``nix-hash --to-base32`` prints it)."""
    number = int.from_bytes(data, "little")
    length = encoded_length(len(data))
    return "".join(ALPHABET[(number >> (5 * n)) & 31] for n in reversed(range(length)))


def decode(text: str) -> bytes:
    """Decode Nix base-32; ``ValueError`` on a bad character, length or padding bits."""
    size = len(text) * 5 // 8
    if encoded_length(size) != len(text):
        raise ValueError(f"invalid Nix base-32 length {len(text)}")
    number = 0
    for position, char in enumerate(text):
        digit = _DIGIT.get(char)
        if digit is None:
            raise ValueError(f"invalid Nix base-32 character {char!r} at position {position}")
        number = (number << 5) | digit
    if number >> (8 * size):
        raise ValueError("invalid Nix base-32: non-zero padding bits")
    return number.to_bytes(size, "little")


def _decode_digest(algorithm: str, digest: str) -> bytes:
    size = HASH_SIZES[algorithm]
    if len(digest) == 2 * size:
        if not _HEX.fullmatch(digest):
            raise ValueError(f"invalid base-16 {algorithm} digest")
        return bytes.fromhex(digest)
    if len(digest) == encoded_length(size):
        return decode(digest)
    if len(digest) == 4 * ((size + 2) // 3):
        return _decode_base64(algorithm, digest, size)
    raise ValueError(f"{algorithm} digest has length {len(digest)}, not one Nix accepts")


def _decode_base64(algorithm: str, digest: str, size: int) -> bytes:
    if not _BASE64.fullmatch(digest):
        raise ValueError(f"invalid base-64 {algorithm} digest")
    try:
        raw = base64.b64decode(digest, validate=True)
    except binascii.Error as error:
        raise ValueError(f"invalid base-64 {algorithm} digest: {error}") from None
    if len(raw) != size:
        raise ValueError(f"base-64 {algorithm} digest decodes to {len(raw)} bytes, not {size}")
    if base64.b64encode(raw).decode() != digest:
        raise ValueError(f"invalid base-64 {algorithm} digest: non-zero padding bits")
    return raw


def parse_hash(text: str, *, algorithm: str | None = None) -> tuple[str, bytes]:
    """Parse ``<algo>:<base16|base32|base64>`` or SRI ``<algo>-<base64>``.

    Returns ``(algorithm, digest)``. With ``algorithm``, the hash must use that one.
    Raises ``ValueError`` (naming what is wrong) on anything else.
    """
    if len(text) > 256:
        raise ValueError("hash is too long")
    algo, colon, digest = text.partition(":")
    sri = False
    if not colon:
        algo, dash, digest = text.partition("-")
        if not dash:
            raise ValueError(f"hash {text!r} has no '<algorithm>:' or SRI '<algorithm>-' prefix")
        sri = True
    if algo not in HASH_SIZES:
        raise ValueError(f"unknown hash algorithm {algo!r}")
    if algorithm is not None and algo != algorithm:
        raise ValueError(f"expected a {algorithm} hash, got {algo}")
    if sri:
        return algo, _decode_base64(algo, digest, HASH_SIZES[algo])
    return algo, _decode_digest(algo, digest)


def format_hash(algorithm: str, digest: bytes) -> str:
    """``<algo>:<nix base-32>``, the form Nix writes in narinfos and fingerprints."""
    return f"{algorithm}:{encode(digest)}"
