"""Reading a store path's lib dirs (and its executables' RUNPATHs) from disk.

A :class:`Scanner` lives for one index update. It reads every file at most once (per
update, and never a library the cache already holds), and returns frozen records; it
never writes anything. With a :class:`ReaderPool`, :meth:`Scanner.prefetch` reads the
files of many store paths on several processes before they are scanned.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence

import attrs

from autopatchelf.frozen import Record
from autopatchelf.index.parallel import Job, ReaderPool
from autopatchelf.index.readfile import (
    BAD_ELF,
    NON_ELF,
    NOT_LIBRARY,
    ExecutableRead,
    Reader,
    read_executable,
    read_library,
    summary_of,
)
from autopatchelf.index.records import DirScan, ElfSummary, FileRecord, PathScan, SkipCounts
from autopatchelf.index.searchpath import DirectoryPlacer, named_dirs, store_basenames_in
from autopatchelf.ldso.machines import standard_lib_dirs
from autopatchelf.store.store import Store

__all__ = ["EXECUTABLE_DIRS", "STANDARD_DIRS", "Reader", "Scanner", "is_standard_dir"]

#: The lib dirs of a store path that are always indexed (ld.so search candidates).
STANDARD_DIRS = standard_lib_dirs()
#: (dir, its first component, its parent dir or "", its last component) of each.
_STANDARD_LAYOUT = tuple(
    (sub, sub.partition("/")[0], sub.rpartition("/")[0], sub.rpartition("/")[2])
    for sub in STANDARD_DIRS
)
#: Where executables live; their RUNPATHs name further lib dirs (and references).
EXECUTABLE_DIRS = ("bin", "sbin", "libexec", "usr/bin", "usr/sbin", "usr/libexec")
#: Executable dirs whose direct subdirectories are searched too (``libexec/git-core``).
_NESTED_EXECUTABLE_DIRS = frozenset({"libexec", "usr/libexec"})
#: Fewer files than this are read in-process even when a pool is available: starting
#: the pool (a forkserver importing the reader) costs about as much as reading ~2,000
#: files here (measured: 200 new files took 0.03 s in-process, 0.9 s with the pool).
_MIN_PARALLEL_JOBS = 2000

#: Hard-linked files whose read results are kept for their other paths (each holds one
#: blob: tens of KiB), oldest dropped first.
_MAX_LINKED = 8192

#: What the scanner remembers about a library file: read but not yet handed out
#: (FileRecord), known (ElfSummary: cached, or already handed out), or a skip reason.
_Library = FileRecord | ElfSummary | str


def _shared_inode(path: str, entry: os.DirEntry[str] | None = None) -> tuple[int, int] | None:
    """(device, inode) of a file with more than one hard link, else None; ``entry`` (the
    file's own, not a symlink's, directory entry) keeps its stat for the next caller."""
    try:
        st = entry.stat(follow_symlinks=False) if entry is not None else os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if st.st_nlink > 1 else None


@attrs.frozen(repr=False)
class _DirFiles(Record):
    """A lib dir's listing: real file -> entry names, how many entries lead out of the
    store, and the directory entries of its regular files (their stat is kept)."""

    by_file: Mapping[str, Sequence[str]]
    outside: int
    regular: Mapping[str, os.DirEntry[str]]
    #: Subdirectory name -> whether it is reached through a symlink.
    subdirs: Mapping[str, bool]


@attrs.frozen(repr=False)
class _Layout(Record):
    """What :meth:`Scanner.plan` found in a store path, for :meth:`Scanner.scan_path`."""

    own: Sequence[tuple[str, str]]
    elsewhere: Sequence[tuple[str, str]]
    listings: Mapping[str, _DirFiles | None]
    executables: Sequence[str]


def is_standard_dir(rest: str) -> bool:
    """Whether ``rest`` (a path inside a store path) is one of its always-indexed dirs."""
    return rest in STANDARD_DIRS


class Scanner:
    """Scans store paths and directories of one store.

    ``is_valid(basename)`` tells which store paths may be followed into; ``known(path)``
    returns what the cache knows about a library file (so it is not read again).
    """

    def __init__(
        self,
        store: Store,
        *,
        is_valid: Callable[[str], bool],
        known: Callable[[str], ElfSummary | None],
        reader: Reader,
        pool: ReaderPool | None = None,
    ) -> None:
        self._store = store
        self._is_valid = is_valid
        self._known = known
        self._reader = reader
        self._pool = pool
        self._placer = DirectoryPlacer(store)
        self._libraries: dict[str, _Library] = {}
        self._executables: dict[str, ExecutableRead] = {}
        #: What a hard-linked library file (one inode, several paths: Nix's store
        #: optimisation) was read as, by (device, inode): read once, for every path.
        self._linked: OrderedDict[tuple[int, int], FileRecord | str] = OrderedDict()
        self._planned: set[tuple[int, int]] = set()
        #: Files :meth:`plan` found not cached, not scanned yet -> their shared inode.
        self._unknown: dict[str, tuple[int, int] | None] = {}
        #: Layouts planned but not scanned yet, by basename.
        self._layouts: dict[str, _Layout] = {}
        #: Regular files of the lib dirs listed but not scanned yet (their stat is kept).
        self._regular: dict[str, os.DirEntry[str]] = {}
        #: ELF reader calls so far (in this process or in the pool).
        self.reads = 0

    # -- reading files -------------------------------------------------------------

    def _owner(self, path: str) -> str:
        where = self._store.locate(path)
        assert where is not None  # callers only pass paths inside the store
        return where[0]

    def _library(self, path: str, owner: str) -> tuple[FileRecord | ElfSummary | str, bool]:
        """What ``path`` (of store path ``owner``) is as a library, and whether this call
        is the first to read it."""
        remembered = self._libraries.get(path)
        if remembered is None:
            if path in self._unknown:  # planned: not in the cache, its inode found
                inode = self._unknown.pop(path)
            else:
                known = self._known(path)
                if known is not None:
                    self._libraries[path] = known
                    return known, False
                inode = _shared_inode(path, self._regular.get(path))
            shared = self._linked.get(inode) if inode is not None else None
            if shared is not None:
                remembered = self._for_path(shared, path, owner)
            else:
                result, called = read_library(path, owner, self._reader)
                self.reads += called
                remembered = result
                self._remember_linked(inode, result)
        if isinstance(remembered, FileRecord):
            # Hand the blob out once; keep only the small summary from now on.
            self._libraries[path] = summary_of(remembered)
            return remembered, True
        self._libraries[path] = remembered
        return remembered, False

    @staticmethod
    def _for_path(shared: FileRecord | str, path: str, owner: str) -> FileRecord | str:
        """Another path of a file already read (the blob is about the file, not a path)."""
        if isinstance(shared, str):
            return shared
        return FileRecord(
            path=path,
            owner=owner,
            soname=shared.soname,
            rpath=shared.rpath,
            runpath=shared.runpath,
            interpreter=shared.interpreter,
            elf64=shared.elf64,
            blob=shared.blob,
            symbols=shared.symbols,
        )

    def _remember_linked(self, inode: tuple[int, int] | None, result: object) -> None:
        if inode is None or not isinstance(result, FileRecord | str):
            return
        self._linked[inode] = result
        if len(self._linked) > _MAX_LINKED:
            self._linked.popitem(last=False)

    def _executable(self, path: str, owner: str) -> ExecutableRead:
        if path not in self._executables:
            result, called = read_executable(path, owner, self._reader)
            self.reads += called
            self._executables[path] = result
        return self._executables[path]

    def _named_dirs(
        self,
        rpath: str | None,
        runpath: str | None,
        origin: str,
        elf64: bool,
    ) -> list[tuple[str, str]]:
        if rpath is None and runpath is None:
            return []
        placed = (self._placer.place(d) for d in named_dirs(rpath, runpath, origin, elf64=elf64))
        return [p for p in placed if p is not None]

    # -- prefetching -------------------------------------------------------------------

    def plan(self, basename: str) -> list[Job]:
        """The files :meth:`scan_path` of ``basename`` will read (none already known).

        What it lists is kept for that scan (each directory is listed once)."""
        layout = self._layout(basename)
        self._layouts[basename] = layout
        jobs: list[Job] = []
        for directory, owner in layout.own:
            listed = layout.listings.get(directory)
            if listed is None:
                continue
            for path in sorted(listed.by_file):
                if path in self._libraries:
                    continue
                known = self._known(path)
                if known is not None:
                    self._libraries[path] = known
                    continue
                inode = self._unknown[path] = _shared_inode(path, listed.regular.get(path))
                if inode is not None:
                    if inode in self._planned or inode in self._linked:
                        continue  # read once, through its first path
                    self._planned.add(inode)
                file_owner = owner if path in listed.regular else self._owner(path)
                jobs.append(("lib", path, file_owner))
        for path in layout.executables:
            if path not in self._executables:
                jobs.append(("exe", path, basename))
        return jobs

    def prefetch(self, jobs: Sequence[Job]) -> None:
        """Read ``jobs`` on the pool now (no-op without a pool or for a few files)."""
        if self._pool is None or len(jobs) < _MIN_PARALLEL_JOBS:
            return
        unique = list(dict.fromkeys(jobs))
        for (kind, path, _owner), (result, called) in zip(
            unique, self._pool.run(unique), strict=True
        ):
            self.reads += called
            if kind == "lib":
                assert isinstance(result, FileRecord | str)
                self._libraries.setdefault(path, result)
                inode = self._unknown.pop(path) if path in self._unknown else _shared_inode(path)
                self._remember_linked(inode, result)
            else:
                assert isinstance(result, ElfSummary | str)
                self._executables.setdefault(path, result)

    # -- directories ---------------------------------------------------------------

    def _entry_path(
        self, directory: str, entry: os.DirEntry[str], listing: dict[str, os.DirEntry[str]]
    ) -> str | None:
        """The real path of a lib dir symlink, ``None`` if it leaves the valid store, or
        ``""`` if it leads to a directory (no entry at all)."""
        try:
            target = os.readlink(entry.path)
        except OSError:
            return None
        sibling = listing.get(target) if "/" not in target else None
        if sibling is not None and _is_regular(sibling):
            return f"{directory}/{target}"
        try:
            if entry.is_dir():
                return ""  # a link to a directory: not a file at all
        except OSError:
            return ""
        path = self._store.realpath(entry.path)
        where = self._store.locate(path)
        if where is None or not self._is_valid(where[0]) or not os.path.isfile(path):
            return None
        try:
            path.encode("utf-8")
        except UnicodeEncodeError:
            return None
        return path

    def _dir_files(self, directory: str) -> _DirFiles | None:
        """Real file -> entry names of lib dir ``directory``, and how many entries lead out
        of the store; ``None`` if the directory cannot be listed."""
        try:
            listing = list(os.scandir(directory))  # in any order: users sort what they show
        except OSError:
            return None
        by_name = {entry.name: entry for entry in listing}
        by_file: dict[str, list[str]] = {}
        regular: dict[str, os.DirEntry[str]] = {}
        subdirs: dict[str, bool] = {}
        outside = 0
        for entry in listing:
            try:
                if entry.is_symlink():
                    path = self._entry_path(directory, entry, by_name)
                    if path == "":
                        subdirs[entry.name] = True
                        continue
                elif entry.is_file(follow_symlinks=False):
                    path = f"{directory}/{entry.name}"
                    regular[path] = entry
                else:
                    if entry.is_dir(follow_symlinks=False):
                        subdirs[entry.name] = False
                    continue
                entry.name.encode("utf-8")
            except (OSError, UnicodeEncodeError):
                continue  # unreadable, or a name no library is ever asked for
            if path is None:
                outside += 1
            else:
                by_file.setdefault(path, []).append(entry.name)
        return _DirFiles(by_file=by_file, outside=outside, regular=regular, subdirs=subdirs)

    def scan_dir(
        self, directory: str, owner: str, *, standard: bool, listed: _DirFiles | None = None
    ) -> DirScan:
        """Scan the lib dir ``directory`` (a real path, spelled under the store dir);
        ``listed`` is its listing when :meth:`plan` made it already."""
        if listed is None:
            listed = self._dir_files(directory)
        if listed is None:
            return DirScan(path=directory, owner=owner, standard=standard, present=False)
        self._regular.update(listed.regular)
        try:
            return self._scan_listed(directory, owner, standard, listed)
        finally:
            for path in listed.regular:
                self._regular.pop(path, None)

    def _scan_listed(
        self, directory: str, owner: str, standard: bool, listed: _DirFiles
    ) -> DirScan:
        reads_before = self.reads
        counts = {NON_ELF: 0, BAD_ELF: 0, NOT_LIBRARY: 0}
        entries: list[tuple[str, str]] = []
        files: list[FileRecord] = []
        named: dict[tuple[str, str], None] = {}
        refs: set[str] = set()
        here = self._dir_owner(directory)
        for path in sorted(listed.by_file):
            file_owner = here if path in listed.regular else self._owner(path)
            library, first = self._library(path, file_owner)
            if isinstance(library, str):
                counts[library] += 1
                continue
            if first and isinstance(library, FileRecord):
                files.append(library)
            entries.extend((name, path) for name in listed.by_file[path])
            if library.owner != owner:
                refs.add(library.owner)
            if library.rpath is None and library.runpath is None and library.interpreter is None:
                continue
            refs |= store_basenames_in((library.rpath, library.runpath, library.interpreter))
            for placed in self._named_dirs(
                library.rpath, library.runpath, directory, library.elf64
            ):
                named[placed] = None
        return DirScan(
            path=directory,
            owner=owner,
            standard=standard,
            present=True,
            entries=tuple(sorted(entries)),
            files=tuple(files),
            skipped=SkipCounts(
                non_elf=counts[NON_ELF],
                bad_elf=counts[BAD_ELF],
                not_library=counts[NOT_LIBRARY],
                outside=listed.outside,
            ),
            names=tuple(named),
            refs=tuple(sorted(refs)),
            files_read=self.reads - reads_before,
        )

    def _dir_owner(self, directory: str) -> str:
        """The store path holding the files directly inside ``directory``."""
        return self._owner(f"{directory}/.")

    # -- store paths -----------------------------------------------------------------

    def _layout(self, basename: str) -> _Layout:
        """List ``basename``'s lib dirs and executables (each directory once)."""
        root = self._store.full_path(basename)
        top = _listing(root)
        listings: dict[str, _DirFiles | None] = {}
        own, elsewhere = self._standard_dirs(basename, root, top, listings)
        return _Layout(
            own=own,
            elsewhere=elsewhere,
            listings=listings,
            executables=tuple(self._executable_files(basename, root, top)),
        )

    def _standard_dirs(
        self,
        basename: str,
        root: str,
        top: dict[str, os.DirEntry[str]],
        listings: dict[str, _DirFiles | None],
    ) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """``(real dir, owner)`` of ``lib``/``lib64`` to scan as its own, and of those
        that lead elsewhere (searched as if named by a RUNPATH); the own ones' listings
        go to ``listings``."""
        own: list[tuple[str, str]] = []
        elsewhere: list[tuple[str, str]] = []
        plain: bool | None = None  # root is no symlink: a dir reached by none is itself
        for sub, head, parent_sub, name in _STANDARD_LAYOUT:
            entry = top.get(head)
            if entry is None:
                continue
            candidate = f"{root}/{sub}"
            if not parent_sub:
                if not _is_dir(entry):
                    continue
                if plain is None:
                    plain = not os.path.islink(root)
                direct = plain and not _is_link(entry)
            elif (parent := listings.get(f"{root}/{parent_sub}")) is not None:
                # listed, and reached by no symlink
                if name not in parent.subdirs:
                    continue
                direct = not parent.subdirs[name]
            else:
                if not os.path.isdir(candidate):
                    continue
                direct = False
            if direct:  # its own standard dir, by its own name
                if (candidate, basename) not in own:
                    own.append((candidate, basename))
                    listings[candidate] = self._dir_files(candidate)
                continue
            placed = self._placer.place(candidate)
            if placed is None:
                continue
            real, owner = placed
            where = self._store.locate(real)
            if owner == basename and where is not None and is_standard_dir(where[1]):
                if placed not in own:
                    own.append(placed)
                    listings[real] = self._dir_files(real)
            elif placed not in elsewhere:
                elsewhere.append(placed)
        return own, elsewhere

    def _executable_files(
        self, basename: str, root: str, top: dict[str, os.DirEntry[str]]
    ) -> Iterable[str]:
        seen: set[str] = set()
        for sub in EXECUTABLE_DIRS:
            if sub.partition("/")[0] not in top:
                continue
            top_dir = f"{root}/{sub}"
            dirs = [top_dir]
            if sub in _NESTED_EXECUTABLE_DIRS and os.path.isdir(top_dir):
                dirs += sorted(e.path for e in _scandir(top_dir) if _is_real_dir(e))
            for directory in dirs:
                for entry in sorted(_scandir(directory), key=lambda e: e.name):
                    try:
                        if not entry.is_file():
                            continue
                    except OSError:
                        continue
                    path = self._store.realpath(entry.path) if entry.is_symlink() else entry.path
                    where = self._store.locate(path)
                    # Links into other store paths are scanned with their owners.
                    if where is not None and where[0] == basename and path not in seen:
                        seen.add(path)
                        yield path

    def scan_path(self, basename: str, stamp: str) -> PathScan:
        """Scan one store path: its ``lib``/``lib64`` and its executables' RUNPATHs."""
        reads_before = self.reads
        layout = self._layouts.pop(basename, None) or self._layout(basename)
        dirs = [
            self.scan_dir(real, owner, standard=True, listed=layout.listings.get(real))
            for real, owner in layout.own
        ]
        named: dict[tuple[str, str], None] = dict.fromkeys(layout.elsewhere)
        refs = {owner for _, owner in layout.elsewhere}
        executables = 0
        for path in layout.executables:
            summary = self._executable(path, basename)
            if isinstance(summary, str):
                continue
            executables += 1
            refs |= store_basenames_in((summary.rpath, summary.runpath, summary.interpreter))
            origin = os.path.dirname(path)
            for placed in self._named_dirs(summary.rpath, summary.runpath, origin, summary.elf64):
                named[placed] = None
        return PathScan(
            basename=basename,
            stamp=stamp,
            dirs=tuple(dirs),
            names=tuple(named),
            refs=tuple(sorted(refs)),
            executables=executables,
            files_read=self.reads - reads_before,
        )


def _listing(directory: str) -> dict[str, os.DirEntry[str]]:
    return {entry.name: entry for entry in _scandir(directory)}


def _is_link(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_symlink()
    except OSError:
        return True


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _scandir(directory: str) -> list[os.DirEntry[str]]:
    try:
        return list(os.scandir(directory))
    except OSError:
        return []


def _is_regular(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_file(follow_symlinks=False)
    except OSError:
        return False


def _is_real_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False
