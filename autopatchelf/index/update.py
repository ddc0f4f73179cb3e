"""Bringing the cache up to date with the store: drop what is gone, scan what is new.

Nothing that the cache already holds is read again. The work happens under the
cache's writers' lock, re-checked once the lock is held, so two concurrent runs never
scan the same path twice and never see a half-written path.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

import attrs

from autopatchelf.elf.facts import ElfFacts
from autopatchelf.errors import StoreError
from autopatchelf.frozen import FrozenMap, Record
from autopatchelf.gcpause import cycle_collector_paused
from autopatchelf.index.cache import IndexCache, stamps_differ
from autopatchelf.index.pathtable import PathTable
from autopatchelf.index.readfile import Reader
from autopatchelf.index.records import DirScan, PathScan
from autopatchelf.progress import NullProgress, Progress
from autopatchelf.store.graph import MappingGraph, ReferenceGraph
from autopatchelf.store.store import Store

if TYPE_CHECKING:  # the scanner and its pool are imported only when there is work
    from autopatchelf.index.parallel import Job, ReaderPool
    from autopatchelf.index.scan import Scanner

#: Write scanned paths to the cache every so many files (an incremental update commits
#: each batch: progress kept on interruption; a cold build commits once, at its end).
_BATCH_FILES = 2000
_BATCH_PATHS = 500


@attrs.frozen(repr=False)
class UpdateResult(Record):
    """What one update found and did."""

    #: Basename -> stamp of every valid path of the store (the cache's table, read on
    #: demand, when the store dir is unchanged since it was its listing).
    valid: Mapping[str, str] = attrs.field(eq=False)
    #: The basenames the index covers, or ``None`` for every valid path.
    universe: frozenset[str] | None
    paths_scanned: int
    dirs_scanned: int
    paths_dropped: int
    #: ELF reader calls (libraries, rejected files and executables alike).
    files_read: int
    #: Libraries newly read and stored (the rest were served from the cache).
    libraries_read: int
    seconds: float


def update_cache(
    cache: IndexCache,
    store: Store,
    *,
    roots: Sequence[str] = (),
    reader: Reader | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
) -> UpdateResult:
    """Make ``cache`` cover the closure of ``roots`` (or the whole store) as it is now.

    ``reader`` replaces :meth:`autopatchelf.ElfFacts.read` (and then reads in-process);
    otherwise new files are read by up to ``workers`` processes (default: one per CPU, at
    most 8).
    """
    started = time.perf_counter()
    updater = _Updater(cache, store, roots, reader or _read, progress or NullProgress())
    if updater.has_work():
        from autopatchelf.index.parallel import ReaderPool, default_workers

        count = default_workers() if workers is None else workers
        pool = ReaderPool(count) if reader is None and count > 1 else None
        try:
            with cache.exclusive(), cycle_collector_paused():
                updater.run(pool)
        finally:
            if pool is not None:
                pool.close()
    updater.record_listing()
    return UpdateResult(
        valid=updater.valid if isinstance(updater.valid, PathTable) else FrozenMap(updater.valid),
        universe=updater.universe,
        paths_scanned=updater.paths_scanned,
        dirs_scanned=updater.dirs_scanned,
        paths_dropped=updater.paths_dropped,
        files_read=updater.files_read,
        libraries_read=updater.libraries_read,
        seconds=time.perf_counter() - started,
    )


def _read(path: str) -> ElfFacts:
    return ElfFacts.read(path)


class _Updater:
    def __init__(
        self,
        cache: IndexCache,
        store: Store,
        roots: Sequence[str],
        reader: Reader,
        progress: Progress,
    ) -> None:
        self._cache = cache
        self._store = store
        self._roots = tuple(roots)
        self._reader = reader
        self._progress = progress
        self._stamp = store.listing_stamp()
        #: Whether the store dir is unchanged since the cache held exactly its listing:
        #: then no path came or went (or was re-made), and the table is the listing.
        self._trusted = (
            self._stamp is not None
            and self._stamp.settled
            and cache.listing_stamp() == self._stamp.text
        )
        #: Whether ``valid`` is the table read on demand (``_cached`` unread, the same).
        self._lazy = self._trusted
        self._cached: dict[str, str] = {}
        self.valid: Mapping[str, str]
        if self._lazy:
            self.valid = PathTable(cache)
        else:
            self._cached = cache.path_stamps()
            self.valid = store.valid_paths(assume_valid=self._cached)
        self._check_roots()
        self.universe = self._universe()
        self.paths_scanned = 0
        self.dirs_scanned = 0
        self.paths_dropped = 0
        self.files_read = 0
        self.libraries_read = 0

    def _check_roots(self) -> None:
        for root in self._roots:
            if root not in self.valid:
                raise StoreError(
                    f"{self._store.full_path(root)} is not a valid store path",
                    hint="build or realise it first, or pass a path Nix knows",
                )

    def _graph(self) -> ReferenceGraph:
        graph = self._store.graph
        return graph if graph is not None else MappingGraph(self._cache.references())

    def _universe(self) -> frozenset[str] | None:
        if not self._roots:
            return None
        return frozenset(b for b in self._graph().closure(self._roots) if b in self.valid)

    def _covers(self, basename: str) -> bool:
        return basename in self.valid and (self.universe is None or basename in self.universe)

    def _gone(self) -> list[str]:
        if self._lazy or self._cached == self.valid:
            return []  # the usual warm open: one C-level comparison
        return sorted(
            base
            for base, stamp in self._cached.items()
            if base not in self.valid or stamps_differ(stamp, self.valid[base])
        )

    def _new(self) -> list[str]:
        if self._lazy:
            return []
        wanted = self.valid.keys() if self.universe is None else self.universe
        if wanted <= self._cached.keys():
            return []
        return sorted(b for b in wanted if b not in self._cached)

    def _pending(self) -> list[tuple[str, str]]:
        """``(dir, owner)`` of named dirs to scan: named from inside the universe."""
        pending: dict[str, str] = {}
        for namer, directory, target in self._cache.pending_names():
            if self._covers(namer) and self._covers(target):
                pending.setdefault(directory, target)
        return sorted(pending.items())

    def has_work(self) -> bool:
        return bool(self._gone() or self._new() or self._pending())

    def run(self, pool: ReaderPool | None) -> None:
        if self._cache.unfinished():
            self._cache.reset(self._store.dir)  # another run's cold build was interrupted
        # Another process may have done (some of) the work while we waited for the lock.
        self._cached = self._cache.path_stamps()
        if self._lazy:
            self.valid = dict(self._cached)  # the table is the listing (read once here)
            self._lazy = False
        gone = self._gone()
        self._cache.drop_paths(gone)
        self.paths_dropped = len(gone)
        for base in gone:
            del self._cached[base]
        held = self._cache.file_paths()  # spares a query per new file on a cold run
        from autopatchelf.index.scan import Scanner

        scanner = Scanner(
            self._store,
            is_valid=self.valid.__contains__,
            known=lambda path: self._cache.known_file(path) if path in held else None,
            reader=self._reader,
            pool=pool,
        )
        with contextlib.nullcontext() if self._cached else self._cache.bulk_load():
            self._scan_all(scanner)

    def _scan_all(self, scanner: Scanner) -> None:
        while True:
            new = self._new()
            self._scan_paths(scanner, new)
            pending = self._pending()
            self._scan_dirs(scanner, pending)
            if self._roots and self._store.graph is None:
                # A plain store learns references by scanning: the closure may grow.
                grown = self._universe()
                if grown != self.universe:
                    self.universe = grown
                    continue
            if not new and not pending:
                break

    def record_listing(self) -> None:
        """If the cache now holds every valid path, and the store dir's stamp was read
        settled before listing it: record the stamp, so that the next open need not
        list the store (nor read the table) while the stamp stays the same."""
        stamp = self._stamp
        if stamp is None or not stamp.settled or self._trusted or self._cached != self.valid:
            return
        self._cache.record_listing(stamp.text, self.valid)

    def _scan_paths(self, scanner: Scanner, basenames: list[str]) -> None:
        if not basenames:
            return
        self._progress.start("indexing store paths", len(basenames))
        try:
            for chunk in self._chunks(scanner, basenames):
                batch: list[PathScan] = []
                reads_before = scanner.reads
                for base in chunk:
                    scan = scanner.scan_path(base, self.valid[base])
                    batch.append(scan)
                    self.libraries_read += sum(len(d.files) for d in scan.dirs)
                    self._progress.advance()
                self.files_read += scanner.reads - reads_before
                self._flush(batch)
        finally:
            self._progress.finish()

    def _chunks(self, scanner: Scanner, basenames: list[str]) -> Iterator[list[str]]:
        """Groups of store paths, their files read ahead (on the pool) group by group."""
        chunk: list[str] = []
        jobs: list[Job] = []
        for base in basenames:
            chunk.append(base)
            jobs += scanner.plan(base)
            if len(jobs) >= _BATCH_FILES or len(chunk) >= _BATCH_PATHS:
                reads_before = scanner.reads
                scanner.prefetch(jobs)
                self.files_read += scanner.reads - reads_before
                yield chunk
                chunk, jobs = [], []
        if chunk:
            reads_before = scanner.reads
            scanner.prefetch(jobs)
            self.files_read += scanner.reads - reads_before
            yield chunk

    def _flush(self, batch: list[PathScan]) -> None:
        if batch:
            self._cache.write(batch)
            for scan in batch:
                self._cached[scan.basename] = scan.stamp
            self.paths_scanned += len(batch)

    def _scan_dirs(self, scanner: Scanner, pending: list[tuple[str, str]]) -> None:
        if not pending:
            return
        from autopatchelf.index.scan import is_standard_dir

        self._progress.start("indexing RUNPATH dirs", len(pending))
        scans: list[DirScan] = []
        try:
            for directory, owner in pending:
                where = self._store.locate(directory)
                standard = where is not None and is_standard_dir(where[1])
                scan = scanner.scan_dir(directory, owner, standard=standard)
                scans.append(scan)
                self.files_read += scan.files_read
                self.libraries_read += len(scan.files)
                self._progress.advance()
            self._cache.write((), scans)
            self.dirs_scanned += len(scans)
        finally:
            self._progress.finish()
