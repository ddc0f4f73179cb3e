"""A store: a directory of store paths, plus Nix's reference graph when Nix manages it.

Three backends, chosen by :meth:`Store.open`:

``nix-db``
    the store Nix is configured for, with its database readable: valid paths,
    references and closures come from ``db.sqlite`` opened read-only.
``nix-cli``
    the same store, queried through ``nix-store`` (database not readable).
``plain``
    any directory of ``<hash>-<name>`` entries without Nix (e.g. a copied closure):
    every entry is valid, and references are whatever the index's ELF scan finds
    (:attr:`Store.graph` is ``None``).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal

from autopatchelf.errors import StoreError
from autopatchelf.nix.db import DB_RELATIVE, NixDatabase
from autopatchelf.nix.dirs import nix_state_dir, nix_store_dir
from autopatchelf.store.dirstamp import DirStamp, read_dir_stamp
from autopatchelf.store.graph import ReferenceGraph
from autopatchelf.store.path import StorePath, is_store_basename, make_store_path

if TYPE_CHECKING:  # the nix-store command is imported only for that backend
    from autopatchelf.nix.cli import NixStoreCommand

NixMode = Literal["auto", "db", "cli", "none"]
Backend = Literal["nix-db", "nix-cli", "plain"]


class Store:
    """A store directory and how to learn which of its paths are valid and related."""

    def __init__(
        self,
        directory: str,
        backend: Backend,
        *,
        database: NixDatabase | None = None,
        command: NixStoreCommand | None = None,
    ) -> None:
        self.dir = directory
        self.real_dir = os.path.realpath(directory)
        self.backend: Backend = backend
        self._database = database
        self._command = command
        #: Parsed store paths by basename (a solve asks for the same few again and again).
        self._paths: dict[str, StorePath] = {}

    @classmethod
    def open(
        cls,
        directory: str | None = None,
        *,
        nix: NixMode = "auto",
        state_dir: str | None = None,
        db_timeout: float = 10.0,
    ) -> Store:
        """Open ``directory`` (default: Nix's store dir) with the best backend ``nix`` allows.

        ``auto`` uses Nix's database when ``directory`` is the store Nix is configured
        for, falls back to ``nix-store`` when the database cannot be read, and treats any
        other directory as a plain store.
        """
        configured = nix_store_dir()
        wanted = os.path.normpath(os.path.abspath(directory or configured))
        if not os.path.isdir(wanted):
            raise StoreError(
                f"store directory {wanted} does not exist or is not a directory",
                hint="pass an existing directory with --store",
            )
        is_nix_store = os.path.realpath(wanted) == os.path.realpath(configured)
        # Nix records paths under its configured spelling of the store dir.
        logical = configured if is_nix_store else wanted
        db_path = os.path.join(state_dir or nix_state_dir(), DB_RELATIVE)

        if nix == "none":
            return cls(wanted, "plain")
        if nix in ("db", "cli") and not is_nix_store:
            raise StoreError(
                f"{wanted} is not the store Nix is configured for ({configured})",
                hint="set NIX_STORE_DIR, or index it without Nix (--nix none)",
            )
        if nix == "db":
            return cls(
                logical, "nix-db", database=NixDatabase(db_path, logical, timeout=db_timeout)
            )
        if nix == "cli":
            return cls(logical, "nix-cli", command=_command(logical))
        if not is_nix_store:
            return cls(wanted, "plain")
        if os.path.exists(db_path):
            try:
                database = NixDatabase(db_path, logical, timeout=db_timeout)
            except StoreError:
                if _which("nix-store") is None:
                    raise
            else:
                return cls(logical, "nix-db", database=database)
        if _which("nix-store") is not None:
            return cls(logical, "nix-cli", command=_command(logical))
        return cls(wanted, "plain")

    def close(self) -> None:
        if self._database is not None:
            self._database.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.dir!r}, backend={self.backend!r})"

    @property
    def graph(self) -> ReferenceGraph | None:
        """Nix's reference graph, or ``None`` for a plain store."""
        if self._database is not None:
            return self._database
        return self._command

    @property
    def remaps_foreign_paths(self) -> bool:
        """A plain store reads ``/nix/store/<hash>-x`` in RUNPATHs as its own ``<hash>-x``."""
        return self.backend == "plain"

    # -- paths -----------------------------------------------------------------

    def store_path(self, basename: str) -> StorePath:
        found = self._paths.get(basename)
        if found is None:
            found = self._paths[basename] = make_store_path(self.dir, basename)
        return found

    def full_path(self, basename: str) -> str:
        return f"{self.dir}/{basename}"

    def locate(self, path: str) -> tuple[str, str] | None:
        """``(basename, rest)`` when absolute ``path`` lies inside the store, else ``None``."""
        for prefix in (self.dir, self.real_dir):
            if path.startswith(prefix) and path[len(prefix) : len(prefix) + 1] == "/":
                base, _, rest = path[len(prefix) + 1 :].partition("/")
                if is_store_basename(base):
                    return base, rest
        return None

    def realpath(self, path: str) -> str:
        """``os.path.realpath``, but spelled under ``dir`` when it lands in the store
        (the store dir itself may be a symlink, e.g. ``/nix -> /mnt/nix``)."""
        real = os.path.realpath(path)
        if self.real_dir != self.dir and real.startswith(self.real_dir + "/"):
            return self.dir + real[len(self.real_dir) :]
        return real

    def locate_foreign(self, path: str) -> tuple[str, str] | None:
        """For a plain store: ``(basename, rest)`` of the first ``<hash>-<name>`` component
        of ``path`` that this store holds, whatever directory ``path`` names it under."""
        parts = path.split("/")
        for i, part in enumerate(parts):
            if is_store_basename(part) and os.path.lexists(self.full_path(part)):
                return part, "/".join(parts[i + 1 :])
        return None

    def resolve(self, path: str) -> StorePath:
        """The store path that ``path`` (a ``result`` link, a profile, a file) leads into."""
        direct = self._direct(path)
        if direct is not None:
            return self.store_path(direct)
        real = self.realpath(path)
        where = self.locate(real)
        if where is None and self.remaps_foreign_paths:
            where = self.locate_foreign(real)
        if where is None:
            raise StoreError(
                f"{path} does not lead into the store {self.dir}",
                hint="pass a store path or a symlink into it (result, a profile)",
            )
        if not os.path.lexists(self.full_path(where[0])):
            raise StoreError(f"{path} leads to {self.full_path(where[0])}, which does not exist")
        return self.store_path(where[0])

    def _direct(self, path: str) -> str | None:
        """The basename of ``path`` when it is spelled ``<dir>/<basename>`` in a store dir
        reached through no symlink and is not a symlink itself: one ``lstat`` instead of
        one per component (``--within`` names many store paths)."""
        if self.real_dir != self.dir or path.endswith("/"):
            return None
        where = self.locate(path)
        if where is None or where[1] or path != self.full_path(where[0]):
            return None
        try:
            mode = os.lstat(path).st_mode
        except OSError:
            return None  # said the long way below
        return None if stat.S_ISLNK(mode) else where[0]

    def _listing(self) -> dict[str, str]:
        """Basename -> ``ino:<inode>`` of every store path in the directory (one list
        comprehension: a warm open of a 20,000-path store runs this first)."""
        try:
            entries = list(os.scandir(self.dir))
        except OSError as exc:
            raise StoreError(f"cannot list store directory {self.dir}: {exc.strerror}") from exc
        return {
            entry.name: f"ino:{entry.inode()}"
            for entry in entries
            if is_store_basename(entry.name)
            # a build lock (``<hash>-<name>.lock``), not a store path
            and not (entry.name.endswith(".lock") and not entry.is_dir(follow_symlinks=False))
        }

    def listing_stamp(self) -> DirStamp | None:
        """The store dir's stamp when its listing alone says which paths are valid (a
        plain store; ``None`` otherwise: Nix registers a path without touching the
        directory), for telling that no path came or went since a listing."""
        if self.backend != "plain":
            return None
        try:
            return read_dir_stamp(self.dir)
        except OSError:
            return None

    def valid_paths(self, assume_valid: Iterable[str] = ()) -> dict[str, str]:
        """Basename -> stamp of every valid path; a stamp changes if a path is re-made.

        ``assume_valid`` (basenames already known valid) spares the ``nix-cli`` backend
        from asking Nix again about paths that are still on disk.
        """
        if self._database is not None:
            return self._database.valid_paths()
        listing = self._listing()
        if self._command is not None:
            unknown = listing.keys() - set(assume_valid)
            for name in self._command.invalid(unknown):
                listing.pop(name, None)
        return listing


def _which(command: str) -> str | None:
    """``shutil.which`` (imported here only: a store read through its database runs none)."""
    from shutil import which

    return which(command)


def _command(store_dir: str) -> NixStoreCommand:
    from autopatchelf.nix.cli import NixStoreCommand

    return NixStoreCommand(store_dir)
