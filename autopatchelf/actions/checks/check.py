"""``check``: will the ELF files under some paths run on NixOS? One verdict per file.

:func:`check_paths` finds every ELF file (:mod:`~autopatchelf.actions.checks.discover`), groups
programs with the bundled libraries they reach into apps
(:mod:`~autopatchelf.actions.checks.check_apps`), resolves each app against one store index
(:mod:`~autopatchelf.actions.checks.solver`; helped by worker processes with ``jobs``:
:mod:`~autopatchelf.actions.checks.pool`), and assembles one record per file
(:mod:`~autopatchelf.actions.checks.assemble`).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping, Sequence

from autopatchelf._api import open_index, open_remote
from autopatchelf.actions.checks.assemble import assemble
from autopatchelf.actions.checks.check_apps import Unit, plan_units
from autopatchelf.actions.checks.check_baseline import Baseline, apply_baseline
from autopatchelf.actions.checks.check_model import CheckReport
from autopatchelf.actions.checks.discover import Discovery, discover
from autopatchelf.actions.checks.pool import Helpers, solve_units, start_helpers
from autopatchelf.actions.checks.solver import UnitSolver, Verdict
from autopatchelf.elf.facts import ElfFacts
from autopatchelf.errors import CheckInputError, ElfError
from autopatchelf.gcpause import cycle_collector_paused
from autopatchelf.index import StoreIndex
from autopatchelf.options import SolveOptions
from autopatchelf.progress import NullProgress, Progress


def check_paths(
    paths: Sequence[str],
    options: SolveOptions | None = None,
    *,
    index: StoreIndex | None = None,
    jobs: int = 1,
    baseline: Baseline | None = None,
    allow_empty: bool = False,
    allow_unreadable: bool = False,
    progress: Progress | None = None,
) -> CheckReport:
    """Check every ELF file under ``paths`` against the store.

    ``options`` are those of every solve (and say which index to open); ``index`` is used
    as it is instead (and left open). With ``jobs`` > 1 and enough files to pay for it,
    up to ``jobs - 1`` worker processes help this one
    (``actions.checks.pool.solve_units``), each opening the index
    ``options`` describe (its warm cache makes that fast). Raises
    :class:`~autopatchelf.errors.CheckInputError` for a path that does not exist or
    (unless ``allow_empty``) holds no ELF file, and
    :class:`~autopatchelf.errors.StoreError` for an unusable store; problems of the files
    themselves (malformed ELF included) are reported, never raised. A file that cannot be
    read fails the check unless ``allow_unreadable``.
    """
    started = time.perf_counter()
    options = options or SolveOptions()
    found = discover(paths)
    if not found.files and not allow_empty:
        where = ", ".join(paths)
        raise CheckInputError(
            f"no ELF files under {where}",
            hint="check the path (a CI job pointed at the wrong one would pass), "
            "or pass --allow-empty",
        )
    with start_helpers(options, jobs, len(found.files)) or contextlib.nullcontext() as helpers:
        facts, errors = _read_all(found)
        units = plan_units(facts)
        verdicts, store_dir, warnings = _solve(units, facts, options, index, helpers, progress)
    binaries = assemble(found, facts, errors, units, verdicts)
    report = CheckReport(
        roots=found.roots,
        binaries=binaries,
        apps=len(units),
        non_elf=found.non_elf,
        unreadable=found.unreadable,
        duplicates=found.duplicates,
        store_dir=store_dir,
        jobs=max(1, jobs),
        seconds=time.perf_counter() - started,
        unreadable_paths=found.unreadable_paths,
        allow_unreadable=allow_unreadable,
        warnings=warnings,
    )
    return apply_baseline(report, baseline) if baseline is not None else report


def _solve(
    units: Sequence[Unit],
    facts: Mapping[str, ElfFacts],
    options: SolveOptions,
    index: StoreIndex | None,
    helpers: Helpers | None,
    progress: Progress | None,
) -> tuple[list[dict[str, Verdict]], str, tuple[str, ...]]:
    """The verdicts of ``units``, the store dir and the index's and remote's warnings."""
    own_index = index is None
    opened = index if index is not None else open_index(options)
    remote = None
    try:
        remote = open_remote(options, opened, progress=progress)
        solver = UnitSolver(opened, options, remote, facts)
        bar = progress or NullProgress()
        bar.start("checking", len(units))
        try:
            with cycle_collector_paused():
                verdicts = solve_units(units, solver, helpers, advance=bar.advance)
        finally:
            bar.finish()
        warnings = (opened.cache_warning,) if opened.cache_warning else ()
        if remote is not None:
            warnings = (*warnings, *remote.notes)
        return verdicts, opened.store.dir, warnings
    finally:
        if remote is not None:
            remote.close()
        if own_index:
            opened.close()


def _read_all(found: Discovery) -> tuple[dict[str, ElfFacts], dict[str, ElfError]]:
    facts: dict[str, ElfFacts] = {}
    errors: dict[str, ElfError] = {}
    for file in found.files:
        try:
            facts[file.real] = ElfFacts.read(file.real)
        except ElfError as exc:
            errors[file.real] = exc
        except OSError as exc:  # vanished or unreadable since discovery
            errors[file.real] = ElfError(file.real, exc.strerror or str(exc))
    return facts, errors
