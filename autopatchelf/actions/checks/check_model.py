"""What ``check`` reports: one frozen record per ELF file, and the report around them.

Problem kinds are stable strings (they are JSON values, SARIF rule ids and baseline keys);
:data:`KIND_INFO` describes each for humans and for SARIF's rule catalogue.
"""

from __future__ import annotations

import enum

import attrs

from autopatchelf.solution.model import Solution


class ProblemKind(enum.Enum):
    """Why a binary would not run on NixOS (or cannot be checked)."""

    MISSING_LIBRARY = "missing-library"
    GLIBC_TOO_NEW = "glibc-too-new"
    MISSING_VERSION = "missing-version"
    MISSING_SYMBOL = "missing-symbol"
    DIAMOND = "diamond"
    GLIBC_CONFLICT = "glibc-conflict"
    WRONG_ARCHITECTURE = "wrong-architecture"
    NO_LOADER = "no-loader"
    APP_CONFLICT = "app-conflict"
    UNSOLVABLE = "unsolvable"
    UNREADABLE_ELF = "unreadable-elf"
    RESOLVER_ERROR = "resolver-error"


@attrs.frozen
class KindInfo:
    #: A CamelCase name (SARIF ``reportingDescriptor.name``).
    name: str
    short: str
    full: str
    help: str


KIND_INFO: dict[ProblemKind, KindInfo] = {
    ProblemKind.MISSING_LIBRARY: KindInfo(
        "MissingLibrary",
        "A needed library is in no store path",
        "The binary needs a shared library (DT_NEEDED soname) that no file in the store "
        "(or the --within closures) provides.",
        "Add a package providing it to the store or --within, bundle it, or accept it "
        "with --allow-missing if the program never loads it.",
    ),
    ProblemKind.GLIBC_TOO_NEW: KindInfo(
        "GlibcTooNew",
        "Needs a newer glibc than the store has",
        "The binary requires a GLIBC_x.y symbol version that every glibc in the store "
        "lacks: it was built against a newer glibc (`version GLIBC_x.y not found`).",
        "Use a build made against an older glibc (manylinux, an older distribution), or "
        "add a newer glibc to the store or --within.",
    ),
    ProblemKind.MISSING_VERSION: KindInfo(
        "MissingVersion",
        "No candidate defines a needed symbol version",
        "The binary requires a symbol version (DT_VERNEED) of a library that no "
        "candidate in the store defines.",
        "Provide the library version the binary was built against.",
    ),
    ProblemKind.MISSING_SYMBOL: KindInfo(
        "MissingSymbol",
        "No candidate exports a needed versioned symbol",
        "The binary imports a versioned symbol that no candidate library exports.",
        "Provide the library version the binary was built against.",
    ),
    ProblemKind.DIAMOND: KindInfo(
        "Diamond",
        "Two copies of one library would be loaded",
        "The only providers of the libraries the binary needs bring different files for "
        "one soname through their closures; ld.so loads only one (a diamond).",
        "Add builds of these libraries that share the dependency, or bundle one.",
    ),
    ProblemKind.GLIBC_CONFLICT: KindInfo(
        "GlibcConflict",
        "No single glibc fits every library",
        "The libraries the binary needs come from closures built against different "
        "glibcs; a process loads exactly one.",
        "Try --glibc compatible, or add builds of these libraries against one glibc.",
    ),
    ProblemKind.WRONG_ARCHITECTURE: KindInfo(
        "WrongArchitecture",
        "No library in the store is for this architecture",
        "The binary is for a machine or ELF class (e.g. 32-bit i386) the store has no "
        "libraries for.",
        "Add libraries for that architecture (e.g. pkgsi686Linux) or ship a build for "
        "the store's architecture.",
    ),
    ProblemKind.NO_LOADER: KindInfo(
        "NoLoader",
        "The glibc ships no loader for this machine",
        "Every glibc that could serve the binary lacks the dynamic loader for its machine.",
        "Add a complete glibc for this machine.",
    ),
    ProblemKind.APP_CONFLICT: KindInfo(
        "AppConflict",
        "The programs of one app cannot share one solution",
        "Each program resolves alone, but the programs that share bundled libraries "
        "cannot all be served by one choice of providers.",
        "Check the app's bundled libraries; try --glibc compatible.",
    ),
    ProblemKind.UNSOLVABLE: KindInfo(
        "Unsolvable",
        "The needed libraries cannot all be loaded together",
        "No choice of store providers satisfies every requirement of the binary.",
        "Read the explanation: it names the requirements that conflict.",
    ),
    ProblemKind.UNREADABLE_ELF: KindInfo(
        "UnreadableElf",
        "A malformed or truncated ELF file",
        "The file starts with the ELF magic but cannot be read as an ELF object.",
        "Re-fetch or rebuild the file; remove it if it is not meant to be shipped.",
    ),
    ProblemKind.RESOLVER_ERROR: KindInfo(
        "ResolverError",
        "The resolver could not check this binary",
        "An error inside autopatchelf or the store stopped the check of this binary.",
        "Please report it, with the binary if you can share it.",
    ),
}


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


@attrs.frozen
class CheckProblem:
    """One reason a binary would not run."""

    kind: ProblemKind
    #: What the problem is about, stable across store updates (a soname, a version,
    #: ``libfoo.so.1:FOO_3.0``...): part of the baseline key.
    subject: str
    #: One line for humans.
    message: str
    #: The resolver's explanation, line by line (empty for unreadable files).
    details: tuple[str, ...] = ()
    #: The file whose need fails (relative to its root) when that is not the binary
    #: itself (a bundled library of the app), else ``None``.
    needed_by: str | None = None
    #: Listed in the baseline: reported, but does not fail the check.
    known: bool = False


@attrs.frozen
class CheckRoot:
    """One PATH given to ``check``: reported paths are relative to ``base``."""

    #: The path as given (normalised), for reports.
    given: str
    #: The absolute directory reported paths are relative to (the PATH itself, or the
    #: directory of a PATH that is a file).
    base: str


@attrs.frozen
class BinaryCheck:
    """The verdict on one ELF file."""

    #: Index into :attr:`CheckReport.roots`.
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
        return Status.OK

    @property
    def new_problems(self) -> tuple[CheckProblem, ...]:
        return tuple(p for p in self.problems if not p.known)


@attrs.frozen
class BaselineKey:
    """What identifies a known problem: no line numbers, no store hashes."""

    path: str
    kind: str
    subject: str


def problem_key(binary: BinaryCheck, problem: CheckProblem) -> BaselineKey:
    return BaselineKey(binary.path, problem.kind.value, problem.subject)


@attrs.frozen
class CheckReport:
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

    @property
    def passed(self) -> bool:
        """No binary has a problem the baseline does not know."""
        return not any(b.status is Status.FAILED for b in self.binaries)

    def count(self, status: Status) -> int:
        return sum(1 for b in self.binaries if b.status is status)

    def problems(self) -> list[tuple[BinaryCheck, CheckProblem]]:
        return [(b, p) for b in self.binaries for p in b.problems]
