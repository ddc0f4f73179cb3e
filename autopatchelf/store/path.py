"""Store path names: ``<store>/<hash>-<name>-<version>`` parsed into a frozen record."""

from __future__ import annotations

import os

import attrs

from autopatchelf.frozen import Record
from autopatchelf.nix.names import HASH_LENGTH, NIX_BASE32, is_store_basename
from autopatchelf.store.version import VersionKey, split_name_version, version_key

__all__ = [
    "HASH_LENGTH",
    "NIX_BASE32",
    "StorePath",
    "is_store_basename",
    "make_store_path",
    "parse_store_path",
]


@attrs.frozen(repr=False)
class StorePath(Record):
    """One store path, e.g. ``/nix/store/<hash>-glibc-2.39-52``.

    ``name``/``version`` follow Nix's split (the version starts after the first ``-``
    not followed by a letter, so output suffixes such as ``-lib`` stay in the version).
    ``version_key`` sorts like Nix's version comparison; use ``sort_key`` to order
    store paths by name, then version (oldest first), then hash.
    """

    path: str
    hash: str
    name: str
    version: str | None
    version_key: VersionKey = attrs.field(eq=False, repr=False)

    @classmethod
    def parse(cls, path: str) -> StorePath:
        """Parse an absolute store path (no trailing components); raises ``ValueError``."""
        parsed = parse_store_path(path)
        if parsed is None:
            raise ValueError(f"not a store path: {path!r}")
        return parsed

    @property
    def basename(self) -> str:
        return os.path.basename(self.path)

    @property
    def store_dir(self) -> str:
        return os.path.dirname(self.path)

    @property
    def name_version(self) -> str:
        """The part after the hash: ``glibc-2.39-52``."""
        return self.basename[HASH_LENGTH + 1 :]

    @property
    def sort_key(self) -> tuple[str, VersionKey, str]:
        return (self.name, self.version_key, self.hash)

    def __str__(self) -> str:
        return self.path


def parse_store_path(path: str) -> StorePath | None:
    """Parse ``<store dir>/<hash>-<name>``; ``None`` if the last component is not one."""
    basename = os.path.basename(path)
    if not is_store_basename(basename) or not os.path.isabs(path):
        return None
    name, version = split_name_version(basename[HASH_LENGTH + 1 :])
    return StorePath(
        path=path,
        hash=basename[:HASH_LENGTH],
        name=name,
        version=version,
        version_key=version_key(version),
    )


def make_store_path(store_dir: str, basename: str) -> StorePath:
    """The :class:`StorePath` of ``basename`` in ``store_dir`` (already known to be valid)."""
    parsed = parse_store_path(os.path.join(store_dir, basename))
    if parsed is None:
        raise ValueError(f"not a store path name: {basename!r}")
    return parsed
