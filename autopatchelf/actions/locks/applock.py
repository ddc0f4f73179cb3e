"""App-tree locks: one solution frozen for a whole directory of binaries solved together
(:class:`AppLock`, document ``autopatchelf.lock/2``).

An app (a game's tree, a vendor's ``opt/`` directory) is solved as one set of roots: one
glibc, one provider per soname for every binary in it. Its lock keeps what they share once
(glibc, store paths, soname -> file, library path, RUNPATH) and, per binary, what is its own
(its path in the tree, sha256, what it asks of the loader, what ld.so maps for it).

Paths inside the tree are written from the tree's root as ``$APP/...``, and the tree's root
from the lock file's directory (``root``: ``.`` for a lock inside the tree, ``game`` for
one beside it), so lock and tree move together. A path written ``$APP/...`` must stay in
the tree: a lock naming ``$APP/../x`` is malformed.

The per-binary view (:meth:`AppLock.binary_lock`) is an ordinary :class:`Lock` for that
binary, with its tree's paths written from the binary's own directory (``$ORIGIN/...``):
checking, trusting and starting one binary of an app is exactly what it is for a lock of
that binary alone.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import attrs

from autopatchelf.actions.locks.lock import (
    APP_LOCK_SCHEMA,
    BINARY,
    ORIGIN,
    Lock,
    LockedLibrary,
    carried,
    under_any,
)
from autopatchelf.frozen import FrozenMap, Record, string_map
from autopatchelf.options import Delivery, GlibcPolicy
from autopatchelf.schema import Document

if TYPE_CHECKING:
    from autopatchelf.solution.model import Solution

#: Stands for the app tree's root directory in the paths an app lock holds.
APP = "$APP"


@attrs.frozen(kw_only=True, repr=False)
class AppBinary(Record):
    """What one binary of the app has of its own."""

    #: Its path from the tree's root (``bin/game``).
    path: str
    sha256: str
    elf_digest: str
    system: str | None
    interpreter: str | None
    #: What ld.so maps for it, in load order (``requested_by`` ``$APP/...`` for itself).
    libraries: tuple[LockedLibrary, ...]


@attrs.frozen(kw_only=True, repr=False)
class AppLock(Record):
    """A solution for every binary of an app tree (fields in document order)."""

    tool_version: str = ""
    #: The tree's root, from the lock file's directory (``.``: the lock is in the tree).
    root: str
    glibc: str | None
    glibc_policy: GlibcPolicy = attrs.field(converter=GlibcPolicy)
    delivery: Delivery = attrs.field(converter=Delivery)
    library_path: tuple[str, ...]
    needs_link_dir: bool
    runpath: tuple[str, ...]
    store_paths: tuple[str, ...]
    choices: FrozenMap[str, str] = attrs.field(converter=string_map)
    substitutions: FrozenMap[str, str] = attrs.field(factory=FrozenMap, converter=string_map)
    warnings: tuple[str, ...] = ()
    driver_dirs: tuple[str, ...] = ()
    #: One entry per binary, sorted by path.
    binaries: tuple[AppBinary, ...]

    @classmethod
    def from_solution(cls, solution: Solution, app_root: str, lock_file: str) -> AppLock:
        """The lock of every root of ``solution`` (all inside ``app_root``), to be written
        at ``lock_file``."""
        from autopatchelf import __version__
        from autopatchelf.actions.locks.hashing import elf_digest, file_sha256
        from autopatchelf.elf.facts import ElfFacts
        from autopatchelf.ldso.machines import nix_system

        app_root = os.path.realpath(app_root)
        store_paths = tuple(sorted(solution.store_paths))

        def rel(path: str) -> str:
            return _from_app(path, app_root, store_paths)

        entries = []
        for root in solution.roots:
            facts = ElfFacts.read(root.root)
            entries.append(
                AppBinary(
                    path=os.path.relpath(root.root, app_root),
                    sha256=file_sha256(root.root),
                    elf_digest=elf_digest(facts),
                    system=nix_system(facts),
                    interpreter=root.interpreter,
                    libraries=tuple(
                        LockedLibrary(
                            lib.name, rel(lib.path), lib.store_path, rel(lib.requested_by), lib.via
                        )
                        for lib in root.libraries
                    ),
                )
            )
        lock_dir = os.path.dirname(os.path.abspath(lock_file))
        return cls(
            tool_version=__version__,
            root=os.path.relpath(app_root, os.path.realpath(lock_dir)),
            binaries=tuple(sorted(entries, key=lambda entry: entry.path)),
            **carried(solution, rel),
        )

    def app_root(self, lock_file: str) -> str:
        """The tree this lock (read from ``lock_file``) is for."""
        return os.path.normpath(
            os.path.join(os.path.dirname(os.path.abspath(lock_file)), self.root)
        )

    def entry(self, binary: str, app_root: str) -> AppBinary | None:
        """The entry of ``binary`` (a path in the tree at ``app_root``), if it has one."""
        relative = os.path.relpath(os.path.realpath(binary), os.path.realpath(app_root))
        return next((entry for entry in self.binaries if entry.path == relative), None)

    def escaping(self) -> list[str]:
        """Paths written from the tree's root that leave it (the lock is malformed)."""
        paths = [*self.library_path, *self.runpath, *self.choices.values()]
        for entry in self.binaries:
            paths.append(f"{APP}/{entry.path}")
            paths.extend(p for lib in entry.libraries for p in (lib.path, lib.requested_by))
        return [p for p in dict.fromkeys(paths) if _is_app(p) and _leaves_tree(p)]

    def binary_lock(self, entry: AppBinary) -> Lock:
        """The lock of one binary of the app: its entry and what the app shares, with the
        tree's paths written from that binary's directory."""
        binary_dir = os.path.dirname(entry.path)
        itself = f"{APP}/{entry.path}"

        def rel(path: str) -> str:
            if not _is_app(path):
                return path
            inner = path[len(APP) + 1 :] if path != APP else "."
            return f"{ORIGIN}/{os.path.relpath(inner, binary_dir or '.')}".removesuffix("/.")

        return Lock(
            tool_version=self.tool_version,
            binary=os.path.basename(entry.path),
            sha256=entry.sha256,
            elf_digest=entry.elf_digest,
            system=entry.system,
            interpreter=entry.interpreter,
            libraries=tuple(
                attrs.evolve(
                    lib,
                    path=rel(lib.path),
                    requested_by=BINARY if lib.requested_by == itself else rel(lib.requested_by),
                )
                for lib in entry.libraries
            ),
            **carried(self, rel),
        )

    def to_solution(self, app_root: str) -> Solution:
        """The solution this lock holds, every binary a root, for the tree at ``app_root``."""
        from autopatchelf.solution.model import RootSolution, Solution

        app_root = os.path.abspath(app_root)

        def real(path: str) -> str:
            return self.expand(path, app_root)

        roots: list[RootSolution] = []
        for entry in self.binaries:
            binary = os.path.join(app_root, entry.path)
            roots.extend(self.binary_lock(entry).to_solution(binary).roots)
        return Solution(
            interpreter=next((r.interpreter for r in roots if r.interpreter), None),
            roots=tuple(roots),
            **carried(self, real),
        )

    def expand(self, path: str, app_root: str) -> str:
        """A stored path as a real path, for the tree at ``app_root``."""
        if path == APP:
            return os.path.abspath(app_root)
        if _is_app(path):
            return os.path.normpath(f"{os.path.abspath(app_root)}/{path[len(APP) + 1 :]}")
        return path

    def locked_choices(self, app_root: str) -> dict[str, str]:
        """soname -> real file, for ``SolveOptions(locked=...)`` when re-solving."""
        return {name: self.expand(path, app_root) for name, path in self.choices.items()}


def _is_app(path: str) -> bool:
    return path == APP or path.startswith(APP + "/")


def _leaves_tree(path: str) -> bool:
    inner = path[len(APP) + 1 :] if path != APP else ""
    parts = inner.split("/") if inner else []
    return any(part in ("", ".", "..") for part in parts)


def _from_app(path: str, app_root: str, store_paths: tuple[str, ...]) -> str:
    """A solution's path as an app lock writes it: ``$APP/...`` inside the tree."""
    if under_any(path, store_paths) or not os.path.isabs(path):
        return path
    real = os.path.realpath(path)
    if real == app_root:
        return APP
    if real.startswith(app_root + "/"):
        return f"{APP}/{os.path.relpath(real, app_root)}"
    return path


#: The app-tree lock document (``autopatchelf.lock/2``): its body is an :class:`AppLock`.
APP_LOCK_DOCUMENT = Document(APP_LOCK_SCHEMA, AppLock)
