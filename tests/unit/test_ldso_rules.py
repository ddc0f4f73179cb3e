"""glibc's loader rules as autopatchelf models them (search paths, loading, machines)."""

from __future__ import annotations

import os
from collections.abc import Mapping

import pytest
from memstore import AARCH64, I386, X86_64, Arch, make_facts

from autopatchelf.elf.facts import ElfFacts
from autopatchelf.elf.records import ElfClass, Endian
from autopatchelf.ldso import glibc, machines, search
from autopatchelf.ldso.load import load_order
from autopatchelf.ldso.search import Entry, Tag

X32 = Arch(62, ElfClass.ELF32)


def obj(
    path: str,
    *,
    runpath: str | None = None,
    rpath: str | None = None,
    needs: tuple[str, ...] = (),
    nodeflib: bool = False,
    arch: Arch = X86_64,
    soname: str | None = None,
) -> ElfFacts:
    return make_facts(
        path,
        arch=arch,
        runpath=runpath,
        rpath=rpath,
        needs=needs,
        nodeflib=nodeflib,
        soname=soname,
    )


def dirs_of(entries: tuple[Entry, ...]) -> list[str | None]:
    return [e.directory for e in entries]


# -- splitting and tokens --------------------------------------------------------------------


def test_runpath_splits_on_colon_only_the_library_path_on_semicolon_too() -> None:
    assert search.split("/a:/b;/c") == ("/a", "/b;/c")
    assert search.split("/a:/b;/c", Tag.RPATH) == ("/a", "/b;/c")
    assert search.split("/a:/b;/c", Tag.LIBRARY_PATH) == ("/a", "/b", "/c")
    assert search.split("/a::/b") == ("/a", "", "/b")
    assert search.split("") == ("",)
    assert search.split(None) == ()


def test_origin_expands_to_the_objects_directory_in_both_spellings() -> None:
    m = search.machine_for(None)
    assert search.expand("$ORIGIN/../lib", "/app/bin", m) == ("/app/bin/../lib",)
    assert search.expand("${ORIGIN}/lib", "/app/bin", m) == ("/app/bin/lib",)
    assert search.expand("$ORIGIN", "/app/bin", m) == ("/app/bin",)
    assert search.expand("/opt/${ORIGIN}x", "/o", m) == ("/opt//ox",)


def test_lib_is_lib_for_the_loader_and_every_spelling_for_indexing() -> None:
    x86_64 = machines.machine_of(X86_64)
    i386 = machines.machine_of(I386)
    assert x86_64 is not None and i386 is not None
    assert search.expand("/opt/$LIB", "/", x86_64) == ("/opt/lib",)
    assert search.expand("/opt/${LIB}/x", "/", x86_64) == ("/opt/lib/x",)
    assert search.expand("/opt/$LIB", "/", x86_64, every=True) == ("/opt/lib64", "/opt/lib")
    assert search.expand("/opt/$LIB", "/", i386, every=True) == ("/opt/lib", "/opt/lib32")


def test_platform_is_at_platform_and_every_value_glibc_may_pick() -> None:
    x86_64 = machines.machine_of(X86_64)
    i386 = machines.machine_of(I386)
    assert x86_64 is not None and i386 is not None
    assert search.expand("/opt/$PLATFORM", "/", x86_64) == ("/opt/x86_64",)
    assert search.expand("/opt/$PLATFORM", "/", x86_64, every=True) == (
        "/opt/x86_64",
        "/opt/haswell",
        "/opt/xeon_phi",
    )
    assert search.expand("/opt/${PLATFORM}", "/", i386) == ("/opt/i686",)
    # Tokens combine: every ($LIB, $PLATFORM) pair.
    combined = search.expand("$ORIGIN/$LIB/$PLATFORM", "/app", x86_64, every=True)
    assert len(combined) == 6 and combined[0] == "/app/lib64/x86_64"


def test_a_dollar_not_starting_a_token_is_kept_literally() -> None:
    m = search.machine_for(None)
    assert search.expand("/opt/$ORIGINAL", "/app", m) == ("/opt/$ORIGINAL",)
    assert search.expand("/opt/$LIBRARY/$HOME", "/app", m) == ("/opt/$LIBRARY/$HOME",)
    assert search.expand("/opt/${ORIGIN_X}", "/app", m) == ("/opt/${ORIGIN_X}",)
    assert not search.has_dst("/opt/$ORIGINAL")
    assert search.has_dst("/opt/$ORIGIN") and search.has_dst("${LIB}")
    assert search.has_dst("/x/$PLATFORM/y")


def test_empty_and_relative_elements_name_no_directory() -> None:
    m = search.machine_for(None)
    for element in ("", "lib", "./lib", "../lib", "$ORIGINAL/lib"):
        assert search.expand(element, "/app/bin", m) == (), element
    facts = obj("/app/bin/tool", runpath=":lib:$ORIGIN")
    entries = search.own_entries(facts)
    assert [(e.raw, e.directory) for e in entries] == [
        ("", None),
        ("lib", None),
        ("$ORIGIN", "/app/bin"),
    ]
    assert [e.origin_relative for e in entries] == [False, False, True]
    assert all(e.owner == "/app/bin/tool" and e.tag is Tag.RUNPATH for e in entries)


def test_machine_for_unknown_objects_is_x86_of_their_class() -> None:
    assert search.machine_for(None).loader == "ld-linux-x86-64.so.2"
    assert search.machine_for(None, ElfClass.ELF32).loader == "ld-linux.so.2"
    odd = obj("/x", arch=Arch(99, ElfClass.ELF32))
    assert search.machine_for(odd).loader == "ld-linux.so.2"
    assert search.machine_for(obj("/y", arch=AARCH64)).platforms == ("aarch64",)


# -- which list is searched ------------------------------------------------------------------


def test_runpath_hides_rpath() -> None:
    both = obj("/app/bin/tool", runpath="/run", rpath="/r")
    assert search.own_search_path(both) == ("/run", Tag.RUNPATH)
    assert dirs_of(search.own_entries(both)) == ["/run"]
    assert search.rpath_entries(both) == ()
    assert dirs_of(search.runpath_entries(both)) == ["/run"]
    old = obj("/app/bin/tool", rpath="/r")
    assert search.own_search_path(old) == ("/r", Tag.RPATH)
    assert dirs_of(search.own_entries(old)) == ["/r"]
    assert search.runpath_entries(old) == ()


def test_own_entries_take_origin_from_where_the_object_was_found() -> None:
    facts = obj("/nix/store/x-a/lib/liba.so", runpath="$ORIGIN/../share")
    assert dirs_of(search.own_entries(facts)) == ["/nix/store/x-a/lib/../share"]
    assert dirs_of(search.own_entries(facts, origin="/links")) == ["/links/../share"]


def test_rpath_is_inherited_from_the_loading_chain_only_without_runpath() -> None:
    main = obj("/app/bin/tool", rpath="/main")
    mid = obj("/app/lib/libmid.so", rpath="/mid")
    leaf = obj("/app/lib/libleaf.so", rpath="/leaf")
    assert dirs_of(search.rpath_entries(leaf, (mid, main))) == ["/leaf", "/mid", "/main"]
    # An object with a RUNPATH in the chain contributes nothing; those above it still do.
    mid_run = obj("/app/lib/libmid.so", runpath="/midrun", rpath="/mid")
    assert dirs_of(search.rpath_entries(leaf, (mid_run, main))) == ["/leaf", "/main"]
    # A requester with a RUNPATH inherits no RPATH at all.
    leaf_run = obj("/app/lib/libleaf.so", runpath="/leafrun")
    assert search.rpath_entries(leaf_run, (mid, main)) == ()
    assert dirs_of(search.object_entries(leaf_run, (mid, main))) == ["/leafrun"]
    assert dirs_of(search.object_entries(leaf, (mid, main))) == ["/leaf", "/mid", "/main"]


def test_the_executables_rpath_is_searched_even_from_outside_the_chain() -> None:
    main = obj("/app/bin/tool", rpath="/main")
    plugin = obj("/app/lib/plugin.so")
    assert dirs_of(search.rpath_entries(plugin, (), main=main)) == ["/main"]
    assert dirs_of(search.rpath_entries(plugin, (main,), main=main)) == ["/main"]  # once


def test_inherited_origin_is_the_owners_directory() -> None:
    main = obj("/app/bin/tool", rpath="$ORIGIN/../lib")
    leaf = obj("/app/lib/sub/libleaf.so", rpath="$ORIGIN")
    entries = search.rpath_entries(leaf, (main,))
    assert [(e.directory, e.owner) for e in entries] == [
        ("/app/lib/sub", leaf.path),
        ("/app/bin/../lib", main.path),
    ]


def test_search_order_is_rpath_library_path_runpath_then_default_dirs() -> None:
    main = obj("/app/bin/tool", rpath="/main")
    leaf = obj("/app/lib/libleaf.so", rpath="/leaf")
    order = search.search_order(
        leaf, (main,), library_path=("/lp1", "/lp2"), default_dirs=("/deflt",)
    )
    assert order == ("/leaf", "/main", "/lp1", "/lp2", "/deflt")
    run = obj("/app/lib/librun.so", runpath="/run", rpath="/ignored")
    assert search.search_order(run, (main,), library_path=("/lp",), default_dirs=("/deflt",)) == (
        "/lp",
        "/run",
        "/deflt",
    )


def test_nodeflib_skips_the_default_directories_only() -> None:
    strict = obj("/app/bin/tool", runpath="/run", nodeflib=True)
    assert strict.nodeflib
    assert search.search_order(strict, library_path=("/lp",), default_dirs=("/deflt",)) == (
        "/lp",
        "/run",
    )


def test_a_patched_runpath_replaces_the_objects_own_and_silences_rpath() -> None:
    main = obj("/app/bin/tool", rpath="/main")
    leaf = obj("/app/lib/libleaf.so", rpath="/leaf", runpath=None)
    order = search.search_order(leaf, (main,), runpath=("/patched",), default_dirs=("/d",))
    assert order == ("/patched", "/d")
    assert search.search_order(leaf, (main,), runpath=()) == ()


def test_relative_elements_are_left_out_of_the_search_order() -> None:
    facts = obj("/app/bin/tool", rpath=":lib:/abs")
    assert search.search_order(facts) == ("/abs",)


def test_library_path_origin_is_the_executables_directory() -> None:
    main = obj("/app/bin/tool")
    entries = search.library_path_entries("$ORIGIN/../lib;/opt/lib:rel", main)
    assert dirs_of(entries) == ["/app/bin/../lib", "/opt/lib", None]
    assert all(e.owner == "" and e.tag is Tag.LIBRARY_PATH for e in entries)
    plain = search.library_path_entries("/opt//lib/;rel", None)
    assert dirs_of(plain) == ["/opt/lib", None]
    assert search.library_path_entries(None, main) == ()


def test_host_lib_dirs() -> None:
    for directory in ("/lib", "/lib64", "/usr/lib", "/usr/lib/x86_64-linux-gnu", "/usr/local/lib"):
        assert search.is_host_lib_dir(directory), directory
    for directory in ("/usr/libexec", "/opt/lib", "/libfoo", "/nix/store/x-a/lib", "/usr"):
        assert not search.is_host_lib_dir(directory), directory


# -- writing search paths back ---------------------------------------------------------------


def test_unsafe_reason_refuses_what_ld_so_would_split_or_substitute() -> None:
    assert search.unsafe_reason("/nix/store/x-a/lib", Tag.RUNPATH) is None
    assert "absolute" in (search.unsafe_reason("lib", Tag.RUNPATH) or "")
    assert "absolute" in (search.unsafe_reason("", Tag.LIBRARY_PATH) or "")
    assert "':'" in (search.unsafe_reason("/a:b", Tag.RPATH) or "")
    assert "';'" in (search.unsafe_reason("/a;b", Tag.LIBRARY_PATH) or "")
    assert search.unsafe_reason("/a;b", Tag.RUNPATH) is None  # ';' only splits a library path
    for token in ("$ORIGIN", "${ORIGIN}", "$LIB", "$PLATFORM"):
        assert "'$'" in (search.unsafe_reason(f"/opt/{token}", Tag.RUNPATH) or ""), token
    assert search.unsafe_reason("/opt/$ORIGINAL", Tag.RUNPATH) is None
    assert "NUL" in (search.unsafe_reason("/a\0b", Tag.RUNPATH) or "")


def test_join_writes_exactly_the_directories_or_refuses() -> None:
    assert search.join(["/a", "/b"], Tag.RUNPATH) == "/a:/b"
    assert search.join([], Tag.RUNPATH) == ""
    assert search.join(["/a;b"], Tag.RUNPATH) == "/a;b"
    joined = search.join(["/x", "/a;b"], Tag.RUNPATH)
    assert search.split(joined, Tag.RUNPATH) == ("/x", "/a;b")
    for bad, tag in (
        ("/a;b", Tag.LIBRARY_PATH),
        ("/a:b", Tag.RUNPATH),
        ("rel", Tag.RPATH),
        ("/o/$ORIGIN", Tag.RUNPATH),
    ):
        with pytest.raises(ValueError, match="cannot be in a"):
            search.join(["/fine", bad], tag)


# -- the load order --------------------------------------------------------------------------


class DictFinder:
    """A file system of ELF objects: directory -> name -> facts (real path = facts.path)."""

    def __init__(self, *objects: ElfFacts, links: Mapping[str, ElfFacts] | None = None) -> None:
        self.tree: dict[str, dict[str, ElfFacts]] = {}
        for facts in objects:
            self.add(facts.path, facts)
        for path, facts in (links or {}).items():
            self.add(path, facts)
        self.asked: list[tuple[str, str]] = []

    def add(self, path: str, facts: ElfFacts) -> None:
        self.tree.setdefault(os.path.dirname(path), {})[os.path.basename(path)] = facts

    def find(self, directory: str, name: str) -> tuple[str, ElfFacts] | None:
        self.asked.append((directory, name))
        facts = self.tree.get(os.path.normpath(directory), {}).get(name)
        return (facts.path, facts) if facts is not None else None

    def facts(self, path: str) -> ElfFacts:
        return self.tree[os.path.dirname(path)][os.path.basename(path)]


def mapped(order: object) -> list[tuple[str, str, str]]:
    return [(m.name, m.path, m.requested_by) for m in order.mapped]  # type: ignore[attr-defined]


def test_load_order_is_breadth_first_with_inherited_rpath() -> None:
    main = obj("/app/bin/tool", rpath="/app/lib", needs=("liba.so", "libb.so"))
    liba = obj("/app/lib/liba.so", needs=("libc1.so",))
    libb = obj("/app/lib/libb.so", needs=("libc1.so", "libd.so"))
    libc1 = obj("/app/lib/libc1.so")
    libd = obj("/app/lib/libd.so")
    order = load_order(main, DictFinder(liba, libb, libc1, libd))
    assert mapped(order) == [
        ("liba.so", liba.path, main.path),
        ("libb.so", libb.path, main.path),
        ("libc1.so", libc1.path, liba.path),
        ("libd.so", libd.path, libb.path),
    ]
    assert order.not_found == ()


def test_a_library_with_runpath_does_not_inherit_the_programs_rpath() -> None:
    main = obj("/app/bin/tool", rpath="/app/lib", needs=("liba.so",))
    liba = obj("/app/lib/liba.so", runpath="/nowhere", needs=("libdep.so",))
    libdep = obj("/app/lib/libdep.so")
    order = load_order(main, DictFinder(liba, libdep))
    assert mapped(order) == [("liba.so", liba.path, main.path)]
    assert order.not_found == ((liba.path, "libdep.so"),)
    # ...nor does its RUNPATH serve its own needs when the program has a RUNPATH instead.
    main_run = obj("/app/bin/tool", runpath="/app/lib", needs=("liba.so",))
    liba_plain = obj("/app/lib/liba.so", needs=("libdep.so",))
    order = load_order(main_run, DictFinder(liba_plain, libdep))
    assert order.not_found == ((liba_plain.path, "libdep.so"),)


def test_names_are_reused_by_name_and_soname_and_the_interpreter_is_preloaded() -> None:
    loader = obj("/glibc/lib/ld-linux-x86-64.so.2", soname="ld-linux-x86-64.so.2")
    libc = obj("/glibc/lib/libc.so.6", soname="libc.so.6", needs=("ld-linux-x86-64.so.2",))
    foo = obj("/app/lib/libfoo.so.1.2", soname="libfoo.so.1", needs=("libc.so.6",))
    bar = obj("/app/lib/libbar.so", needs=("libfoo.so.1", "libc.so.6"))
    main = obj("/app/bin/tool", rpath="/app/lib", needs=("libfoo.so.1.2", "libbar.so"))
    finder = DictFinder(loader, libc, foo, bar)
    order = load_order(main, finder, interpreter=loader.path)
    assert mapped(order) == [
        ("libfoo.so.1.2", foo.path, main.path),
        ("libbar.so", bar.path, main.path),
        ("libc.so.6", libc.path, foo.path),  # found in the loader's dir (the default)
    ]
    assert order.not_found == ()
    # libfoo.so.1 (libfoo.so.1.2's soname) and the loader were never searched for.
    assert all(name not in ("libfoo.so.1", "ld-linux-x86-64.so.2") for _, name in finder.asked)


def test_the_same_file_under_two_names_is_one_object() -> None:
    real = obj("/app/lib/libfoo.so.1.0")
    main = obj("/app/bin/tool", rpath="/app/lib", needs=("libfoo.so", "libfoo.so.1"))
    finder = DictFinder(real, links={"/app/lib/libfoo.so": real, "/app/lib/libfoo.so.1": real})
    order = load_order(main, finder)
    assert mapped(order) == [("libfoo.so", real.path, main.path)]


def test_a_name_with_a_slash_is_opened_never_searched() -> None:
    dep = obj("/opt/x/libdep.so")
    main = obj("/app/bin/tool", rpath="/elsewhere", needs=("/opt/x/libdep.so",))
    finder = DictFinder(dep, obj("/elsewhere/libdep.so"))
    order = load_order(main, finder)
    assert mapped(order) == [("/opt/x/libdep.so", dep.path, main.path)]
    assert finder.asked == [("/opt/x", "libdep.so")]


def test_a_candidate_of_another_class_or_machine_is_skipped_and_the_search_goes_on() -> None:
    wrong = obj("/first/libfoo.so", arch=I386)
    other = obj("/second/libfoo.so", arch=AARCH64)
    good = obj("/third/libfoo.so")
    main = obj("/app/bin/tool", rpath="/first:/second:/third", needs=("libfoo.so",))
    order = load_order(main, DictFinder(wrong, other, good))
    assert mapped(order) == [("libfoo.so", good.path, main.path)]


def test_library_path_overrides_and_renames_are_applied() -> None:
    old = obj("/opt/old/libfoo.so.1")
    new = obj("/opt/new/libfoo.so.2")
    main = obj("/app/bin/tool", rpath="/opt/old", needs=("libfoo.so.1",))
    finder = DictFinder(old, new)
    assert mapped(load_order(main, finder)) == [("libfoo.so.1", old.path, main.path)]
    renamed = load_order(
        main,
        finder,
        renames={main.path: {"libfoo.so.1": "libfoo.so.2"}},
        runpath_override=lambda o: ("/opt/new",) if o.path == main.path else None,
    )
    assert mapped(renamed) == [("libfoo.so.1", new.path, main.path)]
    by_path = load_order(
        main,
        finder,
        library_path=lambda name: ("/opt/new",),
        renames={main.path: {"libfoo.so.1": "libfoo.so.2"}},
    )
    # RPATH comes first but holds no libfoo.so.2; the library path does.
    assert mapped(by_path) == [("libfoo.so.1", new.path, main.path)]


def test_nodeflib_of_the_requester_hides_the_loaders_directory() -> None:
    loader = obj("/glibc/lib/ld-linux-x86-64.so.2", soname="ld-linux-x86-64.so.2")
    libc = obj("/glibc/lib/libc.so.6", soname="libc.so.6")
    plain = obj("/app/bin/tool", needs=("libc.so.6",))
    strict = obj("/app/bin/strict", needs=("libc.so.6",), nodeflib=True)
    finder = DictFinder(loader, libc)
    assert mapped(load_order(plain, finder, interpreter=loader.path)) == [
        ("libc.so.6", libc.path, plain.path)
    ]
    assert load_order(strict, finder, interpreter=loader.path).not_found == (
        (strict.path, "libc.so.6"),
    )


# -- machines --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arch", "loader", "system", "label"),
    [
        (X86_64, "ld-linux-x86-64.so.2", "x86_64-linux", "x86-64 (64-bit)"),
        (I386, "ld-linux.so.2", "i686-linux", "i386 (32-bit)"),
        (X32, "ld-linux-x32.so.2", None, "x86-64 x32 (32-bit)"),
        (AARCH64, "ld-linux-aarch64.so.1", "aarch64-linux", "aarch64 (64-bit)"),
        (Arch(40, ElfClass.ELF32), "ld-linux-armhf.so.3", "armv7l-linux", "arm (32-bit)"),
        (
            Arch(243, ElfClass.ELF64),
            "ld-linux-riscv64-lp64d.so.1",
            "riscv64-linux",
            "riscv (64-bit)",
        ),
    ],
)
def test_machines_know_their_loader_nix_system_and_label(
    arch: Arch, loader: str, system: str | None, label: str
) -> None:
    assert machines.loader_name(arch) == loader
    assert machines.nix_system(arch) == system
    assert machines.arch_label(arch) == label


def test_unknown_machines_have_no_loader_and_a_readable_label() -> None:
    for arch, label in (
        (Arch(183, ElfClass.ELF32), "aarch64 (32-bit)"),
        (Arch(8, ElfClass.ELF32), "mips (32-bit)"),
        (Arch(99, ElfClass.ELF64), "machine 99 (64-bit)"),
    ):
        assert machines.machine_of(arch) is None
        assert machines.loader_name(arch) is None and machines.nix_system(arch) is None
        assert machines.arch_label(arch) == label


def test_compatibility_is_class_byte_order_machine_and_a_linux_os_abi() -> None:
    root = obj("/app/bin/tool")
    assert machines.compatible(root, obj("/x"))
    assert machines.incompatibility(root, obj("/x", arch=I386)) == (
        "it is ELF32, the program is ELF64"
    )
    assert machines.incompatibility(root, obj("/x", arch=X32)) == (
        "it is ELF32, the program is ELF64"
    )
    big = Arch(62, ElfClass.ELF64, Endian.BIG)
    assert machines.incompatibility(root, obj("/x", arch=big)) == "its byte order differs"
    assert machines.incompatibility(root, obj("/x", arch=Arch(183, ElfClass.ELF64))) == (
        "it is for machine 183, the program for 62"
    )
    gnu = make_facts("/x", osabi=3)
    freebsd = make_facts("/x", osabi=9)
    assert machines.compatible(root, gnu) and machines.compatible(gnu, root)
    assert machines.incompatibility(root, freebsd) == "its OS ABI 9 differs"
    assert machines.compatible(freebsd, make_facts("/y", osabi=9))


def test_standard_lib_dirs_cover_nix_fhs_and_multiarch_layouts() -> None:
    dirs = machines.standard_lib_dirs()
    assert dirs[:4] == ("lib", "lib64", "usr/lib", "usr/lib64")
    assert "lib/x86_64-linux-gnu" in dirs and "usr/lib/i386-linux-gnu" in dirs
    assert "usr/lib/aarch64-linux-gnu" in dirs
    assert "lib/x86_64-linux-gnux32" not in dirs  # no Nix system: no store path has it
    assert len(dirs) == len(set(dirs))


# -- glibc -----------------------------------------------------------------------------------


def test_glibc_names_and_versions() -> None:
    for name in ("libc.so.6", "libm.so.6", "libpthread.so.0", "ld-linux-x86-64.so.2"):
        assert glibc.is_glibc_name(name), name
    assert glibc.is_glibc_name("libnss_files.so.2")
    assert not glibc.is_glibc_name("libstdc++.so.6") and not glibc.is_glibc_name("libz.so.1")
    assert glibc.parse_glibc_version("GLIBC_2.38") == (2, 38)
    assert glibc.parse_glibc_version("GLIBC_2.2.5") == (2, 2, 5)
    assert glibc.parse_glibc_version("GLIBC_PRIVATE") is None
    assert glibc.parse_glibc_version("GLIBCXX_3.4") is None
    assert glibc.version_text((2, 41)) == "2.41"


def test_highest_glibc_need_ignores_weak_and_other_files() -> None:
    facts = make_facts(
        "/app/bin/tool",
        needs=("libc.so.6", "libm.so.6"),
        version_needs={
            "libc.so.6": ("GLIBC_2.2.5", "GLIBC_2.17", "GLIBC_2.38", "GLIBC_PRIVATE"),
            "libm.so.6": ("GLIBC_2.40",),
        },
        weak=("GLIBC_2.38",),
    )
    assert glibc.highest_glibc_need(facts, "libc.so.6") == "GLIBC_2.17"
    assert glibc.highest_glibc_need(facts, "libm.so.6") == "GLIBC_2.40"
    assert glibc.highest_glibc_need(facts, "libz.so.1") is None
    libc = make_facts(
        "/g/libc.so.6", soname="libc.so.6", defines=("GLIBC_2.2.5", "GLIBC_2.10", "GLIBC_2.9")
    )
    assert glibc.glibc_version(libc) == (2, 10)  # numerically, not as text
    assert glibc.glibc_version(make_facts("/g/libz.so.1")) == ()
