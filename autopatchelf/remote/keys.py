"""Trusted public keys for binary-cache signatures.

Format (Nix ``trusted-public-keys`` setting, and the ``.pub`` file written by
``nix-store --generate-binary-cache-key NAME SEC PUB``): ``<name>:<base64>``, where the
base-64 decodes to a 32-byte ed25519 public key; the name is everything before the first
``:``. Several keys are separated by whitespace.

Policy: a malformed entry is an error, never skipped. Skipping could only make fewer paths
eligible, but it would hide the typo; and nothing is ever trusted that was not spelled out.
Two entries with the same name and different key bytes are an error too (Nix would keep
one of them silently).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Iterator

import attrs
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from autopatchelf.errors import SignatureError
from autopatchelf.frozen import Record

KEY_SIZE = 32
SIGNATURE_SIZE = 64
_MAX_NAME = 256


def split_named_base64(text: str, size: int, what: str) -> tuple[str, bytes]:
    """Split ``<name>:<base64 of exactly size bytes>``; ``SignatureError`` if malformed."""
    name, colon, encoded = text.partition(":")
    shown = text if len(text) <= 120 else text[:117] + "..."
    if not colon:
        raise SignatureError(f"{what} {shown!r} is not of the form <name>:<base64>")
    if not name or len(name) > _MAX_NAME or not name.isprintable() or " " in name:
        raise SignatureError(f"{what} {shown!r} has an invalid name")
    try:
        raw = base64.b64decode(encoded.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise SignatureError(f"{what} {shown!r} is not valid base-64 after the name") from None
    if len(raw) != size:
        raise SignatureError(f"{what} {shown!r} decodes to {len(raw)} bytes, not {size}")
    return name, raw


@attrs.frozen(repr=False)
class PublicKey(Record):
    """One ed25519 public key with its name, e.g. ``cache.nixos.org-1``."""

    name: str
    key: bytes = attrs.field(repr=False)

    @classmethod
    def parse(cls, text: str) -> PublicKey:
        """Parse ``<name>:<base64 of 32 bytes>``; raises ``SignatureError``."""
        name, key = split_named_base64(text.strip(), KEY_SIZE, "public key")
        return cls(name, key)

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Whether ``signature`` (64 bytes) is this key's ed25519 signature of ``message``."""
        if len(signature) != SIGNATURE_SIZE:
            return False
        try:
            Ed25519PublicKey.from_public_bytes(self.key).verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def __str__(self) -> str:
        return f"{self.name}:{base64.b64encode(self.key).decode()}"


@attrs.frozen(repr=False)
class TrustedKeys(Record):
    """The set of keys whose signatures make a narinfo eligible (by name, unique)."""

    keys: tuple[PublicKey, ...] = ()

    @classmethod
    def of(cls, keys: Iterable[PublicKey]) -> TrustedKeys:
        """Build from keys; identical duplicates collapse, conflicting ones raise."""
        by_name: dict[str, PublicKey] = {}
        for key in keys:
            known = by_name.get(key.name)
            if known is not None and known.key != key.key:
                raise SignatureError(f"two different trusted public keys are named {key.name!r}")
            by_name[key.name] = key
        return cls(tuple(by_name[name] for name in sorted(by_name)))

    @classmethod
    def parse(cls, text: str) -> TrustedKeys:
        """Parse a whitespace-separated list as in Nix's ``trusted-public-keys``."""
        return cls.of(PublicKey.parse(entry) for entry in text.split())

    def get(self, name: str) -> PublicKey | None:
        for key in self.keys:
            if key.name == name:
                return key
        return None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(key.name for key in self.keys)

    def __iter__(self) -> Iterator[PublicKey]:
        return iter(self.keys)

    def __len__(self) -> int:
        return len(self.keys)
