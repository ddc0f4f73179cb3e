"""Hostile and careless input, end to end through the CLI, against the real store and ld.so.

Each test is a regression test for one finding of the hardening review (issue 9): what we
print for ``eval`` cannot execute, every input gets a clear answer with a documented exit
code (0, 1 no solution, 2 input; never a traceback or 70), names from files are escaped
per format, locks cannot point a run outside the store, and what could not be read, or
would cost gigabytes to read, is refused with one line.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import stat
import struct
import subprocess
import sys
import time
import xml.dom.minidom
from pathlib import Path

import pytest
from fixtures import FixtureStore
from prerequisites import need
from runhelp import cli, within_args

from autopatchelf.actions.patching.atomic import TEMP_SUFFIX

pytestmark = pytest.mark.nix

#: Shell code that must never run: each would create a file named after it.
SHELL_CODE = ("$(touch PWNED1)", "`touch PWNED2`", "; touch PWNED3;", "'$(touch PWNED4)'")


def writable_copy(source: Path, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    target.chmod(0o755)
    return target


def add_needed(program: Path, *names: str | bytes) -> Path:
    need("patchelf")
    for name in names:
        raw = name if isinstance(name, bytes) else name.encode()
        subprocess.run([b"patchelf", b"--add-needed", raw, bytes(program)], check=True)
    return program


def copy_tree(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, symlinks=True)
    for directory, _dirs, files in os.walk(target):
        os.chmod(directory, 0o755)
        for name in files:
            os.chmod(os.path.join(directory, name), 0o755)
    return target


def no_traceback(done: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode in (0, 1, 2), (done.returncode, done.stderr)


def pwned(*directories: Path) -> list[str]:
    return sorted(str(p) for d in directories if d.exists() for p in d.rglob("PWNED*"))


def compile_c(source: str, target: Path, *flags: str) -> Path:
    need("gcc")
    c_file = target.with_suffix(".c")
    c_file.write_text(source)
    subprocess.run(["gcc", *flags, "-o", str(target), str(c_file)], check=True)
    return target


def eval_env(stdout: str, cwd: Path) -> dict[str, str]:
    """The variables ``eval "$(solve --format env)"`` sets in bash, exactly."""
    script = (
        'eval "$1"; for v in NIX_LD NIX_LD_LIBRARY_PATH; do printf "%s=%s\\0" "$v" "${!v}"; done'
    )
    done = subprocess.run(
        ["bash", "-c", script, "bash", stdout], cwd=cwd, capture_output=True, check=True
    )
    pairs = [p.decode("utf-8", "surrogateescape") for p in done.stdout.split(b"\0") if p]
    return dict(p.split("=", 1) for p in pairs)


# -- nothing printed for eval may execute --------------------------------------------------


def test_env_of_an_unsolvable_hostile_binary_prints_nothing_to_eval(
    fixture_store: FixtureStore, cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fx = fixture_store
    monkeypatch.chdir(tmp_path)
    evil = add_needed(
        writable_copy(fx.apps["foo-v2"], tmp_path / "evil"),
        *(f"lib{code}.so.1" for code in SHELL_CODE),
    )
    done = cli("solve", *within_args(fx), "./evil", "--format", "env", cache=cache, env={})
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""  # the explanation (with those names) is on stderr only
    assert "lib$(touch PWNED1).so.1" in done.stderr
    # The documented use, in a real shell, from the binary's directory.
    command = f"{sys.executable} -m autopatchelf solve ./evil --format env " + " ".join(
        within_args(fx)
    )
    subprocess.run(
        ["bash", "-c", f'eval "$({command} 2>/dev/null)"'],
        cwd=tmp_path,
        env={**os.environ, "AUTOPATCHELF_CACHE_DIR": str(cache)},
        check=False,
    )
    assert pwned(tmp_path) == []
    assert evil.exists()


@pytest.mark.parametrize("needs_link_dir", [False, True], ids=["plain", "link-dir"])
def test_env_round_trips_hostile_paths_through_eval_and_ld_so(
    fixture_store: FixtureStore, cache: Path, tmp_path: Path, needs_link_dir: bool
) -> None:
    """Quotes, spaces, backticks, $( ), ; and a newline in the binary's path, its bundled
    dir, its RUNPATH and the link dir: eval sets exactly those strings, runs nothing, and
    ld.so started with them loads the chosen files."""
    need("patchelf")
    fx = fixture_store
    tree = copy_tree(fx.paths["bundled-app"], tmp_path / "ap p'\"$(touch PWNED1)`x`\ny")
    # ';' and '$' cannot stand in a library path (ld.so would split or expand them): such a
    # directory is served through a link dir. Quotes, backticks and newlines can.
    lib_name = "li b;$(touch PWNED2)" if needs_link_dir else "li b'`touch PWNED2`\n"
    (tree / "lib").rename(tree / lib_name)
    program = tree / "bin" / "app"
    subprocess.run(
        [b"patchelf", b"--set-rpath", f"$ORIGIN/../{lib_name}".encode(), bytes(program)],
        check=True,
    )
    link_dir = tmp_path / "l'ink $(touch PWNED3)"
    args = ["solve", *within_args(fx), str(program), "--format", "env"]
    if needs_link_dir:
        refused = cli(*args, cache=cache)
        assert refused.returncode == 2 and refused.stdout == ""
        assert "--link-dir" in refused.stderr
        args += ["--link-dir", str(link_dir)]
    done = cli(*args, cache=cache)
    assert done.returncode == 0, done.stderr
    variables = eval_env(done.stdout, tmp_path)
    assert pwned(tmp_path) == []
    solution = json.loads(cli(*args[:-2], "--format", "json", cache=cache).stdout)
    assert variables["NIX_LD"] == solution["interpreter"]
    expected = (
        str(link_dir)
        if needs_link_dir
        else f"{tree / lib_name}:" + ":".join(solution["library_path"])
    )
    if not needs_link_dir:
        assert variables["NIX_LD_LIBRARY_PATH"].split(":")[0] == str(tree / lib_name)
        expected = variables["NIX_LD_LIBRARY_PATH"]
        assert all(p.startswith("/nix/store/") for p in expected.split(":")[1:])
    assert variables["NIX_LD_LIBRARY_PATH"] == expected
    ran = subprocess.run(
        [variables["NIX_LD"], "--library-path", variables["NIX_LD_LIBRARY_PATH"], str(program)],
        capture_output=True,
        text=True,
        env={"LD_BIND_NOW": "1", "LD_DEBUG": "libs"},
        check=False,
    )
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert "bundled: libbundled-1.0" in ran.stdout
    inits = [line.split("calling init: ", 1)[1] for line in ran.stderr.splitlines()
             if "calling init: " in line]  # fmt: skip
    libc = next(p for p in inits if p.endswith("/libc.so.6"))
    assert os.path.realpath(libc).startswith("/nix/store/")
    assert pwned(tmp_path) == []


def test_explanations_name_the_binary_as_the_user_gave_it(
    fixture_store: FixtureStore, cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fx = fixture_store
    store_binary = str(fx.apps["glibc-unsat"])
    done = cli("solve", *within_args(fx), store_binary, cache=cache)
    assert done.returncode == 1
    assert f"Because {store_binary} needs" in done.stdout
    assert "./glibc-unsat" not in done.stdout
    (tmp_path / "given-name").symlink_to(store_binary)
    monkeypatch.chdir(tmp_path)
    named = cli("solve", *within_args(fx), "given-name", cache=cache)
    assert "Because given-name needs" in named.stdout


# -- every input gets a clear answer ------------------------------------------------------

STATIC_SOURCE = "int main(void) { return 7; }\n"


def test_run_refuses_objects_and_libraries_and_starts_static_programs(
    fixture_store: FixtureStore, cache: Path, tmp_path: Path
) -> None:
    fx = fixture_store
    static = compile_c(STATIC_SOURCE, tmp_path / "static", "-static")
    obj = compile_c(STATIC_SOURCE, tmp_path / "object.o", "-c")
    started = cli("run", *within_args(fx), str(static), "--", cache=cache)
    assert started.returncode == 7  # the program's own exit code: it ran
    assert started.stderr == (
        f"autopatchelf: {static} is statically linked: it needs no shared library; "
        "starting it directly\n"
    )
    library = fx.paths["libfoo-2.0"] / "lib" / "libfoo.so.1"
    for target, why in ((obj, "not loaded by ld.so"), (library, "is a shared library")):
        done = cli("run", *within_args(fx), str(target), "--", cache=cache)
        assert done.returncode == 2, done.stderr
        (line,) = done.stderr.splitlines()
        assert line.startswith("autopatchelf: error: ") and why in line


def test_solve_and_check_agree_on_files_that_need_nothing(
    fixture_store: FixtureStore, cache: Path, tmp_path: Path
) -> None:
    fx = fixture_store
    tree = tmp_path / "tree"
    tree.mkdir()
    static = compile_c(STATIC_SOURCE, tree / "static", "-static")
    obj = compile_c(STATIC_SOURCE, tree / "object.o", "-c")
    for target, reason in ((static, "statically linked"), (obj, "not loaded by ld.so")):
        text = cli("solve", *within_args(fx), str(target), cache=cache)
        assert text.returncode == 0, text.stderr
        assert text.stdout.startswith(f"nothing to solve: {target} is ") and reason in text.stdout
        document = json.loads(cli("solve", *within_args(fx), str(target), "--format", "json",
                                  cache=cache).stdout)  # fmt: skip
        assert reason in document["nothing_to_solve"][str(target)]
        assert document["roots"] == []
        env = cli("solve", *within_args(fx), str(target), "--format", "env", cache=cache)
        assert env.returncode == 0 and env.stdout == ""
    for c_file in tree.glob("*.c"):
        c_file.unlink()
    checked = cli("check", *within_args(fx), str(tree), "--format", "json", cache=cache)
    assert checked.returncode == 0, checked.stdout
    verdicts = {b["path"]: (b["role"], b["status"]) for b in json.loads(checked.stdout)["binaries"]}
    assert verdicts == {"static": ("static", "ok"), "object.o": ("other", "skipped")}


def test_run_takes_its_options_before_dashdash_and_will_not_guess_without(
    fixture_store: FixtureStore, cache: Path
) -> None:
    fx = fixture_store
    app = str(fx.apps["glibc-unsat"])
    unsat = cli("run", *within_args(fx), app, "--", cache=cache)
    assert unsat.returncode == 1
    assert "--glibc compatible" in unsat.stderr
    assert "autopatchelf run [OPTIONS] BINARY [OPTIONS --] [ARGS...]" in unsat.stderr
    ours = cli("run", app, *within_args(fx), "--glibc", "compatible", "--", cache=cache)
    assert ours.returncode == 0, ours.stderr
    assert "glibc-unsat:" in ours.stdout
    for flags in (["--glibc", "compatible"], ["--within", str(fx.paths["libfoo-2.0"])]):
        guessed = cli("run", *within_args(fx), app, *flags, cache=cache)
        assert guessed.returncode == 2
        assert guessed.stdout == ""  # the program did not run
        (line,) = guessed.stderr.splitlines()
        assert f"{flags[0]} after BINARY is an autopatchelf option" in line
        assert f"autopatchelf run {app} {flags[0]} {flags[1]} -- [ARGS...]" in line


def test_check_of_a_tree_without_elf_files_fails_unless_allowed(
    fixture_store: FixtureStore, cache: Path, tmp_path: Path
) -> None:
    (tmp_path / "README").write_text("not ELF\n")
    done = cli("check", *within_args(fixture_store), str(tmp_path), cache=cache)
    assert done.returncode == 2
    assert done.stderr.startswith(f"autopatchelf: error: no ELF files under {tmp_path}")
    allowed = cli("check", *within_args(fixture_store), str(tmp_path), "--allow-empty",
                  cache=cache)  # fmt: skip
    assert allowed.returncode == 0, allowed.stderr


def test_check_states_each_problem_once_with_closest_names_of_the_same_library(
    fixture_store: FixtureStore, cache: Path, tmp_path: Path
) -> None:
    fx = fixture_store
    tree = tmp_path / "tree"
    add_needed(writable_copy(fx.apps["foo-v2"], tree / "x11"), "libX11.so.6")
    add_needed(writable_copy(fx.apps["foo-v2"], tree / "foo7"), "libfoo.so.7")
    writable_copy(fx.apps["foo-v2"], tree / "fine")
    done = cli("check", *within_args(fx), str(tree), cache=cache)
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    x11 = [line for line in lines if "libX11.so.6" in line]
    assert len(x11) == 1, x11
    assert "closest" not in x11[0]  # no libX11 of another version: libm.so.6 is no help
    (foo7,) = [line for line in lines if "libfoo.so.7" in line]
    assert "closest: libfoo.so.1" in foo7 and "libc.so.6" not in foo7.partition("closest")[2]
    assert lines[-1].startswith("autopatchelf check: 2 new problems: 2 failed, 1 ok")
    assert "solved as 3 units" in lines[-1]
    quiet = cli("check", *within_args(fx), str(tree), "-q", cache=cache).stdout
    assert " fine" not in quiet and quiet.count("FAIL") == 2
    verbose = cli("check", *within_args(fx), str(tree), "-v", cache=cache).stdout
    assert "Because x11 needs libX11.so.6" in verbose or "needs libX11.so.6, and" in verbose


def test_wrong_architecture_solve_says_what_check_says(
    fixture_store: FixtureStore, cache: Path, tmp_path: Path
) -> None:
    need("gcc", "gcc -m32")
    fx = fixture_store
    tree = tmp_path / "tree"
    tree.mkdir()
    program = compile_c(STATIC_SOURCE, tree / "app32", "-m32")
    (tree / "app32.c").unlink()
    solved = cli("solve", *within_args(fx), str(program), cache=cache)
    assert solved.returncode == 1
    assert "it is built for i386 (32-bit), and every glibc in the store is for x86-64" in (
        solved.stdout
    )
    assert "closest" not in solved.stdout and "similar" not in solved.stdout
    assert "pkgsi686Linux" in solved.stderr
    checked = cli("check", *within_args(fx), str(tree), cache=cache)
    assert "wrong-architecture: is built for i386 (32-bit)" in checked.stdout
    assert "pkgsi686Linux" in checked.stdout


def test_prefer_and_avoid_that_match_nothing_are_warnings(
    fixture_store: FixtureStore, cache: Path
) -> None:
    fx = fixture_store
    app = str(fx.apps["foo-v2"])
    done = cli("solve", *within_args(fx), app, "--prefer", "libfooo", "--avoid", "libfoo-9",
               "--prefer", "libfoo-2", cache=cache)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "warning: --prefer libfooo matches no candidate provider" in done.stdout
    assert "warning: --avoid libfoo-9 matches no candidate provider" in done.stdout
    assert "libfoo-2 matches" not in done.stdout  # a version prefix that does match
    env = cli("solve", *within_args(fx), app, "--prefer", "libfooo", "--format", "env",
              cache=cache)  # fmt: skip
    assert "warning: --prefer libfooo" in env.stderr and "warning" not in env.stdout


def test_unusable_or_corrupt_cache_is_said_once(
    fixture_store: FixtureStore, cache: Path, tmp_path: Path
) -> None:
    fx = fixture_store
    app = str(fx.apps["foo-v2"])
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    unusable = cli("solve", *within_args(fx), app, "--cache-dir", str(blocker / "sub"),
                   cache=cache)  # fmt: skip
    assert unusable.returncode == 0, unusable.stderr
    assert f"warning: cache dir {blocker / 'sub'} is unusable (Not a directory)" in unusable.stdout
    assert "None" not in unusable.stdout + unusable.stderr
    (sqlite,) = cache.glob("index-*.sqlite")
    for suffix in ("-wal", "-shm"):
        Path(f"{sqlite}{suffix}").unlink(missing_ok=True)
    sqlite.write_bytes(os.urandom(4096))
    first = cli("solve", *within_args(fx), app, cache=cache)
    assert first.returncode == 0, first.stderr
    assert f"warning: index cache {sqlite} was corrupt" in first.stdout
    again = cli("solve", *within_args(fx), app, cache=cache)
    assert "warning" not in again.stdout + again.stderr  # rebuilt: said once


def test_lock_in_a_missing_directory_is_refused_and_nothing_is_created(
    fixture_store: FixtureStore, cache: Path, tmp_path: Path
) -> None:
    target = tmp_path / "missing" / "dir" / "x.lock"
    done = cli("solve", *within_args(fixture_store), str(fixture_store.apps["foo-v2"]),
               "--lock", str(target), cache=cache)  # fmt: skip
    assert done.returncode == 2
    (line,) = done.stderr.splitlines()
    assert f"{target.parent} is not a directory" in line
    assert not (tmp_path / "missing").exists()


def test_substitution_asks_for_the_providers_soname_and_runs_with_a_plain_runpath(
    fixture_store: FixtureStore, tmp_path: Path
) -> None:
    """The provider's file is libfoo.so.2.0.1 (DT_SONAME libfoo.so.2, with its link):
    the program is patched to need libfoo.so.2, which its RUNPATH finds."""
    from nixutil import nix_build

    fx = fixture_store
    glibc = fx.path("glibc-host") / "lib"
    src = Path(__file__).parent / "fixtures" / "src"
    (out,) = nix_build(
        f"""
derivation {{
  name = "libfoo-4.1"; system = builtins.currentSystem; builder = "/bin/sh";
  salt = "hardening-soname";
  args = [ "-c" ''
    export PATH=/usr/bin:/bin
    mkdir -p $out/lib
    gcc -shared -fPIC -o $out/lib/libfoo.so.2.0.1 ${{{src / "libfoo.c"}}} \\
      -D'FOO_RELEASE="4.1"' -Wl,-soname,libfoo.so.2 \\
      -Wl,--version-script=${{{src / "libfoo-2.0.map"}}} \\
      -Wl,--no-as-needed {glibc}/libc.so.6 -Wl,--enable-new-dtags,-rpath,{glibc}
    ln -s libfoo.so.2.0.1 $out/lib/libfoo.so.2
  '' ];
}}""",
        tmp_path,
    )
    program = writable_copy(fx.apps["foo-v2"], tmp_path / "bin" / "foo-v2")
    done = subprocess.run(
        [sys.executable, "-m", "autopatchelf", "patch", "--allow-substitution",
         "--within", out, "--within", str(fx.path("glibc-host")), "--system", out,
         "--cache-dir", str(tmp_path / "cache"), str(program)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    from autopatchelf.elf.facts import ElfFacts

    facts = ElfFacts.read(str(program))
    assert "libfoo.so.2" in facts.needed and "libfoo.so.2.0.1" not in facts.needed
    assert facts.runpath is not None and "link" not in facts.runpath
    ran = subprocess.run([str(program)], capture_output=True, text=True,
                         env={"LD_BIND_NOW": "1"}, check=False)  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert "libfoo 4.1" in ran.stdout


# -- found by the attack campaign ---------------------------------------------------------


def test_a_colon_in_a_bundled_dir_never_splits_the_library_path(
    fixture_store: FixtureStore, cache: Path, tmp_path: Path
) -> None:
    """``app:`` + ``/lib`` would read as ``…/app`` and the host's ``/lib``: the host libc."""
    fx = fixture_store
    tree = copy_tree(fx.paths["bundled-app"], tmp_path / "app:")
    program = tree / "bin" / "app"
    link_dir = tmp_path / "links"
    done = cli("solve", *within_args(fx), str(program), "--format", "env",
               "--link-dir", str(link_dir), cache=cache)  # fmt: skip
    assert done.returncode == 0, done.stderr
    variables = eval_env(done.stdout, tmp_path)
    for entry in variables["NIX_LD_LIBRARY_PATH"].split(":"):
        assert entry == str(link_dir) or entry.startswith("/nix/store/"), entry
    ran = cli("run", *within_args(fx), str(program), "--", cache=cache,
              env={"LD_DEBUG": "libs", "LD_BIND_NOW": "1"})  # fmt: skip
    assert ran.returncode == 0, ran.stderr[-2000:]
    # LD_DEBUG traced autopatchelf itself too: the program's part starts where ld.so
    # first looks for the bundled library, which Python never needs.
    program_part = ran.stderr[ran.stderr.index("find library=libbundled.so.1") :]
    inits = [os.path.realpath(line.split("calling init: ", 1)[1])
             for line in program_part.splitlines() if "calling init: " in line]  # fmt: skip
    assert inits and all(p.startswith(("/nix/store/", str(tree))) for p in inits), inits


def _tampered(lock: dict[str, object], **changes: object) -> dict[str, object]:
    return {**lock, **changes}


def test_a_tampered_lock_never_starts_anything_outside_the_store(
    fixture_store: FixtureStore, cache: Path, tmp_path: Path
) -> None:
    fx = fixture_store
    program = writable_copy(fx.apps["foo-v2"], tmp_path / "foo")
    lock_file = tmp_path / "foo.lock"
    made = cli("solve", *within_args(fx), str(program), "--lock", str(lock_file), cache=cache)
    assert made.returncode == 0, made.stderr
    lock = json.loads(lock_file.read_text())
    marker = tmp_path / "MARK"
    evil = tmp_path / "evil" / "ld.so"
    evil.parent.mkdir()
    evil.write_text(f"#!/bin/sh\ntouch {marker}\n")
    evil.chmod(0o755)
    glibc = lock["glibc"]
    libfoo = lock["choices"]["libfoo.so.1"]  # type: ignore[index]
    libc = lock["choices"]["libc.so.6"]  # type: ignore[index]
    depth = "/".join([".."] * (len(Path(glibc).parts) - 1))  # type: ignore[arg-type]
    attacks = {
        "dot-dot interpreter": _tampered(lock, interpreter=f"{glibc}/{depth}{evil}"),
        "interpreter not the loader": _tampered(lock, interpreter=libfoo),
        "library path outside": _tampered(lock, library_path=[str(evil.parent)]),
        "store paths widened": _tampered(
            lock,
            store_paths=[*lock["store_paths"], str(tmp_path)],  # type: ignore[list-item]
            interpreter=str(evil),
        ),
        "mapping to another library": _tampered(
            lock,
            choices={**lock["choices"], "libfoo.so.1": libc},  # type: ignore[dict-item]
        ),
    }
    beside = tmp_path / "foo.autopatchelf.lock"
    for name, document in attacks.items():
        lock_file.write_text(json.dumps(document))
        frozen = cli("run", "--frozen", "--lock", str(lock_file), "--no-lock-cache",
                     str(program), "--", cache=cache)  # fmt: skip
        assert frozen.returncode == 2, (name, frozen.stderr)
        assert frozen.stdout == "", name
        (line,) = frozen.stderr.splitlines()
        assert "stale" in line or "invalid" in line, (name, line)
        # Shipped beside the binary (used with no flag): not trusted either; re-solved.
        beside.write_text(json.dumps(document))
        shipped = cli("run", "--no-lock-cache", *within_args(fx), str(program), "--",
                      cache=cache)  # fmt: skip
        assert shipped.returncode == 0, (name, shipped.stderr)
        assert "foo-v2: libfoo 2.0" in shipped.stdout
        assert f"lock {beside} is stale" in shipped.stderr, name
        assert not marker.exists(), name


@pytest.mark.parametrize("encoding", ["utf-8", "ascii"])
def test_undecodable_bytes_in_names_are_escaped_in_every_format(
    fixture_store: FixtureStore, cache: Path, tmp_path: Path, encoding: str
) -> None:
    fx = fixture_store
    tree = tmp_path / "tree"
    add_needed(writable_copy(fx.apps["foo-v2"], tree / "bytes"), b"lib\xff\xfe\xe9.so.1")
    env = {"PYTHONIOENCODING": encoding, "LC_ALL": "C"}
    outputs = {}
    for fmt in ("text", "json", "junit", "sarif"):
        done = cli("check", *within_args(fx), str(tree), "--format", fmt, cache=cache, env=env)
        assert done.returncode == 1, (fmt, done.stderr)
        assert done.stderr == "", fmt
        outputs[fmt] = done.stdout
    assert "lib\\xff\\xfe\\xe9.so.1" in outputs["text"]
    assert json.loads(outputs["json"])["binaries"][0]["problems"][0]["subject"] == (
        "lib\udcff\udcfe\udce9.so.1"
    )
    sarif = json.loads(outputs["sarif"])
    assert sarif["runs"][0]["results"]
    testsuites = xml.dom.minidom.parseString(outputs["junit"].encode())  # well-formed
    assert testsuites.getElementsByTagName("failure")
    for fmt in ("text", "json", "env"):
        solved = cli("solve", *within_args(fx), str(tree / "bytes"), "--format", fmt,
                     cache=cache, env=env)  # fmt: skip
        assert solved.returncode == 1, (fmt, solved.stderr)
        no_traceback(solved)


def test_control_bytes_in_names_cannot_forge_lines_or_colours(
    fixture_store: FixtureStore, cache: Path, tmp_path: Path
) -> None:
    fx = fixture_store
    tree = tmp_path / "tree"
    forged = "libx.so.1\n  ok    forged\x1b[2J\x1b]0;title\x07\u202e"
    add_needed(writable_copy(fx.apps["foo-v2"], tree / "ansi"), forged)
    for command in (["check", str(tree)], ["check", str(tree), "-v"],
                    ["solve", str(tree / "ansi")]):  # fmt: skip
        done = cli(command[0], *within_args(fx), *command[1:], cache=cache)
        assert done.returncode == 1
        for stream in (done.stdout, done.stderr):
            assert not any(c in stream for c in "\x1b\x07\u202e"), command
            assert not any(line.startswith("  ok    forged") for line in stream.splitlines())
        assert "libx.so.1\\n  ok    forged\\x1b[2J" in done.stdout


def test_check_fails_on_what_it_could_not_read(
    fixture_store: FixtureStore, cache: Path, tmp_path: Path
) -> None:
    """As root, the files are made unreadable by dropping the capabilities that bypass
    permissions (setpriv, util-linux); as another user, the mode bits suffice."""
    fx = fixture_store
    tree = tmp_path / "tree"
    writable_copy(fx.apps["foo-v2"], tree / "readable")
    writable_copy(fx.apps["foo-v2"], tree / "secret").chmod(0)
    writable_copy(fx.apps["foo-v2"], tree / "closed" / "inside")
    (tree / "closed").chmod(0)
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        assert setpriv is not None, "setpriv (util-linux) is part of every Debian system"
        prefix = [setpriv, "--bounding-set=-dac_override,-dac_read_search", "--"]
    try:
        base = [*prefix, sys.executable, "-m", "autopatchelf", "check", *within_args(fx), str(tree)]
        env = {**os.environ, "AUTOPATCHELF_CACHE_DIR": str(cache)}
        done = subprocess.run([*base, "--format", "json"], capture_output=True, text=True,
                              env=env, check=False)  # fmt: skip
        assert done.returncode == 1, done.stderr
        document = json.loads(done.stdout)
        assert document["passed"] is False
        assert document["summary"]["unreadable"] == 2
        assert {u["path"] for u in document["unreadable"]} == {
            str(tree / "secret"),
            str(tree / "closed"),
        }
        text = subprocess.run(base, capture_output=True, text=True, env=env, check=False)
        assert "not read (2), so not checked:" in text.stdout
        allowed = subprocess.run([*base, "--allow-unreadable"], capture_output=True, text=True,
                                 env=env, check=False)  # fmt: skip
        assert allowed.returncode == 0, allowed.stdout
    finally:
        (tree / "closed").chmod(0o755)


def _sparse_with_dynamic(source: Path, target: Path, dynamic_bytes: int, fill: bool) -> Path:
    """A copy of ``source`` whose PT_DYNAMIC claims ``dynamic_bytes``; the file is extended
    (sparsely) to hold them. ``fill``: overwrite its entries with DT_DEBUG, so there is no
    DT_NULL, up to 2 MiB."""
    data = bytearray(source.read_bytes())
    phoff = struct.unpack_from("<Q", data, 0x20)[0]
    (phnum,) = struct.unpack_from("<H", data, 0x38)
    for index in range(phnum):
        entry = phoff + 56 * index
        if struct.unpack_from("<I", data, entry)[0] == 2:  # PT_DYNAMIC
            offset = struct.unpack_from("<Q", data, entry + 8)[0]
            struct.pack_into("<QQ", data, entry + 32, dynamic_bytes, dynamic_bytes)
    with target.open("wb") as stream:
        stream.write(data)
        if fill:
            stream.seek(offset)
            stream.write(struct.pack("<QQ", 21, 0) * ((2 << 20) // 16))
        stream.truncate(offset + dynamic_bytes)
    return target


#: Runs ARGV under an address-space limit and prints its peak RSS (KiB) and exit code.
#: The peak is read in this small parent: a child forked from a big process (pytest)
#: would report that process's size as its own peak, since the kernel carries it across exec.
_MEASURE = """
import resource, subprocess, sys
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
done = subprocess.run(sys.argv[2:], stdout=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, done.returncode)
"""


def _measured(argv: list[str], env: dict[str, str], limit_bytes: int) -> tuple[int, str, int]:
    """Run ``argv`` under an address-space limit: (exit code, stderr, peak RSS in KiB)."""
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(limit_bytes), *argv],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    peak, code = done.stdout.split()
    return int(code), done.stderr, int(peak)


def test_a_sparse_file_claiming_gigabytes_costs_megabytes(
    fixture_store: FixtureStore, cache: Path, tmp_path: Path
) -> None:
    fx = fixture_store
    env = {**os.environ, "AUTOPATCHELF_CACHE_DIR": str(cache)}
    solve = [sys.executable, "-m", "autopatchelf", "solve", *within_args(fx)]
    huge = _sparse_with_dynamic(fx.apps["foo-v2"], tmp_path / "huge", 2 << 30, fill=False)
    assert huge.stat().st_blocks * 512 < 1 << 20  # it really is sparse
    code, stderr, peak_kib = _measured([*solve, str(huge)], env, 1 << 30)
    # ld.so stops at the first DT_NULL, so do we: the program is solvable.
    assert code == 0, stderr
    assert peak_kib < 200 * 1024, f"peak RSS {peak_kib} KiB"
    endless = _sparse_with_dynamic(fx.apps["foo-v2"], tmp_path / "endless", 2 << 30, fill=True)
    code, stderr, peak_kib = _measured([*solve, str(endless)], env, 1 << 30)
    assert code == 2, stderr
    (line,) = stderr.splitlines()
    assert line == (
        f"autopatchelf: error: {endless}: PT_DYNAMIC has no DT_NULL in its first 1048576 bytes"
    )
    assert peak_kib < 200 * 1024, f"peak RSS {peak_kib} KiB"


def test_an_absolute_needed_naming_a_host_file_is_missing_not_bundled(
    fixture_store: FixtureStore, cache: Path, tmp_path: Path
) -> None:
    fx = fixture_store
    host_lib = Path("/usr/lib/x86_64-linux-gnu/libz.so.1")
    assert host_lib.is_symlink(), "zlib1g ships libz.so.1 as a symlink"
    for name in (str(host_lib.resolve()), str(host_lib)):  # a file, and a symlink to it
        program = add_needed(writable_copy(fx.apps["foo-v2"], tmp_path / "hz"), name)
        done = cli("solve", *within_args(fx), str(program), "--format", "env", cache=cache)
        assert done.returncode == 1, done.stderr
        assert done.stdout == ""
        assert f"needs {name}, and no file in the store provides" in done.stderr
        allowed = cli("solve", *within_args(fx), str(program), "--format", "env",
                      "--allow-missing", "/usr/*", cache=cache)  # fmt: skip
        assert allowed.returncode == 0, allowed.stderr
        variables = eval_env(allowed.stdout, tmp_path)
        assert all(p.startswith("/nix/store/") for p in variables["NIX_LD_LIBRARY_PATH"].split(":"))


def test_deeply_nested_json_is_one_line_not_a_traceback(
    fixture_store: FixtureStore, cache: Path, tmp_path: Path
) -> None:
    fx = fixture_store
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 200_000 + "]" * 200_000)
    tree = tmp_path / "tree"
    writable_copy(fx.apps["foo-v2"], tree / "foo")
    baseline = cli("check", *within_args(fx), str(tree), "--baseline", str(deep), cache=cache)
    assert baseline.returncode == 2
    (line,) = baseline.stderr.splitlines()
    assert line.startswith(f"autopatchelf: error: baseline {deep} ")
    frozen = cli("solve", *within_args(fx), str(tree / "foo"), "--lock", str(deep),
                 "--frozen", cache=cache)  # fmt: skip
    assert frozen.returncode == 2
    assert "nested too deeply" in frozen.stderr and "Traceback" not in frozen.stderr
    assert deep.read_text().startswith("[[[")  # refused: left as it was


def test_gc_roots_are_validated_before_anything_is_created(
    fixture_store: FixtureStore, cache: Path, tmp_path: Path
) -> None:
    fx = fixture_store
    app = str(fx.apps["foo-v2"])
    inside = f"/nix/store/autopatchelf-test-root-{os.getpid()}"
    done = cli("solve", *within_args(fx), app, "--gc-root", inside, cache=cache)
    assert done.returncode == 2
    assert "is inside the Nix store" in done.stderr
    assert not os.path.lexists(inside)
    nowhere = tmp_path / "nonexistent" / "x" / "y"
    done = cli("solve", *within_args(fx), app, "--gc-root", str(nowhere), cache=cache)
    assert done.returncode == 2
    (line,) = done.stderr.splitlines()
    assert f"{nowhere.parent} is not a directory" in line
    assert not (tmp_path / "nonexistent").exists()


def test_killed_patches_leave_no_privileged_copy_and_are_cleaned_up(
    fixture_store: FixtureStore, cache: Path, tmp_path: Path
) -> None:
    """kill -9 at random moments of ``patch --force`` on a setuid program: a hidden temp
    file may be left, never with a special bit; the next patch removes it; check never
    reports it."""
    fx = fixture_store
    directory = tmp_path / "bin"
    program = writable_copy(fx.apps["foo-v2"], directory / "foo")
    program.chmod(0o4755)
    argv = [sys.executable, "-m", "autopatchelf", "patch", "--force", "--system",
            str(fx.path("glibc-host")), *within_args(fx), str(program)]  # fmt: skip
    env = {**os.environ, "AUTOPATCHELF_CACHE_DIR": str(cache)}
    # How long a whole patch takes here, to kill at moments all along it.
    started = time.monotonic()
    subprocess.run(argv, env=env, capture_output=True, check=True)
    whole = time.monotonic() - started
    rng = random.Random(9)
    left: set[str] = set()
    for _ in range(20):
        writable_copy(fx.apps["foo-v2"], program).chmod(0o4755)  # unpatched again
        child = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)  # fmt: skip
        time.sleep(rng.uniform(0.5, 1.05) * whole)
        child.send_signal(signal.SIGKILL)
        child.wait()
        for temp in directory.glob(f".*{TEMP_SUFFIX}"):
            left.add(temp.name)
            mode = temp.stat().st_mode
            assert not mode & (stat.S_ISUID | stat.S_ISGID | stat.S_ISVTX), oct(mode)
        mode = program.stat().st_mode
        assert stat.S_IMODE(mode) in (0o4755, 0o755)  # old file, or new before its bits
    # Plant one more, as a killed run of another process would leave it.
    planted = directory / f".foo.99999999.abcd1234{TEMP_SUFFIX}"
    planted.write_bytes(program.read_bytes())
    check = cli("check", *within_args(fx), str(directory), "--format", "json", cache=cache)
    assert [b["path"] for b in json.loads(check.stdout)["binaries"]] == ["foo"]
    final = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    assert final.returncode == 0, final.stderr
    assert list(directory.glob(f".*{TEMP_SUFFIX}")) == []
    assert stat.S_IMODE(program.stat().st_mode) == 0o4755
    assert subprocess.run([str(program)], capture_output=True, check=False).returncode == 0


def test_check_shows_progress_on_a_terminal_and_not_in_a_pipe(
    fixture_store: FixtureStore, cache: Path, tmp_path: Path
) -> None:
    import pty

    count = 1500
    fx = fixture_store
    tree = tmp_path / "tree"
    tree.mkdir()
    data = fx.apps["foo-v2"].read_bytes()
    # Distinct files (copies would be skipped as duplicates), enough that checking them
    # outlasts the bar's 0.5 s delay even now that equal problems are built once: 300
    # took about 0.5 s here, and the bar sometimes never showed.
    for number in range(count):
        (tree / f"app{number:04d}").write_bytes(data + number.to_bytes(2, "little"))
        (tree / f"app{number:04d}").chmod(0o755)
    argv = [sys.executable, "-m", "autopatchelf", "check", *within_args(fx), str(tree), "-q"]
    env = {**os.environ, "AUTOPATCHELF_CACHE_DIR": str(cache), "TERM": "xterm"}
    leader, follower = pty.openpty()
    with subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=follower) as child:
        os.close(follower)
        seen = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        assert child.stdout is not None
        stdout = child.stdout.read().decode()
    os.close(leader)
    assert child.returncode == 0, stdout
    assert b"checking" in seen and f"/{count}".encode() in seen, seen[-500:]
    assert "checking" not in stdout  # the report itself carries no bar
    piped = cli("check", *within_args(fx), str(tree), "-q", cache=cache)
    assert piped.returncode == 0 and piped.stderr == ""
