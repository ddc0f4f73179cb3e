"""Building the problem: what ld.so would walk, and what the encoding is told."""

from __future__ import annotations

from typing import Any

import pytest
from memstore import AARCH64, I386, Arch, MemStore

from autopatchelf.errors import RootError
from autopatchelf.problem.build import build_problem, closest_names
from autopatchelf.problem.model import Exclusion, ExclusionKind, Glibc

LIBC_NEEDS = {"libc.so.6": ("GLIBC_2.2.5",)}


def store_with_glibc() -> MemStore:
    store = MemStore()
    store.glibc("glibc-2.36")
    return store


def add_libfoo(store: MemStore, version: str, defines: tuple[str, ...], **kw: Any) -> str:
    lib = store.library(
        f"libfoo-{version}",
        "libfoo.so.1",
        defines=defines,
        needs=("libc.so.6",),
        refs=("glibc-2.36",),
        **kw,
    )
    return lib.path


def test_candidates_by_soname_in_store_order_and_the_roots_needs_are_free() -> None:
    store = store_with_glibc()
    new = add_libfoo(store, "2.0", ("FOO_1.0", "FOO_2.0"))
    old = add_libfoo(store, "1.0", ("FOO_1.0",))
    app = store.program("/app/bin/tool", needs=("libfoo.so.1", "libc.so.6"))
    problem = store.problem([app])
    assert problem.candidates["libfoo.so.1"] == (old, new)
    assert problem.free[app.path] == ("libfoo.so.1", "libc.so.6")
    assert [r.path for r in problem.roots] == [app.path] == [f.path for f in problem.foreign]
    assert problem.roots[0].label == "tool" and problem.roots[0].foreign
    assert problem.providers[new].label == "libfoo-2.0"
    assert problem.providers[new].store_path == store.path("libfoo-2.0")
    assert problem.missing == {}
    assert problem.exclusions == ()


def test_a_store_librarys_runpath_fixes_its_provider_inside_its_closure() -> None:
    store = store_with_glibc()
    store.library("libdep-1.0", "libdep.so.1")
    dep2 = store.library("libdep-2.0", "libdep.so.1")
    foo = store.library(
        "libfoo-1.0", "libfoo.so.1", needs=("libdep.so.1", "libc.so.6"), refs=("libdep-2.0",)
    )
    app = store.program("/app/bin/tool", needs=("libfoo.so.1",))
    problem = store.problem([app])
    # libdep from its RUNPATH; libc.so.6 is not on it: any provider may serve it.
    assert problem.fixed == {(foo.path, "libdep.so.1"): dep2.path}
    assert problem.free[foo.path] == ("libc.so.6",)
    assert problem.free[dep2.path] == ()
    # Every candidate of libdep.so.1 is still known (another requester may choose one).
    assert len(problem.candidates["libdep.so.1"]) == 2
    assert problem.closures[foo.store_path] == {foo.store_path, dep2.store_path}


def test_glibcs_are_found_with_their_loaders_and_closures_name_them() -> None:
    store = MemStore()
    g36 = store.glibc("glibc-2.36")
    g38 = store.glibc("glibc-2.38")
    foo = add_libfoo(store, "1.0", ())
    app = store.program("/app/bin/tool", needs=("libfoo.so.1", "libc.so.6"))
    problem = store.problem([app])
    assert dict(problem.glibcs) == {
        g36.store_path: Glibc(g36.store_path, "glibc-2.36", (2, 36), g36.loader.path),  # type: ignore[union-attr]
        g38.store_path: Glibc(g38.store_path, "glibc-2.38", (2, 38), g38.loader.path),  # type: ignore[union-attr]
    }
    assert problem.closure_glibcs[store.path("libfoo-1.0")] == (g36.store_path,)
    assert problem.closure_glibcs[g38.store_path] == (g38.store_path,)
    assert problem.fixed[(foo, "libc.so.6")] == g36.libc.path
    assert {"libc.so.6", "ld-linux-x86-64.so.2"} <= problem.glibc_names
    assert "libfoo.so.1" not in problem.glibc_names


def test_a_program_needing_no_libc_still_gets_glibcs_for_its_interpreter() -> None:
    store = store_with_glibc()
    store.library("libfoo-1.0", "libfoo.so.1")
    app = store.program("/app/bin/tool", needs=("libfoo.so.1",))
    assert list(store.problem([app]).glibcs) == [store.path("glibc-2.36")]
    static = store.program("/app/bin/static", needs=("libfoo.so.1",), interpreter=None)
    assert store.problem([static]).glibcs == {}


def test_version_needs_exclude_candidates_that_lack_a_version() -> None:
    store = store_with_glibc()
    new = add_libfoo(store, "2.0", ("FOO_1.0", "FOO_2.0"))
    old = add_libfoo(store, "1.0", ("FOO_1.0",))
    app = store.program(
        "/app/bin/tool",
        needs=("libfoo.so.1", "libc.so.6"),
        version_needs={"libfoo.so.1": ("FOO_2.0",), **LIBC_NEEDS},
    )
    problem = store.problem([app])
    assert problem.exclusions == (
        Exclusion(app.path, "libfoo.so.1", old, ExclusionKind.VERSION, "FOO_2.0"),
    )
    assert new in problem.candidates["libfoo.so.1"]


def test_weak_version_needs_rule_nothing_out() -> None:
    store = store_with_glibc()
    add_libfoo(store, "1.0", ("FOO_1.0",))
    app = store.program(
        "/app/bin/tool",
        needs=("libfoo.so.1",),
        version_needs={"libfoo.so.1": ("FOO_2.0",)},
        weak=("FOO_2.0",),
    )
    assert store.problem([app]).exclusions == ()


def test_a_store_librarys_own_version_needs_are_checked_against_its_fixed_provider() -> None:
    store = store_with_glibc()
    store.library("libdep-2.0", "libdep.so.1", defines=("DEP_2.0",))
    foo = store.library(
        "libfoo-1.0",
        "libfoo.so.1",
        needs=("libdep.so.1",),
        version_needs={"libdep.so.1": ("DEP_1.0",)},
        refs=("libdep-2.0",),
    )
    app = store.program("/app/bin/tool", needs=("libfoo.so.1",))
    assert store.problem([app]).exclusions == (
        Exclusion(
            foo.path,
            "libdep.so.1",
            store.lib_dir("libdep-2.0") + "/libdep.so.1",
            ExclusionKind.VERSION,
            "DEP_1.0",
        ),
    )


def test_a_versioned_symbol_the_candidate_lacks_excludes_it() -> None:
    store = store_with_glibc()
    full = add_libfoo(store, "2.0", ("FOO_2.0",), exports={"foo_new": "FOO_2.0"})
    lean = add_libfoo(store, "2.1", ("FOO_2.0",), exports={"foo_other": "FOO_2.0"})
    app = store.program(
        "/app/bin/tool",
        needs=("libfoo.so.1",),
        version_needs={"libfoo.so.1": ("FOO_2.0",)},
        imports={"foo_new": "FOO_2.0", "unversioned": None},
    )
    problem = store.problem([app])
    assert problem.exclusions == (
        Exclusion(app.path, "libfoo.so.1", lean, ExclusionKind.SYMBOL, "foo_new@FOO_2.0"),
    )
    assert full in problem.candidates["libfoo.so.1"]


def test_a_symbol_defined_by_what_the_provider_loads_counts_as_exported() -> None:
    # glibc 2.34's libdl.so.2 keeps the versions; libc.so.6, which it loads, has the code.
    store = MemStore()
    glibc = store.glibc("glibc-2.36", libs=("libdl.so.2",), exports={"dladdr": "GLIBC_2.2.5"})
    app = store.program(
        "/app/bin/tool",
        needs=("libdl.so.2", "libc.so.6"),
        version_needs={"libdl.so.2": ("GLIBC_2.2.5",)},
        imports={"dladdr": ("libdl.so.2", "GLIBC_2.2.5")},
    )
    problem = store.problem([app])
    assert problem.exclusions == ()
    assert problem.candidates["libdl.so.2"] == (glibc.files["libdl.so.2"].path,)
    missing = store.program(
        "/app/bin/other",
        needs=("libdl.so.2", "libc.so.6"),
        version_needs={"libdl.so.2": ("GLIBC_2.2.5",)},
        imports={"dlnothing": ("libdl.so.2", "GLIBC_2.2.5")},
    )
    (excl,) = store.problem([missing]).exclusions
    assert (excl.kind, excl.what) == (ExclusionKind.SYMBOL, "dlnothing@GLIBC_2.2.5")


@pytest.mark.parametrize("arch", [I386, AARCH64], ids=["i386", "aarch64"])
def test_libraries_for_another_machine_are_excluded_for_the_architecture(arch: Arch) -> None:
    store = store_with_glibc()
    other = store.library("libfoo-2.0", "libfoo.so.1", arch=arch)
    good = store.library("libfoo-1.0", "libfoo.so.1")
    app = store.program("/app/bin/tool", needs=("libfoo.so.1",))
    problem = store.problem([app])
    assert problem.candidates["libfoo.so.1"] == (good.path,)
    (excl,) = problem.exclusions
    assert (excl.requester, excl.name, excl.provider, excl.kind) == (
        "",
        "libfoo.so.1",
        other.path,
        ExclusionKind.ARCH,
    )
    assert excl.what.startswith("it is ")


def test_a_glibc_linux_osabi_library_joins_a_sysv_program() -> None:
    store = store_with_glibc()
    gnu = store.library("libfoo-1.0", "libfoo.so.1", osabi=3)
    odd = store.library("libfoo-2.0", "libfoo.so.1", osabi=9)
    app = store.program("/app/bin/tool", needs=("libfoo.so.1",))
    problem = store.problem([app])
    assert problem.candidates["libfoo.so.1"] == (gnu.path,)
    (excl,) = problem.exclusions
    assert (excl.provider, excl.what) == (odd.path, "its OS ABI 9 differs")


def test_bundled_origin_libraries_are_found_through_the_apps_runpath() -> None:
    store = store_with_glibc()
    own = store.bundled("/app/lib/libown.so.1", needs=("libc.so.6", "libhelper.so.1"))
    store.library("libown-9.0", "libown.so.1")  # a store copy: never used for the app's
    store.library("libhelper-1.0", "libhelper.so.1")
    app = store.program("/app/bin/tool", needs=("libown.so.1",), runpath="$ORIGIN/../lib")
    problem = store.problem([app])
    assert problem.fixed[(app.path, "libown.so.1")] == own.path
    assert [f.path for f in problem.foreign] == [app.path, own.path]
    # Labels are relative to the first root's directory, absolute outside it.
    assert problem.providers[own.path].label == "/app/lib/libown.so.1"
    # The bundled library's own needs are free (no RUNPATH of its own finds them).
    assert problem.free[own.path] == ("libc.so.6", "libhelper.so.1")
    assert problem.free[app.path] == ()
    assert own.path in problem.candidates["libown.so.1"]


def test_a_bundled_library_found_through_a_symlink_is_its_real_file() -> None:
    store = store_with_glibc()
    own = store.bundled("/app/lib/libown.so.1.2", "libown.so.1")
    store.files.link("/app/lib/libown.so.1", "libown.so.1.2")
    app = store.program("/app/bin/tool", needs=("libown.so.1",), runpath="${ORIGIN}/../lib")
    assert store.problem([app]).fixed[(app.path, "libown.so.1")] == own.path


def test_rpath_is_inherited_by_a_bundled_library_without_runpath() -> None:
    store = store_with_glibc()
    helper = store.bundled("/app/lib/private/libhelper.so.1")
    own = store.bundled("/app/lib/libown.so.1", needs=("libhelper.so.1",))
    app = store.program(
        "/app/bin/tool", needs=("libown.so.1",), rpath="$ORIGIN/../lib:$ORIGIN/../lib/private"
    )
    problem = store.problem([app])
    assert problem.fixed[(app.path, "libown.so.1")] == own.path
    assert problem.fixed[(own.path, "libhelper.so.1")] == helper.path


def test_no_rpath_is_inherited_by_a_library_with_its_own_runpath() -> None:
    store = store_with_glibc()
    store.bundled("/app/lib/private/libhelper.so.1")
    own = store.bundled("/app/lib/libown.so.1", needs=("libhelper.so.1",), runpath="$ORIGIN")
    app = store.program(
        "/app/bin/tool", needs=("libown.so.1",), rpath="$ORIGIN/../lib:$ORIGIN/../lib/private"
    )
    problem = store.problem([app])
    assert problem.fixed[(app.path, "libown.so.1")] == own.path
    assert problem.free[own.path] == ("libhelper.so.1",)
    assert problem.missing == {"libhelper.so.1": ()}


def test_a_runpath_is_never_inherited() -> None:
    store = store_with_glibc()
    store.bundled("/app/lib/private/libhelper.so.1")
    own = store.bundled("/app/lib/libown.so.1", needs=("libhelper.so.1",))
    app = store.program(
        "/app/bin/tool", needs=("libown.so.1",), runpath="$ORIGIN/../lib:$ORIGIN/../lib/private"
    )
    problem = store.problem([app])
    assert problem.free[own.path] == ("libhelper.so.1",)


def test_host_and_relative_runpath_entries_are_ignored_with_a_note() -> None:
    store = store_with_glibc()
    store.bundled("/usr/lib/libfoo.so.1")  # the host's: absent on NixOS
    store.bundled("/app/bin/lib/libfoo.so.1")  # where "lib" would lead from /app/bin
    store.library("libfoo-1.0", "libfoo.so.1")
    store_dir = store.lib_dir("libfoo-1.0")
    app = store.program(
        "/app/bin/tool", needs=("libfoo.so.1",), runpath=f"/usr/lib:lib::{store_dir}"
    )
    problem = store.problem([app])
    assert problem.free[app.path] == ("libfoo.so.1",)
    assert problem.candidates["libfoo.so.1"] == (store.file(f"{store_dir}/libfoo.so.1").path,)
    assert problem.notes == (
        "/app/bin/tool: RUNPATH entry /usr/lib is a host or relative directory; ignored",
        "/app/bin/tool: RUNPATH entry lib is a host or relative directory; ignored",
        "/app/bin/tool: RUNPATH entry  is a host or relative directory; ignored",
    )


def test_an_absolute_app_directory_outside_host_dirs_is_searched() -> None:
    store = store_with_glibc()
    own = store.bundled("/opt/vendor/lib/libown.so.1")
    app = store.program("/opt/vendor/bin/tool", needs=("libown.so.1",), runpath="/opt/vendor/lib")
    problem = store.problem([app])
    assert problem.fixed[(app.path, "libown.so.1")] == own.path
    assert problem.notes == ()


def test_bundled_labels_are_relative_to_the_first_roots_directory() -> None:
    store = store_with_glibc()
    inner = store.bundled("/app/bin/lib/libinner.so.1")
    app = store.program("/app/bin/tool", needs=("libinner.so.1",), runpath="$ORIGIN/lib")
    problem = store.problem([app])
    assert problem.providers[inner.path].label == "lib/libinner.so.1"
    assert problem.providers[app.path].label == "tool"


def test_a_bundled_library_for_another_machine_is_skipped_as_ld_so_skips_it() -> None:
    store = store_with_glibc()
    store.bundled("/app/lib32/libown.so.1", arch=I386)
    own = store.bundled("/app/lib/libown.so.1")
    app = store.program(
        "/app/bin/tool", needs=("libown.so.1",), runpath="$ORIGIN/../lib32:$ORIGIN/../lib"
    )
    assert store.problem([app]).fixed[(app.path, "libown.so.1")] == own.path


def test_dt_needed_paths_in_foreign_objects() -> None:
    store = store_with_glibc()
    own = store.bundled("/app/lib/libown.so.1")
    app = store.program("/app/bin/tool", needs=("/app/lib/libown.so.1", "./lib/libx.so.1"))
    problem = store.problem([app])
    assert problem.fixed[(app.path, "/app/lib/libown.so.1")] == own.path
    assert problem.free[app.path] == ("./lib/libx.so.1",)
    assert problem.notes == (
        "/app/bin/tool: DT_NEEDED './lib/libx.so.1' is a path; it is not searched",
    )


def test_a_store_librarys_dt_needed_path_is_looked_up_as_written() -> None:
    store = store_with_glibc()
    dep = store.library("libdep-1.0", "libdep.so.1")
    foo = store.library("libfoo-1.0", "libfoo.so.1", needs=(dep.path,), refs=("libdep-1.0",))
    app = store.program("/app/bin/tool", needs=("libfoo.so.1",))
    problem = store.problem([app])
    assert problem.fixed[(foo.path, dep.path)] == dep.path
    assert problem.candidates[dep.path] == (dep.path,)


def test_missing_names_come_with_the_closest_names_that_exist() -> None:
    store = store_with_glibc()
    store.library("libfoo-3.0", "libfoo.so.2")
    store.library("libfoo-3.0", "libfoo.so.3")
    app = store.program("/app/bin/tool", needs=("libfoo.so.1", "libzzz-unknown.so.7"))
    problem = store.problem([app])
    assert problem.missing == {
        "libfoo.so.1": ("libfoo.so.2", "libfoo.so.3"),
        "libzzz-unknown.so.7": (),
    }
    assert problem.candidates["libfoo.so.1"] == ()


def test_closest_names_are_the_same_library_in_another_version() -> None:
    known = ["libfoo.so.2", "libfoo.so.3", "libfoo.so.1", "libfop.so.1", "libbar.so.1"]
    assert closest_names("libfoo.so.1", known) == ("libfoo.so.2", "libfoo.so.3")
    assert closest_names("libfoo.so.9", known, limit=1) == ("libfoo.so.1",)
    assert closest_names("libfoo-2.so", [*known, "libfoo-1.so"]) == (
        "libfoo-1.so", "libfoo.so.1", "libfoo.so.2", "libfoo.so.3",
    )  # fmt: skip
    # Names that merely look alike are other libraries: never suggested.
    assert closest_names("libfoq.so.1", ["libfop.so.1", "libbar.so.1"]) == ()
    assert closest_names("libX11.so.6", ["libm.so.6", "libc.so.6", "libX11-xcb.so.1"]) == ()
    assert closest_names("libnothing.so", known) == ()


def test_a_version_defined_under_a_close_soname_becomes_a_hint() -> None:
    store = store_with_glibc()
    add_libfoo(store, "2.0", ("FOO_2.0",))
    store.library("libfoo-3.0", "libfoo.so.2", defines=("FOO_2.0", "FOO_3.0"))
    app = store.program(
        "/app/bin/tool", needs=("libfoo.so.1",), version_needs={"libfoo.so.1": ("FOO_3.0",)}
    )
    problem = store.problem([app])
    assert problem.hints == ("libfoo-3.0 defines FOO_3.0, but as libfoo.so.2, not libfoo.so.1",)


def test_substitution_offers_a_close_soname_only_when_allowed() -> None:
    store = store_with_glibc()
    sub = store.library("libfoo-3.0", "libfoo.so.2")
    store.library("libfop-1.0", "libfop.so.1")  # a close name, another stem: never offered
    app = store.program("/app/bin/tool", needs=("libfoo.so.1",))
    assert store.problem([app]).substitutes == {}
    problem = store.problem([app], allow_substitution=True)
    assert problem.substitutes == {("libfoo.so.1", sub.path): "libfoo.so.2"}
    assert problem.candidates["libfoo.so.1"] == (sub.path,)


def test_roots_are_read_together_or_refused() -> None:
    store = store_with_glibc()
    app = store.program("/app/bin/tool")
    other = store.program("/app/bin/tool32", arch=I386)
    with pytest.raises(RootError, match="no file to solve"):
        build_problem([], store, files=store.files)
    with pytest.raises(RootError, match="cannot share a solve"):
        build_problem([app, other], store, files=store.files)
    odd = store.program("/app/bin/odd", arch=Arch(8, I386.elf_class))
    with pytest.raises(RootError, match="machine 8"):
        build_problem([odd], store, files=store.files)


def test_two_roots_share_one_problem() -> None:
    store = store_with_glibc()
    store.library("libfoo-1.0", "libfoo.so.1")
    store.library("libbar-1.0", "libbar.so.1")
    tool = store.program("/app/bin/tool", needs=("libfoo.so.1",))
    lib = store.bundled("/app/lib/libplugin.so", needs=("libbar.so.1",))
    problem = store.problem([tool, lib])
    assert [r.path for r in problem.roots] == [tool.path, lib.path]
    assert problem.roots[1].label == "/app/lib/libplugin.so"
    assert set(problem.candidates) >= {"libfoo.so.1", "libbar.so.1"}
