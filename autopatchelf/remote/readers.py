"""The minimal file-like protocol the remote readers take and give.

Anything with ``read(size)`` returning at most ``size`` bytes (fewer only at the end, or
as a short read that a later call continues) and ``b""`` at the end: an open binary file,
``io.BytesIO``, an HTTP response, or the wrapping readers of this package.
"""

from __future__ import annotations

from typing import Protocol

#: Chunk size for streaming reads.
CHUNK = 1 << 16


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...
