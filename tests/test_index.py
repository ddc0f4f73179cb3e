"""The store index: what it indexes, the cache (warm runs read nothing, GC'd paths are
dropped, corrupt caches are rebuilt, concurrent runs are safe), narrowing, progress."""

from __future__ import annotations

import concurrent.futures
import concurrent.futures.process
import multiprocessing
import os
import pickle
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import attrs
import pytest

from autopatchelf.elf.facts import ElfFacts
from autopatchelf.errors import StoreError
from autopatchelf.index import Candidate, StoreIndex, default_cache_dir
from autopatchelf.index import scan as scan_module
from autopatchelf.index.cache import SCHEMA_VERSION, IndexCache
from autopatchelf.index.parallel import ReaderPool, run_jobs
from autopatchelf.index.searchpath import named_dirs, store_basenames_in
from autopatchelf.progress import TerminalProgress

sys.path.insert(0, os.path.dirname(__file__))
import nixutil


class CountingReader:
    """The ELF reader, counting the files it is asked to read."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    def __call__(self, path: str) -> ElfFacts:
        self.paths.append(path)
        return ElfFacts.read(path)


class RecordingProgress:
    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []

    def start(self, phase: str, total: int) -> None:
        self.events.append(("start", (phase, total)))

    def advance(self, steps: int = 1) -> None:
        self.events.append(("advance", steps))

    def finish(self) -> None:
        self.events.append(("finish", None))


def paths_of(candidates: tuple[Candidate, ...]) -> list[str]:
    return [c.path for c in candidates]


# -- plain stores (no Nix needed) ---------------------------------------------------------


@pytest.fixture
def plain(tmp_path: Path) -> dict[str, Path]:
    nixutil.require_gcc()
    return nixutil.build_plain_store(tmp_path / "store")


def open_plain(tmp_path: Path, **kwargs: object) -> StoreIndex:
    kwargs.setdefault("cache_dir", str(tmp_path / "cache"))
    return StoreIndex.open(str(tmp_path / "store"), **kwargs)  # type: ignore[arg-type]


def test_plain_index_content(plain: dict[str, Path], tmp_path: Path) -> None:
    with open_plain(tmp_path) as index:
        assert index.store.backend == "plain"
        zlib_lib = plain["zlib"] / "lib"
        assert index.sonames() == (
            "libdeb.so.0",
            "libfoo.so.2",
            "libz.so",
            "libz.so.1",
            "libz.so.1.3.1",
        )
        libz = index.candidates("libz.so.1")
        # both providers, older version first
        assert paths_of(libz) == [
            str(plain["zlib12"] / "lib/libz.so.1"),
            str(zlib_lib / "libz.so.1.3.1"),
        ]
        new = libz[1]
        assert new.store_path.name == "zlib"
        assert new.store_path.version == "1.3"
        assert new.names == ("libz.so", "libz.so.1", "libz.so.1.3.1")
        # lib64 -> lib is the same dir: entries are not doubled
        assert new.entries == tuple(str(zlib_lib / n) for n in new.names)
        assert new.dirs == (str(zlib_lib),)
        assert new.found_as("libz.so.1") == (str(zlib_lib),)
        assert new.facts.soname == "libz.so.1"
        assert new.soname == "libz.so.1"
        # a Debian-style dir is indexed (a standard multiarch dir, named by a RUNPATH too)...
        (deb,) = index.candidates("libdeb.so.0")
        assert deb.dirs == (str(plain["app"] / "usr/lib/x86_64-linux-gnu"),)
        # ... but a lib nobody names is not, nor the link leaving the store
        assert index.candidates("libhidden.so.1") == ()
        assert index.candidates("libc-outside.so.6") == ()
        assert index.candidates("libc.so.6") == ()
        stats = index.stats
        assert (stats.non_elf, stats.bad_elf, stats.not_library, stats.outside) == (1, 1, 1, 1)
        assert stats.store_paths == 4
        # lib of zlib, zlib12 and foo; usr/lib (empty) and usr/lib/x86_64-linux-gnu of app
        assert stats.lib_dirs == 5
        assert stats.files == 4
        assert stats.sonames == 5
        assert stats.executables == 1


def test_plain_references_come_from_runpaths(plain: dict[str, Path], tmp_path: Path) -> None:
    with open_plain(tmp_path) as index:
        app = str(plain["app"])
        assert [p.name for p in index.references(app)] == ["foo"]
        assert [p.name for p in index.references(str(plain["foo"]))] == ["zlib"]
        assert index.references(str(plain["zlib"])) == ()
        assert [p.name for p in index.closure(app)] == ["app", "foo", "zlib"]


def test_plain_within_narrows_to_the_closure(plain: dict[str, Path], tmp_path: Path) -> None:
    (tmp_path / "result").symlink_to(plain["foo"])
    reader = CountingReader()
    with open_plain(tmp_path, within=[str(tmp_path / "result")], reader=reader) as index:
        assert [p.name for p in index.store_paths()] == ["foo", "zlib"]
        assert paths_of(index.candidates("libz.so.1")) == [str(plain["zlib"] / "lib/libz.so.1.3.1")]
        assert index.candidates("libdeb.so.0") == ()
        assert index.stats.store_paths == 2
        # app was never read: the scan followed references from foo only
        assert not [p for p in reader.paths if str(plain["app"]) in p]
    # a wider view later scans only what is new
    reader = CountingReader()
    with open_plain(tmp_path, within=[str(plain["app"]), str(plain["zlib12"])], reader=reader):
        assert reader.paths
        assert all(str(plain["app"]) in p or str(plain["zlib12"]) in p for p in reader.paths)


def test_warm_open_reads_no_elf_file(plain: dict[str, Path], tmp_path: Path) -> None:
    cold_reader = CountingReader()
    with open_plain(tmp_path, reader=cold_reader) as index:
        cold = {n: paths_of(index.candidates(n)) for n in index.sonames()}
        cold_stats = index.stats
    assert len(cold_reader.paths) == cold_stats.files_read > 0
    assert cold_stats.paths_scanned == 4
    warm_reader = CountingReader()
    with open_plain(tmp_path, reader=warm_reader) as index:
        warm = {n: paths_of(index.candidates(n)) for n in index.sonames()}
        for name in warm:
            for candidate in index.candidates(name):
                assert candidate.facts.soname is not None  # facts come from the cache
        stats = index.stats
    assert warm_reader.paths == []
    assert warm == cold
    assert (stats.paths_scanned, stats.files_read, stats.libraries_read) == (0, 0, 0)
    assert stats.files_cached == stats.files == 4
    assert (stats.non_elf, stats.bad_elf, stats.outside) == (1, 1, 1)


def test_warm_facts_leave_their_symbol_tables_in_the_cache_until_used(
    plain: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A candidate's facts come without its symbol tables (most of a blob, and a warm
    solve with kept verdicts uses none): they are read when first used, from the cache
    while the index is open, from the file after it closed; a pickle carries them."""
    with open_plain(tmp_path):
        pass  # cold
    loaded: list[bytes] = []
    symbols_of = IndexCache.symbols

    def counted(self: IndexCache, digest: bytes) -> bytes | None:
        found = symbols_of(self, digest)
        if found is not None:
            loaded.append(digest)
        return found

    monkeypatch.setattr(IndexCache, "symbols", counted)
    reader = CountingReader()
    with open_plain(tmp_path, reader=reader) as index:
        (foo,) = index.candidates("libfoo.so.2")
        (deb,) = index.candidates("libdeb.so.0")
        assert foo.facts.soname == "libfoo.so.2" and loaded == []
        assert foo.facts.symbols == ElfFacts.read(foo.path).symbols  # read now
        assert len(loaded) == 1
        assert foo.facts.symbols.defined  # (once)
        assert len(loaded) == 1 and reader.paths == []
    shipped = pickle.loads(pickle.dumps(deb.facts))  # loaded to be pickled (the file here)
    assert reader.paths == [deb.path]
    assert shipped == deb.facts == ElfFacts.read(deb.path)
    assert shipped.symbols == ElfFacts.read(deb.path).symbols
    assert len(loaded) == 1


def test_warm_open_serves_cached_facts_of_a_changed_file(
    plain: dict[str, Path], tmp_path: Path
) -> None:
    """Store paths are immutable: the warm index does not even look at file content."""
    library = plain["foo"] / "lib/libfoo.so.2"
    with open_plain(tmp_path) as index:
        (before,) = index.candidates("libfoo.so.2")
    size = library.stat().st_size
    library.write_bytes(b"\0" * size)  # no longer ELF at all
    with open_plain(tmp_path) as index:
        (after,) = index.candidates("libfoo.so.2")
        assert after.facts == before.facts
        assert after.facts.runpath == before.facts.runpath is not None
    # the corruption is real: a fresh cache sees a non-ELF file
    with open_plain(tmp_path, cache_dir=str(tmp_path / "fresh")) as index:
        assert index.candidates("libfoo.so.2") == ()
        assert index.stats.non_elf == 2


def test_removed_path_is_dropped_and_new_one_scanned(
    plain: dict[str, Path], tmp_path: Path
) -> None:
    with open_plain(tmp_path) as index:
        assert len(index.candidates("libz.so.1")) == 2
    shutil.rmtree(plain["zlib12"])
    extra = tmp_path / "store" / f"{nixutil.fake_hash('extra')}-extra-0.1"
    (extra / "lib").mkdir(parents=True)
    nixutil.compile_library(extra / "lib/libextra.so.7", "libextra.so.7")
    reader = CountingReader()
    with open_plain(tmp_path, reader=reader) as index:
        assert paths_of(index.candidates("libz.so.1")) == [str(plain["zlib"] / "lib/libz.so.1.3.1")]
        assert paths_of(index.candidates("libextra.so.7")) == [str(extra / "lib/libextra.so.7")]
        assert (index.stats.paths_dropped, index.stats.paths_scanned) == (1, 1)
    assert reader.paths == [str(extra / "lib/libextra.so.7")]
    rows = _cache_rows(tmp_path / "cache", "SELECT basename FROM paths")
    assert plain["zlib12"].name not in {r[0] for r in rows}
    # The dropped file's facts and symbol tables went with it; every other file keeps both.
    facts = _cache_rows(tmp_path / "cache", "SELECT DISTINCT facts FROM files")
    blobs = _cache_rows(tmp_path / "cache", "SELECT digest FROM blobs")
    symbols = _cache_rows(tmp_path / "cache", "SELECT digest FROM symbols")
    assert sorted(facts) == sorted(blobs) == sorted(symbols)


def _cache_rows(cache_dir: Path, sql: str) -> list[tuple[object, ...]]:
    (db,) = cache_dir.glob("index-*.sqlite")
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def _cache_file(cache_dir: Path) -> Path:
    (db,) = cache_dir.glob("index-*.sqlite")
    return db


def test_corrupt_cache_file_is_rebuilt(plain: dict[str, Path], tmp_path: Path) -> None:
    with open_plain(tmp_path) as index:
        expected = index.sonames()
    db = _cache_file(tmp_path / "cache")
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    db.write_bytes(b"garbage, not a database" * 500)
    reader = CountingReader()
    with open_plain(tmp_path, reader=reader) as index:
        assert index.sonames() == expected
        assert index.stats.paths_scanned == 4
    assert reader.paths


def test_old_schema_is_rebuilt(plain: dict[str, Path], tmp_path: Path) -> None:
    with open_plain(tmp_path):
        pass
    db = _cache_file(tmp_path / "cache")
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (str(SCHEMA_VERSION - 1),))
    conn.close()
    reader = CountingReader()
    with open_plain(tmp_path, reader=reader) as index:
        assert index.stats.paths_scanned == 4
        assert len(index.candidates("libz.so.1")) == 2
    assert reader.paths
    assert _cache_rows(tmp_path / "cache", "SELECT value FROM meta WHERE key = 'schema'") == [
        (str(SCHEMA_VERSION),)
    ]


def test_undecodable_blob_is_reread(plain: dict[str, Path], tmp_path: Path) -> None:
    with open_plain(tmp_path):
        pass
    db = _cache_file(tmp_path / "cache")
    conn = sqlite3.connect(db)
    with conn:
        # not the first row (that one is probed at open), so only this file is affected
        path, soname = conn.execute(
            "SELECT path, soname FROM files ORDER BY id DESC LIMIT 1"
        ).fetchone()
        conn.execute("UPDATE files SET facts = ? WHERE path = ?", (b"\x00bad", path))
    conn.close()
    reader = CountingReader()
    with open_plain(tmp_path, reader=reader) as index:
        assert index.stats.paths_scanned == 0
        candidate = index.candidate(path)
        assert candidate is not None
        assert candidate.facts.soname == soname
    assert reader.paths == [path]
    reader = CountingReader()
    with open_plain(tmp_path, reader=reader) as index:
        candidate = index.candidate(path)
        assert candidate is not None
    assert reader.paths == []  # the re-read facts were stored


def test_outdated_blob_format_rebuilds_the_cache(plain: dict[str, Path], tmp_path: Path) -> None:
    with open_plain(tmp_path):
        pass
    db = _cache_file(tmp_path / "cache")
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE blobs SET blob = ?", (b"\x00old format",))
    conn.close()
    reader = CountingReader()
    with open_plain(tmp_path, reader=reader) as index:
        assert index.stats.paths_scanned == 4
        assert all(c.facts.soname for c in index.candidates("libz.so.1"))


def _open_in_child(store: str, cache: str, barrier: Any, results: Any) -> None:
    barrier.wait()  # start together, so that the runs really overlap
    with StoreIndex.open(store, cache_dir=cache) as index:
        found = tuple(f"{n}={','.join(paths_of(index.candidates(n)))}" for n in index.sonames())
        results.put((index.stats.paths_scanned, found))


def test_concurrent_cold_runs_agree(plain: dict[str, Path], tmp_path: Path) -> None:
    # enough paths that the cold scan takes a while
    source = os.path.realpath(f"{nixutil.HOST_LIB_DIR}/libz.so.1")
    for i in range(300):
        lib = tmp_path / "store" / f"{nixutil.fake_hash(f'copy{i}')}-copy-{i}" / "lib"
        lib.mkdir(parents=True)
        os.link(source, lib / "libz.so.1")
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(4)
    results = context.Queue()
    args = (str(tmp_path / "store"), str(tmp_path / "cache"), barrier, results)
    children = [context.Process(target=_open_in_child, args=args) for _ in range(4)]
    for child in children:
        child.start()
    outcomes = [results.get(timeout=120) for _ in children]
    for child in children:
        child.join(timeout=60)
        assert child.exitcode == 0
    results.close()
    results.join_thread()
    assert len({found for _, found in outcomes}) == 1
    assert len(outcomes[0][1]) == 5
    # the writers' lock makes exactly one run scan each path
    assert sum(scanned for scanned, _ in outcomes) == 304
    db = _cache_file(tmp_path / "cache")
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("SELECT count(*) FROM paths").fetchone() == (304,)
        assert conn.execute("SELECT count(*) FROM files").fetchone() == (304,)
    finally:
        conn.close()


def test_parallel_cold_scan_matches_in_process_scan(
    plain: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = os.path.realpath(f"{nixutil.HOST_LIB_DIR}/libz.so.1")
    for i in range(200):
        root = tmp_path / "store" / f"{nixutil.fake_hash(f'par{i}')}-par-{i}"
        (root / "lib").mkdir(parents=True)
        shutil.copy(source, root / "lib" / "libz.so.1")  # copies: hard links are read once
        (root / "lib" / "notes.txt").write_text("not ELF")
    jobs: list[int] = []
    original = ReaderPool.run

    def counting_run(self: ReaderPool, batch: Any) -> Any:
        jobs.append(len(batch))
        return original(self, batch)

    monkeypatch.setattr(ReaderPool, "run", counting_run)
    monkeypatch.setattr(scan_module, "_MIN_PARALLEL_JOBS", 100)  # the pool, for 200 files
    results = []
    for workers in (2, 1):
        cache = str(tmp_path / f"cache{workers}")
        with open_plain(tmp_path, cache_dir=cache, workers=workers) as index:
            content = {n: index.candidates(n) for n in index.sonames()}
            results.append((content, attrs.evolve(index.stats, **_NO_TIMES, cache_file=None)))
    assert sum(jobs) >= 200  # the first run really read on the pool
    (parallel, parallel_stats), (serial, serial_stats) = results
    assert parallel == serial
    assert parallel_stats == serial_stats
    assert serial_stats.files_read == 207  # 200 copies + the sample store's 7 ELF files
    assert len(serial["libz.so.1"]) == 202


@pytest.mark.parametrize("workers", [2, 1])
def test_a_hard_linked_library_is_read_once_for_all_its_paths(
    plain: dict[str, Path], tmp_path: Path, workers: int
) -> None:
    """Nix's store optimisation hard-links identical files: one inode, many store paths.
    It is read once; every path is still a candidate, with its own store path."""
    source = tmp_path / "libz-original.so.1"
    shutil.copy(os.path.realpath(f"{nixutil.HOST_LIB_DIR}/libz.so.1"), source)
    for i in range(300):
        root = tmp_path / "store" / f"{nixutil.fake_hash(f'ln{i}')}-ln-{i}"
        (root / "lib").mkdir(parents=True)
        os.link(source, root / "lib" / "libz.so.1")
    cache = str(tmp_path / f"cache{workers}")
    with open_plain(tmp_path, cache_dir=cache, workers=workers) as index:
        found = index.candidates("libz.so.1")
        stats = index.stats
    linked = [c for c in found if "-ln-" in c.path]
    assert len(linked) == 300
    assert len({c.store_path for c in linked}) == 300
    assert all(c.path == f"{c.store_path}/lib/libz.so.1" for c in linked)
    assert stats.files_read <= 1 + 7  # one of the 300, and the sample store's own files


_NO_TIMES = {"update_seconds": 0.0, "load_seconds": 0.0, "seconds": 0.0}


def test_undecodable_names_are_skipped(plain: dict[str, Path], tmp_path: Path) -> None:
    lib = plain["foo"] / "lib"
    os.symlink(b"libfoo.so.2", os.path.join(os.fsencode(lib), b"lib\xff.so.2"))
    weird = lib / "libweird.so.1"
    soname = b"-Wl,-soname,libw\xffird.so.1"
    compile_args = [b"gcc", b"-shared", b"-fPIC", soname, b"-o", bytes(weird)]
    subprocess.run([*compile_args, b"-x", b"c", b"/dev/null"], check=True)
    with open_plain(tmp_path) as index:
        assert index.entry_names(str(lib)) == ("libfoo.so.2",)
        assert index.stats.bad_elf == 2  # libbad, and the library whose soname isn't UTF-8


def test_broken_pool_falls_back_to_reading_here(plain: dict[str, Path]) -> None:
    class BrokenExecutor(concurrent.futures.Executor):
        def map(self, *args: Any, **kwargs: Any) -> Any:
            raise concurrent.futures.process.BrokenProcessPool("a worker died")

    pool = ReaderPool(2)
    pool._executor = BrokenExecutor()
    library = str(plain["foo"] / "lib/libfoo.so.2")
    jobs = [("lib", library, plain["foo"].name), ("exe", str(plain["app"] / "bin/script"), "x")]
    assert pool.run(jobs) == run_jobs(jobs)
    (record, called), (script, script_called) = pool.run(jobs)
    assert called
    assert not isinstance(record, str)
    assert record.soname == "libfoo.so.2"
    assert (script, script_called) == ("non_elf", False)
    pool.close()


def test_locked_cache_is_a_store_error(
    plain: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_plain(tmp_path):
        pass
    extra = tmp_path / "store" / f"{nixutil.fake_hash('late')}-late-1.0" / "lib"
    extra.mkdir(parents=True)
    nixutil.compile_library(extra / "liblate.so.1", "liblate.so.1")
    monkeypatch.setattr("autopatchelf.index.cache._BUSY_TIMEOUT", 0.2)
    holder = sqlite3.connect(_cache_file(tmp_path / "cache"), isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # a writer that never lets go
        with pytest.raises(StoreError, match="is locked") as info:
            open_plain(tmp_path)
        assert info.value.hint
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with open_plain(tmp_path) as index:
        assert len(index.candidates("liblate.so.1")) == 1


def test_unwritable_cache_dir_falls_back_to_memory(plain: dict[str, Path], tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a dir")
    with open_plain(tmp_path, cache_dir=str(blocker / "cache")) as index:
        assert index.stats.cache_file is None
        assert index.stats.cache_warning is not None
        assert "unusable" in index.stats.cache_warning
        assert len(index.candidates("libz.so.1")) == 2


def test_default_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("AUTOPATCHELF_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == str(tmp_path / "xdg" / "autopatchelf")
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/is/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == str(tmp_path / "home" / ".cache" / "autopatchelf")
    monkeypatch.setenv("AUTOPATCHELF_CACHE_DIR", str(tmp_path / "explicit"))
    assert default_cache_dir() == str(tmp_path / "explicit")


def test_cache_env_is_used(
    plain: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTOPATCHELF_CACHE_DIR", str(tmp_path / "envcache"))
    with StoreIndex.open(str(tmp_path / "store")) as index:
        assert index.stats.cache_file is not None
        assert index.stats.cache_file.startswith(str(tmp_path / "envcache"))


def test_one_cache_file_per_store(tmp_path: Path) -> None:
    a = IndexCache.open("/store/a", str(tmp_path))
    b = IndexCache.open("/store/b", str(tmp_path))
    try:
        assert a.path != b.path
        assert a.path is not None
        assert b.path is not None
    finally:
        a.close()
        b.close()


def test_lookup_and_resolve_needed(plain: dict[str, Path], tmp_path: Path) -> None:
    with open_plain(tmp_path) as index:
        (foo,) = index.candidates("libfoo.so.2")
        zlib_lib = str(plain["zlib"] / "lib")
        # foo's RUNPATH says /nix/store/<zlib>/lib: a plain store maps it to its own copy
        assert index.search_dirs(foo) == (zlib_lib,)
        needed = index.resolve_needed(foo, "libz.so.1")
        assert needed is not None
        assert needed.path == str(plain["zlib"] / "lib/libz.so.1.3.1")
        assert index.resolve_needed(foo, "libnothere.so") is None
        assert index.lookup(zlib_lib, "libz.so") == needed
        assert index.lookup(str(plain["zlib"] / "lib64"), "libz.so.1") == needed
        assert index.lookup(zlib_lib, "libz.la") is None
        assert index.entry_names(zlib_lib) == ("libz.so", "libz.so.1", "libz.so.1.3.1")
        assert index.entry_names(str(plain["zlib"] / "lib64")) == index.entry_names(zlib_lib)
        assert index.entry_names(str(plain["app"] / "share/x")) == ()
        assert index.candidate(str(plain["zlib"] / "lib/libz.so")) == needed
        assert index.libraries(str(plain["zlib"])) == (needed,)
        assert index.lib_dirs(str(plain["zlib"])) == (zlib_lib,)
        assert index.candidates("libz.so.1", within=index.closure(str(plain["foo"]))) == (needed,)


def test_within_outside_the_store_is_an_error(plain: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not lead into the store"):
        open_plain(tmp_path, within=[str(tmp_path)])


def test_progress_is_reported(plain: dict[str, Path], tmp_path: Path) -> None:
    progress = RecordingProgress()
    with open_plain(tmp_path, progress=progress):
        pass
    assert progress.events[0] == ("start", ("indexing store paths", 4))
    assert progress.events.count(("advance", 1)) >= 4
    assert progress.events[-1] == ("finish", None)
    progress = RecordingProgress()
    with open_plain(tmp_path, progress=progress):
        pass
    assert progress.events == []  # nothing to do, nothing reported


class FakeTty:
    def __init__(self, tty: bool) -> None:
        self.tty = tty
        self.text = ""

    def isatty(self) -> bool:
        return self.tty

    def write(self, text: str) -> int:
        self.text += text
        return len(text)

    def flush(self) -> None:
        pass


def test_terminal_progress_waits_then_draws() -> None:
    now = [0.0]
    stream = FakeTty(tty=True)
    bar = TerminalProgress(stream, clock=lambda: now[0])  # type: ignore[arg-type]
    bar.start("indexing", 10)
    now[0] = 0.2
    bar.advance()
    assert stream.text == ""  # quick work draws nothing
    now[0] = 0.7
    bar.advance()
    assert "indexing" in stream.text
    assert "2/10" in stream.text
    bar.finish()
    assert stream.text.endswith("\r")


def test_terminal_progress_silent_when_not_a_tty() -> None:
    now = [0.0]
    stream = FakeTty(tty=False)
    bar = TerminalProgress(stream, clock=lambda: now[0])  # type: ignore[arg-type]
    bar.start("indexing", 10)
    now[0] = 5.0
    bar.advance(5)
    bar.finish()
    assert stream.text == ""


def test_expand_search_path() -> None:
    assert named_dirs(None, "$ORIGIN/../lib:/abs:rel::${ORIGIN}/x", "/s/p/bin") == (
        "/s/p/bin/../lib",
        "/abs",
        "/s/p/bin/x",
    )
    assert named_dirs("/a/$LIB", None, "/o") == ("/a/lib64", "/a/lib")
    assert named_dirs("/a/$LIB", None, "/o", elf64=False) == ("/a/lib", "/a/lib32")
    # $PLATFORM is AT_PLATFORM (x86-64 glibc 2.26-2.36 may say haswell or xeon_phi); a
    # '$' that starts no token ld.so knows is kept as written.
    assert named_dirs("/a/$PLATFORM:/b/$ORIGINAL:/c", None, "/o") == (
        "/a/x86_64",
        "/a/haswell",
        "/a/xeon_phi",
        "/b/$ORIGINAL",
        "/c",
    )
    assert named_dirs("/rpath", "/runpath", "/o") == ("/runpath",)  # RUNPATH wins
    assert named_dirs(None, None, "/o") == ()


def test_store_basenames_in() -> None:
    h = nixutil.fake_hash("x")
    found = store_basenames_in([f"/nix/store/{h}-foo-1/lib:$ORIGIN", None, f"/other/{h}-bar"])
    assert found == {f"{h}-foo-1", f"{h}-bar"}


# -- real Nix -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    nixutil.require_nix()
    return nixutil.build_sample(tmp_path_factory.mktemp("nix"))


@pytest.mark.nix
def test_nix_index_within_app(sample: dict[str, str], tmp_path: Path) -> None:
    with StoreIndex.open(within=[sample["app"]], cache_dir=str(tmp_path)) as index:
        assert index.store.backend == "nix-db"
        assert [p.path for p in index.store_paths()] == sorted(
            [sample["app"], sample["base"], sample["mid"]],
            key=lambda p: p.split("-", 1)[1],
        )
        assert paths_of(index.candidates("libapebase.so.1")) == [
            f"{sample['base']}/lib/libapebase.so.1.0"
        ]
        (mid,) = index.candidates("libapemid.so.2")
        assert mid.path == f"{sample['mid']}/lib/libapemid.so.2"
        # app's lib/ links to mid's library: one candidate, two entries
        assert mid.entries == (
            f"{sample['app']}/lib/libapemid-link.so.2",
            f"{sample['mid']}/lib/libapemid.so.2",
        )
        assert index.candidates("libapemid-link.so.2") == (mid,)
        (deb,) = index.candidates("libapedeb.so.0")
        assert deb.dirs == (f"{sample['app']}/usr/lib/x86_64-linux-gnu",)
        assert index.candidates("libapehidden.so.1") == ()
        assert index.candidates("libc-outside.so.6") == ()
        assert index.candidates("libz.so.1") == ()  # hostz is outside app's closure
        resolved = index.resolve_needed(mid, "libapebase.so.1")
        assert resolved is not None
        assert resolved.store_path.path == sample["base"]
        s = index.stats
        assert (s.non_elf, s.bad_elf, s.not_library, s.outside) == (1, 1, 1, 1)
        assert s.store_paths == 3
        assert s.executables == 1


@pytest.mark.nix
def test_nix_references_match_nix_store(sample: dict[str, str], tmp_path: Path) -> None:
    with StoreIndex.open(within=[sample["app"]], cache_dir=str(tmp_path)) as index:
        for path in (sample["app"], sample["mid"], sample["base"]):
            assert {p.path for p in index.references(path)} == nixutil.nix_query(
                "--references", path
            )
            assert {p.path for p in index.closure(path)} == nixutil.nix_query("--requisites", path)


@pytest.mark.nix
def test_nix_whole_store_and_repeated_within(sample: dict[str, str], tmp_path: Path) -> None:
    with StoreIndex.open(cache_dir=str(tmp_path)) as index:
        providers = index.candidates("libapebase.so.1")
        assert [c.store_path.path for c in providers] == [sample["base"], sample["base11"]]
        assert [c.store_path.version for c in providers] == ["1.0", "1.1"]
        assert sample["hostz"] in {c.store_path.path for c in index.candidates("libz.so.1")}
    reader = CountingReader()
    with StoreIndex.open(
        within=[sample["mid"], sample["hostz"]], cache_dir=str(tmp_path), reader=reader
    ) as index:
        assert reader.paths == []  # all cached by the whole-store run
        assert {p.path for p in index.store_paths()} == {
            sample["mid"],
            sample["base"],
            sample["hostz"],
        }
        assert [c.store_path.path for c in index.candidates("libapebase.so.1")] == [sample["base"]]


@pytest.mark.nix
def test_nix_warm_open_reads_nothing(sample: dict[str, str], tmp_path: Path) -> None:
    roots = [sample["app"], sample["hostz"]]
    cold = CountingReader()
    with StoreIndex.open(within=roots, cache_dir=str(tmp_path), reader=cold) as index:
        before = {n: paths_of(index.candidates(n)) for n in index.sonames()}
    assert cold.paths
    warm = CountingReader()
    with StoreIndex.open(within=roots, cache_dir=str(tmp_path), reader=warm) as index:
        after = {n: paths_of(index.candidates(n)) for n in index.sonames()}
        assert index.stats.paths_scanned == 0
    assert warm.paths == []
    assert after == before


@pytest.mark.nix
def test_nix_garbage_collected_path_is_dropped(sample: dict[str, str], tmp_path: Path) -> None:
    leaf = nixutil.build_leaf(tmp_path, salt=f"gc-{os.getpid()}-{tmp_path.name}")
    base = os.path.basename(leaf)
    with StoreIndex.open(within=[sample["app"], leaf], cache_dir=str(tmp_path)) as index:
        assert paths_of(index.candidates("libapeleaf.so.1")) == [f"{leaf}/lib/libapeleaf.so.1"]
    nixutil.nix_delete(leaf)
    assert not os.path.exists(leaf)
    reader = CountingReader()
    with StoreIndex.open(within=[sample["app"]], cache_dir=str(tmp_path), reader=reader) as index:
        assert index.stats.paths_dropped == 1
        assert index.candidates("libapeleaf.so.1") == ()
    assert reader.paths == []
    assert _cache_rows(tmp_path, f"SELECT * FROM paths WHERE basename = '{base}'") == []
    assert _cache_rows(tmp_path, f"SELECT * FROM files WHERE owner = '{base}'") == []
    with pytest.raises(StoreError, match=r"does not exist|not a valid store path"):
        StoreIndex.open(within=[leaf], cache_dir=str(tmp_path))


@pytest.mark.nix
def test_copied_closure_as_plain_store(sample: dict[str, str], tmp_path: Path) -> None:
    """cp -a of a closure, no Nix DB: references come from RUNPATH scanning."""
    store = tmp_path / "copy"
    store.mkdir()
    closure = nixutil.nix_query("--requisites", sample["app"])
    subprocess.run(["cp", "-a", *sorted(closure), str(store)], check=True)
    with StoreIndex.open(str(store), cache_dir=str(tmp_path / "cache")) as index:
        assert index.store.backend == "plain"
        for original in closure:
            copied = str(store / os.path.basename(original))
            expected = {os.path.basename(p) for p in nixutil.nix_query("--references", original)}
            assert {p.basename for p in index.references(copied)} == expected
            expected_closure = {
                os.path.basename(p) for p in nixutil.nix_query("--requisites", original)
            }
            assert {p.basename for p in index.closure(copied)} == expected_closure
        (mid,) = index.candidates("libapemid.so.2")
        assert mid.path == str(store / os.path.basename(sample["mid"]) / "lib/libapemid.so.2")
        resolved = index.resolve_needed(mid, "libapebase.so.1")
        assert resolved is not None
        assert resolved.path.startswith(str(store))
    with StoreIndex.open(
        str(store),
        within=[str(store / os.path.basename(sample["mid"]))],
        cache_dir=str(tmp_path / "cache"),
    ) as index:
        assert {p.basename for p in index.store_paths()} == {
            os.path.basename(sample["mid"]),
            os.path.basename(sample["base"]),
        }
