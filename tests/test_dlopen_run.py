"""dlopen()ed libraries with the real loader: a program compiled here dlopen()s
``libzstd.so.1`` by soname and prints the file it got (``dlinfo``). The host has its own
libzstd, which is exactly the trap: without our solution the program silently gets the
host's copy (NixOS would fail); with ``--dlopen`` or its own ``.note.dlopen`` it gets the
store's, under ``run``, a lock, and a patched copy."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from fixtures import FixtureStore
from ldcheck import run_directly
from runhelp import cli

pytestmark = [pytest.mark.nix, pytest.mark.needs("gcc")]

SOURCE = Path(__file__).parent / "fixtures" / "src" / "dlopen-probe.c"


def compile_probe(directory: Path, *defines: str) -> Path:
    """The probe, built with the host's gcc (interpreter /lib64/..., no RUNPATH)."""
    out = directory / ("probe" + "".join(d.split("=")[0].lower() for d in defines))
    argv = ["gcc", "-O1", "-o", str(out), str(SOURCE), *(f"-D{d}" for d in defines)]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture
def trixie(fixture_store: FixtureStore) -> list[str]:
    """``--within`` the main fixture's trixie packages (glibc 2.41, libzstd1 among them)."""
    return [a for p in fixture_store.debian["trixie"].values() for a in ("--within", str(p))]


@pytest.fixture
def zstd(fixture_store: FixtureStore) -> str:
    return str(fixture_store.debian["trixie"]["libzstd1"])


def test_without_a_dlopen_need_the_host_copy_is_what_it_gets(
    tmp_path: Path, trixie: list[str], cache: Path, zstd: str
) -> None:
    """The trap this feature exists for: the solution omits the library, ld.so falls back
    to the host's dirs (a Debian glibc does), and the program runs with a host library."""
    probe = compile_probe(tmp_path)
    done = cli("run", str(probe), *trixie, "--", cache=cache)
    assert done.returncode == 0, done.stderr
    assert not done.stdout.startswith(zstd)
    assert os.path.realpath(done.stdout.strip()).startswith(("/usr/lib", "/lib"))


def test_dlopen_flag_gives_the_store_copy(
    tmp_path: Path, trixie: list[str], cache: Path, zstd: str
) -> None:
    probe = compile_probe(tmp_path)
    solved = cli("solve", str(probe), *trixie, "--dlopen", "libzstd.so.1", "--format", "json",
                 cache=cache)  # fmt: skip
    assert solved.returncode == 0, solved.stderr
    libraries = json.loads(solved.stdout)["roots"][0]["libraries"]
    mine = [lib for lib in libraries if lib["name"] == "libzstd.so.1"]
    assert mine and mine[0]["via"] == "flag" and mine[0]["path"].startswith(zstd)
    assert all(lib["via"] == "needed" for lib in libraries if lib["name"] != "libzstd.so.1")
    done = cli("run", str(probe), *trixie, "--dlopen", "libzstd.so.1", "--", cache=cache)
    assert done.returncode == 0, done.stderr
    assert os.path.realpath(done.stdout.strip()).startswith(zstd)


def test_its_own_dlopen_note_is_enough(
    tmp_path: Path, trixie: list[str], cache: Path, zstd: str
) -> None:
    probe = compile_probe(tmp_path, "WITH_NOTE", 'NOTE_PRIORITY="recommended"')
    text = cli("solve", str(probe), *trixie, cache=cache)
    assert text.returncode == 0, text.stderr
    assert "(dlopen: note)" in text.stdout
    done = cli("run", str(probe), *trixie, "--", cache=cache)
    assert done.returncode == 0, done.stderr
    assert os.path.realpath(done.stdout.strip()).startswith(zstd)
    # Below its priority the note is not solved for: the host's copy again.
    only_required = cli(
        "run", str(probe), *trixie, "--dlopen-priority", "required", "--no-lock-cache", "--",
        cache=cache,
    )  # fmt: skip
    assert only_required.returncode == 0, only_required.stderr
    assert not os.path.realpath(only_required.stdout.strip()).startswith(zstd)


def test_a_lock_keeps_the_dlopen_need(
    tmp_path: Path, trixie: list[str], cache: Path, zstd: str
) -> None:
    probe = compile_probe(tmp_path)
    lock = tmp_path / "probe.lock"
    first = cli("run", str(probe), *trixie, "--dlopen", "libzstd.so.1", "--lock", str(lock), "--",
                cache=cache)  # fmt: skip
    assert first.returncode == 0, first.stderr
    document = json.loads(lock.read_text())
    assert "flag" in json.dumps(document)
    again = cli("run", str(probe), "--lock", str(lock), "--frozen", "--", cache=cache)
    assert again.returncode == 0, again.stderr
    assert os.path.realpath(again.stdout.strip()).startswith(zstd)
    # A lock made without a --dlopen now asked for is stale.
    other = tmp_path / "other.lock"
    assert cli("run", str(probe), *trixie, "--lock", str(other), "--", cache=cache).returncode == 0
    stale = cli("run", str(probe), *trixie, "--dlopen", "libzstd.so.1", "--lock", str(other),
                "--frozen", "--", cache=cache)  # fmt: skip
    assert stale.returncode == 2 and "--dlopen libzstd.so.1" in stale.stderr


def test_a_patched_copy_dlopens_the_store_copy(
    tmp_path: Path, trixie: list[str], cache: Path, zstd: str
) -> None:
    probe = compile_probe(tmp_path)
    copy = tmp_path / "patched"
    shutil.copy(probe, copy)
    done = cli("patch", str(copy), *trixie, "--dlopen", "libzstd.so.1", cache=cache)
    assert done.returncode == 0, done.stdout + done.stderr
    started = run_directly(str(copy))
    assert started.returncode == 0, started.stderr[-2000:]
    assert os.path.realpath(started.stdout.strip()).startswith(zstd)
    assert any(p.startswith(zstd) for p in started.dlopened)
    assert not any(p.startswith(("/usr/lib", "/lib/")) for p in started.loaded | started.dlopened)


def test_a_required_note_without_a_provider_is_no_solution(
    tmp_path: Path, fixture_store: FixtureStore, cache: Path
) -> None:
    """A required note whose library no store path has: no solution, naming it."""
    probe = compile_probe(
        tmp_path, "WITH_NOTE", 'NOTE_PRIORITY="required"', 'SONAME="libnope.so.9"'
    )
    within = [a for p in fixture_store.debian["trixie"].values() for a in ("--within", str(p))]
    done = cli("solve", str(probe), *within, cache=cache)
    assert done.returncode == 1
    assert "libnope.so.9" in done.stdout


def test_dlopen_hints_list_the_sonames_written_in_the_program(
    tmp_path: Path, trixie: list[str], cache: Path
) -> None:
    probe = compile_probe(tmp_path)
    done = cli("solve", str(probe), *trixie, "--dlopen-hints", "--format", "json", cache=cache)
    assert done.returncode == 0, done.stderr
    hints = json.loads(done.stdout)["dlopen_hints"]
    assert hints == [{"root": str(probe), "soname": "libzstd.so.1", "provided": True}]
    text = cli("solve", str(probe), *trixie, "--dlopen-hints", cache=cache)
    assert "  libzstd.so.1  (a store path has it; in " in text.stdout
    promoted = cli("solve", str(probe), *trixie, "--dlopen-hints", "--dlopen", "libzstd.so.1",
                   "--format", "json", cache=cache)  # fmt: skip
    assert json.loads(promoted.stdout)["dlopen_hints"] == []


SYSTEMD_PROGRAM = r"""
#include <stdio.h>
int sd_booted(void);
int main(void) { printf("%d\n", sd_booted() >= 0); return 0; }
"""


@pytest.fixture
def systemd_program(fixture_store: FixtureStore, tmp_path: Path) -> Path:
    """A program with DT_NEEDED libsystemd.so.0, linked against trixie's libsystemd."""
    package = fixture_store.packages["trixie"]["libsystemd0"]
    library = next(
        d / "libsystemd.so.0" for d in package.lib_dirs if (d / "libsystemd.so.0").exists()
    )
    link_dir = tmp_path / "link"
    link_dir.mkdir()
    (link_dir / "libsystemd.so").symlink_to(library)
    source = tmp_path / "booted.c"
    source.write_text(SYSTEMD_PROGRAM)
    out = tmp_path / "booted"
    argv = ["gcc", "-o", str(out), str(source), f"-L{link_dir}", "-lsystemd"]
    done = subprocess.run([*argv, "-Wl,--allow-shlib-undefined"], capture_output=True, text=True,
                          check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return out


def test_trixie_libsystemd_carries_four_dlopen_notes(fixture_store: FixtureStore) -> None:
    from autopatchelf import ElfFacts

    package = fixture_store.packages["trixie"]["libsystemd0"]
    library = next(
        d / "libsystemd.so.0" for d in package.lib_dirs if (d / "libsystemd.so.0").exists()
    )
    facts = ElfFacts.read(library)
    assert facts.dlopen_problems == ()
    by_feature = {note.feature: note for note in facts.dlopen}
    assert {f: n.priority.value for f, n in by_feature.items()} == {
        "lzma": "suggested",
        "lz4": "suggested",
        "zstd": "recommended",
        "gcrypt": "suggested",
    }
    assert by_feature["zstd"].sonames == ("libzstd.so.1",)
    bookworm = fixture_store.packages["bookworm"]["libsystemd0"]
    old = next(d / "libsystemd.so.0" for d in bookworm.lib_dirs if (d / "libsystemd.so.0").exists())
    assert ElfFacts.read(old).dlopen == ()  # 252 links them all as DT_NEEDED


def test_libsystemd_brings_its_recommended_zstd_not_its_suggested_lz4(
    systemd_program: Path, trixie: list[str], cache: Path, fixture_store: FixtureStore
) -> None:
    def libraries(*flags: str) -> dict[str, dict[str, str]]:
        done = cli("solve", str(systemd_program), *trixie, *flags, "--format", "json", cache=cache)
        assert done.returncode == 0, done.stderr
        document = json.loads(done.stdout)
        return {lib["name"]: lib for lib in document["roots"][0]["libraries"]}

    default = libraries()
    zstd = default["libzstd.so.1"]
    assert zstd["via"] == "note"
    assert os.path.basename(zstd["requested_by"]).startswith("libsystemd.so.0")
    assert zstd["path"].startswith(str(fixture_store.debian["trixie"]["libzstd1"]))
    assert "liblz4.so.1" not in default
    assert libraries("--dlopen-feature", "lz4")["liblz4.so.1"]["via"] == "note"
    assert "libzstd.so.1" not in libraries("--dlopen-priority", "required")
    done = cli("run", str(systemd_program), *trixie, "--", cache=cache)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "1\n"


# -- trace ------------------------------------------------------------------------------------


def test_trace_finds_the_leak_and_the_lock_serves_it(
    tmp_path: Path, trixie: list[str], cache: Path, zstd: str
) -> None:
    """Round 1: the program gets the host's libzstd (a leak); round 2: the store's; the
    lock then serves it to `run --lock` and `patch --lock`."""
    probe = compile_probe(tmp_path)
    done = cli("trace", *trixie, str(probe), cache=cache)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "round 1: ran (exit 0)"
    assert lines[1].startswith("  leak: libzstd.so.1 was loaded from /usr/lib")
    assert "  solving again with: libzstd.so.1" in lines
    assert "round 2: ran (exit 0)" in lines
    assert "  dlopen()ed from the store: libzstd.so.1" in lines
    assert "traced: libzstd.so.1; settled" in lines
    lock = Path(f"{probe}.autopatchelf.lock")
    libraries = json.loads(lock.read_text())["libraries"]
    assert [(lib["name"], lib["via"]) for lib in libraries if lib["via"] != "needed"] == [
        ("libzstd.so.1", "trace")
    ]
    ran = cli("run", "--lock", str(lock), "--frozen", str(probe), "--", cache=cache)
    assert ran.returncode == 0, ran.stderr
    assert os.path.realpath(ran.stdout.strip()).startswith(zstd)
    # patch needs runpath delivery: the lock is re-solved, keeping what the trace found.
    copy = tmp_path / "patched"
    shutil.copy(probe, copy)
    patched = cli("patch", "--lock", str(lock), str(copy), cache=cache)
    assert patched.returncode == 0, patched.stdout + patched.stderr
    started = run_directly(str(copy))
    assert started.returncode == 0, started.stderr[-2000:]
    assert os.path.realpath(started.stdout.strip()).startswith(zstd)


def test_trace_of_a_program_that_fails_still_sees_what_it_opened(
    tmp_path: Path, trixie: list[str], cache: Path, zstd: str
) -> None:
    probe = compile_probe(tmp_path, "EXIT_CODE=1")
    done = cli("trace", *trixie, "--format", "json", str(probe), cache=cache)
    assert done.returncode == 0, done.stdout + done.stderr
    document = json.loads(done.stdout)
    assert document["schema"] == "autopatchelf.trace/1"
    assert document["traced"] == ["libzstd.so.1"]
    assert [r["returncode"] for r in document["rounds"]] == [1, 1]
    libraries = document["solution"]["roots"][0]["libraries"]
    assert any(lib["via"] == "trace" and lib["path"].startswith(zstd) for lib in libraries)


def test_trace_ends_a_program_that_never_exits(
    tmp_path: Path, trixie: list[str], cache: Path
) -> None:
    probe = compile_probe(tmp_path, "SLEEP_FOREVER")
    done = cli("trace", *trixie, "--timeout", "2", str(probe), cache=cache, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("round 1: ran (timed out)")
    assert "traced: libzstd.so.1; settled" in done.stdout


def test_trace_with_a_missing_library_says_it_was_not_found(
    tmp_path: Path, trixie: list[str], cache: Path
) -> None:
    probe = compile_probe(tmp_path, 'SONAME="libnope.so.9"')
    done = cli("trace", *trixie, str(probe), cache=cache)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "  failed: libnope.so.9 was not found" in done.stdout
    assert "no store path provides it: left out" in done.stdout
