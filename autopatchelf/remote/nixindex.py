"""A streaming reader of nix-index's ``files`` database.

Format (nix-community/nix-index ``src/database.rs``, ``src/frcode.rs``, ``src/files.rs``,
``src/package.rs``, read from its source; no real database is available here, so this
reader was checked against that description and against the independent test writer
``tests/nixindex_writer.py``, including databases built from real ``.ls`` listings):

* The file starts with the magic ``NIXI``, then the format version as a u64
  little-endian (1 is the only version), then one zstd stream (possibly several frames).
* Decompressed, it is a sequence of frcode lines: ``<metadata> \\0 <diff> <suffix> \\n``.
  ``<diff>`` is one byte read as a signed i8, except that the byte ``0x80`` means the
  next two bytes are a big-endian i16. It is added to the previous line's shared prefix
  length; the line's path is the first *shared* bytes of the previous line's path
  followed by ``<suffix>``. The shared length must stay within the previous path.
* A package is its file lines followed by a footer line whose metadata is ``p`` and
  whose "path" is JSON: ``{"store_dir": "/nix/store", "hash": ..., "name": ...,
  "origin": {"attr": ..., "output": ..., "toplevel": bool, "system": str|null}}``.
  Packages without files are not written.
* A file line's path is relative to the store path with a leading ``/`` (the root
  itself is the empty path); its metadata ends with the kind: ``<size>r`` (regular),
  ``<size>x`` (executable), ``<target>s`` (symlink), ``<entry count>d`` (directory).
  nix-index writes a tree depth-first, a directory before its entries.

Only :func:`default_database_path` reads the environment.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import attrs

from autopatchelf.errors import CompressionError, NixIndexError
from autopatchelf.frozen import Record
from autopatchelf.remote.compression import Compression, open_decompressed
from autopatchelf.remote.nar import EntryKind, decode_name
from autopatchelf.remote.readers import CHUNK, Readable
from autopatchelf.store.path import is_store_basename

MAGIC = b"NIXI"
FORMAT_VERSION = 1
HEADER_SIZE = 12


@attrs.frozen(repr=False)
class NixIndexLimits(Record):
    #: Longest line (metadata + suffix).
    max_line: int = 1 << 20
    #: Most file lines kept for one package.
    max_files: int = 4_000_000
    #: Most decompressed bytes read.
    max_decompressed: int = 1 << 36


@attrs.frozen(repr=False)
class IndexedFile(Record):
    """A file of a package: ``path`` relative (no leading ``/``; the root is ``""``).

    ``size`` is the byte size of a regular file and the entry count of a directory.
    """

    path: str
    kind: EntryKind
    size: int = 0
    executable: bool = False
    target: str | None = None


@attrs.frozen(repr=False)
class IndexedPackage(Record):
    """One store path of the database, its origin, and its files (as filtered)."""

    store_dir: str
    hash: str
    name: str
    attr: str
    output: str
    toplevel: bool
    system: str | None
    files: tuple[IndexedFile, ...]

    @property
    def store_path(self) -> str:
        return f"{self.store_dir}/{self.hash}-{self.name}"


def default_database_path(environ: Mapping[str, str] | None = None) -> Path:
    """Where nix-index keeps its database: ``$NIX_INDEX_DATABASE/files``, else
    ``$XDG_CACHE_HOME/nix-index/files``, else ``~/.cache/nix-index/files``."""
    env = os.environ if environ is None else environ
    if env.get("NIX_INDEX_DATABASE"):
        return Path(env["NIX_INDEX_DATABASE"]) / "files"
    cache = env.get("XDG_CACHE_HOME")
    if not cache or not os.path.isabs(cache):
        home = env.get("HOME") or os.path.expanduser("~")
        cache = os.path.join(home, ".cache")
    return Path(cache) / "nix-index" / "files"


def lib_dir_filter(lib_dirs: Sequence[str]) -> Callable[[str], bool]:
    """A ``want`` predicate: the lib dirs themselves and their direct entries."""
    dirs = frozenset(directory.strip("/") for directory in lib_dirs)

    def want(path: str) -> bool:
        return path in dirs or path.rpartition("/")[0] in dirs

    return want


def _parse_file(meta: bytes, path: str) -> IndexedFile | None:
    kind = meta[-1:]
    body = meta[:-1]
    if kind in (b"r", b"x", b"d"):
        if not body.isdigit() or len(body) > 20:
            return None
        size = int(body)
        if kind == b"d":
            return IndexedFile(path, EntryKind.DIRECTORY, size)
        return IndexedFile(path, EntryKind.REGULAR, size, kind == b"x")
    if kind == b"s" and body:
        return IndexedFile(path, EntryKind.SYMLINK, target=decode_name(body))
    return None


def _parse_footer(
    raw: bytes, source: str, line: int, files: tuple[IndexedFile, ...]
) -> IndexedPackage:
    where = f"{source}: line {line}"
    try:
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        raise NixIndexError(f"{where}: package entry is not valid JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("origin"), dict):
        raise NixIndexError(f"{where}: package entry is not a store path object")
    origin = data["origin"]
    store_dir, hash_, name = data.get("store_dir"), data.get("hash"), data.get("name")
    attr, output, toplevel = origin.get("attr"), origin.get("output"), origin.get("toplevel")
    system = origin.get("system")
    if not (
        isinstance(store_dir, str)
        and store_dir.startswith("/")
        and isinstance(hash_, str)
        and isinstance(name, str)
        and is_store_basename(f"{hash_}-{name}")
        and len(hash_) == 32
    ):
        raise NixIndexError(f"{where}: package entry has no valid store_dir/hash/name")
    if not (isinstance(attr, str) and isinstance(output, str) and isinstance(toplevel, bool)):
        raise NixIndexError(f"{where}: package {hash_}-{name} has an invalid origin")
    if system is not None and not isinstance(system, str):
        raise NixIndexError(f"{where}: package {hash_}-{name} has an invalid origin system")
    return IndexedPackage(store_dir, hash_, name, attr, output, toplevel, system, files)


def read_packages(
    source: Readable,
    *,
    name: str,
    want: Callable[[str], bool] | None = None,
    dirs: Sequence[str] | None = None,
    limits: NixIndexLimits | None = None,
) -> Iterator[IndexedPackage]:
    """Yield the packages of a database read from ``source`` (header included).

    Only files that pass both filters are kept: ``dirs`` (relative dirs, e.g. the lib
    dirs: keeps those dirs and their direct entries; checked on raw bytes, the fast way)
    and ``want`` (any predicate on the relative path). Every package is yielded, possibly
    with no files. File entries that are filtered out are not parsed further (a bad one
    among them goes unnoticed). Streams: memory is bounded by one package's kept files
    and one read chunk. Raises ``NixIndexError``.
    """
    limits = limits or NixIndexLimits()
    header = source.read(HEADER_SIZE)
    if len(header) < HEADER_SIZE or header[:4] != MAGIC:
        raise NixIndexError(f"{name}: not a nix-index database (no 'NIXI' magic)")
    version = int.from_bytes(header[4:], "little")
    if version != FORMAT_VERSION:
        raise NixIndexError(
            f"{name}: nix-index database format version {version}, only {FORMAT_VERSION} "
            "is supported"
        )
    stream = open_decompressed(source, Compression.ZSTD, limit=limits.max_decompressed, name=name)
    try:
        dir_set = None
        if dirs is not None:
            dir_set = frozenset(d.strip("/").encode("utf-8", "surrogateescape") for d in dirs)
        yield from _decode(stream, name, want, dir_set, limits)
    except CompressionError as error:
        raise NixIndexError(str(error)) from None


#: One frcode line: metadata, NUL, a 1-byte (or 0x80 + 2-byte) diff, the suffix, LF.
_LINE = re.compile(rb"([^\0]*)\0(\x80[\s\S]{2}|[^\x80])([^\n]*)\n")


def _decode(
    stream: Readable,
    source: str,
    want: Callable[[str], bool] | None,
    dirs: frozenset[bytes] | None,
    limits: NixIndexLimits,
) -> Iterator[IndexedPackage]:
    match_line = _LINE.match
    buf = b""
    pos = 0
    eof = False
    previous = b""
    shared = 0
    line = 0
    files: list[IndexedFile] = []
    while True:
        found = match_line(buf, pos)
        if found is None:
            if len(buf) - pos > limits.max_line:
                raise NixIndexError(
                    f"{source}: line {line + 1} is malformed or longer than {limits.max_line}"
                )
            if eof:
                if pos < len(buf):
                    raise NixIndexError(f"{source}: truncated or malformed line {line + 1}")
                break
            data = stream.read(CHUNK * 4)
            eof = not data
            buf = buf[pos:] + data
            pos = 0
            continue
        pos = found.end()
        line += 1
        meta, raw_diff, suffix = found.groups()
        if len(raw_diff) == 1:
            diff = raw_diff[0]
            shared += diff - 256 if diff > 127 else diff
        else:
            shared += int.from_bytes(raw_diff[1:], "big", signed=True)
        if shared < 0 or shared > len(previous):
            raise NixIndexError(
                f"{source}: line {line}: shared prefix length {shared} out of range "
                f"(previous path has {len(previous)} bytes)"
            )
        path = previous[:shared] + suffix if shared else suffix
        previous = path
        if meta == b"p":
            yield _parse_footer(path, source, line, tuple(files))
            files = []
            continue
        if path and path[:1] != b"/":
            raise NixIndexError(f"{source}: line {line}: file path {path[:80]!r} is not absolute")
        if dirs is not None and path[1:] not in dirs and path[1:].rpartition(b"/")[0] not in dirs:
            continue
        relative = decode_name(path[1:])
        if want is not None and not want(relative):
            continue
        entry = _parse_file(meta, relative)
        if entry is None:
            raise NixIndexError(f"{source}: line {line}: invalid file entry {meta[:80]!r}")
        files.append(entry)
        if len(files) > limits.max_files:
            raise NixIndexError(
                f"{source}: line {line}: more than {limits.max_files} files in a package"
            )
    if files:
        raise NixIndexError(f"{source}: file entries at the end have no package entry")


def read_database(
    path: str | os.PathLike[str],
    *,
    want: Callable[[str], bool] | None = None,
    dirs: Sequence[str] | None = None,
    limits: NixIndexLimits | None = None,
) -> Iterator[IndexedPackage]:
    """Open the database file at ``path`` and stream its packages (see :func:`read_packages`)."""
    name = os.fspath(path)
    try:
        handle = open(name, "rb")  # noqa: SIM115 (closed by the generator)
    except OSError as error:
        raise NixIndexError(f"{name}: cannot open nix-index database: {error.strerror}") from None
    with handle:
        try:
            yield from read_packages(handle, name=name, want=want, dirs=dirs, limits=limits)
        except OSError as error:
            raise NixIndexError(f"{name}: cannot read nix-index database: {error}") from None
