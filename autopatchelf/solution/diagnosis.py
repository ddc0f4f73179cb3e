"""What a minimal conflict means, computed once, as data: a :class:`~autopatchelf.Diagnosis`.

The solver's minimal conflict is a set of facts (:mod:`autopatchelf.sat.facts`);
``diagnose`` reads them (and the problem they come from) and says which kind of
problem it is, what it is about (a stable subject: a soname, a version, ``soname:version``),
whose need fails, and the facts a reader needs. The text renderer
(:mod:`autopatchelf.solution.explain`), the hints, the JSON documents and ``check`` all read
the diagnosis; nothing reads rendered text back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import attrs

from autopatchelf.frozen import Record
from autopatchelf.ldso.glibc import (
    highest_glibc_need,
    is_glibc_name,
    parse_glibc_version,
    version_text,
)
from autopatchelf.ldso.machines import arch_label, loader_name
from autopatchelf.problem.model import Exclusion, ExclusionKind, Problem
from autopatchelf.sat import facts as F
from autopatchelf.solution.kinds import KIND_INFO, KindInfo, ProblemKind

__all__ = ["KIND_INFO", "Diagnosis", "KindInfo", "ProblemKind", "Rejected", "Side", "diagnose"]


@attrs.frozen(repr=False)
class Side(Record):
    """One side of a diamond or glibc conflict: a provider and who brings it."""

    #: The provider's label (``libdep-1.0``), or for a glibc conflict the glibc's label.
    provider: str
    #: Labels of the objects whose closures bring it.
    brought_by: tuple[str, ...]


@attrs.frozen(repr=False)
class Rejected(Record):
    """A store path a binary cache has that would provide a needed soname, but may not be
    used (its narinfo's signature, its NAR's hash, a closure no cache can give)."""

    store_path: str
    soname: str
    reason: str


@attrs.frozen(repr=False)
class Diagnosis(Record):
    """What a minimal conflict means (every field is data; see the module docstring)."""

    kind: ProblemKind
    #: What it is about, stable across store updates: a soname, a version
    #: (``GLIBC_2.38``), ``soname:version``, ``soname+soname``, an architecture.
    subject: str
    #: The foreign object (root or bundled library) whose need fails.
    requester: str
    #: The soname it is about, if one (``libfoo.so.1``).
    soname: str | None = None
    #: What is needed of it and missing: versions (``FOO_3.0``) or ``symbol@VERSION``.
    wanted: tuple[str, ...] = ()
    #: Labels of the candidates that lack it (or, for a wrong architecture, exist only for
    #: another machine).
    lacking: tuple[str, ...] = ()
    #: What each candidate lacks (``libfoo-1.0 lacks FOO_2.0``), when they lack different
    #: things (else empty: ``lacking`` says it).
    shortfalls: tuple[str, ...] = ()
    #: Names that do exist and look like the missing soname.
    closest: tuple[str, ...] = ()
    #: The conflicting sides of a diamond or glibc conflict.
    sides: tuple[Side, ...] = ()
    #: The newest glibc version the candidates have (glibc-too-new), ``2.41``.
    newest_glibc: str | None = None
    #: The program's architecture and those the store's glibcs are for (wrong-architecture).
    arch: str | None = None
    store_arches: tuple[str, ...] = ()
    #: The glibc without a loader (no-loader) and the loader's name.
    glibc: str | None = None
    loader: str | None = None
    #: Binary-cache paths that would provide a soname of the conflict, and why each was
    #: refused: what turns a "nothing provides it" into "trust that key".
    rejected: tuple[Rejected, ...] = ()

    @property
    def relaxable(self) -> str | None:
        """The soname ``check`` may set aside (``--allow-missing``) to look for further
        problems: a missing one, never a glibc or a version."""
        if self.kind in (ProblemKind.MISSING_LIBRARY, ProblemKind.WRONG_ARCHITECTURE):
            return self.soname
        return None

    @property
    def hint(self) -> str:
        return KIND_INFO[self.kind].help


class _Reader:
    """Reads one minimal conflict against its problem."""

    def __init__(self, problem: Problem, facts: Sequence[F.Fact]) -> None:
        self.p = problem
        self.facts = tuple(facts)
        self.needs = [f for f in facts if isinstance(f, F.Needs)]
        root = problem.roots[0]
        self.root = root
        self.first = self.needs[0].requester if self.needs else root.path

    def label(self, path: str) -> str:
        provider = self.p.providers.get(path)
        return provider.label if provider is not None else path

    def requester_of(self, name: str) -> str:
        return next((n.requester for n in self.needs if n.name == name), self.first)

    def glibc_label(self, store_path: str) -> str:
        glibc = self.p.glibcs.get(store_path)
        return glibc.label if glibc is not None else store_path

    def arch_excluded(self, name: str) -> tuple[str, ...]:
        """Files answering to ``name`` that exist only for another machine."""
        return tuple(
            e.provider for e in self.p.exclusions if e.name == name and e.kind is ExclusionKind.ARCH
        )

    # -- the kinds, in the order they are recognised ------------------------------------

    def diagnose(self) -> Diagnosis:
        for read in (
            self.no_glibc_for_machine,
            self.missing,
            self.no_loader,
            self.glibc_conflict,
            self.diamond,
            self.excluded,
            self.need_without_candidates,
        ):
            found = read()
            if found is not None:
                return found
        subject = "+".join(sorted({n.name for n in self.needs})) or "-"
        return Diagnosis(ProblemKind.UNSOLVABLE, subject, self.first)

    def no_glibc_for_machine(self) -> Diagnosis | None:
        """The store has glibcs, none for this program's machine."""
        if self.p.glibcs:
            return None
        others = self.arch_excluded("libc.so.6")
        if not others:
            return None
        arch = arch_label(self.root.facts)
        have = sorted({arch_label(self.p.providers[path].facts) for path in others})
        return Diagnosis(
            ProblemKind.WRONG_ARCHITECTURE,
            arch,
            self.root.path,
            arch=arch,
            store_arches=tuple(have),
            lacking=tuple(sorted({self.label(p) for p in others})),
        )

    def missing(self) -> Diagnosis | None:
        for fact in self.facts:
            if isinstance(fact, F.NoProvider):
                by = self.requester_of(fact.name)
                if fact.wrong_arch:
                    return Diagnosis(
                        ProblemKind.WRONG_ARCHITECTURE,
                        fact.name,
                        by,
                        soname=fact.name,
                        lacking=tuple(sorted({self.label(p) for p in fact.wrong_arch})),
                        closest=fact.closest,
                    )
                return Diagnosis(
                    ProblemKind.MISSING_LIBRARY,
                    fact.name,
                    by,
                    soname=fact.name,
                    closest=fact.closest,
                )
        return None

    def no_loader(self) -> Diagnosis | None:
        for fact in self.facts:
            if isinstance(fact, F.NoLoader):
                loader = loader_name(self.root.facts) or "ld.so"
                return Diagnosis(
                    ProblemKind.NO_LOADER,
                    loader,
                    self.first,
                    glibc=self.glibc_label(fact.glibc),
                    loader=loader,
                )
        return None

    def _sides(self, name: str) -> tuple[Side, ...]:
        wanted: dict[str, list[str]] = {}
        for fact in self.facts:
            if isinstance(fact, F.ClosureProvides | F.BundledProvides) and fact.name == name:
                wanted.setdefault(fact.provider, []).append(self.label(fact.requester))
        sides = []
        for provider, who in wanted.items():
            if is_glibc_name(name):
                store_path = self.p.providers[provider].store_path
                shown = self.glibc_label(store_path) if store_path else provider
            else:
                shown = self.label(provider)
            sides.append(Side(shown, tuple(who)))
        return tuple(sides)

    def glibc_conflict(self) -> Diagnosis | None:
        glibc_facts = [f for f in self.facts if _is_glibc_conflict(f)]
        if not glibc_facts:
            return None
        names = [f.name for f in glibc_facts if isinstance(f, F.OneProvider)]
        sides = self._sides(names[0]) if names and not _has(self.facts, F.OneGlibc) else ()
        subject = "+".join(sorted({n.name for n in self.needs})) or "libc.so.6"
        return Diagnosis(ProblemKind.GLIBC_CONFLICT, subject, self.first, sides=sides)

    def _closure_glibc(self) -> bool:
        """Whether a store library of the conflict takes its glibc from its own closure."""
        return any(isinstance(f, F.ClosureProvides) and is_glibc_name(f.name) for f in self.facts)

    def glibc_conflict_of(self, name: str) -> Diagnosis:
        subject = "+".join(sorted({n.name for n in self.needs})) or name
        return Diagnosis(ProblemKind.GLIBC_CONFLICT, subject, self.first)

    def diamond(self) -> Diagnosis | None:
        for fact in self.facts:
            if isinstance(fact, F.OneProvider):
                return Diagnosis(
                    ProblemKind.DIAMOND,
                    fact.name,
                    self.first,
                    soname=fact.name,
                    sides=self._sides(fact.name),
                )
        return None

    def excluded(self) -> Diagnosis | None:
        """A version or symbol no candidate has: the foreign objects' needs first, then
        those of store libraries in the conflict."""
        foreign = {f.path for f in self.p.foreign}
        excluded = [
            f.exclusion
            for f in self.facts
            if isinstance(f, F.Excluded) and f.exclusion.kind is not ExclusionKind.ARCH
        ]
        mine = [e for e in excluded if e.requester in foreign]
        if mine or excluded:
            return self._exclusion(mine or excluded)
        return None

    def _exclusion(self, excluded: list[Exclusion]) -> Diagnosis:
        glibc = [
            e
            for e in excluded
            if e.kind is ExclusionKind.VERSION
            and is_glibc_name(e.name)
            and parse_glibc_version(e.what) is not None
        ]
        if glibc:
            first = glibc[0]
            requester = self.p.providers[first.requester].facts
            highest = highest_glibc_need(requester, first.name) or first.what
            best = max((g.version for g in self.p.glibcs.values()), default=())
            wanted = parse_glibc_version(highest)
            if best and wanted is not None and wanted <= best and self._closure_glibc():
                # A glibc new enough exists, but a closure in the conflict loads an older
                # one: that is two glibcs, not a missing one.
                return self.glibc_conflict_of(first.name)
            return Diagnosis(
                ProblemKind.GLIBC_TOO_NEW,
                highest,
                first.requester,
                soname=first.name,
                wanted=tuple(sorted({e.what for e in glibc if e.name == first.name})),
                lacking=tuple(sorted({self.label(e.provider) for e in glibc})),
                newest_glibc=version_text(best) if best else None,
            )
        first = excluded[0]
        same = [e for e in excluded if (e.requester, e.name) == (first.requester, first.name)]
        symbols = [e for e in same if e.kind is ExclusionKind.SYMBOL]
        if symbols:
            # A candidate with the version still lacks a symbol: that is the deeper need,
            # and every other candidate (lacking the version) lacks the symbol too.
            first, kind, lacking = symbols[0], ProblemKind.MISSING_SYMBOL, same
        else:
            kind = ProblemKind.MISSING_VERSION
            lacking = [e for e in same if e.what == first.what]
        return Diagnosis(
            kind,
            f"{first.name}:{first.what}",
            first.requester,
            soname=first.name,
            wanted=tuple(sorted({e.what for e in excluded if e.name == first.name})),
            lacking=tuple(sorted({self.label(e.provider) for e in lacking})),
            shortfalls=_shortfalls(same, self.label),
        )

    def need_without_candidates(self) -> Diagnosis | None:
        for need in self.needs:
            if self.p.candidates.get(need.name):
                continue
            others = self.arch_excluded(need.name)
            kind = ProblemKind.WRONG_ARCHITECTURE if others else ProblemKind.MISSING_LIBRARY
            return Diagnosis(
                kind,
                need.name,
                need.requester,
                soname=need.name,
                lacking=tuple(sorted({self.label(p) for p in others})),
            )
        return None


def _shortfalls(excluded: list[Exclusion], label: Callable[[str], str]) -> tuple[str, ...]:
    """``label lacks what`` for each candidate, when they do not all lack the same thing."""
    if len({e.what for e in excluded}) < 2:
        return ()
    return tuple(sorted({f"{label(e.provider)} lacks {e.what}" for e in excluded}))


def _has(facts: Sequence[F.Fact], kind: type) -> bool:
    return any(isinstance(f, kind) for f in facts)


def _is_glibc_conflict(fact: F.Fact) -> bool:
    if isinstance(fact, F.OneGlibc | F.ClosureGlibc | F.NotFromGlibc):
        return True
    return isinstance(fact, F.OneProvider) and is_glibc_name(fact.name)


def diagnose(problem: Problem, facts: Sequence[F.Fact]) -> Diagnosis:
    """The diagnosis of the minimal conflict ``facts`` of ``problem``."""
    found = _Reader(problem, facts).diagnose()
    # The sonames the conflict is about: those needed, and those a provider was excluded
    # for (a closure's libm.so.6 needing a newer glibc is about libm.so.6).
    names = sorted(
        {f.name for f in facts if isinstance(f, F.Needs)}
        | {f.exclusion.name for f in facts if isinstance(f, F.Excluded)}
    )
    rejected = tuple(
        Rejected(store_path, name, why)
        for name in names
        for store_path, why in problem.rejected.get(name, ())
    )
    return attrs.evolve(found, rejected=rejected) if rejected else found
