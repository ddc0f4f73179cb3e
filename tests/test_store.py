"""Store paths, name/version parsing, and the three store backends (Nix DB, nix-store,
plain directory), checked against the real Nix where it matters."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

from autopatchelf.errors import StoreError
from autopatchelf.nix.db import NixDatabase
from autopatchelf.store import Store, StorePath, parse_store_path, split_name_version, version_key
from autopatchelf.store.graph import ClosedGraph
from autopatchelf.store.version import version_components

sys.path.insert(0, os.path.dirname(__file__))
import nixutil

HASH = "0123456789abcdfghijklmnpqrsvwxyz"


# -- names and versions ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name_version", "name", "version"),
    [
        ("glibc-2.39-52", "glibc", "2.39-52"),
        ("gcc-13.2.0-lib", "gcc", "13.2.0-lib"),
        ("hello", "hello", None),
        ("xorg-server-21.1.8", "xorg-server", "21.1.8"),
        ("python3.11-requests-2.31.0", "python3.11-requests", "2.31.0"),
        ("foo-bar-", "foo-bar-", None),
        ("nss-cacert-3.92", "nss-cacert", "3.92"),
        ("openssl-3.0.13-dev", "openssl", "3.0.13-dev"),
        ("a-_b", "a", "_b"),
    ],
)
def test_split_name_version(name_version: str, name: str, version: str | None) -> None:
    assert split_name_version(name_version) == (name, version)


def test_version_components() -> None:
    assert version_components("1.2pre3-rc.x") == ("1", "2", "pre", "3", "rc", "x")
    assert version_components("") == ()


@pytest.mark.parametrize(
    ("older", "newer"),
    [
        ("1.0", "1.0.1"),
        ("1.9", "1.10"),
        ("1.0pre1", "1.0"),
        ("2.3a", "2.3.1"),
        ("2.3", "2.3a"),
        ("2.38-44", "2.39-5"),
        ("1.0-pre", "1.0"),
        ("0.9.9", "1"),
    ],
)
def test_version_key_orders_like_nix(older: str, newer: str) -> None:
    assert version_key(older) < version_key(newer)
    assert version_key(newer) > version_key(older)


def test_version_key_equal_versions() -> None:
    assert version_key("1.0") == version_key("1-0")
    assert version_key(None) < version_key("0")


def test_parse_store_path() -> None:
    parsed = parse_store_path(f"/nix/store/{HASH}-glibc-2.39-52")
    assert parsed == StorePath(
        path=f"/nix/store/{HASH}-glibc-2.39-52",
        hash=HASH,
        name="glibc",
        version="2.39-52",
        version_key=version_key("2.39-52"),
    )
    assert parsed.basename == f"{HASH}-glibc-2.39-52"
    assert parsed.store_dir == "/nix/store"
    assert parsed.name_version == "glibc-2.39-52"
    assert str(parsed) == parsed.path


@pytest.mark.parametrize(
    "path",
    [
        f"/nix/store/{HASH[:-1]}-x",  # too short a hash
        f"/nix/store/{HASH[:-1]}e-x",  # 'e' is not in nix-base32
        f"/nix/store/{HASH}x",  # no dash
        f"/nix/store/{HASH}-.hidden",  # names never start with a dot
        f"/nix/store/{HASH}-a b",  # space is not allowed
        f"relative/{HASH}-x",
        "/nix/store/.links",
    ],
)
def test_parse_store_path_rejects(path: str) -> None:
    assert parse_store_path(path) is None
    with pytest.raises(ValueError, match="not a store path"):
        StorePath.parse(path)


def test_sort_key_orders_name_then_version() -> None:
    paths = [
        StorePath.parse(f"/s/{HASH}-zlib-1.3"),
        StorePath.parse(f"/s/{HASH}-zlib-1.2.13"),
        StorePath.parse(f"/s/{HASH}-bzip2-1.0.8"),
    ]
    ordered = sorted(paths, key=lambda p: p.sort_key)
    assert [p.name_version for p in ordered] == ["bzip2-1.0.8", "zlib-1.2.13", "zlib-1.3"]


# -- plain stores --------------------------------------------------------------------------


def test_open_missing_store_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist") as info:
        Store.open(str(tmp_path / "nope"))
    assert info.value.hint


def test_plain_store_lists_store_paths_only(tmp_path: Path) -> None:
    (tmp_path / f"{HASH}-foo-1.0").mkdir()
    (tmp_path / f"{HASH[:-1]}a-bar").write_text("a file is a store path too")
    (tmp_path / f"{HASH[:-1]}b-baz.lock").write_text("")  # a build lock
    (tmp_path / ".links").mkdir()
    (tmp_path / "not-a-store-path").mkdir()
    store = Store.open(str(tmp_path))
    assert store.backend == "plain"
    assert store.graph is None
    valid = store.valid_paths()
    assert sorted(valid) == [f"{HASH[:-1]}a-bar", f"{HASH}-foo-1.0"]
    assert all(stamp.startswith("ino:") for stamp in valid.values())


def test_plain_store_refuses_nix_backends(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="not the store Nix is configured for"):
        Store.open(str(tmp_path), nix="db")


def test_resolve_symlinks_into_the_store(tmp_path: Path) -> None:
    store_dir = tmp_path / "store"
    target = store_dir / f"{HASH}-foo-1.0"
    (target / "bin").mkdir(parents=True)
    (tmp_path / "result").symlink_to(target)
    store = Store.open(str(store_dir))
    assert store.resolve(str(tmp_path / "result")).basename == target.name
    assert store.resolve(str(target / "bin")).basename == target.name
    with pytest.raises(StoreError, match="does not lead into the store"):
        store.resolve(str(tmp_path))


def test_plain_store_reads_foreign_store_prefix_as_its_own(tmp_path: Path) -> None:
    """A copied closure's result link still points to /nix/store/<hash>-x."""
    store_dir = tmp_path / "store"
    (store_dir / f"{HASH}-foo-1.0").mkdir(parents=True)
    (tmp_path / "result").symlink_to(f"/nonexistent/store/{HASH}-foo-1.0")
    store = Store.open(str(store_dir))
    assert store.resolve(str(tmp_path / "result")).path == str(store_dir / f"{HASH}-foo-1.0")


def test_store_dir_behind_a_symlink_keeps_its_spelling(tmp_path: Path) -> None:
    real = tmp_path / "real"
    (real / f"{HASH}-foo-1.0").mkdir(parents=True)
    (tmp_path / "link").symlink_to(real)
    store = Store.open(str(tmp_path / "link"))
    path = str(tmp_path / "link" / f"{HASH}-foo-1.0")
    assert store.realpath(str(real / f"{HASH}-foo-1.0")) == path
    assert store.locate(str(real / f"{HASH}-foo-1.0" / "lib")) == (f"{HASH}-foo-1.0", "lib")


# -- Nix ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    nixutil.require_nix()
    return nixutil.build_sample(tmp_path_factory.mktemp("nix"))


def _names(paths: object) -> set[str]:
    return {p.path if isinstance(p, StorePath) else str(p) for p in paths}  # type: ignore[attr-defined]


@pytest.mark.nix
def test_nix_store_uses_the_database(sample: dict[str, str]) -> None:
    with Store.open() as store:
        assert store.backend == "nix-db"
        valid = store.valid_paths()
        for path in sample.values():
            assert os.path.basename(path) in valid
            assert valid[os.path.basename(path)].startswith("reg:")


@pytest.mark.nix
@pytest.mark.parametrize("mode", ["db", "cli"])
def test_references_and_closure_match_nix_store(sample: dict[str, str], mode: str) -> None:
    with Store.open(nix=mode) as store:  # type: ignore[arg-type]
        assert store.backend == f"nix-{mode}"
        graph = store.graph
        assert graph is not None
        for path in sample.values():
            base = os.path.basename(path)
            expected_refs = nixutil.nix_query("--references", path)
            assert {store.full_path(b) for b in graph.references(base)} == expected_refs
            expected_closure = nixutil.nix_query("--requisites", path)
            assert {store.full_path(b) for b in graph.closure([base])} == expected_closure
        # the sample's own shape, so the comparison above is not vacuous
        app_closure = graph.closure([os.path.basename(sample["app"])])
        assert {store.full_path(b) for b in app_closure} == {
            sample["app"],
            sample["mid"],
            sample["base"],
        }


@pytest.mark.nix
def test_a_closed_graph_answers_as_nix_does_from_one_batch(sample: dict[str, str]) -> None:
    with Store.open(nix="db") as store:
        database = store.graph
        assert isinstance(database, NixDatabase)
        closed = database.closure([os.path.basename(sample["app"])])  # app, mid, base
        assert len(closed) == 3
        fetched: list[list[str]] = []

        def fetch(basenames: Iterable[str]) -> Mapping[str, frozenset[str]]:
            fetched.append(list(basenames))
            return database.references_among(fetched[-1])

        graph = ClosedGraph(database, closed, fetch)
        for path in sample.values():
            base = os.path.basename(path)
            assert graph.references(base) == database.references(base)
            assert graph.closure([base]) == database.closure([base])
            expected = nixutil.nix_query("--requisites", path)
            assert {store.full_path(b) for b in graph.closure([base])} == expected
        assert fetched == [sorted(closed)]  # the closed set's references, once
        unknown = "0" * 32 + "-not-a-path"
        assert database.references_among([unknown]) == {unknown: frozenset()}


@pytest.mark.nix
def test_cli_backend_filters_invalid_paths(sample: dict[str, str], tmp_path: Path) -> None:
    with Store.open(nix="cli") as store:
        fake = f"{HASH}-apetest-not-registered-1.0"
        valid = store.valid_paths()
        assert os.path.basename(sample["mid"]) in valid
        assert fake not in valid


def _copy_db(tmp_path: Path) -> Path:
    state = tmp_path / "state"
    (state / "db").mkdir(parents=True)
    source = sqlite3.connect("file:/nix/var/nix/db/db.sqlite?mode=ro", uri=True)
    target = sqlite3.connect(state / "db" / "db.sqlite")
    with target:
        source.backup(target)
    source.close()
    target.close()
    return state


@pytest.mark.nix
def test_locked_database_is_a_store_error(sample: dict[str, str], tmp_path: Path) -> None:
    state = _copy_db(tmp_path)
    db = state / "db" / "db.sqlite"
    # Another process holds an exclusive lock, as a Nix writer in exclusive mode would.
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time\n"
            f"c = sqlite3.connect({str(db)!r}, isolation_level=None)\n"
            "c.execute('PRAGMA journal_mode=DELETE')\n"
            "c.execute('BEGIN EXCLUSIVE')\n"
            "print('locked', flush=True)\n"
            "time.sleep(30)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        with pytest.raises(StoreError, match="is locked") as info:
            Store.open(nix="db", state_dir=str(state), db_timeout=0.3)
        assert time.monotonic() - started < 10
        assert info.value.hint
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    # Once released, the same copy reads fine.
    with Store.open(nix="db", state_dir=str(state)) as store:
        assert os.path.basename(sample["app"]) in store.valid_paths()


@pytest.mark.nix
def test_unreadable_database_is_a_store_error(sample: dict[str, str], tmp_path: Path) -> None:
    state = tmp_path / "state"
    (state / "db").mkdir(parents=True)
    (state / "db" / "db.sqlite").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="cannot read Nix database"):
        Store.open(nix="db", state_dir=str(state))
    # auto falls back to the nix-store command
    with Store.open(state_dir=str(state)) as store:
        assert store.backend == "nix-cli"


@pytest.mark.nix
def test_missing_database_is_a_store_error(tmp_path: Path) -> None:
    nixutil.require_nix()
    with pytest.raises(StoreError, match="does not exist"):
        Store.open(nix="db", state_dir=str(tmp_path))


@pytest.mark.nix
def test_store_dir_env_is_honoured(sample: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    store_dir = os.path.dirname(sample["app"])
    monkeypatch.setenv("NIX_STORE_DIR", store_dir + "/")
    with Store.open() as store:
        assert store.dir == store_dir
        assert store.backend == "nix-db"
        assert os.path.basename(sample["app"]) in store.valid_paths()
    # another configured store dir: the real one is now "plain", not Nix's
    monkeypatch.setenv("NIX_STORE_DIR", "/nonexistent/store")
    with Store.open(store_dir) as store:
        assert store.backend == "plain"


def test_require_nix_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nixutil, "nix_missing_reason", lambda: "no nix here")
    monkeypatch.delenv(nixutil.REQUIRE_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match="no nix here"):
        nixutil.require_nix()
    monkeypatch.setenv(nixutil.REQUIRE_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match="no nix here"):
        nixutil.require_nix()
    monkeypatch.setattr(nixutil, "nix_missing_reason", lambda: None)
    nixutil.require_nix()  # usable: neither skips nor fails


_VERSIONS = [
    "1.0", "1.0.1", "1.9", "1.10", "1.0pre1", "1.0-pre", "2.3a", "2.3.1", "2.3", "2.38-44",
    "2.39-5", "0.9.9", "1", "1.2.3-lib", "1.2.3-dev", "13.2.0", "2.1.28+dfsg-10", "1.0rc1",
    "1.0.0", "pre", "a", "", "20240101", "3.0.13-dev", "1.2beta", "1.2.b",
]  # fmt: skip


@pytest.mark.nix
def test_version_key_agrees_with_nix_compare_versions() -> None:
    nixutil.require_nix()
    pairs = [(a, b) for a in _VERSIONS for b in _VERSIONS]
    expr = "map (p: builtins.compareVersions (builtins.elemAt p 0) (builtins.elemAt p 1)) "
    expr += "[" + " ".join(f'["{a}" "{b}"]' for a, b in pairs) + "]"
    answers = json.loads(
        nixutil.run(["nix-instantiate", "--eval", "--json", "--strict", "-E", expr])
    )
    ours = [(version_key(a) > version_key(b)) - (version_key(a) < version_key(b)) for a, b in pairs]
    disagreements = [
        (a, b, n, o) for (a, b), n, o in zip(pairs, answers, ours, strict=True) if n != o
    ]
    assert disagreements == []
