"""Store-path lists, as channels publish them (``store-paths.xz``).

Format: one absolute store path per line; blank lines are ignored. The file may be plain,
xz or zstd (also bzip2/gzip): the magic number decides, not the file name's suffix. Every
line must be a store path in the expected store dir; a bad one is an error naming its
line number. The decompressed size is bounded.
"""

from __future__ import annotations

import os

from autopatchelf.errors import CompressionError, StorePathListError
from autopatchelf.remote.compression import decompress_sniffed
from autopatchelf.store.path import StorePath, parse_store_path

#: Largest decompressed list accepted (nixpkgs' is ~10 MiB).
MAX_LIST_SIZE = 1 << 28


def parse_store_paths(
    data: bytes, *, source: str, store_dir: str = "/nix/store", limit: int = MAX_LIST_SIZE
) -> tuple[StorePath, ...]:
    """Parse a (possibly compressed) store-path list; raises ``StorePathListError``."""
    try:
        text = decompress_sniffed(data, limit=limit, name=source)
    except CompressionError as error:
        raise StorePathListError(str(error)) from None
    paths: list[StorePath] = []
    for number, raw in enumerate(text.split(b"\n"), 1):
        line = raw.strip()
        if not line:
            continue
        try:
            decoded = line.decode("utf-8")
        except UnicodeDecodeError:
            raise StorePathListError(f"{source}: line {number} is not UTF-8") from None
        parsed = parse_store_path(decoded)
        if parsed is None or parsed.store_dir != store_dir:
            raise StorePathListError(
                f"{source}: line {number}: {decoded[:200]!r} is not a store path in {store_dir}"
            )
        paths.append(parsed)
    return tuple(paths)


def read_store_paths(
    path: str | os.PathLike[str], *, store_dir: str = "/nix/store", limit: int = MAX_LIST_SIZE
) -> tuple[StorePath, ...]:
    """Read and parse the store-path list file at ``path``."""
    name = os.fspath(path)
    try:
        with open(name, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as error:
        raise StorePathListError(f"{name}: cannot read store-path list: {error.strerror}") from None
    if len(data) > limit:
        raise StorePathListError(f"{name}: store-path list is larger than {limit} bytes")
    return parse_store_paths(data, source=name, store_dir=store_dir, limit=limit)
