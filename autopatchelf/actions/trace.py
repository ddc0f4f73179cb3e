"""``trace``: run a program under its solution, see what it really opens, solve again.

Each round starts the program the way ``run`` does (the chosen loader and library path)
with ld.so's own tracing (:mod:`autopatchelf.actions.observe`), then reads the trace:

* a library it dlopen()ed from a store path the solution chose is served: nothing to do;
* one it got from anywhere else (the host's ``/usr/lib``: a *leak*, which NixOS would
  not have) or failed to find becomes a traced need (``SolveOptions.traced``), and the
  next round solves with it, so the store provides it.

Rounds end when a run shows nothing new (or after ``rounds``). The program's exit status
does not matter: a program that fails, asks for input or is ended by ``timeout`` still
showed what it opened. What was found is returned; the caller writes the lock.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence

import attrs

from autopatchelf.actions.observe import Observation, run_observed
from autopatchelf.actions.run import loader_plan
from autopatchelf.frozen import Record
from autopatchelf.ldso.machines import LOADER_NAMES
from autopatchelf.ldso.search import has_slash
from autopatchelf.options import SolveOptions
from autopatchelf.solution.model import Solution

__all__ = ["Round", "TraceResult", "trace"]


@attrs.frozen(repr=False)
class Round(Record):
    """One run of the program and what it showed."""

    number: int
    returncode: int
    timed_out: bool
    #: Libraries it dlopen()ed (or loaded at start-up) from outside the solution's store
    #: paths: name -> the file it got.
    leaks: tuple[tuple[str, str], ...]
    #: Names it tried to load and could not.
    failed: tuple[str, ...]
    #: Names served by the solution that were opened after start-up.
    served: tuple[str, ...]
    #: Names given by path (``dlopen("/usr/lib/libGL.so.1")``): a solve cannot change them.
    by_path: tuple[str, ...]
    #: The names this round adds to the solve.
    new: tuple[str, ...]


@attrs.frozen(repr=False)
class TraceResult(Record):
    solution: Solution
    #: Every traced name, in the order found.
    traced: tuple[str, ...]
    rounds: tuple[Round, ...]
    #: Whether the last round showed nothing new (else ``rounds`` ran out).
    settled: bool


def trace(
    binary: str,
    args: Sequence[str],
    options: SolveOptions,
    solve: Callable[[SolveOptions], Solution],
    *,
    environ: Mapping[str, str],
    timeout: float | None = None,
    rounds: int = 4,
    link_dir: Callable[[Solution], str | None] = lambda _solution: None,
) -> TraceResult:
    """Run ``binary`` with ``args`` under ``solve(options)`` (with what earlier rounds
    found added to ``options.traced``), at most ``rounds`` times."""
    binary = os.path.abspath(binary)
    traced = list(options.traced)
    done: list[Round] = []
    solution = solve(options)
    for number in range(1, rounds + 1):
        plan = loader_plan(solution, binary, args, environ, link_dir=link_dir(solution))
        seen = run_observed(plan.argv, plan.env, timeout=timeout)
        found = _read_round(number, seen, solution, binary, traced)
        done.append(found)
        if not found.new:
            return TraceResult(solution, tuple(traced), tuple(done), True)
        traced.extend(found.new)
        solution = solve(attrs.evolve(options, traced=tuple(traced)))
    return TraceResult(solution, tuple(traced), tuple(done), False)


def _read_round(
    number: int, seen: Observation, solution: Solution, binary: str, traced: Sequence[str]
) -> Round:
    root = solution.root(binary)
    chosen = {os.path.realpath(lib.path) for lib in root.libraries}
    store_paths = tuple(f"{sp}/" for sp in solution.store_paths)
    app_dir = os.path.dirname(binary) + "/"
    leaks: dict[str, str] = {}
    served: list[str] = []
    by_path: list[str] = []
    for opened in seen.opened:
        if opened.namespace != 0 or _is_loader(opened.name):
            continue
        real = os.path.realpath(opened.path)
        if has_slash(opened.name):
            if not real.startswith((*store_paths, app_dir)):
                by_path.append(opened.name)
            continue
        if real in chosen or real.startswith(store_paths):
            if not opened.at_startup:
                served.append(opened.name)
            continue
        if real.startswith(app_dir):
            continue  # the program's own tree: bundled
        leaks.setdefault(opened.name, real)
    failed = [
        f.name
        for f in seen.failed
        if f.namespace == 0 and not has_slash(f.name) and not _is_loader(f.name)
    ]
    known = set(traced)
    new = [n for n in dict.fromkeys([*leaks, *failed]) if n not in known]
    return Round(
        number=number,
        returncode=seen.returncode,
        timed_out=seen.timed_out,
        leaks=tuple(sorted(leaks.items())),
        failed=tuple(dict.fromkeys(failed)),
        served=tuple(dict.fromkeys(served)),
        by_path=tuple(dict.fromkeys(by_path)),
        new=tuple(new),
    )


def _is_loader(name: str) -> bool:
    """The loader serves the process whatever the solution says."""
    return os.path.basename(name) in LOADER_NAMES
