"""The fast ELF reader against readelf, lief and pyelftools, on real and built objects."""

from __future__ import annotations

import marshal
import os
import re
import shutil
import struct
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import attrs
import pytest
from elfbuild import (
    Fixtures,
    can_compile_32bit,
    compile_fixtures,
    elf_hash,
    strip_section_headers,
    synthesize,
)
from prerequisites import need as need_tools

from autopatchelf.elf import (
    DF_1_PIE,
    ElfClass,
    ElfFacts,
    ElfType,
    Endian,
    _reader,
    parse_facts,
    read_facts,
)
from autopatchelf.errors import ElfError

READELF = shutil.which("readelf")
GCC = shutil.which("gcc")
SYSTEM_LIBS = Path("/usr/lib/x86_64-linux-gnu")
SYSTEM_LIBS_32 = Path("/usr/lib32")  # libc6-i386, which gcc-multilib installs
MAX_SAMPLE_BYTES = 8 * 1024 * 1024

needs_readelf = pytest.mark.needs("readelf")
needs_gcc = pytest.mark.needs("gcc")


# -- what readelf says ----------------------------------------------------------------------


@dataclass
class ReadelfSymbol:
    number: int
    bind: str
    section: str
    name: str
    version: str | None
    #: "@@" (default definition), "@" (hidden definition or reference), or "".
    marker: str
    #: The "(N)" version index readelf prints after references to needed versions.
    reference: int | None


@dataclass
class ReadelfView:
    elf_class: str = ""
    data: str = ""
    osabi: str = ""
    type: str = ""
    machine: str = ""
    interpreter: str | None = None
    needed: list[str] = field(default_factory=list)
    soname: str | None = None
    rpath: str | None = None
    runpath: str | None = None
    symbol_count: int = 0
    symbols: list[ReadelfSymbol] = field(default_factory=list)
    #: (file, [(version name, flags text, index)])
    needs: list[tuple[str, list[tuple[str, str, int]]]] = field(default_factory=list)
    #: (index, flags text, first name)
    defs: list[tuple[int, str, str]] = field(default_factory=list)


_HEADER_FIELD = re.compile(r"^\s+(Class|Data|OS/ABI|Type|Machine):\s+(.*?)\s*$")
_DYNAMIC = re.compile(r"^\s*0x[0-9a-f]+\s+\((NEEDED|SONAME|RPATH|RUNPATH)\)\s+.*?\[(.*)\]\s*$")
_SYMBOL = re.compile(
    r"^\s*(\d+):\s+[0-9a-f]+\s+(?:\d+|0x[0-9a-f]+)\s+\S+\s+(<OS specific>: \d+|\S+)\s+\S+"
    r"(?:\s+\[[^\]]*\])?\s+(\S+)(?: (\S+?)(?: \((\d+)\))?)?\s*$"
)
_SYMBOL_TABLE = re.compile(r"^Symbol table '\.dynsym' contains (\d+) entr")
_NEED_FILE = re.compile(r"^\s*0?x?[0-9a-f]+:\s+Version: \d+\s+File: (\S+)\s+Cnt: \d+")
_NEED_VERSION = re.compile(r"^\s*0x[0-9a-f]+:\s+Name: (\S+)\s+Flags: (.*?)\s+Version: (\d+)")
_DEF = re.compile(
    r"^\s*0?x?[0-9a-f]+: Rev: \d+\s+Flags: (.*?)\s+Index: (\d+)\s+Cnt: \d+\s+Name: (\S+)"
)


def readelf(path: Path | str) -> ReadelfView:
    assert READELF is not None
    output = subprocess.run(
        [READELF, "-W", "-h", "-l", "-d", "-V", "--dyn-syms", str(path)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "LC_ALL": "C"},
    ).stdout
    view = ReadelfView()
    section = ""
    for line in output.splitlines():
        if line.startswith("Version needs section"):
            section = "needs"
        elif line.startswith("Version definition section"):
            section = "defs"
        elif line.startswith("Version symbols section"):
            section = "versym"
        elif match := _SYMBOL_TABLE.match(line):
            section = "symbols"
            view.symbol_count = int(match[1])
        elif match := _HEADER_FIELD.match(line):
            setattr(
                view,
                {"OS/ABI": "osabi"}.get(match[1], match[1].lower().replace("class", "elf_class")),
                match[2],
            )
        elif "[Requesting program interpreter:" in line:
            view.interpreter = line.split(": ", 1)[1].rstrip("]")
        elif match := _DYNAMIC.match(line):
            if match[1] == "NEEDED":
                view.needed.append(match[2])
            else:
                setattr(view, match[1].lower(), match[2])
        elif section == "symbols" and (match := _SYMBOL.match(line)):
            view.symbols.append(_readelf_symbol(match))
        elif section == "needs" and (match := _NEED_FILE.match(line)):
            view.needs.append((match[1], []))
        elif section == "needs" and (match := _NEED_VERSION.match(line)):
            view.needs[-1][1].append((match[1], match[2], int(match[3])))
        elif section == "defs" and (match := _DEF.match(line)):
            view.defs.append((int(match[2]), match[1], match[3]))
    return view


def _readelf_symbol(match: re.Match[str]) -> ReadelfSymbol:
    number, bind, section, full_name, reference = (
        int(match[1]),
        match[2],
        match[3],
        match[4] or "",
        match[5],
    )
    marker = "@@" if "@@" in full_name else "@" if "@" in full_name else ""
    name, _, version = full_name.partition(marker) if marker else (full_name, "", "")
    return ReadelfSymbol(
        number,
        bind,
        section,
        name,
        version or None,
        marker,
        int(reference) if reference else None,
    )


_CLASSES = {"ELF32": ElfClass.ELF32, "ELF64": ElfClass.ELF64}
_DATA = {"2's complement, little endian": Endian.LITTLE, "2's complement, big endian": Endian.BIG}
_OSABI = {"UNIX - System V": 0, "UNIX - GNU": 3}
_MACHINES = {"Advanced Micro Devices X86-64": 62, "Intel 80386": 3}
_TYPES = {
    "DYN (Shared object file)": ElfType.SHARED,
    "DYN (Position-Independent Executable file)": ElfType.PIE,
    "EXEC (Executable file)": ElfType.EXECUTABLE,
    "REL (Relocatable file)": ElfType.RELOCATABLE,
}
# readelf names STB_GNU_UNIQUE "UNIQUE" only in objects with the GNU OS ABI.
_EXPORTING = {"GLOBAL", "WEAK", "UNIQUE", "<OS specific>: 10"}


def assert_matches_readelf(facts: ElfFacts, view: ReadelfView) -> None:
    """Every field of ``facts`` against readelf's view of the same file."""
    assert facts.elf_class is _CLASSES[view.elf_class]
    assert facts.endian is _DATA[view.data]
    assert facts.osabi == _OSABI[view.osabi]
    assert facts.machine == _MACHINES[view.machine]
    expected_type = _TYPES[view.type]
    if expected_type is ElfType.SHARED and facts.interpreter and facts.soname is None:
        expected_type = ElfType.PIE  # an old PIE without DF_1_PIE
    assert facts.type is expected_type
    assert facts.interpreter == view.interpreter
    assert facts.needed == tuple(view.needed)
    assert facts.soname == view.soname
    assert facts.rpath == view.rpath
    assert facts.runpath == view.runpath
    assert_versions_match(facts, view)
    assert_symbols_match(facts, view)


def assert_versions_match(facts: ElfFacts, view: ReadelfView) -> None:
    needs = [
        (need.file, [(v.name, _flags_text(False, v.weak), v.index) for v in need.versions])
        for need in facts.version_needs
    ]
    assert needs == view.needs
    for need in facts.version_needs:
        for version in need.versions:
            assert version.hash == elf_hash(version.name)
    defs = [(d.index, _flags_text(d.base, d.weak), d.name) for d in facts.version_defs]
    assert defs == view.defs
    for definition in facts.version_defs:
        assert definition.hash == elf_hash(definition.name)


def _flags_text(base: bool, weak: bool) -> str:
    """Version flags as readelf prints them."""
    return " | ".join(name for name, on in (("BASE", base), ("WEAK", weak)) if on) or "none"


def assert_symbols_match(facts: ElfFacts, view: ReadelfView) -> None:
    symbols = facts.symbols
    assert symbols.count == view.symbol_count
    files = {index: need.file for need in facts.version_needs for v in need.versions
             for index in (v.index,)}  # fmt: skip
    expected_defined = []
    expected_undefined = []
    for symbol in view.symbols:
        if symbol.section == "UND":
            if symbol.bind == "GLOBAL":
                file = files.get(symbol.reference) if symbol.reference else None
                expected_undefined.append((symbol.name, symbol.version, file))
        elif symbol.bind in _EXPORTING:
            expected_defined.append((symbol.name, symbol.version, symbol.marker == "@"))
    defined = []
    for definition in symbols.defined:
        version, hidden = definition.version, definition.hidden
        if version == definition.name and not hidden:
            version = None  # readelf does not repeat a version symbol's own name
        defined.append((definition.name, version, hidden))
    # readelf marks a copy-relocated definition of a needed version with "@" and "(N)".
    expected_defined = [
        (name, version, hidden and not _is_needed_version(facts, name, version))
        for name, version, hidden in expected_defined
    ]
    assert defined == expected_defined
    assert [(u.name, u.version, u.file) for u in symbols.undefined] == expected_undefined


def _is_needed_version(facts: ElfFacts, name: str, version: str | None) -> bool:
    defined_here = {d.name for d in facts.version_defs}
    needed = {v.name for need in facts.version_needs for v in need.versions}
    return version in needed and version not in defined_here


# -- samples --------------------------------------------------------------------------------


def _is_elf(path: Path) -> bool:
    try:
        with path.open("rb") as stream:
            return stream.read(4) == b"\x7fELF"
    except OSError:
        return False


def system_sample(directory: Path, every: int, limit: int) -> list[Path]:
    """Every ``every``-th ELF file of ``directory`` (sorted; symlinks and huge files out)."""
    if not directory.is_dir():
        return []
    files = sorted(
        p
        for p in directory.iterdir()
        if p.is_file() and not p.is_symlink() and p.stat().st_size <= MAX_SAMPLE_BYTES
    )
    elves = [p for p in files if _is_elf(p)]
    return elves[::every][:limit]


def named_system_files() -> list[Path]:
    names = [
        SYSTEM_LIBS / "libc.so.6",
        SYSTEM_LIBS / "libstdc++.so.6",
        SYSTEM_LIBS / "libm.so.6",
        SYSTEM_LIBS / "libcc1.so.0",  # STB_GNU_UNIQUE definitions
        SYSTEM_LIBS / "libjson-c.so.5",  # a WEAK version definition
        Path("/lib64/ld-linux-x86-64.so.2"),
        Path("/bin/ls"),
        Path("/bin/bash"),
        Path("/usr/bin/readelf"),
    ]
    return [p.resolve() for p in names if p.exists()]


SAMPLE = sorted({*system_sample(SYSTEM_LIBS, every=45, limit=25), *named_system_files()})
SAMPLE_32 = system_sample(SYSTEM_LIBS_32, every=1, limit=8)


@pytest.fixture(scope="session")
def fixtures(tmp_path_factory: pytest.TempPathFactory) -> Fixtures:
    need_tools("gcc")
    directory = tmp_path_factory.mktemp("elf-fixtures")
    return compile_fixtures(directory, with_32bit=can_compile_32bit(directory))


def test_samples_are_not_empty() -> None:
    assert len(SAMPLE) >= 10, "the system should have ELF libraries to compare against"


@needs_readelf
@pytest.mark.parametrize("path", SAMPLE, ids=lambda p: p.name)
def test_system_file_matches_readelf(path: Path) -> None:
    assert_matches_readelf(read_facts(path), readelf(path))


@needs_readelf
@pytest.mark.needs("gcc -m32")  # gcc-multilib brings /usr/lib32
@pytest.mark.parametrize("path", SAMPLE_32 or [None], ids=lambda p: p.name if p else "none")
def test_32bit_system_file_matches_readelf(path: Path | None) -> None:
    assert path is not None, f"gcc -m32 links, yet {SYSTEM_LIBS_32} holds no library"
    facts = read_facts(path)
    assert facts.elf_class is ElfClass.ELF32
    assert_matches_readelf(facts, readelf(path))


@pytest.mark.parametrize("path", SAMPLE[:12], ids=lambda p: p.name)
def test_flags_match_pyelftools(path: Path) -> None:
    from elftools.elf.dynamic import DynamicSegment
    from elftools.elf.elffile import ELFFile

    flags = {"DT_FLAGS": 0, "DT_FLAGS_1": 0}
    with path.open("rb") as stream:
        for segment in ELFFile(stream).iter_segments():
            if isinstance(segment, DynamicSegment):
                for tag in segment.iter_tags():
                    if tag.entry.d_tag in flags:
                        flags[tag.entry.d_tag] = tag.entry.d_val
    facts = read_facts(path)
    assert (facts.flags, facts.flags_1) == (flags["DT_FLAGS"], flags["DT_FLAGS_1"])


def test_libc_facts() -> None:
    libc = SYSTEM_LIBS / "libc.so.6"
    if not libc.exists():
        pytest.skip("no /usr/lib/x86_64-linux-gnu/libc.so.6 on this system")
    facts = read_facts(libc)
    assert facts.soname == "libc.so.6"
    assert facts.type is ElfType.SHARED  # it has an interpreter, but also a soname
    assert "GLIBC_2.2.5" in facts.defined_versions
    assert facts.version_defs[0].base
    assert facts.version_defs[0].name == "libc.so.6"
    assert facts.symbols.exports("memcpy", "GLIBC_2.14")
    assert facts.symbols.exports("memcpy", "GLIBC_2.2.5")  # the hidden old version
    assert facts.symbols.exports("printf")
    assert not facts.symbols.exports("printf", "GLIBC_9.9")
    assert not facts.symbols.exports("no_such_symbol_here")


def test_read_accepts_path_objects_and_classmethod() -> None:
    path = named_system_files()[0]
    assert ElfFacts.read(str(path)) == read_facts(path)


def test_large_file_read_in_pieces_matches_whole_buffer() -> None:
    large = [p for p in SAMPLE if p.stat().st_size > _reader.SMALL_FILE_BYTES]
    assert large, "the sample should include files read with pread"
    for path in large[:4]:
        from_file = read_facts(path)
        from_bytes = parse_facts(path.read_bytes(), str(path))
        assert from_file == from_bytes
        assert from_file.symbols == from_bytes.symbols
        assert from_file.symbols.defined == from_bytes.symbols.defined


# -- compiled objects --------------------------------------------------------------------


@needs_gcc
def test_versioned_library(fixtures: Fixtures) -> None:
    facts = read_facts(fixtures.libfoo)
    assert facts.type is ElfType.SHARED
    assert facts.soname == "libfoo.so.1"
    assert facts.interpreter is None
    assert [(d.name, d.index, d.base) for d in facts.version_defs] == [
        ("libfoo.so.1", 1, True),
        ("OLD", 2, False),
        ("NEW", 3, False),
        ("NEWER", 4, False),
    ]
    assert facts.defined_versions == {"OLD", "NEW", "NEWER"}
    defined = {(s.name, s.version, s.hidden) for s in facts.symbols.defined}
    assert {("foo", "OLD", True), ("foo", "NEW", False), ("bar", "NEW", False)} <= defined
    assert ("baz", "NEWER", False) in defined
    symbols = facts.symbols
    assert symbols.exports("foo", "OLD")  # a hidden version still binds a versioned ref
    assert symbols.exports("foo", "NEW")
    assert symbols.exports("foo")  # OLD is the oldest version (index 2)
    assert symbols.exports("baz")  # the one non-hidden definition
    assert not symbols.exports("bar", "OLD")
    assert not symbols.exports("foo", "NEWER")
    assert not symbols.exports("__cxa_finalize")  # imported, not defined
    undefined = {s.name for s in symbols.undefined}
    assert "__cxa_finalize" not in undefined  # a weak import


@needs_gcc
def test_executable_with_runpath(fixtures: Fixtures) -> None:
    facts = read_facts(fixtures.app_runpath)
    assert facts.needed == ("libfoo.so.1", "libc.so.6")
    assert facts.runpath == "$ORIGIN/lib"
    assert facts.runpath_dirs == ("$ORIGIN/lib",)
    assert facts.rpath is None
    assert facts.interpreter == "/lib64/ld-linux-x86-64.so.2"
    assert facts.soname is None
    needs = {need.file: {v.name for v in need.versions} for need in facts.version_needs}
    # baz@NEWER is only referenced weakly: its version is still required (not WEAK: ld
    # marks a Vernaux weak only for weak version references), but baz is no import.
    assert needs["libfoo.so.1"] == {"NEW", "NEWER"}
    imports = {(s.name, s.version, s.file) for s in facts.symbols.undefined}
    assert ("foo", "NEW", "libfoo.so.1") in imports
    assert ("bar", "NEW", "libfoo.so.1") in imports
    assert "printf" in {name for name, _, _ in imports}
    assert not {"baz", "maybe_missing", "__gmon_start__"} & {name for name, _, _ in imports}


@needs_gcc
def test_executable_with_rpath(fixtures: Fixtures) -> None:
    facts = read_facts(fixtures.app_rpath)
    assert facts.rpath == "/opt/one:/opt/two"
    assert facts.rpath_dirs == ("/opt/one", "/opt/two")
    assert facts.runpath is None
    assert facts.runpath_dirs == ()


@needs_gcc
def test_pie_and_non_pie(fixtures: Fixtures) -> None:
    pie = read_facts(fixtures.app_pie)
    assert pie.type is ElfType.PIE
    assert pie.is_pie
    assert pie.flags_1 & DF_1_PIE
    nopie = read_facts(fixtures.app_nopie)
    assert nopie.type is ElfType.EXECUTABLE
    assert not nopie.is_pie
    assert not nopie.flags_1 & DF_1_PIE


@needs_gcc
def test_nodeflib(fixtures: Fixtures) -> None:
    assert read_facts(fixtures.app_nodeflib).nodeflib
    assert not read_facts(fixtures.app_pie).nodeflib


@needs_gcc
@needs_readelf
def test_compiled_objects_match_readelf(fixtures: Fixtures) -> None:
    paths = [
        fixtures.libfoo,
        fixtures.libfoo_sysv_hash,
        fixtures.app_runpath,
        fixtures.app_rpath,
        fixtures.app_pie,
        fixtures.app_nopie,
        fixtures.app_nodeflib,
    ]
    for path in paths:
        assert_matches_readelf(read_facts(path), readelf(path))


@needs_gcc
def test_sysv_hash_gives_the_same_symbols(fixtures: Fixtures) -> None:
    gnu = read_facts(fixtures.libfoo)
    sysv = read_facts(fixtures.libfoo_sysv_hash)
    assert sysv.symbols.count == gnu.symbols.count
    assert sorted(sysv.symbols.defined, key=repr) == sorted(gnu.symbols.defined, key=repr)


@needs_gcc
def test_without_section_headers(fixtures: Fixtures, tmp_path: Path) -> None:
    for original in (fixtures.libfoo, fixtures.app_runpath, fixtures.libfoo_sysv_hash):
        stripped = strip_section_headers(original, tmp_path / original.name)
        before, after = read_facts(original), read_facts(stripped)
        assert attrs.evolve(after, path=before.path) == before
        assert after.symbols.defined == before.symbols.defined
        assert after.symbols.undefined == before.symbols.undefined


@needs_gcc
@needs_readelf
@pytest.mark.needs("gcc -m32")
def test_32bit_compiled_objects(fixtures: Fixtures) -> None:
    assert fixtures.libfoo32 is not None and fixtures.app32 is not None
    library = read_facts(fixtures.libfoo32)
    assert (library.elf_class, library.endian, library.machine) == (
        ElfClass.ELF32,
        Endian.LITTLE,
        3,
    )
    assert library.defined_versions == {"OLD", "NEW", "NEWER"}
    assert library.symbols.exports("foo", "OLD")
    app = read_facts(fixtures.app32)
    assert app.runpath == "$ORIGIN/lib32"
    assert ("foo", "NEW", "libfoo.so.1") in {
        (s.name, s.version, s.file) for s in app.symbols.undefined
    }
    for path in (fixtures.libfoo32, fixtures.app32):
        assert_matches_readelf(read_facts(path), readelf(path))


# -- synthesized objects: every class and byte order ---------------------------------------

SYNTHETIC_KINDS = [(True, False), (True, True), (False, False), (False, True)]


def _kind_id(kind: tuple[bool, bool]) -> str:
    return f"{'elf64' if kind[0] else 'elf32'}-{'be' if kind[1] else 'le'}"


@pytest.mark.parametrize("kind", SYNTHETIC_KINDS, ids=_kind_id)
def test_synthetic_object(kind: tuple[bool, bool]) -> None:
    synthetic = synthesize(*kind)
    facts = parse_facts(synthetic.data, "synthetic.so")
    assert facts.elf_class is (ElfClass.ELF64 if synthetic.is64 else ElfClass.ELF32)
    assert facts.endian is (Endian.BIG if synthetic.big_endian else Endian.LITTLE)
    assert facts.machine == synthetic.machine
    assert facts.osabi == 3
    assert facts.type is ElfType.SHARED
    assert facts.interpreter == synthetic.expected_interpreter
    assert facts.soname == synthetic.expected_soname
    assert facts.needed == synthetic.expected_needed
    assert facts.runpath == synthetic.expected_runpath
    assert facts.rpath is None
    assert (facts.flags, facts.flags_1) == (synthetic.expected_flags, synthetic.expected_flags_1)
    assert facts.nodeflib
    needs = tuple(
        (n.file, tuple((v.name, v.weak, v.index) for v in n.versions)) for n in facts.version_needs
    )
    assert needs == synthetic.expected_needs
    assert tuple((d.name, d.index, d.base) for d in facts.version_defs) == synthetic.expected_defs
    assert all(d.hash == elf_hash(d.name) for d in facts.version_defs)
    symbols = facts.symbols
    assert symbols.count == 9
    assert tuple((s.name, s.version, s.hidden) for s in symbols.defined) == (
        synthetic.expected_defined
    )
    assert tuple((s.name, s.version, s.file) for s in symbols.undefined) == (
        synthetic.expected_undefined
    )
    assert symbols.exports("exported", "SYN_2.0")
    assert symbols.exports("exported")
    assert symbols.exports("old_exp", "SYN_1.0")
    assert not symbols.exports("old_exp")  # hidden, and SYN_1.0 is not the oldest index
    assert symbols.exports("plain", "ANY_VERSION")  # unversioned definitions bind anything
    assert not symbols.exports("local")


@pytest.mark.parametrize("kind", SYNTHETIC_KINDS, ids=_kind_id)
def test_synthesizer_agrees_with_lief(kind: tuple[bool, bool], tmp_path: Path) -> None:
    """lief reads the synthesized images the same way (a check of the test generator)."""
    import lief

    lief.logging.disable()
    synthetic = synthesize(*kind)
    path = tmp_path / "synthetic.so"
    path.write_bytes(synthetic.data)
    binary = lief.ELF.parse(str(path))
    assert binary is not None
    requirements = [
        (r.name, [(a.name, bool(a.flags & 2), a.other) for a in r.get_auxiliary_symbols()])
        for r in binary.symbols_version_requirement
    ]
    assert requirements == [(file, list(versions)) for file, versions in synthetic.expected_needs]
    definitions = [(d.auxiliary_symbols[0].name, d.ndx) for d in binary.symbols_version_definition]
    assert definitions == [(name, index) for name, index, _ in synthetic.expected_defs]
    assert [s.name for s in binary.dynamic_symbols][1:4] == ["imported", "weakimp", "exported"]


@needs_readelf
@pytest.mark.parametrize("kind", SYNTHETIC_KINDS, ids=_kind_id)
def test_synthesizer_agrees_with_readelf(kind: tuple[bool, bool], tmp_path: Path) -> None:
    synthetic = synthesize(*kind)
    path = tmp_path / "synthetic.so"
    path.write_bytes(synthetic.data)
    view = readelf(path)
    facts = read_facts(path)
    assert _CLASSES[view.elf_class] is facts.elf_class
    assert _DATA[view.data] is facts.endian
    assert (view.needed, view.soname, view.runpath) == (
        list(synthetic.expected_needed),
        synthetic.expected_soname,
        synthetic.expected_runpath,
    )
    assert view.interpreter == synthetic.expected_interpreter


# -- the cache blob --------------------------------------------------------------------------


def _blob_samples() -> Iterator[tuple[str, ElfFacts]]:
    for path in SAMPLE[:10]:
        yield path.name, read_facts(path)
    for kind in SYNTHETIC_KINDS:
        yield _kind_id(kind), parse_facts(synthesize(*kind).data, _kind_id(kind))


@pytest.mark.parametrize(
    ("name", "facts"), list(_blob_samples()), ids=lambda v: v if isinstance(v, str) else ""
)
def test_blob_round_trip_is_exact(name: str, facts: ElfFacts) -> None:
    blob = facts.to_blob()
    assert isinstance(blob, bytes)
    restored = ElfFacts.from_blob(blob, facts.path)
    assert restored == facts
    assert restored.symbols == facts.symbols
    assert restored.symbols.count == facts.symbols.count
    assert restored.symbols.defined == facts.symbols.defined
    assert restored.symbols.undefined == facts.symbols.undefined
    again = ElfFacts.from_blob(restored.to_blob(), facts.path)
    assert again == facts
    assert again.symbols == facts.symbols
    for symbol in facts.symbols.defined[:50]:
        assert restored.symbols.exports(symbol.name, symbol.version)
    assert len(blob) < len(facts.symbols.table) + len(facts.symbols.strtab) + 4096


@pytest.mark.parametrize(
    ("name", "facts"), list(_blob_samples()), ids=lambda v: v if isinstance(v, str) else ""
)
def test_a_blob_in_two_parts_is_the_whole_blob(name: str, facts: ElfFacts) -> None:
    core, payload = facts.to_blob_parts()
    whole = ElfFacts.from_blob(facts.to_blob(), facts.path)
    calls: list[int] = []

    def load() -> bytes:
        calls.append(1)
        return payload

    for symbols in (payload, load):
        restored = ElfFacts.from_blob(core, facts.path, symbols)
        assert restored == whole == facts and not calls
        assert restored.symbols == whole.symbols == facts.symbols
        assert restored.symbols.defined == facts.symbols.defined
        assert restored.to_blob() == facts.to_blob()
    assert calls == [1]  # the loader: once, when the symbols were first used
    alone = ElfFacts.from_blob(core, facts.path)  # the facts without their symbols
    assert alone == facts
    if facts.symbols.count:
        with pytest.raises(ElfError, match="symbol tables were not kept"):
            assert alone.symbols.defined is not None


def test_blob_keeps_the_given_path() -> None:
    facts = parse_facts(synthesize(True, False).data, "/nix/store/old/lib/libsyn.so.1")
    restored = ElfFacts.from_blob(facts.to_blob(), "/nix/store/new/lib/libsyn.so.1")
    assert restored.path == "/nix/store/new/lib/libsyn.so.1"
    assert attrs.evolve(restored, path=facts.path) == facts


def test_blob_keeps_non_utf8_names() -> None:
    synthetic = bytearray(synthesize(True, False).data)
    at = synthetic.find(b"libsyn.so.1\0")
    synthetic[at + 3] = 0xFF  # "lib\xffyn.so.1": not UTF-8
    facts = parse_facts(bytes(synthetic), "odd.so")
    assert facts.soname == "lib\udcffyn.so.1"
    restored = ElfFacts.from_blob(facts.to_blob(), "odd.so")
    assert restored.soname == facts.soname
    assert restored.symbols.defined == facts.symbols.defined


@pytest.mark.parametrize(
    "blob",
    [b"", b"\x00", b"Z\x00garbage", b"\xff" * 20, marshal.dumps([1, 2, 3])],
    ids=["empty", "one-byte", "garbage", "bad-marshal", "not-a-tuple"],
)
def test_corrupt_blob_raises_elf_error(blob: bytes) -> None:
    with pytest.raises(ElfError) as raised:
        ElfFacts.from_blob(blob, "/some/lib.so")
    assert raised.value.path == "/some/lib.so"
    assert "corrupt facts blob" in raised.value.short_reason


def test_blob_of_another_format_version_is_rejected() -> None:
    with pytest.raises(ElfError, match="corrupt facts blob"):
        ElfFacts.from_blob(marshal.dumps((999, 1, 2)), "/x.so")
    with pytest.raises(ElfError, match="corrupt facts blob"):
        ElfFacts.from_blob(marshal.dumps((2, "not", "enough")), "/x.so")


def test_blob_symbols_stay_compressed_until_used() -> None:
    libc = SYSTEM_LIBS / "libc.so.6"
    if not libc.exists():
        pytest.skip("no /usr/lib/x86_64-linux-gnu/libc.so.6 on this system")
    facts = read_facts(libc)
    blob = facts.to_blob()
    assert len(blob) < len(facts.symbols.strtab)  # the symbol payload is compressed
    restored = ElfFacts.from_blob(blob, str(libc))
    assert restored.symbols._tables.tables is None  # nothing inflated yet
    assert ElfFacts.from_blob(restored.to_blob(), str(libc)) == facts  # nor does re-encoding
    assert restored.symbols._tables.tables is None
    assert restored.symbols.exports("memcpy", "GLIBC_2.14")
    assert restored.symbols._tables.tables is not None


def test_corrupt_symbol_payload_fails_when_symbols_are_used() -> None:
    facts = parse_facts(synthesize(True, False).data, "/x/lib.so")
    record = list(marshal.loads(facts.to_blob()))
    record[-1] = b"Z" + b"not zlib data"
    restored = ElfFacts.from_blob(marshal.dumps(tuple(record)), "/x/lib.so")
    assert restored.soname == facts.soname  # the eager facts are intact
    with pytest.raises(ElfError, match="corrupt facts blob") as raised:
        _ = restored.symbols.defined
    assert raised.value.path == "/x/lib.so"


# -- bad input -------------------------------------------------------------------------------


def _elf_error(path: str | Path, *, data: bytes | None = None) -> ElfError:
    def read() -> ElfFacts:
        return read_facts(path) if data is None else parse_facts(data, str(path))

    with pytest.raises(ElfError) as raised:
        read()
    error = raised.value
    assert error.path == str(path)
    assert "\n" not in str(error)
    assert str(error).startswith(f"{path}: ")
    return error


def _synthetic_with(patch: dict[int, bytes] | None = None, truncate: int | None = None) -> bytes:
    data = bytearray(synthesize(True, False).data)
    for offset, value in (patch or {}).items():
        data[offset : offset + len(value)] = value
    return bytes(data[:truncate])


def _field_offsets() -> dict[str, int]:
    """Where things are in the little-endian ELF64 synthetic image."""
    data = synthesize(True, False).data
    phoff = struct.unpack_from("<Q", data, 0x20)[0]
    dynamic = struct.unpack_from("<Q", data, phoff + 2 * 56 + 8)[0]
    entries: dict[int, tuple[int, int]] = {}
    for number in range(18):
        tag, value = struct.unpack_from("<qQ", data, dynamic + 16 * number)
        entries.setdefault(tag, (dynamic + 16 * number, value))
    base = 0x400000
    return {
        "phoff_field": 0x20,
        "shoff_field": 0x28,
        "dynamic": dynamic,
        "soname_entry": entries[14][0],
        "strtab_entry": entries[5][0],
        "verneed": entries[0x6FFFFFFE][1] - base,
        "verdef": entries[0x6FFFFFFC][1] - base,
        "dynsym": entries[6][1] - base,
        "dynstr": entries[5][1] - base,
        "versym": entries[0x6FFFFFF0][1] - base,
        "hash": entries[4][1] - base,
    }


OFFSETS = _field_offsets()


def test_missing_file(tmp_path: Path) -> None:
    assert _elf_error(tmp_path / "nope.so").short_reason == "no such file"


def test_directory(tmp_path: Path) -> None:
    assert _elf_error(tmp_path).short_reason == "is a directory"


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert _elf_error(fifo).short_reason == "not a regular file"


def test_permission_denied_is_an_elf_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests run as root, who may read anything: make open() fail as it would for a user.
    def refuse(*_: object) -> int:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "open", refuse)
    assert _elf_error(tmp_path / "locked.so").short_reason == "permission denied"


def test_empty_and_tiny_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert _elf_error(empty).short_reason == "not an ELF file (bad magic)"
    tiny = tmp_path / "tiny"
    tiny.write_bytes(b"\x7fELF\x02\x01")
    assert _elf_error(tiny).short_reason == "truncated ELF identification"


def test_not_elf(tmp_path: Path) -> None:
    script = tmp_path / "script.sh"
    script.write_text("#!/bin/sh\necho this is not an ELF file at all\n")
    assert _elf_error(script).short_reason == "not an ELF file (bad magic)"


@pytest.mark.parametrize(
    ("offset", "value", "reason"),
    [
        (4, b"\x03", "unsupported ELF class 3"),
        (4, b"\x00", "unsupported ELF class 0"),
        (5, b"\x07", "data encoding 7"),
        (6, b"\x02", "unsupported ELF identification version 2"),
    ],
    ids=["class-3", "class-0", "data-7", "ident-version"],
)
def test_weird_identification(offset: int, value: bytes, reason: str) -> None:
    assert reason in _elf_error("weird.so", data=_synthetic_with({offset: value})).short_reason


def test_truncated_header() -> None:
    assert (
        _elf_error("cut.so", data=_synthetic_with(truncate=40)).short_reason
        == "truncated ELF header"
    )


@pytest.mark.parametrize("keep", [64, 100, 300, 700, -8], ids=lambda k: f"keep-{k}")
def test_truncated_file(keep: int) -> None:
    error = _elf_error("cut.so", data=_synthetic_with(truncate=keep))
    assert "past the end of the file" in error.short_reason


def test_lying_phoff() -> None:
    data = _synthetic_with({OFFSETS["phoff_field"]: struct.pack("<Q", 1 << 40)})
    assert "program header table (e_phoff)" in _elf_error("lie.so", data=data).short_reason


def test_lying_shoff() -> None:
    data = bytearray(_synthetic_with({OFFSETS["shoff_field"]: struct.pack("<Q", 1 << 33)}))
    struct.pack_into("<HHH", data, 0x3A, 64, 3, 0)  # e_shentsize, e_shnum, e_shstrndx
    assert "section header table" in _elf_error("lie.so", data=bytes(data)).short_reason


def test_extended_program_header_count() -> None:
    """e_phnum = PN_XNUM: the real count is section header 0's sh_info."""
    image = bytearray(synthesize(True, False).data)
    shoff = len(image)
    image += struct.pack("<IIQQQQIIQQ", 0, 0, 0, 0, 0, 0, 0, 3, 0, 0)
    struct.pack_into("<Q", image, 0x28, shoff)
    struct.pack_into("<HHHH", image, 0x38, 0xFFFF, 64, 1, 0)  # phnum, shentsize, shnum, shstrndx
    facts = parse_facts(bytes(image), "xnum.so")
    assert facts == parse_facts(synthesize(True, False).data, "xnum.so")
    struct.pack_into("<I", image, shoff + 44, 0x7FFF)  # sh_info: a count past the file
    assert "program header table" in _elf_error("xnum.so", data=bytes(image)).short_reason


def test_bad_phentsize() -> None:
    data = _synthetic_with({0x36: struct.pack("<H", 40)})
    assert _elf_error("bad.so", data=data).short_reason == "e_phentsize is 40, expected 56"


def test_string_offset_past_the_end() -> None:
    at = OFFSETS["soname_entry"] + 8
    data = _synthetic_with({at: struct.pack("<Q", 0x7FFFFFFF)})
    assert "DT_SONAME string offset" in _elf_error("bad.so", data=data).short_reason


def test_address_outside_every_segment() -> None:
    at = OFFSETS["strtab_entry"] + 8
    data = _synthetic_with({at: struct.pack("<Q", 0x10)})
    assert "not in any PT_LOAD segment" in _elf_error("bad.so", data=data).short_reason


def test_verneed_chain_running_off_its_segment() -> None:
    # vn_next of the first Verneed points far beyond the segment.
    data = _synthetic_with({OFFSETS["verneed"] + 12: struct.pack("<I", 0x7FFFFFF0)})
    assert "Verneed entry is past the end" in _elf_error("bad.so", data=data).short_reason


def test_huge_vernaux_count_is_bounded() -> None:
    # vn_cnt = 65535, and Vernaux entries that each link to the next one up to the
    # dynamic section: the walk must stop (at vn_cnt or the segment end), not spin.
    data = bytearray(_synthetic_with({OFFSETS["verneed"] + 2: struct.pack("<H", 0xFFFF)}))
    name = data.find(b"GLIBC_2.2.5\0") - OFFSETS["dynstr"]
    for at in range(OFFSETS["verneed"] + 16, OFFSETS["dynamic"] - 16, 16):
        struct.pack_into("<IHHII", data, at, 0, 0, 2, name, 16)
    # The walk runs into the next Verneed, which is then no Verneed: rejected, not spun.
    assert "Verneed revision" in _elf_error("long.so", data=bytes(data)).short_reason


def test_verdef_revision() -> None:
    data = _synthetic_with({OFFSETS["verdef"]: struct.pack("<H", 7)})
    assert _elf_error("bad.so", data=data).short_reason == "unsupported Verdef revision 7"


def test_symbol_name_past_the_strings_fails_lazily() -> None:
    # The first defined symbol ("exported", entry 3) gets a name offset past DT_STRSZ.
    data = _synthetic_with({OFFSETS["dynsym"] + 3 * 24: struct.pack("<I", 0xFFFFFF)})
    facts = parse_facts(data, "lazy.so")  # the eager fields do not need symbol names
    assert facts.soname == "libsyn.so.1"
    with pytest.raises(ElfError, match="symbol name offset") as raised:
        _ = facts.symbols.defined
    assert raised.value.path == "lazy.so"


def test_undeclared_version_index_fails_lazily() -> None:
    data = _synthetic_with({OFFSETS["versym"] + 2 * 3: struct.pack("<H", 77)})
    facts = parse_facts(data, "lazy.so")
    with pytest.raises(ElfError, match="version index 77"):
        facts.symbols.exports("exported")


def test_lying_hash_table() -> None:
    data = _synthetic_with({OFFSETS["hash"] + 4: struct.pack("<I", 0x0FFFFFFF)})  # nchain
    assert "DT_SYMTAB" in _elf_error("bad.so", data=data).short_reason


def test_truncated_large_file_read_in_pieces(tmp_path: Path) -> None:
    source = next(p for p in SAMPLE if p.stat().st_size > 2 * _reader.SMALL_FILE_BYTES)
    cut = tmp_path / source.name
    cut.write_bytes(source.read_bytes()[: source.stat().st_size // 2])
    assert "past the end of the file" in _elf_error(cut).short_reason


# -- limits: what a file claims is read only as far as it can be true ----------------------


def _program_header(data: bytes | bytearray, p_type: int) -> int:
    """The offset of the first program header of ``p_type`` (64-bit little-endian)."""
    phoff = struct.unpack_from("<Q", data, 0x20)[0]
    (phnum,) = struct.unpack_from("<H", data, 0x38)
    for index in range(phnum):
        if struct.unpack_from("<I", data, phoff + 56 * index)[0] == p_type:
            return phoff + 56 * index
    raise AssertionError(f"no program header of type {p_type}")


def _dynamic(data: bytes | bytearray) -> tuple[int, list[tuple[int, int]]]:
    """The dynamic section's offset and its entries up to (not including) DT_NULL."""
    header = _program_header(data, 2)
    offset, size = struct.unpack_from("<Q", data, header + 8)[0], struct.unpack_from(
        "<Q", data, header + 32)[0]  # fmt: skip
    entries = []
    for at in range(offset, offset + size, 16):
        tag, value = struct.unpack_from("<QQ", data, at)
        if tag == 0:
            break
        entries.append((tag, value))
    return offset, entries


def _with_dynamic(data: bytes, entries: list[tuple[int, int]], claimed: int | None = None) -> bytes:
    """``data`` with its PT_DYNAMIC moved to the end of the file, holding ``entries``."""
    image = bytearray(data)
    header = _program_header(image, 2)
    table = b"".join(struct.pack("<QQ", tag, value) for tag, value in entries)
    offset = len(image)
    image += table
    size = len(table) if claimed is None else claimed
    struct.pack_into("<Q", image, header + 8, offset)
    struct.pack_into("<QQ", image, header + 32, size, size)
    return bytes(image)


def test_dynamic_entries_past_the_first_run_are_read() -> None:
    synthetic = synthesize(True, False)
    _, entries = _dynamic(synthetic.data)
    padded = _with_dynamic(synthetic.data, [(21, 0)] * 300 + entries + [(0, 0)])
    original = parse_facts(synthetic.data, "syn.so")
    moved = parse_facts(padded, "syn.so")
    assert (moved.needed, moved.soname, moved.runpath) == (
        original.needed,
        original.soname,
        original.runpath,
    )
    assert moved.version_needs == original.version_needs


def test_a_dynamic_section_without_dt_null_is_read_only_up_to_its_limit() -> None:
    from autopatchelf.elf._layout import MAX_DYNAMIC_BYTES

    synthetic = synthesize(True, False)
    _, entries = _dynamic(synthetic.data)
    endless = _with_dynamic(synthetic.data, entries + [(21, 0)] * (MAX_DYNAMIC_BYTES // 16 + 8))
    error = _elf_error("endless.so", data=endless)
    assert error.short_reason == f"PT_DYNAMIC has no DT_NULL in its first {MAX_DYNAMIC_BYTES} bytes"
    # Claiming more than the file holds is an error before anything is read.
    claims = _with_dynamic(synthetic.data, [*entries, (0, 0)], claimed=1 << 40)
    assert "past the end of the file" in _elf_error("claims.so", data=claims).short_reason


def test_interpreter_longer_than_path_max_is_refused() -> None:
    image = bytearray(synthesize(True, False).data)
    header = _program_header(image, 3)
    struct.pack_into("<Q", image, header + 8, len(image))
    struct.pack_into("<QQ", image, header + 32, 5000, 5000)
    image += b"/" * 4999 + b"\0"
    assert "longer than PATH_MAX" in _elf_error("interp.so", data=bytes(image)).short_reason


@pytest.mark.parametrize(
    ("tag", "value", "reason"),
    [(10, 65 << 20, "DT_STRSZ claims"), (4, None, "DT_SYMTAB would hold")],
    ids=["strtab", "symbols"],
)
def test_tables_beyond_their_limits_are_refused(tag: int, value: int | None, reason: str) -> None:
    from autopatchelf.elf._layout import MAX_SYMBOLS

    synthetic = synthesize(True, False)
    image = bytearray(synthetic.data)
    offset, entries = _dynamic(image)
    at = offset + 16 * [t for t, _ in entries].index(tag)
    if value is not None:
        struct.pack_into("<Q", image, at + 8, value)
    else:  # DT_HASH's nchain, in the file (vaddr -> offset through the PT_LOAD)
        load = _program_header(image, 1)
        p_offset, p_vaddr = struct.unpack_from("<QQ", image, load + 8)
        hash_offset = dict(entries)[4] - p_vaddr + p_offset
        struct.pack_into("<I", image, hash_offset + 4, MAX_SYMBOLS + 1)
    assert reason in _elf_error("limits.so", data=bytes(image)).short_reason


@needs_gcc
@pytest.mark.needs("patchelf")
def test_a_string_table_patchelf_moved_across_two_segments_is_read(tmp_path: Path) -> None:
    """patchelf gives a non-PIE program a new one-page PT_LOAD right below its first one
    (program headers, .dynamic, the start of the moved .dynstr); a large .dynstr runs on
    into the next segment, which continues it in memory and in the file. The program runs,
    so the reader must read it (it refused it once: "DT_STRTAB runs past the end of its
    segment", for the nodejs wheel's node patched by patchelf)."""
    need_tools("gcc", "patchelf")
    source = tmp_path / "big.c"
    functions = "\n".join(
        f"int a_rather_long_exported_function_name_number_{i}(void) {{ return {i}; }}"
        for i in range(400)
    )
    source.write_text(f'#include <stdio.h>\n{functions}\nint main(void) {{ puts("hi"); }}\n')
    program = tmp_path / "big"
    subprocess.run(["gcc", "-no-pie", "-rdynamic", "-o", str(program), str(source)], check=True)
    runpath = f"{tmp_path}/{'y' * 300}/lib:/usr/lib/x86_64-linux-gnu"
    subprocess.run(["patchelf", "--set-rpath", runpath, str(program)], check=True)
    ran = subprocess.run([str(program)], capture_output=True, text=True, check=True)
    assert ran.stdout == "hi\n"
    facts = read_facts(program)
    assert facts.runpath == runpath
    assert facts.needed == ("libc.so.6",)
    assert facts.symbols.exports("a_rather_long_exported_function_name_number_399")
    # The case is real: the string table does cross from one PT_LOAD into the next.
    dynamic = subprocess.run(
        ["readelf", "-dW", str(program)], capture_output=True, text=True, check=True
    )
    headers = subprocess.run(
        ["readelf", "-lW", str(program)], capture_output=True, text=True, check=True
    )
    found = re.search(r"\(STRTAB\)\s+(0x[0-9a-f]+)", dynamic.stdout)
    assert found is not None
    strtab = int(found.group(1), 16)
    loads = re.findall(
        r"LOAD\s+0x[0-9a-f]+ (0x[0-9a-f]+) 0x[0-9a-f]+ (0x[0-9a-f]+)", headers.stdout
    )
    holder = next(
        (int(a, 16), int(s, 16)) for a, s in loads if int(a, 16) <= strtab < int(a, 16) + int(s, 16)
    )
    size = re.search(r"\(STRSZ\)\s+(\d+)", dynamic.stdout)
    assert size is not None
    strsz = int(size.group(1))
    assert strtab + strsz > holder[0] + holder[1]
