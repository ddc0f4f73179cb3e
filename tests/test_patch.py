"""``patch``: edited copies of the fixture apps start by themselves and load what was chosen.

Every patched program is run *directly* (the kernel reads its new PT_INTERP; no loader on
the command line) with ``LD_BIND_NOW=1 LD_DEBUG=libs``: it must print its version, and the
files ld.so reports loading must be exactly the solution's, none from the host.
The fixture apps live in the read-only store: each test patches copies in ``tmp_path``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import struct
import subprocess
import sys
from pathlib import Path

import attrs
import pytest
from extra_store import build_libfoo
from fixtures import SCENARIOS, FixtureStore
from ldcheck import predicted, run_directly, searched_files
from prerequisites import need
from runhelp import within_args

from autopatchelf.actions.patching import atomic, elfedit
from autopatchelf.actions.patching.elfedit import Layout, rewrite
from autopatchelf.actions.patching.patch import PatchReport, apply_plan, plan_files
from autopatchelf.actions.patching.plan import ElfState, PatchError, PatchPlan, plan_patch
from autopatchelf.elf.facts import ElfFacts
from autopatchelf.index import StoreIndex
from autopatchelf.options import SolveOptions
from autopatchelf.solution.model import Solution

pytestmark = pytest.mark.nix

GCC = shutil.which("gcc")
#: Programs patched and run: synthetic scenarios and Debian's curl of both releases.
PROGRAMS = ["foo-v2", "diamond", "glibc-choice", "needs-loader", "curl-bookworm", "curl-trixie"]


def copy_app(fx: FixtureStore, app: str, directory: Path) -> Path:
    """A writable copy of a fixture program (the store copy is read-only)."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / app
    shutil.copyfile(fx.apps[app], target)
    target.chmod(0o755)
    return target


def copy_tree(source: Path, target: Path) -> Path:
    """A writable copy of a fixture app tree."""
    shutil.copytree(source, target, symlinks=True)
    for directory, _subdirs, files in os.walk(target):
        os.chmod(directory, 0o755)
        for name in files:
            os.chmod(os.path.join(directory, name), 0o755)
    return target


def plan(index: StoreIndex, *paths: Path, force: bool = False, **options: object) -> PatchPlan:
    options.setdefault("system", [])
    solve_options = SolveOptions(**options)  # type: ignore[arg-type]
    return plan_files([str(p) for p in paths], solve_options, index=index, force=force)


def patch(index: StoreIndex, *paths: Path, **options: object) -> tuple[PatchPlan, PatchReport]:
    backup = bool(options.pop("backup", False))
    planned = plan(index, *paths, **options)
    return planned, apply_plan(planned, backup=backup)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.rglob(f"*{atomic.TEMP_SUFFIX}"))


def assert_runs_as_predicted(
    solution: Solution, program: Path, args: tuple[str, ...], prints: str
) -> None:
    ran = run_directly(str(program), args)
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert prints in ran.stdout
    want = predicted(solution, str(program))
    assert ran.loaded == want, f"ld.so loaded {sorted(ran.loaded ^ want)} differently"
    host = [f for f in searched_files(ran.stderr) if f.startswith(("/lib", "/usr/lib"))]
    assert not host, f"ld.so looked in host directories: {host}"
    assert all(p.startswith(("/nix/store/", str(program.parent.parent))) for p in ran.loaded)


def cli(fx: FixtureStore, index_cache: str, *args: str) -> subprocess.CompletedProcess[str]:
    base = [sys.executable, "-m", "autopatchelf", "patch", "--cache-dir", index_cache,
            "--system", str(fx.path("glibc-host")), *within_args(fx)]  # fmt: skip
    return subprocess.run([*base, *args], capture_output=True, text=True, check=False)


# -- programs run patched ------------------------------------------------------------


@pytest.mark.parametrize("app", PROGRAMS)
def test_patched_program_starts_directly_and_loads_the_predicted_files(
    fixture_store: FixtureStore, index: StoreIndex, tmp_path: Path, app: str
) -> None:
    program = copy_app(fixture_store, app, tmp_path / "bin")
    planned, report = patch(index, program)
    solution = planned.solution
    assert solution.delivery == "runpath"
    (result,) = report.results
    assert result.patched
    assert result.layout is not None
    facts = ElfFacts.read(str(program))
    assert facts.interpreter == solution.interpreter
    assert facts.runpath == ":".join(solution.runpath)
    assert facts.rpath is None
    scenario = SCENARIOS[app]
    assert_runs_as_predicted(solution, program, scenario.args, scenario.prints)


def test_a_host_rpath_is_ignored_and_patched_away(
    fixture_store: FixtureStore, index: StoreIndex, tmp_path: Path
) -> None:
    """DT_RPATH=/usr/lib/x86_64-linux-gnu (as some vendor builds have) names the host's
    libraries: the solver ignores it (it does not exist on NixOS) and says so, and the
    patched file finds only store libraries, even here where that directory exists."""
    need("gcc", "zlib.h")
    source = tmp_path / "hello.c"
    source.write_text(
        "#include <stdio.h>\n#include <zlib.h>\n"
        'int main(void) { printf("hello zlib %s\\n", zlibVersion()); return 0; }\n'
    )
    program = tmp_path / "bin" / "hello"
    program.parent.mkdir()
    subprocess.run(
        [GCC, "-o", str(program), str(source), "-lz",
         "-Wl,--disable-new-dtags,-rpath,/usr/lib/x86_64-linux-gnu"],
        check=True,
    )  # fmt: skip
    assert ElfFacts.read(str(program)).rpath == "/usr/lib/x86_64-linux-gnu"
    planned, _report = patch(index, program)
    assert any(
        "/usr/lib/x86_64-linux-gnu" in w and "ignored" in w for w in planned.solution.warnings
    )
    facts = ElfFacts.read(str(program))
    assert facts.rpath is None
    assert facts.runpath is not None and "/usr/lib" not in facts.runpath.split(":")
    assert_runs_as_predicted(planned.solution, program, (), "hello zlib 1.")


@pytest.mark.parametrize("pie", [False, True], ids=["non-pie", "pie"])
def test_a_program_built_here_runs_patched_pie_or_not(
    fixture_store: FixtureStore, index: StoreIndex, tmp_path: Path, pie: bool
) -> None:
    """A host-built program (ET_EXEC without -pie) linked against zlib: Debian's zlib1g."""
    need("gcc", "zlib.h")
    source = tmp_path / "hello.c"
    source.write_text(
        "#include <stdio.h>\n#include <zlib.h>\n"
        'int main(void) { printf("hello zlib %s\\n", zlibVersion()); return 0; }\n'
    )
    program = tmp_path / "bin" / "hello"
    program.parent.mkdir()
    flags = ["-pie", "-fPIE"] if pie else ["-no-pie", "-fno-PIE"]
    subprocess.run([GCC, *flags, "-o", str(program), str(source), "-lz"], check=True)
    assert ElfFacts.read(str(program)).is_pie is pie
    planned, _report = patch(index, program)
    assert_runs_as_predicted(planned.solution, program, (), "hello zlib 1.")


def test_bundled_app_tree_keeps_its_origin_entries_and_runs(
    fixture_store: FixtureStore, index_cache: str, tmp_path: Path
) -> None:
    fx = fixture_store
    tree = copy_tree(fx.paths["bundled-app"], tmp_path / "app")
    (tree / "README").write_text("not an ELF file\n")
    (tree / "lib" / "libbundled.so").symlink_to("libbundled.so.1")
    done = cli(fx, index_cache, str(tree))
    assert done.returncode == 0, done.stderr
    app, lib = tree / "bin" / "app", tree / "lib" / "libbundled.so.1"
    assert f"patched {app}" in done.stdout
    assert f"patched {lib}" in done.stdout
    app_facts, lib_facts = ElfFacts.read(str(app)), ElfFacts.read(str(lib))
    assert app_facts.runpath is not None
    assert app_facts.runpath.startswith("$ORIGIN/../lib:")
    store_dirs = app_facts.runpath.split(":")[1:]
    assert store_dirs
    assert all(d.startswith("/nix/store/") for d in store_dirs)
    # The library had no search path of its own: it gets the chosen directories only.
    assert lib_facts.runpath == ":".join(store_dirs)
    assert lib_facts.interpreter is None
    assert (tree / "lib" / "libbundled.so").is_symlink()  # links are never followed
    again = plan_files(
        [str(tree)],
        SolveOptions(within=[str(p) for p in fx.providers()], cache_dir=index_cache, system=[]),
    )
    assert not again.changed  # patched: nothing left to do
    solution = again.solution
    assert_runs_as_predicted(solution, app, (), SCENARIOS["bundled"].prints)
    assert os.path.realpath(lib) in predicted(solution, str(app))


# -- safety ----------------------------------------------------------------------------


def test_second_patch_changes_nothing_byte_for_byte(
    fixture_store: FixtureStore, index: StoreIndex, tmp_path: Path
) -> None:
    program = copy_app(fixture_store, "curl-trixie", tmp_path)
    patch(index, program)
    first, info = sha256(program), program.stat()
    planned, report = patch(index, program)
    assert not planned.changed
    assert not report.patched
    assert sha256(program) == first
    again = program.stat()
    assert (again.st_ino, again.st_mtime_ns, again.st_mode) == (
        info.st_ino, info.st_mtime_ns, info.st_mode
    )  # fmt: skip


def test_mode_owner_and_timestamps_are_kept(
    fixture_store: FixtureStore, index: StoreIndex, tmp_path: Path
) -> None:
    program = copy_app(fixture_store, "foo-v2", tmp_path)
    program.chmod(0o751)
    os.utime(program, ns=(1_000_000_123_456_789, 1_100_000_987_654_321))
    planned = plan(index, program)
    # Reading the file to solve it may have updated its access time (relatime): what must
    # survive is the atime/mtime it has when it is replaced.
    before = program.stat()
    apply_plan(planned)
    after = program.stat()
    assert after.st_mtime_ns == 1_100_000_987_654_321
    assert after.st_ino != before.st_ino  # replaced by rename, not rewritten in place
    assert stat.S_IMODE(after.st_mode) == 0o751
    assert (after.st_uid, after.st_gid) == (before.st_uid, before.st_gid)
    assert after.st_mtime_ns == before.st_mtime_ns
    assert after.st_atime_ns == before.st_atime_ns
    assert leftovers(tmp_path) == []


def test_backup_keeps_the_original_bytes(
    fixture_store: FixtureStore, index: StoreIndex, tmp_path: Path
) -> None:
    program = copy_app(fixture_store, "foo-v2", tmp_path)
    original = sha256(program)
    _planned, report = patch(index, program, backup=True)
    backup = Path(str(program) + ".orig")
    assert report.results[0].backup == str(backup)
    assert sha256(backup) == original != sha256(program)


def test_setuid_and_setgid_files_are_refused_unless_forced(
    fixture_store: FixtureStore, index_cache: str, tmp_path: Path
) -> None:
    fx = fixture_store
    program = copy_app(fx, "foo-v2", tmp_path)
    for mode in (0o4755, 0o2755):
        program.chmod(mode)
        original = sha256(program)
        done = cli(fx, index_cache, str(program))
        assert done.returncode == 2
        assert "refusing to patch" in done.stderr
        assert "--force" in done.stderr
        assert sha256(program) == original
    program.chmod(0o4755)
    forced = cli(fx, index_cache, "--force", str(program))
    assert forced.returncode == 0, forced.stderr
    assert stat.S_IMODE(program.stat().st_mode) == 0o4755
    assert run_directly(str(program)).returncode == 0


def test_file_capabilities_are_refused_unless_forced_and_xattrs_are_kept(
    fixture_store: FixtureStore, index: StoreIndex, tmp_path: Path
) -> None:
    program = copy_app(fixture_store, "foo-v2", tmp_path)
    # vfs_cap_data revision 2: CAP_NET_BIND_SERVICE (bit 10) permitted.
    capability = struct.pack("<IIIII", 0x02000000, 1 << 10, 0, 0, 0)
    try:
        os.setxattr(program, "user.origin", b"vendor tarball")
        os.setxattr(program, "security.capability", capability)
    except OSError as exc:
        pytest.skip(f"cannot set extended attributes here: {exc}")
    with pytest.raises(PatchError, match="has file capabilities"):
        plan(index, program)
    _planned, report = patch(index, program, force=True)
    assert report.patched
    assert os.getxattr(program, "security.capability") == capability
    assert os.getxattr(program, "user.origin") == b"vendor tarball"


def test_dry_run_shows_old_and_new_and_writes_nothing(
    fixture_store: FixtureStore, index_cache: str, tmp_path: Path
) -> None:
    fx = fixture_store
    program = copy_app(fx, "foo-v2", tmp_path)
    original, info = sha256(program), program.stat()
    done = cli(fx, index_cache, "--dry-run", str(program))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"would patch {program}"
    assert "  interpreter: /lib64/ld-linux-x86-64.so.2 -> /nix/store/" in done.stdout
    assert any(line.startswith("  runpath: (none) -> /nix/store/") for line in lines)
    assert sha256(program) == original
    assert program.stat().st_mtime_ns == info.st_mtime_ns
    assert sorted(os.listdir(tmp_path)) == ["foo-v2"]


def test_a_failing_write_leaves_every_original_intact(
    fixture_store: FixtureStore, index: StoreIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = [copy_app(fixture_store, app, tmp_path) for app in ("foo-v2", "diamond")]
    originals = [sha256(f) for f in files]
    planned = plan(index, *files)
    assert len(planned.changed) == 2
    calls = []
    real_copy = atomic.copy_file

    def failing_copy(source: int, fd: int, size: int) -> None:
        calls.append(fd)
        if len(calls) == 2:  # the second file: half written, then the disk is full
            real_copy(source, fd, size // 2)
            raise OSError(28, "No space left on device")
        real_copy(source, fd, size)

    monkeypatch.setattr(atomic, "copy_file", failing_copy)
    with pytest.raises(PatchError, match="No space left on device"):
        apply_plan(planned)
    assert [sha256(f) for f in files] == originals  # the first one was staged, not committed
    assert sorted(os.listdir(tmp_path)) == ["diamond", "foo-v2"]


def test_a_failing_rewrite_writes_nothing(
    fixture_store: FixtureStore, index: StoreIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    program = copy_app(fixture_store, "foo-v2", tmp_path)
    original = sha256(program)

    def broken(*_args: object, **_kwargs: object) -> bytes:
        raise elfedit._LayoutFailed("simulated")

    monkeypatch.setattr(elfedit, "_build", broken)
    monkeypatch.setattr(elfedit, "plan_edit", broken)
    with pytest.raises(PatchError, match="cannot rewrite it"):
        patch(index, program)
    assert sha256(program) == original
    assert sorted(os.listdir(tmp_path)) == ["foo-v2"]


@pytest.mark.slow
def test_bad_input_is_one_line_exit_2_and_changes_nothing(
    fixture_store: FixtureStore, index_cache: str, tmp_path: Path
) -> None:
    fx = fixture_store
    text = tmp_path / "notes.txt"
    text.write_text("not an ELF file\n")
    truncated = tmp_path / "truncated"
    truncated.write_bytes(Path(fx.apps["foo-v2"]).read_bytes()[:200])
    empty_dir = tmp_path / "empty"
    empty_dir.mkdir()
    (empty_dir / "data.bin").write_bytes(b"\x00" * 64)
    good = copy_app(fx, "foo-v2", tmp_path / "good")
    original = sha256(good)
    cases = {
        "not an ELF": [str(text)],
        "truncated": [str(truncated)],
        "missing": [str(tmp_path / "nope")],
        "no ELF in the directory": [str(empty_dir)],
        "one bad among good": [str(good), str(text)],
        "store file": [str(fx.apps["foo-v2"])],
    }
    for case, args in cases.items():
        done = cli(fx, index_cache, *args)
        assert done.returncode == 2, (case, done.stdout, done.stderr)
        assert done.stderr.startswith("autopatchelf: error:"), (case, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1, (case, done.stderr)
        assert "Traceback" not in done.stderr
    assert "read-only store" in cli(fx, index_cache, str(fx.apps["foo-v2"])).stderr
    assert sha256(good) == original
    assert text.read_text() == "not an ELF file\n"
    assert leftovers(tmp_path) == []


def test_a_bundled_library_outside_the_given_files_is_not_written(
    fixture_store: FixtureStore, index: StoreIndex, tmp_path: Path
) -> None:
    tree = copy_tree(fixture_store.paths["bundled-app"], tmp_path / "app")
    lib = tree / "lib" / "libbundled.so.1"
    original = sha256(lib)
    with pytest.raises(PatchError, match="not among the given files") as caught:
        plan(index, tree / "bin" / "app")
    assert caught.value.hint is not None
    assert "directory" in caught.value.hint
    assert sha256(lib) == original


# -- substitution --------------------------------------------------------------------


@pytest.fixture
def libfoo_so_2(fixture_store: FixtureStore, tmp_path: Path) -> Path:
    """A libfoo built here exporting FOO_1.0 under SONAME libfoo.so.2 (the case a
    substitution handles: the ABI needed, under another name)."""
    need("gcc")
    lib_dir = tmp_path / "sublib"
    lib_dir.mkdir()
    script = lib_dir / "foo.map"
    script.write_text("FOO_1.0 { global: foo_version; local: *; };\n")
    source = Path(__file__).parent / "fixtures" / "src" / "libfoo.c"
    subprocess.run(
        [GCC, "-shared", "-fPIC", '-DFOO_RELEASE="2-substitute"', "-Wl,-soname,libfoo.so.2",
         f"-Wl,--version-script,{script}", "-o", str(lib_dir / "libfoo.so.2"), str(source)],
        check=True,
    )  # fmt: skip
    return lib_dir / "libfoo.so.2"


def test_substitution_renames_needed_and_verneed_and_the_program_runs(
    fixture_store: FixtureStore, index: StoreIndex, tmp_path: Path, libfoo_so_2: Path
) -> None:
    import autopatchelf

    program = copy_app(fixture_store, "foo-v1", tmp_path / "bin")
    solved = autopatchelf.solve(
        [str(program)], SolveOptions(system=[], delivery="runpath"), index=index
    )
    sub_dir = str(libfoo_so_2.parent)
    substituted = attrs.evolve(
        solved,
        substitutions={"libfoo.so.1": "libfoo.so.2"},
        choices={**solved.choices, "libfoo.so.1": str(libfoo_so_2)},
        runpath=(sub_dir, *(d for d in solved.runpath if "libfoo" not in d)),
    )
    planned = plan_patch(substituted, [str(program)])
    (edit,) = planned.edits
    assert [c.text() for c in edit.changes if c.what.startswith(("needed", "verneed"))] == [
        "needed[0]: libfoo.so.1 -> libfoo.so.2",
        "verneed[0]: libfoo.so.1 -> libfoo.so.2",
    ]
    apply_plan(planned)
    facts = ElfFacts.read(str(program))
    assert facts.needed == ("libfoo.so.2", "libc.so.6")
    assert [n.file for n in facts.version_needs] == ["libfoo.so.2", "libc.so.6"]
    ran = run_directly(str(program))
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert "foo-v1: libfoo 2-substitute" in ran.stdout
    assert str(libfoo_so_2) in ran.loaded
    # Patching again changes nothing: the program now needs libfoo.so.2 itself.
    assert not plan_patch(substituted, [str(program)]).changed


def test_resolver_substitution_is_patched_into_needed_and_verneed_and_runs(
    fixture_store: FixtureStore, tmp_path: Path
) -> None:
    """The resolver's own substitution (``allow_substitution``): the only libfoo is a
    store path with the 2.0 ABI under SONAME libfoo.so.2."""
    import autopatchelf

    fx = fixture_store
    libfoo4 = build_libfoo(fx, tmp_path, "libfoo-4.0", "libfoo.so.2", "patch-subst")
    options = {
        "within": [libfoo4, str(fx.path("glibc-host"))],
        "cache_dir": str(tmp_path / "cache"),
        "system": [],
        "allow_substitution": True,
    }
    program = copy_app(fx, "foo-v2", tmp_path / "bin")
    solution = autopatchelf.solve([str(program)], SolveOptions(delivery="runpath", **options))  # type: ignore[arg-type]
    assert solution.substitutions == {"libfoo.so.1": "libfoo.so.2"}
    link_dir = None
    if solution.needs_link_dir:  # the prediction kept the old name: links serve both
        with pytest.raises(PatchError, match="no RUNPATH order"):
            plan_patch(solution, [str(program)])
        link_dir = str(tmp_path / "links")
    planned = plan_patch(solution, [str(program)], link_dir=link_dir)
    original = ElfFacts.read(str(program))
    report = apply_plan(planned)
    assert report.patched
    facts = ElfFacts.read(str(program))
    renamed = {"libfoo.so.1": "libfoo.so.2"}
    assert facts.needed == tuple(renamed.get(n, n) for n in original.needed)
    assert [n.file for n in facts.version_needs] == [
        renamed.get(n.file, n.file) for n in original.version_needs
    ]
    assert "libfoo.so.1" not in facts.needed
    assert_runs_as_predicted(solution, program, (), "foo-v2: libfoo 4.0 foo_new@4.0")


def test_renaming_needed_without_verneed_is_what_makes_ld_so_abort(
    fixture_store: FixtureStore, index: StoreIndex, tmp_path: Path, libfoo_so_2: Path
) -> None:
    """The reason both are renamed: ld.so asserts every Verneed file is a loaded name."""
    import autopatchelf

    program = copy_app(fixture_store, "foo-v1", tmp_path / "bin")
    solved = autopatchelf.solve(
        [str(program)], SolveOptions(system=[], delivery="runpath"), index=index
    )
    before = ElfState.of(ElfFacts.read(str(program)))
    only_needed = attrs.evolve(
        before,
        interpreter=solved.interpreter,
        runpath=":".join([str(libfoo_so_2.parent), *solved.runpath]),
        needed=("libfoo.so.2", "libc.so.6"),
    )
    data = rewrite(program.read_bytes(), str(program), before, only_needed).data
    broken = tmp_path / "broken"
    broken.write_bytes(data)
    broken.chmod(0o755)
    ran = run_directly(str(broken))
    assert ran.returncode != 0
    assert "needed != NULL" in ran.stderr


# -- layouts, link directory -----------------------------------------------------------


@pytest.mark.parametrize("layout", list(Layout), ids=lambda layout: layout.value)
@pytest.mark.parametrize("app", ["foo-v2", "curl-trixie"])
def test_both_layouts_give_a_running_program(
    fixture_store: FixtureStore, index: StoreIndex, tmp_path: Path, layout: Layout, app: str
) -> None:
    from elftools.elf.elffile import ELFFile

    program = copy_app(fixture_store, app, tmp_path)
    planned = plan(index, program)
    (edit,) = planned.edits
    data = program.read_bytes()
    out = rewrite(data, str(program), edit.before, edit.after, layouts=(layout,))
    assert out.layout is layout
    patched = tmp_path / "patched"
    patched.write_bytes(out.data)
    patched.chmod(0o755)
    scenario = SCENARIOS[app]
    ran = run_directly(str(patched), scenario.args)
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert scenario.prints in ran.stdout
    with program.open("rb") as a, patched.open("rb") as b:
        old = {s.name: s["sh_addr"] for s in ELFFile(a).iter_sections()}
        new = {s.name: s["sh_addr"] for s in ELFFile(b).iter_sections()}
    moved = {name for name in (".text", ".data", ".rodata", ".got") if old[name] != new[name]}
    if layout is not Layout.LIEF_DEFAULT:
        assert not moved, f"{layout.value} must keep code and data where they were"
    print(f"{app} {layout.value}: {len(data)} -> {len(out.data)} bytes, moved {sorted(moved)}")


def test_the_layout_check_rejects_what_lief_file_end_makes(
    fixture_store: FixtureStore, tmp_path: Path
) -> None:
    """lief's FILE_END placement leaves PT_PHDR behind and the program crashes: the check
    every rewrite goes through must see that statically."""
    import lief

    program = copy_app(fixture_store, "foo-v2", tmp_path)
    binary = lief.ELF.parse(str(program))
    binary.interpreter = "/lib64/../lib64/ld-linux-x86-64.so.2"
    assert binary.relocate_phdr_table(lief.ELF.Binary.PHDR_RELOC.FILE_END)
    crashing = bytes(binary.write_to_bytes())
    assert elfedit._phdr_problem(crashing) == "PT_PHDR does not point at the program header table"
    assert elfedit._phdr_problem(program.read_bytes()) is None


def test_a_link_directory_serves_a_solution_that_needs_one(
    fixture_store: FixtureStore, index: StoreIndex, tmp_path: Path
) -> None:
    program = copy_app(fixture_store, "diamond", tmp_path / "bin")
    solved = plan(index, program).solution
    needing = attrs.evolve(solved, needs_link_dir=True, runpath=())
    with pytest.raises(PatchError, match="no RUNPATH order") as caught:
        plan_patch(needing, [str(program)])
    assert caught.value.hint is not None
    assert "--link-dir" in caught.value.hint
    links = tmp_path / "links"
    planned = plan_patch(needing, [str(program)], link_dir=str(links))
    report = apply_plan(planned)
    assert report.link_dir == str(links)
    assert sorted(os.listdir(links)) == sorted(solved.choices)
    assert ElfFacts.read(str(program)).runpath == str(links)
    ran = run_directly(str(program))
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert SCENARIOS["diamond"].prints in ran.stdout
    assert ran.loaded == predicted(solved, str(program))
    again = plan_patch(needing, [str(program)], link_dir=str(links))
    assert not again.changed


def test_directory_walk_finds_programs_and_libraries_by_magic(
    fixture_store: FixtureStore, index: StoreIndex, tmp_path: Path
) -> None:
    tree = copy_tree(fixture_store.paths["bundled-app"], tmp_path / "app")
    renamed = tree / "lib" / "plugin.dat"  # an ELF library under a name that hides it
    shutil.copyfile(tree / "lib" / "libbundled.so.1", renamed)
    (tree / "lib" / "object.o").write_bytes(b"\x7fELF" + b"\x00" * 12)  # truncated ELF
    shutil.copyfile(tree / "bin" / "app", tree / "bin" / "app.orig")  # a --backup
    planned = plan(index, tree)
    assert {e.path for e in planned.changed} == {
        str(tree / "bin" / "app"),
        str(tree / "lib" / "libbundled.so.1"),
        str(renamed),
    }
    assert [path for path, _reason in planned.skipped] == [
        str(tree / "bin" / "app.orig"),
        str(tree / "lib" / "object.o"),
    ]


def test_patch_lock_records_the_choice_and_frozen_reuses_it_without_the_index(
    fixture_store: FixtureStore, index_cache: str, tmp_path: Path
) -> None:
    fx = fixture_store
    first = copy_app(fx, "curl-trixie", tmp_path / "first")
    lock = tmp_path / "curl.autopatchelf.lock"
    done = cli(fx, index_cache, "--lock", str(lock), str(first))
    assert done.returncode == 0, done.stderr
    doc = json.loads(lock.read_text())
    assert doc["schema"] == "autopatchelf.lock/1"
    assert doc["delivery"] == "runpath"
    ran = run_directly(str(first), ("--version",))
    assert ran.returncode == 0 and "curl 8." in ran.stdout
    # Another copy of the same (unpatched) binary, patched from the lock alone: the store
    # index is unreachable, so nothing can be solved; the result is byte-identical.
    second = copy_app(fx, "curl-trixie", tmp_path / "second")
    frozen = subprocess.run(
        [sys.executable, "-m", "autopatchelf", "patch", "--store", str(tmp_path / "nowhere"),
         "--lock", str(lock), "--frozen", str(second)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert frozen.returncode == 0, frozen.stderr
    assert sha256(second) == sha256(first)
    # --lock belongs to one program.
    both = cli(fx, index_cache, "--lock", str(lock), str(first), str(second))
    assert both.returncode == 2 and "--lock takes one FILE" in both.stderr
