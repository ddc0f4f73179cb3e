"""Providers from binary caches, end to end, with real Nix, real caches and the real loader.

The local candidates are the main fixture's Debian bookworm packages (glibc 2.36); the
programs are Debian trixie's ``jq`` and ``curl`` (built against glibc 2.41), whose
libraries are only in the remote fixture's signed caches (``fixtures/remote.py``). So a
solution exists only with store paths from a cache: checked (signature, NAR hash, ELF
facts) before anything is realised, realised only when chosen, and then run by ld.so.
"""

from __future__ import annotations

import json
import lzma
import os
import re
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from fixtures import FixtureStore
from fixtures.remote import RemoteFixture, refused_url, serve, served, silent_server
from ldcheck import predicted, run_directly, run_through
from runhelp import cli

from autopatchelf import SolveOptions, open_remote, solve
from autopatchelf._api import open_index
from autopatchelf.index import StoreIndex

pytestmark = pytest.mark.nix

#: What jq's closure is from the cache: its 4 sonames (libjq, libonig, libc, libm) need
#: these three trixie packages, and nothing else is ever considered.
JQ_DOWNLOADS = ("libjq1", "libonig5", "libc6")
HOST_DIRS = ("/lib/", "/lib64/", "/usr/lib/", "/usr/lib64/", "/usr/local/")


@pytest.fixture(scope="module")
def bookworm(fixture_store: FixtureStore) -> tuple[str, ...]:
    """The local candidates: the main fixture's bookworm packages (glibc 2.36)."""
    return tuple(str(path) for path in fixture_store.debian["bookworm"].values())


@pytest.fixture(scope="module")
def warm_local(bookworm: tuple[str, ...], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache dir whose store index over ``bookworm`` is built (no remote cache yet)."""
    directory = tmp_path_factory.mktemp("remote-warm")
    with StoreIndex.open(within=bookworm, cache_dir=str(directory)):
        pass
    return directory


@pytest.fixture
def cache(warm_local: Path, tmp_path: Path) -> Path:
    """This test's cache dir: the local index warm, the remote cache empty."""
    path = tmp_path / "cache"
    shutil.copytree(warm_local, path, ignore=shutil.ignore_patterns("locks", "links"))
    return path


def within(bookworm: Sequence[str]) -> list[str]:
    return [arg for path in bookworm for arg in ("--within", path)]


def options(
    remote: RemoteFixture, bookworm: Sequence[str], cache: Path, **more: object
) -> SolveOptions:
    settings: dict[str, object] = {
        "within": tuple(bookworm),
        "substituters": (remote.url,),
        "trusted_public_keys": (remote.public_key,),
        "cache_dir": str(cache),
        "system": (),
    }
    settings.update(more)
    return SolveOptions(**settings)  # type: ignore[arg-type]


def store_path_list(remote: RemoteFixture, directory: Path) -> Path:
    """The cache's store paths as a channel publishes them: ``store-paths.xz``."""
    listed = directory / "store-paths.xz"
    listed.write_bytes(lzma.compress("".join(f"{p}\n" for p in remote.paths.values()).encode()))
    return listed


def loaded_from_the_store(loaded: frozenset[str]) -> None:
    """Every object ld.so loaded is a store file (none of the host's)."""
    host = sorted(p for p in loaded if p.startswith(HOST_DIRS))
    assert not host, f"host libraries loaded: {host}"
    assert all(p.startswith("/nix/store/") for p in loaded), sorted(loaded)


# -- solve, realise, run ---------------------------------------------------------------------


def test_jq_from_the_cache_checked_then_realised_then_run(
    absent: RemoteFixture, bookworm: tuple[str, ...], cache: Path
) -> None:
    jq = str(absent.programs["jq"])
    opts = options(absent, bookworm, cache)
    index = open_index(opts)
    remote = open_remote(opts, index)
    assert remote is not None
    try:
        solution = solve([jq], opts, index=index, remote=remote)
        stats = remote.stats
    finally:
        remote.close()
        index.close()
    wanted = {absent.paths[name] for name in JQ_DOWNLOADS}
    assert {d.store_path for d in solution.downloads} == wanted
    assert solution.realised
    assert solution.glibc == absent.paths["libc6"]
    assert solution.download_bytes == sum(absent.file_sizes[name] for name in JQ_DOWNLOADS)
    # Every cached path's listing and narinfo was read; a NAR only for the 3 candidates the
    # solve considered (not 36), and the bytes fetched are exactly those 3 NAR files.
    assert stats.paths == len(absent.paths)
    assert stats.requests["nar"] == stats.nars_read == len(JQ_DOWNLOADS)
    assert stats.bytes["nar"] == solution.download_bytes
    assert stats.rejected == 0
    # Realised only what was chosen: the other 33 paths are still absent.
    assert sorted(absent.valid_paths()) == sorted(wanted)
    # The loader is the judge.
    started = run_through(solution, jq, ["-n", "[1, 2] | add"])
    assert started.returncode == 0, started.stderr[-3000:]
    assert started.stdout == "3\n"
    assert started.loaded == predicted(solution, jq)
    loaded_from_the_store(started.loaded)
    assert {p for p in started.loaded if not p.startswith(tuple(wanted))} == set()


def test_a_second_solve_reads_no_nar(
    absent: RemoteFixture, bookworm: tuple[str, ...], cache: Path
) -> None:
    """NAR facts are cached: a second solve (a new process's worth of state) fetches none,
    and, its paths realised by the first, downloads nothing either."""
    jq = str(absent.programs["jq"])
    counts = []
    solutions = []
    for _ in range(2):
        opts = options(absent, bookworm, cache, realise=False)
        index = open_index(opts)
        remote = open_remote(opts, index)
        assert remote is not None
        try:
            solutions.append(solve([jq], opts, index=index, remote=remote))
            counts.append(remote.stats.requests.get("nar", 0))
        finally:
            remote.close()
            index.close()
    assert counts == [len(JQ_DOWNLOADS), 0]
    assert solutions[0].downloads == solutions[1].downloads
    assert [r.libraries for r in solutions[0].roots] == [r.libraries for r in solutions[1].roots]
    assert absent.valid_paths() == []


@pytest.mark.parametrize("zstd", [False, True], ids=["xz", "zstd"])
def test_no_realise_says_what_it_would_download(
    absent: RemoteFixture, bookworm: tuple[str, ...], cache: Path, zstd: bool
) -> None:
    url = absent.zstd_url if zstd else absent.url
    assert url is not None
    jq = str(absent.programs["jq"])
    args = ["solve", jq, *within(bookworm), "--substituter", url]
    args += ["--trusted-public-key", absent.public_key, "--no-realise", "--format", "json"]
    done = cli(*args, cache=cache)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert {d["store_path"] for d in document["realise"]} == {absent.paths[n] for n in JQ_DOWNLOADS}
    assert all(d["substituter"] == url for d in document["realise"])
    assert absent.valid_paths() == []
    text = cli(*args[:-2], cache=cache)
    assert text.returncode == 0, text.stderr
    assert "to download: 3 store paths" in text.stdout
    assert f"[--substituter {url}]" in text.stdout


def test_no_realise_is_refused_where_paths_must_exist(
    absent: RemoteFixture, bookworm: tuple[str, ...], cache: Path
) -> None:
    jq = str(absent.programs["jq"])
    flags = [*within(bookworm), "--substituter", absent.url, "--no-realise"]
    for args in (["run", jq, *flags, "--", "-n", "1"], ["patch", jq, *flags]):
        done = cli(*args, cache=cache)
        assert done.returncode == 2, done.stderr
        assert done.stderr.count("\n") == 1 and "--no-realise" in done.stderr
    assert absent.valid_paths() == []


def test_run_over_http_with_nix_configuration_and_a_store_path_list(
    absent: RemoteFixture, bookworm: tuple[str, ...], cache: Path, tmp_path: Path
) -> None:
    """The substituter and the trusted key come from Nix's configuration (NIX_CONFIG), the
    candidates from a channel-style ``store-paths.xz``; curl's 28 paths come over http."""
    listed = store_path_list(absent, tmp_path)
    curl = str(absent.programs["curl"])
    log = tmp_path / "http.log"
    with serve(absent.cache_dir, log=log) as url:
        env = {"NIX_CONFIG": absent.nix_config(substituters=[url])}
        done = cli(
            "run", curl, *within(bookworm), "--remote-paths", str(listed), "--", "--version",
            cache=cache, env=env,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith("curl 8.")
    assert "OpenSSL/3" in done.stdout
    assert "autopatchelf: downloaded 28 store paths (11.9 MiB) from binary caches" in done.stderr
    valid = set(absent.valid_paths())
    assert {absent.paths["libcurl4t64"], absent.paths["libc6"]} <= valid
    assert absent.paths["jq"] not in valid
    # Each NAR crossed the network once: read for its facts, kept, and realised from the
    # kept copy; Nix fetched no NAR itself, and every path it realised had its NAR read.
    nars = served(log, "/nar/")
    assert len(nars) == len(set(nars)) == len(valid)
    assert len(served(log, "/")) > len(nars)


def test_patch_with_the_cache_and_the_patched_program_runs(
    absent: RemoteFixture, bookworm: tuple[str, ...], cache: Path, tmp_path: Path
) -> None:
    program = tmp_path / "jq"
    shutil.copy(absent.programs["jq"], program)
    program.chmod(0o755)
    args = ["patch", str(program), *within(bookworm), "--substituter", absent.url]
    done = cli(*args, "--trusted-public-key", absent.public_key, cache=cache)
    assert done.returncode == 0, done.stderr[-3000:]
    started = run_directly(str(program), ["-n", '"patched"'])
    assert started.returncode == 0, started.stderr[-3000:]
    assert started.stdout == '"patched"\n'
    loaded_from_the_store(started.loaded)
    cached = {absent.paths[n] for n in JQ_DOWNLOADS}
    assert all(p.startswith(tuple(cached)) for p in started.loaded)


# -- checked before download ---------------------------------------------------------------


@pytest.mark.parametrize("how", ["narhash", "nar-content"])
def test_a_tampered_glibc_is_rejected_and_never_realised(
    absent: RemoteFixture, bookworm: tuple[str, ...], cache: Path, tmp_path: Path, how: str
) -> None:
    """A narinfo whose signature fails, or a NAR whose content is not the signed one: the
    path is no candidate, the explanation names it and why, and Nix never sees it."""
    url = absent.tampered_copy(tmp_path / "tampered", "libc6", how)
    jq = str(absent.programs["jq"])
    done = cli(
        "solve", jq, *within(bookworm), "--substituter", url,
        "--trusted-public-key", absent.public_key, cache=cache,
    )  # fmt: skip
    said = done.stdout + done.stderr
    assert done.returncode == 1, said
    libc6 = re.escape(absent.paths["libc6"])
    found = re.search(
        rf"A binary cache has {libc6}, which would provide lib[cm]\.so\.6, "
        r"but it is rejected: (.*)\.$",
        said,
        re.MULTILINE,
    )
    assert found is not None, said
    if how == "narhash":
        assert "signature does not verify with trusted keys" in found[1]
    else:
        assert "NAR (NarHash/NarSize) hash mismatch" in found[1]
    assert "no glibc in the store is new enough" in said
    assert absent.valid_paths() == []


def test_an_untrusted_key_rejects_every_path(
    absent: RemoteFixture, bookworm: tuple[str, ...], cache: Path
) -> None:
    jq = str(absent.programs["jq"])
    env = {"NIX_CONFIG": "trusted-public-keys = other-1:" + "A" * 43 + "=\n"}
    done = cli("solve", jq, *within(bookworm), "--substituter", absent.url, cache=cache, env=env)
    said = done.stdout + done.stderr
    assert done.returncode == 1, said
    assert f"A binary cache has {absent.paths['libc6']}" in said
    assert "not signed by a trusted key (signed by autopatchelf-test-1)" in said
    assert absent.valid_paths() == []


# -- a cache that is down ------------------------------------------------------------------


def test_a_refused_cache_is_one_clear_line(
    absent: RemoteFixture, bookworm: tuple[str, ...], cache: Path, tmp_path: Path
) -> None:
    listed = store_path_list(absent, tmp_path)
    url = refused_url()
    jq = str(absent.programs["jq"])
    done = cli(
        "solve", jq, *within(bookworm), "--remote-paths", str(listed), "--substituter", url,
        "--trusted-public-key", absent.public_key, cache=cache, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert done.stderr.startswith(f"autopatchelf: error: binary cache {url}/")
    assert "cannot connect" in done.stderr and "hint:" in done.stderr
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1


def test_a_silent_cache_times_out(
    absent: RemoteFixture, bookworm: tuple[str, ...], cache: Path, tmp_path: Path
) -> None:
    listed = store_path_list(absent, tmp_path)
    jq = str(absent.programs["jq"])
    with silent_server() as url:
        started = time.monotonic()
        done = cli(
            "solve", jq, *within(bookworm), "--remote-paths", str(listed), "--substituter", url,
            "--remote-timeout", "1", cache=cache, timeout=60,
        )  # fmt: skip
        seconds = time.monotonic() - started
    assert done.returncode == 2, done.stderr
    assert "timed out after 1 s" in done.stderr and done.stderr.count("\n") == 1
    # Not 36 listings one after the other: the first timeout ends the solve.
    assert seconds < 30


# -- nix-index -----------------------------------------------------------------------------


def test_a_nix_index_database_names_the_attribute(
    absent: RemoteFixture, bookworm: tuple[str, ...], cache: Path, tmp_path: Path
) -> None:
    database = absent.nix_index_db(tmp_path / "nix-index")
    jq = str(absent.programs["jq"])
    env = {"NIX_INDEX_DATABASE": str(database.parent)}
    done = cli(
        "solve", jq, *within(bookworm), "--nix-index", "--substituter", absent.url,
        "--trusted-public-key", absent.public_key, "--no-realise", "--format", "json",
        cache=cache, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    realise = json.loads(done.stdout)["realise"]
    assert {d["store_path"]: d["origin"] for d in realise} == {
        # The output is named only when it is not "out" (gcc.cc.lib): what one writes in
        # a configuration.
        absent.paths[n]: absent.attr_name(n)
        for n in JQ_DOWNLOADS
    }
    text = cli(
        "solve", jq, *within(bookworm), "--nix-index", str(database), "--substituter",
        absent.url, "--trusted-public-key", absent.public_key, "--no-realise",
        cache=cache,
    )  # fmt: skip
    assert text.returncode == 0, text.stderr
    assert f"{absent.paths['libc6']} (libc6)" in text.stdout


# -- check ---------------------------------------------------------------------------------


def test_check_says_solvable_with_downloads_and_downloads_nothing(
    absent: RemoteFixture, bookworm: tuple[str, ...], cache: Path
) -> None:
    directory = str(absent.programs["jq"].parent)
    args = ["check", directory, *within(bookworm), "--substituter", absent.url]
    done = cli(*args, "--trusted-public-key", absent.public_key, cache=cache)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "fetch jq  (solvable with downloads: 3 store paths" in done.stdout
    assert "fetch curl  (solvable with downloads: 28 store paths" in done.stdout
    assert absent.valid_paths() == []
    without = cli(*args, cache=cache)
    assert without.returncode == 1, without.stdout + without.stderr
    assert absent.valid_paths() == []


# -- realisation failures and GC roots -------------------------------------------------------


def test_a_failed_realisation_is_one_error_and_nothing_is_half_done(
    absent: RemoteFixture, bookworm: tuple[str, ...], cache: Path, tmp_path: Path
) -> None:
    """The cache's libc6 NAR is corrupted after its facts were read (and cached): the solve
    still chooses it, Nix refuses the download, and patch leaves the program and the lock
    as they were."""
    jq = str(absent.programs["jq"])
    flags = [*within(bookworm), "--trusted-public-key", absent.public_key]
    first = cli("solve", jq, *flags, "--substituter", absent.url, "--no-realise", cache=cache)
    assert first.returncode == 0, first.stderr
    corrupted = absent.tampered_copy(tmp_path / "corrupted", "libc6", "nar")
    program = tmp_path / "jq"
    shutil.copy(jq, program)
    program.chmod(0o755)
    before = program.read_bytes()
    lock = tmp_path / "jq.autopatchelf.lock"
    done = cli(
        "patch", str(program), *flags, "--substituter", corrupted, "--lock", str(lock),
        cache=cache,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.startswith("autopatchelf: error: nix-store --realise of 3 store paths")
    assert done.stderr.count("\n") == 1 and "hint:" in done.stderr
    assert program.read_bytes() == before
    assert not lock.exists()
    assert not absent.is_valid(absent.paths["libc6"])


def test_gc_roots_hold_the_realised_paths(
    absent: RemoteFixture, bookworm: tuple[str, ...], cache: Path, tmp_path: Path
) -> None:
    jq = str(absent.programs["jq"])
    roots = tmp_path / "roots"
    done = cli(
        "solve", jq, *within(bookworm), "--substituter", absent.url,
        "--trusted-public-key", absent.public_key, "--gc-root", str(roots), cache=cache,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "downloaded: 3 store paths" in done.stdout
    held = {os.path.realpath(link) for link in roots.iterdir()}
    assert {absent.paths[n] for n in JQ_DOWNLOADS} <= held
    for link in roots.iterdir():  # let the fixture delete the paths again
        link.unlink()
