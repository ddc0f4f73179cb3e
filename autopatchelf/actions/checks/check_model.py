"""What ``check`` reports: one frozen record per ELF file, and the report around them.

Problem kinds are the resolver's diagnosis kinds plus check's own
(:class:`~autopatchelf.solution.diagnosis.ProblemKind`, described by ``KIND_INFO``).
"""

from __future__ import annotations

import enum

import attrs

from autopatchelf.frozen import Record
from autopatchelf.solution.diagnosis import KIND_INFO, KindInfo, ProblemKind
from autopatchelf.solution.model import Solution

__all__ = [
    "KIND_INFO",
    "BaselineKey",
    "BinaryCheck",
    "CheckProblem",
    "CheckReport",
    "CheckRoot",
    "KindInfo",
    "ProblemKind",
    "Role",
    "Status",
    "problem_key",
]


class Role(enum.Enum):
    """What an ELF file is, as far as ``check`` is concerned."""

    #: A dynamic executable: solved as a root (with the libraries it bundles).
    EXECUTABLE = "executable"
    #: A shared library: solved with the app that loads it, or on its own.
    LIBRARY = "library"
    #: Needs no library (static executable, self-contained object): nothing to resolve.
    STATIC = "static"
    #: Not loadable (relocatable object, core dump...): not checked.
    OTHER = "other"
    #: Starts like an ELF file but cannot be read.
    UNREADABLE = "unreadable"


class Status(enum.Enum):
    OK = "ok"
    #: At least one problem the baseline does not know.
    FAILED = "failed"
    #: Only problems the baseline knows.
    KNOWN = "known"
    #: Not checked (not a loadable object).
    SKIPPED = "skipped"
    #: Solvable, but only with store paths a binary cache must provide first.
    DOWNLOADS = "downloads"


@attrs.frozen(repr=False)
class CheckProblem(Record):
    """One reason a binary would not run."""

    kind: ProblemKind
    #: What the problem is about, stable across store updates (a soname, a version,
    #: ``libfoo.so.1:FOO_3.0``...): part of the baseline key.
    subject: str
    #: One line for humans.
    message: str
    #: The resolver's explanation, line by line (empty for unreadable files).
    details: tuple[str, ...] = attrs.field(default=(), metadata={"key": "explanation"})
    #: The file whose need fails (relative to its root) when that is not the binary
    #: itself (a bundled library of the app), else ``None``.
    needed_by: str | None = None
    #: Listed in the baseline: reported, but does not fail the check.
    known: bool = False


@attrs.frozen(repr=False)
class CheckRoot(Record):
    """One PATH given to ``check``: reported paths are relative to ``base``."""

    #: The path as given (normalised), for reports.
    given: str
    #: The absolute directory reported paths are relative to (the PATH itself, or the
    #: directory of a PATH that is a file).
    base: str


@attrs.frozen(repr=False)
class BinaryCheck(Record):
    """The verdict on one ELF file."""

    #: Index into ``CheckReport.roots``.
    root: int
    #: Relative to the root's base, with ``/`` separators.
    path: str
    #: Absolute path, as walked.
    file: str
    role: Role
    problems: tuple[CheckProblem, ...] = ()
    #: The app (relative path of its first program) this file was solved with, when
    #: that is not the file alone.
    app: str | None = None
    #: For resolved binaries: the glibc store path, its loader, every store path needed.
    glibc: str | None = None
    interpreter: str | None = None
    store_paths: tuple[str, ...] = ()
    #: Those of ``store_paths`` a binary cache must provide, and their download size.
    downloads: tuple[str, ...] = ()
    download_bytes: int = 0
    warnings: tuple[str, ...] = ()
    #: Why the file needs no solving (static, not loadable), for humans.
    note: str | None = None
    #: The solution the verdict rests on (``None`` unless resolved).
    solution: Solution | None = attrs.field(default=None, eq=False, repr=False)

    @property
    def status(self) -> Status:
        if self.role is Role.OTHER:
            return Status.SKIPPED
        if any(not p.known for p in self.problems):
            return Status.FAILED
        if self.problems:
            return Status.KNOWN
        if self.downloads:
            return Status.DOWNLOADS
        return Status.OK

    @property
    def new_problems(self) -> tuple[CheckProblem, ...]:
        return tuple(p for p in self.problems if not p.known)


@attrs.frozen(repr=False)
class BaselineKey(Record):
    """What identifies a known problem: no line numbers, no store hashes."""

    path: str
    kind: str
    subject: str


def problem_key(binary: BinaryCheck, problem: CheckProblem) -> BaselineKey:
    return BaselineKey(binary.path, problem.kind.value, problem.subject)


@attrs.frozen(repr=False)
class CheckReport(Record):
    roots: tuple[CheckRoot, ...]
    #: Every ELF file found, by root then path.
    binaries: tuple[BinaryCheck, ...]
    #: Apps solved (groups of programs sharing bundled libraries, and library roots).
    apps: int
    #: Regular files that are not ELF (ignored), unreadable files, and symlinks or hard
    #: links to files already found (skipped).
    non_elf: int = 0
    unreadable: int = 0
    duplicates: int = 0
    store_dir: str = ""
    jobs: int = 1
    seconds: float = 0.0
    #: The baseline applied, if any, and its entries no problem matched any more.
    baseline: str | None = None
    stale: tuple[BaselineKey, ...] = ()
    #: Files that could not be read and directories that could not be listed, with why.
    unreadable_paths: tuple[tuple[str, str], ...] = ()
    #: Whether those count as passing (``--allow-unreadable``).
    allow_unreadable: bool = False
    #: About the run rather than a file (an unusable or rebuilt index cache).
    warnings: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        """No binary has a problem the baseline does not know, and everything could be
        read (unless ``allow_unreadable``): what was not read was not checked."""
        if self.unreadable_paths and not self.allow_unreadable:
            return False
        return not any(b.status is Status.FAILED for b in self.binaries)

    def count(self, status: Status) -> int:
        return sum(1 for b in self.binaries if b.status is status)

    def problems(self) -> list[tuple[BinaryCheck, CheckProblem]]:
        return [(b, p) for b in self.binaries for p in b.problems]
