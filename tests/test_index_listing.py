"""A warm open of an unchanged plain store lists nothing: the store dir's stamp says no
store path came or went. Any change is seen; a racy stamp is never trusted."""

from __future__ import annotations

import os
import shutil
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest

from autopatchelf.index import StoreIndex
from autopatchelf.index import update as update_module
from autopatchelf.index.cache import IndexCache
from autopatchelf.index.records import PathScan
from autopatchelf.store import dirstamp
from autopatchelf.store import store as store_module
from autopatchelf.store.dirstamp import DirStamp, read_dir_stamp
from autopatchelf.store.store import Store

sys.path.insert(0, os.path.dirname(__file__))
import nixutil

LIBZ = os.path.realpath(f"{nixutil.HOST_LIB_DIR}/libz.so.1")


def add_path(store: Path, name: str) -> Path:
    """A store path ``name`` holding a copy of the host's libz."""
    root = store / f"{nixutil.fake_hash(name)}-{name}-1.0"
    (root / "lib").mkdir(parents=True)
    shutil.copy(LIBZ, root / "lib/libz.so.1")
    return root


@pytest.fixture
def store(tmp_path: Path) -> Path:
    if not os.path.exists(LIBZ):
        pytest.skip("no host libz")
    for name in ("one", "two", "three"):
        add_path(tmp_path / "store", name)
    return tmp_path / "store"


@pytest.fixture
def listings(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The store dirs listed from now on (one entry per listing)."""
    listed: list[str] = []
    real = Store._listing

    def counting(self: Store) -> dict[str, str]:
        listed.append(self.dir)
        return real(self)

    monkeypatch.setattr(Store, "_listing", counting)
    return listed


@pytest.fixture
def settled(monkeypatch: pytest.MonkeyPatch, store: Path) -> None:
    """A stamp is settled once its timestamps are in the past at all (the store was
    just made: by the real rule it would stay racy for two seconds)."""
    monkeypatch.setattr(dirstamp, "RACY_NS", 0)
    age(store)


_AGES = iter(range(1, 1_000_000))


def age(store: Path) -> None:
    """Date the store dir's last change an hour (and a unique few seconds) back, as if
    time had passed since: changes this quick can share one tick of the clock."""
    then = os.stat(store).st_mtime_ns - 3600 * 10**9 - next(_AGES) * 10**9
    os.utime(store, ns=(then, then))


def providers(store: Path, cache: Path) -> list[str]:
    with StoreIndex.open(str(store), cache_dir=str(cache), workers=1) as index:
        found = [c.store_path.basename for c in index.candidates("libz.so.1")]
        assert sorted(p.basename for p in index.store_paths()) == sorted(found)
        assert index.stats.store_paths == len(found)
        assert all(index.is_valid(b) and index.offers(b) for b in found)
        assert not index.is_valid("00000000000000000000000000000000-gone-1.0")
        return sorted(found)


def test_unchanged_store_dir_is_not_listed_again(
    store: Path, tmp_path: Path, listings: list[str], settled: None
) -> None:
    cold = providers(store, tmp_path / "cache")
    assert len(cold) == 3 and len(listings) == 1
    assert providers(store, tmp_path / "cache") == cold
    assert providers(store, tmp_path / "cache") == cold
    assert len(listings) == 1


def test_path_added_or_removed_after_a_warm_open_is_seen(
    store: Path, tmp_path: Path, listings: list[str], settled: None
) -> None:
    cache = tmp_path / "cache"
    providers(store, cache)
    providers(store, cache)  # warm, not listed
    added = add_path(store, "four")
    age(store)
    assert added.name in providers(store, cache)
    assert len(listings) == 2
    assert len(providers(store, cache)) == 4  # recorded again: warm
    assert len(listings) == 2
    shutil.rmtree(store / f"{nixutil.fake_hash('one')}-one-1.0")
    age(store)
    after = providers(store, cache)
    assert len(after) == 3 and not any("-one-" in b for b in after)
    assert len(listings) == 3


def test_remade_path_is_scanned_again(store: Path, tmp_path: Path, settled: None) -> None:
    cache = tmp_path / "cache"
    providers(store, cache)
    providers(store, cache)
    root = store / f"{nixutil.fake_hash('two')}-two-1.0"
    remade = store / "remade"  # made first: another inode
    (remade / "lib").mkdir(parents=True)
    shutil.copy(LIBZ, remade / "lib/libz.so.1.9")  # same name, another file
    shutil.rmtree(root)
    remade.rename(root)
    age(store)
    with StoreIndex.open(str(store), cache_dir=str(cache), workers=1) as index:
        assert index.stats.paths_dropped == index.stats.paths_scanned == 1
        assert str(root / "lib/libz.so.1.9") in [c.path for c in index.candidates("libz.so.1")]


def test_racy_stamp_is_not_trusted(
    store: Path, tmp_path: Path, listings: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A change in the same timestamp tick as the stat (simulated: the stamp does not
    change at all) is seen, because a racy stamp is never recorded."""
    frozen = DirStamp(text="1:2:3:4:5:6", settled=False)
    monkeypatch.setattr(store_module, "read_dir_stamp", lambda path: frozen)
    cache = tmp_path / "cache"
    assert len(providers(store, cache)) == 3
    add_path(store, "four")
    assert len(providers(store, cache)) == 4
    assert len(listings) == 2


def test_store_just_changed_is_racy(store: Path) -> None:
    """By the real rule a directory changed a moment ago is racy, and stays listed."""
    assert not read_dir_stamp(str(store)).settled
    old = 1_000_000_000_000_000_000  # 2001
    os.utime(store, ns=(old, old))
    assert not read_dir_stamp(str(store)).settled  # its ctime is now


def test_settled_stamp_is_recorded_and_trusted(
    store: Path, tmp_path: Path, listings: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    frozen = DirStamp(text="1:2:3:4:5:6", settled=True)
    monkeypatch.setattr(store_module, "read_dir_stamp", lambda path: frozen)
    cache = tmp_path / "cache"
    providers(store, cache)
    providers(store, cache)
    assert len(listings) == 1


def test_narrower_run_does_not_record_a_partial_cache(
    store: Path, tmp_path: Path, listings: list[str], settled: None
) -> None:
    """A ``within`` run scans only its closure: the cache is not the whole listing, so
    the next whole-store open lists (and scans the rest)."""
    cache = tmp_path / "cache"
    one = store / f"{nixutil.fake_hash('one')}-one-1.0"
    with StoreIndex.open(str(store), within=[str(one)], cache_dir=str(cache), workers=1) as index:
        assert index.stats.paths_scanned == 1
    assert len(providers(store, cache)) == 3
    assert len(listings) == 2
    # Now complete: a narrower run is warm too, and narrows.
    with StoreIndex.open(str(store), within=[str(one)], cache_dir=str(cache), workers=1) as index:
        assert [c.store_path.basename for c in index.candidates("libz.so.1")] == [one.name]
        assert index.stats.paths_scanned == 0
    assert len(listings) == 2


def test_writing_paths_forgets_the_recorded_listing(tmp_path: Path) -> None:
    cache = IndexCache.open("/some/store", str(tmp_path))
    try:
        cache.record_listing("1:2:3:4:5:6", {})
        assert cache.listing_stamp() == "1:2:3:4:5:6"
        cache.record_listing("1:2:3:4:5:7", {"x": "ino:1"})  # not what the table holds
        assert cache.listing_stamp() == "1:2:3:4:5:6"
        base = f"{nixutil.fake_hash('x')}-x-1.0"
        cache.write([PathScan(basename=base, stamp="ino:1")])
        assert cache.listing_stamp() is None
        cache.record_listing("1:2:3:4:5:8", {base: "ino:1"})
        assert cache.listing_stamp() == "1:2:3:4:5:8"
        cache.drop_paths([base])
        assert cache.listing_stamp() is None
    finally:
        cache.close()


def test_corrupt_table_is_a_store_error_after_open(
    store: Path, tmp_path: Path, settled: None
) -> None:
    cache = tmp_path / "cache"
    providers(store, cache)
    with StoreIndex.open(str(store), cache_dir=str(cache), workers=1) as index:
        (db,) = cache.glob("index-*.sqlite")
        conn = sqlite3.connect(db)
        conn.execute("DROP TABLE paths")
        conn.commit()
        conn.close()
        with pytest.raises(Exception, match="unusable"):
            index.is_valid("00000000000000000000000000000000-any-1.0")


def test_only_a_plain_store_has_a_listing_stamp(store: Path) -> None:
    """Nix registers a built path without touching the store dir: its backends list."""
    assert Store(str(store), "plain").listing_stamp() is not None
    assert Store(str(store), "nix-cli").listing_stamp() is None
    assert Store(str(store / "missing"), "plain").listing_stamp() is None


def _indexes(cache: Path) -> set[str]:
    (db,) = cache.glob("index-*.sqlite")
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        )
        return {name for (name,) in rows}
    finally:
        conn.close()


def test_interrupted_cold_build_is_rebuilt(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cold build makes its indexes at the end, in one transaction, under a marker:
    interrupted, it leaves no row of its scans (only the marker), the cache is never
    trusted as complete, and the next run builds it again."""
    cache = tmp_path / "cache"
    whole = providers(store, tmp_path / "whole")
    expected = _indexes(tmp_path / "whole")
    assert {"files_soname", "entries_name", "entries_file"} <= expected
    monkeypatch.setattr(update_module, "_BATCH_PATHS", 1)
    real = IndexCache.write
    calls = 0

    def interrupted(self: IndexCache, *args: Any, **kwargs: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise KeyboardInterrupt
        real(self, *args, **kwargs)

    monkeypatch.setattr(IndexCache, "write", interrupted)
    with pytest.raises(KeyboardInterrupt):
        StoreIndex.open(str(store), cache_dir=str(cache), workers=1)
    monkeypatch.setattr(IndexCache, "write", real)
    (db,) = cache.glob("index-*.sqlite")
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM paths").fetchone() == (0,)
    assert conn.execute("SELECT value FROM meta WHERE key = 'unfinished'").fetchone() == ("1",)
    conn.close()
    with StoreIndex.open(str(store), cache_dir=str(cache), workers=1) as index:
        assert index.stats.paths_scanned == 3  # from scratch
    assert providers(store, cache) == whole
    assert _indexes(cache) == expected
