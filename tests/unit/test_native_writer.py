"""The native ELF writer (``actions/patching/native.py``) on small ELF objects: synthesized
ones in every class and byte order (read back by our reader and by readelf), and gcc-built
programs, 64- and 32-bit, patched to the host's own loader through another path and run
under ld.so with ``LD_BIND_NOW=1``."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from pathlib import Path

import attrs
import pytest
from elfbuild import Fixtures, Synthetic, can_compile_32bit, compile_fixtures, synthesize
from prerequisites import need

from autopatchelf.actions.patching import atomic, elfedit
from autopatchelf.actions.patching.elfedit import Layout, rewrite, stage_rewrite
from autopatchelf.actions.patching.elfheaders import Read
from autopatchelf.actions.patching.native import Placement, Unfit, plan_edit
from autopatchelf.actions.patching.plan import ElfState
from autopatchelf.elf.facts import ElfFacts, parse_facts
from autopatchelf.errors import PatchError

LOADER64 = "/lib64/ld-linux-x86-64.so.2"
LOADER32 = "/lib/ld-linux.so.2"
#: The same loader through a longer path: the new string cannot go where the old one was.
VIA = "/lib/../lib/../lib/.."
CLASSES = [(is64, big) for is64 in (True, False) for big in (False, True)]


def _ids(case: tuple[bool, bool]) -> str:
    return f"{'elf64' if case[0] else 'elf32'}-{'be' if case[1] else 'le'}"


def reader(data: bytes) -> Read:
    return lambda offset, size: data[offset : offset + size]


def state(data: bytes) -> ElfState:
    return ElfState.of(parse_facts(data, "image"))


def invariants(data: bytes) -> tuple[object, ...]:
    return elfedit._invariants(parse_facts(data, "image"))


def readelf(data: bytes, tmp_path: Path, *flags: str) -> str:
    need("readelf")
    image = tmp_path / "image"
    image.write_bytes(data)
    done = subprocess.run(
        ["readelf", "-W", *flags, str(image)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr
    return done.stdout


def without_spare_dynamic_slot(synthetic: Synthetic) -> bytes:
    """The synthesized object with its spare DT_NULL turned into a DT_DEBUG entry."""
    data = bytearray(synthetic.data)
    order = ">" if synthetic.big_endian else "<"
    word, size = ("Q", 16) if synthetic.is64 else ("I", 8)
    ehdr, phent = (64, 56) if synthetic.is64 else (52, 32)
    at = ehdr + 2 * phent  # the third program header is PT_DYNAMIC
    offset = struct.unpack_from(order + ("I4xQ" if synthetic.is64 else "II"), data, at)[1]
    struct.pack_into(order + 2 * word, data, offset + 16 * size, 21, 0)  # DT_DEBUG
    return bytes(data)


# -- synthesized objects --------------------------------------------------------------


@pytest.mark.parametrize("case", CLASSES, ids=_ids)
def test_every_class_and_byte_order_reads_back_as_planned(
    case: tuple[bool, bool], tmp_path: Path
) -> None:
    synthetic = synthesize(*case)
    data = synthetic.data
    before = state(data)
    after = attrs.evolve(
        before,
        interpreter="/nix/store/0123456789abcdfghijklmnpqrsvwxyz-glibc/lib/ld.so.1",
        runpath="$ORIGIN:/nix/store/0123456789abcdfghijklmnpqrsvwxyz-glibc/lib",
        needed=("libc.so.6", "libm-renamed.so.6"),
        verneed=("libc.so.6", "libm-renamed.so.6"),
    )
    # One PT_LOAD covers the whole file: no gap after it.
    with pytest.raises(Unfit, match="no gap"):
        plan_edit(reader(data), len(data), "image", before, after, Placement.GAP)
    out = rewrite(data, "image", before, after, layouts=(Layout.NATIVE_END,))
    assert out.layout is Layout.NATIVE_END
    assert state(out.data) == after
    assert invariants(out.data)[:-1] == invariants(data)[:-1]  # imports name the new file
    assert out.data[: len(data)] != data
    assert elfedit._phdr_problem(out.data) is None
    dynamic = readelf(out.data, tmp_path, "-d")
    assert "Library runpath: [$ORIGIN:/nix/store/" in dynamic
    assert "Shared library: [libm-renamed.so.6]" in dynamic
    assert "Requesting program interpreter: /nix/store/" in readelf(out.data, tmp_path, "-l")


@pytest.mark.parametrize("case", CLASSES, ids=_ids)
def test_a_full_dynamic_section_moves_to_the_new_segment(
    case: tuple[bool, bool], tmp_path: Path
) -> None:
    data = without_spare_dynamic_slot(synthesize(*case))
    before = state(data)
    after = attrs.evolve(before, rpath="/opt/extra", runpath="/nix/store/x-lib/lib")
    out = rewrite(data, "image", before, after, layouts=(Layout.NATIVE_END,)).data
    assert state(out) == after
    program = readelf(out, tmp_path, "-l")
    dynamic = next(line for line in program.splitlines() if line.strip().startswith("DYNAMIC"))
    assert int(dynamic.split()[1], 16) >= len(data)  # moved past the old end
    new_load = [line for line in program.splitlines() if line.strip().startswith("LOAD")][-1]
    assert " RW " in new_load  # ld.so writes DT_DEBUG there
    text = readelf(out, tmp_path, "-d")
    assert "Library rpath: [/opt/extra]" in text and "(DEBUG)" in text


def test_an_interpreter_that_fits_is_written_in_place() -> None:
    data = synthesize(True, False).data
    before = state(data)
    after = attrs.evolve(before, interpreter="/lib/ld-short.so")
    edit = plan_edit(reader(data), len(data), "image", before, after, Placement.GAP)
    assert edit.size == len(data)  # no new segment, no table move
    assert len(edit.writes) == 1
    assert state(edit.apply(data)) == after


def test_adding_an_interpreter_is_refused() -> None:
    data = synthesize(True, False).data
    before = attrs.evolve(state(data), interpreter=None)
    with pytest.raises(PatchError, match="adding or removing an interpreter"):
        plan_edit(reader(data), len(data), "image", before, state(data), Placement.GAP)


def test_difference_finds_a_byte_outside_the_plan() -> None:
    data = synthesize(True, False).data
    before = state(data)
    after = attrs.evolve(before, runpath="/nix/store/x-lib/lib")
    edit = plan_edit(reader(data), len(data), "image", before, after, Placement.END)
    out = bytearray(edit.apply(data))
    assert edit.difference(reader(data), reader(bytes(out)), len(out)) is None
    out[5000 % len(data)] ^= 0xFF
    problem = edit.difference(reader(data), reader(bytes(out)), len(out))
    assert problem is not None and "differ from the plan" in problem
    assert "bytes, not" in str(edit.difference(reader(data), reader(bytes(out)), len(out) - 1))


def test_difference_compares_the_untouched_middle_of_a_big_file() -> None:
    """Chunks no write touches are compared old against new as they are."""
    data = synthesize(True, False).data + bytes(range(256)) * (12 * 1024)  # 3 MiB more
    before = state(data)
    after = attrs.evolve(before, runpath="/nix/store/x-lib/lib")
    edit = plan_edit(reader(data), len(data), "image", before, after, Placement.END)
    out = edit.apply(data)
    assert edit.difference(reader(data), reader(out), len(out)) is None
    touched = {offset // (1 << 20) for offset, chunk in edit.writes}
    assert 2 not in touched  # the third MiB is one of the untouched chunks
    changed = bytearray(out)
    changed[(2 << 20) + 7] ^= 0xFF
    problem = edit.difference(reader(data), reader(bytes(changed)), len(changed))
    assert problem == "bytes 0x200000..0x300000 differ from the plan"
    offset, chunk = edit.writes[-1]
    changed = bytearray(out)
    changed[offset + len(chunk) - 1] ^= 0xFF  # inside a planned write
    problem = edit.difference(reader(data), reader(bytes(changed)), len(changed))
    assert problem is not None and "differ from the plan" in problem


# -- compiled programs, run ------------------------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Fixtures:
    need("gcc")
    directory = tmp_path_factory.mktemp("native-writer")
    return compile_fixtures(directory, with_32bit=can_compile_32bit(directory))


def run(program: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin"), "LD_BIND_NOW": "1"}
    return subprocess.run([str(program)], capture_output=True, text=True, env=env, check=False)


def patched_copy(source: Path, target: Path, **changes: object) -> tuple[Path, ElfState]:
    """``source`` copied to ``target`` and patched in the file (stage_rewrite, commit)."""
    shutil.copyfile(source, target)
    target.chmod(0o755)
    before = ElfState.of(ElfFacts.read(target))
    after = attrs.evolve(before, **changes)  # type: ignore[arg-type]
    staged = stage_rewrite(str(target), before, after, os.stat(target))
    assert staged.layout is Layout.NATIVE_GAP
    atomic.commit(staged.temp, str(target))
    return target, after


@pytest.mark.parametrize("name", ["app_pie", "app_nopie", "app_rpath"])
def test_a_patched_program_runs_with_its_new_interpreter_and_runpath(
    built: Fixtures, tmp_path: Path, name: str
) -> None:
    need("readelf")
    source = getattr(built, name)
    libdir = tmp_path / "elsewhere"
    shutil.copytree(built.directory / "lib", libdir)
    assert run(source).returncode != 0 or name == "app_runpath"  # libfoo is not found
    program, after = patched_copy(
        source, tmp_path / name, interpreter=VIA + LOADER64, runpath=str(libdir), rpath=None
    )
    ran = run(program)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == "9\n"
    assert ElfState.of(ElfFacts.read(program)) == after
    text = subprocess.run(
        ["readelf", "-Wld", str(program)], capture_output=True, text=True, check=False
    )
    assert not text.stderr.strip(), text.stderr
    assert f"[Requesting program interpreter: {VIA}{LOADER64}]" in text.stdout
    assert f"Library runpath: [{libdir}]" in text.stdout
    assert "rpath" not in text.stdout


def test_renamed_needed_and_verneed_load_the_renamed_library(
    built: Fixtures, tmp_path: Path
) -> None:
    libdir = tmp_path / "lib"
    libdir.mkdir()
    shutil.copyfile(built.libfoo, libdir / "libfoo-renamed.so")
    before = ElfState.of(ElfFacts.read(built.app_nopie))
    renamed = tuple("libfoo-renamed.so" if n == "libfoo.so.1" else n for n in before.needed)
    versions = tuple("libfoo-renamed.so" if n == "libfoo.so.1" else n for n in before.verneed)
    program, _after = patched_copy(
        built.app_nopie, tmp_path / "app", interpreter=VIA + LOADER64, runpath=str(libdir),
        needed=renamed, verneed=versions,
    )  # fmt: skip
    ran = run(program)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == "9\n"


def test_a_32bit_program_runs_patched(built: Fixtures, tmp_path: Path) -> None:
    if built.app32 is None or built.libfoo32 is None:
        pytest.skip("gcc -m32 cannot link here")
    program, _after = patched_copy(
        built.app32, tmp_path / "app32", interpreter=VIA + LOADER32,
        runpath=str(built.libfoo32.parent),
    )  # fmt: skip
    ran = run(program)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == "9\n"


def test_a_patched_library_keeps_working(built: Fixtures, tmp_path: Path) -> None:
    libdir = tmp_path / "lib"
    libdir.mkdir()
    patched_copy(built.libfoo, libdir / "libfoo.so.1", runpath="/nix/store/x-nothing/lib")
    program, _after = patched_copy(
        built.app_nopie, tmp_path / "app", interpreter=VIA + LOADER64, runpath=str(libdir)
    )
    ran = run(program)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == "9\n"
