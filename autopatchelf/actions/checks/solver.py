"""Solving the roots of one app for ``check``, and going on past a missing library.

A missing soname is set aside (as ``--allow-missing`` would) and the solve repeated, so
one report lists every missing library, then the first other conflict. Programs of an app
that conflict only together are told apart from programs that fail alone.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping

import attrs

from autopatchelf._api import SharedSolves, solve
from autopatchelf.actions.checks.check_apps import Unit
from autopatchelf.actions.checks.check_model import CheckProblem, ProblemKind
from autopatchelf.actions.checks.check_problems import problem_of
from autopatchelf.elf.facts import ElfFacts
from autopatchelf.errors import AutopatchelfError, ElfError, RootError, Unsatisfiable
from autopatchelf.frozen import Record
from autopatchelf.index import StoreIndex
from autopatchelf.index.remote import RemoteIndex
from autopatchelf.ldso.machines import arch_label
from autopatchelf.options import SolveOptions
from autopatchelf.solution.model import Solution

#: At most this many solves per root while setting missing libraries aside to find the
#: next problem.
MAX_ROUNDS = 16

#: Problem kinds after which the check goes on with the missing soname set aside.
_RELAXABLE = frozenset({ProblemKind.MISSING_LIBRARY, ProblemKind.WRONG_ARCHITECTURE})


@attrs.frozen(repr=False)
class Verdict(Record):
    """The outcome of solving some roots: a solution, or problems (never both).

    Problems name their requester by absolute path here (``needed_by``)."""

    solution: Solution | None
    problems: tuple[CheckProblem, ...] = ()


class UnitSolver:
    """Solves units against one open index (one per process)."""

    def __init__(
        self,
        index: StoreIndex,
        options: SolveOptions,
        remote: RemoteIndex | None = None,
        known: Mapping[str, ElfFacts] | None = None,
    ) -> None:
        self.index = index
        self.remote = remote
        # A check never downloads: what a binary cache must provide is its own verdict.
        self.options = attrs.evolve(options, max_alternatives=0, realise=False)
        #: What every solve of this run shares (the store does not change meanwhile).
        self.shared = SharedSolves(index, remote, known)
        self._read: dict[str, ElfFacts] = dict(known or {})

    def _facts(self, path: str) -> ElfFacts:
        facts = self._read.get(path)
        if facts is None:
            facts = self._read[path] = ElfFacts.read(path)
        return facts

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
            read = [self._facts(root) for root in roots]
        except ElfError as exc:
            return Verdict(None, (unreadable_problem(exc, exc.path),))
        first = read[0]
        if not any(facts.needed for facts in read):
            return Verdict(None)  # nothing to resolve
        allowed = list(self.options.allow_missing)
        # The needs no pattern allows (a name set aside is allowed by its own literal).
        left = {
            name
            for facts in read
            for name in facts.needed
            if not any(fnmatch.fnmatchcase(name, pat) for pat in allowed)
        }
        problems: list[CheckProblem] = []
        options = self.options
        for _ in range(MAX_ROUNDS):
            if not left:
                break  # every need set aside: nothing left to resolve
            relax: str | None = None
            try:
                solution = solve(read, options, shared=self.shared)
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
                problem = unreadable_problem(exc, exc.path)
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
            left.discard(relax)
            options = attrs.evolve(self.options, allow_missing=allowed)
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


def unreadable_problem(exc: ElfError, path: str) -> CheckProblem:
    return CheckProblem(
        ProblemKind.UNREADABLE_ELF,
        "",
        f"unreadable ELF: {exc.short_reason}",
        needed_by=path,
    )


def _fnmatch_literal(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)
