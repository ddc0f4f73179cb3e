"""Reading many files on several processes: the cold index's hot loop.

Only the default reader (:meth:`autopatchelf.ElfFacts.read`) runs in workers; the scanner falls back
to reading in-process for a custom reader or a small batch.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from autopatchelf.elf.facts import ElfFacts
from autopatchelf.index.readfile import ExecutableRead, LibraryRead, read_executable, read_library

if TYPE_CHECKING:
    from concurrent.futures import Executor

#: (``"lib"`` or ``"exe"``, path, owning store path basename)
Job = tuple[str, str, str]
#: The read result, and whether the ELF reader was called.
Outcome = tuple[LibraryRead | ExecutableRead, bool]

_CHUNK = 64
_MAX_WORKERS = 8


def default_workers() -> int:
    """How many reader processes to use: the CPUs we may run on, at most 8."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, _MAX_WORKERS))


def _read(path: str) -> ElfFacts:
    return ElfFacts.read(path)


def run_jobs(jobs: Sequence[Job]) -> list[Outcome]:
    """Run ``jobs`` here, in order (also the unit of work of a worker process)."""
    results: list[Outcome] = []
    for kind, path, owner in jobs:
        if kind == "lib":
            results.append(read_library(path, owner, _read))
        else:
            results.append(read_executable(path, owner, _read))
    return results


class ReaderPool:
    """A lazily started pool of reader processes."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._executor: Executor | None = None
        self._broken = False

    def run(self, jobs: Sequence[Job]) -> list[Outcome]:
        """The outcomes of ``jobs``, in order."""
        # multiprocessing and concurrent.futures load only when a pool really starts: a
        # warm open never does, and importing them cost a warm solve about 20 ms.
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor
        from concurrent.futures.process import BrokenProcessPool

        if self._broken:
            return run_jobs(jobs)
        if self._executor is None:
            method = (
                "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
            )
            self._executor = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=multiprocessing.get_context(method)
            )
        chunks = [jobs[i : i + _CHUNK] for i in range(0, len(jobs), _CHUNK)]
        results: list[Outcome] = []
        try:
            for outcome in self._executor.map(run_jobs, chunks):
                results.extend(outcome)
        except BrokenProcessPool:
            # A worker died (killed, out of memory): read here instead, from now on.
            self.close()
            self._broken = True
            return run_jobs(jobs)
        return results

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
