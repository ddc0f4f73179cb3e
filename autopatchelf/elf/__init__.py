"""ELF facts: what one file needs (sonames, versions, symbols) and provides.

:func:`read_facts` (also ``ElfFacts.read``) is the fast reader; facts round-trip
through the index cache with :meth:`ElfFacts.to_blob` / :meth:`ElfFacts.from_blob`.
"""

from autopatchelf.elf._reader import parse_facts, read_facts
from autopatchelf.elf.facts import (
    DF_1_NODEFLIB,
    DF_1_PIE,
    DF_ORIGIN,
    VER_FLG_BASE,
    VER_FLG_WEAK,
    DefinedSymbol,
    DynamicSymbols,
    ElfClass,
    ElfFacts,
    ElfType,
    Endian,
    UndefinedSymbol,
    VersionDefinition,
    VersionNeed,
    VersionRequirement,
)

__all__ = [
    "DF_1_NODEFLIB",
    "DF_1_PIE",
    "DF_ORIGIN",
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
    "parse_facts",
    "read_facts",
]
