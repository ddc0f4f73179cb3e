"""Pausing Python's cyclic garbage collector around bulk work that makes no cycles.

Solving and a cold index build allocate hundreds of thousands of short-lived records
and keep a growing heap of survivors (dicts of paths, directory entries), which the
collector keeps rescanning while finding no reference cycle worth collecting. Reference
counting still frees everything else at once.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

__all__ = ["cycle_collector_paused"]


@contextlib.contextmanager
def cycle_collector_paused() -> Iterator[None]:
    """Pause the cyclic collector for the block (or for a decorated function's calls)
    and restore it as it was: 25% of a 5,000-soname solve (benchmarks/bench_solve.py),
    13% of a cold index build of 20,180 files (benchmarks/bench_index.py)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
