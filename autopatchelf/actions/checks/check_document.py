"""The ``autopatchelf.check/1`` document (``check --format json``), as records.

The document is a view of a :class:`~autopatchelf.CheckReport`: paths relative to their
checked root, each binary's status, the counts a CI summary shows. Written and read by
the one codec (:mod:`autopatchelf.schema`), so tools can load a report back
(``CHECK_DOCUMENT.loads(text)``).
"""

from __future__ import annotations

import attrs

from autopatchelf.actions.checks.check_model import (
    BaselineKey,
    BinaryCheck,
    CheckProblem,
    CheckReport,
    Role,
    Status,
)
from autopatchelf.frozen import Record
from autopatchelf.schema import Document

CHECK_SCHEMA = "autopatchelf.check/1"


@attrs.frozen(repr=False)
class ToolInfo(Record):
    name: str
    version: str


@attrs.frozen(repr=False)
class RootInfo(Record):
    #: The PATH as given, and the directory reported paths are relative to.
    path: str
    base: str


@attrs.frozen(repr=False)
class Summary(Record):
    files: int
    apps: int
    ok: int
    failed: int
    known: int
    skipped: int
    problems: int
    new_problems: int
    non_elf: int
    unreadable: int
    duplicates: int
    #: Solvable only with downloads from binary caches.
    downloads: int = 0


@attrs.frozen(repr=False)
class BinaryEntry(Record):
    """One ELF file's verdict."""

    #: The PATH (as given) it was found under, and its path relative to that root.
    root: str
    path: str
    role: Role
    status: Status
    app: str | None
    glibc: str | None
    interpreter: str | None
    store_paths: tuple[str, ...]
    warnings: tuple[str, ...]
    note: str | None
    problems: tuple[CheckProblem, ...]
    #: Store paths a binary cache must provide for it, and their download size.
    downloads: tuple[str, ...] = ()
    download_bytes: int = 0


@attrs.frozen(repr=False)
class Unreadable(Record):
    path: str
    reason: str


@attrs.frozen(repr=False)
class BaselineInfo(Record):
    #: The baseline file applied, and its entries no problem matched any more.
    file: str
    stale: tuple[BaselineKey, ...]


@attrs.frozen(kw_only=True, repr=False)
class CheckDocument(Record):
    tool: ToolInfo
    passed: bool
    store: str
    roots: tuple[RootInfo, ...]
    summary: Summary
    binaries: tuple[BinaryEntry, ...]
    baseline: BaselineInfo | None
    #: Files that could not be read and directories that could not be listed, with why.
    unreadable: tuple[Unreadable, ...] = ()
    #: About the run rather than a file (an unusable or rebuilt index cache).
    warnings: tuple[str, ...] = ()

    @classmethod
    def of(cls, report: CheckReport) -> CheckDocument:
        from autopatchelf import __version__

        return cls(
            tool=ToolInfo("autopatchelf", __version__),
            passed=report.passed,
            store=report.store_dir,
            roots=tuple(RootInfo(r.given, r.base) for r in report.roots),
            summary=Summary(
                files=len(report.binaries),
                apps=report.apps,
                ok=report.count(Status.OK),
                failed=report.count(Status.FAILED),
                known=report.count(Status.KNOWN),
                skipped=report.count(Status.SKIPPED),
                problems=sum(len(b.problems) for b in report.binaries),
                new_problems=sum(len(b.new_problems) for b in report.binaries),
                non_elf=report.non_elf,
                unreadable=report.unreadable,
                duplicates=report.duplicates,
                downloads=report.count(Status.DOWNLOADS),
            ),
            binaries=tuple(_entry(report, b) for b in report.binaries),
            baseline=None
            if report.baseline is None
            else BaselineInfo(report.baseline, report.stale),
            unreadable=tuple(Unreadable(path, why) for path, why in report.unreadable_paths),
            warnings=report.warnings,
        )


def _entry(report: CheckReport, binary: BinaryCheck) -> BinaryEntry:
    return BinaryEntry(
        root=report.roots[binary.root].given,
        path=binary.path,
        role=binary.role,
        status=binary.status,
        app=binary.app,
        glibc=binary.glibc,
        interpreter=binary.interpreter,
        store_paths=binary.store_paths,
        warnings=binary.warnings,
        note=binary.note,
        problems=binary.problems,
        downloads=binary.downloads,
        download_bytes=binary.download_bytes,
    )


#: The ``autopatchelf.check/1`` document.
CHECK_DOCUMENT = Document(CHECK_SCHEMA, CheckDocument)
