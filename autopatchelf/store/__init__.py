"""Store directories and store paths: which paths exist and what they refer to.

Nothing is imported eagerly: ``run`` with a lock reads :mod:`autopatchelf.store.substitute`
records and must not pay for the store backends. The names below load on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from autopatchelf.nix.dirs import nix_state_dir, nix_store_dir
    from autopatchelf.store.graph import MappingGraph, ReferenceGraph
    from autopatchelf.store.path import StorePath, is_store_basename, parse_store_path
    from autopatchelf.store.store import Backend, NixMode, Store
    from autopatchelf.store.version import split_name_version, version_key

_WHERE = {
    "nix_state_dir": "autopatchelf.nix.dirs",
    "nix_store_dir": "autopatchelf.nix.dirs",
    "MappingGraph": "autopatchelf.store.graph",
    "ReferenceGraph": "autopatchelf.store.graph",
    "StorePath": "autopatchelf.store.path",
    "is_store_basename": "autopatchelf.store.path",
    "parse_store_path": "autopatchelf.store.path",
    "Backend": "autopatchelf.store.store",
    "NixMode": "autopatchelf.store.store",
    "Store": "autopatchelf.store.store",
    "split_name_version": "autopatchelf.store.version",
    "version_key": "autopatchelf.store.version",
}

__all__ = [
    "Backend",
    "MappingGraph",
    "NixMode",
    "ReferenceGraph",
    "Store",
    "StorePath",
    "is_store_basename",
    "nix_state_dir",
    "nix_store_dir",
    "parse_store_path",
    "split_name_version",
    "version_key",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'autopatchelf.store' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
