"""``autopatchelf run``: foreign binaries started through their solution, never patched.

The program replaces the autopatchelf process (exec): its stdout, stdin, exit code and
signals are its own. With a valid lock nothing is indexed or solved.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import attrs
import pytest
from fixtures import SCENARIOS, FixtureStore
from nixutil import nix_build
from runhelp import cli, exec_of, within_args

from autopatchelf.actions import run as runmod
from autopatchelf.actions.locks.locations import cached_path
from autopatchelf.actions.locks.lockfile import read_lock
from autopatchelf.index import StoreIndex
from autopatchelf.solution.model import LoadedLibrary, RootSolution, Solution

TRIXIE_CURL = "curl-trixie"


def sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def run_app(
    fx: FixtureStore, app: str, *args: str, cache: Path, options: tuple[str, ...] = (), **kw: object
) -> subprocess.CompletedProcess[str]:
    return cli("run", *within_args(fx), *options, str(fx.apps[app]), "--", *args, cache=cache, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("app", ["foo-v2", "diamond", TRIXIE_CURL])
def test_run_starts_fixture_apps_unpatched(
    fixture_store: FixtureStore, cache: Path, app: str
) -> None:
    fx = fixture_store
    scenario = SCENARIOS[app]
    before = sha256(fx.apps[app])
    done = run_app(fx, app, *scenario.args, cache=cache)
    assert done.returncode == 0, done.stderr
    assert scenario.prints in done.stdout
    assert done.stderr == ""  # nothing of ours on the program's stderr
    assert sha256(fx.apps[app]) == before
    # The solution is now cached by the binary's hash.
    lock = read_lock(cached_path(before, str(cache)))
    assert lock.sha256 == before


def test_second_run_uses_the_cached_lock(fixture_store: FixtureStore, cache: Path) -> None:
    """With the lock cached, ``run`` works even with the store index unreachable."""
    fx = fixture_store
    first = run_app(fx, "diamond", cache=cache)
    assert first.returncode == 0, first.stderr
    unreachable = ("--store", "/nonexistent/store")
    again = run_app(fx, "diamond", cache=cache, options=unreachable)
    assert again.returncode == 0, again.stderr
    assert SCENARIOS["diamond"].prints in again.stdout
    cold = run_app(fx, "foo-v2", cache=cache, options=unreachable)  # no lock: must solve
    assert cold.returncode == 2
    assert "/nonexistent/store does not exist" in cold.stderr


@pytest.fixture
def index_opens(monkeypatch: pytest.MonkeyPatch) -> list[tuple[object, ...]]:
    calls: list[tuple[object, ...]] = []
    original = StoreIndex.open

    def counting(*args: object, **kwargs: object) -> StoreIndex:
        calls.append(args)
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(StoreIndex, "open", counting)
    return calls


def test_valid_lock_means_no_index_and_no_solve(
    fixture_store: FixtureStore, cache: Path, execs: None, index_opens: list[tuple[object, ...]]
) -> None:
    fx = fixture_store
    app = str(fx.apps["diamond"])
    argv = ["run", *within_args(fx), app, "--", "one", "--two"]
    first = exec_of(argv)
    assert len(index_opens) == 1  # no lock yet: solved (and the lock cached)
    second = exec_of(argv)
    assert len(index_opens) == 1  # the cached lock: the index was not opened again
    assert second.argv == first.argv
    lock = read_lock(cached_path(sha256(app), str(cache)))
    assert second.path == lock.interpreter
    assert second.argv == [
        lock.interpreter,
        "--library-path",
        ":".join(lock.library_path),
        "--argv0",
        app,
        app,
        "one",
        "--two",
    ]
    assert second.env == dict(os.environ)


#: Runs the locked path of ``run`` with the package's own ``__init__`` bypassed (it imports
#: the whole library eagerly): what does the path itself import?
_IMPORTS_OF_LOCKED_RUN = """
import argparse, json, os, sys, types
package = types.ModuleType("autopatchelf")
package.__path__ = [sys.argv[1]]
package.__version__ = "test"
sys.modules["autopatchelf"] = package
from autopatchelf.cli import _run
parser = argparse.ArgumentParser()
_run.configure_parser(parser.add_subparsers(dest="command"))
args = parser.parse_args(["run", sys.argv[2]])
def execve(path, argv, env):
    print(json.dumps({"path": path, "modules": sorted(sys.modules)}))
    os._exit(0)
os.execve = execve
_run.execute(args)
"""


def test_locked_run_imports_nothing_of_the_solving_side(
    fixture_store: FixtureStore, cache: Path
) -> None:
    fx = fixture_store
    app = str(fx.apps["diamond"])
    assert run_app(fx, "diamond", cache=cache).returncode == 0  # the lock is now cached
    package = str(Path(autopatchelf_dir()).resolve())
    env = {**os.environ, "AUTOPATCHELF_CACHE_DIR": str(cache)}
    done = subprocess.run(
        [sys.executable, "-c", _IMPORTS_OF_LOCKED_RUN, package, app],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["path"] == read_lock(cached_path(sha256(app), str(cache))).interpreter
    loaded = [m for m in result["modules"] if m.split(".")[0] in ("pysat", "networkx")]
    ours = {m for m in result["modules"] if m.startswith("autopatchelf.")}
    solving = {m for m in ours if m.startswith(SOLVING_PREFIXES) and m not in RECORDS}
    assert (loaded, solving) == ([], set())


#: Plain records of those packages that a lock's solution holds (the store package's
#: ``__init__`` imports nothing eagerly).
RECORDS = frozenset({"autopatchelf.store", "autopatchelf.store.substitute"})

#: The modules of the solving side: a locked run must load none of them.
SOLVING_PREFIXES = (
    "autopatchelf._api",
    "autopatchelf.index",
    "autopatchelf.store",
    "autopatchelf.sat",
    "autopatchelf.problem",
    "autopatchelf.elf",
    "autopatchelf.solution.solve",
    "autopatchelf.solution.explain",
)


def autopatchelf_dir() -> str:
    import autopatchelf

    return os.path.dirname(autopatchelf.__file__)


def test_nix_ld_mode_execs_the_binary_with_nix_ld_variables(
    fixture_store: FixtureStore, cache: Path, execs: None
) -> None:
    fx = fixture_store
    app = str(fx.apps[TRIXIE_CURL])
    done = exec_of(["run", *within_args(fx), "--nix-ld", app, "--", "--version"])
    lock = read_lock(cached_path(sha256(app), str(cache)))
    assert lock.interpreter is not None
    path = ":".join(lock.library_path)
    assert (done.path, done.argv) == (app, [app, "--version"])
    assert done.env["NIX_LD"] == done.env["NIX_LD_x86_64_linux"] == lock.interpreter
    assert done.env["NIX_LD_LIBRARY_PATH"] == done.env["NIX_LD_LIBRARY_PATH_x86_64_linux"] == path
    assert all(lock.interpreter.startswith(p) for p in [str(fx.path("trixie/libc6"))])
    others = {k: v for k, v in done.env.items() if not k.startswith("NIX_LD")}
    assert others == {k: v for k, v in os.environ.items() if not k.startswith("NIX_LD")}


def test_exit_codes_pass_through(fixture_store: FixtureStore, cache: Path) -> None:
    fx = fixture_store
    bad_option = run_app(fx, TRIXIE_CURL, "--no-such-option", cache=cache)
    assert bad_option.returncode == 2
    assert "curl: option --no-such-option: is unknown" in bad_option.stderr
    unreadable = run_app(fx, TRIXIE_CURL, "-sS", "file:///nonexistent/file", cache=cache)
    assert unreadable.returncode == 37  # CURLE_FILE_COULDNT_READ_FILE: curl's own code
    assert "curl: (37)" in unreadable.stderr


def test_stdin_passes_through(fixture_store: FixtureStore, cache: Path) -> None:
    text = "through stdin\n" * 1000
    done = run_app(fixture_store, TRIXIE_CURL, "-sS", "file:///dev/stdin", cache=cache, stdin=text)
    assert done.returncode == 0, done.stderr
    assert done.stdout == text


def test_the_program_replaces_autopatchelf_and_gets_signals(
    fixture_store: FixtureStore, cache: Path
) -> None:
    fx = fixture_store
    assert run_app(fx, TRIXIE_CURL, "--version", cache=cache).returncode == 0  # cache the lock
    lock = read_lock(cached_path(sha256(fx.apps[TRIXIE_CURL]), str(cache)))
    argv = [sys.executable, "-m", "autopatchelf", "run", str(fx.apps[TRIXIE_CURL])]
    env = {**os.environ, "AUTOPATCHELF_CACHE_DIR": str(cache)}
    with subprocess.Popen(
        [*argv, "--", "-sS", "file:///dev/stdin"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    ) as proc:
        loader = os.path.realpath(str(lock.interpreter))
        deadline = time.monotonic() + 60
        while os.path.realpath(f"/proc/{proc.pid}/exe") != loader:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the program never replaced autopatchelf"
            time.sleep(0.02)
        cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes().split(b"\0")
        assert cmdline[:2] == [str(lock.interpreter).encode(), b"--library-path"]
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGTERM


def test_stale_cached_lock_is_resolved(fixture_store: FixtureStore, cache: Path) -> None:
    fx = fixture_store
    app = fx.apps["foo-v2"]
    assert run_app(fx, "foo-v2", cache=cache).returncode == 0
    cached = Path(cached_path(sha256(app), str(cache)))
    doc = json.loads(cached.read_text())
    doc["store_paths"].append("/nix/store/00000000000000000000000000000000-gone-1.0")
    cached.write_text(json.dumps(doc))
    done = run_app(fx, "foo-v2", cache=cache)
    assert done.returncode == 0, done.stderr
    assert SCENARIOS["foo-v2"].prints in done.stdout
    assert f"lock {cached} is stale: store path /nix/store/0000" in done.stderr
    assert "does not exist (garbage-collected?)" in done.stderr
    assert f"re-solved; lock rewritten: {cached}" in done.stderr
    assert "/nix/store/00000000000000000000000000000000-gone-1.0" not in cached.read_text()


def test_frozen_run_refuses_a_stale_or_missing_lock(
    fixture_store: FixtureStore, cache: Path, tmp_path: Path
) -> None:
    fx = fixture_store
    app = str(fx.apps["foo-v2"])
    lock_path = tmp_path / "foo.lock"
    missing = run_app(fx, "foo-v2", cache=cache, options=("--frozen", "--lock", str(lock_path)))
    assert missing.returncode == 2
    assert missing.stdout == ""
    assert missing.stderr.startswith(f"autopatchelf: error: {app}: no lock found")
    made = run_app(fx, "foo-v2", cache=cache, options=("--lock", str(lock_path)))
    assert made.returncode == 0, made.stderr
    lock_path.write_text(lock_path.read_text().replace(sha256(app), "e" * 64))
    stale = run_app(fx, "foo-v2", cache=cache, options=("--frozen", "--lock", str(lock_path)))
    assert stale.returncode == 2
    assert stale.stdout == ""
    (line,) = stale.stderr.splitlines()
    assert f"lock {lock_path} is stale: the binary changed since the lock was written" in line


def test_shipped_lock_beside_a_moved_tree(
    fixture_store: FixtureStore, cache: Path, tmp_path: Path
) -> None:
    """A lock shipped beside the binary names its bundled libraries relative to it."""
    fx = fixture_store
    tree = tmp_path / "built"
    shutil.copytree(fx.apps["bundled"].parent.parent, tree, symlinks=True)
    binary = tree / "bin" / "app"
    shipped = Path(f"{binary}.autopatchelf.lock")
    done = cli("solve", *within_args(fx), "--lock", str(shipped), str(binary), cache=cache)
    assert done.returncode == 0, done.stderr
    assert "$ORIGIN/../lib" in read_lock(str(shipped)).library_path
    moved = tmp_path / "installed"
    shutil.move(tree, moved)
    ran = cli(
        "run",
        "--store",
        "/nonexistent/store",  # solving would fail: the shipped lock must be used
        "--no-lock-cache",
        str(moved / "bin" / "app"),
        cache=cache,
    )
    assert ran.returncode == 0, ran.stderr
    assert SCENARIOS["bundled"].prints in ran.stdout


def test_unsatisfiable_run_explains_on_stderr(fixture_store: FixtureStore, cache: Path) -> None:
    done = run_app(fixture_store, "foo-unsat", cache=cache)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.startswith("no solution:")


def test_run_of_a_missing_binary_is_one_line(tmp_path: Path) -> None:
    done = cli("run", str(tmp_path / "nothing"), cache=tmp_path / "cache")
    assert done.returncode == 2
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"autopatchelf: error: {tmp_path / 'nothing'}: cannot be read")


LIBFOO_SO2 = r"""
derivation {
  name = "libfoo-4.0";
  system = builtins.currentSystem;
  builder = "/bin/sh";
  salt = "run-link-dir";
  args = [ "-c" ''
    export PATH=/usr/bin:/bin
    mkdir -p $out/lib
    gcc -shared -fPIC -o $out/lib/libfoo.so.2 ${@SRC@/libfoo.c} -D'FOO_RELEASE="4.0"' \
      -Wl,-soname,libfoo.so.2 -Wl,--version-script=${@SRC@/libfoo-2.0.map} \
      -Wl,--no-as-needed @GLIBC@/libc.so.6 -Wl,--enable-new-dtags,-rpath,@GLIBC@
  '' ];
}
"""


def test_substituted_soname_runs_through_a_link_dir(
    fixture_store: FixtureStore, cache: Path, tmp_path: Path
) -> None:
    """libfoo.so.2 standing in for libfoo.so.1: only a directory of links serves the
    unpatched binary, made under the cache dir and reused by the next run."""
    fx = fixture_store
    src = Path(__file__).parent / "fixtures" / "src"
    glibc = fx.path("glibc-host") / "lib"
    expr = LIBFOO_SO2.replace("@SRC@", str(src)).replace("@GLIBC@", str(glibc))
    (libfoo4,) = nix_build(expr, tmp_path)
    app = str(fx.apps["foo-v2"])
    within = ("--within", libfoo4, "--within", str(fx.path("glibc-host")))
    first = cli("run", *within, "--allow-substitution", app, cache=cache)
    assert first.returncode == 0, first.stderr
    assert "foo-v2: libfoo 4.0 foo_new@4.0" in first.stdout
    lock = read_lock(cached_path(sha256(fx.apps["foo-v2"]), str(cache)))
    assert lock.needs_link_dir
    assert lock.substitutions == {"libfoo.so.1": "libfoo.so.2"}
    (links,) = (cache / "links").iterdir()
    assert os.readlink(links / "libfoo.so.1") == f"{libfoo4}/lib/libfoo.so.2"
    again = cli("run", "--store", "/nonexistent/store", app, cache=cache)
    assert again.returncode == 0, again.stderr
    assert "foo-v2: libfoo 4.0" in again.stdout
    assert list((cache / "links").iterdir()) == [links]


# -- link dirs (no Nix needed) -----------------------------------------------------------


def test_link_dir_is_made_once_and_handed_to_the_loader(tmp_path: Path) -> None:
    libs = tmp_path / "store" / "libs"
    libs.mkdir(parents=True)
    for name in ("liba.so.1", "libb.so.1"):
        (libs / name).write_text("")
    root = str(tmp_path / "app")
    solution = Solution(
        roots=(
            RootSolution(
                root,
                "/lib64/ld-linux-x86-64.so.2",
                (LoadedLibrary("liba.so.1", str(libs / "liba.so.1"), str(libs), root),),
            ),
        ),
        glibc=None,
        interpreter="/lib64/ld-linux-x86-64.so.2",
        store_paths=(str(libs),),
        choices={"liba.so.1": str(libs / "liba.so.1"), "libb.so.1": str(libs / "libb.so.1")},
        library_path=(),
        needs_link_dir=True,
        runpath=(),
        warnings=(),
        alternatives=(),
        glibc_policy="strict",
    )
    directory = runmod.default_link_dir(solution, str(tmp_path / "cache"))
    assert directory.startswith(str(tmp_path / "cache" / "links") + "/")
    runmod.ensure_link_dir(solution, directory)
    assert {n: os.readlink(Path(directory, n)) for n in os.listdir(directory)} == solution.choices
    inode = os.stat(directory).st_ino
    runmod.ensure_link_dir(solution, directory)
    assert os.stat(directory).st_ino == inode  # already right: kept
    changed = attrs.evolve(solution, choices={"liba.so.1": str(libs / "liba.so.1")})
    runmod.ensure_link_dir(changed, directory)
    assert os.listdir(directory) == ["liba.so.1"]
    plan = runmod.loader_plan(solution, root, ["x"], {"A": "1"}, link_dir=directory)
    assert plan.argv == (
        "/lib64/ld-linux-x86-64.so.2",
        "--library-path",
        directory,
        "--argv0",
        root,
        root,
        "x",
    )
    assert (plan.executable, plan.env, plan.mode) == (plan.argv[0], {"A": "1"}, "loader")
    ld = runmod.nix_ld_plan(solution, root, [], {}, system="x86_64-linux", link_dir=directory)
    assert ld.env["NIX_LD_LIBRARY_PATH"] == ld.env["NIX_LD_LIBRARY_PATH_x86_64_linux"] == directory
