"""Solving apps in worker processes (``check --jobs``), each reopening the warm index."""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from autopatchelf._api import open_index, open_remote
from autopatchelf.actions.checks.check_apps import Unit
from autopatchelf.actions.checks.solver import UnitSolver, Verdict
from autopatchelf.errors import StoreError
from autopatchelf.options import SolveOptions

_WORKER: UnitSolver | None = None


def _start_worker(options: SolveOptions) -> None:
    global _WORKER  # noqa: PLW0603 - one solver per worker process, for its lifetime
    index = open_index(options)
    _WORKER = UnitSolver(index, options, open_remote(options, index))


def _solve_unit(unit: Unit) -> dict[str, Verdict]:
    if _WORKER is None:  # pragma: no cover - the initializer always ran
        raise RuntimeError("worker process has no index")
    return _WORKER.unit(unit)


def solve_in_processes(
    units: Sequence[Unit], options: SolveOptions, workers: int
) -> list[dict[str, Verdict]]:
    # forkserver: workers start from a clean process (no inherited SQLite handles, no
    # threads), and import the package once each.
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    chunk = max(1, len(units) // (workers * 8))
    try:
        with ProcessPoolExecutor(
            max_workers=workers,
            mp_context=context,
            initializer=_start_worker,
            initargs=(options,),
        ) as pool:
            return list(pool.map(_solve_unit, units, chunksize=chunk))
    except BrokenProcessPool as exc:
        raise StoreError(
            f"a worker process could not open the index or died: {exc}",
            hint="run with --jobs 1 to see the error",
        ) from exc
