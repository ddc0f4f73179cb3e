"""GC roots: the store paths a solution uses survive garbage collection while rooted.

The real-Nix test builds its own fresh library (a salted derivation), so deleting it never
touches the shared fixture store. No test here runs ``nix-store --gc``: other test runs may
share this store, so collection is shown path by path with ``nix-store --delete``, which
deletes only the path named and refuses while anything roots it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from fixtures import FixtureStore
from nixutil import fake_hash, run
from prerequisites import NIX_BUILD_OPTIONS
from runhelp import cli, private_cache, within_args

from autopatchelf.actions.gcroots import (
    add_gc_roots,
    auto_root,
    is_registered,
    root_link,
)
from autopatchelf.actions.locks.lockfile import read_lock
from autopatchelf.errors import GcRootError
from autopatchelf.store import nixbase32

LIB_EXPR = r"""
derivation {
  name = "autopatchelf-gcroot-test-libgcx-1.0";
  system = builtins.currentSystem;
  builder = "/bin/sh";
  salt = "@SALT@";
  args = [ "-c" ''
    set -e; export PATH=/usr/bin:/bin; cd $TMPDIR
    mkdir -p $out/lib
    printf 'int gcx(void) { return 42; }\n' > gcx.c
    gcc -shared -fPIC -Wl,-soname,libgcx.so.1 -o $out/lib/libgcx.so.1 gcx.c
  '' ];
}
"""

APP_C = (
    '#include <stdio.h>\nint gcx(void);\nint main(void) { printf("gcx=%d\\n", gcx()); return 0; }\n'
)


def test_nix_base32_is_nix_encoding() -> None:
    # As `nix-hash --type sha1 --to-base32` renders them.
    assert nixbase32.encode(bytes(20)) == "0" * 32
    assert nixbase32.encode(bytes.fromhex("da39a3ee5e6b4b0d3255bfef95601890afd80709")) == (
        "143xibwh31h9bvxzalr0sjvbbvpa6ffs"  # sha1 of ""
    )


def build_fresh_lib(tmp_path: Path) -> tuple[str, Path]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    """A new store path (salted), rooted only by a temporary out link we return."""
    expr = tmp_path / "lib.nix"
    expr.write_text(LIB_EXPR.replace("@SALT@", f"{os.getpid()}-{time.time_ns()}"))
    link = tmp_path / "build-result"
    argv = ["nix-build", str(expr), "--out-link", str(link), *NIX_BUILD_OPTIONS]
    (path,) = [line for line in run(argv).splitlines() if line.startswith("/nix/store/")]
    return path, link


def delete(path: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["nix-store", "--delete", path], capture_output=True, text=True, check=False
    )


def roots_of(path: str) -> str:
    return run(["nix-store", "--query", "--roots", path])


def test_rooted_library_survives_and_unrooted_one_is_collected(
    fixture_store: FixtureStore, tmp_path: Path
) -> None:
    fx = fixture_store
    # The shared fixtures are rooted by their own link: check before deleting anything.
    fixtures_root = fx.cache_dir / "gcroots" / "fixtures"
    assert os.path.realpath(fixtures_root) == str(fx.index)
    lib, build_link = build_fresh_lib(tmp_path)
    glibc = str(fx.path("glibc-host"))
    app = tmp_path / "app"
    (tmp_path / "app.c").write_text(APP_C)
    run(["gcc", str(tmp_path / "app.c"), f"-L{lib}/lib", "-l:libgcx.so.1", "-o", str(app)])
    cache = tmp_path / "cache"
    lock = tmp_path / "app.autopatchelf.lock"
    roots = tmp_path / "roots"
    within = ("--within", lib, "--within", glibc)
    solved = cli(
        "solve", *within, "--lock", str(lock), "--gc-root", str(roots), str(app), cache=cache
    )
    assert solved.returncode == 0, solved.stderr
    assert set(read_lock(str(lock)).store_paths) == {lib, glibc}
    link = root_link(str(roots), lib)
    assert os.readlink(link) == lib
    assert is_registered(link, lib)
    assert os.readlink(auto_root(link)) == link  # registered the way Nix does it

    # Only our root keeps the library now: Nix refuses to delete it, and says why.
    build_link.unlink()
    assert link in roots_of(lib)
    refused = delete(lib)
    assert refused.returncode != 0
    assert "still alive" in refused.stderr
    assert os.path.exists(lib)
    ran = cli("run", "--lock", str(lock), "--frozen", str(app), cache=cache)
    assert (ran.returncode, ran.stdout) == (0, "gcx=42\n"), ran.stderr

    # Without the root it is collected, and the lock says so.
    os.unlink(link)
    deleted = delete(lib)
    assert deleted.returncode == 0, deleted.stderr
    assert not os.path.exists(lib)
    stale = cli("run", "--lock", str(lock), "--frozen", str(app), cache=cache)
    assert stale.returncode == 2
    assert f"store path {lib} does not exist (garbage-collected?)" in stale.stderr
    assert os.path.exists(glibc)  # the fixture glibc is still rooted by the fixtures
    shutil.rmtree(roots)


def test_run_registers_gc_roots_once(
    fixture_store: FixtureStore, warm: Path, tmp_path: Path
) -> None:
    fx = fixture_store
    cache = private_cache(warm, tmp_path)
    roots = tmp_path / "roots"
    app = str(fx.apps["diamond"])
    first = cli("run", *within_args(fx), "--gc-root", str(roots), app, cache=cache)
    assert first.returncode == 0, first.stderr
    store_paths = {str(fx.path(k)) for k in ("liba-1.0", "libb-1.0", "libdep-1.0", "glibc-host")}
    assert {os.readlink(roots / name) for name in os.listdir(roots)} == store_paths
    assert f"4 GC roots added in {roots}" in first.stderr
    again = cli("run", "--gc-root", str(roots), app, cache=cache)
    assert again.returncode == 0, again.stderr
    assert again.stderr == ""  # every root already registered: nothing run, nothing said
    result = add_gc_roots(store_paths, str(roots), executable="no-such-nix-store")
    assert (len(result.added), len(result.present)) == (0, 4)
    shutil.rmtree(roots)


def test_paths_that_cannot_be_rooted_are_reported(
    fixture_store: FixtureStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NIX_CONFIG", "substituters =")  # no network retries
    gone = f"/nix/store/{fake_hash(f'gone-{time.time_ns()}')}-gone-1.0"
    glibc = str(fixture_store.path("glibc-host"))
    with pytest.raises(GcRootError) as caught:
        add_gc_roots([glibc, gone], str(tmp_path / "roots"))
    message = str(caught.value)
    assert message.startswith(f"1 of 2 GC roots registered in {tmp_path / 'roots'}; {gone} ")
    assert "is not valid and could not be realised" in message
    assert "\n" not in message
    assert is_registered(root_link(str(tmp_path / "roots"), glibc), glibc)
    with pytest.raises(GcRootError, match=r"0 of 1 GC roots registered.*does not exist"):
        add_gc_roots([gone], str(tmp_path / "roots2"), realise=False)
    with pytest.raises(GcRootError, match="is not a path of the Nix store"):
        add_gc_roots([str(tmp_path)], str(tmp_path / "roots3"))
    with pytest.raises(GcRootError, match="no-such-nix-store not found on PATH"):
        add_gc_roots([glibc], str(tmp_path / "roots4"), executable="no-such-nix-store")
    shutil.rmtree(tmp_path / "roots")


GC_ENV = "AUTOPATCHELF_TEST_GC"


def test_patched_binary_survives_a_real_garbage_collection(
    fixture_store: FixtureStore, tmp_path: Path
) -> None:
    """patch --gc-root, then ``nix-store --gc`` (the whole store), then run the binary.

    Collecting the whole store is not something a test suite should do on a developer's
    machine unasked, so this runs when ``AUTOPATCHELF_TEST_GC=1`` (CI sets it)."""
    if os.environ.get(GC_ENV) != "1":
        pytest.skip(f"nix-store --gc collects the whole store; set {GC_ENV}=1 (CI does)")
    fx = fixture_store
    fixtures_root = fx.cache_dir / "gcroots" / "fixtures"
    assert os.path.realpath(fixtures_root) == str(fx.index)  # the fixtures stay rooted
    kept, kept_link = build_fresh_lib(tmp_path / "kept")
    lost, lost_link = build_fresh_lib(tmp_path / "lost")
    glibc = str(fx.path("glibc-host"))
    app = tmp_path / "app"
    (tmp_path / "app.c").write_text(APP_C)
    run(["gcc", str(tmp_path / "app.c"), f"-L{kept}/lib", "-l:libgcx.so.1", "-o", str(app)])
    roots = tmp_path / "roots"
    patched = cli(
        "patch", "--within", kept, "--within", glibc, "--system", glibc,
        "--gc-root", str(roots), str(app), cache=tmp_path / "cache",
    )  # fmt: skip
    assert patched.returncode == 0, patched.stderr
    kept_link.unlink()
    lost_link.unlink()
    run(["nix-store", "--gc"])
    assert not os.path.exists(lost), "an unrooted path should have been collected"
    assert os.path.exists(kept)
    done = subprocess.run(
        [str(app)], capture_output=True, text=True, env={"LD_BIND_NOW": "1"}, check=False
    )
    assert (done.returncode, done.stdout) == (0, "gcx=42\n"), done.stderr
