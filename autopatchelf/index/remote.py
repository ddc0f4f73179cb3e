"""Candidates the local store does not have: store paths binary caches can substitute.

Three sources name such paths: store-path lists (``--remote-paths``, as channels publish
``store-paths.xz``), nix-index databases (``--nix-index``), and ``file://`` binary caches
(``--substituter file:///…``, whose narinfos can be listed). For each path we learn,
without downloading it, which files its lib dirs hold (its ``.ls`` listing, or the
database's file list); that is enough to know which sonames it may provide.

Everything else is fetched only for the paths a solve considers, and checked before it is
used: the narinfo (references, sizes, hashes) must carry a signature a trusted key
verifies, or the path is *rejected* (with the reason, for the explanation); the NAR is
read only for a candidate's facts, streamed through its FileHash/NarHash checks, and only
its lib dirs' ELF files are kept, in memory. Listings, narinfos and facts are cached
(:mod:`autopatchelf.index.remote_cache`): store paths never change, so a second solve asks
nothing again. Requests are counted per kind (``RemoteIndex.stats``).

Paths that are valid in the local store are left to the local index.
"""

from __future__ import annotations

import os
import posixpath
import threading
import urllib.parse
from collections.abc import Callable, Iterable, Mapping, Sequence

import attrs

from autopatchelf.elf.facts import ElfFacts
from autopatchelf.errors import ElfError, StoreError
from autopatchelf.frozen import Record
from autopatchelf.index.nar_mirror import NarMirror, TeeReader
from autopatchelf.index.remote_cache import Entries, RemoteCache
from autopatchelf.ldso.machines import standard_lib_dirs
from autopatchelf.progress import NullProgress, Progress
from autopatchelf.remote import (
    CacheClient,
    DocumentKind,
    EntryKind,
    FetchError,
    IndexedPackage,
    Listing,
    NarInfo,
    RemoteError,
    TrustedKeys,
    extract_verified,
    is_elf,
    read_packages,
    read_store_paths,
    regular_in_dirs,
    verify,
)
from autopatchelf.remote.fetch import DEFAULT_TIMEOUT, bounded_map
from autopatchelf.remote.narinfo import MAX_NARINFO_SIZE
from autopatchelf.remote.nixindex import default_database_path
from autopatchelf.store.path import is_store_basename
from autopatchelf.store.substitute import Substitute

#: Downloads (narinfos, listings, NARs) at most this many at once.
MAX_PARALLEL = 8


@attrs.frozen(repr=False)
class RemoteSettings(Record):
    """Where unrealised candidates come from, and whom to trust."""

    store_dir: str = "/nix/store"
    #: Store-path list files.
    remote_paths: tuple[str, ...] = ()
    #: nix-index databases ("" means the user's default one).
    nix_index: tuple[str, ...] = ()
    #: Binary cache URLs, in the order they are tried.
    substituters: tuple[str, ...] = ()
    trusted: TrustedKeys = attrs.field(factory=TrustedKeys)
    timeout: float = DEFAULT_TIMEOUT

    @property
    def enabled(self) -> bool:
        """Whether any source names remote paths (else nothing remote is ever asked)."""
        return bool(
            self.remote_paths
            or self.nix_index
            or any(u.startswith("file://") for u in self.substituters)
        )


@attrs.frozen(repr=False)
class RemoteFile(Record):
    """A library inside a store path that is not realised, with the facts its NAR gave."""

    path: str
    store_path: str
    facts: ElfFacts = attrs.field(eq=False, repr=False)


@attrs.frozen(repr=False)
class RemoteStats(Record):
    paths: int
    requests: Mapping[str, int]
    bytes: Mapping[str, int]
    nars_read: int
    rejected: int


class RemoteIndex:
    """The unrealised store paths of the sources, their lib-dir entries and, on demand,
    their narinfos and library facts."""

    def __init__(
        self,
        settings: RemoteSettings,
        *,
        is_local: Callable[[str], bool],
        cache_dir: str | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.settings = settings
        self._is_local = is_local
        self._progress = progress or NullProgress()
        self._cache = RemoteCache(settings.store_dir, cache_dir)
        self._mirror = NarMirror(settings.store_dir)
        self._clients = [CacheClient(u, timeout=settings.timeout) for u in settings.substituters]
        self._lock = threading.Lock()
        #: basename -> lib dir (relative) -> name -> file (relative).
        self._entries: dict[str, Entries] = {}
        self._origins: dict[str, str] = {}
        self._named_by: dict[str, str] = {}
        self._by_name: dict[str, list[str]] = {}
        self._dirs: dict[str, dict[str, str]] = {}
        self._owner: dict[str, str] = {}
        self._paths_of: dict[str, list[str]] = {}
        self._files: dict[str, RemoteFile | None] = {}
        self._narinfos: dict[str, tuple[NarInfo, str] | None] = {}
        self._rejected: dict[str, str] = {}
        self._nars_read = 0
        self.notes: list[str] = []
        try:
            self._collect()
        except BaseException:
            self.close()
            raise

    @property
    def mirror_url(self) -> str | None:
        """A ``file://`` cache of the NARs this index fetched from remote caches (to
        realise from before them), or ``None`` when it kept none."""
        return self._mirror.url

    def close(self) -> None:
        self._cache.close()
        self._mirror.close()

    # -- which paths, which files ----------------------------------------------------------

    def _collect(self) -> None:
        wanted: dict[str, str | None] = {}  # basename -> origin
        for db in self.settings.nix_index:
            label = f"--nix-index {db or default_database_path()}"
            for basename, origin in self._read_database(db).items():
                wanted.setdefault(basename, origin)
                self._named_by.setdefault(basename, label)
        for list_file in self.settings.remote_paths:
            try:
                paths = read_store_paths(list_file, store_dir=self.settings.store_dir)
            except RemoteError as exc:
                raise StoreError(str(exc), hint="name a store-path list file") from None
            for path in paths:
                wanted.setdefault(path.basename, None)
                self._named_by.setdefault(path.basename, f"--remote-paths {list_file}")
        for client in self._clients:
            if client.scheme == "file":
                for basename in self._listed_in(client):
                    wanted.setdefault(basename, None)
                    self._named_by.setdefault(basename, f"--substituter {client.url}")
        remote = sorted(b for b in wanted if not self._is_local(b))
        for basename in remote:
            named = wanted[basename]
            if named:
                self._origins[basename] = named
        known = self._cache.listings(remote)
        missing = [b for b in remote if b not in known]
        if missing:
            known.update(self._fetch_listings(missing))
        for basename in remote:
            entries = known.get(basename)
            if entries is not None:
                self._add(basename, entries)

    def _add(self, basename: str, entries: Entries) -> None:
        root = f"{self.settings.store_dir}/{basename}"
        self._entries[basename] = entries
        for lib_dir, names in sorted(entries.items()):
            directory = f"{root}/{lib_dir}" if lib_dir else root
            placed = self._dirs.setdefault(directory, {})
            for name, target in sorted(names.items()):
                path = f"{root}/{target}"
                placed[name] = path
                if path not in self._owner:
                    self._owner[path] = basename
                    self._paths_of.setdefault(basename, []).append(path)
                holders = self._by_name.setdefault(name, [])
                if path not in holders:
                    holders.append(path)

    def _listed_in(self, client: CacheClient) -> list[str]:
        """The store paths a ``file://`` cache holds (its narinfo files, read)."""
        root = urllib.parse.unquote(urllib.parse.urlsplit(client.url).path)
        try:
            names = sorted(n for n in os.listdir(root) if n.endswith(".narinfo"))
        except OSError as exc:
            raise StoreError(
                f"binary cache {client.url}: cannot list it: {exc.strerror}",
                hint="check the --substituter URL",
            ) from None
        found: list[str] = []
        for name in names:
            hash_part = name.removesuffix(".narinfo")
            narinfo = self._narinfo_from(client, hash_part)
            if narinfo is not None:
                found.append(narinfo.basename)
        return found

    def _read_database(self, db: str) -> dict[str, str]:
        """basename -> origin of the packages of a nix-index database (their lib-dir
        entries are cached as listings)."""
        path = str(default_database_path()) if db == "" else os.path.abspath(db)
        try:
            info = os.stat(path)
        except OSError as exc:
            raise StoreError(
                f"nix-index database {path}: {exc.strerror}",
                hint="run nix-index to build it, or name one with --nix-index DB",
            ) from None
        stamp = f"{info.st_size}:{info.st_mtime_ns}:{info.st_ino}"
        known = self._cache.database(path, stamp)
        if known is not None:
            return known
        origins: dict[str, str] = {}
        listings: dict[str, Entries] = {}
        lib_dirs = standard_lib_dirs()
        try:
            with open(path, "rb") as stream:
                for package in read_packages(stream, name=path, dirs=lib_dirs):
                    if package.store_dir != self.settings.store_dir:
                        continue
                    basename = f"{package.hash}-{package.name}"
                    if not is_store_basename(basename):
                        continue
                    origins[basename] = _origin(package)
                    listings[basename] = _package_entries(package, lib_dirs)
        except OSError as exc:
            raise StoreError(f"nix-index database {path}: {exc.strerror}") from None
        except RemoteError as exc:
            raise StoreError(str(exc), hint="rebuild it with nix-index") from None
        self._cache.put_listings(listings)
        self._cache.put_database(path, stamp, origins)
        return origins

    def _fetch_listings(self, basenames: list[str]) -> dict[str, Entries]:
        """The lib-dir entries of each path from the first cache that lists it."""
        found: dict[str, Entries] = {}
        if not self._clients:
            return found
        self._progress.start("reading cache listings", len(basenames))

        def one(basename: str) -> tuple[str, Entries | None]:
            try:
                return basename, self._listing_of(basename)
            finally:
                self._progress.advance()

        try:
            for basename, entries in bounded_map(one, basenames, max_workers=MAX_PARALLEL):
                if entries is not None:
                    found[basename] = entries
        finally:
            self._progress.finish()
        self._cache.put_listings(found)
        skipped = len(basenames) - len(found)
        if skipped:
            self.notes.append(
                f"{skipped} of {len(basenames)} remote store paths have no listing in any "
                "binary cache: they are not candidates"
            )
        return found

    def _listing_of(self, basename: str) -> Entries | None:
        root = f"{self.settings.store_dir}/{basename}"
        for client in self._clients:
            try:
                listing = client.fetch_listing(basename[:32])
            except FetchError as exc:
                raise _unreachable(exc) from None
            except RemoteError:
                continue  # a malformed listing: this cache cannot say
            if listing is not None:
                return _listing_entries(listing, root)
        return None

    # -- narinfos --------------------------------------------------------------------------

    def _narinfo_from(self, client: CacheClient, hash_part: str) -> NarInfo | None:
        try:
            return client.fetch_narinfo(hash_part, store_dir=self.settings.store_dir)
        except FetchError as exc:
            raise _unreachable(exc) from None
        except RemoteError:
            return None

    def narinfo(self, basename: str) -> NarInfo | None:
        """The verified narinfo of a remote path, or ``None`` (absent, or rejected: see
        :meth:`rejection`)."""
        with self._lock:
            if basename in self._narinfos:
                known = self._narinfos[basename]
                return None if known is None else known[0]
        found = self._find_narinfo(basename)
        with self._lock:
            self._narinfos[basename] = found
        return None if found is None else found[0]

    def _find_narinfo(self, basename: str) -> tuple[NarInfo, str] | None:
        cached = self._cache.narinfo(basename)
        candidates: list[tuple[NarInfo, str]] = []
        if cached is not None:
            url, text = cached
            try:
                parsed = NarInfo.parse(
                    text, url=f"{url}/{basename[:32]}.narinfo",
                    store_dir=self.settings.store_dir, hash_part=basename[:32],
                )  # fmt: skip
                candidates.append((parsed, url))
            except RemoteError:
                pass
        reasons: list[str] = []
        for narinfo, url in candidates:
            checked = verify(narinfo, self.settings.trusted)
            if checked and narinfo.basename == basename:
                return narinfo, url
            reasons.append(checked.reason or "names another store path")
        for client in self._clients:
            try:
                data = client.get_optional(
                    f"{basename[:32]}.narinfo", kind=DocumentKind.NARINFO, limit=MAX_NARINFO_SIZE
                )
            except FetchError as exc:
                raise _unreachable(exc) from None
            if data is None:
                continue
            try:
                narinfo = NarInfo.parse(
                    data, url=client.url_of(f"{basename[:32]}.narinfo"),
                    store_dir=self.settings.store_dir, hash_part=basename[:32],
                )  # fmt: skip
            except RemoteError as exc:
                reasons.append(str(exc))
                continue
            if narinfo.basename != basename:
                reasons.append(f"{client.url}: its narinfo names {narinfo.store_path}")
                continue
            checked = verify(narinfo, self.settings.trusted)
            if not checked:
                reasons.append(f"{checked.reason} ({client.url})")
                continue
            self._cache.put_narinfo(basename, client.url, data)
            return narinfo, client.url
        with self._lock:
            self._rejected[basename] = "; ".join(reasons) if reasons else "no cache has it"
        return None

    def rejection(self, basename: str) -> str | None:
        """Why a remote path cannot be used (bad signature, no narinfo...), if it cannot."""
        return self._rejected.get(basename)

    # -- facts -------------------------------------------------------------------------------

    def _facts_of_path(self, basename: str) -> dict[str, ElfFacts]:
        """Every library of one remote path with its facts (its NAR read once, ever)."""
        blobs = self._cache.facts_of(basename) if self._cache.nar_read(basename) else None
        if blobs is None:
            narinfo = self.narinfo(basename)
            if narinfo is None:
                return {}
            blobs = self._read_nar(basename, narinfo)
            if blobs is None:
                return {}
        facts: dict[str, ElfFacts] = {}
        for path, blob in blobs.items():
            try:
                facts[path] = ElfFacts.from_blob(blob, path)
            except ElfError:
                continue
        return facts

    def _read_nar(self, basename: str, narinfo: NarInfo) -> dict[str, bytes] | None:
        known = self._narinfos.get(basename)
        client = next((c for c in self._clients if known and c.url == known[1]), None)
        if client is None:
            return None
        root = f"{self.settings.store_dir}/{basename}"
        dirs = sorted({_real_dir(target) for names in self._entries.get(basename, {}).values()
                       for target in names.values()})  # fmt: skip
        want = regular_in_dirs(dirs)
        cached = self._cache.narinfo(basename)
        try:
            with client.open_nar(narinfo) as stream:
                if client.url.startswith("file://") or cached is None:
                    contents = extract_verified(stream, narinfo, want=want, head=is_elf)
                else:
                    # Kept for the realisation: Nix need not fetch it again.
                    with self._mirror.keeping(basename[:32], cached[1], narinfo.nar_url) as sink:
                        tee = TeeReader(stream, sink)
                        contents = extract_verified(tee, narinfo, want=want, head=is_elf)
        except FetchError as exc:
            raise _unreachable(exc) from None
        except RemoteError as exc:
            with self._lock:
                self._rejected[basename] = str(exc)
            return None
        blobs: dict[str, bytes] = {}
        for relative, data in contents.files.items():
            path = f"{root}/{relative}"
            try:
                blobs[path] = ElfFacts.parse(data, path).to_blob()
            except ElfError:
                continue
        self._cache.put_facts(basename, blobs)
        with self._lock:
            self._nars_read += 1
        return blobs

    def _files_of(self, paths: Sequence[str]) -> list[RemoteFile]:
        """The remote files at ``paths`` that are ELF libraries, facts fetched (the NARs of
        their store paths concurrently)."""
        todo = sorted({self._owner[p] for p in paths if p not in self._files})
        if todo:
            unread = [b for b in todo if not self._cache.nar_read(b)]
            self.prefetch_narinfos(f"{self.settings.store_dir}/{b}" for b in unread)
            size = sum(
                (n.file_size or n.nar_size) for b in unread if (n := self.narinfo(b)) is not None
            )
            self._progress.start(
                f"fetching {len(unread)} NARs ({size / (1 << 20):.1f} MiB)", len(todo)
            )

            def one(basename: str) -> tuple[str, dict[str, ElfFacts]]:
                try:
                    return basename, self._facts_of_path(basename)
                finally:
                    self._progress.advance()

            try:
                results = list(bounded_map(one, todo, max_workers=MAX_PARALLEL))
            finally:
                self._progress.finish()
            for basename, facts in results:
                root = f"{self.settings.store_dir}/{basename}"
                for path in self._paths_of.get(basename, ()):
                    found = facts.get(path)
                    self._files[path] = None if found is None else RemoteFile(path, root, found)
        return [f for p in paths if (f := self._files.get(p)) is not None]

    # -- what the resolver asks ----------------------------------------------------------------

    def candidates(self, name: str) -> list[RemoteFile]:
        return self._files_of(self._by_name.get(name, ()))

    def facts_of(self, path: str) -> ElfFacts | None:
        """The facts a remote file's NAR gave (``None`` if it was never read)."""
        known = self._files.get(path)
        return None if known is None else known.facts

    def rejected_for(self, name: str) -> list[tuple[str, str]]:
        """(store path, reason) of the rejected paths that list a file named ``name``."""
        found = []
        for path in self._by_name.get(name, ()):
            basename = self._owner[path]
            reason = self._rejected.get(basename)
            if reason is not None:
                found.append((f"{self.settings.store_dir}/{basename}", reason))
        return sorted(set(found))

    def lookup(self, directory: str, name: str) -> RemoteFile | None:
        path = self._dirs.get(directory.rstrip("/"), {}).get(name)
        if path is None:
            return None
        found = self._files_of([path])
        return found[0] if found else None

    def entry_names(self, directory: str) -> tuple[str, ...]:
        return tuple(sorted(self._dirs.get(directory.rstrip("/"), {})))

    def has_directory(self, directory: str) -> bool:
        return directory.rstrip("/") in self._dirs

    def owns(self, store_path: str) -> bool:
        return posixpath.basename(store_path) in self._entries

    def references(self, store_path: str) -> tuple[str, ...]:
        """The store paths a remote path refers to (from its verified narinfo)."""
        narinfo = self.narinfo(posixpath.basename(store_path))
        return () if narinfo is None else narinfo.reference_paths

    def prefetch_narinfos(self, store_paths: Iterable[str]) -> None:
        """Fetch (concurrently) the narinfos of remote paths not asked about yet."""
        todo = [
            b for p in store_paths
            if (b := posixpath.basename(p)) in self._entries and b not in self._narinfos
        ]  # fmt: skip
        if todo:
            list(bounded_map(self.narinfo, todo, max_workers=MAX_PARALLEL))

    def substitute(self, store_path: str) -> Substitute | None:
        basename = posixpath.basename(store_path)
        narinfo = self.narinfo(basename)
        known = self._narinfos.get(basename)
        if narinfo is None or known is None:
            return None
        return Substitute(
            store_path=narinfo.store_path,
            file_size=narinfo.file_size if narinfo.file_size is not None else narinfo.nar_size,
            nar_size=narinfo.nar_size,
            substituter=known[1],
            origin=self._origins.get(basename),
            named_by=self._named_by.get(basename, ""),
        )

    def origin(self, store_path: str) -> str | None:
        return self._origins.get(posixpath.basename(store_path))

    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self._by_name))

    @property
    def stats(self) -> RemoteStats:
        requests: dict[str, int] = {}
        received: dict[str, int] = {}
        for client in self._clients:
            snapshot = client.stats()
            for kind, count in snapshot.requests:
                requests[kind.value] = requests.get(kind.value, 0) + count
            for kind, size in snapshot.received:
                received[kind.value] = received.get(kind.value, 0) + size
        return RemoteStats(
            paths=len(self._entries),
            requests=requests,
            bytes=received,
            nars_read=self._nars_read,
            rejected=len(self._rejected),
        )


def _unreachable(exc: FetchError) -> StoreError:
    return StoreError(
        f"binary cache {exc}",
        hint="check the --substituter URL and the network, or leave that cache out",
    )


def _origin(package: IndexedPackage) -> str:
    return package.attr if package.output in ("", "out") else f"{package.attr}.{package.output}"


def _real_dir(target: str) -> str:
    return target.rpartition("/")[0]


def _listing_entries(listing: Listing, root: str) -> dict[str, dict[str, str]]:
    entries: dict[str, dict[str, str]] = {}
    for lib_dir in listing.lib_dirs(standard_lib_dirs(), store_path=root):
        names = {e.name: e.resolved for e in lib_dir.entries if e.resolved is not None}
        if names:
            entries[lib_dir.lib_dir] = dict(sorted(names.items()))
    return entries


def _package_entries(package: IndexedPackage, lib_dirs: Sequence[str]) -> dict[str, dict[str, str]]:
    """The lib-dir entries of a nix-index package: symlinks followed inside the package."""
    by_path = {f.path: f for f in package.files}
    root = package.store_path
    entries: dict[str, dict[str, str]] = {}
    for lib_dir in lib_dirs:
        names: dict[str, str] = {}
        prefix = lib_dir + "/"
        for path in by_path:
            if not path.startswith(prefix) or "/" in path[len(prefix) :]:
                continue
            target = _follow(path, by_path, root)
            if target is not None:
                names[path[len(prefix) :]] = target
        if names:
            entries[lib_dir] = dict(sorted(names.items()))
    return entries


def _follow(path: str, files: Mapping[str, object], root: str) -> str | None:
    """The regular file ``path`` leads to inside the package, within 40 links."""
    current = path
    for _ in range(40):
        file = files.get(current)
        if file is None:
            return None
        kind = getattr(file, "kind", None)
        if kind is EntryKind.REGULAR:
            return current
        target = getattr(file, "target", None)
        if kind is not EntryKind.SYMLINK or not isinstance(target, str):
            return None
        if target.startswith("/"):
            if not target.startswith(root + "/"):
                return None
            current = target[len(root) + 1 :]
        else:
            current = posixpath.normpath(posixpath.join(posixpath.dirname(current), target))
            if current.startswith(".."):
                return None
    return None
