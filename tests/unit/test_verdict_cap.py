"""The index cache keeps verdicts and optima within a size (``index/cacheverdicts.py``):
past it, the oldest saved are dropped until a quarter is free; the bytes are counted as
saved and summed exactly only when the count passes the limit."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest

from autopatchelf.index import cacheverdicts
from autopatchelf.index.cache import IndexCache

LIMIT = 4000
Verdicts = dict[bytes, tuple[str, str] | None]


@pytest.fixture
def cache(monkeypatch: pytest.MonkeyPatch) -> Iterator[IndexCache]:
    monkeypatch.setattr(cacheverdicts, "MAX_BYTES", LIMIT)
    opened = IndexCache.in_memory("/nix/store")
    try:
        yield opened
    finally:
        opened.close()


def batch(tag: bytes, count: int) -> Verdicts:
    """``count`` verdicts of 100 bytes each (a 16-byte key, a kind and what)."""
    return {
        tag + b"%015d" % n: ("version", "F" * (100 - 16 - len("version"))) for n in range(count)
    }


def save_at(
    cache: IndexCache, monkeypatch: pytest.MonkeyPatch, when: float, verdicts: Verdicts
) -> None:
    monkeypatch.setattr(cacheverdicts, "clock", lambda: when)
    assert cache.save_verdicts(verdicts)


def held(cache: IndexCache, verdicts: Verdicts) -> int:
    return len(cache.verdicts(list(verdicts)))


def conn_of(cache: IndexCache) -> sqlite3.Connection:
    return cache._conn


def test_past_the_limit_the_oldest_saved_go_first(
    cache: IndexCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, middle, new = batch(b"a", 15), batch(b"b", 15), batch(b"c", 15)
    assert all(cacheverdicts.row_bytes(k, v) == 100 for k, v in old.items())
    save_at(cache, monkeypatch, 100, old)
    save_at(cache, monkeypatch, 200, middle)
    assert held(cache, old) == held(cache, middle) == 15  # 3000 bytes: within the limit
    save_at(cache, monkeypatch, 300, new)  # 4500 bytes: past it
    assert held(cache, old) == 0
    assert held(cache, new) == 15
    assert held(cache, middle) == 15  # the newest 3000 bytes (three quarters) are kept
    stored = cacheverdicts.stored_bytes(conn_of(cache))
    assert stored == 3000
    assert cacheverdicts.counted_bytes(conn_of(cache)) == stored


def test_a_drop_keeps_the_newest_within_three_quarters_of_the_limit(
    cache: IndexCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    for when in range(8):  # 8 x 700 bytes, one second apart
        save_at(cache, monkeypatch, 1000 + when, batch(b"%d" % when, 7))
    stored = cacheverdicts.stored_bytes(conn_of(cache))
    assert stored <= LIMIT
    assert held(cache, batch(b"7", 7)) == 7 and held(cache, batch(b"0", 7)) == 0
    kept = [held(cache, batch(b"%d" % when, 7)) for when in range(8)]
    assert kept == sorted(kept)  # never an older row kept over a newer one


def test_saving_the_same_verdicts_again_drops_nothing(
    cache: IndexCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    same = batch(b"s", 10)  # 1000 bytes, saved 10 times: counted 10,000
    for when in range(10):
        save_at(cache, monkeypatch, 50 + when, same)
    assert held(cache, same) == 10
    # The count passed the limit once; the exact sum then set it back.
    assert cacheverdicts.counted_bytes(conn_of(cache)) < LIMIT
    assert cacheverdicts.stored_bytes(conn_of(cache)) == 1000


def test_a_count_that_is_not_ours_is_summed_again(
    cache: IndexCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    save_at(cache, monkeypatch, 10, batch(b"x", 5))
    conn_of(cache).execute(
        "UPDATE meta SET value = 'garbage' WHERE key = ?", (cacheverdicts.BYTES_KEY,)
    )
    save_at(cache, monkeypatch, 20, batch(b"y", 5))
    assert cacheverdicts.counted_bytes(conn_of(cache)) == 1000
    assert held(cache, batch(b"x", 5)) == 5
