"""``<hash>.narinfo`` and ``nix-cache-info`` files of a binary cache, and their signatures.

Facts relied on (Nix ``src/libstore/nar-info.cc`` and ``path-info.cc``; checked against
caches written by ``nix copy --to file://...?secret-key=...`` with Nix 2.8):

* A narinfo is ``Key: value`` lines, each ended by ``\\n``: ``StorePath``, ``URL``
  (relative to the cache root, e.g. ``nar/<filehash>.nar.xz``), ``Compression`` (absent
  means ``bzip2``), ``FileHash``, ``FileSize``, ``NarHash``, ``NarSize``, ``References``
  (space-separated store basenames, possibly none), ``Deriver`` (a basename, or
  ``unknown-deriver``), ``Sig`` (repeatable, ``<key name>:<base64 of 64 bytes>``),
  ``CA``, ``System``. Unknown keys are ignored. StorePath, URL, NarHash and a non-zero
  NarSize are required.
* The signed fingerprint is
  ``1;<StorePath>;sha256:<NarHash in Nix base-32>;<NarSize>;<references>`` where the
  references are full store paths, sorted, joined by ``,``. A signature is ed25519 over
  the UTF-8 fingerprint.
* ``nix-cache-info`` has the same line form: ``StoreDir`` (default ``/nix/store``),
  ``WantMassQuery`` (``0``/``1``), ``Priority`` (an integer; lower is preferred).

Stricter than Nix (so that a hostile cache gets a clear error instead of odd behaviour):
a duplicate field (other than ``Sig``) is an error, the StorePath must live in the cache's
store dir and its hash must equal the narinfo file's name, the URL must be a plain relative
path below the cache root (or an absolute ``http(s)://`` URL), and sizes are bounded.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import attrs

from autopatchelf.errors import NarInfoError, SignatureError
from autopatchelf.frozen import Record
from autopatchelf.remote.compression import Compression
from autopatchelf.remote.keys import SIGNATURE_SIZE, PublicKey, TrustedKeys, split_named_base64
from autopatchelf.store import nixbase32
from autopatchelf.store.path import HASH_LENGTH, is_store_basename

DEFAULT_STORE_DIR = "/nix/store"
#: Largest narinfo (or nix-cache-info) text accepted.
MAX_NARINFO_SIZE = 1 << 16
#: Largest NarSize/FileSize accepted (1 TiB).
MAX_SIZE = 1 << 40
_SIZE = re.compile(r"[0-9]{1,16}")
_INT = re.compile(r"-?[0-9]{1,9}")
_URL_SEGMENT = re.compile(r"[A-Za-z0-9._~+=-]+")
_ABSOLUTE_URL = re.compile(r"https?://[A-Za-z0-9._~:@!$&'()*+,;=/%-]+")
_NARINFO_NAME = re.compile(r"([0-9a-df-np-sv-z]{32})\.narinfo")
_MAX_URL = 1024
_MAX_VALUE = 1 << 14


@attrs.frozen(repr=False)
class Hash(Record):
    """A parsed hash: algorithm and digest; ``str()`` is ``<algo>:<nix base-32>``."""

    algorithm: str
    digest: bytes

    @classmethod
    def parse(cls, text: str) -> Hash:
        """Any form Nix accepts (see ``autopatchelf.store.nixbase32.parse_hash``);
        ``ValueError`` if bad."""
        algorithm, digest = nixbase32.parse_hash(text)
        return cls(algorithm, digest)

    def __str__(self) -> str:
        return nixbase32.format_hash(self.algorithm, self.digest)


@attrs.frozen(repr=False)
class Signature(Record):
    """One ``Sig:`` value: the signing key's name and the 64-byte ed25519 signature."""

    key_name: str
    signature: bytes = attrs.field(repr=False)

    @classmethod
    def parse(cls, text: str) -> Signature:
        """Parse ``<key name>:<base64 of 64 bytes>``; raises ``SignatureError``."""
        name, signature = split_named_base64(text, SIGNATURE_SIZE, "signature")
        return cls(name, signature)


def _lines(text: str | bytes, source: str, what: str) -> Iterator[tuple[int, str, str]]:
    """``(line number, key, value)`` of a ``Key: value`` file; ``NarInfoError`` if bad."""
    if len(text) > MAX_NARINFO_SIZE:
        raise NarInfoError(f"{source}: {what} is larger than {MAX_NARINFO_SIZE} bytes")
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as error:
            raise NarInfoError(f"{source}: {what} is not UTF-8 (byte {error.start})") from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for number, line in enumerate(lines, 1):
        key, sep, value = line.partition(": ")
        if not sep:
            if line.endswith(":") and ":" not in line[:-1]:
                key, value = line[:-1], ""
            else:
                raise NarInfoError(f"{source}: line {number} is not 'Key: value': {line[:80]!r}")
        if not key or not key.isascii() or not key.isalnum():
            raise NarInfoError(f"{source}: line {number} has an invalid key {key[:80]!r}")
        if len(value) > _MAX_VALUE or not value.isprintable():
            raise NarInfoError(f"{source}: line {number} ({key}) has an invalid value")
        yield number, key, value


@attrs.frozen(repr=False)
class CacheInfo(Record):
    """The ``nix-cache-info`` file of a cache."""

    store_dir: str = DEFAULT_STORE_DIR
    want_mass_query: bool = False
    priority: int | None = None

    @classmethod
    def parse(cls, text: str | bytes, *, url: str) -> CacheInfo:
        """Parse ``nix-cache-info`` text fetched from ``url``; raises ``NarInfoError``."""
        store_dir = DEFAULT_STORE_DIR
        want_mass_query = False
        priority: int | None = None
        for number, key, value in _lines(text, url, "nix-cache-info"):
            if key == "StoreDir":
                if not value.startswith("/") or value != _normal_dir(value):
                    raise NarInfoError(
                        f"{url}: line {number}: StoreDir {value!r} is not a clean absolute path"
                    )
                store_dir = value
            elif key == "WantMassQuery":
                if value not in ("0", "1"):
                    raise NarInfoError(f"{url}: line {number}: WantMassQuery must be 0 or 1")
                want_mass_query = value == "1"
            elif key == "Priority":
                if not _INT.fullmatch(value):
                    raise NarInfoError(
                        f"{url}: line {number}: Priority {value!r} is not an integer"
                    )
                priority = int(value)
        return cls(store_dir, want_mass_query, priority)


def _normal_dir(path: str) -> str:
    parts = [part for part in path.split("/") if part]
    if any(part in (".", "..") for part in parts):
        return ""
    return "/" + "/".join(parts)


def _parse_size(value: str, source: str, number: int, key: str) -> int:
    if not _SIZE.fullmatch(value):
        raise NarInfoError(f"{source}: line {number}: {key} {value[:40]!r} is not a size")
    size = int(value)
    if size > MAX_SIZE:
        raise NarInfoError(f"{source}: line {number}: {key} {size} is larger than {MAX_SIZE}")
    return size


def _check_url(value: str, source: str, number: int) -> None:
    if len(value) > _MAX_URL:
        raise NarInfoError(f"{source}: line {number}: URL is longer than {_MAX_URL} characters")
    if _ABSOLUTE_URL.fullmatch(value):
        return
    segments = value.split("/")
    if value.startswith("/") or not all(
        _URL_SEGMENT.fullmatch(segment) and segment not in (".", "..") for segment in segments
    ):
        raise NarInfoError(
            f"{source}: line {number}: URL {value[:120]!r} is not a plain relative path "
            "below the cache root (nor an http(s) URL)"
        )


@attrs.frozen(repr=False)
class NarInfo(Record):
    """One parsed, validated narinfo (see the module docstring for the format)."""

    #: Where the narinfo was read from (URL or path), for messages.
    source: str
    store_path: str
    store_dir: str
    #: The ``URL:`` field: relative to the cache root, or an absolute http(s) URL.
    nar_url: str
    compression: Compression
    file_hash: Hash | None
    #: ``None`` when absent or 0 (Nix's "unknown").
    file_size: int | None
    nar_hash: Hash
    nar_size: int
    #: Store basenames, sorted and without duplicates (as Nix holds them).
    references: tuple[str, ...]
    deriver: str | None
    signatures: tuple[Signature, ...]
    #: ``Sig:`` values that are not ``<name>:<base64 of 64 bytes>`` (they never verify).
    bad_signatures: tuple[str, ...]
    ca: str | None
    system: str | None

    @classmethod
    def parse(
        cls,
        text: str | bytes,
        *,
        url: str,
        store_dir: str = DEFAULT_STORE_DIR,
        hash_part: str | None = None,
    ) -> NarInfo:
        """Parse and validate a narinfo read from ``url``; raises ``NarInfoError``.

        The StorePath's hash must equal ``hash_part`` or, without it, the hash in ``url``'s
        file name when that is ``<hash>.narinfo``.
        """
        if hash_part is None:
            match = _NARINFO_NAME.fullmatch(url.rsplit("/", 1)[-1])
            hash_part = match.group(1) if match else None
        fields: dict[str, tuple[int, str]] = {}
        sigs: list[Signature] = []
        bad_sigs: list[str] = []
        for number, key, value in _lines(text, url, "narinfo"):
            if key == "Sig":
                try:
                    sigs.append(Signature.parse(value))
                except SignatureError:
                    bad_sigs.append(value[:200])
                continue
            if key in fields:
                raise NarInfoError(f"{url}: line {number}: duplicate {key} field")
            fields[key] = (number, value)

        def required(key: str) -> tuple[int, str]:
            if key not in fields:
                raise NarInfoError(f"{url}: narinfo has no {key} field")
            return fields[key]

        number, store_path = required("StorePath")
        directory, _, basename = store_path.rpartition("/")
        if directory != store_dir or not is_store_basename(basename):
            raise NarInfoError(
                f"{url}: line {number}: StorePath {store_path[:200]!r} is not a store path "
                f"in {store_dir}"
            )
        if hash_part is not None and basename[:HASH_LENGTH] != hash_part:
            raise NarInfoError(
                f"{url}: line {number}: StorePath {store_path!r} does not have the hash "
                f"{hash_part} of the narinfo's name"
            )
        number, nar_url = required("URL")
        _check_url(nar_url, url, number)
        compression = Compression.BZIP2
        if "Compression" in fields:
            number, value = fields["Compression"]
            try:
                compression = Compression.from_field(value)
            except ValueError:
                raise NarInfoError(
                    f"{url}: line {number}: unknown Compression {value[:40]!r}"
                ) from None
        nar_hash = _parse_hash_field(fields, "NarHash", url, required=True)
        assert nar_hash is not None
        if nar_hash.algorithm != "sha256":
            raise NarInfoError(f"{url}: NarHash is {nar_hash.algorithm}, not sha256")
        file_hash = _parse_hash_field(fields, "FileHash", url, required=False)
        number, value = required("NarSize")
        nar_size = _parse_size(value, url, number, "NarSize")
        if nar_size == 0:
            raise NarInfoError(f"{url}: line {number}: NarSize is 0")
        file_size: int | None = None
        if "FileSize" in fields:
            number, value = fields["FileSize"]
            file_size = _parse_size(value, url, number, "FileSize") or None
        references: tuple[str, ...] = ()
        if "References" in fields:
            number, value = fields["References"]
            names = value.split()
            for name in names:
                if not is_store_basename(name):
                    raise NarInfoError(
                        f"{url}: line {number}: reference {name[:200]!r} is not a store basename"
                    )
            references = tuple(sorted(set(names)))
        deriver: str | None = None
        if "Deriver" in fields:
            number, value = fields["Deriver"]
            if value != "unknown-deriver":
                if not is_store_basename(value) or not value.endswith(".drv"):
                    raise NarInfoError(
                        f"{url}: line {number}: Deriver {value[:200]!r} is not a .drv basename"
                    )
                deriver = value
        ca = fields["CA"][1] if "CA" in fields else None
        system = fields["System"][1] if "System" in fields else None
        return cls(
            source=url,
            store_path=store_path,
            store_dir=store_dir,
            nar_url=nar_url,
            compression=compression,
            file_hash=file_hash,
            file_size=file_size,
            nar_hash=nar_hash,
            nar_size=nar_size,
            references=references,
            deriver=deriver,
            signatures=tuple(sigs),
            bad_signatures=tuple(bad_sigs),
            ca=ca,
            system=system,
        )

    @property
    def basename(self) -> str:
        return self.store_path.rpartition("/")[2]

    @property
    def hash_part(self) -> str:
        return self.basename[:HASH_LENGTH]

    @property
    def reference_paths(self) -> tuple[str, ...]:
        """The references as full store paths."""
        return tuple(f"{self.store_dir}/{name}" for name in self.references)

    def fingerprint(self) -> str:
        """The text Nix signs: ``1;<path>;<narhash>;<narsize>;<ref,ref,...>``."""
        return ";".join(
            (
                "1",
                self.store_path,
                str(self.nar_hash),
                str(self.nar_size),
                ",".join(self.reference_paths),
            )
        )


def _parse_hash_field(
    fields: dict[str, tuple[int, str]], key: str, url: str, *, required: bool
) -> Hash | None:
    if key not in fields:
        if required:
            raise NarInfoError(f"{url}: narinfo has no {key} field")
        return None
    number, value = fields[key]
    try:
        return Hash.parse(value)
    except ValueError as error:
        raise NarInfoError(f"{url}: line {number}: bad {key}: {error}") from None


@attrs.frozen(repr=False)
class Verification(Record):
    """The outcome of :func:`verify`: the key that verified, or why none did.

    True in a boolean context exactly when a trusted key verified a signature.
    """

    key: PublicKey | None
    reason: str | None

    def __bool__(self) -> bool:
        return self.key is not None


def verify(narinfo: NarInfo, trusted: TrustedKeys) -> Verification:
    """Check ``narinfo``'s signatures against the trusted keys.

    Only signatures made under a trusted key's name count. A narinfo none of whose
    signatures verifies is *ineligible*; the reason says which case it is.
    """
    message = narinfo.fingerprint().encode()
    signed_by: list[str] = []
    for signature in narinfo.signatures:
        key = trusted.get(signature.key_name)
        if key is None:
            continue
        signed_by.append(signature.key_name)
        if key.verify(message, signature.signature):
            return Verification(key, None)
    if signed_by:
        names = ", ".join(sorted(set(signed_by)))
        return Verification(None, f"signature does not verify with trusted keys ({names})")
    if narinfo.signatures:
        names = ", ".join(sorted({sig.key_name for sig in narinfo.signatures}))
        return Verification(None, f"not signed by a trusted key (signed by {names})")
    if narinfo.bad_signatures:
        return Verification(None, "not signed by a trusted key (its signatures are malformed)")
    return Verification(None, "not signed")
