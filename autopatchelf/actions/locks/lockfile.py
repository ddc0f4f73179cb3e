"""Reading and writing lock files (atomically; every problem one :class:`LockFileError`)."""

from __future__ import annotations

import os

from autopatchelf.actions.locks.lock import LOCK_DOCUMENT, Lock
from autopatchelf.errors import LockFileError
from autopatchelf.schema import SchemaError


def write_lock(lock: Lock, path: str, *, make_dirs: bool = True) -> str:
    """Write ``lock`` to ``path`` atomically (a temporary file renamed over it).

    Raises :class:`LockFileError` when the directory cannot be written, or does not exist
    and ``make_dirs`` is false (the CLI's ``--lock``: an output file's directory must exist).
    """
    import contextlib
    import tempfile

    path = os.path.abspath(path)
    text = LOCK_DOCUMENT.dumps(lock)
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


def read_lock(path: str) -> Lock:
    """Read and parse a lock; raises :class:`LockFileError` saying what is wrong."""
    try:
        with open(path, encoding="utf-8") as stream:
            text = stream.read(64 * 1024 * 1024 + 1)
    except FileNotFoundError as exc:
        raise LockFileError(path, "does not exist") from exc
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else str(exc)
        raise LockFileError(path, f"cannot be read: {reason}") from exc
    try:
        return LOCK_DOCUMENT.loads(text)
    except SchemaError as exc:
        raise LockFileError(path, str(exc)) from None


def parse_lock(document: object, source: str = "<document>") -> Lock:
    """A lock from its parsed JSON document; raises :class:`LockFileError` naming ``source``."""
    try:
        return LOCK_DOCUMENT.load(document)
    except SchemaError as exc:
        raise LockFileError(source, str(exc)) from None
