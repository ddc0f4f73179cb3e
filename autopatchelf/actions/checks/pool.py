"""Solving apps for ``check``: in this process, helped by worker processes (``--jobs``).

This process always solves too: it takes units from the front of the queue while
``jobs - 1`` worker processes (each reopening the warm index), started as soon as the
files are found, are handed small batches from the back, so a worker that is slow to
start, or a machine with no spare CPU, costs little more than solving alone. No worker
is started for fewer than :data:`MIN_FILES` ELF files: starting one (an interpreter, the
imports, the index reopened, its caches warmed again) costs about as much as checking
that many here.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from autopatchelf._api import open_index, open_remote
from autopatchelf.actions.checks.check_apps import Unit
from autopatchelf.actions.checks.solver import UnitSolver, Verdict
from autopatchelf.errors import StoreError
from autopatchelf.gcpause import cycle_collector_paused
from autopatchelf.options import SolveOptions

#: For fewer ELF files than this no worker process is started.
MIN_FILES = 100
#: Units a worker is handed at a time (small, so the last ones end together).
BATCH = 8
#: Batches handed to each worker ahead of it (so it never waits for this process).
AHEAD = 2

_WORKER: UnitSolver | None = None

Verdicts = dict[str, Verdict]


def _start_worker(options: SolveOptions) -> None:
    global _WORKER  # noqa: PLW0603 - one solver per worker process, for its lifetime
    index = open_index(options)
    _WORKER = UnitSolver(index, options, open_remote(options, index))


def _solve_batch(units: Sequence[Unit]) -> list[Verdicts]:
    if _WORKER is None:  # pragma: no cover - the initializer always ran
        raise RuntimeError("worker process has no index")
    with cycle_collector_paused():
        return [_WORKER.unit(unit) for unit in units]


def helpers_for(count: int, jobs: int, minimum: int | None = None) -> int:
    """How many worker processes help this one with ``count`` files (or units) and
    ``jobs`` jobs: none below ``minimum`` (default :data:`MIN_FILES`), at most one per
    two batches."""
    if count < max(MIN_FILES if minimum is None else minimum, 2 * BATCH):
        return 0
    return max(0, min(jobs - 1, count // (2 * BATCH)))


def _warm() -> None:
    """A task that only makes a worker process start (and run its initializer)."""


class Helpers:
    """Worker processes started early (while this process still reads the files), each
    solving ``options``' way; a context manager that ends them."""

    def __init__(self, options: SolveOptions, count: int) -> None:
        self.count = count
        # forkserver: workers start from a clean process (no inherited SQLite handles, no
        # threads), and import the package once each.
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
        self.pool = ProcessPoolExecutor(
            max_workers=count, mp_context=context, initializer=_start_worker, initargs=(options,)
        )
        for _ in range(count):
            self.pool.submit(_warm)

    def __enter__(self) -> Helpers:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


def start_helpers(options: SolveOptions, jobs: int, files: int) -> Helpers | None:
    """Worker processes for a check of ``files`` ELF files (``None`` where none pays)."""
    count = helpers_for(files, jobs)
    return Helpers(options, count) if count else None


def solve_units(
    units: Sequence[Unit],
    solver: UnitSolver,
    helpers: Helpers | None = None,
    *,
    advance: Callable[[int], None] = lambda _n: None,
    minimum: int = 0,
) -> list[Verdicts]:
    """The verdicts of every unit, in order: ``solver`` here, helped by up to
    :func:`helpers_for` of ``helpers`` (from ``minimum`` units on). ``advance(n)``: n
    more units are done."""
    # The helpers were started for the files found: they help whenever there are batches
    # to hand them (a few units can be much work: one app of many bundled libraries).
    count = helpers_for(len(units), helpers.count + 1, minimum) if helpers is not None else 0
    if helpers is None or count == 0:
        out = []
        for unit in units:
            out.append(solver.unit(unit))
            advance(1)
        return out
    return _Shared(units, solver, advance).run(helpers.pool, count)


class _Shared:
    """One queue of batches: this process eats it from the front, workers from the back."""

    def __init__(
        self, units: Sequence[Unit], solver: UnitSolver, advance: Callable[[int], None]
    ) -> None:
        self.units = units
        self.solver = solver
        self.advance = advance
        self.results: list[Verdicts | None] = [None] * len(units)
        self.queue = deque(range(start, min(start + BATCH, len(units))) for start in
                           range(0, len(units), BATCH))  # fmt: skip
        self.pending: dict[Future[list[Verdicts]], range] = {}

    def run(self, pool: ProcessPoolExecutor, helpers: int) -> list[Verdicts]:
        try:
            self._hand_out(pool, helpers)
            while self.queue:
                for index in self.queue.popleft():
                    self.results[index] = self.solver.unit(self.units[index])
                    self.advance(1)
                self._collect(block=False)
                self._hand_out(pool, helpers)
            while self.pending:
                self._collect(block=True)
        except BrokenProcessPool as exc:
            raise StoreError(
                f"a worker process could not open the index or died: {exc}",
                hint="run with --jobs 1 to see the error",
            ) from exc
        done = [r for r in self.results if r is not None]
        assert len(done) == len(self.units)  # every batch was solved once
        return done

    def _hand_out(self, pool: ProcessPoolExecutor, helpers: int) -> None:
        while self.queue and len(self.pending) < helpers * AHEAD:
            batch = self.queue.pop()
            future = pool.submit(_solve_batch, [self.units[i] for i in batch])
            self.pending[future] = batch

    def _collect(self, *, block: bool) -> None:
        if block:
            finished, _ = wait(self.pending, return_when=FIRST_COMPLETED)
        else:
            finished = {f for f in self.pending if f.done()}
        for future in finished:
            batch = self.pending.pop(future)
            for index, verdicts in zip(batch, future.result(), strict=True):
                self.results[index] = verdicts
            self.advance(len(batch))
