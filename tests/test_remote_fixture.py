"""The binary-cache fixture (``tests/fixtures/remote.py``) does what it says: a signed cache
of real Debian packages that are absent locally, that Nix substitutes back through
``nix_config`` (file:// and http://), refuses when tampered with, and that a nix-index
database written from its listings describes."""

from __future__ import annotations

import hashlib
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from fixtures import FixtureStore
from fixtures.remote import (
    KEY_NAME,
    ROOTS,
    RemoteFixture,
    RemoteFixtureError,
    build_remote_fixture,
    refused_url,
    serve,
    silent_server,
)

pytestmark = pytest.mark.nix

HOST_LOADER = "/lib64/ld-linux-x86-64.so.2"


def run(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120, **kwargs)  # type: ignore[call-overload, no-any-return]


def realise_ok(remote: RemoteFixture, path: str, substituter: str) -> None:
    done = remote.realise(path, substituter=substituter)
    assert done.returncode == 0, done.stderr[-3000:]
    assert remote.is_valid(path)


# -- what was built ------------------------------------------------------------------------


def test_closure_of_jq_and_curl(remote: RemoteFixture) -> None:
    assert set(ROOTS) <= set(remote.paths)
    assert {"libjq1", "libonig5", "libc6", "libssl3t64", "zlib1g"} <= set(remote.paths)
    assert 30 <= len(remote.paths) <= 50
    assert set(remote.packages) == set(remote.paths)
    for name, package in remote.packages.items():
        assert str(package.path) == remote.paths[name]
        assert set(package.deps) <= set(remote.paths)
    assert "libjq.so.1" in remote.packages["libjq1"].sonames
    assert "libonig.so.5" in remote.packages["libonig5"].sonames
    assert remote.packages["libjq1"].lib_dirs == (
        Path(remote.paths["libjq1"]) / "usr/lib/x86_64-linux-gnu",
    )


def test_paths_differ_from_the_main_fixture(
    remote: RemoteFixture, fixture_store: FixtureStore
) -> None:
    """Same builds (same names) as the main fixture's trixie packages, other store paths."""
    main = {name: str(path) for name, path in fixture_store.debian["trixie"].items()}
    shared = set(main) & set(remote.paths)
    assert len(shared) >= 30
    for name in shared:
        assert main[name] != remote.paths[name]
        assert Path(main[name]).name[33:] == Path(remote.paths[name]).name[33:]
    assert not set(remote.paths.values()) & set(main.values())


def test_the_packages_are_absent_locally(remote: RemoteFixture) -> None:
    remote.ensure_absent()
    assert remote.valid_paths() == [] and remote.present_paths() == []
    for path in remote.paths.values():
        assert not Path(path).exists()
    for name in ("jq", "libjq1", "libc6"):
        assert not remote.is_valid(remote.paths[name])
    assert remote.is_valid(remote.programs_path)


def test_the_programs_stay_unpatched_in_the_store(remote: RemoteFixture) -> None:
    assert set(remote.programs) == {"jq", "curl"}
    assert remote.is_valid(remote.programs_path)
    assert (remote.root / "gcroots" / "programs").resolve() == remote.programs_path
    done = run(["nix-store", "--query", "--references", str(remote.programs_path)])
    assert done.returncode == 0 and done.stdout.split() == [], done.stdout
    for program in remote.programs.values():
        assert program.parent == remote.programs_path / "bin"
        interpreter = run(["patchelf", "--print-interpreter", str(program)])
        assert interpreter.stdout.strip() == HOST_LOADER
        assert run(["patchelf", "--print-rpath", str(program)]).stdout.strip() == ""


def test_a_warm_build_reuses_everything(remote: RemoteFixture) -> None:
    started = time.monotonic()
    again = build_remote_fixture()
    seconds = time.monotonic() - started
    assert again.paths == remote.paths
    assert again.public_key == remote.public_key
    assert (again.stats.built, again.stats.copied, again.stats.downloaded) == (0, False, 0)
    assert seconds < 10, f"a warm build took {seconds:.1f}s"


# -- the caches ----------------------------------------------------------------------------


@pytest.mark.parametrize("zstd", [False, True], ids=["xz", "zstd"])
def test_every_package_is_in_the_cache(remote: RemoteFixture, zstd: bool) -> None:
    assert remote.zstd_url is not None, "Nix 2.8 writes zstd caches"
    directory = remote.zstd_dir if zstd else remote.cache_dir
    assert directory is not None
    assert (directory / "nix-cache-info").read_text().startswith("StoreDir: /nix/store")
    for name, path in remote.paths.items():
        info = remote.narinfo(name, zstd=zstd)
        assert info.fields["StorePath"] == path
        assert info.fields["Compression"] == ("zstd" if zstd else "xz")
        assert info.fields["Sig"].startswith(f"{KEY_NAME}:")
        assert remote.nar_file(name, zstd=zstd).stat().st_size == info.file_size
        listing = remote.listing(name, zstd=zstd)
        assert listing["version"] == 1 and listing["root"]["type"] == "directory"
        # The references Nix recorded are the packages whose lib dirs the RUNPATHs name
        # (and libc6, whose loader the programs name), and maybe the package itself.
        package = remote.packages[name]
        expected = {
            Path(remote.paths[dep]).name for dep in package.deps if remote.packages[dep].lib_dirs
        }
        if package.programs and name != "libc6":
            expected.add(Path(remote.paths["libc6"]).name)
        assert set(info.references) - {Path(path).name} == expected, name
    assert remote.public_key.startswith(f"{KEY_NAME}:")
    assert remote.secret_key_file.read_text().startswith(f"{KEY_NAME}:")


def test_sizes(remote: RemoteFixture) -> None:
    assert set(remote.file_sizes) == set(remote.paths)
    assert all(size > 0 for size in remote.file_sizes.values())
    assert remote.total_file_size == sum(remote.file_sizes.values())
    assert remote.total_nar_size > remote.total_file_size > 1_000_000


def test_nix_config(remote: RemoteFixture) -> None:
    text = remote.nix_config(substituters=[remote.url, "http://127.0.0.1:1"])
    lines = text.splitlines()
    assert f"substituters = {remote.url} http://127.0.0.1:1" in lines
    assert f"trusted-public-keys = {remote.public_key}" in lines
    assert "require-sigs = true" in lines


# -- substituting ----------------------------------------------------------------------------


@pytest.mark.parametrize("zstd", [False, True], ids=["xz", "zstd"])
def test_realise_from_the_file_cache(absent: RemoteFixture, zstd: bool) -> None:
    url = absent.zstd_url if zstd else absent.url
    assert url is not None
    path = absent.paths["libonig5"]
    realise_ok(absent, path, url)
    assert (Path(path) / "usr/lib/x86_64-linux-gnu/libonig.so.5").exists()
    assert absent.is_valid(absent.paths["libc6"])  # its closure came along
    absent.ensure_absent()
    assert not absent.is_valid(path) and absent.valid_paths() == []


def test_realise_over_http_and_run_jq(absent: RemoteFixture) -> None:
    with serve(absent.cache_dir) as url:
        assert url.startswith("http://127.0.0.1:")
        realise_ok(absent, absent.paths["jq"], url)
    jq = Path(absent.paths["jq"]) / "usr/bin/jq"
    done = run([str(jq), "-n", "[1, 2] | add"])
    assert done.returncode == 0 and done.stdout.strip() == "3", done.stderr
    assert set(absent.valid_paths()) == {
        absent.paths[name] for name in ("jq", "libjq1", "libonig5", "libc6")
    }


def test_nix_config_forgets_narinfos_nix_saw_before(absent: RemoteFixture, tmp_path: Path) -> None:
    """Nix caches http narinfos on disk (30 days by default): without the TTLs of 0 in
    nix_config, a tampered cache served under a URL Nix saw before (a reused port) would be
    accepted from that memory."""
    tampered = tmp_path / "cache"
    absent.tampered_copy(tampered, "libonig5", "narhash")
    path = absent.paths["libonig5"]
    with serve(absent.cache_dir) as url:
        realise_ok(absent, path, url)
    absent.ensure_absent()
    port = int(url.rpartition(":")[2])
    with serve(tampered, port=port) as same:
        assert same == url
        done = absent.realise(path, substituter=url)
    assert done.returncode != 0 and "is not signed by any of the keys" in done.stderr
    assert not absent.is_valid(path)


def test_without_the_key_nothing_is_substituted(absent: RemoteFixture, tmp_path: Path) -> None:
    env = absent.nix_env(substituters=[absent.url])
    env["NIX_CONFIG"] = env["NIX_CONFIG"].replace(absent.public_key, "other-1:" + "A" * 43 + "=")
    path = absent.paths["libonig5"]
    done = run(["nix-store", "--realise", path, "--option", "substituters", absent.url], env=env)
    assert done.returncode != 0
    assert "is not signed by any of the keys" in done.stderr
    assert not absent.is_valid(path)


TAMPERED = {
    "references": "is not signed by any of the keys",
    "narhash": "is not signed by any of the keys",
    "nar": "Corrupted input data",
    "nar-content": "hash mismatch importing path",
}


@pytest.mark.parametrize("how", sorted(TAMPERED))
def test_nix_refuses_a_tampered_cache(absent: RemoteFixture, tmp_path: Path, how: str) -> None:
    original = absent.narinfo_file("libonig5").read_bytes()
    nar = absent.nar_file("libonig5")
    nar_digest = hashlib.sha256(nar.read_bytes()).hexdigest()
    url = absent.tampered_copy(tmp_path / "cache", "libonig5", how)
    assert url == f"file://{tmp_path / 'cache'}"
    # Only the tampered file was written anew; the others are links to the original's.
    copied = tmp_path / "cache" / absent.narinfo_file("libc6").name
    assert copied.stat().st_ino == absent.narinfo_file("libc6").stat().st_ino
    path = absent.paths["libonig5"]
    done = absent.realise(path, substituter=url)
    assert done.returncode != 0, done.stderr
    assert TAMPERED[how] in done.stderr, done.stderr[-3000:]
    assert not absent.is_valid(path)
    absent.ensure_absent()  # also what the failed substitution left on disk
    assert not Path(path).exists() and absent.present_paths() == []
    # The original cache is untouched and still works.
    assert absent.narinfo_file("libonig5").read_bytes() == original
    assert hashlib.sha256(nar.read_bytes()).hexdigest() == nar_digest
    realise_ok(absent, path, absent.url)


def test_nix_refuses_a_tampered_zstd_nar(absent: RemoteFixture, tmp_path: Path) -> None:
    """zstd frames from Nix carry no checksum: the flipped bytes reach the NarHash check."""
    url = absent.tampered_copy(tmp_path / "cache", "libonig5", "nar", zstd=True)
    done = absent.realise(absent.paths["libonig5"], substituter=url)
    assert done.returncode != 0
    assert "hash mismatch importing path" in done.stderr or "zstd" in done.stderr.lower()


def test_tampered_copy_refuses_an_unknown_kind(remote: RemoteFixture, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="how must be one of"):
        remote.tampered_copy(tmp_path / "cache", "libonig5", "sig")


def test_ensure_absent_names_the_root_that_keeps_a_path(
    absent: RemoteFixture, tmp_path: Path
) -> None:
    path = absent.paths["libonig5"]
    root = tmp_path / "my-root"
    env = absent.nix_env(substituters=[absent.url])
    argv = ["nix-store", "--realise", path, "--add-root", str(root)]
    done = run([*argv, "--option", "substituters", absent.url], env=env)
    assert done.returncode == 0, done.stderr
    with pytest.raises(RemoteFixtureError) as raised:
        absent.ensure_absent()
    message = str(raised.value)
    assert str(root) in message and path in message
    assert absent.is_valid(path)
    root.unlink()
    absent.ensure_absent()
    assert absent.valid_paths() == []


# -- nix-index -------------------------------------------------------------------------------


def test_nix_index_database(remote: RemoteFixture, tmp_path: Path) -> None:
    from autopatchelf.remote import EntryKind, read_packages

    database = remote.nix_index_db(tmp_path / "nix-index")
    assert database == tmp_path / "nix-index" / "files"
    lib_dirs = ["usr/lib/x86_64-linux-gnu", "lib/x86_64-linux-gnu"]
    with database.open("rb") as stream:
        packages = {p.attr: p for p in read_packages(stream, name=str(database), dirs=lib_dirs)}
    assert set(packages) == {remote.attr_name(name) for name in remote.paths}
    assert {"jq", "libjq1", "libonig5", "libgcc_s1", "libdb5_3t64"} <= set(packages)
    for name, path in remote.paths.items():
        package = packages[remote.attr_name(name)]
        assert package.store_path == path
        assert (package.output, package.toplevel, package.store_dir) == ("out", True, "/nix/store")
    files = {f.path: f for f in packages["libjq1"].files}
    link = files["usr/lib/x86_64-linux-gnu/libjq.so.1"]
    assert link.kind is EntryKind.SYMLINK
    assert link.target is not None
    target = files[f"usr/lib/x86_64-linux-gnu/{link.target}"]
    assert target.kind is EntryKind.REGULAR and target.size > 100_000
    onig = {f.path.rpartition("/")[2] for f in packages["libonig5"].files}
    assert "libonig.so.5" in onig
    libc = {f.path.rpartition("/")[2] for f in packages["libc6"].files}
    assert {"libc.so.6", "ld-linux-x86-64.so.2"} <= libc
    # Every file of the listing is there without a filter: bin/jq is executable.
    with database.open("rb") as stream:
        everything = {p.attr: p for p in read_packages(stream, name=str(database))}
    jq = {f.path: f for f in everything["jq"].files}
    assert jq["usr/bin/jq"].executable
    assert jq[""].kind is EntryKind.DIRECTORY


# -- servers ---------------------------------------------------------------------------------


def test_serve_answers_and_stops(remote: RemoteFixture) -> None:
    with serve(remote.cache_dir) as url:
        with urllib.request.urlopen(f"{url}/nix-cache-info", timeout=5) as response:
            assert response.read().startswith(b"StoreDir: /nix/store")
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"{url}/{'0' * 32}.narinfo", timeout=5)
        assert missing.value.code == 404
        missing.value.close()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{url}/nix-cache-info", timeout=5)


def test_refused_url() -> None:
    url = refused_url()
    assert url == refused_url()
    with pytest.raises(urllib.error.URLError) as raised:
        urllib.request.urlopen(url, timeout=5)
    assert isinstance(raised.value.reason, ConnectionRefusedError)


def test_silent_server_never_answers() -> None:
    with silent_server() as url:
        started = time.monotonic()
        with pytest.raises((TimeoutError, urllib.error.URLError)) as raised:
            urllib.request.urlopen(url, timeout=0.5)
        assert time.monotonic() - started >= 0.4
        reason = getattr(raised.value, "reason", raised.value)
        assert isinstance(reason, TimeoutError)
