"""Where locks live: shipped beside the binary, or cached by the binary's hash."""

from __future__ import annotations

import os

from autopatchelf.cachedir import cache_dir as resolve_cache_dir

#: The name a lock shipped beside ``app`` has: ``app.autopatchelf.lock``.
LOCK_SUFFIX = ".autopatchelf.lock"


def beside_path(binary: str) -> str:
    """The lock shipped beside ``binary``: ``<binary>.autopatchelf.lock``."""
    return os.path.abspath(binary) + LOCK_SUFFIX


def cached_path(sha256: str, cache_dir: str | None = None) -> str:
    """The cached lock of the binary whose hash is ``sha256``."""
    return os.path.join(resolve_cache_dir(cache_dir), "locks", f"{sha256}.json")


def verified_path(lock_digest: str, cache_dir: str | None = None) -> str:
    """The marker saying the lock whose content hash is ``lock_digest`` passed the deep
    check (its files are what it claims)."""
    return os.path.join(resolve_cache_dir(cache_dir), "locks", "verified", lock_digest)


def hash_record_path(device: int, inode: int, cache_dir: str | None = None) -> str:
    """The record of the last sha256 computed for the file at (``device``, ``inode``)."""
    return os.path.join(resolve_cache_dir(cache_dir), "locks", "hashes", f"{device}-{inode}")


def launch_record_path(device: int, inode: int, cache_dir: str | None = None) -> str:
    """The record of the last verified ``run`` of the binary at (``device``, ``inode``)
    (:mod:`autopatchelf.actions.launchmemo`)."""
    return os.path.join(resolve_cache_dir(cache_dir), "locks", "launch", f"{device}-{inode}")
