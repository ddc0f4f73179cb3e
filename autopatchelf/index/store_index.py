"""The public face of the index: :class:`StoreIndex`."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping, Sequence

from autopatchelf.elf.facts import ElfFacts
from autopatchelf.errors import ElfError
from autopatchelf.index.cache import IndexCache, cache_error, cache_path
from autopatchelf.index.candidate import Candidate, IndexStats
from autopatchelf.index.readfile import Reader
from autopatchelf.index.searchpath import DirectoryPlacer
from autopatchelf.index.update import UpdateResult, update_cache
from autopatchelf.index.view import FileInfo, IndexView
from autopatchelf.ldso.search import own_entries
from autopatchelf.nix.db import NixDatabase
from autopatchelf.progress import Progress
from autopatchelf.sqlite import is_busy
from autopatchelf.store.graph import ClosedGraph, MappingGraph, ReferenceGraph
from autopatchelf.store.path import StorePath
from autopatchelf.store.store import NixMode, Store

PathLike = str | os.PathLike[str] | StorePath


def _default_reader(path: str) -> ElfFacts:
    return ElfFacts.read(path)


class StoreIndex:
    """soname -> candidate library files of a store (or of closures inside it).

    Open with :meth:`open`; close (or use as a context manager) when done. Candidates
    and store paths always come out in a deterministic order.
    """

    def __init__(
        self,
        store: Store,
        cache: IndexCache,
        view: IndexView,
        update: UpdateResult,
        *,
        reader: Reader,
        owns_store: bool,
        timings: tuple[float, float],
    ) -> None:
        self._store = store
        self._cache = cache
        self._view = view
        self._update = update
        self._valid = update.valid
        self._universe = update.universe
        self._reader = reader
        self._owns_store = owns_store
        #: (load seconds, open seconds) of :meth:`open`.
        self._timings = timings
        self._stats: IndexStats | None = None
        self._candidates: dict[str, Candidate | None] = {}
        self._verdicts: IndexVerdicts | None = None
        #: :meth:`search_dirs`' answers, by (candidate path, origin).
        self._search_dirs: dict[tuple[str, str], tuple[str, ...]] = {}
        #: :meth:`candidate`'s answers, by the path asked about.
        self._by_path: dict[str, Candidate | None] = {}
        #: Digests of the facts of the candidates made (their blobs'), by path.
        self._facts_keys: dict[str, bytes] = {}
        graph = store.graph
        if isinstance(graph, NixDatabase) and update.universe is not None:
            # (a narrowed index: its closures come from one batch of Nix's references)
            graph = ClosedGraph(graph, update.universe, graph.references_among)
        self._graph: ReferenceGraph | None = graph
        self._placer = DirectoryPlacer(store)

    @classmethod
    def open(
        cls,
        store: str | Store | None = None,
        *,
        within: Iterable[PathLike] = (),
        cache_dir: str | None = None,
        progress: Progress | None = None,
        reader: Reader | None = None,
        workers: int | None = None,
        nix: NixMode = "auto",
    ) -> StoreIndex:
        """Index ``store`` (a :class:`~autopatchelf.store.store.Store`, a directory, or
        ``None`` for Nix's store).

        ``within`` narrows the candidates to the closure of those paths (store paths or
        symlinks into the store: ``result``, ``/run/current-system``, a profile).
        ``cache_dir`` overrides where the cache lives (see
        :func:`~autopatchelf.cachedir.default_cache_dir`). ``reader`` replaces
        :meth:`autopatchelf.ElfFacts.read` (tests count calls through it); with
        the default reader, a cold scan reads on ``workers`` processes (default: one per
        CPU, at most 8; ``1`` reads in-process). ``nix`` picks the store backend.
        """
        started = time.perf_counter()
        owns_store = not isinstance(store, Store)
        opened = store if isinstance(store, Store) else Store.open(store, nix=nix)
        try:
            roots = [opened.resolve(_as_path(p)).basename for p in within]
            cache = _open_cache(opened.dir, cache_dir)
        except BaseException:
            if owns_store:
                opened.close()
            raise
        read = reader or _default_reader
        try:
            update, view, load_seconds = _update_and_load(
                cache, opened, roots, reader, workers, progress
            )
        except BaseException:
            cache.close()
            if owns_store:
                opened.close()
            raise
        return cls(
            opened,
            cache,
            view,
            update,
            reader=read,
            owns_store=owns_store,
            timings=(load_seconds, time.perf_counter() - started),
        )

    @property
    def stats(self) -> IndexStats:
        """Counts and timings of this index (the counts are one pass over the cache,
        made on first use: a solve never needs them)."""
        if self._stats is None:
            update, view = self._update, self._view
            counts = view.counts()
            covered = len(update.valid) if update.universe is None else len(update.universe)
            self._stats = IndexStats(
                store_dir=self._store.dir,
                backend=self._store.backend,
                cache_file=self._cache.path,
                cache_warning=self._cache.warning,
                store_paths=covered,
                lib_dirs=counts.lib_dirs,
                files=counts.files,
                sonames=counts.sonames,
                executables=counts.executables,
                non_elf=counts.skipped.non_elf,
                bad_elf=counts.skipped.bad_elf,
                not_library=counts.skipped.not_library,
                outside=counts.skipped.outside,
                paths_scanned=update.paths_scanned,
                dirs_scanned=update.dirs_scanned,
                paths_dropped=update.paths_dropped,
                files_read=update.files_read,
                libraries_read=update.libraries_read,
                update_seconds=update.seconds,
                load_seconds=self._timings[0],
                seconds=self._timings[1],
            )
        return self._stats

    @property
    def cache_warning(self) -> str | None:
        """Why the cache is in memory, or that a corrupt one was rebuilt (``None``: fine)."""
        return self._cache.warning

    def close(self) -> None:
        if self._verdicts is not None:
            self._verdicts.flush()
        self._cache.close()
        if self._owns_store:
            self._store.close()

    def __enter__(self) -> StoreIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<StoreIndex {self._store.dir}>"

    # -- the universe ------------------------------------------------------------------

    @property
    def store(self) -> Store:
        return self._store

    def store_paths(self) -> tuple[StorePath, ...]:
        """Every store path the index covers, by name, version, hash."""
        bases = self._valid.keys() if self._universe is None else self._universe
        return _sorted_paths(self._store, bases)

    def is_valid(self, basename: str) -> bool:
        """Whether the store path ``basename`` is valid in the store (within or not)."""
        return basename in self._valid

    def offers(self, basename: str) -> bool:
        """Whether the store path ``basename`` is one this index gives candidates from
        (valid, and inside ``within`` when that was given)."""
        return basename in (self._valid if self._universe is None else self._universe)

    def covers(self, store_path: PathLike) -> bool:
        return self._basename(store_path) in (
            self._valid if self._universe is None else self._universe
        )

    def sonames(self) -> tuple[str, ...]:
        """Every name some candidate answers to (entry names and DT_SONAMEs), sorted."""
        return tuple(self._view.names())

    def lib_dirs(self, store_path: PathLike | None = None) -> tuple[str, ...]:
        """The indexed lib dirs (of one store path, or all), sorted."""
        dirs = self._view.dir_paths()
        if store_path is None:
            return tuple(dirs)
        base = self._basename(store_path)
        return tuple(d for d in dirs if (w := self._store.locate(d)) is not None and w[0] == base)

    # -- candidates --------------------------------------------------------------------

    def candidates(
        self, soname: str, *, within: Iterable[PathLike] | None = None
    ) -> tuple[Candidate, ...]:
        """Files answering to ``soname``, by store path name, version, hash, then path.

        ``within`` keeps only those whose store path is one of the given ones (pass
        :meth:`closure` of something to ask "which libc does this closure hold?").
        """
        found = self._load(self._view.files_named(soname))
        if within is not None:
            allowed = {self._basename(p) for p in within}
            found = [c for c in found if c.store_path.basename in allowed]
        return tuple(sorted(found, key=lambda c: (c.store_path.sort_key, c.path)))

    def candidate(self, path: str) -> Candidate | None:
        """The candidate whose real file is ``path`` (symlinks are resolved first)."""
        if path in self._by_path:
            return self._by_path[path]
        if path in self._candidates:  # made already (a real path the view holds)
            return self._candidates[path]
        found = self._by_path[path] = self._candidate(path)
        return found

    def _candidate(self, path: str) -> Candidate | None:
        info = self._view.file(path)
        if info is None:
            real = self._store.realpath(path)
            info = self._view.file(real) if real != path else None
        if info is None:
            return None
        found = self._load((info,))
        return found[0] if found else None

    def _dir_entries(self, directory: str) -> Mapping[str, str]:
        entries = self._view.dir_entries(directory)
        if entries is None:
            placed = self._placer.place(directory)
            if placed is not None and placed[0] != directory:
                entries = self._view.dir_entries(placed[0])
        return entries or {}

    def lookup(self, directory: str, name: str) -> Candidate | None:
        """What ld.so finds as ``name`` in lib dir ``directory``, if the index holds it."""
        path = self._dir_entries(directory).get(name)
        return None if path is None else self.candidate(path)

    def entry_names(self, directory: str) -> tuple[str, ...]:
        """The names in lib dir ``directory`` that lead to a library (sorted; empty if the
        directory is not indexed). Other files there (linker scripts, ``.a``) are left out."""
        return tuple(sorted(self._dir_entries(directory)))

    def libraries(self, store_path: PathLike) -> tuple[Candidate, ...]:
        """Every candidate file held by ``store_path``, sorted by path."""
        base = self._basename(store_path)
        return tuple(self._load(self._view.files_of(base)))

    def search_dirs(self, candidate: Candidate, origin: str | None = None) -> tuple[str, ...]:
        """The store dirs its own RUNPATH (or RPATH) names, in order, ``$ORIGIN`` being
        ``origin`` (default: the first dir it is found in). Dirs outside the store drop."""
        if origin is None:
            origin = candidate.dirs[0] if candidate.dirs else os.path.dirname(candidate.path)
        key = (candidate.path, origin)
        found = self._search_dirs.get(key)
        if found is None:
            entries = own_entries(candidate.facts, origin=origin)
            placed = (self._placer.place(e.directory) for e in entries if e.directory)
            found = tuple(dict.fromkeys(p[0] for p in placed if p is not None))
            self._search_dirs[key] = found
        return found

    def resolve_needed(self, candidate: Candidate, name: str) -> Candidate | None:
        """The library ``candidate``'s own RUNPATH/RPATH leads to for DT_NEEDED ``name``."""
        for directory in self.search_dirs(candidate):
            found = self.lookup(directory, name)
            if found is not None:
                return found
        return None

    def _load(self, infos: Iterable[FileInfo]) -> list[Candidate]:
        infos = list(infos)
        wanted = [i for i in infos if i.path not in self._candidates]
        if wanted:
            blobs = self._cache.blobs_by_path([i.path for i in wanted])
            for info in wanted:
                self._candidates[info.path] = self._make(info, *blobs.get(info.path, (None, None)))
        return [c for i in infos if (c := self._candidates[i.path]) is not None]

    def _make(self, info: FileInfo, digest: bytes | None, blob: bytes | None) -> Candidate | None:
        facts: ElfFacts | None = None
        if blob is not None and digest is not None:
            try:
                facts = ElfFacts.from_blob(blob, info.path, self._symbols_loader(digest, info.path))
            except ElfError:
                facts = None
        if facts is None:
            # A blob in an older format (or a row another run just dropped): read again.
            try:
                facts = self._reader(info.path)
            except (ElfError, OSError):
                return None
            digest = self._cache.replace_blob(info.path, *facts.to_blob_parts())
        if digest is not None:  # always, by now: the digest the facts are stored under
            self._facts_keys[info.path] = digest
        return Candidate(
            path=info.path,
            store_path=self._store.store_path(info.owner),
            names=info.names,
            entries=info.entries,
            facts=facts,
        )

    def _symbols_loader(self, digest: bytes, path: str) -> Callable[[], bytes]:
        """What loads the symbol tables kept apart from the facts of ``path`` when they
        are first used: from the cache, or, once it is closed (a candidate kept past the
        index), from the file itself (a store path does not change)."""
        cache, reader = self._cache, self._reader

        def load() -> bytes:
            found = cache.symbols(digest)
            if found is not None:
                return found
            try:
                return reader(path).symbols.payload()
            except OSError as exc:
                raise ElfError(path, f"cannot read its symbol tables: {exc.strerror}") from None

        return load

    # -- version-check verdicts ------------------------------------------------------------

    def verdicts(self) -> IndexVerdicts:
        """The version-check verdicts this cache keeps between runs, keyed by the facts
        of the candidates it handed out (:mod:`autopatchelf.problem.verdicts`)."""
        if self._verdicts is None:
            self._verdicts = IndexVerdicts(self._facts_keys, self._cache)
        return self._verdicts

    # -- references ----------------------------------------------------------------------

    def _reference_graph(self) -> ReferenceGraph:
        if self._graph is None:
            self._graph = MappingGraph(self._cache.references())
        return self._graph

    def references(self, store_path: PathLike) -> tuple[StorePath, ...]:
        """The valid store paths ``store_path`` refers to directly (itself if it does)."""
        refs = self._reference_graph().references(self._basename(store_path))
        return _sorted_paths(self._store, (r for r in refs if r in self._valid))

    def closure(self, *store_paths: PathLike) -> tuple[StorePath, ...]:
        """``store_paths`` and every valid path they reach."""
        roots = [self._basename(p) for p in store_paths]
        reached = self._reference_graph().closure(roots)
        return _sorted_paths(self._store, (r for r in reached if r in self._valid))

    def _basename(self, path: PathLike) -> str:
        if isinstance(path, StorePath):
            return path.basename
        text = os.fspath(path)
        where = self._store.locate(text)
        if where is not None and where[1] == "":
            return where[0]
        return self._store.resolve(text).basename


def _as_path(path: PathLike) -> str:
    return path.path if isinstance(path, StorePath) else os.fspath(path)


def _sorted_paths(store: Store, basenames: Iterable[str]) -> tuple[StorePath, ...]:
    return tuple(sorted((store.store_path(b) for b in basenames), key=lambda p: p.sort_key))


def _open_cache(store_dir: str, cache_dir: str | None) -> IndexCache:
    try:
        return IndexCache.open(store_dir, cache_dir)
    except sqlite3.DatabaseError as exc:
        raise cache_error(cache_path(store_dir, cache_dir), exc) from exc


def _update_and_load(
    cache: IndexCache,
    store: Store,
    roots: list[str],
    reader: Reader | None,
    workers: int | None,
    progress: Progress | None,
) -> tuple[UpdateResult, IndexView, float]:
    """Update then load; a corrupt or outdated cache is rebuilt once, never fatal."""
    for attempt in (1, 2):
        try:
            update = update_cache(
                cache, store, roots=roots, reader=reader, workers=workers, progress=progress
            )
            started = time.perf_counter()
            if not cache.blobs_decode(ElfFacts.from_blob):
                raise sqlite3.DatabaseError("cached facts are in an outdated format")
            view = IndexView(cache.reader(), update.universe, cache.path)
            return update, view, time.perf_counter() - started
        except sqlite3.DatabaseError as exc:
            if is_busy(exc) or attempt == 2:
                raise cache_error(cache.path, exc) from exc
            cache.note_rebuilt(exc)
            try:
                cache.reset(store.dir)
            except sqlite3.DatabaseError as again:
                raise cache_error(cache.path, again) from again
    raise AssertionError("unreachable")


class IndexVerdicts:
    """:class:`~autopatchelf.problem.verdicts.VerdictStore` over an index cache: it vouches
    for the facts of the candidates the index handed out (read from their blobs). New
    verdicts are written in batches (a ``check`` solves hundreds of problems), and the
    rest when the index closes."""

    #: Verdicts held before they are written in one transaction.
    BATCH = 20_000

    def __init__(self, facts_keys: Mapping[str, bytes], cache: IndexCache) -> None:
        self._facts_keys = facts_keys
        self._cache = cache
        self._pending: dict[bytes, tuple[str, str] | None] = {}

    def facts_key(self, path: str) -> bytes | None:
        return self._facts_keys.get(path)

    def load(self, keys: Sequence[bytes]) -> Mapping[bytes, tuple[str, str] | None]:
        pending = self._pending
        found = {key: pending[key] for key in keys if key in pending}
        rest = [key for key in keys if key not in found]
        if rest:
            found.update(self._cache.verdicts(rest))
        return found

    def save(self, verdicts: Mapping[bytes, tuple[str, str] | None]) -> None:
        self._pending.update(verdicts)
        if len(self._pending) >= self.BATCH:
            self.flush()

    def flush(self) -> None:
        """Write the verdicts held (dropped if the cache stays busy: judged again later)."""
        if self._pending:
            self._cache.save_verdicts(self._pending)
            self._pending = {}
