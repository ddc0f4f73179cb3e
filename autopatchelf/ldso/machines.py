"""The machines glibc's loader knows, as data: one :class:`Machine` per (e_machine, ELF
class), and whether two objects can share one process.

Facts carried over (from glibc's per-architecture ``dl-machine.h``/``ldsodefs.h``, the
Linux kernel's ``AT_PLATFORM`` and Debian's multiarch tuples, not their code):

* the loader's file name (``PT_INTERP`` basename, DT_NEEDED of ``_r_debug`` users) per
  architecture and ABI (``ld-linux-x86-64.so.2``, ``ld-linux.so.2``...);
* ``$PLATFORM`` expands to ``AT_PLATFORM``, which the kernel sets (``x86_64``, ``i686`` for
  a 32-bit process, ``aarch64``, ``v7l``); glibc 2.26 to 2.36 on x86-64 replaced it with
  ``haswell`` or ``xeon_phi`` on CPUs with those features, so more than one value is
  possible there;
* ``$LIB`` expands to the loader's own library directory name: ``lib`` for Nix's glibc on
  every machine, ``lib64`` for an upstream FHS build of a 64-bit glibc, ``lib32``/
  ``libx32`` for multilib builds;
* ``open_verify`` accepts an object only when its ELF class, byte order, e_machine and OS
  ABI (System V or GNU) match the process; others are skipped and the search goes on.
"""

from __future__ import annotations

from typing import Protocol

import attrs

from autopatchelf.elf.records import ElfClass, Endian
from autopatchelf.frozen import Record

EM_386 = 3
EM_ARM = 40
EM_X86_64 = 62
EM_AARCH64 = 183
EM_RISCV = 243

#: OS ABIs ld.so accepts for a GNU/Linux process: SYSV (0) and GNU (3).
LINUX_OSABIS = frozenset({0, 3})


@attrs.frozen(repr=False)
class Machine(Record):
    """One architecture and ABI a glibc loader serves."""

    e_machine: int
    elf_class: ElfClass
    #: The loader's file name (``PT_INTERP`` basename).
    loader: str
    #: Possible ``$PLATFORM`` expansions, the kernel's ``AT_PLATFORM`` first.
    platforms: tuple[str, ...]
    #: ``$LIB`` spellings of glibc builds for this machine, most common first (Nix: ``lib``).
    lib_names: tuple[str, ...]
    #: The Debian multiarch tuple of its library directories (``x86_64-linux-gnu``).
    multiarch: str
    #: Nix's system name (``x86_64-linux``), as in nix-ld's ``NIX_LD_<system>`` variables.
    nix_system: str | None
    #: How people call it: ``x86-64 (64-bit)``.
    label: str


MACHINES: tuple[Machine, ...] = (
    Machine(
        EM_X86_64, ElfClass.ELF64, "ld-linux-x86-64.so.2", ("x86_64", "haswell", "xeon_phi"),
        ("lib64", "lib"), "x86_64-linux-gnu", "x86_64-linux", "x86-64 (64-bit)",
    ),
    Machine(
        EM_X86_64, ElfClass.ELF32, "ld-linux-x32.so.2", ("x86_64",),
        ("libx32", "lib"), "x86_64-linux-gnux32", None, "x86-64 x32 (32-bit)",
    ),
    Machine(
        EM_386, ElfClass.ELF32, "ld-linux.so.2", ("i686", "i586", "i486", "i386"),
        ("lib", "lib32"), "i386-linux-gnu", "i686-linux", "i386 (32-bit)",
    ),
    Machine(
        EM_AARCH64, ElfClass.ELF64, "ld-linux-aarch64.so.1", ("aarch64",),
        ("lib64", "lib"), "aarch64-linux-gnu", "aarch64-linux", "aarch64 (64-bit)",
    ),
    Machine(
        EM_ARM, ElfClass.ELF32, "ld-linux-armhf.so.3", ("v7l", "v6l", "v8l"),
        ("lib", "lib32"), "arm-linux-gnueabihf", "armv7l-linux", "arm (32-bit)",
    ),
    Machine(
        EM_RISCV, ElfClass.ELF64, "ld-linux-riscv64-lp64d.so.1", ("riscv64",),
        ("lib64/lp64d", "lib"), "riscv64-linux-gnu", "riscv64-linux", "riscv (64-bit)",
    ),
)  # fmt: skip

_BY_KEY = {(m.e_machine, m.elf_class): m for m in MACHINES}

#: Names of other e_machine values, for messages about files no loader here serves.
_OTHER_NAMES = {8: "mips", 20: "ppc", 21: "ppc64", 22: "s390"}


class _HasArch(Protocol):
    """Anything with the identification fields of an ELF file (``ElfFacts``)."""

    @property
    def machine(self) -> int: ...

    @property
    def elf_class(self) -> ElfClass: ...


class _HasIdentity(_HasArch, Protocol):
    @property
    def endian(self) -> Endian: ...

    @property
    def osabi(self) -> int: ...


def standard_lib_dirs() -> tuple[str, ...]:
    """The directories of a store path that hold libraries ld.so may be pointed at without
    anything naming them yet: Nix's ``lib``/``lib64``, and the FHS and multiarch
    directories of store paths made from other distributions' packages (a Debian
    ``.deb`` unpacked into a store path)."""
    dirs = ["lib", "lib64", "usr/lib", "usr/lib64"]
    for machine in MACHINES:
        if machine.nix_system is not None:
            dirs.extend((f"lib/{machine.multiarch}", f"usr/lib/{machine.multiarch}"))
    return tuple(dict.fromkeys(dirs))


def machine_of(facts: _HasArch) -> Machine | None:
    """The machine serving objects like ``facts``, or None when no glibc loader does."""
    return _BY_KEY.get((facts.machine, facts.elf_class))


def arch_label(facts: _HasArch) -> str:
    """``x86-64 (64-bit)``, ``i386 (32-bit)``, ``machine 99 (64-bit)``..."""
    found = machine_of(facts)
    if found is not None:
        return found.label
    bits = 64 if facts.elf_class is ElfClass.ELF64 else 32
    for machine in MACHINES:
        if machine.e_machine == facts.machine:
            return f"{machine.label.split(' (')[0]} ({bits}-bit)"
    name = _OTHER_NAMES.get(facts.machine, f"machine {facts.machine}")
    return f"{name} ({bits}-bit)"


#: The file names of glibc's loaders, on every machine modelled.
LOADER_NAMES: frozenset[str] = frozenset(m.loader for m in MACHINES)


def loader_name(facts: _HasArch) -> str | None:
    """The file name of glibc's loader for objects like ``facts`` (None if unknown)."""
    found = machine_of(facts)
    return found.loader if found is not None else None


def nix_system(facts: _HasArch) -> str | None:
    """The Nix system string for objects like ``facts`` (``x86_64-linux``...)."""
    found = machine_of(facts)
    return found.nix_system if found is not None else None


def incompatibility(root: _HasIdentity, other: _HasIdentity) -> str | None:
    """Why ``other`` cannot be loaded into ``root``'s process (ld.so's ``open_verify``
    skips it), or None when it can."""
    if other.elf_class != root.elf_class:
        return f"it is {other.elf_class.name}, the program is {root.elf_class.name}"
    if other.endian != root.endian:
        return "its byte order differs"
    if other.machine != root.machine:
        return f"it is for machine {other.machine}, the program for {root.machine}"
    if other.osabi != root.osabi and not {other.osabi, root.osabi} <= LINUX_OSABIS:
        return f"its OS ABI {other.osabi} differs"
    return None


def compatible(root: _HasIdentity, other: _HasIdentity) -> bool:
    """Can ``other`` join ``root``'s process? (class, byte order, machine, OS ABI)"""
    return incompatibility(root, other) is None
