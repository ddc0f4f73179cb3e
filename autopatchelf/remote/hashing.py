"""A reader that checks the hash and size of the bytes passing through it.

Used twice per NAR download: over the compressed bytes (a narinfo's ``FileHash`` and
``FileSize``) and over the decompressed NAR (``NarHash``, ``NarSize``; Nix hashes the raw
NAR serialisation, so ``nix-store --dump PATH | sha256sum`` is the NarHash in hex).
More bytes than the expected size fail as soon as they arrive; a short stream or a wrong
digest fails at the end of the stream (or on :meth:`HashingReader.verify`).
"""

from __future__ import annotations

import hashlib

from autopatchelf.errors import IntegrityError
from autopatchelf.remote.readers import CHUNK, Readable
from autopatchelf.store import nixbase32


class HashingReader:
    """Pass ``read`` through to ``source`` while hashing and counting.

    ``algorithm``/``digest`` may be ``None`` (size check only), ``size`` may be ``None``
    (hash check only; then ``limit`` still bounds how much is read). ``what`` names the
    checked quantity in errors, e.g. ``"NAR"`` or ``"compressed NAR"``.
    """

    def __init__(
        self,
        source: Readable,
        *,
        name: str,
        what: str,
        algorithm: str | None = None,
        digest: bytes | None = None,
        size: int | None = None,
        limit: int | None = None,
    ) -> None:
        self._source = source
        self._name = name
        self._what = what
        self._digest = digest
        self._hasher = hashlib.new(algorithm) if algorithm is not None else None
        self._algorithm = algorithm
        self._size = size
        self._limit = size if size is not None else limit
        self.count = 0
        self._verified = False

    def read(self, size: int = -1, /) -> bytes:
        if size is None or size < 0:
            size = (self._limit - self.count + 1) if self._limit is not None else 1 << 62
        data = self._source.read(size)
        if data:
            self.count += len(data)
            if self._limit is not None and self.count > self._limit:
                raise IntegrityError(
                    f"{self._name}: {self._what} is longer than the expected {self._limit} bytes"
                )
            if self._hasher is not None:
                self._hasher.update(data)
        elif size > 0:
            self._check()
        return data

    def _check(self) -> None:
        if self._verified:
            return
        if self._size is not None and self.count != self._size:
            raise IntegrityError(
                f"{self._name}: {self._what} is {self.count} bytes, expected {self._size}"
            )
        if self._hasher is not None and self._digest is not None:
            got = self._hasher.digest()
            if got != self._digest:
                raise IntegrityError(
                    f"{self._name}: {self._what} hash mismatch: expected "
                    f"{self._algorithm}:{nixbase32.encode(self._digest)}, "
                    f"got {self._algorithm}:{nixbase32.encode(got)}"
                )
        self._verified = True

    def verify(self) -> None:
        """Read whatever is left (bounded by the expected size) and check size and hash."""
        while self.read(CHUNK):
            pass
        self._check()
