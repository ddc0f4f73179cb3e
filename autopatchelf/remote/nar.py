"""A streaming reader of NARs (Nix archives), and in-memory extraction of chosen files.

Facts relied on (Nix ``src/libutil/archive.cc``; checked against ``nix-store --dump`` of
real store paths, and against the ``narOffset`` of Nix's ``.ls`` listings):

* A *string* is its length as a u64 little-endian, the bytes, then zero bytes up to a
  multiple of 8. Padding that is not zero is an error.
* A NAR is the string ``nix-archive-1`` followed by one node.
* A node is ``(`` ``type`` *T* ... ``)``, where *T* is
  ``regular`` [``executable`` ``""``] ``contents`` *<data>*, or ``symlink`` ``target``
  *<target>*, or ``directory`` followed by any number of
  ``entry`` ``(`` ``name`` *<name>* ``node`` *<node>* ``)``.
* Entry names are strictly increasing (byte order), never empty, ``.``, ``..``, and
  contain no ``/`` or NUL.

This reader accepts exactly that canonical form (``executable`` only before
``contents``), with bounded depth, name and target length, file size and entry count.
Errors are :class:`NarError` with the byte offset. Names are decoded as file names are
(UTF-8 with ``surrogateescape``), so they compare equal to what ``os.walk`` gives.
"""

from __future__ import annotations

import enum
import struct
import types
from collections.abc import Callable, Iterator, Mapping

import attrs

from autopatchelf.errors import NarError
from autopatchelf.frozen import Record
from autopatchelf.remote.readers import CHUNK, Readable

MAGIC = b"nix-archive-1"
ELF_MAGIC = b"\x7fELF"
_U64 = struct.Struct("<Q")
_MAX_TAG = 16


class EntryKind(enum.Enum):
    """The three kinds of file a store path (a NAR, a listing, nix-index) can hold."""

    REGULAR = "regular"
    SYMLINK = "symlink"
    DIRECTORY = "directory"


def bad_name_reason(name: bytes) -> str | None:
    """Why ``name`` is not a valid directory entry name in a NAR, or ``None``."""
    if not name:
        return "empty entry name"
    if name in (b".", b".."):
        return f"entry name {name.decode()!r}"
    if b"/" in name or b"\0" in name:
        return f"entry name {name!r} contains '/' or NUL"
    return None


def decode_name(name: bytes) -> str:
    """Decode a file name like ``os.fsdecode`` on Linux (UTF-8, surrogateescape)."""
    return name.decode("utf-8", "surrogateescape")


@attrs.frozen(repr=False)
class NarLimits(Record):
    """Bounds on what a NAR may contain (beyond its NarSize, checked elsewhere)."""

    max_depth: int = 128
    max_name: int = 1024
    max_target: int = 4096
    max_file_size: int = 1 << 36
    max_entries: int = 1_000_000


@attrs.frozen(repr=False)
class NarEntry(Record):
    """One file of a NAR. ``path`` is relative and ``/``-separated; the root is ``""``."""

    path: str
    kind: EntryKind
    executable: bool = False
    #: Size of a regular file's contents (0 for others).
    size: int = 0
    target: str | None = None
    #: Offset of a regular file's contents in the NAR (as ``narOffset`` in ``.ls`` files).
    offset: int | None = None


@attrs.define(repr=False)
class _OpenDirectory(Record):
    path: str
    last_name: bytes | None = None


class NarReader:
    """Stream the entries of a NAR read from ``source``.

    Iterate :meth:`entries`; right after a regular file is yielded, :meth:`read` returns
    its contents (all or part). What is not read is skipped when iteration goes on. The
    whole NAR is consumed, and bytes after its end are an error.
    """

    def __init__(self, source: Readable, *, name: str, limits: NarLimits | None = None) -> None:
        self._source = source
        self._name = name
        self._limits = limits or NarLimits()
        self._buf = b""
        self._pos = 0
        self._base = 0  # NAR offset of self._buf[0]
        self._remaining = 0  # unread bytes of the current file's contents
        self._started = False

    @property
    def offset(self) -> int:
        """Bytes of the NAR consumed so far."""
        return self._base + self._pos

    def _error(self, reason: str, offset: int | None = None) -> NarError:
        return NarError(self._name, self.offset if offset is None else offset, reason)

    def _fill(self, size: int) -> bool:
        """Make ``size`` bytes available in the buffer; False at the end of input."""
        available = len(self._buf) - self._pos
        if available >= size:
            return True
        parts = [self._buf[self._pos :]]
        while available < size:
            data = self._source.read(max(CHUNK, size - available))
            if not data:
                break
            parts.append(data)
            available += len(data)
        self._base += self._pos
        self._buf = b"".join(parts)
        self._pos = 0
        return available >= size

    def _take(self, size: int) -> bytes:
        if not self._fill(size):
            raise self._error(f"truncated (needed {size} more bytes)")
        data = self._buf[self._pos : self._pos + size]
        self._pos += size
        return data

    def _skip(self, size: int) -> None:
        while size:
            if self._pos >= len(self._buf) and not self._fill(1):
                raise self._error(f"truncated (needed {size} more bytes)")
            step = min(size, len(self._buf) - self._pos)
            self._pos += step
            size -= step

    def _u64(self) -> int:
        value: int = _U64.unpack(self._take(8))[0]
        return value

    def _padding(self, length: int) -> None:
        pad = -length % 8
        if pad:
            start = self.offset
            if self._take(pad) != bytes(pad):
                raise self._error("non-zero padding", start)

    def _string(self, limit: int, what: str) -> bytes:
        start = self.offset
        length = self._u64()
        if length > limit:
            raise self._error(f"{what} has length {length}, more than {limit}", start)
        data = self._take(length)
        self._padding(length)
        return data

    def _expect(self, token: bytes) -> None:
        start = self.offset
        got = self._string(max(_MAX_TAG, len(token)), f"expected {token.decode()!r}; a string")
        if got != token:
            raise self._error(f"expected {token.decode()!r}, found {got[:40]!r}", start)

    def read(self, size: int = -1, /) -> bytes:
        """Read from the contents of the regular file just yielded."""
        if size is None or size < 0 or size > self._remaining:
            size = self._remaining
        if size == 0:
            return b""
        data = self._take(size) if self._fill(size) else b""
        if not data:
            raise self._error(f"truncated inside file contents ({self._remaining} bytes left)")
        self._remaining -= len(data)
        return data

    def entries(self) -> Iterator[NarEntry]:
        """Yield every entry in NAR order (a directory before its entries)."""
        if self._started:
            raise RuntimeError("NarReader.entries() can be iterated only once")
        self._started = True
        limits = self._limits
        start = self.offset
        magic = self._string(_MAX_TAG, "magic")
        if magic != MAGIC:
            raise self._error(f"not a NAR (magic {magic[:20]!r})", start)
        self._expect(b"(")
        # Open directories, innermost last.
        stack: list[_OpenDirectory] = []
        path = ""
        count = 0
        while True:
            count += 1
            if count > limits.max_entries:
                raise self._error(f"more than {limits.max_entries} entries")
            # A node's "(" has been read.
            self._expect(b"type")
            start = self.offset
            kind = self._string(_MAX_TAG, "node type")
            if kind == b"regular":
                executable = False
                start = self.offset
                tag = self._string(_MAX_TAG, "tag")
                if tag == b"executable":
                    start = self.offset
                    if self._string(0, "executable marker") != b"":
                        raise self._error("executable marker is not empty", start)
                    executable = True
                    start = self.offset
                    tag = self._string(_MAX_TAG, "tag")
                if tag != b"contents":
                    raise self._error(f"expected 'contents', found {tag!r}", start)
                start = self.offset
                size = self._u64()
                if size > limits.max_file_size:
                    raise self._error(
                        f"file {path!r} has size {size}, more than {limits.max_file_size}", start
                    )
                self._remaining = size
                yield NarEntry(path, EntryKind.REGULAR, executable, size, None, self.offset)
                self._skip(self._remaining)
                self._remaining = 0
                self._padding(size)
                self._expect(b")")
            elif kind == b"symlink":
                self._expect(b"target")
                start = self.offset
                target = self._string(limits.max_target, "symlink target")
                if not target or b"\0" in target:
                    raise self._error(
                        f"symlink {path!r} has an empty target or one with NUL", start
                    )
                self._expect(b")")
                yield NarEntry(path, EntryKind.SYMLINK, target=decode_name(target))
            elif kind == b"directory":
                if len(stack) >= limits.max_depth:
                    raise self._error(f"directories nested deeper than {limits.max_depth}")
                yield NarEntry(path, EntryKind.DIRECTORY)
                stack.append(_OpenDirectory(path))
            else:
                raise self._error(f"unknown node type {kind!r}", start)
            if kind != b"directory":
                if not stack:
                    break
                self._expect(b")")  # closes the directory entry
            # Find the next node: the next entry of the innermost open directory.
            while stack:
                frame = stack[-1]
                start = self.offset
                tag = self._string(_MAX_TAG, "tag")
                if tag == b")":
                    stack.pop()
                    if stack:
                        self._expect(b")")
                    continue
                if tag != b"entry":
                    raise self._error(f"expected 'entry' or ')', found {tag!r}", start)
                self._expect(b"(")
                self._expect(b"name")
                start = self.offset
                name = self._string(limits.max_name, "entry name")
                reason = bad_name_reason(name)
                if reason is not None:
                    raise self._error(reason, start)
                previous = frame.last_name
                if previous is not None and name <= previous:
                    raise self._error(
                        f"entries not sorted: {name!r} after {previous!r} in {frame.path!r}", start
                    )
                frame.last_name = name
                self._expect(b"node")
                self._expect(b"(")
                parent = frame.path
                path = f"{parent}/{decode_name(name)}" if parent else decode_name(name)
                break
            else:
                break
        end = self.offset
        if self._fill(1):
            raise self._error("trailing data after the end of the NAR", end)


def frozen_mapping(mapping: Mapping[str, bytes]) -> Mapping[str, bytes]:
    """A read-only copy of ``mapping`` (for fields of frozen records)."""
    return types.MappingProxyType(dict(mapping))


@attrs.frozen(repr=False)
class NarContents(Record):
    """What :func:`extract_files` gives: every entry, and the contents of the wanted files."""

    entries: tuple[NarEntry, ...]
    files: Mapping[str, bytes] = attrs.field(converter=frozen_mapping)

    def entry(self, path: str) -> NarEntry | None:
        for entry in self.entries:
            if entry.path == path:
                return entry
        return None


def extract_files(
    source: Readable,
    *,
    name: str,
    want: Callable[[NarEntry], bool],
    head: Callable[[bytes], bool] | None = None,
    head_size: int = 4,
    max_total: int = 1 << 31,
    limits: NarLimits | None = None,
) -> NarContents:
    """Read a whole NAR, keeping in memory the regular files chosen.

    A regular file is kept when ``want(entry)`` is true and, with ``head``, when
    ``head(first head_size bytes)`` is true too (e.g. :func:`is_elf`), so unwanted files
    are never read in whole. ``max_total`` bounds the bytes kept. Nothing is written to
    disk. Raises :class:`NarError`.
    """
    reader = NarReader(source, name=name, limits=limits)
    entries: list[NarEntry] = []
    files: dict[str, bytes] = {}
    total = 0
    for entry in reader.entries():
        entries.append(entry)
        if entry.kind is not EntryKind.REGULAR or not want(entry):
            continue
        prefix = b""
        if head is not None:
            prefix = reader.read(head_size)
            if not head(prefix):
                continue
        total += entry.size
        if total > max_total:
            raise NarError(name, reader.offset, f"wanted files exceed {max_total} bytes")
        files[entry.path] = prefix + reader.read()
    return NarContents(tuple(entries), files)


def is_elf(prefix: bytes) -> bool:
    """Whether a file starting with ``prefix`` is an ELF object (``\\x7fELF``)."""
    return prefix.startswith(ELF_MAGIC)


def regular_in_dirs(dirs: tuple[str, ...] | list[str]) -> Callable[[NarEntry], bool]:
    """A ``want`` predicate: regular files directly inside one of ``dirs`` (relative)."""
    wanted = frozenset(directory.strip("/") for directory in dirs)

    def want(entry: NarEntry) -> bool:
        parent = entry.path.rpartition("/")[0]
        return entry.kind is EntryKind.REGULAR and parent in wanted

    return want
