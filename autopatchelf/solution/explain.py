"""Turn a minimal conflict and its diagnosis into an explanation a Nix user can act on.

In the spirit of PubGrub's derivations: first what is *required* (a need with a single
surviving provider), then why those requirements cannot hold together, then the
conclusion, rendered from the :class:`~autopatchelf.Diagnosis`. This is
the only module that writes the explanation's sentences; :attr:`Explanation.summary` is the
one-line form (``check``'s message).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import attrs

from autopatchelf.frozen import FrozenMap, Record
from autopatchelf.ldso.search import has_slash
from autopatchelf.problem.model import Exclusion, Problem
from autopatchelf.sat import facts as F
from autopatchelf.solution.diagnosis import Diagnosis, ProblemKind, diagnose


@attrs.frozen(repr=False)
class Explanation(Record):
    """A minimal conflict, what it means, and how to say it."""

    facts: tuple[F.Fact, ...]
    diagnosis: Diagnosis
    lines: tuple[str, ...]
    #: Missing names and the closest names that exist, for hints.
    missing: FrozenMap[str, tuple[str, ...]]
    #: The requesting objects as the user named them (for the text only).
    summary: str = ""

    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def conclusion(self) -> str:
        """The "So ..." sentence."""
        return next((line for line in self.lines if line.startswith("So ")), self.summary)

    @property
    def hint(self) -> str:
        return self.diagnosis.hint


class _Renderer:
    def __init__(
        self, problem: Problem, facts: Sequence[F.Fact], names: dict[str, str] | None
    ) -> None:
        self.p = problem
        self.facts = list(facts)
        self.names = names or {}
        self.lines: list[str] = []

    def who(self, path: str) -> str:
        if path in self.names:
            return self.names[path]
        prov = self.p.providers.get(path)
        if prov is None:
            return path
        if prov.store_path is None:
            return prov.label if prov.label.startswith(("/", ".")) else f"./{prov.label}"
        return f"{prov.label} ({os.path.basename(path)})"

    def pkg(self, path: str) -> str:
        prov = self.p.providers.get(path)
        return prov.label if prov is not None else path

    def glibc(self, store_path: str) -> str:
        g = self.p.glibcs.get(store_path)
        return g.label if g is not None else store_path

    def render(self, diagnosis: Diagnosis) -> tuple[str, ...]:
        excluded = [f.exclusion for f in self.facts if isinstance(f, F.Excluded)]
        for fact in self.facts:
            if isinstance(fact, F.Needs):
                self._need(fact, excluded)
            elif isinstance(fact, F.BundledProvides) and has_slash(fact.name):
                self.lines.append(
                    f"Because {self.who(fact.requester)} names {fact.name} by its path, "
                    "that file is loaded."
                )
            elif isinstance(fact, F.BundledProvides):
                self.lines.append(
                    f"Because {self.who(fact.requester)} finds {fact.name} bundled at "
                    f"{self.who(fact.provider)} through its own RUNPATH, that copy is loaded."
                )
        foreign = {f.path for f in self.p.foreign}
        needed = {(f.requester, f.name) for f in self.facts if isinstance(f, F.Needs)}
        for fact in self.facts:
            if isinstance(fact, F.ClosureProvides):
                self.lines.append(
                    f"And because {self.pkg(fact.requester)} loads {fact.name} from its own "
                    f"closure ({self.pkg(fact.provider)}), no other {fact.name} may be loaded."
                )
            elif isinstance(fact, F.Excluded) and (
                fact.exclusion.requester not in foreign
                or (fact.exclusion.requester, fact.exclusion.name) not in needed
            ):
                # A foreign object's exclusion is said with its need, if the need is in
                # the conflict; else (its provider is forced elsewhere) here.
                e = fact.exclusion
                who = self.who(e.requester) if e.requester in foreign else self.pkg(e.requester)
                self.lines.append(
                    f"And because {who} needs {e.what} from {e.name}, "
                    f"{self.pkg(e.provider)} cannot be its {e.name}."
                )
            elif isinstance(fact, F.ClosureGlibc):
                uses = " or ".join(self.glibc(g) for g in fact.glibcs)
                self.lines.append(
                    f"And because {self.p_label(fact.store_path)}'s closure uses {uses}, "
                    f"the process must load {uses}."
                )
            elif isinstance(fact, F.NotFromGlibc):
                self.lines.append(
                    f"And because {self.pkg(fact.provider)} is not part of a glibc, it cannot "
                    f"provide glibc's {fact.name}."
                )
            elif isinstance(fact, F.NoLoader):
                self.lines.append(
                    f"And because {self.glibc(fact.glibc)} ships no loader for this machine, "
                    "it cannot be the glibc."
                )
        self.lines.extend(
            f"A binary cache has {r.store_path}, which would provide {r.soname}, "
            f"but it is rejected: {r.reason}."
            for r in diagnosis.rejected
        )
        self.lines.append(conclusion(diagnosis))
        self.lines.extend(f"Closest match: {hint}." for hint in self.p.hints)
        self.lines.extend(self._also_missing())
        return tuple(self.lines)

    def p_label(self, store_path: str) -> str:
        for prov in self.p.providers.values():
            if prov.store_path == store_path:
                return prov.label
        return store_path

    def _need(self, fact: F.Needs, excluded: list[Exclusion]) -> None:
        name = fact.name
        mine = [e for e in excluded if e.name == name and e.requester == fact.requester]
        cands = self.p.candidates.get(name, ())
        ruled_out = {e.provider for e in mine}
        survivors = [c for c in cands if c not in ruled_out]
        wants = sorted({e.what for e in mine})
        need = f"{self.who(fact.requester)} needs {name}"
        if wants:
            need += " with " + ", ".join(wants)
        if name in self.p.missing:
            self.lines.append(f"Because {need}, and no file in the store provides {name}.")
            return
        if not survivors:
            lacking = "; ".join(f"{self.pkg(e.provider)} lacks {e.what}" for e in mine)
            self.lines.append(f"Because {need}, and no candidate has it ({lacking}).")
            return
        if len(survivors) == 1:
            only = self.pkg(survivors[0])
            tail = (
                " (" + "; ".join(f"{self.pkg(e.provider)} lacks {e.what}" for e in mine) + ")"
                if mine
                else ""
            )
            self.lines.append(
                f"Because {need}, and only {only} provides it{tail}, {only} is required."
            )
            return
        options = ", ".join(self.pkg(s) for s in survivors)
        self.lines.append(f"Because {need}, one of {options} is required.")

    def _also_missing(self) -> list[str]:
        """Every other name the roots and bundled libraries need that nothing provides
        (a minimal conflict shows one; the user wants the whole list at once)."""
        shown = {f.name for f in self.facts if isinstance(f, F.NoProvider)}
        if not shown:
            return []
        needed = {n for obj in self.p.foreign for n in self.p.free.get(obj.path, ())}
        others = sorted(n for n in self.p.missing if n in needed and n not in shown)
        return [f"Also missing from the store: {', '.join(others)}."] if others else []


def _brings(diagnosis: Diagnosis, verb: str) -> str:
    return "; ".join(
        f"{' and '.join(side.brought_by)} {verb}{'s' if len(side.brought_by) == 1 else ''} "
        f"{side.provider}"
        for side in diagnosis.sides
    )


def conclusion(d: Diagnosis) -> str:
    """The "So ..." sentence of a diagnosis."""
    kind = d.kind
    if kind is ProblemKind.WRONG_ARCHITECTURE and d.arch is not None:
        return (
            f"So it cannot run here: it is built for {d.arch}, and every glibc in the store "
            f"is for {' or '.join(d.store_arches)} (none for {d.arch})."
        )
    if kind in (ProblemKind.MISSING_LIBRARY, ProblemKind.WRONG_ARCHITECTURE):
        parts = []
        if d.lacking:
            parts.append(
                "the store has it only for another architecture (" + ", ".join(d.lacking) + ")"
            )
        if d.closest:
            parts.append("closest names that exist: " + ", ".join(d.closest))
        else:
            parts.append("no similar name exists either")
        return f"So {d.soname} cannot be loaded; " + "; ".join(parts) + "."
    if kind is ProblemKind.NO_LOADER:
        return f"So no glibc in the store ships the loader {d.loader} for this machine."
    if kind is ProblemKind.GLIBC_CONFLICT:
        if len(d.sides) > 1:
            return "So no single glibc fits: " + _brings(d, "use") + "."
        if not d.sides:
            return "So no single glibc fits every library the process needs."
    if kind in (ProblemKind.DIAMOND, ProblemKind.GLIBC_CONFLICT):
        if len(d.sides) > 1:
            return (
                f"So two different {d.soname} would be loaded (a diamond: "
                + _brings(d, "bring")
                + "), and ld.so loads only one."
            )
        return (
            f"So two different files would have to provide {d.soname} in one process "
            "(a diamond), and ld.so loads only one."
        )
    if kind is ProblemKind.GLIBC_TOO_NEW:
        newest = f"GLIBC_{d.newest_glibc}" if d.newest_glibc else "none"
        return (
            f"So no glibc in the store is new enough: {', '.join(d.wanted)} is needed, "
            f"the newest glibc has {newest}."
        )
    if kind in (ProblemKind.MISSING_VERSION, ProblemKind.MISSING_SYMBOL):
        return (
            f"So no {d.soname} in the store has {', '.join(d.wanted)}: "
            "a newer build of it is needed."
        )
    return "So these requirements cannot all hold."


def summary(d: Diagnosis) -> str:
    """One line for the diagnosis: what the requester needs and why it cannot have it."""
    kind = d.kind
    if kind is ProblemKind.WRONG_ARCHITECTURE and d.arch is not None:
        return (
            f"is built for {d.arch}, but every glibc in the store is for "
            f"{' or '.join(d.store_arches)}"
        )
    if kind is ProblemKind.WRONG_ARCHITECTURE:
        others = f" ({', '.join(d.lacking)})" if d.lacking else ""
        return f"needs {d.soname}, which the store has only for other architectures{others}"
    if kind is ProblemKind.MISSING_LIBRARY:
        message = f"needs {d.soname}, which no library in the store provides"
        if d.closest:
            message += f" (closest: {', '.join(d.closest)})"
        return message
    if kind is ProblemKind.GLIBC_TOO_NEW:
        message = f"needs {d.subject} from {d.soname}, newer than every glibc in the store"
        if d.newest_glibc:
            message += f" (newest: {d.newest_glibc})"
        return message
    if kind in (ProblemKind.MISSING_SYMBOL, ProblemKind.MISSING_VERSION):
        what = d.subject.partition(":")[2]
        if kind is ProblemKind.MISSING_SYMBOL:
            message = f"needs {what} from {d.soname}, which no candidate exports"
        else:
            message = f"needs version {what} of {d.soname}, which no candidate defines"
        if d.shortfalls:  # the candidates lack different things
            return message + f" ({'; '.join(d.shortfalls)})"
        verb = "lacks" if len(d.lacking) == 1 else "lack"
        return message + f" ({', '.join(d.lacking)} {verb} it)"
    text = conclusion(d).removeprefix("So ").rstrip(".")
    return text[:1].lower() + text[1:]


def explain(
    problem: Problem, facts: Sequence[F.Fact], *, names: dict[str, str] | None = None
) -> Explanation:
    """The explanation of the minimal conflict ``facts``; ``names`` maps a root's path to
    the name the user gave it (``./curl``), for the text."""
    diagnosis = diagnose(problem, facts)
    lines = _Renderer(problem, facts, names).render(diagnosis)
    missing = FrozenMap((f.name, f.closest) for f in facts if isinstance(f, F.NoProvider))
    return Explanation(tuple(facts), diagnosis, lines, missing, summary(diagnosis))
