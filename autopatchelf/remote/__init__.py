"""Providers that are not in the local store: binary caches, nix-index, store-path lists.

In the pipeline, these leaf readers describe *candidates* the local ``/nix/store`` does
not have: a binary cache's ``.narinfo`` (signed metadata: references, sizes, hashes) and
``.ls`` listing (which files, which lib dirs, which symlinks), a nix-index ``files``
database (files of many store paths at once), or a channel's ``store-paths.xz``. All of
it is checked before anything is downloaded: narinfo signatures against trusted keys,
store paths and names validated; a NAR, when fetched, is verified against FileHash,
FileSize, NarHash and NarSize while it streams, and only the wanted files are kept, in
memory. Every reader bounds its input and raises
:class:`~autopatchelf.errors.RemoteError` subclasses only.
"""

from __future__ import annotations

from autopatchelf.errors import (
    CompressionError,
    FetchError,
    IntegrityError,
    ListingError,
    NarError,
    NarInfoError,
    NixIndexError,
    NotFoundError,
    RemoteError,
    SignatureError,
    StorePathListError,
)
from autopatchelf.remote.compression import (
    Compression,
    decompress,
    decompress_sniffed,
    open_decompressed,
    sniff,
)
from autopatchelf.remote.fetch import CacheClient, DocumentKind, FetchStats, NarInfoResult
from autopatchelf.remote.hashing import HashingReader
from autopatchelf.remote.keys import PublicKey, TrustedKeys
from autopatchelf.remote.listing import LibDir, LibDirEntry, Listing, ListingEntry, Resolved
from autopatchelf.remote.nar import (
    EntryKind,
    NarContents,
    NarEntry,
    NarLimits,
    NarReader,
    extract_files,
    is_elf,
    regular_in_dirs,
)
from autopatchelf.remote.narinfo import CacheInfo, Hash, NarInfo, Signature, Verification, verify
from autopatchelf.remote.nixindex import (
    IndexedFile,
    IndexedPackage,
    default_database_path,
    lib_dir_filter,
    read_database,
    read_packages,
)
from autopatchelf.remote.storepaths import parse_store_paths, read_store_paths
from autopatchelf.remote.verified import extract_verified

__all__ = [
    "CacheClient",
    "CacheInfo",
    "Compression",
    "CompressionError",
    "DocumentKind",
    "EntryKind",
    "FetchError",
    "FetchStats",
    "Hash",
    "HashingReader",
    "IndexedFile",
    "IndexedPackage",
    "IntegrityError",
    "LibDir",
    "LibDirEntry",
    "Listing",
    "ListingEntry",
    "ListingError",
    "NarContents",
    "NarEntry",
    "NarError",
    "NarInfo",
    "NarInfoError",
    "NarInfoResult",
    "NarLimits",
    "NarReader",
    "NixIndexError",
    "NotFoundError",
    "PublicKey",
    "RemoteError",
    "Resolved",
    "Signature",
    "SignatureError",
    "StorePathListError",
    "TrustedKeys",
    "Verification",
    "decompress",
    "decompress_sniffed",
    "default_database_path",
    "extract_files",
    "extract_verified",
    "is_elf",
    "lib_dir_filter",
    "open_decompressed",
    "parse_store_paths",
    "read_database",
    "read_packages",
    "read_store_paths",
    "regular_in_dirs",
    "sniff",
    "verify",
]
