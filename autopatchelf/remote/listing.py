"""``<hash>.ls`` NAR listings, and what the lib dirs of a store path hold.

Facts relied on (Nix ``src/libstore/nar-accessor.cc``, ``listNar``; checked against the
``.ls`` files ``nix copy --to 'file://...?write-nar-listing=true'`` writes with Nix 2.8):
the document is JSON ``{"version": 1, "root": NODE}`` where a NODE is
``{"type": "regular", "size": N, "narOffset": N}`` (plus ``"executable": true`` for
executables), ``{"type": "symlink", "target": "..."}`` or
``{"type": "directory", "entries": {NAME: NODE, ...}}``. Nix writes the file
uncompressed, but caches may serve it compressed under the same name, so the magic
number is sniffed.

The listing is flattened to one :class:`ListingEntry` per path (relative, ``/``-separated,
root ``""``), in NAR order. Bounds: document size, depth, entry count. Errors are
:class:`ListingError` naming the source.
"""

from __future__ import annotations

import json
import posixpath
import types
from collections.abc import Mapping, Sequence

import attrs

from autopatchelf.errors import CompressionError, ListingError
from autopatchelf.frozen import Record
from autopatchelf.remote.compression import decompress_sniffed
from autopatchelf.remote.nar import EntryKind, bad_name_reason
from autopatchelf.store.path import is_store_basename

#: How many symlinks one resolution may follow (as Linux's ``MAXSYMLINKS``).
MAX_SYMLINK_HOPS = 40


@attrs.frozen(repr=False)
class ListingLimits(Record):
    max_document: int = 64 << 20
    max_depth: int = 128
    max_entries: int = 1_000_000
    max_name: int = 1024
    max_target: int = 4096


@attrs.frozen(repr=False)
class ListingEntry(Record):
    """One file of a listing: ``path`` relative (root ``""``), kind and its facts."""

    path: str
    kind: EntryKind
    size: int = 0
    executable: bool = False
    target: str | None = None
    nar_offset: int | None = None


@attrs.frozen(repr=False)
class Resolved(Record):
    """Where a path leads, following symlinks inside the listing only.

    Exactly one of: ``path`` (the entry reached, of ``kind``), ``external`` (an absolute
    path outside this store path, not followed; ``external_store_path`` is the store path
    it is in, if any), or ``problem`` (dangling, loop, not a directory, escapes).
    """

    path: str | None = None
    kind: EntryKind | None = None
    external: str | None = None
    external_store_path: str | None = None
    problem: str | None = None


@attrs.frozen(repr=False)
class LibDirEntry(Record):
    """One entry of a lib dir, and the regular file (if any) that ld.so would open."""

    lib_dir: str
    name: str
    #: The entry's own relative path (inside the lib dir as resolved).
    path: str
    kind: EntryKind
    #: Relative path of the regular file it leads to, or ``None``.
    resolved: str | None
    external: str | None = None
    external_store_path: str | None = None
    problem: str | None = None

    @property
    def found(self) -> bool:
        """Whether ld.so would find a regular file here (inside this store path)."""
        return self.resolved is not None


@attrs.frozen(repr=False)
class LibDir(Record):
    """A lib dir of a store path: as asked, where it resolves, and its entries."""

    lib_dir: str
    #: Relative path of the directory it resolves to (``None`` if external).
    directory: str | None
    external: str | None
    entries: tuple[LibDirEntry, ...]


def _walk(root: object, source: str, limits: ListingLimits) -> list[ListingEntry]:
    entries: list[ListingEntry] = []
    # (path, node, depth), popped in NAR order.
    stack: list[tuple[str, object, int]] = [("", root, 0)]
    while stack:
        path, node, depth = stack.pop()
        where = repr(path) if path else "the root"
        if len(entries) >= limits.max_entries:
            raise ListingError(f"{source}: more than {limits.max_entries} entries")
        if not isinstance(node, dict):
            raise ListingError(f"{source}: node {where} is not an object")
        kind = node.get("type")
        if kind == "regular":
            size = node.get("size", 0)
            offset = node.get("narOffset")
            executable = node.get("executable", False)
            if type(size) is not int or size < 0:
                raise ListingError(f"{source}: {where} has an invalid size")
            if offset is not None and (type(offset) is not int or offset < 0):
                raise ListingError(f"{source}: {where} has an invalid narOffset")
            if type(executable) is not bool:
                raise ListingError(f"{source}: {where} has a non-boolean 'executable'")
            entries.append(ListingEntry(path, EntryKind.REGULAR, size, executable, None, offset))
        elif kind == "symlink":
            target = node.get("target")
            if (
                not isinstance(target, str)
                or not target
                or "\0" in target
                or len(target) > limits.max_target
            ):
                raise ListingError(f"{source}: symlink {where} has an invalid target")
            entries.append(ListingEntry(path, EntryKind.SYMLINK, target=target))
        elif kind == "directory":
            children = node.get("entries", {})
            if not isinstance(children, dict):
                raise ListingError(f"{source}: directory {where} has non-object 'entries'")
            if children and depth >= limits.max_depth:
                raise ListingError(f"{source}: directories nested deeper than {limits.max_depth}")
            entries.append(ListingEntry(path, EntryKind.DIRECTORY))
            for name in sorted(children, reverse=True):
                try:
                    raw = name.encode("utf-8", "surrogateescape")
                except UnicodeEncodeError:
                    raw = b"\0"
                reason = bad_name_reason(raw) or (
                    "entry name too long" if len(raw) > limits.max_name else None
                )
                if reason is not None:
                    raise ListingError(f"{source}: in directory {where}: {reason}")
                stack.append((f"{path}/{name}" if path else name, children[name], depth + 1))
        else:
            raise ListingError(f"{source}: node {where} has unknown type {str(kind)[:40]!r}")
    return entries


def _frozen(mapping: Mapping[str, ListingEntry]) -> Mapping[str, ListingEntry]:
    return types.MappingProxyType(dict(mapping))


@attrs.frozen(repr=False)
class Listing(Record):
    """A parsed ``.ls`` listing of one store path."""

    source: str
    entries: tuple[ListingEntry, ...]
    by_path: Mapping[str, ListingEntry] = attrs.field(
        converter=_frozen, eq=False, repr=False, default=types.MappingProxyType({})
    )

    _children: Mapping[str, tuple[ListingEntry, ...]] = attrs.field(
        init=False, eq=False, repr=False, factory=dict
    )

    def __attrs_post_init__(self) -> None:
        if not self.by_path:
            object.__setattr__(self, "by_path", _frozen({e.path: e for e in self.entries}))
        children: dict[str, list[ListingEntry]] = {}
        for entry in self.entries:
            if entry.path:
                children.setdefault(entry.path.rpartition("/")[0], []).append(entry)
        frozen = {parent: tuple(found) for parent, found in children.items()}
        object.__setattr__(self, "_children", types.MappingProxyType(frozen))

    @classmethod
    def parse(
        cls, data: bytes | str, *, source: str, limits: ListingLimits | None = None
    ) -> Listing:
        """Parse a (possibly compressed) listing; raises ``ListingError``."""
        limits = limits or ListingLimits()
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        try:
            data = decompress_sniffed(data, limit=limits.max_document, name=source)
        except CompressionError as error:
            raise ListingError(str(error)) from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ListingError(f"{source}: listing is not UTF-8 (byte {error.start})") from None
        try:
            document = json.loads(text)
        except RecursionError:
            raise ListingError(f"{source}: listing JSON is nested too deeply") from None
        except ValueError as error:
            raise ListingError(f"{source}: listing is not valid JSON: {error}") from None
        if not isinstance(document, dict):
            raise ListingError(f"{source}: listing is not a JSON object")
        if document.get("version") != 1 or type(document.get("version")) is not int:
            raise ListingError(
                f"{source}: listing version is {str(document.get('version'))[:20]}, not 1"
            )
        if "root" not in document:
            raise ListingError(f"{source}: listing has no 'root'")
        return cls(source, tuple(_walk(document["root"], source, limits)))

    def get(self, path: str) -> ListingEntry | None:
        return self.by_path.get(path)

    def children(self, directory: str) -> tuple[ListingEntry, ...]:
        """Direct entries of the directory at relative path ``directory``."""
        return self._children.get(directory, ())

    def resolve(self, path: str, *, store_path: str | None = None) -> Resolved:
        """Follow ``path`` (relative) through symlinks inside this listing.

        Absolute targets into ``store_path`` itself are followed; other absolute targets
        are reported as ``external``, never followed.
        """
        pending = [part for part in path.split("/") if part]
        pending.reverse()
        current: list[str] = []
        hops = 0
        while pending:
            part = pending.pop()
            if part in ("", "."):
                continue
            if part == "..":
                if not current:
                    return Resolved(problem=f"{path!r} leads out of the store path")
                current.pop()
                continue
            candidate = "/".join([*current, part])
            entry = self.get(candidate)
            if entry is None:
                return Resolved(problem=f"{path!r} is dangling ({candidate!r} does not exist)")
            if entry.kind is EntryKind.SYMLINK:
                hops += 1
                if hops > MAX_SYMLINK_HOPS:
                    return Resolved(problem=f"{path!r}: too many levels of symlinks")
                target = entry.target or ""
                if target.startswith("/"):
                    if store_path is not None and (
                        target == store_path or target.startswith(store_path + "/")
                    ):
                        current = []
                        target = target[len(store_path) :]
                    else:
                        rest = list(reversed(pending))
                        external = posixpath.normpath("/".join([target, *rest]))
                        return Resolved(
                            external=external,
                            external_store_path=_store_path_of(external, store_path),
                        )
                pending.extend(reversed([p for p in target.split("/") if p]))
                continue
            if entry.kind is EntryKind.REGULAR and pending:
                return Resolved(problem=f"{path!r}: {candidate!r} is not a directory")
            current.append(part)
        final = "/".join(current)
        entry = self.get(final)
        if entry is None:  # only the root can be missing from a listing that lists it
            return Resolved(problem=f"{path!r} is dangling")
        return Resolved(path=final, kind=entry.kind)

    def lib_dirs(self, lib_dirs: Sequence[str], *, store_path: str) -> tuple[LibDir, ...]:
        """For each relative lib dir present, its entries and what each leads to."""
        found: list[LibDir] = []
        for lib_dir in lib_dirs:
            where = self.resolve(lib_dir, store_path=store_path)
            if where.external is not None:
                found.append(LibDir(lib_dir, None, where.external, ()))
                continue
            if where.path is None or where.kind is not EntryKind.DIRECTORY:
                continue
            entries: list[LibDirEntry] = []
            for child in self.children(where.path):
                name = child.path.rpartition("/")[2]
                if child.kind is EntryKind.REGULAR:
                    entries.append(LibDirEntry(lib_dir, name, child.path, child.kind, child.path))
                    continue
                if child.kind is EntryKind.DIRECTORY:
                    entries.append(LibDirEntry(lib_dir, name, child.path, child.kind, None))
                    continue
                target = self.resolve(child.path, store_path=store_path)
                regular = target.path if target.kind is EntryKind.REGULAR else None
                problem = target.problem
                if target.kind is EntryKind.DIRECTORY:
                    problem = f"{child.path!r} leads to a directory"
                entries.append(
                    LibDirEntry(
                        lib_dir,
                        name,
                        child.path,
                        child.kind,
                        regular,
                        target.external,
                        target.external_store_path,
                        problem,
                    )
                )
            found.append(LibDir(lib_dir, where.path, None, tuple(entries)))
        return tuple(found)


def _store_path_of(path: str, own: str | None) -> str | None:
    """The store path ``path`` is in, taking the store dir from ``own``'s (or /nix/store)."""
    store_dir = posixpath.dirname(own) if own else "/nix/store"
    if not path.startswith(store_dir + "/"):
        return None
    basename = path[len(store_dir) + 1 :].split("/", 1)[0]
    return f"{store_dir}/{basename}" if is_store_basename(basename) else None
