"""autopatchelf: make foreign ELF binaries run on NixOS.

Pipeline: ELF facts (:mod:`autopatchelf.elf`) -> store and index
(:mod:`autopatchelf.store`, :mod:`autopatchelf.index`) -> problem
(:mod:`autopatchelf.problem`) -> SAT encoding (:mod:`autopatchelf.sat`) -> solution or
explanation (:mod:`autopatchelf.solution`) -> actions (:mod:`autopatchelf.actions`).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from autopatchelf._api import solve
from autopatchelf.elf.facts import ElfFacts
from autopatchelf.errors import AutopatchelfError, ElfError, ExitCode, StoreError
from autopatchelf.index import Candidate, StoreIndex
from autopatchelf.sat.encode import GlibcPolicy
from autopatchelf.solution.explain import Explanation, Unsatisfiable
from autopatchelf.solution.model import (
    Alternative,
    Delivery,
    LoadedLibrary,
    RootSolution,
    Solution,
)

try:
    __version__ = version("autopatchelf")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = [
    "Alternative",
    "AutopatchelfError",
    "Candidate",
    "Delivery",
    "ElfError",
    "ElfFacts",
    "ExitCode",
    "Explanation",
    "GlibcPolicy",
    "LoadedLibrary",
    "RootSolution",
    "Solution",
    "StoreError",
    "StoreIndex",
    "Unsatisfiable",
    "__version__",
    "solve",
]
