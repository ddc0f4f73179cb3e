"""Encode a :class:`~autopatchelf.problem.model.Problem` as CNF with selector-guarded hard
facts, plus soft costs.

Variables (numbered 1, 2, ... before any cardinality encoding, whose auxiliaries are
numbered after them):

* ``L(name)``: some loaded object needs ``name``;
* ``X(name, file)``: ``file`` provides ``name`` in the process;
* ``U(file)``: ``file`` is loaded;
* ``G(store path)``: this glibc is the process's glibc;
* ``S(store path)``: this store path is in the solution's closure (for the cost).

Every hard fact that can take part in a conflict is guarded by a selector literal mapped to
a :mod:`~autopatchelf.sat.facts` record; structural clauses (``X -> L``, ``U <-> OR X``) are
plain hard clauses.

Every missing name's :class:`~autopatchelf.sat.facts.NoProvider` fact is encoded, allowed or
not: a solve allows one (``--allow-missing``) by holding its selector false
(:meth:`Encoding.assumptions`), so solves that differ only in what they allow share one
encoding (``check`` sets missing libraries aside one by one).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Collection, Hashable, Iterable
from typing import TypeVar

import attrs

from autopatchelf.frozen import Record
from autopatchelf.options import GlibcPolicy
from autopatchelf.problem.model import ExclusionKind, Problem, Provider
from autopatchelf.sat import facts as F
from autopatchelf.sat.preferences import Preferences

K = TypeVar("K", bound=Hashable)


@attrs.define(repr=False)
class Encoding(Record):
    """The CNF of one problem: hard clauses, the selectors guarding its facts, the soft
    clauses of the costs, and the decision variables by what they mean."""

    #: The highest variable (the last cardinality auxiliary, if any).
    top: int
    hard: list[list[int]]
    #: selector literal -> the fact it guards (insertion order is deterministic).
    selectors: dict[int, F.Fact]
    #: (clause, weight) soft clauses, already scaled to lexicographic levels.
    soft: list[tuple[list[int], int]]
    #: Decision variables: (name, file) -> X literal.
    choices: dict[tuple[str, str], int]
    glibc_vars: dict[str, int]
    store_path_vars: dict[str, int]
    #: Missing name -> the selector of its :class:`~autopatchelf.sat.facts.NoProvider`.
    missing: dict[str, int] = attrs.field(factory=dict)

    def x(self, name: str, path: str) -> int:
        return self.choices[(name, path)]

    def assumptions(self, allowed: Collection[str] = ()) -> list[int]:
        """Every selector held, in order, then the ``allowed`` missing names' selectors
        held false: their facts set aside (what ``--allow-missing`` asks)."""
        off = sorted(self.missing[name] for name in allowed if name in self.missing)
        if not off:
            return sorted(self.selectors)
        dropped = frozenset(off)
        return [s for s in sorted(self.selectors) if s not in dropped] + [-s for s in off]


def at_most_one(lits: list[int], top: int) -> tuple[list[list[int]], int]:
    """Clauses that let at most one of ``lits`` be true, and the new highest variable.

    Two literals get the one binary clause; more get Sinz's sequential counter, with
    auxiliaries ``s1 .. s(n-1)`` numbered from ``top + 1`` (``s(i)``: one of the first
    ``i`` literals is true): ``x1 -> s1``; for each middle ``x(i)``: ``s(i-1) -> s(i)``,
    ``x(i) -> not s(i-1)``, ``x(i) -> s(i)``; and ``x(n) -> not s(n-1)``. Clauses and
    numbering are those of python-sat's ``CardEnc.atmost(..., EncType.seqcounter)``
    (asserted by the unit tests), so encodings, and the optima found in them, are
    unchanged by not importing it."""
    n = len(lits)
    if n < 2:
        return [], top
    if n == 2:
        return [[-lits[0], -lits[1]]], top
    s = range(top + 1, top + n)  # s[i - 1] is s(i)
    clauses = [[-lits[0], s[0]]]
    for i in range(1, n - 1):
        clauses.append([-s[i - 1], s[i]])
        clauses.append([-lits[i], -s[i - 1]])
        clauses.append([-lits[i], s[i]])
    clauses.append([-lits[n - 1], -s[n - 2]])
    return clauses, top + n - 1


class _Encoder:
    def __init__(self, problem: Problem, policy: GlibcPolicy) -> None:
        self.p = problem
        self.policy = policy
        # Problem variables and selectors are numbered here, 1, 2, ...; the cardinality
        # encodings' auxiliaries come after the last of them (so no auxiliary can collide
        # with a problem variable).
        self.top = 0
        self._auxiliaries = False
        self.hard: list[list[int]] = []
        self.selectors: dict[int, F.Fact] = {}
        self._sel_by_fact: dict[F.Fact, int] = {}
        self.missing: dict[str, int] = {}
        # Allocate every problem variable first (cardinality encodings come last).
        self.L = self._numbered(sorted({*problem.candidates, *problem.missing}))
        self.X = self._numbered(
            (n, path) for n, paths in problem.candidates.items() for path in paths
        )
        self.U = self._numbered(problem.providers)
        self.G = self._numbered(problem.glibcs)
        store_paths = sorted(
            {sp for closure in problem.closures.values() for sp in closure} | set(problem.closures)
        )
        self.S = self._numbered(store_paths)
        for fact in self._all_selector_facts():
            self._sel(fact)
        # The selectors of the facts allocated by _selectors_for_facts, in their orders:
        # each fact is made (and hashed) once.
        self._needs_sels: list[int] = []
        self._fixed_sels: list[int] = []
        self._exclusion_sels: list[int] = []
        self._closure_glibc_sels: dict[str, int] = {}
        self._dlopen_sels: list[int] = []
        #: store path -> its closure's S variables, in store path order.
        self._closure_s: dict[str, list[int]] = {}

    # -- selectors --------------------------------------------------------------------

    def _all_selector_facts(self) -> Iterable[F.Fact]:
        # Pre-allocating selectors keeps their ids below the cardinality auxiliaries.
        yield F.OneGlibc()
        for name in self.L:
            yield F.OneProvider(name)

    def _numbered(self, keys: Iterable[K]) -> dict[K, int]:
        """Fresh variables for ``keys``, numbered in their order (before the auxiliaries)."""
        listed = list(keys)
        first = self.top + 1
        self.top += len(listed)
        return dict(zip(listed, range(first, self.top + 1), strict=True))

    def _sel(self, fact: F.Fact) -> int:
        """The selector of ``fact``, numbered on first use (one hash of the fact)."""
        fresh = self.top + 1
        sel = self._sel_by_fact.setdefault(fact, fresh)
        if sel == fresh:
            assert not self._auxiliaries, "a selector is numbered after the auxiliaries"
            self.top = fresh
            self.selectors[sel] = fact
        return sel

    def _sels_of_distinct(self, facts: Iterable[F.Fact]) -> list[int]:
        """The selectors of facts equal to no fact numbered before or after them (one per
        key of a problem map: a (requester, name) pair, a store path), numbered in order
        without hashing each."""
        assert not self._auxiliaries, "a selector is numbered after the auxiliaries"
        listed = list(facts)
        first = self.top + 1
        self.top += len(listed)
        sels = list(range(first, self.top + 1))
        self.selectors.update(zip(sels, listed, strict=True))
        return sels

    def _guarded(self, fact: F.Fact, clause: list[int]) -> None:
        self.hard.append([*clause, -self._sel(fact)])

    # -- hard facts -------------------------------------------------------------------

    def encode(self) -> None:
        p = self.p
        hard = self.hard
        L, X, U = self.L, self.X, self.U
        foreign = {prov.path for prov in p.foreign}
        self._selectors_for_facts(foreign)
        amo: list[tuple[F.Fact, list[int]]] = []
        # Roots and bundled libraries are always loaded.
        hard.extend([U[path]] for path in sorted(foreign))
        for name, paths in p.candidates.items():
            lits = [X[(name, path)] for path in paths]
            needed = L[name]
            if lits:
                hard.append([-needed, *lits])
            hard.extend([[-lit, needed] for lit in lits])
            if len(lits) > 1:
                amo.append((F.OneProvider(name), lits))
        # The files of each name ruled out for their architecture (one pass, not one per
        # missing name).
        wrong_arch: dict[str, list[str]] = {}
        if p.missing:
            for e in p.exclusions:
                if e.kind is ExclusionKind.ARCH:
                    wrong_arch.setdefault(e.name, []).append(e.provider)
        for name, closest in p.missing.items():
            wrong = tuple(wrong_arch.get(name, ()))
            sel = self.missing[name] = self._sel(F.NoProvider(name, closest, wrong))
            hard.append([-L[name], -sel])
        # U(file) <-> some name is provided by it (foreign files are always loaded).
        by_file: dict[str, list[int]] = {}
        for (_, path), lit in X.items():
            if path in by_file:
                by_file[path].append(lit)
            else:
                by_file[path] = [lit]
        for path, u in U.items():
            lits = by_file.get(path, [])
            if path not in foreign:
                hard.append([-u, *lits])
            hard.extend([[-lit, u] for lit in lits])
        self._encode_needs(foreign)
        self._encode_exclusions(foreign)
        self._encode_glibc(amo)
        # S(store path): in the closure of some loaded store file.
        for path, prov in p.providers.items():
            if prov.store_path is not None:
                loaded = -U[path]
                hard.extend([[loaded, s] for s in self._closure_vars(prov.store_path)])
        # Cardinality constraints last: their auxiliary variables are numbered after every
        # problem variable and selector (theirs were numbered first).
        self._auxiliaries = True
        for fact, lits in amo:
            sel = self._sel(fact)
            clauses, self.top = at_most_one(lits, self.top)
            hard.extend([[*clause, -sel] for clause in clauses])

    def _closure_vars(self, store_path: str) -> list[int]:
        """The S variables of ``store_path``'s closure, in store path order (computed
        once per store path: its files share it)."""
        found = self._closure_s.get(store_path)
        if found is None:
            closure = self.p.closures.get(store_path, {store_path})
            found = self._closure_s[store_path] = [self.S[sp] for sp in sorted(closure)]
        return found

    def _selectors_for_facts(self, foreign: set[str]) -> None:
        """Allocate the remaining selectors before any auxiliary variable."""
        p = self.p
        sel = self._sel
        self._needs_sels = [
            sel(F.Needs(path, name)) for path in sorted(foreign) for name in p.free.get(path, ())
        ]
        # (Only these facts say which file a requester's own search finds.)
        self._fixed_sels = self._sels_of_distinct(
            F.BundledProvides(req, name, prov)
            if req in foreign
            else F.ClosureProvides(req, name, prov)
            for (req, name), prov in p.fixed.items()
        )
        # 0: an architecture exclusion (no requester, no selector).
        self._exclusion_sels = [sel(F.Excluded(e)) if e.requester else 0 for e in p.exclusions]
        with_glibcs = [(sp, glibcs) for sp, glibcs in p.closure_glibcs.items() if glibcs]
        self._closure_glibc_sels = dict(
            zip(
                [sp for sp, _ in with_glibcs],
                self._sels_of_distinct(F.ClosureGlibc(sp, glibcs) for sp, glibcs in with_glibcs),
                strict=True,
            )
        )
        self._dlopen_sels = [sel(fact) for fact in self._dlopen_facts]

    @functools.cached_property
    def _dlopen_facts(self) -> list[F.Dlopens]:
        """One fact per dlopen() need its requester's own search does not serve."""
        return [
            F.Dlopens(need.requester, need.name, need)
            for need in self.p.dlopen
            if (need.requester, need.name) not in self.p.fixed and need.requester in self.U
        ]

    def _encode_needs(self, foreign: set[str]) -> None:
        p = self.p
        hard = self.hard
        L, X, U = self.L, self.X, self.U
        needs = [name for path in sorted(foreign) for name in p.free.get(path, ())]
        hard.extend([[L[name], -sel] for name, sel in zip(needs, self._needs_sels, strict=True)])
        compatible = self.policy is GlibcPolicy.COMPATIBLE
        for ((req, name), prov), sel in zip(p.fixed.items(), self._fixed_sels, strict=True):
            if req in foreign:
                hard.append([X[(name, prov)], -sel])
                continue
            if compatible and name in p.glibc_names:
                hard.append([-U[req], L[name]])
                continue
            x = X.get((name, prov))
            if x is not None:
                hard.append([-U[req], x, -sel])
            else:  # its closure's file is unusable here (wrong architecture)
                hard.append([-U[req], -sel])
        for req, names in p.free.items():
            if req in foreign:
                continue
            loaded = -U[req]
            hard.extend([[loaded, L[name]] for name in names])
        # A dlopen() need holds while its requester is loaded (foreign ones always are).
        for fact, sel in zip(self._dlopen_facts, self._dlopen_sels, strict=True):
            if fact.requester in foreign:
                hard.append([L[fact.name], -sel])
            else:
                hard.append([-U[fact.requester], L[fact.name], -sel])

    def _encode_exclusions(self, foreign: set[str]) -> None:
        fixed, X, U = self.p.fixed, self.X, self.U
        for excl, sel in zip(self.p.exclusions, self._exclusion_sels, strict=True):
            if not sel:
                continue  # architecture: the candidate has no X variable at all
            x = X.get((excl.name, excl.provider))
            if x is None:
                continue
            if excl.requester in foreign:
                self.hard.append([-x, -sel])
            elif fixed.get((excl.requester, excl.name)) == excl.provider:
                self.hard.append([-U[excl.requester], -sel])
            else:
                self.hard.append([-U[excl.requester], -x, -sel])

    def _encode_glibc(self, amo: list[tuple[F.Fact, list[int]]]) -> None:
        p = self.p
        for name in sorted(p.glibc_names):
            for path in p.candidates.get(name, ()):
                sp = p.providers[path].store_path
                x = self.X[(name, path)]
                if sp is not None and sp in self.G:
                    self.hard.append([-x, self.G[sp]])
                else:
                    self._guarded(F.NotFromGlibc(name, path), [-x])
        glibc_lits = [self.G[g] for g in sorted(self.G)]
        if len(glibc_lits) > 1:
            amo.append((F.OneGlibc(), glibc_lits))
        needs_loader = any(r.facts.interpreter for r in p.roots)
        if needs_loader:
            for g, info in p.glibcs.items():
                if info.loader is None:
                    self._guarded(F.NoLoader(g), [-self.G[g]])
            # The interpreter is the chosen glibc's loader: some glibc must be chosen.
            root = next(r for r in p.roots if r.facts.interpreter)
            loader = os.path.basename(root.facts.interpreter or "")
            self._guarded(F.Needs(root.path, loader), glibc_lits)
        if self.policy is GlibcPolicy.STRICT:
            sels = self._closure_glibc_sels
            G, U = self.G, self.U
            for path, prov in p.providers.items():
                sp = prov.store_path
                if sp is not None and sp in sels:
                    glibcs = p.closure_glibcs[sp]
                    self.hard.append([-U[path], *(G[g] for g in glibcs), -sels[sp]])

    # -- soft costs -------------------------------------------------------------------

    def soft(
        self, prefs: Preferences, version_of: Callable[[str], tuple[object, ...]]
    ) -> list[tuple[list[int], int]]:
        p = self.p
        fewest = [([-s], 1) for _, s in sorted(self.S.items())]
        newest_units: list[tuple[int, int]] = []
        system_units: list[int] = []
        pin_units: list[int] = []
        for name, paths in p.candidates.items():
            provs = [p.providers[path] for path in paths]
            newest_units.extend(self._ranked(name, provs, version_of))
            if prefs.system and any(pr.store_path in prefs.system for pr in provs):
                system_units.extend(
                    self.X[(name, pr.path)] for pr in provs if pr.store_path not in prefs.system
                )
            pin_units.extend(self._pinned(name, provs, prefs))
        glibc_order = sorted(p.glibcs, key=lambda g: (p.glibcs[g].version, version_of(g), g))
        for rank, g in enumerate(reversed(glibc_order)):
            if rank:
                newest_units.append((self.G[g], rank))
        # Already realised beats must-download; among downloads, fewer bytes (in KiB).
        download_units = [
            (self.S[sp], max(1, -(-size // 1024)))
            for sp, size in sorted(p.downloads.items())
            if sp in self.S
        ]
        w_newest = len(fewest) + 1
        total_newest = w_newest * sum(rank for _, rank in newest_units)
        w_download = total_newest + len(fewest) + 1
        w_system = w_download * (sum(kib for _, kib in download_units) + 1)
        w_pin = w_system * (len(system_units) + 1)
        # A closest-match substitution costs more than every other wish together.
        w_subst = w_pin * (len(pin_units) + 1)
        soft: list[tuple[list[int], int]] = []
        soft.extend(([-self.X[key]], w_subst) for key in sorted(p.substitutes))
        soft.extend(([-lit], w_pin) for lit in pin_units)
        soft.extend(([-lit], w_system) for lit in system_units)
        soft.extend(([-lit], w_download * kib) for lit, kib in download_units)
        soft.extend(([-lit], w_newest * rank) for lit, rank in newest_units)
        soft.extend(fewest)
        return soft

    def _ranked(
        self, name: str, provs: list[Provider], version_of: Callable[[str], tuple[object, ...]]
    ) -> list[tuple[int, int]]:
        keyed = [(version_of(pr.store_path), pr.path) for pr in provs if pr.store_path is not None]
        versions = sorted({key for key, _ in keyed}, reverse=True)
        rank = {key: i for i, key in enumerate(versions)}
        return [(self.X[(name, path)], rank[key]) for key, path in keyed if rank[key]]

    def _pinned(self, name: str, provs: list[Provider], prefs: Preferences) -> list[int]:
        lits: list[int] = []
        if prefs.prefer is not None and any(prefs.prefer(pr) for pr in provs):
            lits.extend(self.X[(name, pr.path)] for pr in provs if not prefs.prefer(pr))
        if prefs.avoid is not None:
            lits.extend(self.X[(name, pr.path)] for pr in provs if prefs.avoid(pr))
        locked = prefs.locked.get(name)
        if locked is not None and any(pr.path == locked for pr in provs):
            lits.extend(self.X[(name, pr.path)] for pr in provs if pr.path != locked)
        return sorted(set(lits))


def encode(
    problem: Problem,
    policy: GlibcPolicy,
    prefs: Preferences,
    version_of: Callable[[str], tuple[object, ...]],
) -> Encoding:
    """``problem`` as CNF under ``policy``, with ``prefs`` as soft costs (``version_of``
    orders store paths newest first). Which missing names are allowed is the solve's
    business (:meth:`Encoding.assumptions`)."""
    enc = _Encoder(problem, policy)
    enc.encode()
    soft = enc.soft(prefs, version_of)
    return Encoding(
        top=enc.top,
        hard=enc.hard,
        selectors=enc.selectors,
        soft=soft,
        choices=dict(enc.X),
        glibc_vars=dict(enc.G),
        store_path_vars=dict(enc.S),
        missing=enc.missing,
    )
