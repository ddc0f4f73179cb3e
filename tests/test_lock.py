"""Lock files: written by ``solve --lock``, read back strictly, verified before being trusted,
re-solved (preferring the locked choices) when stale, refused with ``--frozen``."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import attrs
import pytest
from fixtures import FixtureStore
from nixutil import fake_hash
from runhelp import cli, within_args

import autopatchelf
from autopatchelf import cachedir
from autopatchelf.actions.locks import hashing, locations
from autopatchelf.actions.locks.lock import LOCK_DOCUMENT, LOCK_SCHEMA, Lock, LockedLibrary
from autopatchelf.actions.locks.lockfile import read_lock, write_lock
from autopatchelf.actions.locks.locking import obtain
from autopatchelf.actions.locks.storecheck import INVALID, MISSING, invalid_store_paths
from autopatchelf.actions.locks.verify import verify
from autopatchelf.cli import main
from autopatchelf.elf.facts import ElfFacts
from autopatchelf.errors import LockFileError, StaleLockError
from autopatchelf.index import StoreIndex, default_cache_dir

TRUE = shutil.which("true") or "/bin/true"


def sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# -- a lock over a plain directory "store" (no Nix) ----------------------------------------


@attrs.frozen
class Tree:
    binary: Path
    store: Path
    glibc: Path
    libfoo: Path
    lock: Lock


@pytest.fixture
def tree(tmp_path: Path) -> Tree:
    """A binary (a copy of ``true``), a bundled lib beside it, and two fake store paths."""
    app = tmp_path / "app"
    (app / "bin").mkdir(parents=True)
    (app / "lib").mkdir()
    binary = app / "bin" / "tool"
    shutil.copy(TRUE, binary)
    (app / "lib" / "libown.so.1").write_bytes(b"own")
    store = tmp_path / "store"
    glibc = store / f"{fake_hash('glibc')}-glibc-2.40"
    libfoo = store / f"{fake_hash('foo')}-libfoo-2.0"
    for path, names in ((glibc, ("ld-linux-x86-64.so.2", "libc.so.6")), (libfoo, ("libfoo.so.1",))):
        (path / "lib").mkdir(parents=True)
        for name in names:
            (path / "lib" / name).write_bytes(b"lib")
    loader = f"{glibc}/lib/ld-linux-x86-64.so.2"
    lock = Lock(
        sha256=sha256(binary),
        elf_digest=hashing.elf_digest(ElfFacts.read(str(binary))),
        binary="tool",
        system="x86_64-linux",
        interpreter=loader,
        glibc=str(glibc),
        glibc_policy="strict",
        delivery="library-path",
        library_path=("$ORIGIN/../lib", f"{libfoo}/lib", f"{glibc}/lib"),
        needs_link_dir=False,
        runpath=(),
        store_paths=(str(glibc), str(libfoo)),
        choices={
            "libc.so.6": f"{glibc}/lib/libc.so.6",
            "libfoo.so.1": f"{libfoo}/lib/libfoo.so.1",
            "libown.so.1": "$ORIGIN/../lib/libown.so.1",
        },
        libraries=(
            LockedLibrary("libown.so.1", "$ORIGIN/../lib/libown.so.1", None, "$BINARY"),
            LockedLibrary("libc.so.6", f"{glibc}/lib/libc.so.6", str(glibc), "$BINARY"),
            LockedLibrary(
                "libfoo.so.1",
                f"{libfoo}/lib/libfoo.so.1",
                str(libfoo),
                "$ORIGIN/../lib/libown.so.1",
            ),
        ),
        tool_version="test",
    )
    return Tree(binary, store, glibc, libfoo, lock)


def test_lock_round_trips_through_its_file(tree: Tree, tmp_path: Path) -> None:
    path = tmp_path / "locks" / "tool.autopatchelf.lock"
    assert write_lock(tree.lock, str(path)) == str(path)
    assert read_lock(str(path)) == tree.lock
    document = json.loads(path.read_text())
    assert document["schema"] == LOCK_SCHEMA
    assert document["binary"] == {
        "name": "tool",
        "sha256": tree.lock.sha256,
        "elf_digest": tree.lock.elf_digest,
        "system": "x86_64-linux",
    }
    assert list(document) == [
        "schema",
        "tool_version",
        "binary",
        "interpreter",
        "glibc",
        "glibc_policy",
        "delivery",
        "library_path",
        "needs_link_dir",
        "runpath",
        "store_paths",
        "choices",
        "libraries",
        "substitutions",
        "warnings",
        "driver_dirs",
    ]
    # Written atomically: no staging file is left behind; rewriting replaces the file.
    write_lock(attrs.evolve(tree.lock, warnings=("w",)), str(path))
    assert os.listdir(path.parent) == [path.name]
    assert read_lock(str(path)).warnings == ("w",)


def test_write_lock_reports_an_unwritable_place(tree: Tree, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(LockFileError, match="cannot write"):
        write_lock(tree.lock, str(tmp_path / "file" / "x.lock"))


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (None, "does not exist"),
        ("{", "is not valid JSON"),
        ("[1, 2]", "the document is not a JSON object"),
        ('{"schema": "autopatchelf.lock/0"}', "has schema 'autopatchelf.lock/0'"),
        ('{"schema": "autopatchelf.lock/1"}', "lacks the field"),
    ],
)
def test_read_lock_says_what_is_wrong(tmp_path: Path, text: str | None, reason: str) -> None:
    path = tmp_path / "x.lock"
    if text is not None:
        path.write_text(text)
    with pytest.raises(LockFileError) as caught:
        read_lock(str(path))
    assert reason in caught.value.reason
    assert "\n" not in str(caught.value)
    assert caught.value.reason.startswith(f"lock {path}: ")


def test_read_lock_checks_field_types(tree: Tree, tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    document = LOCK_DOCUMENT.dump(tree.lock)
    document["store_paths"] = "/nix/store/x"
    path.write_text(json.dumps(document))
    with pytest.raises(LockFileError, match="field 'store_paths' of the document is not a list"):
        read_lock(str(path))
    document = LOCK_DOCUMENT.dump(tree.lock)
    document["libraries"][1]["store_path"] = 3
    path.write_text(json.dumps(document))
    with pytest.raises(LockFileError, match=r"libraries\[2\] is not a string or null"):
        read_lock(str(path))


def test_a_valid_lock_has_no_problems(tree: Tree) -> None:
    assert verify(tree.lock, str(tree.binary), stores=[str(tree.store)]) == []
    assert (
        verify(tree.lock, str(tree.binary), delivery="library-path", stores=[str(tree.store)]) == []
    )
    assert verify(tree.lock, str(tree.binary), delivery="runpath", stores=[str(tree.store)]) == [
        "it was made for library-path delivery, not runpath"
    ]


def test_changed_binary_is_reported_with_whether_its_needs_changed(tree: Tree) -> None:
    with tree.binary.open("ab") as stream:
        stream.write(b"\0appended")  # same ELF, same needs: the lock's choices would still fit
    (problem,) = verify(tree.lock, str(tree.binary), stores=[str(tree.store)])
    assert problem.startswith("the binary changed since the lock was written")
    assert problem.endswith("it needs the same libraries")
    tree.binary.write_bytes(b"#!/bin/sh\n")
    (problem,) = verify(tree.lock, str(tree.binary), stores=[str(tree.store)])
    assert problem.endswith("it is no longer a readable ELF file")


def test_collected_store_path_is_reported(tree: Tree) -> None:
    shutil.rmtree(tree.libfoo)
    problems = verify(tree.lock, str(tree.binary), stores=[str(tree.store)])
    assert problems == [f"store path {tree.libfoo} {MISSING}"]


def test_missing_bundled_file_is_reported(tree: Tree) -> None:
    own = tree.binary.parent.parent / "lib" / "libown.so.1"
    own.unlink()
    assert verify(tree.lock, str(tree.binary), stores=[str(tree.store)]) == [
        f"{own} no longer exists"
    ]


def test_tampered_paths_outside_the_store_paths_are_reported(tree: Tree) -> None:
    tampered = attrs.evolve(tree.lock, interpreter="/tmp/evil/ld.so")
    assert verify(tampered, str(tree.binary), stores=[str(tree.store)])[0] == (
        "/tmp/evil/ld.so lies outside the locked store paths"
    )
    choices = {**tree.lock.choices, "libfoo.so.1": "/usr/lib/libfoo.so.1"}
    assert (
        "/usr/lib/libfoo.so.1 lies outside"
        in verify(
            attrs.evolve(tree.lock, choices=choices), str(tree.binary), stores=[str(tree.store)]
        )[0]
    )


def test_many_problems_are_one_line_that_counts_each_once(tree: Tree) -> None:
    from autopatchelf.actions.locks.verify import describe_problems

    choices = {
        **tree.lock.choices,
        "libfoo.so.1": "/usr/lib/libfoo.so.1",
        "libc.so.6": "/usr/lib/libc.so.6",
    }
    tampered = attrs.evolve(
        tree.lock, choices=choices, library_path=("/tmp/a", "/tmp/b", *tree.lock.library_path)
    )
    problems = verify(tampered, str(tree.binary), stores=[str(tree.store)])
    line = describe_problems(problems)
    assert "\n" not in line
    assert line.count("(and ") <= 1, line
    assert line.startswith("/tmp/a lies outside the locked store paths (and ")
    assert describe_problems([]) == "valid"
    assert describe_problems(["a", "b", "c"]) == "a; 2 more problems"


def test_bundled_paths_follow_the_binary(tree: Tree, tmp_path: Path) -> None:
    moved = tmp_path / "elsewhere"
    shutil.move(tree.binary.parent.parent, moved)
    binary = moved / "bin" / "tool"
    assert verify(tree.lock, str(binary), stores=[str(tree.store)]) == []
    assert tree.lock.locked_choices(str(binary))["libown.so.1"] == str(moved / "lib/libown.so.1")
    solution = tree.lock.to_solution(str(binary))
    assert solution.library_path[0] == str(moved / "lib")
    assert solution.roots[0].root == str(binary)
    assert solution.roots[0].libraries[2].requested_by == str(moved / "lib/libown.so.1")


def test_store_check_asks_nix_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Paths of the Nix store must be in ValidPaths, not merely on disk."""
    store, state = tmp_path / "nix" / "store", tmp_path / "nix" / "var"
    registered, unregistered = (store / f"{fake_hash(n)}-{n}" for n in ("reg", "unreg"))
    for path in (registered, unregistered):
        path.mkdir(parents=True)
    (state / "db").mkdir(parents=True)
    with sqlite3.connect(state / "db" / "db.sqlite") as db:
        db.execute("CREATE TABLE ValidPaths (id INTEGER PRIMARY KEY, path TEXT UNIQUE)")
        db.execute("INSERT INTO ValidPaths (path) VALUES (?)", (str(registered),))
    db.close()
    monkeypatch.setenv("NIX_STORE_DIR", str(store))
    monkeypatch.setenv("NIX_STATE_DIR", str(state))
    gone = store / f"{fake_hash('gone')}-gone"
    found = invalid_store_paths([str(registered), str(unregistered), str(gone)])
    assert found == {str(gone): MISSING, str(unregistered): INVALID}


def test_lock_cache_dir_follows_index_cache_rules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AUTOPATCHELF_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cachedir.cache_dir() == default_cache_dir() == str(tmp_path / "xdg/autopatchelf")
    assert locations.cached_path("ab" * 32) == str(
        tmp_path / f"xdg/autopatchelf/locks/{'ab' * 32}.json"
    )
    monkeypatch.setenv("AUTOPATCHELF_CACHE_DIR", str(tmp_path / "explicit"))
    assert cachedir.cache_dir() == default_cache_dir() == str(tmp_path / "explicit")
    assert cachedir.cache_dir(str(tmp_path / "given")) == str(tmp_path / "given")


# -- against the fixture store ----------------------------------------------------------


def solve_options(fx: FixtureStore, **extra: object) -> autopatchelf.SolveOptions:
    options = {"within": [str(p) for p in fx.providers()], "system": [], **extra}
    return autopatchelf.SolveOptions(**options)  # type: ignore[arg-type]


def solve_locked(
    fx: FixtureStore, app: str, lock_path: Path, cache: Path, *options: str
) -> subprocess.CompletedProcess[str]:
    return cli("solve", *within_args(fx), "--lock", str(lock_path), *options, app, cache=cache)


def in_provider(fx: FixtureStore, key: str, path: str) -> bool:
    return path.startswith(str(fx.path(key)) + "/")


def test_solve_lock_writes_the_lock(
    fixture_store: FixtureStore, cache: Path, tmp_path: Path
) -> None:
    fx = fixture_store
    app = str(fx.apps["foo-v2"])
    lock_path = tmp_path / "foo-v2.autopatchelf.lock"
    done = cli("solve", *within_args(fx), "--lock", str(lock_path), app, cache=cache)
    assert done.returncode == 0, done.stderr
    assert f"lock written: {lock_path}" in done.stderr
    doc = json.loads(lock_path.read_text())
    assert doc["schema"] == "autopatchelf.lock/1"
    assert doc["tool_version"] == autopatchelf.__version__
    assert doc["binary"]["sha256"] == sha256(app)
    assert doc["binary"]["elf_digest"] == hashing.elf_digest(ElfFacts.read(app))
    assert doc["binary"]["system"] == "x86_64-linux"
    assert set(doc["store_paths"]) == {str(fx.path("libfoo-2.0")), str(fx.path("glibc-host"))}
    assert in_provider(fx, "libfoo-2.0", doc["choices"]["libfoo.so.1"])
    assert in_provider(fx, "glibc-host", doc["choices"]["libc.so.6"])
    assert doc["interpreter"] == str(fx.loaders["glibc-host"])
    assert doc["needs_link_dir"] is False
    assert doc["glibc_policy"] == "strict"
    assert {d.split("/lib")[0] for d in doc["library_path"]} == set(doc["store_paths"])
    assert doc["libraries"][0]["requested_by"] == "$BINARY"


@pytest.mark.parametrize("app", ["foo-v2", "bundled", "curl-trixie"])
def test_lock_gives_back_the_solution(fixture_store: FixtureStore, cache: Path, app: str) -> None:
    fx = fixture_store
    root = str(fx.apps[app])
    solution = autopatchelf.solve([root], solve_options(fx))
    lock = Lock.from_solution(solution, root)
    assert lock.to_solution(root) == attrs.evolve(solution, alternatives=())
    assert verify(lock, root) == []
    if app == "bundled":
        assert "$ORIGIN/../lib" in lock.library_path
        assert lock.choices["libbundled.so.1"] == "$ORIGIN/../lib/libbundled.so.1"


def block_index(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """From now on, opening the store index (hence solving) fails; attempts are counted."""
    opened: list[str] = []

    def refuse(*args: object, **kwargs: object) -> StoreIndex:
        opened.append("StoreIndex.open")
        raise AssertionError("the index was opened")

    monkeypatch.setattr(StoreIndex, "open", refuse)
    return opened


def test_valid_lock_is_used_without_indexing_or_solving(
    fixture_store: FixtureStore,
    cache: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fx = fixture_store
    app = str(fx.apps["diamond"])
    solution = autopatchelf.solve([app], solve_options(fx))
    lock_path = tmp_path / "diamond.lock"
    write_lock(Lock.from_solution(solution, app), str(lock_path))
    no_index = block_index(monkeypatch)
    code = main(["solve", *within_args(fx), "--lock", str(lock_path), "--format", "json", app])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert no_index == []
    assert json.loads(out)["choices"] == solution.choices
    outcome = obtain(app, solve_options(fx), lock_file=str(lock_path))
    assert (outcome.source, outcome.written, outcome.notes) == ("lock", (), ())
    assert no_index == []


def test_stale_lock_is_resolved_and_rewritten(
    fixture_store: FixtureStore, cache: Path, tmp_path: Path
) -> None:
    fx = fixture_store
    app = str(fx.apps["foo-v2"])
    lock_path = tmp_path / "foo.lock"
    assert (
        cli("solve", *within_args(fx), "--lock", str(lock_path), app, cache=cache).returncode == 0
    )
    doc = json.loads(lock_path.read_text())
    doc["binary"]["sha256"] = "0" * 64
    lock_path.write_text(json.dumps(doc))
    done = cli("solve", *within_args(fx), "--lock", str(lock_path), app, cache=cache)
    assert done.returncode == 0, done.stderr
    assert f"autopatchelf: lock {lock_path} is stale: the binary changed" in done.stderr
    assert f"re-solved; lock rewritten: {lock_path}" in done.stderr
    assert json.loads(lock_path.read_text())["binary"]["sha256"] == sha256(app)


def test_lock_naming_a_collected_path_is_resolved(
    fixture_store: FixtureStore, cache: Path, tmp_path: Path
) -> None:
    """A lock whose libfoo store path is gone (as after ``nix-store --gc``)."""
    fx = fixture_store
    app = str(fx.apps["foo-v2"])
    lock_path = tmp_path / "foo.lock"
    assert (
        cli("solve", *within_args(fx), "--lock", str(lock_path), app, cache=cache).returncode == 0
    )
    real = str(fx.path("libfoo-2.0"))
    gone = f"/nix/store/{fake_hash('collected')}-libfoo-2.0"
    lock_path.write_text(lock_path.read_text().replace(real, gone))
    assert verify(read_lock(str(lock_path)), app) == [f"store path {gone} {MISSING}"]
    done = cli("solve", *within_args(fx), "--lock", str(lock_path), app, cache=cache)
    assert done.returncode == 0, done.stderr
    assert f"store path {gone} does not exist (garbage-collected?)" in done.stderr
    assert real in read_lock(str(lock_path)).store_paths


def test_malformed_lock_is_resolved(
    fixture_store: FixtureStore, cache: Path, tmp_path: Path
) -> None:
    fx = fixture_store
    app = str(fx.apps["foo-v2"])
    lock_path = tmp_path / "foo.lock"
    lock_path.write_text("{ not json")
    done = cli("solve", *within_args(fx), "--lock", str(lock_path), app, cache=cache)
    assert done.returncode == 0, done.stderr
    assert f"lock {lock_path}: is not valid JSON" in done.stderr
    assert read_lock(str(lock_path)).sha256 == sha256(app)


def test_frozen_refuses_a_stale_or_missing_lock(
    fixture_store: FixtureStore, cache: Path, tmp_path: Path
) -> None:
    fx = fixture_store
    app = str(fx.apps["foo-v2"])
    lock_path = tmp_path / "foo.lock"
    missing = cli("solve", *within_args(fx), "--lock", str(lock_path), "--frozen", app, cache=cache)
    assert missing.returncode == 2
    assert missing.stderr.startswith(f"autopatchelf: error: {app}: no lock found")
    assert not lock_path.exists()
    assert (
        cli("solve", *within_args(fx), "--lock", str(lock_path), app, cache=cache).returncode == 0
    )
    frozen = cli("solve", *within_args(fx), "--lock", str(lock_path), "--frozen", app, cache=cache)
    assert frozen.returncode == 0, frozen.stderr
    lock_path.write_text(lock_path.read_text().replace(sha256(app), "f" * 64))
    before = lock_path.read_text()
    stale = cli("solve", *within_args(fx), "--lock", str(lock_path), "--frozen", app, cache=cache)
    assert stale.returncode == 2
    (line,) = stale.stderr.splitlines()
    assert line.startswith(f"autopatchelf: error: {app}: lock {lock_path} is stale: the binary")
    assert line.endswith("(hint: run without --frozen to re-solve and rewrite the lock)")
    assert lock_path.read_text() == before
    with pytest.raises(StaleLockError):
        obtain(app, lock_file=str(lock_path), frozen=True)


@pytest.mark.parametrize("locked", ["libfoo-1.0", "libfoo-2.0"])
def test_resolving_keeps_the_locked_choice(
    fixture_store: FixtureStore, cache: Path, tmp_path: Path, locked: str
) -> None:
    """foo-v1 has two right answers: re-solving a stale lock keeps the one it had."""
    fx = fixture_store
    app = str(fx.apps["foo-v1"])
    solution = autopatchelf.solve([app], solve_options(fx, prefer=[locked]))
    assert in_provider(fx, locked, solution.choices["libfoo.so.1"])
    lock_path = tmp_path / "foo.lock"
    write_lock(attrs.evolve(Lock.from_solution(solution, app), sha256="0" * 64), str(lock_path))
    outcome = obtain(app, solve_options(fx), lock_file=str(lock_path))
    assert outcome.source == "re-solved"
    assert in_provider(fx, locked, outcome.lock.choices["libfoo.so.1"])
    assert read_lock(str(lock_path)) == outcome.lock


def test_lock_takes_one_file(fixture_store: FixtureStore, cache: Path, tmp_path: Path) -> None:
    fx = fixture_store
    apps = [str(fx.apps["foo-v2"]), str(fx.apps["diamond"])]
    done = cli("solve", "--lock", str(tmp_path / "x.lock"), *apps, cache=cache)
    assert done.returncode == 2
    assert done.stderr.startswith("autopatchelf: error: --lock takes one FILE or DIR, got 2")
    done = cli("solve", "--frozen", apps[0], cache=cache)
    assert done.returncode == 2
    assert done.stderr.startswith("autopatchelf: error: --frozen needs --lock FILE")


def test_lock_file_is_deterministic(
    fixture_store: FixtureStore, cache: Path, tmp_path: Path
) -> None:
    fx = fixture_store
    app = str(fx.apps["curl-trixie"])
    first, second = tmp_path / "a.lock", tmp_path / "b.lock"
    for path in (first, second):
        done = cli("solve", *within_args(fx), "--lock", str(path), app, cache=cache)
        assert done.returncode == 0, done.stderr
    assert first.read_bytes() == second.read_bytes()
