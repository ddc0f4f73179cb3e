"""App-tree locks (``autopatchelf.lock/2``): one lock for a directory of binaries solved as
one app. ``solve DIR --lock`` writes it, ``run --lock`` starts any binary of the tree from
it, ``patch --lock DIR`` patches the tree from it; a changed, added or removed binary
makes it stale, and a binary's own lock (``autopatchelf.lock/1``) still loads."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
from fixtures import SCENARIOS, FixtureStore
from ldcheck import run_directly
from runhelp import cli, within_args

import autopatchelf
from autopatchelf.actions.locks.applock import APP_LOCK_SCHEMA, AppLock
from autopatchelf.actions.locks.lock import Lock
from autopatchelf.actions.locks.lockfile import read_lock
from autopatchelf.actions.patching.targets import find_targets
from autopatchelf.errors import LockFileError
from autopatchelf.options import SolveOptions

pytestmark = pytest.mark.nix

#: The tree: the bundled app (bin/app with lib/libbundled.so.1) and two programs that need
#: libfoo.so.1 (foo-v1 would take the older libfoo alone: one provider per soname).
PROGRAMS = ("app", "foo-v1", "foo-v2")


def make_tree(fx: FixtureStore, target: Path) -> Path:
    shutil.copytree(fx.apps["bundled"].parent.parent, target, symlinks=True)
    for directory, _dirs, files in os.walk(target):
        os.chmod(directory, 0o755)
        for name in files:
            os.chmod(os.path.join(directory, name), 0o755)
    for name in ("foo-v1", "foo-v2"):
        shutil.copyfile(fx.apps[name], target / "bin" / name)
        (target / "bin" / name).chmod(0o755)
    return target


def prints(program: str) -> str:
    return SCENARIOS["bundled" if program == "app" else program].prints


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_solve_dir_writes_one_lock_every_binary_runs_from(
    fixture_store: FixtureStore, cache: Path, tmp_path: Path
) -> None:
    fx = fixture_store
    tree = make_tree(fx, tmp_path / "game")
    lock_file = tree / "app.autopatchelf.lock"
    done = cli("solve", *within_args(fx), str(tree), "--lock", str(lock_file), cache=cache)
    assert done.returncode == 0, done.stderr
    assert f"lock written: {lock_file} (4 binaries)" in done.stderr
    doc = json.loads(lock_file.read_text())
    assert doc["schema"] == APP_LOCK_SCHEMA
    assert doc["root"] == "."
    assert [b["path"] for b in doc["binaries"]] == [
        "bin/app", "bin/foo-v1", "bin/foo-v2", "lib/libbundled.so.1",
    ]  # fmt: skip
    # One glibc and one libfoo for the whole app: foo-v2 needs 2.0, so foo-v1 gets it too.
    lock = read_lock(str(lock_file))
    assert isinstance(lock, AppLock)
    assert lock.choices["libfoo.so.1"].endswith("-libfoo-2.0/lib/libfoo.so.1")
    assert lock.choices["libbundled.so.1"] == "$APP/lib/libbundled.so.1"
    assert "$APP/lib" in lock.library_path
    # The tree moves with its lock inside it; every binary starts from the lock alone
    # (--frozen: nothing may be solved).
    moved = tmp_path / "installed" / "game"
    moved.parent.mkdir()
    shutil.move(tree, moved)
    for program in PROGRAMS:
        ran = cli(
            "run", "--frozen", "--lock", str(moved / "app.autopatchelf.lock"),
            str(moved / "bin" / program), cache=cache,
        )  # fmt: skip
        assert ran.returncode == 0, ran.stderr
        assert ran.stdout.strip() == prints(program).replace("libfoo 1.0", "libfoo 2.0")
    # solve DIR --lock again: the lock is used as it is.
    again = cli(
        "solve", "--frozen", *within_args(fx), str(moved), "--lock",
        str(moved / "app.autopatchelf.lock"), "--format", "json", cache=cache,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    roots = [r["root"] for r in json.loads(again.stdout)["roots"]]
    assert roots == [str(moved / "bin" / p) for p in PROGRAMS] + [
        str(moved / "lib" / "libbundled.so.1")
    ]


def test_solve_dir_without_a_lock_solves_the_tree_as_one_app(
    fixture_store: FixtureStore, cache: Path, tmp_path: Path
) -> None:
    fx = fixture_store
    tree = make_tree(fx, tmp_path / "game")
    done = cli("solve", *within_args(fx), str(tree), "--format", "json", cache=cache)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert len(doc["roots"]) == 4
    assert doc["choices"]["libfoo.so.1"].endswith("-libfoo-2.0/lib/libfoo.so.1")
    wrapper = cli("solve", *within_args(fx), str(tree), "--format", "wrapper", cache=cache)
    assert wrapper.returncode == 2
    assert "--format wrapper takes one program, not the directory" in wrapper.stderr
    assert wrapper.stdout == ""


def test_each_entry_is_the_lock_that_binary_alone_would_get(
    fixture_store: FixtureStore, index: object, tmp_path: Path
) -> None:
    fx = fixture_store
    tree = make_tree(fx, tmp_path / "game")
    roots = find_targets([str(tree)]).roots
    solution = autopatchelf.solve(list(roots), SolveOptions(), index=index)  # type: ignore[arg-type]
    app = AppLock.from_solution(solution, str(tree), str(tmp_path / "game.lock"))
    assert app.root == "game"
    assert app.app_root(str(tmp_path / "game.lock")) == str(tree)
    for root in roots:
        entry = app.entry(root, str(tree))
        assert entry is not None
        assert app.binary_lock(entry) == Lock.from_solution(solution, root)
    back = app.to_solution(str(tree))
    assert [r.root for r in back.roots] == [r.root for r in solution.roots]
    assert dict(back.choices) == dict(solution.choices)
    assert back.library_path == solution.library_path


def test_a_changed_binary_is_re_solved_with_its_tree_and_the_others_keep_the_lock(
    fixture_store: FixtureStore, cache: Path, tmp_path: Path
) -> None:
    fx = fixture_store
    tree = make_tree(fx, tmp_path / "game")
    lock_file = tmp_path / "game.autopatchelf.lock"  # beside the tree this time
    done = cli("solve", *within_args(fx), str(tree), "--lock", str(lock_file), cache=cache)
    assert done.returncode == 0, done.stderr
    assert json.loads(lock_file.read_text())["root"] == "game"
    # foo-v2 is replaced by foo-v1: the app no longer needs libfoo 2.0.
    shutil.copyfile(fx.apps["foo-v1"], tree / "bin" / "foo-v2")
    before = lock_file.read_text()
    other = cli(
        "run", "--frozen", "--lock", str(lock_file), str(tree / "bin" / "foo-v1"), cache=cache
    )
    assert other.returncode == 0, other.stderr  # its own entry still holds
    assert lock_file.read_text() == before
    frozen = cli(
        "run", "--frozen", "--lock", str(lock_file), str(tree / "bin" / "foo-v2"), cache=cache
    )
    assert frozen.returncode != 0
    assert "the binary changed since the lock was written" in frozen.stderr
    ran = cli("run", *within_args(fx), "--lock", str(lock_file), str(tree / "bin" / "foo-v2"),
              cache=cache)  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert "re-solved; lock rewritten" in ran.stderr
    assert ran.stdout.strip() == "foo-v1: libfoo 2.0"  # bundled app still needs 2.0
    lock = read_lock(str(lock_file))
    assert isinstance(lock, AppLock)
    entry = lock.entry(str(tree / "bin" / "foo-v2"), str(tree))
    assert entry is not None and entry.sha256 == sha256(tree / "bin" / "foo-v2")
    # A binary outside the tree is refused, in one line.
    outside = cli("run", "--lock", str(lock_file), str(fx.apps["foo-v1"]), cache=cache)
    assert outside.returncode == 2
    assert "is the lock of the app tree" in outside.stderr


def test_an_added_binary_makes_the_tree_lock_stale(
    fixture_store: FixtureStore, cache: Path, tmp_path: Path
) -> None:
    fx = fixture_store
    tree = make_tree(fx, tmp_path / "game")
    lock_file = tree / "app.autopatchelf.lock"
    args = ["solve", *within_args(fx), str(tree), "--lock", str(lock_file)]
    assert cli(*args, cache=cache).returncode == 0
    shutil.copyfile(fx.apps["foo-v1"], tree / "bin" / "extra")
    (tree / "bin" / "extra").chmod(0o755)
    frozen = cli(*args, "--frozen", cache=cache)
    assert frozen.returncode != 0
    assert "bin/extra is new in the tree" in frozen.stderr
    (tree / "bin" / "foo-v1").unlink()
    done = cli(*args, cache=cache)
    assert done.returncode == 0, done.stderr
    assert "re-solved; lock rewritten" in done.stderr
    lock = read_lock(str(lock_file))
    assert isinstance(lock, AppLock)
    assert [b.path for b in lock.binaries] == [
        "bin/app", "bin/extra", "bin/foo-v2", "lib/libbundled.so.1",
    ]  # fmt: skip


def test_patch_lock_dir_patches_the_tree_and_a_copy_from_the_lock_alone(
    fixture_store: FixtureStore, cache: Path, tmp_path: Path
) -> None:
    fx = fixture_store
    tree = make_tree(fx, tmp_path / "first" / "game")
    pristine = tmp_path / "pristine"
    shutil.copytree(tree, pristine, symlinks=True)
    lock_file = tree / "app.autopatchelf.lock"
    done = cli("patch", *within_args(fx), "--lock", str(lock_file), str(tree), cache=cache)
    assert done.returncode == 0, done.stderr
    assert read_lock(str(lock_file)).delivery.value == "runpath"
    for program in ("app", "foo-v2"):
        ran = run_directly(str(tree / "bin" / program), ())
        assert ran.returncode == 0, ran.stderr
        assert ran.stdout.strip() == prints(program)
    # The unpatched tree with the lock shipped inside it, patched elsewhere from the lock
    # alone (--frozen: no solve), comes out byte-identical.
    second = tmp_path / "second" / "game"
    shutil.copytree(pristine, second, symlinks=True)
    shutil.copyfile(lock_file, second / "app.autopatchelf.lock")
    frozen = cli(
        "patch", "--frozen", "--lock", str(second / "app.autopatchelf.lock"), str(second),
        cache=cache,
    )  # fmt: skip
    assert frozen.returncode == 0, frozen.stderr
    for name in ("bin/app", "bin/foo-v1", "bin/foo-v2", "lib/libbundled.so.1"):
        assert sha256(second / name) == sha256(tree / name), name


@pytest.mark.parametrize(
    ("path", "why"),
    [("$APP/../outside/lib", "$APP/../outside/lib leaves the app tree"),
     ("$APP/lib/./x", "$APP/lib/./x leaves the app tree")],
)  # fmt: skip
def test_a_lock_naming_paths_outside_its_tree_is_malformed(
    fixture_store: FixtureStore, cache: Path, tmp_path: Path, path: str, why: str
) -> None:
    fx = fixture_store
    tree = make_tree(fx, tmp_path / "game")
    lock_file = tree / "app.autopatchelf.lock"
    assert cli("solve", *within_args(fx), str(tree), "--lock", str(lock_file),
               cache=cache).returncode == 0  # fmt: skip
    doc = json.loads(lock_file.read_text())
    doc["library_path"] = [path, *doc["library_path"]]
    lock_file.write_text(json.dumps(doc))
    with pytest.raises(LockFileError, match="leaves the app tree"):
        read_lock(str(lock_file))
    ran = cli("run", "--frozen", "--lock", str(lock_file), str(tree / "bin" / "app"),
              cache=cache)  # fmt: skip
    assert ran.returncode != 0
    assert why in ran.stderr
