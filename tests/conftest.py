"""Shared test setup: the Nix policy and the fixture store (see ``tests/fixtures``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fixtures import BuildStats, FixtureStore, build_fixture_store
from fixtures.policy import fixture_store_unavailable_reason, nix_unavailable_reason, require
from fixtures.remote import RemoteFixture, build_remote_fixture, remote_unavailable_reason
from prerequisites import need
from runhelp import Executed, private_cache, warm_index

_built: list[BuildStats] = []


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests using a fixture store need Nix: mark them, so ``-m "not nix"`` drops them."""
    for item in items:
        if {"fixture_store", "remote", "absent"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.nix)


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("nix") is not None:
        require(nix_unavailable_reason())
    for marker in item.iter_markers("needs"):
        need(*marker.args)


@pytest.fixture(scope="session")
def fixture_store() -> FixtureStore:
    """The real Nix fixture store: built on first use, then reused from the cache dir."""
    require(fixture_store_unavailable_reason())
    store = build_fixture_store()
    _built.append(store.stats)
    return store


@pytest.fixture(scope="session")
def remote() -> RemoteFixture:
    """The binary-cache fixture (``fixtures/remote.py``): built on first use, then reused."""
    require(remote_unavailable_reason())
    return build_remote_fixture()


@pytest.fixture
def absent(remote: RemoteFixture) -> Iterator[RemoteFixture]:
    """The binary-cache fixture with its packages absent locally before and after the test."""
    remote.ensure_absent()
    yield remote
    remote.ensure_absent()


@pytest.fixture(scope="session")
def index_cache(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A private index cache dir for the session (the user's own cache is never touched)."""
    return str(tmp_path_factory.mktemp("index-cache"))


@pytest.fixture(scope="session")
def index(fixture_store: FixtureStore, index_cache: str) -> Iterator[object]:
    """The store index narrowed to the fixture providers (the real /nix/store may hold
    more)."""
    from autopatchelf.index import StoreIndex

    within = [str(p) for p in fixture_store.providers()]
    with StoreIndex.open(within=within, cache_dir=index_cache) as opened:
        yield opened


@pytest.fixture(scope="session")
def warm(fixture_store: FixtureStore, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache dir whose index over the fixture providers is already built."""
    return warm_index(fixture_store, tmp_path_factory.mktemp("warm-cache"))


@pytest.fixture
def cache(warm: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of ``warm`` for one test (its own locks), set as the CLI's cache."""
    path = private_cache(warm, tmp_path)
    monkeypatch.setenv("AUTOPATCHELF_CACHE_DIR", str(path))
    return path


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for stats in _built:
        terminalreporter.write_line(
            f"fixture store: ready in {stats.seconds:.1f}s ({stats.built} derivations built, "
            f"{stats.downloaded} .debs downloaded, {stats.lists_refreshed} apt lists refreshed)"
        )


@pytest.fixture
def execs(monkeypatch: pytest.MonkeyPatch) -> None:
    """``os.execve`` raises :class:`Executed` instead of replacing the test process."""

    def fake_execve(path: str, argv: list[str], env: dict[str, str]) -> None:
        raise Executed(path, argv, env)

    monkeypatch.setattr(os, "execve", fake_execve)
