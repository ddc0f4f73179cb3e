"""autopatchelf: make foreign ELF binaries run on NixOS.

The API other Nix tools use::

    import autopatchelf

    options = autopatchelf.SolveOptions(within=("/run/current-system",))
    try:
        solution = autopatchelf.solve(["./curl"], options)
    except autopatchelf.Unsatisfiable as exc:
        print(exc.explanation.text())          # or exc.explanation.diagnosis, as data

Pipeline: ELF facts (:mod:`autopatchelf.elf`) -> glibc's loader rules (:mod:`autopatchelf.ldso`)
-> store and index (:mod:`autopatchelf.store`, :mod:`autopatchelf.index`) -> problem
(:mod:`autopatchelf.problem`) -> SAT encoding (:mod:`autopatchelf.sat`) -> solution or
diagnosis (:mod:`autopatchelf.solution`) -> actions (:mod:`autopatchelf.actions`: env, run,
patch, locks, GC roots, check reports).

The public names are imported on first use, so ``python -m autopatchelf run`` with a
valid lock never loads the SAT stack or the index.
"""

from __future__ import annotations

from importlib import import_module

# Not ``typing.TYPE_CHECKING``: importing typing costs more than a recorded ``run`` start
# does otherwise (autopatchelf.actions.launchmemo). Type checkers read the block.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from autopatchelf._api import open_remote, solve
    from autopatchelf.actions.checks.check import check_paths
    from autopatchelf.actions.checks.check_baseline import Baseline
    from autopatchelf.actions.checks.check_model import BinaryCheck, CheckProblem, CheckReport
    from autopatchelf.actions.locks.applock import AppBinary, AppLock
    from autopatchelf.actions.locks.applocking import AppLockOutcome, obtain_app
    from autopatchelf.actions.locks.lock import Lock
    from autopatchelf.actions.locks.lockfile import read_lock, write_lock
    from autopatchelf.actions.locks.locking import LockOutcome, obtain
    from autopatchelf.actions.locks.verify import verify as verify_lock
    from autopatchelf.actions.patching.patch import PatchReport, apply_plan, plan_files
    from autopatchelf.actions.patching.plan import PatchPlan, plan_patch
    from autopatchelf.elf.facts import ElfFacts
    from autopatchelf.errors import (
        AutopatchelfError,
        BaselineError,
        CheckInputError,
        ElfError,
        ExitCode,
        GcRootError,
        LockFileError,
        LockUsageError,
        OutputError,
        PatchError,
        PredictionError,
        RemoteError,
        RootError,
        RunError,
        StaleLockError,
        StoreError,
        Unsatisfiable,
    )
    from autopatchelf.index import Candidate, StoreIndex
    from autopatchelf.index.remote import RemoteIndex
    from autopatchelf.options import Delivery, GlibcPolicy, SolveOptions
    from autopatchelf.solution.diagnosis import Diagnosis, ProblemKind, Rejected
    from autopatchelf.solution.explain import Explanation
    from autopatchelf.solution.model import Alternative, LoadedLibrary, RootSolution, Solution
    from autopatchelf.store.substitute import Substitute

    __version__: str

#: public name -> the module that defines it.
_EXPORTS = {
    "solve": "autopatchelf._api",
    "open_remote": "autopatchelf._api",
    "check_paths": "autopatchelf.actions.checks.check",
    "Baseline": "autopatchelf.actions.checks.check_baseline",
    "BinaryCheck": "autopatchelf.actions.checks.check_model",
    "CheckProblem": "autopatchelf.actions.checks.check_model",
    "CheckReport": "autopatchelf.actions.checks.check_model",
    "AppBinary": "autopatchelf.actions.locks.applock",
    "AppLock": "autopatchelf.actions.locks.applock",
    "Lock": "autopatchelf.actions.locks.lock",
    "read_lock": "autopatchelf.actions.locks.lockfile",
    "write_lock": "autopatchelf.actions.locks.lockfile",
    "AppLockOutcome": "autopatchelf.actions.locks.applocking",
    "LockOutcome": "autopatchelf.actions.locks.locking",
    "obtain": "autopatchelf.actions.locks.locking",
    "obtain_app": "autopatchelf.actions.locks.applocking",
    "plan_files": "autopatchelf.actions.patching.patch",
    "apply_plan": "autopatchelf.actions.patching.patch",
    "PatchReport": "autopatchelf.actions.patching.patch",
    "PatchPlan": "autopatchelf.actions.patching.plan",
    "plan_patch": "autopatchelf.actions.patching.plan",
    "ElfFacts": "autopatchelf.elf.facts",
    "Candidate": "autopatchelf.index",
    "StoreIndex": "autopatchelf.index",
    "RemoteIndex": "autopatchelf.index.remote",
    "Substitute": "autopatchelf.store.substitute",
    "Delivery": "autopatchelf.options",
    "GlibcPolicy": "autopatchelf.options",
    "SolveOptions": "autopatchelf.options",
    "Diagnosis": "autopatchelf.solution.diagnosis",
    "ProblemKind": "autopatchelf.solution.diagnosis",
    "Rejected": "autopatchelf.solution.diagnosis",
    "Explanation": "autopatchelf.solution.explain",
    "Alternative": "autopatchelf.solution.model",
    "LoadedLibrary": "autopatchelf.solution.model",
    "RootSolution": "autopatchelf.solution.model",
    "Solution": "autopatchelf.solution.model",
    **{
        name: "autopatchelf.errors"
        for name in (
            "AutopatchelfError",
            "BaselineError",
            "CheckInputError",
            "ElfError",
            "ExitCode",
            "GcRootError",
            "LockFileError",
            "LockUsageError",
            "OutputError",
            "PatchError",
            "PredictionError",
            "RemoteError",
            "RootError",
            "RunError",
            "StaleLockError",
            "StoreError",
            "Unsatisfiable",
        )
    },
}
#: Exported under another name than the one they have where they are defined.
_RENAMED = {"verify_lock": ("autopatchelf.actions.locks.verify", "verify")}

__all__ = [
    "Alternative",
    "AppBinary",
    "AppLock",
    "AppLockOutcome",
    "AutopatchelfError",
    "Baseline",
    "BaselineError",
    "BinaryCheck",
    "Candidate",
    "CheckInputError",
    "CheckProblem",
    "CheckReport",
    "Delivery",
    "Diagnosis",
    "ElfError",
    "ElfFacts",
    "ExitCode",
    "Explanation",
    "GcRootError",
    "GlibcPolicy",
    "LoadedLibrary",
    "Lock",
    "LockFileError",
    "LockOutcome",
    "LockUsageError",
    "OutputError",
    "PatchError",
    "PatchPlan",
    "PatchReport",
    "PredictionError",
    "ProblemKind",
    "Rejected",
    "RemoteError",
    "RemoteIndex",
    "RootError",
    "RootSolution",
    "RunError",
    "Solution",
    "SolveOptions",
    "StaleLockError",
    "StoreError",
    "StoreIndex",
    "Substitute",
    "Unsatisfiable",
    "__version__",
    "apply_plan",
    "check_paths",
    "obtain",
    "obtain_app",
    "open_remote",
    "plan_files",
    "plan_patch",
    "read_lock",
    "solve",
    "verify_lock",
    "write_lock",
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
    elif name in _RENAMED:
        module, attribute = _RENAMED[name]
        value = getattr(import_module(module), attribute)
    else:
        raise AttributeError(f"module 'autopatchelf' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
