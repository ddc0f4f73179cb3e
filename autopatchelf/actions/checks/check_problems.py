"""Turn the resolver's minimal conflict (facts) into one problem kind, subject and message.

The explanation's rendered lines are kept as the problem's details; the kind, the stable
subject and the one-line message are read from the facts (see
:mod:`autopatchelf.sat.facts`), with a look at the index where the facts alone do not
say why (which glibcs exist, for which architecture).
"""

from __future__ import annotations

import os
import re

from autopatchelf.actions.checks.check_model import CheckProblem, ProblemKind
from autopatchelf.elf.facts import ElfClass, ElfFacts
from autopatchelf.errors import AutopatchelfError
from autopatchelf.index import StoreIndex
from autopatchelf.problem import ldso
from autopatchelf.problem.build import glibc_version, is_glibc_name
from autopatchelf.problem.model import Exclusion, ExclusionKind
from autopatchelf.sat import facts as F
from autopatchelf.solution.explain import Explanation

_GLIBC_VERSION = re.compile(r"^GLIBC_(\d+(?:\.\d+)*)$")

_MACHINES = {
    3: "i386",
    8: "mips",
    20: "ppc",
    21: "ppc64",
    22: "s390",
    40: "arm",
    62: "x86-64",
    183: "aarch64",
    243: "riscv",
}


def arch_name(facts: ElfFacts) -> str:
    """``x86-64 (64-bit)``, ``i386 (32-bit)``..."""
    machine = _MACHINES.get(facts.machine, f"machine {facts.machine}")
    bits = 64 if facts.elf_class is ElfClass.ELF64 else 32
    return f"{machine} ({bits}-bit)"


class StoreLookup:
    """What classifying a conflict asks of the store index."""

    def __init__(self, index: StoreIndex) -> None:
        self.index = index
        self._arch: dict[tuple[int, int, int, int], CheckProblem | None] = {}

    def label(self, path: str) -> str:
        """``libfoo-2.0`` for a store file, the base name for anything else."""
        where = self.index.store.locate(path)
        if where is None:
            return os.path.basename(path)
        return self.index.store.store_path(where[0]).name_version

    def is_foreign(self, path: str) -> bool:
        return bool(path) and self.index.store.locate(path) is None

    def compatible_candidates(self, name: str, root: ElfFacts) -> tuple[int, int]:
        """(compatible, incompatible) counts of the files answering to ``name``."""
        found = self.index.candidates(name)
        good = sum(1 for c in found if ldso.compatible(root, c.facts))
        return good, len(found) - good

    def newest_glibc(self, root: ElfFacts) -> tuple[int, ...] | None:
        versions = [
            glibc_version(c.facts)
            for c in self.index.candidates("libc.so.6")
            if ldso.compatible(root, c.facts)
        ]
        return max(versions) if versions else None

    def arch_problem(self, root: ElfFacts) -> CheckProblem | None:
        """A wrong-architecture problem when the store has glibcs, none for ``root``."""
        key = (root.machine, int(root.elf_class), int(root.endian), root.osabi)
        if key not in self._arch:
            libcs = self.index.candidates("libc.so.6")
            problem = None
            if libcs and not any(ldso.compatible(root, c.facts) for c in libcs):
                have = sorted({arch_name(c.facts) for c in libcs})
                arch = arch_name(root)
                problem = CheckProblem(
                    ProblemKind.WRONG_ARCHITECTURE,
                    arch,
                    f"is built for {arch}, but every glibc in the store is for {' or '.join(have)}",
                )
            self._arch[key] = problem
        return self._arch[key]


def classify(
    explanation: Explanation, root: ElfFacts, lookup: StoreLookup
) -> tuple[CheckProblem, str | None]:
    """The problem a minimal conflict stands for, and the missing soname it is about
    (``None`` unless the need can be set aside to look for further problems)."""
    facts = explanation.facts
    details = explanation.lines
    conclusion = _conclusion(details)
    needs = [f for f in facts if isinstance(f, F.Needs)]
    first = needs[0].requester if needs else root.path

    def requester_of(name: str) -> str:
        return next((n.requester for n in needs if n.name == name), first)

    def problem(kind: ProblemKind, subject: str, message: str, by: str) -> CheckProblem:
        return CheckProblem(kind, subject, message, details, needed_by=by)

    for fact in facts:
        if isinstance(fact, F.NoProvider):
            by = requester_of(fact.name)
            if fact.wrong_arch:
                others = ", ".join(sorted({lookup.label(p) for p in fact.wrong_arch}))
                message = (
                    f"needs {fact.name}, which the store has only for other architectures "
                    f"({others})"
                )
                return problem(ProblemKind.WRONG_ARCHITECTURE, fact.name, message, by), fact.name
            message = f"needs {fact.name}, which no library in the store provides"
            if fact.closest:
                message += f" (closest: {', '.join(fact.closest)})"
            return problem(ProblemKind.MISSING_LIBRARY, fact.name, message, by), fact.name
    for fact in facts:
        if isinstance(fact, F.NoLoader):
            loader = ldso.loader_name(root) or "ld.so"
            return problem(ProblemKind.NO_LOADER, loader, conclusion, first), None
    if any(_is_glibc_conflict(f) for f in facts):
        needed = sorted({n.name for n in needs}) or ["libc.so.6"]
        return problem(ProblemKind.GLIBC_CONFLICT, "+".join(needed), conclusion, first), None
    for fact in facts:
        if isinstance(fact, F.OneProvider):
            return problem(ProblemKind.DIAMOND, fact.name, conclusion, first), None
    excluded = [
        f.exclusion
        for f in facts
        if isinstance(f, F.Excluded)
        and f.exclusion.kind is not ExclusionKind.ARCH
        and lookup.is_foreign(f.exclusion.requester)
    ]
    if excluded:
        return _exclusion_problem(excluded, details, lookup), None
    for need in needs:
        good, bad = lookup.compatible_candidates(need.name, root)
        if good == 0 and bad == 0:
            message = f"needs {need.name}, which no library in the store provides"
            kind = ProblemKind.MISSING_LIBRARY
        elif good == 0:
            message = f"needs {need.name}, which the store has only for other architectures"
            kind = ProblemKind.WRONG_ARCHITECTURE
        else:
            continue
        return problem(kind, need.name, message, need.requester), need.name
    subject = "+".join(sorted({n.name for n in needs})) or "-"
    return problem(ProblemKind.UNSOLVABLE, subject, conclusion, first), None


def _conclusion(lines: tuple[str, ...]) -> str:
    """The explanation's "So ..." line, as a message."""
    for line in reversed(lines):
        if line.startswith("So "):
            text = line[3:].rstrip(".")
            return text[:1].lower() + text[1:]
    return lines[-1] if lines else "no choice of providers satisfies every requirement"


def _is_glibc_conflict(fact: F.Fact) -> bool:
    if isinstance(fact, F.OneGlibc | F.ClosureGlibc | F.NotFromGlibc):
        return True
    return isinstance(fact, F.OneProvider) and is_glibc_name(fact.name)


def _exclusion_problem(
    excluded: list[Exclusion], details: tuple[str, ...], lookup: StoreLookup
) -> CheckProblem:
    glibc = [
        e
        for e in excluded
        if e.kind is ExclusionKind.VERSION
        and is_glibc_name(e.name)
        and _GLIBC_VERSION.match(e.what)
    ]
    if glibc:
        first = glibc[0]
        wanted = _highest_glibc_need(first.requester, first.name) or first.what
        requester = _facts_or_none(first.requester)
        newest = lookup.newest_glibc(requester) if requester is not None else None
        message = f"needs {wanted} from {first.name}, newer than every glibc in the store"
        if newest:
            message += f" (newest: {'.'.join(map(str, newest))})"
        return CheckProblem(
            ProblemKind.GLIBC_TOO_NEW, wanted, message, details, needed_by=first.requester
        )
    first = excluded[0]
    same = [e for e in excluded if (e.requester, e.name) == (first.requester, first.name)]
    lacking = ", ".join(sorted({lookup.label(e.provider) for e in same}))
    if first.kind is ExclusionKind.SYMBOL:
        kind = ProblemKind.MISSING_SYMBOL
        message = f"needs {first.what} from {first.name}, which no candidate exports"
    else:
        kind = ProblemKind.MISSING_VERSION
        message = f"needs version {first.what} of {first.name}, which no candidate defines"
    message += f" ({lacking} {'lacks' if len(same) == 1 else 'lack'} it)"
    return CheckProblem(
        kind, f"{first.name}:{first.what}", message, details, needed_by=first.requester
    )


def _facts_or_none(path: str) -> ElfFacts | None:
    try:
        return ElfFacts.read(path)
    except (AutopatchelfError, OSError):
        return None


def _highest_glibc_need(path: str, name: str) -> str | None:
    """The highest ``GLIBC_x.y`` version ``path`` requires from ``name``."""
    facts = _facts_or_none(path)
    if facts is None:
        return None
    best: tuple[tuple[int, ...], str] | None = None
    for need in facts.version_needs:
        if need.file != name:
            continue
        for req in need.versions:
            match = _GLIBC_VERSION.match(req.name)
            if match and not req.weak:
                key = tuple(int(p) for p in match.group(1).split("."))
                if best is None or key > best[0]:
                    best = (key, req.name)
    return best[1] if best else None
