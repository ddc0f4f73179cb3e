"""Fetching binary-cache files over ``file://`` and ``http(s)://``, stdlib only.

* Every request has a timeout (default 10 s) for connecting and for each read; small
  documents also have an overall deadline of that length, so a cache that is down or
  stalls gives a :class:`~autopatchelf.errors.FetchError` quickly instead of a hang.
* HTTP 404 and 410 (and a missing file in a ``file://`` cache) are
  :class:`~autopatchelf.errors.NotFoundError`; ``get_optional`` turns them into ``None``
  ("not in this cache"). Every other failure is a
  :class:`~autopatchelf.errors.FetchError` naming the URL.
* Documents are capped in size; NARs are streamed (a file-like), never held whole here.
* Requests and bytes are counted per kind (narinfo, listing, NAR, other), thread-safely.
* A ``file://`` cache never reads outside its directory (``..``, absolute paths and
  symlinks out are refused); a narinfo URL must be relative for it.
"""

from __future__ import annotations

import concurrent.futures
import enum
import http.client
import os
import socket
import stat
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import BinaryIO, TypeVar

import attrs

from autopatchelf.errors import FetchError, NotFoundError, RemoteError
from autopatchelf.frozen import Record
from autopatchelf.options import REMOTE_TIMEOUT_DEFAULT
from autopatchelf.remote.listing import Listing
from autopatchelf.remote.narinfo import MAX_NARINFO_SIZE, CacheInfo, NarInfo
from autopatchelf.remote.readers import CHUNK

DEFAULT_TIMEOUT = REMOTE_TIMEOUT_DEFAULT
#: Largest document (narinfo, nix-cache-info, listing...) fetched whole.
MAX_DOCUMENT = 64 << 20
_NOT_FOUND = (404, 410)
_T = TypeVar("_T")
_R = TypeVar("_R")
USER_AGENT = "autopatchelf"


class DocumentKind(enum.Enum):
    NARINFO = "narinfo"
    LISTING = "listing"
    NAR = "nar"
    OTHER = "other"


@attrs.frozen(repr=False)
class FetchStats(Record):
    """A snapshot of a client's counters: requests made and bytes received, per kind."""

    requests: tuple[tuple[DocumentKind, int], ...]
    received: tuple[tuple[DocumentKind, int], ...]

    def requests_of(self, kind: DocumentKind) -> int:
        return dict(self.requests).get(kind, 0)

    def bytes_of(self, kind: DocumentKind) -> int:
        return dict(self.received).get(kind, 0)

    @property
    def total_requests(self) -> int:
        return sum(count for _, count in self.requests)


class CacheStream:
    """An open cache file: a file-like that counts what it reads, caps it, names errors."""

    def __init__(
        self, raw: BinaryIO, *, url: str, client: CacheClient, kind: DocumentKind, limit: int
    ) -> None:
        self._raw = raw
        self._url = url
        self._client = client
        self._kind = kind
        self._limit = limit
        self.count = 0

    def read(self, size: int = -1, /) -> bytes:
        if size is None or size < 0:
            size = self._limit - self.count + 1
        try:
            data = self._raw.read(min(size, max(self._limit - self.count + 1, 1)))
        except TimeoutError:
            raise FetchError(self._url, "timed out while reading") from None
        except (OSError, http.client.HTTPException) as error:
            raise FetchError(self._url, f"read failed: {error}") from None
        self.count += len(data)
        self._client._count_bytes(self._kind, len(data))
        if self.count > self._limit:
            raise FetchError(self._url, f"is larger than {self._limit} bytes")
        return data

    def close(self) -> None:
        self._raw.close()

    def __enter__(self) -> CacheStream:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


@attrs.frozen(repr=False)
class NarInfoResult(Record):
    """One result of :meth:`CacheClient.fetch_narinfos`: a narinfo, absent, or an error."""

    hash_part: str
    narinfo: NarInfo | None
    error: RemoteError | None = None


class CacheClient:
    """Reads files of one binary cache given by its URL (``file://`` or ``http(s)://``)."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_document: int = MAX_DOCUMENT,
        opener: urllib.request.OpenerDirector | None = None,
    ) -> None:
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("file", "http", "https"):
            raise FetchError(url, "binary cache URL must be file://, http:// or https://")
        if parsed.scheme == "file" and (parsed.netloc not in ("", "localhost") or not parsed.path):
            raise FetchError(url, "a file:// cache URL must be file:///absolute/path")
        self.url = url.rstrip("/")
        self.scheme = parsed.scheme
        self.timeout = timeout
        self.max_document = max_document
        self._root = (
            os.path.realpath(urllib.parse.unquote(parsed.path)) if self.scheme == "file" else ""
        )
        self._opener = opener or urllib.request.build_opener()
        self._lock = threading.Lock()
        self._requests: dict[DocumentKind, int] = {}
        self._received: dict[DocumentKind, int] = {}

    # -- counters --------------------------------------------------------------------
    def _count_request(self, kind: DocumentKind) -> None:
        with self._lock:
            self._requests[kind] = self._requests.get(kind, 0) + 1

    def _count_bytes(self, kind: DocumentKind, size: int) -> None:
        with self._lock:
            self._received[kind] = self._received.get(kind, 0) + size

    def stats(self) -> FetchStats:
        with self._lock:
            return FetchStats(
                tuple(sorted(self._requests.items(), key=lambda kv: kv[0].value)),
                tuple(sorted(self._received.items(), key=lambda kv: kv[0].value)),
            )

    # -- locations -------------------------------------------------------------------
    def url_of(self, relative: str) -> str:
        """The absolute URL of a file given relative to the cache root (or absolute)."""
        if "://" in relative:
            if self.scheme == "file":
                raise FetchError(relative, f"absolute URL refused for the file:// cache {self.url}")
            if urllib.parse.urlsplit(relative).scheme not in ("http", "https"):
                raise FetchError(relative, "only http(s) URLs can be fetched")
            return relative
        parts = relative.split("/")
        if relative.startswith("/") or any(part in ("", ".", "..") for part in parts):
            raise FetchError(f"{self.url}/{relative}", "path escapes the cache root")
        return f"{self.url}/{urllib.parse.quote(relative)}"

    def _local_path(self, relative: str) -> str:
        url = self.url_of(relative)
        path = os.path.realpath(os.path.join(self._root, urllib.parse.unquote(relative)))
        if os.path.commonpath([path, self._root]) != self._root:
            raise FetchError(url, "path escapes the cache directory (through a symlink)")
        return path

    # -- raw access ------------------------------------------------------------------
    def open(self, relative: str, *, kind: DocumentKind, limit: int) -> CacheStream:
        """Open a file of the cache as a stream (at most ``limit`` bytes are read).

        Raises ``NotFoundError`` if the cache does not have it, ``FetchError`` otherwise.
        """
        url = self.url_of(relative)
        self._count_request(kind)
        if self.scheme == "file":
            path = self._local_path(relative)
            try:
                if not stat.S_ISREG(os.stat(path).st_mode):  # never open a FIFO or device
                    raise FetchError(url, "is not a regular file")
                handle: BinaryIO = open(path, "rb")  # noqa: SIM115 (returned)
            except FileNotFoundError:
                raise NotFoundError(url, "not in this cache", status=404) from None
            except OSError as error:
                raise FetchError(url, f"cannot open: {error.strerror}") from None
            return CacheStream(handle, url=url, client=self, kind=kind, limit=limit)
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
        try:
            response = self._opener.open(request, timeout=self.timeout)
        except urllib.error.HTTPError as error:
            error.close()
            if error.code in _NOT_FOUND:
                raise NotFoundError(
                    url, f"not in this cache (HTTP {error.code})", status=error.code
                ) from None
            raise FetchError(url, f"HTTP {error.code} {error.reason}", status=error.code) from None
        except urllib.error.URLError as error:
            reason = error.reason
            if isinstance(reason, (TimeoutError, socket.timeout)):
                raise FetchError(url, f"timed out after {self.timeout:g} s") from None
            raise FetchError(url, f"cannot connect: {reason}") from None
        except TimeoutError:
            raise FetchError(url, f"timed out after {self.timeout:g} s") from None
        except (OSError, http.client.HTTPException, ValueError) as error:
            raise FetchError(url, f"request failed: {error}") from None
        length = response.headers.get("Content-Length")
        if length is not None and length.isdigit() and int(length) > limit:
            response.close()
            raise FetchError(url, f"is {length} bytes, larger than {limit}")
        return CacheStream(response, url=url, client=self, kind=kind, limit=limit)

    def get(
        self, relative: str, *, kind: DocumentKind = DocumentKind.OTHER, limit: int | None = None
    ) -> bytes:
        """Fetch a whole (small) document within the timeout; ``NotFoundError`` if absent."""
        limit = self.max_document if limit is None else limit
        deadline = time.monotonic() + self.timeout
        with self.open(relative, kind=kind, limit=limit) as stream:
            parts = []
            while chunk := stream.read(CHUNK):
                parts.append(chunk)
                if time.monotonic() > deadline and self.scheme != "file":
                    raise FetchError(self.url_of(relative), f"took longer than {self.timeout:g} s")
            return b"".join(parts)

    def get_optional(
        self, relative: str, *, kind: DocumentKind = DocumentKind.OTHER, limit: int | None = None
    ) -> bytes | None:
        """Like :meth:`get`, but ``None`` when the cache does not have the file."""
        try:
            return self.get(relative, kind=kind, limit=limit)
        except NotFoundError:
            return None

    # -- cache documents -------------------------------------------------------------
    def cache_info(self) -> CacheInfo:
        """The cache's ``nix-cache-info`` (defaults when it has none)."""
        data = self.get_optional("nix-cache-info", limit=MAX_NARINFO_SIZE)
        if data is None:
            return CacheInfo()
        return CacheInfo.parse(data, url=self.url_of("nix-cache-info"))

    def fetch_narinfo(self, hash_part: str, *, store_dir: str = "/nix/store") -> NarInfo | None:
        """The parsed narinfo of the store path with this hash, or ``None`` if absent."""
        relative = f"{hash_part}.narinfo"
        data = self.get_optional(relative, kind=DocumentKind.NARINFO, limit=MAX_NARINFO_SIZE)
        if data is None:
            return None
        return NarInfo.parse(
            data, url=self.url_of(relative), store_dir=store_dir, hash_part=hash_part
        )

    def fetch_listing(self, hash_part: str) -> Listing | None:
        """The parsed ``.ls`` listing of the store path with this hash, or ``None``."""
        relative = f"{hash_part}.ls"
        data = self.get_optional(relative, kind=DocumentKind.LISTING)
        if data is None:
            return None
        return Listing.parse(data, source=self.url_of(relative))

    def open_nar(self, narinfo: NarInfo) -> CacheStream:
        """Open the (compressed) NAR of ``narinfo`` as a stream, capped at its FileSize."""
        limit = (
            narinfo.file_size
            if narinfo.file_size is not None
            else max(narinfo.nar_size * 2, 1 << 20)
        )
        return self.open(narinfo.nar_url, kind=DocumentKind.NAR, limit=limit)

    def fetch_narinfos(
        self, hash_parts: Iterable[str], *, max_workers: int = 8, store_dir: str = "/nix/store"
    ) -> tuple[NarInfoResult, ...]:
        """Fetch many narinfos, at most ``max_workers`` at once, in the order given."""
        return tuple(
            bounded_map(
                lambda hash_part: self._narinfo_result(hash_part, store_dir),
                list(hash_parts),
                max_workers=max_workers,
            )
        )

    def _narinfo_result(self, hash_part: str, store_dir: str) -> NarInfoResult:
        try:
            return NarInfoResult(hash_part, self.fetch_narinfo(hash_part, store_dir=store_dir))
        except RemoteError as error:
            return NarInfoResult(hash_part, None, error)


def bounded_map(func: Callable[[_T], _R], items: list[_T], *, max_workers: int) -> Iterator[_R]:
    """``map(func, items)`` on a thread pool with at most ``max_workers`` calls at once."""
    if max_workers < 1:
        raise ValueError("max_workers must be at least 1")
    if not items:
        return iter(())
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(max_workers, len(items))) as pool:
        return iter(list(pool.map(func, items)))
