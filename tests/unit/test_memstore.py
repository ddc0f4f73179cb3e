"""The in-memory store is honest: it answers like the real index, with real facts."""

from __future__ import annotations

import inspect
import os

import attrs
import pytest
from memstore import (
    I386,
    NIX_BASE32,
    MemFile,
    MemFiles,
    MemStore,
    elf_hash,
    glibc_versions,
    make_facts,
    store_hash,
    store_path,
)

from autopatchelf.elf.facts import ElfFacts
from autopatchelf.elf.records import DefinedSymbol, UndefinedSymbol
from autopatchelf.errors import ElfError
from autopatchelf.ldso.glibc import glibc_version
from autopatchelf.problem.source import DiskFiles, ForeignFiles, LibrarySource, StoreFile
from autopatchelf.store.path import parse_store_path

HOST_LIBC = "/usr/lib/x86_64-linux-gnu/libc.so.6"


def test_store_paths_are_real_looking_and_deterministic() -> None:
    path = store_path("libfoo-2.0")
    assert path == store_path("libfoo-2.0")
    assert path != store_path("libfoo-2.1")
    parsed = parse_store_path(path)
    assert parsed is not None
    assert parsed.store_dir == "/nix/store"
    assert len(parsed.hash) == 32 and set(parsed.hash) <= set(NIX_BASE32)
    assert (parsed.name, parsed.version) == ("libfoo", "2.0")
    assert store_hash("libfoo-2.0") == parsed.hash
    assert not set("eotu") & set(store_hash("x" * 40))


@pytest.mark.parametrize(
    ("protocol", "implementation"),
    [(LibrarySource, MemStore), (ForeignFiles, MemFiles), (ForeignFiles, DiskFiles)],
)
def test_the_helpers_implement_every_protocol_method_with_its_parameters(
    protocol: type, implementation: type
) -> None:
    methods = [n for n, v in vars(protocol).items() if callable(v) and not n.startswith("_")]
    assert methods
    for name in methods:
        wanted = list(inspect.signature(getattr(protocol, name)).parameters)
        assert list(inspect.signature(getattr(implementation, name)).parameters) == wanted, name


def test_memory_files_carry_what_the_store_file_protocol_asks() -> None:
    wanted = {n for n, v in vars(StoreFile).items() if isinstance(v, property)}
    assert wanted == {"path", "store_path", "facts"}
    assert wanted <= set(attrs.fields_dict(MemFile))


def test_names_answer_by_file_name_link_name_and_soname_lookup_by_entry_only() -> None:
    store = MemStore()
    lib = store.library("libfoo-2.0", "libfoo.so.1", file="libfoo.so.1.2.3", links=("libfoo.so",))
    directory = store.lib_dir("libfoo-2.0")
    assert lib.path == f"{directory}/libfoo.so.1.2.3"
    assert lib.store_path == store.path("libfoo-2.0")
    for name in ("libfoo.so.1", "libfoo.so.1.2.3", "libfoo.so"):
        assert store.candidates(name) == [lib]
    # ld.so opens entries of a directory: the soname alone is no entry there.
    assert store.lookup(directory, "libfoo.so.1") is None
    assert store.lookup(directory, "libfoo.so") == lib
    assert store.lookup(directory + "/", "libfoo.so.1.2.3") == lib
    assert store.entry_names(directory) == ("libfoo.so", "libfoo.so.1.2.3")
    assert store.names() == ("libfoo.so", "libfoo.so.1", "libfoo.so.1.2.3")
    assert store.entry_names("/nix/store/nothing") == ()


def test_candidates_come_by_name_then_version_then_hash() -> None:
    store = MemStore()
    newer = store.library("libfoo-1.10", "libfoo.so.1")
    older = store.library("libfoo-1.9", "libfoo.so.1")
    other = store.library("alpha-3", "libfoo.so.1")
    assert store.candidates("libfoo.so.1") == [other, older, newer]
    assert store.version_of(newer.store_path) > store.version_of(older.store_path)
    assert store.label(newer.store_path) == "libfoo-1.10"
    assert store.label("/somewhere/else") == "/somewhere/else"
    assert store.version_of("/somewhere/else") == ()


def test_a_librarys_runpath_is_its_references_lib_dirs_and_decides_its_needs() -> None:
    store = MemStore()
    store.library("libdep-1.0", "libdep.so.1")
    dep2 = store.library("libdep-2.0", "libdep.so.1")
    lib = store.library("libfoo-1.0", "libfoo.so.1", needs=("libdep.so.1",), refs=("libdep-2.0",))
    assert lib.facts.runpath == store.lib_dir("libdep-2.0")
    assert store.resolve_needed(lib, "libdep.so.1") == dep2
    assert store.resolve_needed(lib, "libother.so.1") is None
    none = store.library("libbar-1.0", "libbar.so.1", needs=("libdep.so.1",))
    assert none.facts.runpath is None
    assert store.resolve_needed(none, "libdep.so.1") is None


def test_resolve_needed_takes_the_first_store_dir_expands_origin_and_falls_back_to_rpath() -> None:
    store = MemStore()
    dep1 = store.library("libdep-1.0", "libdep.so.1")
    dep2 = store.library("libdep-2.0", "libdep.so.1")
    order = f"/usr/lib:{store.lib_dir('libdep-1.0')}:{store.lib_dir('libdep-2.0')}"
    first = store.library("liba-1.0", "liba.so.1", runpath=order)
    assert store.resolve_needed(first, "libdep.so.1") == dep1
    sibling = store.library("libdep-2.0", "libdep-helper.so.1", runpath="$ORIGIN")
    assert store.resolve_needed(sibling, "libdep.so.1") == dep2
    old_style = store.library(
        "libb-1.0", "libb.so.1", runpath=None, rpath=store.lib_dir("libdep-2.0")
    )
    assert store.resolve_needed(old_style, "libdep.so.1") == dep2
    # RUNPATH, when there is one, hides RPATH.
    both = store.library(
        "libc2-1.0",
        "libc2.so.1",
        runpath=store.lib_dir("libdep-1.0"),
        rpath=store.lib_dir("libdep-2.0"),
    )
    assert store.resolve_needed(both, "libdep.so.1") == dep1


def test_closure_is_transitive_and_holds_the_path_itself() -> None:
    store = MemStore()
    store.library("libc-x-1", "libx.so.1")
    store.library("libdep-1.0", "libdep.so.1", refs=("libc-x-1",))
    store.library("libfoo-1.0", "libfoo.so.1", refs=("libdep-1.0",))
    assert store.closure(store.path("libfoo-1.0")) == {
        store.path("libfoo-1.0"),
        store.path("libdep-1.0"),
        store.path("libc-x-1"),
    }
    assert store.closure(store.path("libc-x-1")) == {store.path("libc-x-1")}


def test_is_store_path_wants_a_store_basename() -> None:
    store = MemStore()
    assert store.is_store_path(store.path("libfoo-1.0") + "/lib")
    assert store.is_store_path(store.path("libfoo-1.0"))
    assert not store.is_store_path("/nix/store")
    assert not store.is_store_path("/nix/store/not-a-hash/lib")
    assert not store.is_store_path("/usr/lib")


def test_a_symlink_farm_lends_its_names_to_the_real_file() -> None:
    store = MemStore()
    lib = store.library("libfoo-1.0", "libfoo.so.1")
    store.link("env-1", "lib/libfoo.so.1", lib)
    env_dir = store.lib_dir("env-1")
    assert store.lookup(env_dir, "libfoo.so.1") == lib
    assert store.candidates("libfoo.so.1") == [lib]
    assert store.closure(store.path("env-1")) == {store.path("env-1"), lib.store_path}


def test_facts_have_real_version_and_symbol_tables() -> None:
    facts = make_facts(
        "/nix/store/x/lib/libfoo.so.1",
        soname="libfoo.so.1",
        needs=("libdep.so.1",),
        defines=("FOO_1.0", "FOO_2.0"),
        exports=[DefinedSymbol("foo", "FOO_2.0"), DefinedSymbol("foo", "FOO_1.0", hidden=True)],
        version_needs={"libdep.so.1": ("DEP_1.0", "DEP_2.0")},
        weak=("DEP_2.0",),
        imports={"dep": "DEP_1.0", "plain": None},
    )
    base, *defs = facts.version_defs
    assert base.base and base.name == "libfoo.so.1" and base.index == 1
    assert [(d.name, d.index) for d in defs] == [("FOO_1.0", 2), ("FOO_2.0", 3)]
    assert facts.defined_versions == {"FOO_1.0", "FOO_2.0"}
    (need,) = facts.version_needs
    indexes = [v.index for v in need.versions]
    assert len(set(indexes)) == 2 and min(indexes) > 3
    assert [v.weak for v in need.versions] == [False, True]
    assert need.versions[0].hash == elf_hash("DEP_1.0")
    assert facts.symbols.exports("foo", "FOO_2.0")
    assert facts.symbols.exports("foo", "FOO_1.0")  # the hidden, non-default version
    assert facts.symbols.exports("foo")  # one non-hidden definition
    assert not facts.symbols.exports("foo", "FOO_3.0")
    assert set(facts.symbols.undefined) == {
        UndefinedSymbol("dep", "DEP_1.0", "libdep.so.1"),
        UndefinedSymbol("plain", None, None),
    }
    # The index cache could hold them: a blob round trip gives equal facts.
    assert ElfFacts.from_blob(facts.to_blob(), facts.path) == facts


def test_make_facts_refuses_what_no_real_file_has() -> None:
    with pytest.raises(ValueError, match="not a DT_NEEDED"):
        make_facts("/x", version_needs={"libdep.so.1": ("DEP_1.0",)})
    with pytest.raises(ValueError, match="0 needed files"):
        make_facts("/x", imports={"dep": "DEP_1.0"})
    with pytest.raises(ValueError, match="no such version definition"):
        make_facts("/x", exports={"foo": "FOO_9"}, defines=("FOO_1",))
    store = MemStore()
    store.library("libfoo-1.0", "libfoo.so.1")
    with pytest.raises(ValueError, match="already"):
        store.library("libfoo-1.0", "libfoo.so.1")


def test_glibc_holds_libc_and_its_loader() -> None:
    store = MemStore()
    glibc = store.glibc("glibc-2.36", libs=("libm.so.6",))
    lib_dir = store.lib_dir("glibc-2.36")
    assert glibc.store_path == store.path("glibc-2.36")
    assert glibc.libc.path == f"{lib_dir}/libc.so.6"
    assert glibc.loader is not None and glibc.loader.facts.soname == "ld-linux-x86-64.so.2"
    assert glibc_version(glibc.libc.facts) == (2, 36)
    assert glibc.libc.facts.needed == ("ld-linux-x86-64.so.2",)
    assert glibc.files["libm.so.6"].facts.needed == ("libc.so.6",)
    assert glibc.libc.facts.runpath is None
    assert "GLIBC_PRIVATE" in glibc.libc.facts.defined_versions
    old = store.glibc("glibc-2.17-x", loader=False)
    assert old.loader is None and old.libc.facts.needed == ()
    assert glibc_version(old.libc.facts) == (2, 17)
    i386 = store.glibc("glibc-i686-2.40", arch=I386)
    assert i386.loader is not None and os.path.basename(i386.loader.path) == "ld-linux.so.2"
    assert glibc_version(i386.libc.facts) == (2, 40)


@pytest.mark.skipif(not os.path.exists(HOST_LIBC), reason="no x86-64 glibc on this host")
def test_a_memory_glibc_looks_like_the_hosts_libc() -> None:
    host = ElfFacts.read(HOST_LIBC)
    ours = MemStore().glibc("glibc-2.36").libc.facts
    assert (host.soname, host.needed) == (ours.soname, ours.needed)
    assert (host.machine, host.elf_class, host.endian, host.type) == (
        ours.machine,
        ours.elf_class,
        ours.endian,
        ours.type,
    )
    assert host.osabi in (0, 3) and ours.osabi in (0, 3)
    newest = ".".join(map(str, glibc_version(host)))
    glibc_names = {v for v in host.defined_versions if v.startswith("GLIBC_2")}
    # Our version list is the real one, up to 2.36 at least.
    known = {f"GLIBC_{v}" for v in glibc_versions(newest)}
    up_to_2_36 = {f"GLIBC_{v}" for v in glibc_versions("2.36")}
    assert glibc_names & up_to_2_36 == known & up_to_2_36
    # Every libc requires GLIBC_PRIVATE from its loader, as ours does.
    host_needs = {(n.file, v.name) for n in host.version_needs for v in n.versions}
    assert ("ld-linux-x86-64.so.2", "GLIBC_PRIVATE") in host_needs
    assert {(n.file, v.name) for n in ours.version_needs for v in n.versions} <= host_needs


def test_foreign_files_follow_symlinks_and_list_directories() -> None:
    store = MemStore()
    own = store.bundled("/app/lib/libown.so.1.0", "libown.so.1")
    store.files.link("/app/lib/libown.so.1", "libown.so.1.0")
    store.files.link("/app/lib64", "/app/lib")
    assert store.files.real("/app/lib/libown.so.1") == "/app/lib/libown.so.1.0"
    assert store.files.facts("/app/bin/../lib/libown.so.1") == own
    assert store.files.facts("/app/lib/nothing.so") is None
    assert store.files.names("/app/lib") == {"libown.so.1", "libown.so.1.0"}
    assert store.files.names("/app/lib/") == {"libown.so.1", "libown.so.1.0"}
    with pytest.raises(ValueError, match="normal absolute path"):
        store.bundled("/app/bin/../lib/libx.so.1")


def test_disk_files_answer_none_for_what_is_not_an_elf_object() -> None:
    disk = DiskFiles()
    assert disk.facts("/nonexistent/libfoo.so.1") is None
    assert disk.names("/nonexistent") == frozenset()
    with pytest.raises(ElfError):
        ElfFacts.read("/nonexistent/libfoo.so.1")
