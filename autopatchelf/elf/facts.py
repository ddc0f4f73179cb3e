"""What one ELF file needs and provides, as frozen records.

These are the facts the resolver reasons about. They are produced by the fast reader in
:mod:`autopatchelf.elf._reader` (``ElfFacts.read(path)``) and round-trip through the
index cache (``to_blob``/``from_blob``) without touching the file again.
"""

from __future__ import annotations

import enum

import attrs


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


# DT_FLAGS / DT_FLAGS_1 bits that matter to the resolver.
DF_ORIGIN = 0x1
DF_1_NODEFLIB = 0x800
DF_1_PIE = 0x08000000

# Version flags (vd_flags / vna_flags).
VER_FLG_BASE = 0x1
VER_FLG_WEAK = 0x2


@attrs.frozen
class VersionRequirement:
    """One ``Vernaux`` entry: a version name required from one needed file."""

    name: str
    hash: int
    weak: bool
    #: The version index symbols use to refer to this requirement (``vna_other``).
    index: int


@attrs.frozen
class VersionNeed:
    """One ``Verneed`` entry: every version this object requires from ``file``."""

    #: The needed file name as written (normally a DT_NEEDED soname).
    file: str
    versions: tuple[VersionRequirement, ...]


@attrs.frozen
class VersionDefinition:
    """One ``Verdef`` entry; ``name`` is its *first* aux name, the one ld.so matches."""

    name: str
    hash: int
    index: int
    #: The base definition names the object itself (its soname), not a version.
    base: bool
    weak: bool = False


@attrs.frozen
class DefinedSymbol:
    """A dynamic symbol this object exports, with the version it is defined at.

    ``hidden`` is set for non-default versions (``foo@VER`` rather than ``foo@@VER``):
    ld.so still binds a versioned reference to them, but not an unversioned one.
    """

    name: str
    version: str | None
    hidden: bool = False


@attrs.frozen
class UndefinedSymbol:
    """A non-weak dynamic symbol this object imports.

    ``version`` and ``file`` come from the version-requirement table: the version name
    and the needed file that must define it. Both are ``None`` for unversioned imports.
    """

    name: str
    version: str | None
    file: str | None


@attrs.frozen
class ElfFacts:
    """Everything autopatchelf needs to know about one ELF file.

    Read with :meth:`ElfFacts.read`; every field is decoded eagerly except the symbol
    lists, which :class:`DynamicSymbols` decodes on first use (most libraries in a store
    are never asked for their symbols).
    """

    path: str
    elf_class: ElfClass
    endian: Endian
    machine: int
    osabi: int
    type: ElfType
    interpreter: str | None
    soname: str | None
    #: DT_NEEDED entries, in file order (ld.so loads them in this order).
    needed: tuple[str, ...]
    #: Raw DT_RPATH / DT_RUNPATH strings (``None`` when absent).
    rpath: str | None
    runpath: str | None
    flags: int
    flags_1: int
    version_needs: tuple[VersionNeed, ...]
    version_defs: tuple[VersionDefinition, ...]
    symbols: DynamicSymbols = attrs.field(eq=False, repr=False)

    @classmethod
    def read(cls, path: str) -> ElfFacts:
        """Read the facts of ``path``; raises :class:`~autopatchelf.errors.ElfError`."""
        from autopatchelf.elf._reader import read_facts

        return read_facts(path)

    @property
    def rpath_dirs(self) -> tuple[str, ...]:
        return _split_path(self.rpath)

    @property
    def runpath_dirs(self) -> tuple[str, ...]:
        return _split_path(self.runpath)

    @property
    def nodeflib(self) -> bool:
        return bool(self.flags_1 & DF_1_NODEFLIB)

    @property
    def is_pie(self) -> bool:
        return self.type is ElfType.PIE

    @property
    def defined_versions(self) -> frozenset[str]:
        """Version names this object defines (first aux names, base excluded)."""
        return frozenset(d.name for d in self.version_defs if not d.base)


def _split_path(value: str | None) -> tuple[str, ...]:
    # ld.so treats an empty element as the current directory; we keep it as "".
    if value is None:
        return ()
    return tuple(value.split(":"))
