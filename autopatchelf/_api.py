"""The public entry points: :func:`solve` (and the index it needs)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

from autopatchelf.elf.facts import ElfFacts
from autopatchelf.index import StoreIndex
from autopatchelf.problem.from_index import IndexSource
from autopatchelf.problem.model import Provider
from autopatchelf.sat.encode import GlibcPolicy, Preferences
from autopatchelf.solution.model import Delivery, Solution
from autopatchelf.solution.solve import solve_problem
from autopatchelf.store.path import parse_store_path

#: The running NixOS system: its closure is preferred when it exists.
CURRENT_SYSTEM = "/run/current-system"


def solve(
    files: Sequence[str],
    *,
    index: StoreIndex | None = None,
    store: str | None = None,
    within: Iterable[str] = (),
    cache_dir: str | None = None,
    glibc: str | GlibcPolicy = GlibcPolicy.STRICT,
    prefer: Iterable[str] = (),
    avoid: Iterable[str] = (),
    locked: dict[str, str] | None = None,
    system: Iterable[str] | None = None,
    allow_missing: Iterable[str] = (),
    delivery: str | Delivery = Delivery.LIBRARY_PATH,
    max_alternatives: int = 8,
    allow_substitution: bool = False,
) -> Solution:
    """Choose one store provider for every library ``files`` load.

    Raises :class:`~autopatchelf.solution.explain.Unsatisfiable` (with the explanation as
    data) when no choice exists, :class:`~autopatchelf.errors.ElfError` for unreadable
    roots, :class:`~autopatchelf.errors.StoreError` for an unreadable store.

    ``prefer``/``avoid`` name store paths (``/nix/store/...-openssl-3.0.13``), package
    names (``openssl``) or name-versions (``openssl-3.0.13``). ``system`` lists paths
    whose closures are already in use (default: ``/run/current-system`` if it exists).
    ``allow_substitution`` lets a missing soname be served by a file of a close soname
    (``libfoo.so.2`` for ``libfoo.so.1``) when every version and versioned symbol still
    fits, at a cost above every other preference; see ``Solution.substitutions``.
    """
    policy = GlibcPolicy(glibc) if isinstance(glibc, str) else glibc
    mode = Delivery(delivery) if isinstance(delivery, str) else delivery
    # Read the roots first: a bad one fails before a whole store is indexed.
    roots = [ElfFacts.read(os.path.abspath(file)) for file in files]
    own_index = index is None
    if index is None:
        index = StoreIndex.open(store, within=list(within), cache_dir=cache_dir)
    try:
        source = IndexSource(index)
        if system is None:
            system = [CURRENT_SYSTEM] if os.path.exists(CURRENT_SYSTEM) else []
        in_use: set[str] = set()
        for root in system:
            in_use.update(p.path for p in index.closure(index.store.resolve(root)))
        prefs = Preferences(
            prefer=_matcher(list(prefer)),
            avoid=_matcher(list(avoid)),
            locked=dict(locked or {}),
            system=frozenset(in_use),
        )
        return solve_problem(
            roots,
            source,
            glibc_policy=policy,
            preferences=prefs,
            allow_missing=list(allow_missing),
            delivery=mode,
            max_alternatives=max_alternatives,
            allow_substitution=allow_substitution,
        )
    finally:
        if own_index:
            index.close()


def _matcher(patterns: list[str]) -> Preferences.Matcher | None:
    if not patterns:
        return None

    def matches(provider: Provider) -> bool:
        parsed = parse_store_path(provider.store_path) if provider.store_path else None
        if parsed is None:
            return False
        for pat in patterns:
            if pat in (parsed.path, provider.path, parsed.name_version, parsed.name):
                return True
            if pat.startswith("/") and provider.path.startswith(pat.rstrip("/") + "/"):
                return True
            if "/" not in pat and parsed.name_version.startswith(pat + "-"):
                return True
        return False

    return matches
