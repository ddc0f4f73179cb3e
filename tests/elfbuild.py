"""Test objects for the ELF reader: compiled with gcc, or synthesized byte by byte.

``compile_fixtures`` builds real objects with gcc (a versioned library, executables
with RUNPATH/RPATH, PIE/non-PIE, nodeflib, 32-bit ones with ``-m32``).
``synthesize`` writes a small shared object in any ELF class and byte order from the
gABI and the GNU symbol-versioning spec (no compiler can make big-endian objects here),
together with the facts the reader must find in it. ``readelf`` reads these images too,
which checks the synthesizer itself.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

GCC = shutil.which("gcc")

LIBFOO_SOURCE = """
int foo_old(void) { return 1; }
int foo_new(void) { return 2; }
int bar(void) { return 3; }
int baz(void) { return 4; }
__asm__(".symver foo_old,foo@OLD");
__asm__(".symver foo_new,foo@@NEW");
"""

# OLD is the first version: foo@OLD is a hidden (non-default) definition, foo@@NEW the
# default one.
LIBFOO_MAP = """
OLD { global: foo; local: *; };
NEW { global: foo; bar; } OLD;
NEWER { global: baz; } NEW;
"""

APP_SOURCE = """
#include <stdio.h>
int foo(void);
int bar(void);
extern int baz(void) __attribute__((weak));
extern void maybe_missing(void) __attribute__((weak));
int main(void) {
    printf("%d\\n", foo() + bar() + (baz ? baz() : 0));
    if (maybe_missing) maybe_missing();
    return 0;
}
"""


@dataclass(frozen=True)
class Fixtures:
    """Paths of the compiled test objects."""

    directory: Path
    libfoo: Path
    app_runpath: Path
    app_rpath: Path
    app_pie: Path
    app_nopie: Path
    app_nodeflib: Path
    libfoo_sysv_hash: Path
    libfoo32: Path | None = None
    app32: Path | None = None


def run_gcc(*args: str | Path, cwd: Path) -> None:
    if GCC is None:
        raise RuntimeError("gcc is not installed")
    result = subprocess.run(
        [GCC, *map(str, args)], cwd=cwd, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"gcc {' '.join(map(str, args))} failed:\n{result.stderr}")


def can_compile_32bit(directory: Path) -> bool:
    """Whether ``gcc -m32`` can link a program (needs gcc-multilib)."""
    source = directory / "probe32.c"
    source.write_text("int main(void) { return 0; }\n")
    try:
        run_gcc("-m32", "-o", directory / "probe32", source, cwd=directory)
    except RuntimeError:
        return False
    return True


def compile_fixtures(directory: Path, with_32bit: bool) -> Fixtures:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "foo.c").write_text(LIBFOO_SOURCE)
    (directory / "foo.map").write_text(LIBFOO_MAP)
    (directory / "app.c").write_text(APP_SOURCE)
    libdir = directory / "lib"
    libdir.mkdir(exist_ok=True)

    def library(name: str, *extra: str) -> Path:
        output = libdir / name
        run_gcc(
            "-shared",
            "-fPIC",
            *extra,
            "-o",
            output,
            "foo.c",
            "-Wl,--version-script=foo.map",
            "-Wl,-soname,libfoo.so.1",
            cwd=directory,
        )
        return output

    def program(name: str, *extra: str) -> Path:
        output = directory / name
        run_gcc(*extra, "-o", output, "app.c", f"-L{libdir}", "-l:libfoo.so.1", cwd=directory)
        return output

    libfoo = library("libfoo.so.1")
    fixtures = Fixtures(
        directory=directory,
        libfoo=libfoo,
        app_runpath=program("app_runpath", "-Wl,--enable-new-dtags", "-Wl,-rpath,$ORIGIN/lib"),
        app_rpath=program("app_rpath", "-Wl,--disable-new-dtags", "-Wl,-rpath,/opt/one:/opt/two"),
        app_pie=program("app_pie", "-fPIE", "-pie"),
        app_nopie=program("app_nopie", "-fno-PIE", "-no-pie"),
        app_nodeflib=program("app_nodeflib", "-Wl,-z,nodefaultlib"),  # DF_1_NODEFLIB
        libfoo_sysv_hash=library("libfoo_sysv.so", "-Wl,--hash-style=sysv"),
    )
    if not with_32bit:
        return fixtures
    lib32 = directory / "lib32"
    lib32.mkdir(exist_ok=True)
    run_gcc(
        "-m32",
        "-shared",
        "-fPIC",
        "-o",
        lib32 / "libfoo.so.1",
        "foo.c",
        "-Wl,--version-script=foo.map",
        "-Wl,-soname,libfoo.so.1",
        cwd=directory,
    )
    run_gcc(
        "-m32",
        "-o",
        directory / "app32",
        "app.c",
        f"-L{lib32}",
        "-l:libfoo.so.1",
        "-Wl,--enable-new-dtags",
        "-Wl,-rpath,$ORIGIN/lib32",
        cwd=directory,
    )
    return Fixtures(
        **{**fixtures.__dict__, "libfoo32": lib32 / "libfoo.so.1", "app32": directory / "app32"}
    )


def strip_section_headers(source: Path, target: Path) -> Path:
    """Copy ``source`` with e_shoff/e_shnum/e_shstrndx zeroed, as sstrip leaves files
    (ld.so never reads section headers)."""
    data = bytearray(source.read_bytes())
    is64 = data[4] == 2
    order = "<" if data[5] == 1 else ">"
    if is64:
        struct.pack_into(f"{order}Q", data, 0x28, 0)
        struct.pack_into(f"{order}HH", data, 0x3C, 0, 0)
    else:
        struct.pack_into(f"{order}I", data, 0x20, 0)
        struct.pack_into(f"{order}HH", data, 0x30, 0, 0)
    target.write_bytes(bytes(data))
    return target


# -- synthesized objects ----------------------------------------------------------------


def elf_hash(name: str) -> int:
    """The System V ELF hash of a name (gABI), as vd_hash / vna_hash hold it."""
    value = 0
    for byte in name.encode():
        value = ((value << 4) + byte) & 0xFFFFFFFF
        high = value & 0xF0000000
        if high:
            value ^= high >> 24
        value &= ~high & 0xFFFFFFFF
    return value


@dataclass
class _Strings:
    data: bytearray = field(default_factory=lambda: bytearray(b"\0"))
    offsets: dict[str, int] = field(default_factory=dict)

    def add(self, text: str) -> int:
        if text not in self.offsets:
            self.offsets[text] = len(self.data)
            self.data += text.encode() + b"\0"
        return self.offsets[text]


@dataclass(frozen=True)
class Synthetic:
    """A synthesized shared object and what the reader must find in it."""

    data: bytes
    is64: bool
    big_endian: bool
    machine: int
    expected_needed: tuple[str, ...] = ("libc.so.6", "libm.so.6")
    expected_soname: str = "libsyn.so.1"
    expected_runpath: str = "/opt/syn/lib:$ORIGIN"
    expected_interpreter: str = "/lib/ld-synthetic.so.1"
    expected_flags: int = 0x1  # DF_ORIGIN
    expected_flags_1: int = 0x800  # DF_1_NODEFLIB
    #: (file, ((name, weak, vna_other), ...))
    expected_needs: tuple[tuple[str, tuple[tuple[str, bool, int], ...]], ...] = (
        ("libc.so.6", (("GLIBC_2.2.5", False, 2),)),
        ("libm.so.6", (("GLIBC_2.4", True, 5),)),
    )
    #: (name, index, base)
    expected_defs: tuple[tuple[str, int, bool], ...] = (
        ("libsyn.so.1", 1, True),
        ("SYN_1.0", 3, False),
        ("SYN_2.0", 4, False),
    )
    #: (name, version, hidden)
    expected_defined: tuple[tuple[str, str | None, bool], ...] = (
        ("exported", "SYN_2.0", False),
        ("old_exp", "SYN_1.0", True),
        ("plain", None, False),
    )
    #: (name, version, file)
    expected_undefined: tuple[tuple[str, str | None, str | None], ...] = (
        ("imported", "GLIBC_2.2.5", "libc.so.6"),
        ("cos", "GLIBC_2.4", "libm.so.6"),
        ("unversioned", None, None),
    )


_BASE_ADDRESS = 0x400000
_STB_LOCAL, _STB_GLOBAL, _STB_WEAK = 0, 1, 2
_STT_FUNC = 2


def synthesize(is64: bool, big_endian: bool) -> Synthetic:
    """A shared object with one PT_LOAD (mapped at a non-zero address), PT_INTERP,
    PT_DYNAMIC, DT_HASH, symbol versioning, and no section headers."""
    order = ">" if big_endian else "<"
    word = "Q" if is64 else "I"
    machine = {(True, False): 62, (True, True): 43, (False, False): 3, (False, True): 20}[
        (is64, big_endian)
    ]
    strings = _Strings()
    interp = b"/lib/ld-synthetic.so.1\0"

    # Symbols: (name, binding, section index, versym)
    symbols = [
        ("", _STB_LOCAL, 0, 0),
        ("imported", _STB_GLOBAL, 0, 2),
        ("weakimp", _STB_WEAK, 0, 1),
        ("exported", _STB_GLOBAL, 7, 4),
        ("old_exp", _STB_GLOBAL, 7, 3 | 0x8000),
        ("local", _STB_LOCAL, 7, 0),
        ("cos", _STB_GLOBAL, 0, 5),
        ("plain", _STB_WEAK, 7, 1),
        ("unversioned", _STB_GLOBAL, 0, 1),
    ]
    for name, *_ in symbols:
        strings.add(name)
    needs = [("libc.so.6", [("GLIBC_2.2.5", 0, 2)]), ("libm.so.6", [("GLIBC_2.4", 0x2, 5)])]
    defs = [(0x1, 1, ["libsyn.so.1"]), (0, 3, ["SYN_1.0"]), (0, 4, ["SYN_2.0", "SYN_1.0"])]
    for file, versions in needs:
        strings.add(file)
        for version, _, _ in versions:
            strings.add(version)
    for _, _, names in defs:
        for name in names:
            strings.add(name)
    soname = strings.add("libsyn.so.1")
    runpath = strings.add("/opt/syn/lib:$ORIGIN")

    ehdr_size = 64 if is64 else 52
    phdr_size = 56 if is64 else 32
    sym_size = 24 if is64 else 16
    dyn_size = 16 if is64 else 8

    def align(value: int, to: int = 8) -> int:
        return (value + to - 1) // to * to

    offsets: dict[str, int] = {}
    position = ehdr_size + 3 * phdr_size
    for name, size in (
        ("interp", len(interp)),
        ("hash", 4 * (2 + 1 + len(symbols))),
        ("dynsym", sym_size * len(symbols)),
        ("dynstr", len(strings.data)),
        ("versym", 2 * len(symbols)),
        ("verdef", 20 * len(defs) + 8 * sum(len(n) for _, _, n in defs)),
        ("verneed", 16 * len(needs) + 16 * sum(len(v) for _, v in needs)),
        ("dynamic", dyn_size * 18),
    ):
        position = align(position)
        offsets[name] = position
        position += size
    total = align(position)
    image = bytearray(total)

    def address(name: str) -> int:
        return _BASE_ADDRESS + offsets[name]

    # ELF header (no section headers: e_shoff = 0).
    ident = b"\x7fELF" + bytes([2 if is64 else 1, 2 if big_endian else 1, 1, 3]) + bytes(8)
    image[:16] = ident
    struct.pack_into(
        f"{order}HHI{word}{word}{word}IHHHHHH",
        image,
        16,
        3,  # ET_DYN
        machine,
        1,
        0,
        ehdr_size,
        0,
        0,
        ehdr_size,
        phdr_size,
        3,
        0,
        0,
        0,
    )
    # Program headers: PT_LOAD covering the file, PT_INTERP, PT_DYNAMIC.
    phdrs = [
        (1, 0, _BASE_ADDRESS, total, total, 5, 0x1000),
        (3, offsets["interp"], address("interp"), len(interp), len(interp), 4, 1),
        (2, offsets["dynamic"], address("dynamic"), dyn_size * 18, dyn_size * 18, 6, 8),
    ]
    for number, (p_type, offset, vaddr, filesz, memsz, flags, alignment) in enumerate(phdrs):
        at = ehdr_size + number * phdr_size
        if is64:
            struct.pack_into(
                f"{order}IIQQQQQQ", image, at, p_type, flags, offset, vaddr, vaddr, filesz,
                memsz, alignment,
            )  # fmt: skip
        else:
            struct.pack_into(
                f"{order}IIIIIIII", image, at, p_type, offset, vaddr, vaddr, filesz, memsz,
                flags, alignment,
            )  # fmt: skip
    image[offsets["interp"] : offsets["interp"] + len(interp)] = interp
    # DT_HASH: one bucket chaining every symbol.
    count = len(symbols)
    chain = [0] + [i + 1 for i in range(1, count - 1)] + [0]
    struct.pack_into(f"{order}{3 + count}I", image, offsets["hash"], 1, count, 1, *chain)
    # .dynsym and .gnu.version
    for number, (name, binding, section, versym) in enumerate(symbols):
        at = offsets["dynsym"] + number * sym_size
        info = (binding << 4) | (_STT_FUNC if name else 0)
        value = 0x1000 + number if section else 0
        if is64:
            struct.pack_into(f"{order}IBBHQQ", image, at, strings.offsets[name], info, 0,
                             section, value, 8)  # fmt: skip
        else:
            struct.pack_into(f"{order}IIIBBH", image, at, strings.offsets[name], value, 8,
                             info, 0, section)  # fmt: skip
        struct.pack_into(f"{order}H", image, offsets["versym"] + 2 * number, versym)
    image[offsets["dynstr"] : offsets["dynstr"] + len(strings.data)] = strings.data
    # Verdef entries, each followed by its Verdaux entries.
    at = offsets["verdef"]
    for number, (flags, index, names) in enumerate(defs):
        size = 20 + 8 * len(names)
        next_offset = 0 if number == len(defs) - 1 else size
        struct.pack_into(f"{order}HHHHIII", image, at, 1, flags, index, len(names),
                         elf_hash(names[0]), 20, next_offset)  # fmt: skip
        for aux_number, name in enumerate(names):
            aux_next = 0 if aux_number == len(names) - 1 else 8
            struct.pack_into(f"{order}II", image, at + 20 + 8 * aux_number,
                             strings.offsets[name], aux_next)  # fmt: skip
        at += size
    # Verneed entries, each followed by its Vernaux entries.
    at = offsets["verneed"]
    for number, (file, versions) in enumerate(needs):
        size = 16 + 16 * len(versions)
        next_offset = 0 if number == len(needs) - 1 else size
        struct.pack_into(f"{order}HHIII", image, at, 1, len(versions), strings.offsets[file],
                         16, next_offset)  # fmt: skip
        for aux_number, (version, flags, other) in enumerate(versions):
            aux_next = 0 if aux_number == len(versions) - 1 else 16
            struct.pack_into(f"{order}IHHII", image, at + 16 + 16 * aux_number,
                             elf_hash(version), flags, other, strings.offsets[version],
                             aux_next)  # fmt: skip
        at += size
    dynamic = [
        (1, strings.offsets["libc.so.6"]),
        (1, strings.offsets["libm.so.6"]),
        (14, soname),
        (29, runpath),
        (4, address("hash")),
        (5, address("dynstr")),
        (10, len(strings.data)),
        (6, address("dynsym")),
        (11, sym_size),
        (0x6FFFFFF0, address("versym")),
        (0x6FFFFFFC, address("verdef")),
        (0x6FFFFFFD, len(defs)),
        (0x6FFFFFFE, address("verneed")),
        (0x6FFFFFFF, len(needs)),
        (30, 0x1),
        (0x6FFFFFFB, 0x800),
        (0, 0),
        (0, 0),
    ]
    for number, (tag, value) in enumerate(dynamic):
        struct.pack_into(f"{order}{word}{word}", image, offsets["dynamic"] + number * dyn_size,
                         tag, value)  # fmt: skip
    return Synthetic(bytes(image), is64, big_endian, machine)
