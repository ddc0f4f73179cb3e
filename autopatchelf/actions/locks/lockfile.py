"""Reading and writing lock files (atomically; every problem one :class:`LockFileError`).

Two documents share the name: a binary's lock (``autopatchelf.lock/1``, :class:`Lock`) and
an app tree's (``autopatchelf.lock/2``, :class:`AppLock`); reading tells them apart by
their ``schema``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from autopatchelf.actions.locks.lock import APP_LOCK_SCHEMA, LOCK_DOCUMENT, Lock
from autopatchelf.errors import LockFileError
from autopatchelf.schema import SchemaError, parse_json

if TYPE_CHECKING:  # the app lock's module loads only for an app lock (run's fast path)
    from autopatchelf.actions.locks.applock import AppLock


def lock_text(lock: Lock | AppLock) -> str:
    """The document text of either kind of lock."""
    if isinstance(lock, Lock):
        return LOCK_DOCUMENT.dumps(lock)
    from autopatchelf.actions.locks.applock import APP_LOCK_DOCUMENT

    return APP_LOCK_DOCUMENT.dumps(lock)


def write_lock(lock: Lock | AppLock, path: str, *, make_dirs: bool = True) -> str:
    """Write ``lock`` to ``path`` atomically (a temporary file renamed over it).

    Raises :class:`LockFileError` when the directory cannot be written, or does not exist
    and ``make_dirs`` is false (the CLI's ``--lock``: an output file's directory must exist).
    """
    import contextlib
    import tempfile

    path = os.path.abspath(path)
    text = lock_text(lock)
    directory = os.path.dirname(path)
    try:
        if make_dirs:
            os.makedirs(directory, exist_ok=True)
        elif not os.path.isdir(directory):
            raise LockFileError(path, f"cannot write: {directory} is not a directory")
        fd, staging = tempfile.mkstemp(prefix=".lock-", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise LockFileError(path, f"cannot write: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(staging, 0o644)
        os.replace(staging, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(staging)
        raise LockFileError(path, f"cannot write: {exc.strerror or exc}") from exc
    return path


def read_lock(path: str) -> Lock | AppLock:
    """Read and parse a lock (a binary's or an app tree's); raises :class:`LockFileError`
    saying what is wrong."""
    try:
        with open(path, encoding="utf-8") as stream:
            text = stream.read(64 * 1024 * 1024 + 1)
    except FileNotFoundError as exc:
        raise LockFileError(path, "does not exist") from exc
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else str(exc)
        raise LockFileError(path, f"cannot be read: {reason}") from exc
    try:
        return _load(parse_json(text))
    except SchemaError as exc:
        raise LockFileError(path, str(exc)) from None


def parse_lock(document: object, source: str = "<document>") -> Lock | AppLock:
    """A lock from its parsed JSON document; raises :class:`LockFileError` naming ``source``."""
    try:
        return _load(document)
    except SchemaError as exc:
        raise LockFileError(source, str(exc)) from None


def _load(document: Any) -> Lock | AppLock:
    schema = document.get("schema") if isinstance(document, dict) else None
    if isinstance(document, dict) and schema not in (LOCK_DOCUMENT.schema, APP_LOCK_SCHEMA):
        raise SchemaError(
            f"has schema {schema!r}, this autopatchelf reads {LOCK_DOCUMENT.schema!r} "
            f"(a binary's lock) and {APP_LOCK_SCHEMA!r} (an app tree's)"
        )
    if schema == APP_LOCK_SCHEMA:
        from autopatchelf.actions.locks.applock import APP_LOCK_DOCUMENT

        app = APP_LOCK_DOCUMENT.load(document)
        escaping = app.escaping()
        if escaping:
            raise SchemaError(f"{escaping[0]} leaves the app tree")
        return app
    return LOCK_DOCUMENT.load(document)
