"""Lock files: a solution frozen for one binary, as a record (:class:`Lock`) and a
document (:data:`LOCK_DOCUMENT`, ``autopatchelf.lock/1``).

A lock records what a solve chose for one root (its store paths, soname -> file, loader and
library path) together with the binary's sha256, so later runs can start the binary without
indexing or solving. Paths inside the binary's own tree (bundled libraries) are written
relative to its directory (``$ORIGIN/../lib/...``) and the binary itself as ``$BINARY``, so a
lock stays true when the binary and its tree move together: shipped beside the binary as
``<binary>.autopatchelf.lock``, or cached by hash under ``<cache dir>/locks/<sha256>.json``
(:mod:`~autopatchelf.actions.locks.locations`).

This module is on the fast path of ``autopatchelf run``: it imports nothing heavy at module
level (the ELF reader and the solution model load only when a lock is made or expanded).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs

from autopatchelf.frozen import FrozenMap, Record, string_map
from autopatchelf.options import Delivery, GlibcPolicy, NeedOrigin
from autopatchelf.schema import Document

if TYPE_CHECKING:
    from autopatchelf.actions.locks.applock import AppLock
    from autopatchelf.solution.model import Solution

#: The ``schema`` field of a binary's lock.
LOCK_SCHEMA = "autopatchelf.lock/1"
#: The ``schema`` of an app tree's lock (:mod:`~autopatchelf.actions.locks.applock`).
APP_LOCK_SCHEMA = "autopatchelf.lock/2"
#: Stands for the binary's directory in the paths a lock holds.
ORIGIN = "$ORIGIN"
#: Stands for the binary itself (``requested_by`` of the libraries it needs directly).
BINARY = "$BINARY"


@attrs.frozen(repr=False)
class LockedLibrary(Record):
    """One object ld.so maps for the binary, in load order (paths as stored in the lock)."""

    name: str
    path: str
    #: Its store path, or None for a library of the binary's own tree.
    store_path: str | None
    requested_by: str
    #: ``needed`` (start-up), or why it is dlopen()ed: ``note``, ``flag``, ``trace``.
    via: NeedOrigin = NeedOrigin.NEEDED


def _binary(key: str) -> dict[str, object]:
    return {"group": ("binary", key)}


@attrs.frozen(kw_only=True, repr=False)
class Lock(Record):
    """A solution for one binary, with what is needed to trust it later.

    Paths are as stored: ``$ORIGIN/...`` for the binary's own tree, ``$BINARY`` for the
    binary; :meth:`expand` turns them into real paths for a binary's location. The fields
    are the document's keys, in order (``binary``, ``sha256``, ``elf_digest`` and ``system``
    are written together as the ``binary`` object).
    """

    #: The autopatchelf version that wrote the lock (information only).
    tool_version: str = ""
    #: The binary's file name when the lock was made (information only).
    binary: str = attrs.field(metadata=_binary("name"))
    #: sha256 of the binary's bytes (hex).
    sha256: str = attrs.field(metadata=_binary("sha256"))
    #: sha256 of what the binary asks of the loader (see
    #: :func:`~autopatchelf.actions.locks.hashing.elf_digest`).
    elf_digest: str = attrs.field(metadata=_binary("elf_digest"))
    #: The Nix system of the binary (``x86_64-linux``), for nix-ld's per-system variables.
    system: str | None = attrs.field(metadata=_binary("system"))
    #: The chosen loader, or None for a root without PT_INTERP (a library).
    interpreter: str | None
    #: The chosen glibc's store path.
    glibc: str | None
    glibc_policy: GlibcPolicy = attrs.field(converter=GlibcPolicy)
    delivery: Delivery = attrs.field(converter=Delivery)
    #: ``ld.so --library-path`` directories in order; empty when ``needs_link_dir``.
    library_path: tuple[str, ...]
    needs_link_dir: bool
    runpath: tuple[str, ...]
    #: Every store path the binary needs at run time (closures included), sorted.
    store_paths: tuple[str, ...]
    #: soname -> file, for every library of the solution.
    choices: FrozenMap[str, str] = attrs.field(converter=string_map)
    #: What ld.so maps for the binary, in load order.
    libraries: tuple[LockedLibrary, ...]
    substitutions: FrozenMap[str, str] = attrs.field(factory=FrozenMap, converter=string_map)
    warnings: tuple[str, ...] = ()
    #: Driver dirs the solution takes graphics/GPU libraries from (outside the store).
    driver_dirs: tuple[str, ...] = ()

    @classmethod
    def from_solution(cls, solution: Solution, root: str) -> Lock:
        """The lock of ``root`` (one of the solution's roots) in ``solution``."""
        from autopatchelf import __version__
        from autopatchelf.actions.locks.hashing import elf_digest, file_sha256
        from autopatchelf.elf.facts import ElfFacts
        from autopatchelf.ldso.machines import nix_system

        root = os.path.abspath(root)
        root_solution = solution.root(root)
        facts = ElfFacts.read(root)
        store_paths = tuple(sorted(solution.store_paths))
        rel = _Relativizer(root, store_paths)
        return cls(
            tool_version=__version__,
            binary=os.path.basename(root),
            sha256=file_sha256(root),
            elf_digest=elf_digest(facts),
            system=nix_system(facts),
            interpreter=root_solution.interpreter,
            libraries=tuple(
                LockedLibrary(
                    lib.name,
                    rel(lib.path),
                    lib.store_path,
                    BINARY if lib.requested_by == root else rel(lib.requested_by),
                    lib.via,
                )
                for lib in root_solution.libraries
            ),
            **carried(solution, rel),
        )

    def expand(self, path: str, binary: str) -> str:
        """A stored path as a real path, for the binary at ``binary``."""
        binary = os.path.abspath(binary)
        if path == BINARY:
            return binary
        if path == ORIGIN or path.startswith(ORIGIN + "/"):
            return os.path.normpath(os.path.dirname(binary) + path[len(ORIGIN) :])
        return path

    def locked_choices(self, binary: str) -> dict[str, str]:
        """soname -> real file, for ``SolveOptions(locked=...)``."""
        return {name: self.expand(path, binary) for name, path in self.choices.items()}

    def to_solution(self, binary: str) -> Solution:
        """The solution this lock holds, for the binary at ``binary`` (its only root).

        Alternatives are not kept in a lock: the solution comes back with none.
        """
        from autopatchelf.solution.model import LoadedLibrary, RootSolution, Solution

        root = os.path.abspath(binary)

        def real(path: str) -> str:
            return self.expand(path, root)

        libraries = tuple(
            LoadedLibrary(lib.name, real(lib.path), lib.store_path, real(lib.requested_by), lib.via)
            for lib in self.libraries
        )
        return Solution(
            interpreter=self.interpreter,
            roots=(RootSolution(root=root, interpreter=self.interpreter, libraries=libraries),),
            **carried(self, real),
        )


def carried(source: Solution | Lock | AppLock, path: Callable[[str], str]) -> dict[str, Any]:
    """The fields a lock, an app tree's lock and a solution share, with every file or
    directory passed through ``path`` (relative to the tree one way, real the other)."""
    return {
        "glibc": source.glibc,
        "glibc_policy": source.glibc_policy,
        "delivery": source.delivery,
        "store_paths": tuple(sorted(source.store_paths)),
        "library_path": tuple(map(path, source.library_path)),
        "needs_link_dir": source.needs_link_dir,
        "runpath": tuple(map(path, source.runpath)),
        "choices": {name: path(file) for name, file in sorted(source.choices.items())},
        "substitutions": dict(sorted(source.substitutions.items())),
        "warnings": source.warnings,
        "driver_dirs": source.driver_dirs,
    }


class _Relativizer:
    """Writes paths of the binary's own tree relative to its directory."""

    def __init__(self, root: str, store_paths: tuple[str, ...]) -> None:
        self.root = root
        self.origin = os.path.dirname(root)
        self.store_paths = store_paths

    def __call__(self, path: str) -> str:
        if under_any(path, self.store_paths) or not os.path.isabs(path):
            return path
        if os.path.commonpath([path, self.origin]) == "/":
            return path  # unrelated to the binary's tree: keep it absolute
        return f"{ORIGIN}/{os.path.relpath(path, self.origin)}".removesuffix("/.")


def under_any(path: str, prefixes: tuple[str, ...]) -> bool:
    """Is ``path`` one of ``prefixes`` or inside one?"""
    return any(path == p or path.startswith(p + "/") for p in prefixes)


#: The lock document (``autopatchelf.lock/1``): its body is a :class:`Lock`.
LOCK_DOCUMENT = Document(LOCK_SCHEMA, Lock)
