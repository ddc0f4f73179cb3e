"""``check``: will the ELF files under some paths run on NixOS? One verdict per file.

:func:`check_paths` finds every ELF file (:mod:`~autopatchelf.actions.checks.discover`), groups
programs with the bundled libraries they reach into apps
(:mod:`~autopatchelf.actions.checks.check_apps`), resolves each app against one store index,
and turns every conflict into a problem with its cause
(:mod:`~autopatchelf.actions.checks.check_problems`). Apps are independent, so they can be
solved in worker processes (``jobs``), each reopening the warm index from its cache.
"""

from __future__ import annotations

import fnmatch
import multiprocessing
import re
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import attrs

from autopatchelf._api import solve
from autopatchelf.actions.checks.check_apps import Unit, plan_units, role_of
from autopatchelf.actions.checks.check_baseline import Baseline, apply_baseline
from autopatchelf.actions.checks.check_model import (
    BinaryCheck,
    CheckProblem,
    CheckReport,
    ProblemKind,
    Role,
)
from autopatchelf.actions.checks.check_problems import problem_of
from autopatchelf.actions.checks.discover import Discovery, discover
from autopatchelf.elf.facts import ElfFacts
from autopatchelf.errors import AutopatchelfError, ElfError, RootError, StoreError, Unsatisfiable
from autopatchelf.index import StoreIndex
from autopatchelf.ldso.machines import arch_label
from autopatchelf.solution.model import Solution

#: At most this many solves per root while setting missing libraries aside to find the
#: next problem.
MAX_ROUNDS = 16

#: Problem kinds after which the check goes on with the missing soname set aside.
_RELAXABLE = frozenset({ProblemKind.MISSING_LIBRARY, ProblemKind.WRONG_ARCHITECTURE})


@attrs.frozen
class IndexOptions:
    """How to open the store index (again, in each worker process)."""

    store: str | None = None
    within: tuple[str, ...] = ()
    cache_dir: str | None = None

    def open(self) -> StoreIndex:
        return StoreIndex.open(self.store, within=list(self.within), cache_dir=self.cache_dir)


@attrs.frozen
class SolveOptions:
    """The resolver options every app is solved with (see :func:`autopatchelf.solve`)."""

    glibc: str = "strict"
    prefer: tuple[str, ...] = ()
    avoid: tuple[str, ...] = ()
    system: tuple[str, ...] | None = None
    allow_missing: tuple[str, ...] = ()
    #: A close soname may stand in for a missing one (reported as a warning).
    allow_substitution: bool = False


@attrs.frozen
class Verdict:
    """The outcome of solving some roots: a solution, or problems (never both).

    Problems name their requester by absolute path here (``needed_by``)."""

    solution: Solution | None
    problems: tuple[CheckProblem, ...] = ()


def check_paths(
    paths: Sequence[str],
    *,
    index: StoreIndex | None = None,
    index_options: IndexOptions | None = None,
    jobs: int = 1,
    options: SolveOptions | None = None,
    baseline: Baseline | None = None,
) -> CheckReport:
    """Check every ELF file under ``paths`` against the store.

    ``index`` is used as is (and left open); without it one is opened from
    ``index_options``. With ``jobs`` > 1, apps are solved in that many worker processes,
    each opening the index from ``index_options`` (its warm cache makes that fast): pass
    the options ``index`` was opened with. Raises
    :class:`~autopatchelf.actions.checks.discover.CheckInputError` for a path that does not
    exist and :class:`~autopatchelf.errors.StoreError` for an unusable store; problems
    of the files themselves (malformed ELF included) are reported, never raised.
    """
    started = time.perf_counter()
    if jobs > 1 and index is not None and index_options is None:
        raise ValueError("jobs > 1 with an open index needs index_options to reopen it")
    solve_options = options or SolveOptions()
    found = discover(paths)
    facts, errors = _read_all(found)
    units = plan_units(facts)
    own_index = index is None
    opened = index if index is not None else (index_options or IndexOptions()).open()
    try:
        workers = min(jobs, len(units))
        if workers > 1:
            verdicts = _solve_in_processes(
                units, index_options or IndexOptions(), solve_options, workers
            )
        else:
            solver = UnitSolver(opened, solve_options)
            verdicts = [solver.unit(u) for u in units]
        store_dir = opened.store.dir
    finally:
        if own_index:
            opened.close()
    binaries = _assemble(found, facts, errors, units, verdicts)
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
    )
    return apply_baseline(report, baseline) if baseline is not None else report


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


# -- solving ---------------------------------------------------------------------------


class UnitSolver:
    """Solves units against one open index (one per process)."""

    def __init__(self, index: StoreIndex, options: SolveOptions) -> None:
        self.index = index
        self.options = options

    def unit(self, unit: Unit) -> dict[str, Verdict]:
        """A verdict for every root and member of ``unit`` (by real path)."""
        joint = self.solve(unit.roots)
        if joint.solution is not None:
            served = (*unit.roots, *unit.members, *_bundled(joint.solution))
            return dict.fromkeys(served, joint)
        out: dict[str, Verdict] = {}
        passing: list[Verdict] = []
        seen = list(joint.problems)
        if len(unit.roots) == 1:
            out[unit.roots[0]] = joint
        else:
            solos = {root: self.solve((root,)) for root in unit.roots}
            passing = [v for v in solos.values() if v.solution is not None]
            if len(passing) == len(solos):  # each alone is fine: they conflict together
                together = tuple(_app_conflict(p) for p in joint.problems)
                out.update(dict.fromkeys(unit.roots, Verdict(None, together)))
                passing = []
            else:
                out.update(solos)
                seen.extend(p for v in solos.values() for p in v.problems)
        for member in unit.members:
            if member in out:
                continue
            serving = next((v for v in passing if member in _bundled(v.solution)), None)
            if serving is not None:
                out[member] = serving
                continue
            own = tuple(dict.fromkeys(p for p in seen if p.needed_by == member))
            out[member] = Verdict(None, own) if own else self.solve((member,))
        return out

    def solve(self, roots: tuple[str, ...]) -> Verdict:
        """Solve ``roots`` together; on a missing library, set it aside and go on, so
        every missing library is reported, then the first other conflict."""
        try:
            read = [ElfFacts.read(root) for root in roots]
        except ElfError as exc:
            return Verdict(None, (_unreadable(exc, exc.path),))
        first = read[0]
        if not any(facts.needed for facts in read):
            return Verdict(None)  # nothing to resolve
        allowed = list(self.options.allow_missing)
        needed = {name for facts in read for name in facts.needed}
        problems: list[CheckProblem] = []
        for _ in range(MAX_ROUNDS):
            if all(any(fnmatch.fnmatchcase(n, pat) for pat in allowed) for n in needed):
                break  # every need set aside: nothing left to resolve
            relax: str | None = None
            try:
                solution = solve(
                    roots,
                    index=self.index,
                    glibc=self.options.glibc,
                    prefer=self.options.prefer,
                    avoid=self.options.avoid,
                    system=self.options.system,
                    allow_missing=allowed,
                    allow_substitution=self.options.allow_substitution,
                    max_alternatives=0,
                )
            except Unsatisfiable as exc:
                problem, relax = problem_of(exc.explanation)
            except RootError as exc:
                problem = CheckProblem(
                    ProblemKind.WRONG_ARCHITECTURE,
                    arch_label(first),
                    exc.reason.removeprefix(f"{first.path}: "),
                    needed_by=roots[0],
                )
            except ElfError as exc:
                problem = _unreadable(exc, exc.path)
            except AutopatchelfError as exc:
                problem = CheckProblem(
                    ProblemKind.RESOLVER_ERROR, type(exc).__name__, exc.reason, needed_by=roots[0]
                )
            except Exception as exc:  # a resolver bug fails this binary, not the whole run
                problem = CheckProblem(
                    ProblemKind.RESOLVER_ERROR,
                    type(exc).__name__,
                    f"internal error in the resolver (please report it): {exc!r}",
                    needed_by=roots[0],
                )
            else:
                return Verdict(None if problems else solution, tuple(problems))
            if problem in problems:
                break
            problems.append(problem)
            if relax is None or problem.kind not in _RELAXABLE:
                break
            allowed.append(_fnmatch_literal(relax))
        return Verdict(None, tuple(problems))


def _bundled(solution: Solution | None) -> frozenset[str]:
    if solution is None:
        return frozenset()
    return frozenset(
        lib.path for r in solution.roots for lib in r.libraries if lib.store_path is None
    )


def _app_conflict(problem: CheckProblem) -> CheckProblem:
    return CheckProblem(
        ProblemKind.APP_CONFLICT,
        problem.subject,
        "resolves alone, but not together with the other programs of its app: " + problem.message,
        problem.details,
    )


def _unreadable(exc: ElfError, path: str) -> CheckProblem:
    return CheckProblem(
        ProblemKind.UNREADABLE_ELF,
        "",
        f"unreadable ELF: {exc.short_reason}",
        needed_by=path,
    )


def _fnmatch_literal(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)


# -- worker processes -------------------------------------------------------------------

_WORKER: UnitSolver | None = None


def _start_worker(index_options: IndexOptions, options: SolveOptions) -> None:
    global _WORKER  # noqa: PLW0603 - one solver per worker process, for its lifetime
    _WORKER = UnitSolver(index_options.open(), options)


def _solve_unit(unit: Unit) -> dict[str, Verdict]:
    if _WORKER is None:  # pragma: no cover - the initializer always ran
        raise RuntimeError("worker process has no index")
    return _WORKER.unit(unit)


def _solve_in_processes(
    units: Sequence[Unit], index_options: IndexOptions, options: SolveOptions, workers: int
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
            initargs=(index_options, options),
        ) as pool:
            return list(pool.map(_solve_unit, units, chunksize=chunk))
    except BrokenProcessPool as exc:
        raise StoreError(
            f"a worker process could not open the index or died: {exc}",
            hint="run with --jobs 1 to see the error",
        ) from exc


# -- the report ---------------------------------------------------------------------------


def _assemble(
    found: Discovery,
    facts: Mapping[str, ElfFacts],
    errors: Mapping[str, ElfError],
    units: Sequence[Unit],
    verdicts: Sequence[Mapping[str, Verdict]],
) -> tuple[BinaryCheck, ...]:
    rel_of: dict[str, str] = {}
    for file in found.files:
        rel_of.setdefault(file.real, file.rel)
        rel_of.setdefault(file.path, file.rel)
    verdict_of: dict[str, Verdict] = {}
    app_of: dict[str, str] = {}
    for unit, outcome in zip(units, verdicts, strict=True):
        app = rel_of.get(unit.roots[0], unit.roots[0])
        shared = len(unit.roots) > 1
        for path, verdict in outcome.items():
            verdict_of.setdefault(path, verdict)
            if shared or path not in unit.roots:
                app_of.setdefault(path, app)
    binaries = []
    for file in found.files:
        base = BinaryCheck(root=file.root, path=file.rel, file=file.path, role=Role.OTHER)
        error = errors.get(file.real)
        if error is not None:
            problem = _unreadable(error, file.real)
            binaries.append(
                attrs.evolve(
                    base, role=Role.UNREADABLE, problems=(_relative(problem, file.rel, rel_of),)
                )
            )
            continue
        role = role_of(facts[file.real])
        if role is Role.OTHER:
            binaries.append(
                attrs.evolve(
                    base,
                    note=f"{facts[file.real].type.name.lower()} object: not loadable, not checked",
                )
            )
            continue
        if role is Role.STATIC:
            binaries.append(attrs.evolve(base, role=role, note="needs no shared library"))
            continue
        verdict = verdict_of.get(file.real) or Verdict(
            None,
            (CheckProblem(ProblemKind.RESOLVER_ERROR, "", "was not checked"),),
        )
        binaries.append(
            _verdict_record(
                attrs.evolve(base, role=role, app=app_of.get(file.real)), file.real, verdict, rel_of
            )
        )
    return tuple(binaries)


def _verdict_record(
    base: BinaryCheck, real: str, verdict: Verdict, rel_of: Mapping[str, str]
) -> BinaryCheck:
    problems = tuple(dict.fromkeys(_relative(p, base.path, rel_of) for p in verdict.problems))
    solution = verdict.solution
    if solution is None:
        return attrs.evolve(base, problems=problems)
    interpreter = solution.interpreter
    for root in solution.roots:
        if root.root == real:
            interpreter = root.interpreter
    substituted = tuple(
        f"{needed} is served by {used} (substitution: patching rewrites DT_NEEDED)"
        for needed, used in sorted(solution.substitutions.items())
    )
    return attrs.evolve(
        base,
        glibc=solution.glibc,
        interpreter=interpreter,
        store_paths=solution.store_paths,
        warnings=(*solution.warnings, *substituted),
        solution=solution,
    )


def _relative(problem: CheckProblem, own: str, rel_of: Mapping[str, str]) -> CheckProblem:
    by = problem.needed_by
    if by is None:
        return problem
    rel = rel_of.get(by, by)
    return attrs.evolve(problem, needed_by=None if rel == own else rel)
