"""Errors of the remote (binary cache, nix-index, store-path list) readers.

Every message is one line that names the thing read (a URL or a path) and what is wrong
with it. Hostile or broken input only ever raises these (never another exception type).
"""

from __future__ import annotations

from autopatchelf.errors import AutopatchelfError


class RemoteError(AutopatchelfError):
    """Base of every error raised by :mod:`autopatchelf.remote`."""


class FetchError(RemoteError):
    """A cache file could not be fetched (network failure, timeout, HTTP error, too big)."""

    def __init__(
        self, url: str, reason: str, *, status: int | None = None, hint: str | None = None
    ) -> None:
        super().__init__(f"{url}: {reason}", hint=hint)
        self.url = url
        self.status = status


class NotFoundError(FetchError):
    """The cache does not have this file (HTTP 404/410, or no such file in a file:// cache)."""


class NarInfoError(RemoteError):
    """A ``.narinfo`` or ``nix-cache-info`` file is malformed or fails validation."""


class SignatureError(RemoteError):
    """A public key or a signature is malformed (not: a signature that does not verify)."""


class CompressionError(RemoteError):
    """A compressed stream is corrupt, truncated, too big, or uses an unsupported method."""


class IntegrityError(RemoteError):
    """Bytes do not match the hash or size a narinfo promised (FileHash/NarHash...)."""


class NarError(RemoteError):
    """A NAR (Nix archive) stream is malformed, or exceeds a limit."""

    def __init__(self, source: str, offset: int, reason: str) -> None:
        super().__init__(f"{source}: invalid NAR at byte {offset}: {reason}")
        self.source = source
        self.offset = offset


class ListingError(RemoteError):
    """A ``.ls`` NAR listing is malformed or exceeds a limit."""


class NixIndexError(RemoteError):
    """A nix-index ``files`` database is malformed, of another version, or exceeds a limit."""


class StorePathListError(RemoteError):
    """A store-path list (``store-paths.xz``) is malformed or too big."""
