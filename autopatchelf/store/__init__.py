"""Store directories and store paths: which paths exist and what they refer to."""

from __future__ import annotations

from autopatchelf.nix.dirs import nix_state_dir, nix_store_dir
from autopatchelf.store.graph import MappingGraph, ReferenceGraph
from autopatchelf.store.path import StorePath, is_store_basename, parse_store_path
from autopatchelf.store.store import Backend, NixMode, Store
from autopatchelf.store.version import split_name_version, version_key

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
