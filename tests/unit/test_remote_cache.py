"""The remote cache (``index/remote_cache.py``): one SQLite connection that the threads
fetching narinfos and NARs in parallel write through."""

from __future__ import annotations

import concurrent.futures
from pathlib import Path

from autopatchelf.index.remote_cache import RemoteCache


def test_parallel_writers_share_one_connection(tmp_path: Path) -> None:
    """Before the writers were serialised, two threads opening transactions on the one
    connection failed with "cannot start a transaction within a transaction"."""
    cache = RemoteCache("/nix/store", str(tmp_path))
    names = [f"{n:032d}-lib{n}" for n in range(400)]

    def write(name: str) -> None:
        cache.put_narinfo(name, "file:///cache", f"StorePath: /nix/store/{name}\n".encode())
        cache.put_facts(name, {f"/nix/store/{name}/lib/lib{name}.so": name.encode()})

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(write, names))
    cache.close()
    again = RemoteCache("/nix/store", str(tmp_path))
    try:
        for name in names:
            assert again.narinfo(name) == (
                "file:///cache",
                f"StorePath: /nix/store/{name}\n".encode(),
            )
            assert again.nar_read(name)
            assert again.facts_of(name) == {f"/nix/store/{name}/lib/lib{name}.so": name.encode()}
    finally:
        again.close()
