"""Session fixtures for the remote tests: real binary caches written by ``nix copy``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ._nix import RealCache, find_store_path, generate_key, make_cache, require_nix


@pytest.fixture(scope="session")
def store_paths() -> list[Path]:
    """Two real store paths with lib dirs and references (zlib1g, libzstd1 -> libc6)."""
    require_nix()
    return [find_store_path("-zlib1g-"), find_store_path("-libzstd1-")]


@pytest.fixture(scope="session")
def cache_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    require_nix()
    return generate_key(tmp_path_factory.mktemp("keys"), "autopatchelf-test-1")


@pytest.fixture(scope="session")
def cache_factory(
    tmp_path_factory: pytest.TempPathFactory,
    store_paths: list[Path],
    cache_key: tuple[Path, str],
) -> Callable[[str], RealCache]:
    """Makes (once per compression) a file:// cache of ``store_paths`` and their closure."""
    made: dict[str, RealCache] = {}

    def factory(compression: str) -> RealCache:
        if compression not in made:
            root = tmp_path_factory.mktemp(f"cache-{compression}")
            made[compression] = make_cache(root, store_paths, compression, *cache_key)
        return made[compression]

    return factory


@pytest.fixture(scope="session", params=["xz", "zstd"])
def real_cache(
    request: pytest.FixtureRequest, cache_factory: Callable[[str], RealCache]
) -> RealCache:
    return cache_factory(str(request.param))


@pytest.fixture(scope="session")
def zstd_cache(cache_factory: Callable[[str], RealCache]) -> RealCache:
    return cache_factory("zstd")
