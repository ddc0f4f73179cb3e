"""autopatchelf: make foreign ELF binaries run on NixOS.

Pipeline: ELF facts (:mod:`autopatchelf.elf`) -> store and index
(:mod:`autopatchelf.store`, :mod:`autopatchelf.index`) -> problem
(:mod:`autopatchelf.problem`) -> SAT encoding (:mod:`autopatchelf.sat`) -> solution or
explanation (:mod:`autopatchelf.solution`) -> actions (:mod:`autopatchelf.actions`).

The public names are imported on first use, so ``python -m autopatchelf run`` with a
valid lock never loads the SAT stack or the index.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from autopatchelf._api import solve
    from autopatchelf.actions.patching.patch import apply_plan, plan_files
    from autopatchelf.actions.patching.plan import PatchPlan
    from autopatchelf.elf.facts import ElfFacts
    from autopatchelf.errors import (
        AutopatchelfError,
        ElfError,
        ExitCode,
        PatchError,
        StoreError,
        Unsatisfiable,
    )
    from autopatchelf.index import Candidate, StoreIndex
    from autopatchelf.options import Delivery, GlibcPolicy, SolveOptions
    from autopatchelf.solution.explain import Explanation
    from autopatchelf.solution.model import (
        Alternative,
        LoadedLibrary,
        RootSolution,
        Solution,
    )

    __version__: str

#: public name -> the module that defines it.
_EXPORTS = {
    "solve": "autopatchelf._api",
    "plan_files": "autopatchelf.actions.patching.patch",
    "apply_plan": "autopatchelf.actions.patching.patch",
    "PatchError": "autopatchelf.errors",
    "PatchPlan": "autopatchelf.actions.patching.plan",
    "ElfFacts": "autopatchelf.elf.facts",
    "AutopatchelfError": "autopatchelf.errors",
    "ElfError": "autopatchelf.errors",
    "ExitCode": "autopatchelf.errors",
    "StoreError": "autopatchelf.errors",
    "Candidate": "autopatchelf.index",
    "StoreIndex": "autopatchelf.index",
    "GlibcPolicy": "autopatchelf.options",
    "SolveOptions": "autopatchelf.options",
    "Explanation": "autopatchelf.solution.explain",
    "Unsatisfiable": "autopatchelf.errors",
    "Alternative": "autopatchelf.solution.model",
    "Delivery": "autopatchelf.options",
    "LoadedLibrary": "autopatchelf.solution.model",
    "RootSolution": "autopatchelf.solution.model",
    "Solution": "autopatchelf.solution.model",
}

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
    "PatchError",
    "PatchPlan",
    "RootSolution",
    "Solution",
    "SolveOptions",
    "StoreError",
    "StoreIndex",
    "Unsatisfiable",
    "__version__",
    "apply_plan",
    "plan_files",
    "solve",
]


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            value: Any = version("autopatchelf")
        except PackageNotFoundError:  # pragma: no cover - running from a source tree
            value = "0.0.0+unknown"
    elif name in _EXPORTS:
        value = getattr(import_module(_EXPORTS[name]), name)
    else:
        raise AttributeError(f"module 'autopatchelf' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
