"""ELF facts: what one file needs (sonames, versions, symbols) and provides.

:class:`autopatchelf.ElfFacts` (``ElfFacts.read(path)``) is read by the fast reader; facts
round-trip through the index cache with :meth:`autopatchelf.ElfFacts.to_blob` /
:meth:`autopatchelf.ElfFacts.from_blob`.
Modules: :mod:`~autopatchelf.elf.records` (the values), :mod:`~autopatchelf.elf.symbols`
(the lazily decoded symbol table), :mod:`~autopatchelf.elf.facts` (the record of one file),
:mod:`~autopatchelf.elf.blob` (its cache form), :mod:`~autopatchelf.elf.tree` (finding ELF
files under directories).
"""

from autopatchelf.elf.facts import ElfFacts, parse_facts, read_facts
from autopatchelf.elf.records import (
    DF_1_NODEFLIB,
    DF_1_PIE,
    DF_ORIGIN,
    ELF_MAGIC,
    VER_FLG_BASE,
    VER_FLG_WEAK,
    DefinedSymbol,
    ElfClass,
    ElfType,
    Endian,
    UndefinedSymbol,
    VersionDefinition,
    VersionNeed,
    VersionRequirement,
    has_elf_magic,
)
from autopatchelf.elf.symbols import DynamicSymbols

__all__ = [
    "DF_1_NODEFLIB",
    "DF_1_PIE",
    "DF_ORIGIN",
    "ELF_MAGIC",
    "VER_FLG_BASE",
    "VER_FLG_WEAK",
    "DefinedSymbol",
    "DynamicSymbols",
    "ElfClass",
    "ElfFacts",
    "ElfType",
    "Endian",
    "UndefinedSymbol",
    "VersionDefinition",
    "VersionNeed",
    "VersionRequirement",
    "has_elf_magic",
    "parse_facts",
    "read_facts",
]
