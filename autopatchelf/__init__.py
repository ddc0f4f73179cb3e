"""autopatchelf: make foreign ELF binaries run on NixOS.

Pipeline: ELF facts (:mod:`autopatchelf.elf`) -> store and index
(:mod:`autopatchelf.store`, :mod:`autopatchelf.index`) -> problem -> SAT encoding ->
solution or explanation -> actions.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from autopatchelf.elf.facts import ElfFacts
from autopatchelf.errors import AutopatchelfError, ElfError, ExitCode, StoreError

try:
    __version__ = version("autopatchelf")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = [
    "AutopatchelfError",
    "ElfError",
    "ElfFacts",
    "ExitCode",
    "StoreError",
    "__version__",
]
