"""The replay of what ld.so loads, and the library path that makes the chosen files win."""

from __future__ import annotations

from typing import Any

import pytest
from memstore import MemStore

from autopatchelf.elf.facts import ElfFacts
from autopatchelf.options import Delivery
from autopatchelf.solution.loadorder import LINK_DIR, FileView, order_library_path, replay


def nix_store() -> MemStore:
    store = MemStore()
    store.glibc("glibc-2.36")
    return store


def lib(store: MemStore, name: str, soname: str, *needs: str, **kw: Any) -> str:
    """A Nix-built library: RUNPATH to its references (glibc's too) and to ``refs``."""
    refs = (*kw.pop("refs", ()), "glibc-2.36")
    return store.library(name, soname, needs=(*needs, "libc.so.6"), refs=refs, **kw).path


def view_of(store: MemStore, *foreign_dirs: str, links: dict[str, str] | None = None) -> FileView:
    return FileView(store, links=links, foreign_dirs=frozenset(foreign_dirs), files=store.files)


def loaded(solution: Any, root: int = 0) -> list[tuple[str, str, str]]:
    """(name, file's store label or path, who asked) in load order."""
    store_labels = []
    for item in solution.roots[root].libraries:
        where = item.store_path.split("-", 1)[1] if item.store_path else item.path
        asked = item.requested_by.rsplit("/", 1)[-1]
        store_labels.append((item.name, where, asked))
    return store_labels


def test_the_load_order_is_breadth_first_and_a_loaded_name_is_not_loaded_again() -> None:
    store = nix_store()
    lib(store, "libx-1.0", "libx.so.1")
    lib(store, "liby-1.0", "liby.so.1")
    lib(store, "liba-1.0", "liba.so.1", "libx.so.1", refs=("libx-1.0",))
    lib(store, "libb-1.0", "libb.so.1", "liby.so.1", "libx.so.1", refs=("liby-1.0", "libx-1.0"))
    app = store.program("/app/bin/tool", needs=("liba.so.1", "libb.so.1", "libc.so.6"))
    solution = store.solve([app])
    assert loaded(solution) == [
        ("liba.so.1", "liba-1.0", "tool"),
        ("libb.so.1", "libb-1.0", "tool"),
        ("libc.so.6", "glibc-2.36", "tool"),
        ("libx.so.1", "libx-1.0", "liba.so.1"),
        ("liby.so.1", "liby-1.0", "libb.so.1"),
    ]
    # libc.so.6 needs the loader: it is there already (the interpreter), never mapped again.
    assert "ld-linux-x86-64.so.2" in solution.choices
    assert solution.interpreter == solution.choices["ld-linux-x86-64.so.2"]
    assert solution.roots[0].interpreter == solution.interpreter
    assert solution.roots[0].mapping()["libx.so.1"] == solution.choices["libx.so.1"]


def test_a_library_root_has_no_interpreter_of_its_own() -> None:
    store = nix_store()
    lib(store, "libx-1.0", "libx.so.1")
    plugin = store.bundled("/app/lib/plugin.so", needs=("libx.so.1",))
    app = store.program("/app/bin/tool", needs=("libc.so.6",))
    solution = store.solve([app, plugin])
    assert solution.root(plugin.path).interpreter is None
    assert solution.root(app.path).interpreter == solution.interpreter
    assert [x.name for x in solution.root(plugin.path).libraries] == ["libx.so.1", "libc.so.6"]
    with pytest.raises(KeyError):
        solution.root("/nowhere")


def test_a_name_answers_to_the_soname_of_what_was_loaded_under_another_name() -> None:
    store = nix_store()
    foo = store.library("libfoo-1.2", "libfoo.so.1", file="libfoo.so.1.2")
    bar = store.library("libbar-1.0", "libbar.so.1", needs=("libfoo.so.1",))
    root = store.program("/app/bin/tool", needs=("libfoo.so.1.2", "libbar.so.1"))
    view = view_of(store)
    dirs = [store.lib_dir("libfoo-1.2"), store.lib_dir("libbar-1.0")]
    result = replay(root, None, view, library_path=dirs)
    assert [(x.name, x.path, x.requested_by) for x in result.libraries] == [
        ("libfoo.so.1.2", foo.path, root.path),
        ("libbar.so.1", bar.path, root.path),
    ]
    # libbar's libfoo.so.1 is libfoo.so.1.2's soname: no search (none would find it).
    assert result.not_found == ()
    alone = store.program("/app/bin/alone", needs=("libbar.so.1",))
    assert replay(alone, None, view, library_path=dirs).not_found == ((bar.path, "libfoo.so.1"),)


def test_the_same_file_under_two_names_is_mapped_once() -> None:
    store = nix_store()
    foo = store.library("libfoo-1.0", "libfoo.so.1", links=("libfoo.so",))
    root = store.program("/app/bin/tool", needs=("libfoo.so", "libfoo.so.1"))
    result = replay(root, None, view_of(store), library_path=[store.lib_dir("libfoo-1.0")])
    assert [(x.name, x.path) for x in result.libraries] == [("libfoo.so", foo.path)]


def test_the_library_path_order_makes_each_chosen_file_win() -> None:
    store = nix_store()
    # bundle-1.0 holds libbar and an old libfoo; libfoo-2.0 holds the libfoo wanted.
    lib(store, "bundle-1.0", "libfoo.so.1", defines=("FOO_1.0",))
    lib(store, "bundle-1.0", "libbar.so.1")
    lib(store, "libfoo-2.0", "libfoo.so.1", defines=("FOO_1.0", "FOO_2.0"))
    app = store.program(
        "/app/bin/tool",
        needs=("libbar.so.1", "libfoo.so.1", "libc.so.6"),
        version_needs={"libfoo.so.1": ("FOO_2.0",)},
    )
    solution = store.solve([app])
    assert not solution.needs_link_dir
    # bundle-1.0 is first asked for (libbar) but must come after libfoo-2.0's dir.
    assert solution.library_path == (
        store.lib_dir("libfoo-2.0"),
        store.lib_dir("bundle-1.0"),
        store.lib_dir("glibc-2.36"),
    )
    assert [(n, where) for n, where, _ in loaded(solution)] == [
        ("libbar.so.1", "bundle-1.0"),
        ("libfoo.so.1", "libfoo-2.0"),
        ("libc.so.6", "glibc-2.36"),
    ]


def test_order_library_path_directly() -> None:
    store = nix_store()
    a_foo = store.library("pkga-1.0", "libfoo.so.1").path
    a_bar = store.library("pkga-1.0", "libbar.so.1").path
    b_foo = store.library("pkgb-1.0", "libfoo.so.1").path
    view = view_of(store)
    a_dir, b_dir = store.lib_dir("pkga-1.0"), store.lib_dir("pkgb-1.0")
    assert order_library_path({"libfoo.so.1": a_foo, "libbar.so.1": a_bar}, view, []) == (a_dir,)
    chosen = {"libfoo.so.1": b_foo, "libbar.so.1": a_bar}
    assert order_library_path(chosen, view, ["libbar.so.1", "libfoo.so.1"]) == (b_dir, a_dir)
    # Unrelated directories keep first-use order.
    c = store.library("pkgc-1.0", "libc9.so.1").path
    chosen = {"libc9.so.1": c, "libbar.so.1": a_bar}
    assert order_library_path(chosen, view, ["libc9.so.1", "libbar.so.1"]) == (
        store.lib_dir("pkgc-1.0"),
        a_dir,
    )
    assert order_library_path(chosen, view, ["libbar.so.1", "libc9.so.1"]) == (
        a_dir,
        store.lib_dir("pkgc-1.0"),
    )


def cross_store() -> tuple[MemStore, ElfFacts]:
    """Two dirs each holding libx and liby; the app needs libx of one and liby of the other."""
    store = nix_store()
    lib(store, "pkga-1.0", "libx.so.1", defines=("X_2",))
    lib(store, "pkga-1.0", "liby.so.1", defines=("Y_1",))
    lib(store, "pkgb-1.0", "libx.so.1", defines=("X_1",))
    lib(store, "pkgb-1.0", "liby.so.1", defines=("Y_2",))
    app = store.program(
        "/app/bin/tool",
        needs=("libx.so.1", "liby.so.1", "libc.so.6"),
        version_needs={"libx.so.1": ("X_2",), "liby.so.1": ("Y_2",)},
    )
    return store, app


def test_a_cycle_between_directories_needs_a_link_directory() -> None:
    store, app = cross_store()
    solution = store.solve([app])
    assert solution.needs_link_dir
    assert solution.library_path == ()
    assert [(n, where) for n, where, _ in loaded(solution)] == [
        ("libx.so.1", "pkga-1.0"),
        ("liby.so.1", "pkgb-1.0"),
        ("libc.so.6", "glibc-2.36"),
    ]
    view = view_of(store, links=dict(solution.choices))
    assert view.names_in(LINK_DIR) == set(solution.choices)
    again = replay(app, solution.interpreter, view, library_path=[LINK_DIR])
    assert [(x.name, x.path) for x in again.libraries] == [
        (x.name, x.path) for x in solution.roots[0].libraries
    ]
    assert again.not_found == ()


def test_a_file_reachable_only_under_another_name_needs_a_link_directory() -> None:
    store = nix_store()
    foo = store.library("libfoo-1.0", "libfoo.so.1", file="libfoo.so.1.0.0")
    app = store.program("/app/bin/tool", needs=("libfoo.so.1",))
    solution = store.solve([app])
    assert solution.choices["libfoo.so.1"] == foo.path
    assert solution.needs_link_dir and solution.library_path == ()
    view = view_of(store)
    assert order_library_path({"libfoo.so.1": foo.path}, view, ["libfoo.so.1"]) is None


def test_nodeflib_skips_the_loaders_directory_but_not_the_library_path() -> None:
    store = nix_store()
    glibc_dir = store.lib_dir("glibc-2.36")
    interpreter = f"{glibc_dir}/ld-linux-x86-64.so.2"
    view = view_of(store)
    plain = store.program("/app/bin/plain", needs=("libc.so.6",))
    found = replay(plain, interpreter, view)
    assert [x.path for x in found.libraries] == [f"{glibc_dir}/libc.so.6"]
    strict = store.program("/app/bin/strict", needs=("libc.so.6",), nodeflib=True)
    assert replay(strict, interpreter, view).not_found == ((strict.path, "libc.so.6"),)
    on_path = replay(strict, interpreter, view, library_path=[glibc_dir])
    assert [x.path for x in on_path.libraries] == [f"{glibc_dir}/libc.so.6"]
    solution = store.solve([strict])
    assert solution.choices["libc.so.6"] == f"{glibc_dir}/libc.so.6"


def test_host_directories_take_no_part_in_the_replay() -> None:
    store = nix_store()
    store.bundled("/usr/lib/libfoo.so.1")  # the host's own: not there on NixOS
    root = store.program("/app/bin/tool", needs=("libfoo.so.1",), rpath="/usr/lib")
    result = replay(root, None, view_of(store))
    assert result.not_found == ((root.path, "libfoo.so.1"),)
    # ...unless they are the app's own (its tree, named as such).
    mine = replay(root, None, view_of(store, "/usr/lib"))
    assert [x.path for x in mine.libraries] == ["/usr/lib/libfoo.so.1"]


def test_a_store_librarys_own_runpath_serves_its_needs_whatever_the_library_path() -> None:
    store = nix_store()
    lib(store, "libdep-1.0", "libdep.so.1")
    lib(store, "libdep-2.0", "libdep.so.1")
    lib(store, "libfoo-1.0", "libfoo.so.1", "libdep.so.1", refs=("libdep-1.0",))
    app = store.program("/app/bin/tool", needs=("libfoo.so.1", "libc.so.6"))
    solution = store.solve([app])
    assert [(n, where) for n, where, _ in loaded(solution)] == [
        ("libfoo.so.1", "libfoo-1.0"),
        ("libc.so.6", "glibc-2.36"),
        ("libdep.so.1", "libdep-1.0"),
    ]
    # The root's own needs decide the RUNPATH delivery; libdep stays libfoo's business.
    runpath = store.solve([app], delivery="runpath")
    assert runpath.delivery is Delivery.RUNPATH
    assert runpath.runpath == (store.lib_dir("libfoo-1.0"), store.lib_dir("glibc-2.36"))
    assert runpath.roots == solution.roots


def test_runpath_delivery_keeps_the_origin_entries_of_bundled_libraries() -> None:
    store = nix_store()
    lib(store, "libz-1.0", "libz.so.1")
    own = store.bundled("/app/lib/libown.so.1", needs=("libz.so.1", "libc.so.6"))
    app = store.program(
        "/app/bin/tool", needs=("libown.so.1", "libc.so.6"), runpath="$ORIGIN/../lib"
    )
    solution = store.solve([app], delivery="runpath")
    assert not solution.needs_link_dir
    assert solution.runpath == (store.lib_dir("glibc-2.36"), store.lib_dir("libz-1.0"))
    assert loaded(solution) == [
        ("libown.so.1", "/app/lib/libown.so.1", "tool"),
        ("libc.so.6", "glibc-2.36", "tool"),
        ("libz.so.1", "libz-1.0", "libown.so.1"),
    ]
    assert loaded(solution)[0][1] == own.path
    # The library path delivery serves the same files.
    assert loaded(store.solve([app])) == loaded(solution)


def test_a_store_librarys_dt_needed_path_is_opened_as_written() -> None:
    store = nix_store()
    dep = lib(store, "libdep-1.0", "libdep.so.1")
    lib(store, "libfoo-1.0", "libfoo.so.1", dep, refs=("libdep-1.0",))
    app = store.program("/app/bin/tool", needs=("libfoo.so.1", "libc.so.6"))
    solution = store.solve([app])
    assert loaded(solution) == [
        ("libfoo.so.1", "libfoo-1.0", "tool"),
        ("libc.so.6", "glibc-2.36", "tool"),
        (dep, "libdep-1.0", "libfoo.so.1"),
    ]


def test_a_dt_needed_path_needs_no_link_directory() -> None:
    store = nix_store()
    dep = lib(store, "libdep-1.0", "libdep.so.1")
    lib(store, "libfoo-1.0", "libfoo.so.1", dep, refs=("libdep-1.0",))
    app = store.program("/app/bin/tool", needs=("libfoo.so.1", "libc.so.6"))
    solution = store.solve([app])
    assert not solution.needs_link_dir
    assert solution.library_path[:2] == (store.lib_dir("libfoo-1.0"), store.lib_dir("glibc-2.36"))


def test_a_foreign_dt_needed_naming_a_store_file_is_served_by_it() -> None:
    store = nix_store()
    dep = lib(store, "libdep-1.0", "libdep.so.1")
    app = store.program("/app/bin/tool", needs=(dep, "libc.so.6"))
    solution = store.solve([app])
    assert solution.choices[dep] == dep
    assert loaded(solution)[0] == (dep, "libdep-1.0", "tool")


def test_a_foreign_dt_needed_naming_a_bundled_file_loads_it() -> None:
    store = nix_store()
    own = store.bundled("/app/lib/libown.so.1", needs=("libc.so.6",))
    app = store.program("/app/bin/tool", needs=(own.path, "libc.so.6"))
    solution = store.solve([app])
    assert loaded(solution) == [
        (own.path, own.path, "tool"),
        ("libc.so.6", "glibc-2.36", "tool"),
    ]


def test_the_executables_rpath_reaches_store_libraries_without_runpath() -> None:
    store = nix_store()
    store.library("libdep-1.0", "libdep.so.1")
    store.library("libfoo-1.0", "libfoo.so.1", needs=("libdep.so.1",))  # Debian-style
    store.bundled("/app/lib/libown.so.1")
    store.bundled("/app/lib/libdep.so.1")
    app = store.program(
        "/app/bin/tool", needs=("libown.so.1", "libfoo.so.1"), rpath="$ORIGIN/../lib"
    )
    solution = store.solve([app])
    # ld.so finds libfoo's libdep.so.1 through the program's RPATH: the bundled copy.
    assert solution.choices["libdep.so.1"] == "/app/lib/libdep.so.1"
