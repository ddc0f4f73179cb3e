"""The report's records: one :class:`BinaryCheck` per ELF file found, from the verdicts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs

from autopatchelf.actions.checks.check_apps import Unit, role_of
from autopatchelf.actions.checks.check_model import BinaryCheck, CheckProblem, ProblemKind, Role
from autopatchelf.actions.checks.discover import Discovery
from autopatchelf.actions.checks.solver import Verdict, unreadable_problem
from autopatchelf.elf.facts import ElfFacts
from autopatchelf.errors import ElfError


def assemble(
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
            problem = unreadable_problem(error, file.real)
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
        downloads=tuple(d.store_path for d in solution.downloads),
        download_bytes=solution.download_bytes,
        warnings=(*solution.warnings, *substituted),
        solution=solution,
    )


def _relative(problem: CheckProblem, own: str, rel_of: Mapping[str, str]) -> CheckProblem:
    by = problem.needed_by
    if by is None:
        return problem
    rel = rel_of.get(by, by)
    return attrs.evolve(problem, needed_by=None if rel == own else rel)
