"""Exceptions raised by the library, and the exit codes the CLI maps them to.

Every error the user can cause carries a one-line ``reason`` and, where one helps,
a ``hint``. The library never prints or exits; :mod:`autopatchelf.cli` turns these
into a message on stderr and an exit code.
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """Exit codes of ``python -m autopatchelf`` (documented in docs/cli.rst)."""

    OK = 0
    #: ``solve``/``check``: no consistent choice exists (or problems were found).
    UNSATISFIABLE = 1
    #: Bad usage or bad input: unreadable file, malformed ELF, missing store.
    USAGE = 2
    #: An unexpected internal error (a bug: please report it).
    INTERNAL = 70


class AutopatchelfError(Exception):
    """Base of every error autopatchelf raises on purpose."""

    exit_code: ExitCode = ExitCode.USAGE

    def __init__(self, reason: str, *, hint: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.hint = hint

    def __str__(self) -> str:
        return self.reason


class ElfError(AutopatchelfError, ValueError):
    """A file is not an ELF object we can read (bad magic, truncated, lying offsets...)."""

    def __init__(self, path: str, reason: str, *, hint: str | None = None) -> None:
        super().__init__(f"{path}: {reason}", hint=hint)
        self.path = path
        self.short_reason = reason


class StoreError(AutopatchelfError):
    """The store (or its Nix database) cannot be read as asked."""
