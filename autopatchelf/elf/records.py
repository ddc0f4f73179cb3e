"""The records an ELF file's facts are made of: its identification, its version tables and
its dynamic symbols, as frozen values (no behaviour beyond what the ELF spec defines)."""

from __future__ import annotations

import enum

import attrs

from autopatchelf.frozen import Record
from autopatchelf.options import DlopenPriority

#: Every ELF file starts with these four bytes.
ELF_MAGIC = b"\x7fELF"


def split_search_list(value: str | None) -> tuple[str, ...]:
    """The elements of a DT_RPATH/DT_RUNPATH string as written: the gABI makes it a
    colon-separated list (an empty element is kept: ld.so reads it as the working
    directory). What the elements mean is :mod:`autopatchelf.ldso.search`'s business."""
    return () if value is None else tuple(value.split(":"))


def has_elf_magic(path: str) -> bool:
    """Whether ``path`` starts with the ELF magic (False when it cannot be read)."""
    try:
        with open(path, "rb") as handle:
            return handle.read(len(ELF_MAGIC)) == ELF_MAGIC
    except OSError:
        return False


class ElfClass(enum.IntEnum):
    ELF32 = 1
    ELF64 = 2


class Endian(enum.IntEnum):
    LITTLE = 1
    BIG = 2


class ElfType(enum.Enum):
    """The kind of object, as ld.so and ``file`` tell them apart."""

    RELOCATABLE = "rel"
    EXECUTABLE = "exec"  # ET_EXEC: a non-PIE executable
    PIE = "pie"  # ET_DYN with DF_1_PIE (or an interpreter and no soname)
    SHARED = "dyn"  # ET_DYN: a shared library
    CORE = "core"
    OTHER = "other"


@attrs.frozen(repr=False)
class DlopenNote(Record):
    """One entry of a ``.note.dlopen`` note: a library the object may ``dlopen()``."""

    #: Sonames that would do, most preferred first.
    sonames: tuple[str, ...]
    priority: DlopenPriority = DlopenPriority.RECOMMENDED
    #: What it is for (``zstd``) and a sentence saying so, when the note says.
    feature: str | None = None
    description: str | None = None


# DT_FLAGS / DT_FLAGS_1 bits that matter to the resolver.
DF_ORIGIN = 0x1
DF_1_NODEFLIB = 0x800
DF_1_PIE = 0x08000000

# Version flags (vd_flags / vna_flags).
VER_FLG_BASE = 0x1
VER_FLG_WEAK = 0x2


@attrs.frozen(repr=False)
class VersionRequirement(Record):
    """One ``Vernaux`` entry: a version name required from one needed file."""

    name: str
    hash: int
    weak: bool
    #: The version index symbols use to refer to this requirement (``vna_other``).
    index: int


@attrs.frozen(repr=False)
class VersionNeed(Record):
    """One ``Verneed`` entry: every version this object requires from ``file``."""

    #: The needed file name as written (normally a DT_NEEDED soname).
    file: str
    versions: tuple[VersionRequirement, ...]


@attrs.frozen(repr=False)
class VersionDefinition(Record):
    """One ``Verdef`` entry; ``name`` is its *first* aux name, the one ld.so matches."""

    name: str
    hash: int
    index: int
    #: The base definition names the object itself (its soname), not a version.
    base: bool
    weak: bool = False


@attrs.frozen(repr=False)
class DefinedSymbol(Record):
    """A dynamic symbol this object exports, with the version it is defined at.

    ``hidden`` is set for non-default versions (``foo@VER`` rather than ``foo@@VER``):
    ld.so still binds a versioned reference to them, but not an unversioned one.
    """

    name: str
    version: str | None
    hidden: bool = False


@attrs.frozen(repr=False)
class UndefinedSymbol(Record):
    """A non-weak dynamic symbol this object imports.

    ``version`` and ``file`` come from the version-requirement table: the version name
    and the needed file that must define it. Both are ``None`` for unversioned imports.
    """

    name: str
    version: str | None
    file: str | None
