"""The parts of glibc's dynamic loader rules the resolver models.

Facts carried over from glibc's ``elf/dl-load.c`` behaviour (not its code):

* A DT_NEEDED name containing a slash is opened as a path, never searched.
* Search order for a name that is not loaded yet: the DT_RPATH of the requesting object
  and then of the objects that loaded it (only when the requesting object has no
  DT_RUNPATH), the library path (``LD_LIBRARY_PATH`` / ``ld.so --library-path`` /
  ``NIX_LD_LIBRARY_PATH``), the requesting object's own DT_RUNPATH, then the cache and
  the default directories (skipped with DF_1_NODEFLIB).
* A name matching an already loaded object's soname (or the name it was loaded under)
  reuses that object: one copy per soname per process.
* Objects of the wrong ELF class or machine are skipped and the search goes on.
* ``$ORIGIN`` expands to the directory of the requesting object, ``$LIB`` to the
  loader's library directory name, ``$PLATFORM`` to the AT_PLATFORM string.
"""

from __future__ import annotations

import os
import re

from autopatchelf.elf.facts import ElfClass, ElfFacts

# e_machine values and the loader (interpreter) file name glibc installs for them.
EM_386 = 3
EM_ARM = 40
EM_X86_64 = 62
EM_AARCH64 = 183
EM_RISCV = 243

_LOADERS: dict[tuple[int, ElfClass], str] = {
    (EM_X86_64, ElfClass.ELF64): "ld-linux-x86-64.so.2",
    (EM_X86_64, ElfClass.ELF32): "ld-linux-x32.so.2",
    (EM_386, ElfClass.ELF32): "ld-linux.so.2",
    (EM_AARCH64, ElfClass.ELF64): "ld-linux-aarch64.so.1",
    (EM_ARM, ElfClass.ELF32): "ld-linux-armhf.so.3",
    (EM_RISCV, ElfClass.ELF64): "ld-linux-riscv64-lp64d.so.1",
}

_PLATFORMS: dict[int, str] = {
    EM_X86_64: "x86_64",
    EM_386: "i686",
    EM_AARCH64: "aarch64",
    EM_ARM: "v7l",
    EM_RISCV: "riscv64",
}

#: Nix system names (as used by nix-ld's ``NIX_LD_<system>`` variables).
_NIX_SYSTEMS: dict[tuple[int, ElfClass], str] = {
    (EM_X86_64, ElfClass.ELF64): "x86_64-linux",
    (EM_386, ElfClass.ELF32): "i686-linux",
    (EM_AARCH64, ElfClass.ELF64): "aarch64-linux",
    (EM_ARM, ElfClass.ELF32): "armv7l-linux",
    (EM_RISCV, ElfClass.ELF64): "riscv64-linux",
}

# OS ABIs ld.so accepts for a GNU/Linux process: SYSV (0) and GNU (3).
_LINUX_OSABIS = frozenset({0, 3})

_DST = re.compile(r"\$(\{(ORIGIN|LIB|PLATFORM)\}|(ORIGIN|LIB|PLATFORM)(?![A-Za-z0-9_]))")


def loader_name(facts: ElfFacts) -> str | None:
    """The file name of glibc's loader for objects like ``facts`` (None if unknown)."""
    return _LOADERS.get((facts.machine, facts.elf_class))


def nix_system(facts: ElfFacts) -> str | None:
    """The Nix system string for objects like ``facts`` (``x86_64-linux``...)."""
    return _NIX_SYSTEMS.get((facts.machine, facts.elf_class))


def compatible(root: ElfFacts, other: ElfFacts) -> bool:
    """Can ``other`` be loaded into the process of ``root``? (class, endianness, machine,
    OS ABI)."""
    return (
        other.elf_class == root.elf_class
        and other.endian == root.endian
        and other.machine == root.machine
        and (other.osabi == root.osabi or {other.osabi, root.osabi} <= _LINUX_OSABIS)
    )


def incompatibility(root: ElfFacts, other: ElfFacts) -> str | None:
    """A short reason why ``other`` cannot join ``root``'s process, or None."""
    if other.elf_class != root.elf_class:
        return f"it is {other.elf_class.name}, the program is {root.elf_class.name}"
    if other.endian != root.endian:
        return "its byte order differs"
    if other.machine != root.machine:
        return f"it is for machine {other.machine}, the program for {root.machine}"
    if not compatible(root, other):
        return f"its OS ABI {other.osabi} differs"
    return None


def expand(entry: str, origin: str, *, lib: str = "lib", platform: str = "x86_64") -> str:
    """Expand the dynamic string tokens of one RPATH/RUNPATH entry."""

    def substitute(match: re.Match[str]) -> str:
        token = match.group(2) or match.group(3)
        if token == "ORIGIN":
            return origin
        if token == "LIB":
            return lib
        return platform

    return os.path.normpath(_DST.sub(substitute, entry)) if entry else origin


def platform_of(facts: ElfFacts) -> str:
    return _PLATFORMS.get(facts.machine, "")


def own_search_dirs(facts: ElfFacts, *, lib: str = "lib") -> tuple[str, ...]:
    """Directories an object's own DT_RUNPATH (or, without one, DT_RPATH) names, expanded.

    Inherited DT_RPATH from the loading chain is the caller's business
    (see :func:`inherited_rpath`).
    """
    origin = os.path.dirname(facts.path)
    entries = facts.runpath_dirs if facts.runpath is not None else facts.rpath_dirs
    platform = platform_of(facts)
    return tuple(expand(e, origin, lib=lib, platform=platform) for e in entries)


def inherited_rpath(chain: tuple[ElfFacts, ...], *, lib: str = "lib") -> tuple[str, ...]:
    """DT_RPATH directories of the objects that loaded the requester (nearest first).

    glibc searches them only when the requesting object has no DT_RUNPATH; an object
    with DT_RUNPATH in the chain contributes nothing (its RPATH is ignored).
    """
    dirs: list[str] = []
    for obj in chain:
        if obj.runpath is None and obj.rpath is not None:
            origin = os.path.dirname(obj.path)
            platform = platform_of(obj)
            dirs.extend(expand(e, origin, lib=lib, platform=platform) for e in obj.rpath_dirs)
    return tuple(dirs)


#: The distribution's library directories: they hold the host's libraries (on NixOS they
#: do not exist), so a foreign file's RUNPATH entry naming one is never followed.
HOST_LIB_DIRS = (
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/usr/lib",
    "/usr/lib32",
    "/usr/lib64",
    "/usr/libx32",
    "/usr/local/lib",
)


def is_host_lib_dir(directory: str) -> bool:
    """Is ``directory`` one of (or inside) the distribution's library directories?"""
    return any(directory == d or directory.startswith(d + "/") for d in HOST_LIB_DIRS)


def search_entries(
    facts: ElfFacts, chain: tuple[ElfFacts, ...], *, lib: str = "lib"
) -> tuple[tuple[str, str], ...]:
    """``(expanded directory, raw entry)`` of everything an object's own search path names,
    in order: its DT_RUNPATH; or, without one, its DT_RPATH and then the DT_RPATHs
    inherited from the objects that loaded it."""
    found: list[tuple[str, str]] = []
    objects = (facts,) if facts.runpath is not None else (facts, *chain)
    for obj in objects:
        if obj is not facts and obj.runpath is not None:
            continue  # an object with DT_RUNPATH passes no DT_RPATH down
        raw = obj.runpath_dirs if obj.runpath is not None else obj.rpath_dirs
        origin = os.path.dirname(obj.path)
        platform = platform_of(obj)
        found.extend((expand(e, origin, lib=lib, platform=platform), e) for e in raw)
    return tuple(found)
