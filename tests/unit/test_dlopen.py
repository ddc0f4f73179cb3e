"""Libraries loaded with dlopen(): ``--dlopen`` and ``.note.dlopen`` entries of the program
and of chosen libraries, solved inside the same one-glibc, one-provider-per-soname solve
(in-memory store; the real loader judges them in tests/test_dlopen_run.py)."""

from __future__ import annotations

import pytest
from memstore import MemStore

from autopatchelf.elf.records import DlopenNote
from autopatchelf.errors import Unsatisfiable
from autopatchelf.options import DlopenPriority, NeedOrigin
from autopatchelf.solution.diagnosis import ProblemKind

TOOL = "/app/bin/tool"
REQUIRED, RECOMMENDED, SUGGESTED = (
    DlopenPriority.REQUIRED,
    DlopenPriority.RECOMMENDED,
    DlopenPriority.SUGGESTED,
)


def note(*sonames: str, priority: DlopenPriority = RECOMMENDED, feature: str | None = None):  # type: ignore[no-untyped-def]
    return DlopenNote(sonames, priority, feature)


def store_with_sqlite() -> MemStore:
    store = MemStore()
    store.glibc("glibc-2.36")
    store.library("sqlite-3.40", "libsqlite3.so.0", needs=("libc.so.6",), refs=("glibc-2.36",))
    return store


def test_a_flag_is_needed_and_loaded_after_start_up() -> None:
    store = store_with_sqlite()
    app = store.program(TOOL, needs=("libc.so.6",))
    solution = store.solve([app], dlopen=("libsqlite3.so.0",))
    sqlite = store.path("sqlite-3.40") + "/lib/libsqlite3.so.0"
    assert solution.choices["libsqlite3.so.0"] == sqlite
    libs = {lib.name: lib for lib in solution.root(TOOL).libraries}
    assert libs["libsqlite3.so.0"].via is NeedOrigin.FLAG
    assert libs["libsqlite3.so.0"].requested_by == TOOL
    assert libs["libc.so.6"].via is NeedOrigin.NEEDED
    assert store.path("sqlite-3.40") + "/lib" in solution.library_path
    assert store.path("sqlite-3.40") in solution.store_paths


def test_a_flag_no_store_path_provides_is_a_missing_library() -> None:
    store = MemStore()
    store.glibc("glibc-2.36")
    app = store.program(TOOL, needs=("libc.so.6",))
    with pytest.raises(Unsatisfiable) as raised:
        store.solve([app], dlopen=("libsqlite3.so.0",))
    assert raised.value.explanation.diagnosis.kind is ProblemKind.MISSING_LIBRARY
    assert raised.value.explanation.diagnosis.subject == "libsqlite3.so.0"


def test_a_required_note_of_the_program_is_hard() -> None:
    store = store_with_sqlite()
    app = store.program(
        TOOL, needs=("libc.so.6",), dlopen=(note("libsqlite3.so.0", priority=REQUIRED),)
    )
    solution = store.solve([app])
    assert solution.root(TOOL).mapping()["libsqlite3.so.0"].startswith(store.path("sqlite-3.40"))
    lonely = store.program(
        "/app/bin/other", needs=("libc.so.6",), dlopen=(note("libnone.so.1", priority=REQUIRED),)
    )
    with pytest.raises(Unsatisfiable):
        store.solve([lonely])


def test_the_first_alternative_that_exists_is_taken() -> None:
    store = store_with_sqlite()
    app = store.program(
        TOOL, needs=("libc.so.6",), dlopen=(note("libsqlite3.so.1", "libsqlite3.so.0"),)
    )
    solution = store.solve([app])
    assert "libsqlite3.so.0" in solution.choices and "libsqlite3.so.1" not in solution.choices


def test_priorities_recommended_by_default_suggested_when_asked() -> None:
    store = MemStore()
    store.glibc("glibc-2.36")
    for name, soname in (("zstd-1.5", "libzstd.so.1"), ("lz4-1.9", "liblz4.so.1")):
        store.library(name, soname, needs=("libc.so.6",), refs=("glibc-2.36",))
    store.library(
        "systemd-257",
        "libsystemd.so.0",
        needs=("libc.so.6",),
        refs=("glibc-2.36",),
        dlopen=(
            note("libzstd.so.1", feature="zstd"),
            note("liblz4.so.1", priority=SUGGESTED, feature="lz4"),
        ),
    )
    app = store.program(TOOL, needs=("libsystemd.so.0", "libc.so.6"))
    default = store.solve([app])
    assert "libzstd.so.1" in default.choices and "liblz4.so.1" not in default.choices
    libs = {lib.name: lib for lib in default.root(TOOL).libraries}
    assert libs["libzstd.so.1"].via is NeedOrigin.NOTE
    assert libs["libzstd.so.1"].requested_by == store.path("systemd-257") + "/lib/libsystemd.so.0"
    assert "liblz4.so.1" in store.solve([app], dlopen_priority="suggested").choices
    assert "liblz4.so.1" in store.solve([app], dlopen_features=("lz4",)).choices
    only_required = store.solve([app], dlopen_priority="required")
    assert "libzstd.so.1" not in only_required.choices


def test_a_recommended_library_no_store_path_has_is_left_out_with_a_warning() -> None:
    store = MemStore()
    store.glibc("glibc-2.36")
    app = store.program(TOOL, needs=("libc.so.6",), dlopen=(note("libzstd.so.1", feature="zstd"),))
    solution = store.solve([app])
    assert "libzstd.so.1" not in solution.choices
    assert any(
        "may dlopen() libzstd.so.1 (recommended: zstd); no store path provides it" in w
        for w in solution.warnings
    )


def test_a_recommended_library_that_breaks_the_glibc_is_left_out_and_said() -> None:
    """The only libzstd is built against another glibc than the one the program needs: it
    is left out (with the reason), and the rest is solved."""
    store = MemStore()
    store.glibc("glibc-2.36")
    store.glibc("glibc-2.41")
    store.library("zstd-1.5", "libzstd.so.1", needs=("libc.so.6",), refs=("glibc-2.36",))
    app = store.program(
        TOOL,
        needs=("libc.so.6",),
        version_needs={"libc.so.6": ("GLIBC_2.38",)},
        dlopen=(note("libzstd.so.1", feature="zstd"),),
    )
    solution = store.solve([app])
    assert solution.glibc == store.path("glibc-2.41")
    assert "libzstd.so.1" not in solution.choices
    said = [w for w in solution.warnings if "libzstd.so.1 (recommended: zstd); left out" in w]
    assert len(said) == 1 and "no single glibc fits" in said[0]
    # Required, the same need is the conflict itself.
    strict = store.program(
        "/app/bin/strict",
        needs=("libc.so.6",),
        version_needs={"libc.so.6": ("GLIBC_2.38",)},
        dlopen=(note("libzstd.so.1", priority=REQUIRED),),
    )
    with pytest.raises(Unsatisfiable):
        store.solve([strict])


def test_a_dlopened_library_joins_the_one_provider_rule() -> None:
    """The program's --dlopen libfoo.so.1 and its NEEDED libbar's closure's libfoo must be
    the same file: the closure's wins, the other is not loaded."""
    store = MemStore()
    store.glibc("glibc-2.36")
    store.library("foo-1.0", "libfoo.so.1", needs=("libc.so.6",), refs=("glibc-2.36",))
    store.library("foo-2.0", "libfoo.so.1", needs=("libc.so.6",), refs=("glibc-2.36",))
    store.library(
        "bar-1.0", "libbar.so.1", needs=("libfoo.so.1", "libc.so.6"), refs=("foo-1.0", "glibc-2.36")
    )
    app = store.program(TOOL, needs=("libbar.so.1", "libc.so.6"))
    solution = store.solve([app], dlopen=("libfoo.so.1",))
    assert solution.choices["libfoo.so.1"].startswith(store.path("foo-1.0"))
    # Already loaded at start-up by libbar: the dlopen() gets that object again.
    libs = {lib.name: lib for lib in solution.root(TOOL).libraries}
    assert libs["libfoo.so.1"].via is NeedOrigin.NEEDED


def test_a_note_already_in_dt_needed_adds_nothing() -> None:
    store = store_with_sqlite()
    app = store.program(
        TOOL, needs=("libsqlite3.so.0", "libc.so.6"), dlopen=(note("libsqlite3.so.0"),)
    )
    problem = store.problem([app])
    assert problem.dlopen == ()
