"""Every exception autopatchelf raises on purpose, and the exit code the CLI maps it to.

Every error the user can cause carries a one-line ``reason`` and, where one helps, a
``hint``. The library never prints or exits; :mod:`autopatchelf.cli` turns these into one
line on stderr and the class's ``exit_code`` (docs/cli.rst lists
them). Anything else escaping the library is a bug (exit 70).
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from autopatchelf.solution.explain import Explanation


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


# -- input -------------------------------------------------------------------------------


class ElfError(AutopatchelfError, ValueError):
    """A file is not an ELF object we can read (bad magic, truncated, lying offsets...)."""

    def __init__(self, path: str, reason: str, *, hint: str | None = None) -> None:
        super().__init__(f"{path}: {reason}", hint=hint)
        self.path = path
        self.short_reason = reason


class StoreError(AutopatchelfError):
    """The store (or its Nix database, or the index cache) cannot be read as asked."""


class RootError(AutopatchelfError):
    """A root cannot be solved at all (not dynamic, unknown machine, mixed machines)."""


class NothingToSolve(RootError):
    """A file needs no choice at all (statically linked, or not loaded by ld.so): there is
    no solution to lock, run through or patch in. ``why`` says which."""

    def __init__(self, path: str, why: str, *, loadable: bool) -> None:
        super().__init__(f"{path} is {why}")
        self.path = path
        #: Why, as a phrase after "is": ``statically linked: it needs no shared library``.
        self.why = why
        #: A statically linked program starts as it is; a ``.o`` does not start at all.
        self.loadable = loadable


class CheckInputError(AutopatchelfError):
    """A path given to ``check`` does not exist, or holds nothing to check."""


class BaselineError(AutopatchelfError):
    """A ``check`` baseline file cannot be read or written."""


class OutputError(AutopatchelfError):
    """A report, link directory or other output cannot be written where asked."""


# -- solving -----------------------------------------------------------------------------


class Unsatisfiable(AutopatchelfError):
    """No choice of providers satisfies every hard constraint.

    ``explanation`` carries the minimal conflict and its diagnosis as data
    (:class:`~autopatchelf.solution.explain.Explanation`); the message is its conclusion.
    """

    exit_code = ExitCode.UNSATISFIABLE

    def __init__(self, explanation: Explanation) -> None:
        super().__init__(explanation.conclusion, hint=explanation.hint)
        self.explanation = explanation


class PredictionError(AutopatchelfError):
    """The replayed load order disagrees with the solver's choice (a bug)."""

    exit_code = ExitCode.INTERNAL


# -- locks -------------------------------------------------------------------------------


class LockFileError(AutopatchelfError):
    """A lock file cannot be read (missing, malformed JSON, wrong schema) or written."""

    def __init__(self, path: str, reason: str, *, hint: str | None = None) -> None:
        super().__init__(f"lock {path}: {reason}", hint=hint)
        self.path = path
        self.short_reason = reason


class UsageError(AutopatchelfError):
    """Options that cannot work together (``patch --no-realise``...)."""


class LockUsageError(AutopatchelfError):
    """``--lock``/``--frozen`` asked for in a way that cannot work (several files...)."""


class StaleLockError(AutopatchelfError):
    """``--frozen`` was asked for, but no valid lock exists for the binary."""

    def __init__(self, binary: str, reason: str) -> None:
        super().__init__(
            f"{binary}: {reason}",
            hint="run without --frozen to re-solve and rewrite the lock",
        )
        self.binary = binary


# -- actions -----------------------------------------------------------------------------


class PatchError(AutopatchelfError):
    """A file cannot (or must not) be patched as asked."""


class GcRootError(AutopatchelfError):
    """A GC root cannot be registered (no Nix, a path outside its store, not realisable)."""


class RunError(AutopatchelfError):
    """A program cannot be started as asked (not a program, a loader missing...)."""


# -- binary caches, nix-index, store-path lists (autopatchelf.remote) ----------------------


class RemoteError(AutopatchelfError):
    """Base of every error raised by :mod:`autopatchelf.remote`."""


class FetchError(RemoteError):
    """A cache file could not be fetched (network failure, timeout, HTTP error, too big)."""

    def __init__(
        self, url: str, reason: str, *, status: int | None = None, hint: str | None = None
    ) -> None:
        super().__init__(f"{url}: {reason}", hint=hint)
        self.url = url
        self.status = status


class NotFoundError(FetchError):
    """The cache does not have this file (HTTP 404/410, or no such file in a file:// cache)."""


class NarInfoError(RemoteError):
    """A ``.narinfo`` or ``nix-cache-info`` file is malformed or fails validation."""


class SignatureError(RemoteError):
    """A public key or a signature is malformed (not: a signature that does not verify)."""


class CompressionError(RemoteError):
    """A compressed stream is corrupt, truncated, too big, or uses an unsupported method."""


class IntegrityError(RemoteError):
    """Bytes do not match the hash or size a narinfo promised (FileHash/NarHash...)."""


class NarError(RemoteError):
    """A NAR (Nix archive) stream is malformed, or exceeds a limit."""

    def __init__(self, source: str, offset: int, reason: str) -> None:
        super().__init__(f"{source}: invalid NAR at byte {offset}: {reason}")
        self.source = source
        self.offset = offset


class ListingError(RemoteError):
    """A ``.ls`` NAR listing is malformed or exceeds a limit."""


class NixIndexError(RemoteError):
    """A nix-index ``files`` database is malformed, of another version, or exceeds a limit."""


class StorePathListError(RemoteError):
    """A store-path list (``store-paths.xz``) is malformed or too big."""
