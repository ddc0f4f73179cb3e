"""The public entry point :func:`solve` (and the indexes it needs)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import attrs

from autopatchelf.elf.facts import ElfFacts
from autopatchelf.errors import ElfError, PredictionError, StoreError
from autopatchelf.index import StoreIndex
from autopatchelf.ldso.load import load_role
from autopatchelf.options import SolveOptions
from autopatchelf.problem.build import build_problem
from autopatchelf.problem.from_index import IndexSource
from autopatchelf.problem.memo import MemoSource, ProblemMemo
from autopatchelf.problem.source import DiskFiles, LibrarySource
from autopatchelf.progress import Progress
from autopatchelf.sat.memo import EncodingMemo
from autopatchelf.solution.model import Solution
from autopatchelf.solution.solve import solve_problem

if TYPE_CHECKING:
    from autopatchelf.index.remote import RemoteIndex, RemoteSettings

#: The running NixOS system: its closure is preferred when it exists.
CURRENT_SYSTEM = "/run/current-system"


def open_index(options: SolveOptions) -> StoreIndex:
    """The store index ``options`` describe (``store``, ``within``, ``cache_dir``)."""
    return StoreIndex.open(options.store, within=options.within, cache_dir=options.cache_dir)


def remote_settings(options: SolveOptions, store_dir: str) -> RemoteSettings | None:
    """Where unrealised candidates come from, or ``None`` when no option names any
    (then no binary cache is ever asked anything). Substituters default to Nix's own;
    trusted keys are Nix's plus ``options.trusted_public_keys``."""
    named_file_cache = any(u.startswith("file://") for u in options.substituters)
    if not (options.remote_paths or options.nix_index or named_file_cache):
        return None
    from autopatchelf.index.remote import RemoteSettings
    from autopatchelf.nix.settings import nix_settings
    from autopatchelf.remote import RemoteError, TrustedKeys

    nix = nix_settings()
    substituters = options.substituters or nix.substituters
    if not substituters:
        raise StoreError(
            "no binary cache to look in: Nix's configuration names no substituter",
            hint="pass --substituter URL",
        )
    try:
        keys = (*nix.trusted_public_keys, *options.trusted_public_keys)
        trusted = TrustedKeys.parse(" ".join(keys))
    except RemoteError as exc:
        raise StoreError(f"trusted public keys: {exc}", hint="a key is NAME:BASE64") from None
    return RemoteSettings(
        store_dir=store_dir,
        remote_paths=options.remote_paths,
        nix_index=options.nix_index,
        substituters=tuple(substituters),
        trusted=trusted,
        timeout=options.remote_timeout,
    )


def open_remote(
    options: SolveOptions, index: StoreIndex, *, progress: Progress | None = None
) -> RemoteIndex | None:
    """The unrealised candidates ``options`` name (``None`` when they name none)."""
    settings = remote_settings(options, index.store.dir)
    if settings is None:
        return None
    from autopatchelf.index.remote import RemoteIndex

    return RemoteIndex(
        settings, is_local=index.offers, cache_dir=options.cache_dir, progress=progress
    )


def _source(index: StoreIndex, remote: RemoteIndex | None) -> LibrarySource:
    if remote is None:
        return IndexSource(index)
    from autopatchelf.problem.from_remote import CombinedSource

    return CombinedSource(IndexSource(index), remote)


class SharedSolves:
    """What consecutive :func:`solve` calls against one open index (and remote) share:
    its answers (:class:`~autopatchelf.problem.memo.MemoSource`), the app files read,
    the last problems built and the system closures. For a run that solves many times
    while the store does not change (``check``)."""

    def __init__(
        self,
        index: StoreIndex,
        remote: RemoteIndex | None = None,
        known: Mapping[str, ElfFacts] | None = None,
    ) -> None:
        self.index = index
        self.remote = remote
        self.source = MemoSource(_source(index, remote))
        self.files = DiskFiles(known)
        self.problems = ProblemMemo(build_problem)
        self.encodings = EncodingMemo()
        self._in_use: dict[tuple[str, ...], frozenset[str]] = {}

    def in_use(self, system: Sequence[str]) -> frozenset[str]:
        key = tuple(system)
        found = self._in_use.get(key)
        if found is None:
            found = self._in_use[key] = _in_use(self.index, key)
        return found


def _in_use(index: StoreIndex, system: Sequence[str]) -> frozenset[str]:
    in_use: set[str] = set()
    for root in system:
        in_use.update(p.path for p in index.closure(index.store.resolve(root)))
    return frozenset(in_use)


def solve(
    files: Sequence[str | ElfFacts],
    options: SolveOptions | None = None,
    *,
    index: StoreIndex | None = None,
    remote: RemoteIndex | None = None,
    progress: Progress | None = None,
    shared: SharedSolves | None = None,
) -> Solution:
    """Choose one store provider for every library ``files`` load.

    ``options`` (default: ``SolveOptions()``, what ``autopatchelf solve`` does with no
    flag) say where candidates come from, what must hold and what is preferred; ``index``
    is used as it is instead of opening the one ``options`` describe (and left open), and
    so is ``remote`` (the binary caches' candidates, :func:`open_remote`); ``shared``
    gives both (and what earlier solves found). ``files`` are paths, or facts already
    read from them.

    Chosen store paths that only a binary cache has are listed in
    :attr:`Solution.downloads`; with ``options.realise`` (the default) they are realised
    with Nix, and the files the solution uses are read again from the store and must
    have the facts their NARs had, before the solution is returned.

    Raises :class:`~autopatchelf.errors.Unsatisfiable` (with the explanation and its
    diagnosis as data) when no choice exists, :class:`~autopatchelf.errors.ElfError` for
    unreadable roots, :class:`~autopatchelf.errors.StoreError` for an unreadable store.
    """
    options = options or SolveOptions()
    # Read the roots first: a bad one fails before a whole store is indexed.
    read = [
        (file.path, file) if isinstance(file, ElfFacts) else (file, _read(file)) for file in files
    ]
    idle = {facts.path: load_role(facts).reason for _, facts in read if load_role(facts).reason}
    solved = [(file, facts) for file, facts in read if facts.path not in idle]
    if not solved:
        return Solution.empty(idle)
    roots = [facts for _, facts in solved]
    if shared is not None:
        index, remote = shared.index, shared.remote
    own_index = index is None
    opened = index if index is not None else open_index(options)
    own_remote = remote is None
    try:
        caches = remote if remote is not None else open_remote(options, opened, progress=progress)
    except BaseException:
        if own_index:
            opened.close()
        raise
    try:
        system = options.system
        if system is None:
            system = (CURRENT_SYSTEM,) if os.path.exists(CURRENT_SYSTEM) else ()
        names = {facts.path: file for file, facts in solved}
        if shared is not None:
            solution = solve_problem(
                roots,
                shared.source,
                options,
                in_use=shared.in_use(system),
                names=names,
                files=shared.files,
                problems=shared.problems,
                encodings=shared.encodings,
            )
        else:
            in_use = _in_use(opened, system)
            source = _source(opened, caches)
            solution = solve_problem(roots, source, options, in_use=in_use, names=names)
        if caches is not None and caches.notes:
            solution = attrs.evolve(solution, warnings=(*caches.notes, *solution.warnings))
        if solution.downloads and options.realise and caches is not None:
            solution = _realise(solution, caches)
        if opened.cache_warning:
            solution = attrs.evolve(solution, warnings=(opened.cache_warning, *solution.warnings))
        return attrs.evolve(solution, nothing_to_solve=idle) if idle else solution
    finally:
        if own_remote and caches is not None:
            caches.close()
        if own_index:
            opened.close()


def _read(file: str) -> ElfFacts:
    return ElfFacts.read(os.path.abspath(file))


def _realise(solution: Solution, caches: RemoteIndex) -> Solution:
    """Download the solution's missing store paths with Nix, then check that every file
    it uses from them has, in the store, the facts read from its NAR."""
    from autopatchelf.nix.realise import realise

    mirror = caches.mirror_url
    realise(
        [d.store_path for d in solution.downloads],
        # The NARs already fetched for facts first: Nix downloads only the rest.
        substituters=(*((mirror,) if mirror else ()), *caches.settings.substituters),
        extra_keys=[str(k) for k in caches.settings.trusted],
    )
    downloaded = {d.store_path for d in solution.downloads}
    for root in solution.roots:
        for lib in root.libraries:
            if lib.store_path not in downloaded:
                continue
            expected = caches.facts_of(lib.path)
            try:
                found = ElfFacts.read(lib.path)
            except ElfError as exc:
                raise PredictionError(f"realised, but {exc}") from exc
            if expected is not None and found != expected:
                raise PredictionError(
                    f"{lib.path}: the realised file differs from the one its NAR held"
                )
    return attrs.evolve(solution, realised=True)
