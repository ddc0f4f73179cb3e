"""Turn a minimal conflict into an explanation a Nix user can act on.

The conflict is data (a tuple of facts); :class:`Unsatisfiable` carries it and the
rendered lines, in the spirit of PubGrub's derivations: first what is *required* (a need
with a single surviving provider), then why those requirements cannot hold together.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import attrs

from autopatchelf.errors import AutopatchelfError, ExitCode
from autopatchelf.problem.model import Exclusion, ExclusionKind, Problem
from autopatchelf.sat import facts as F


@attrs.frozen
class Explanation:
    facts: tuple[F.Fact, ...]
    lines: tuple[str, ...]
    #: Missing names and the closest names that exist, for hints.
    missing: dict[str, tuple[str, ...]]

    def text(self) -> str:
        return "\n".join(self.lines)


class Unsatisfiable(AutopatchelfError):
    """No choice of providers satisfies every hard constraint."""

    exit_code = ExitCode.UNSATISFIABLE

    def __init__(self, explanation: Explanation) -> None:
        first = explanation.lines[-1] if explanation.lines else "no solution"
        super().__init__(first, hint=_hint(explanation))
        self.explanation = explanation


def _hint(expl: Explanation) -> str | None:
    if expl.missing:
        return "add a package providing it to the store (or --within), or --allow-missing NAME"
    if expl.lines and expl.lines[-1].startswith("So no single glibc"):
        return "try --glibc compatible, or add builds of these libraries against one glibc"
    if any(isinstance(f, F.OneProvider) for f in expl.facts):
        return "pin a consistent set with --prefer, or add a build that shares the dependency"
    if any(isinstance(f, F.Excluded) for f in expl.facts):
        return "add a newer build that provides it to the store (or --within)"
    return None


class _Renderer:
    def __init__(self, problem: Problem, facts: Sequence[F.Fact]) -> None:
        self.p = problem
        self.facts = list(facts)
        self.lines: list[str] = []

    def who(self, path: str) -> str:
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

    def render(self) -> tuple[str, ...]:
        excluded = [f.exclusion for f in self.facts if isinstance(f, F.Excluded)]
        for fact in self.facts:
            if isinstance(fact, F.Needs):
                self._need(fact, excluded)
            elif isinstance(fact, F.BundledProvides):
                self.lines.append(
                    f"Because {self.who(fact.requester)} finds {fact.name} bundled at "
                    f"{self.who(fact.provider)} through its own RUNPATH, that copy is loaded."
                )
        for fact in self.facts:
            if isinstance(fact, F.ClosureProvides):
                self.lines.append(
                    f"And because {self.pkg(fact.requester)} loads {fact.name} from its own "
                    f"closure ({self.pkg(fact.provider)}), no other {fact.name} may be loaded."
                )
            elif isinstance(fact, F.Excluded) and fact.exclusion.requester not in self._foreign():
                e = fact.exclusion
                self.lines.append(
                    f"And because {self.pkg(e.requester)} needs {e.what} from {e.name}, "
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
        self.lines.append(self._conclusion())
        self.lines.extend(f"Closest match: {hint}." for hint in self.p.hints)
        self.lines.extend(self._also_missing())
        return tuple(self.lines)

    def p_label(self, store_path: str) -> str:
        for prov in self.p.providers.values():
            if prov.store_path == store_path:
                return prov.label
        return store_path

    def _foreign(self) -> set[str]:
        return {f.path for f in self.p.foreign}

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

    def _diamond(self, name: str) -> str:
        wanted: dict[str, list[str]] = {}
        for fact in self.facts:
            if isinstance(fact, F.ClosureProvides | F.BundledProvides) and fact.name == name:
                wanted.setdefault(fact.provider, []).append(self.pkg(fact.requester))
        if name in self.p.glibc_names and len(wanted) > 1:
            parts = [
                f"{' and '.join(who)} use{'s' if len(who) == 1 else ''} "
                f"{self.glibc(self.p.providers[prov].store_path or prov)}"
                for prov, who in wanted.items()
            ]
            return "So no single glibc fits: " + "; ".join(parts) + "."
        if len(wanted) > 1:
            parts = [
                f"{' and '.join(who)} bring{'s' if len(who) == 1 else ''} {self.pkg(prov)}"
                for prov, who in wanted.items()
            ]
            return (
                f"So two different {name} would be loaded (a diamond: "
                + "; ".join(parts)
                + "), and ld.so loads only one."
            )
        return (
            f"So two different files would have to provide {name} in one process "
            "(a diamond), and ld.so loads only one."
        )

    def _conclusion(self) -> str:
        for fact in self.facts:
            if isinstance(fact, F.NoProvider):
                parts = []
                if fact.wrong_arch:
                    parts.append(
                        "the store has it only for another architecture ("
                        + ", ".join(self.pkg(p) for p in fact.wrong_arch)
                        + ")"
                    )
                if fact.closest:
                    parts.append("closest names that exist: " + ", ".join(fact.closest))
                else:
                    parts.append("no similar name exists either")
                return f"So {fact.name} cannot be loaded; " + "; ".join(parts) + "."
        if any(isinstance(f, F.OneGlibc) for f in self.facts):
            return "So no single glibc fits every library the process needs."
        names = [f.name for f in self.facts if isinstance(f, F.OneProvider)]
        if names:
            return self._diamond(names[0])
        excluded = [
            f.exclusion
            for f in self.facts
            if isinstance(f, F.Excluded) and f.exclusion.kind is not ExclusionKind.ARCH
        ]
        if excluded:
            return self._too_old(excluded)
        return "So these requirements cannot all hold."

    def _too_old(self, excluded: list[Exclusion]) -> str:
        """The conclusion when versions rule every candidate out."""
        name = excluded[0].name
        wants = sorted({e.what for e in excluded if e.name == name})
        if name == "libc.so.6" and all(w.startswith("GLIBC_") for w in wants):
            best = max((g.version for g in self.p.glibcs.values()), default=())
            newest = "GLIBC_" + ".".join(map(str, best)) if best else "none"
            return (
                f"So no glibc in the store is new enough: {', '.join(wants)} is needed, "
                f"the newest glibc has {newest}."
            )
        return f"So no {name} in the store has {', '.join(wants)}: a newer build of it is needed."


def explain(problem: Problem, facts: Sequence[F.Fact]) -> Explanation:
    lines = _Renderer(problem, facts).render()
    missing = {f.name: f.closest for f in facts if isinstance(f, F.NoProvider)}
    return Explanation(tuple(facts), lines, missing)
