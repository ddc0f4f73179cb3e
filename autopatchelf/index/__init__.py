"""The store index: soname -> candidate library files, cached on disk per store path.

Typical use::

    with StoreIndex.open(within=["/run/current-system"]) as index:
        for candidate in index.candidates("libz.so.1"):
            print(candidate.store_path, candidate.path)
"""

from __future__ import annotations

from autopatchelf.cachedir import default_cache_dir
from autopatchelf.index.candidate import Candidate, IndexStats
from autopatchelf.index.store_index import StoreIndex

__all__ = ["Candidate", "IndexStats", "StoreIndex", "default_cache_dir"]
