"""Decompression of cache files, streaming and bounded.

Facts relied on: a narinfo's ``Compression:`` is one of ``xz``, ``zstd``, ``bzip2``,
``none`` (also ``br``, ``gzip``, ``lz4``... through libarchive; absent means ``bzip2``, as
in Nix's ``nar-info.cc``). The magic numbers are xz ``FD 37 7A 58 5A 00``, zstd
``28 B5 2F FD``, bzip2 ``BZh``, gzip ``1F 8B``. Several concatenated streams (what
``pixz``/``pbzip2``/multi-threaded zstd can write) decode as one.

Every decompression takes a hard ``limit`` on the output size (for a NAR: its NarSize);
more output than that is an error, found after at most one bounded step past the limit,
so a decompression bomb costs neither memory nor time. Truncated and corrupt streams, and
bytes after the last stream, are errors too. All errors are :class:`CompressionError`
naming the file and the method.
"""

from __future__ import annotations

import bz2
import enum
import io
import lzma
import zlib
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

import zstandard

from autopatchelf.errors import CompressionError
from autopatchelf.remote.readers import CHUNK, Readable


class Compression(enum.Enum):
    """A compression method, named as in a narinfo's ``Compression:`` field."""

    NONE = "none"
    XZ = "xz"
    ZSTD = "zstd"
    BZIP2 = "bzip2"
    GZIP = "gzip"
    BROTLI = "br"
    LZ4 = "lz4"
    LZIP = "lzip"

    @classmethod
    def from_field(cls, value: str) -> Compression:
        """The method named by a narinfo ``Compression:`` value (empty = bzip2, as Nix)."""
        if value == "":
            return cls.BZIP2
        try:
            return cls(value)
        except ValueError:
            raise ValueError(f"unknown compression {value!r}") from None

    @property
    def supported(self) -> bool:
        return self in _SUPPORTED


_SUPPORTED = frozenset(
    {Compression.NONE, Compression.XZ, Compression.ZSTD, Compression.BZIP2, Compression.GZIP}
)
_MAGICS = (
    (b"\xfd7zXZ\x00", Compression.XZ),
    (b"\x28\xb5\x2f\xfd", Compression.ZSTD),
    (b"BZh", Compression.BZIP2),
    (b"\x1f\x8b", Compression.GZIP),
)
#: Longest magic number: how many bytes :func:`sniff` needs.
SNIFF_SIZE = 6
#: Input fed to zstd per step: zstd can expand one input byte ~32000-fold (RLE blocks), so
#: this keeps one step's output under ~16 MiB.
_ZSTD_STEP = 512
_XZ_MEMLIMIT = 1 << 30
_MAX_STEP = 1 << 24
_ZSTD_MAX_WINDOW = 1 << 27


def sniff(prefix: bytes) -> Compression:
    """The compression whose magic ``prefix`` starts with, or ``NONE``."""
    for magic, compression in _MAGICS:
        if prefix.startswith(magic):
            return compression
    return Compression.NONE


class DecompressingReader:
    """A file-like view of ``source`` decompressed, at most ``limit`` bytes.

    ``read`` raises :class:`CompressionError` on corrupt or truncated input, trailing
    garbage, or more than ``limit`` bytes of output.
    """

    def __init__(
        self, source: Readable, compression: Compression, *, limit: int, name: str
    ) -> None:
        if not compression.supported:
            raise CompressionError(f"{name}: compression {compression.value!r} is not supported")
        self._source = source
        self._compression = compression
        self._limit = limit
        self._name = name
        self._out = 0
        self._buffer = b""
        self._done = False
        self._step: Callable[[int], bytes]
        self._input_done = False
        if compression is Compression.NONE:
            self._step = self._step_plain
        else:
            self._decoder = _StreamDecoder(compression)
            self._step = self._step_decoder

    @property
    def bytes_out(self) -> int:
        """Decompressed bytes produced so far."""
        return self._out

    def _fail(self, reason: str) -> CompressionError:
        return CompressionError(f"{self._name}: {self._compression.value} stream {reason}")

    def _step_plain(self, size: int) -> bytes:
        return self._source.read(max(size, 1))

    def _step_decoder(self, size: int) -> bytes:
        decoder = self._decoder
        # One step never produces much more than the limit allows (nor more than 16 MiB).
        max_out = min(max(size, CHUNK), self._limit - self._out + 1, _MAX_STEP)
        try:
            while True:
                if decoder.needs_input():
                    if not self._input_done:
                        data = self._source.read(CHUNK)
                        if data:
                            decoder.feed(data)
                            continue
                        self._input_done = True
                    out = decoder.step(max_out)
                    if out:
                        return out
                    if decoder.at_stream_end():
                        return b""
                    raise self._fail("is truncated")
                out = decoder.step(max_out)
                if out:
                    return out
        except (lzma.LZMAError, OSError, EOFError, ValueError, zlib.error) as error:
            raise self._fail(f"is corrupt ({error})") from None
        except zstandard.ZstdError as error:
            raise self._fail(f"is corrupt ({error})") from None

    def read(self, size: int = -1, /) -> bytes:
        if size is None or size < 0:
            chunks = []
            while chunk := self.read(CHUNK):
                chunks.append(chunk)
            return b"".join(chunks)
        parts = [self._buffer]
        have = len(self._buffer)
        while have < size and not self._done:
            out = self._step(size - have)
            if not out:
                self._done = True
                break
            self._out += len(out)
            if self._out > self._limit:
                raise self._fail(f"decompresses to more than {self._limit} bytes")
            parts.append(out)
            have += len(out)
        data = b"".join(parts) if len(parts) > 1 else parts[0]
        result, self._buffer = data[:size], data[size:]
        return result


if TYPE_CHECKING:
    _Decompressor = (
        lzma.LZMADecompressor
        | bz2.BZ2Decompressor
        | zlib._Decompress
        | zstandard.ZstdDecompressionObj
    )
    _Bounded = lzma.LZMADecompressor | bz2.BZ2Decompressor


class _StreamDecoder:
    """Feeds compressed bytes to one decoder after another (concatenated streams)."""

    def __init__(self, compression: Compression) -> None:
        self._compression = compression
        self._pending = b""
        self._decoder = self._new()
        self._fed = False  # whether the current decoder has been given any input
        self._streams = 0  # streams that ended

    def _new(self) -> _Decompressor:
        if self._compression is Compression.ZSTD:
            return zstandard.ZstdDecompressor(max_window_size=_ZSTD_MAX_WINDOW).decompressobj()
        if self._compression is Compression.XZ:
            return lzma.LZMADecompressor(format=lzma.FORMAT_XZ, memlimit=_XZ_MEMLIMIT)
        if self._compression is Compression.BZIP2:
            return bz2.BZ2Decompressor()
        return zlib.decompressobj(wbits=31)

    def feed(self, data: bytes) -> None:
        self._pending += data

    def _next_stream(self) -> None:
        """After a stream's end, start the next one on the bytes left over."""
        rest = bytes(self._decoder.unused_data) + self._pending
        if self._compression is Compression.XZ:
            rest = rest.lstrip(b"\x00")  # stream padding
        self._pending = rest
        self._decoder = self._new()
        self._fed = False
        self._streams += 1

    def needs_input(self) -> bool:
        """Whether the decoder can make no progress without more input."""
        if self._pending:
            return False
        if self._compression is Compression.ZSTD:
            return True
        if self._compression is Compression.GZIP:
            return not cast("zlib._Decompress", self._decoder).unconsumed_tail
        return cast("_Bounded", self._decoder).needs_input

    def at_stream_end(self) -> bool:
        """No input is pending and the last stream ended (and at least one did)."""
        return not self._pending and not self._fed and self._streams > 0

    def step(self, max_out: int) -> bytes:
        """Decode some pending input: at most ``max_out`` bytes (zstd: about 16 MiB)."""
        out: bytes
        if self._compression is Compression.ZSTD:
            zstd = cast("zstandard.ZstdDecompressionObj", self._decoder)
            data, self._pending = self._pending[:_ZSTD_STEP], self._pending[_ZSTD_STEP:]
            self._fed = self._fed or bool(data)
            out = bytes(zstd.decompress(data))
        elif self._compression is Compression.GZIP:
            gz = cast("zlib._Decompress", self._decoder)
            data = gz.unconsumed_tail + self._pending
            self._pending = b""
            self._fed = self._fed or bool(data)
            out = gz.decompress(data, max_out)
        else:
            bounded = cast("_Bounded", self._decoder)
            data, self._pending = self._pending, b""
            self._fed = self._fed or bool(data)
            out = bounded.decompress(data, max_out)
        if self._decoder.eof:
            self._next_stream()
        return out


def open_decompressed(
    source: Readable, compression: Compression, *, limit: int, name: str
) -> DecompressingReader:
    """Stream ``source`` decompressed with ``compression``, at most ``limit`` bytes out."""
    return DecompressingReader(source, compression, limit=limit, name=name)


def decompress(data: bytes, compression: Compression, *, limit: int, name: str) -> bytes:
    """Decompress a whole small document (at most ``limit`` bytes out)."""
    return open_decompressed(io.BytesIO(data), compression, limit=limit, name=name).read()


def decompress_sniffed(data: bytes, *, limit: int, name: str) -> bytes:
    """Decompress ``data`` by its magic number (plain data is returned as is, if in limit)."""
    compression = sniff(data[:SNIFF_SIZE])
    if compression is Compression.NONE and len(data) > limit:
        raise CompressionError(f"{name}: is {len(data)} bytes, more than {limit}")
    return decompress(data, compression, limit=limit, name=name)
