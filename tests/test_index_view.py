"""The lazy index view answers exactly as the eager one did (every row read at open), on
the fixture stores and on generated ones; its cost follows what is asked, not the store."""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import sys
from pathlib import Path

import pytest

from autopatchelf.index import StoreIndex
from autopatchelf.index import update as update_module
from autopatchelf.index.cache import SCHEMA_VERSION

sys.path.insert(0, os.path.dirname(__file__))
import nixutil
from eager_view import assert_same_answers, eager_view

#: Host libraries the generated stores are made of (hard links or copies).
_HOST_LIBS = ("libz.so.1", "libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2")


def _cache_file(cache: Path) -> Path:
    (found,) = cache.glob("index-*.sqlite")
    return found


def _check(store: Path, cache: Path, within: list[str] | None = None) -> StoreIndex:
    index = StoreIndex.open(str(store), cache_dir=str(cache), within=within or ())
    universe = None if within is None else frozenset(p.basename for p in index.store_paths())
    assert_same_answers(index, eager_view(_cache_file(cache), universe))
    return index


def _link(source: str, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def generate_store(root: Path, seed: int, paths: int = 40) -> list[Path]:
    """A plain store of ``paths`` store paths with lib dirs in every shape the scanner
    meets: soname links, links into other paths, dangling links, ``lib64 -> lib``,
    multiarch dirs, non-ELF files, subdirectories."""
    rng = random.Random(seed)
    host = [
        os.path.realpath(f"{nixutil.HOST_LIB_DIR}/{n}")
        for n in _HOST_LIBS
        if os.path.exists(f"{nixutil.HOST_LIB_DIR}/{n}")
    ]
    assert host
    root.mkdir(parents=True)
    made: list[Path] = []
    for number in range(paths):
        path = root / f"{nixutil.fake_hash(f'{seed}-{number}')}-gen{number % 7}-1.{number}"
        sub = rng.choice(["lib", "lib", "usr/lib/x86_64-linux-gnu", "lib/x86_64-linux-gnu"])
        lib = path / sub
        lib.mkdir(parents=True)
        for slot in range(rng.randint(0, 4)):
            source = rng.choice(host)
            name = f"{os.path.basename(source)}.{slot}"
            _link(source, lib / name)
            if rng.random() < 0.7:
                (lib / os.path.basename(source)).unlink(missing_ok=True)
                (lib / os.path.basename(source)).symlink_to(name)
        if made and rng.random() < 0.3:
            other = rng.choice(made)
            targets = [p for p in other.rglob("*.so*") if p.is_file() and not p.is_symlink()]
            if targets:
                (lib / f"libcross{number}.so.1").symlink_to(rng.choice(targets))
        if rng.random() < 0.2:
            (lib / "libdangling.so.1").symlink_to("libmissing.so.1")
        if rng.random() < 0.2:
            (lib / "pkgconfig").mkdir()
            (lib / "libfoo.la").write_text("# libtool\n")
        if sub == "lib" and rng.random() < 0.3:
            (path / "lib64").symlink_to("lib")
        made.append(path)
    return made


def test_lazy_view_matches_eager_on_the_plain_fixture(tmp_path: Path) -> None:
    nixutil.require_gcc()
    plain = nixutil.build_plain_store(tmp_path / "store")
    cache = tmp_path / "cache"
    _check(tmp_path / "store", cache).close()
    for roots in ([plain["foo"]], [plain["app"]], [plain["zlib12"], plain["foo"]]):
        _check(tmp_path / "store", cache, [str(r) for r in roots]).close()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_lazy_view_matches_eager_on_generated_stores(tmp_path: Path, seed: int) -> None:
    made = generate_store(tmp_path / "store", seed)
    cache = tmp_path / "cache"
    with _check(tmp_path / "store", cache) as index:
        assert index.stats.files > 0
    rng = random.Random(seed)
    _check(tmp_path / "store", cache, [str(p) for p in rng.sample(made, 5)]).close()


def test_batched_writes_match_one_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    generate_store(tmp_path / "store", 7, paths=30)

    def answers(cache: Path) -> dict[str, list[tuple[str, tuple[str, ...]]]]:
        with StoreIndex.open(str(tmp_path / "store"), cache_dir=str(cache), workers=1) as index:
            return {n: [(c.path, c.entries) for c in index.candidates(n)] for n in index.sonames()}

    whole = answers(tmp_path / "one")
    monkeypatch.setattr(update_module, "_BATCH_PATHS", 3)
    monkeypatch.setattr(update_module, "_BATCH_FILES", 4)
    assert answers(tmp_path / "many") == whole
    assert whole


@pytest.mark.nix
def test_lazy_view_matches_eager_on_the_nix_sample(tmp_path: Path) -> None:
    nixutil.require_nix()
    (tmp_path / "nix").mkdir()
    sample = nixutil.build_sample(tmp_path / "nix")
    with StoreIndex.open(cache_dir=str(tmp_path / "cache")) as index:
        assert_same_answers(index, eager_view(_cache_file(tmp_path / "cache"), None))
    with StoreIndex.open(within=[sample["app"]], cache_dir=str(tmp_path / "cache")) as index:
        universe = frozenset(p.basename for p in index.store_paths())
        assert_same_answers(index, eager_view(_cache_file(tmp_path / "cache"), universe))


def _vm_steps(index: StoreIndex, names: list[str] | None) -> int:
    """SQLite VM steps (in tens) the view takes to answer about ``names`` (``None``: to
    list every name)."""
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0

    conn = index._view.conn
    conn.set_progress_handler(count, 10)
    try:
        for name in index.sonames() if names is None else names:
            for candidate in index.candidates(name):
                for directory in candidate.dirs:
                    index.entry_names(directory)
                    index.lookup(directory, name)
    finally:
        conn.set_progress_handler(None, 0)
    return steps


def test_lookup_cost_does_not_grow_with_the_store(tmp_path: Path) -> None:
    """Asking about a few names costs the same in a store ten times the size."""
    costs = []
    listing = []
    for paths in (60, 600):
        store = tmp_path / f"store{paths}"
        generate_store(store, 11, paths=paths)
        # the same few names, each with a few providers, in both stores
        probe = store / f"{nixutil.fake_hash('probe')}-probe-1.0" / "lib"
        probe.mkdir(parents=True)
        _link(os.path.realpath(f"{nixutil.HOST_LIB_DIR}/libz.so.1"), probe / "libprobe.so.1")
        with StoreIndex.open(str(store), cache_dir=str(tmp_path / f"c{paths}")) as index:
            assert index.stats.files > paths // 2
        with StoreIndex.open(str(store), cache_dir=str(tmp_path / f"c{paths}")) as index:
            assert len(index.candidates("libprobe.so.1")) == 1
            costs.append(_vm_steps(index, ["libprobe.so.1", "libnot-there.so.1"]))
            listing.append(_vm_steps(index, None))
    small, large = costs
    assert small > 0 and large <= small * 1.3 + 5, costs
    # whereas asking about everything does grow with the store (the measure can tell)
    assert listing[1] > 5 * listing[0], listing


def test_a_lookup_reuses_the_candidates_made_and_lists_a_dir_in_one_query(
    tmp_path: Path,
) -> None:
    generate_store(tmp_path / "store", 3, paths=30)
    cache = str(tmp_path / "cache")
    StoreIndex.open(str(tmp_path / "store"), cache_dir=cache).close()
    with StoreIndex.open(str(tmp_path / "store"), cache_dir=cache) as index:
        made = [c for name in index.sonames() for c in index.candidates(name)]
        assert len(made) > 10
        statements: list[str] = []
        index._view.conn.set_trace_callback(statements.append)
        listed: set[str] = set()
        for candidate in made:
            for entry in candidate.entries:
                directory, name = entry.rsplit("/", 1)
                before = len(statements)
                assert index.lookup(directory, name) is candidate  # the one already made
                # A dir not listed before takes one query (the dir and its entries), and
                # the candidate none: it was made by candidates().
                assert len(statements) - before == (directory not in listed), statements
                listed.add(directory)
        index._view.conn.set_trace_callback(None)


def test_warm_open_keeps_no_rows_in_memory(tmp_path: Path) -> None:
    generate_store(tmp_path / "store", 5, paths=50)
    cache = str(tmp_path / "cache")
    StoreIndex.open(str(tmp_path / "store"), cache_dir=cache).close()
    with StoreIndex.open(str(tmp_path / "store"), cache_dir=cache) as index:
        view = index._view
        assert (view._files, view._dirs, view._active) == ({}, {}, {})
        index.candidates("libz.so.1")
        assert 0 < len(view._files) < 50


def test_schema_4_cache_is_rebuilt(tmp_path: Path) -> None:
    """A cache of the layout before the name indexes (schema 4) is rebuilt, not used."""
    generate_store(tmp_path / "store", 3, paths=10)
    cache = tmp_path / "cache"
    with StoreIndex.open(str(tmp_path / "store"), cache_dir=str(cache)) as index:
        expected = {n: [c.path for c in index.candidates(n)] for n in index.sonames()}
    db = _cache_file(cache)
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("DROP INDEX entries_name")
        conn.execute("DROP INDEX files_soname")
        conn.execute("UPDATE meta SET value = '4' WHERE key = 'schema'")
    conn.close()
    with StoreIndex.open(str(tmp_path / "store"), cache_dir=str(cache)) as index:
        assert index.stats.paths_scanned == 10
        assert {n: [c.path for c in index.candidates(n)] for n in index.sonames()} == expected
    conn = sqlite3.connect(db)
    try:
        indexes = {n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
        (schema,) = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    finally:
        conn.close()
    assert {"entries_name", "files_soname"} <= indexes
    assert schema == str(SCHEMA_VERSION)


def test_names_that_are_not_utf8_find_nothing(tmp_path: Path) -> None:
    """A DT_NEEDED name with undecodable bytes (surrogate-escaped) is asked about as any
    other: nothing answers to it (SQLite holds only UTF-8 text)."""
    generate_store(tmp_path / "store", 4, paths=5)
    odd = b"lib\xff\xfe.so.1".decode("utf-8", "surrogateescape")
    with StoreIndex.open(str(tmp_path / "store"), cache_dir=str(tmp_path / "cache")) as index:
        assert index.candidates(odd) == ()
        assert index.candidate(f"{tmp_path}/{odd}") is None
        assert index.entry_names(f"{tmp_path}/store/{odd}") == ()
        assert index.lookup(str(tmp_path / "store"), odd) is None
