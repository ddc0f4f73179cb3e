"""``patch``: edit foreign ELF files so they load what the solver chose, with no wrapper.

Two steps, so that a dry run shows exactly what a real run writes:

* :func:`plan_files` (or :func:`~autopatchelf.actions.patching.plan.plan_patch` for a solution in
  hand) solves with runpath delivery and plans one edit per foreign object;
* :func:`apply_plan` applies every edit in one pass: each changed file is rewritten in
  memory, written to a temporary file beside it and checked there (all of them first);
  only then are they renamed over the originals. A failure before the renames leaves
  every original as it was and no temporary file behind.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence

import attrs

from autopatchelf.actions.linkdir import ensure_links, link_entries
from autopatchelf.actions.patching import atomic
from autopatchelf.actions.patching.elfedit import Layout, stage_rewrite
from autopatchelf.actions.patching.plan import (
    Change,
    FileEdit,
    PatchPlan,
    check_privileges,
    plan_patch,
)
from autopatchelf.actions.patching.targets import find_targets
from autopatchelf.errors import PatchError
from autopatchelf.frozen import Record
from autopatchelf.index import StoreIndex
from autopatchelf.options import Delivery, SolveOptions
from autopatchelf.progress import Progress


@attrs.frozen(repr=False)
class FileResult(Record):
    path: str
    #: What changed; empty when the file already was as planned (and was not written).
    changes: tuple[Change, ...]
    size_before: int = 0
    size_after: int = 0
    #: How the program header table was placed (None when the file was not written).
    layout: Layout | None = None
    #: The backup made by this run (``FILE.orig``), if any.
    backup: str | None = None
    seconds: float = 0.0
    notes: tuple[str, ...] = ()

    @property
    def patched(self) -> bool:
        return bool(self.changes)


@attrs.frozen(repr=False)
class PatchReport(Record):
    results: tuple[FileResult, ...]
    #: The link directory made (or found already right), if the solution needs one.
    link_dir: str | None = None
    #: (path, reason) for files found in the directories and left out.
    skipped: tuple[tuple[str, str], ...] = ()

    @property
    def patched(self) -> tuple[FileResult, ...]:
        return tuple(r for r in self.results if r.patched)


def plan_files(
    paths: Sequence[str],
    options: SolveOptions | None = None,
    *,
    index: StoreIndex | None = None,
    link_dir: str | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> PatchPlan:
    """Find the ELF files of ``paths`` (files, or app directories searched for programs
    and libraries), solve them as one set with runpath delivery and plan the edits.

    ``options`` (and ``index``, ``progress``) go to :func:`autopatchelf.solve`, with
    runpath delivery; raises :class:`~autopatchelf.errors.Unsatisfiable` when there is no solution.
    """
    from autopatchelf._api import solve

    options = attrs.evolve(options or SolveOptions(), delivery=Delivery.RUNPATH)
    store = options.store
    targets = find_targets(paths, store_dir=store)
    solution = solve(list(targets.roots), options, index=index, progress=progress)
    return plan_patch(
        solution, paths, store_dir=store, link_dir=link_dir, force=force, skipped=targets.skipped
    )


def apply_plan(plan: PatchPlan, *, backup: bool = False) -> PatchReport:
    """Apply every edit of ``plan``; files already as planned are not touched (but the
    temporary files a killed earlier patch left beside them are removed)."""
    staged: list[tuple[FileEdit, str, FileResult]] = []
    results: dict[str, FileResult] = {}
    try:
        for edit in plan.edits:
            if not edit.changed:
                atomic.clean_stale(edit.path)
                results[edit.path] = FileResult(edit.path, ())
                continue
            started = time.perf_counter()
            temp, result = _stage(edit, force=plan.force)
            staged.append((edit, temp, attrs.evolve(result, seconds=time.perf_counter() - started)))
        link_dir = _ensure_link_dir(plan)
    except BaseException:
        for _edit, temp, _result in staged:
            atomic.discard(temp)
        raise
    for i, (edit, temp, result) in enumerate(staged):
        try:
            made = atomic.commit(temp, edit.path, backup=backup)
        except PatchError as exc:
            for _edit, later, _result in staged[i + 1 :]:
                atomic.discard(later)
            done = [r.path for r in results.values() if r.patched]
            raise PatchError(
                f"{exc.reason}; already patched: {', '.join(done) or 'none'}", hint=exc.hint
            ) from None
        results[edit.path] = attrs.evolve(result, backup=made)
    return PatchReport(tuple(results[e.path] for e in plan.edits), link_dir, plan.skipped)


def _stage(edit: FileEdit, *, force: bool) -> tuple[str, FileResult]:
    """Rewrite one file into a checked temporary file beside it."""
    path = edit.path
    try:
        original = os.stat(path)
    except OSError as exc:
        raise PatchError(f"{path}: cannot read it ({exc.strerror})") from None
    if not force:
        check_privileges(path)
    staged = stage_rewrite(path, edit.before, edit.after, original)
    notes = []
    if original.st_nlink > 1:
        notes.append(f"its {original.st_nlink - 1} other hard link(s) keep the old content")
    result = FileResult(
        path,
        edit.changes,
        size_before=original.st_size,
        size_after=staged.size,
        layout=staged.layout,
        notes=tuple(notes),
    )
    return staged.temp, result


def _ensure_link_dir(plan: PatchPlan) -> str | None:
    """Make the plan's link directory, unless it already holds exactly the right links."""
    if plan.link_dir is None:
        return None
    return ensure_links(link_entries(plan.solution), plan.link_dir)


def render_report(report: PatchReport) -> str:
    """One line per file (``patched``/``unchanged``), the changes under each patched one."""
    lines: list[str] = []
    for result in report.results:
        if not result.patched:
            lines.append(f"unchanged {result.path}")
            continue
        grown = result.size_after - result.size_before
        lines.append(f"patched {result.path} ({grown:+d} bytes)")
        lines.extend(f"  {c.text()}" for c in result.changes)
        if result.backup is not None:
            lines.append(f"  backup: {result.backup}")
        lines.extend(f"  note: {note}" for note in result.notes)
    if report.link_dir is not None:
        lines.append(f"link directory: {report.link_dir}")
    lines.extend(f"skipped {path}: {reason}" for path, reason in report.skipped)
    return "\n".join(lines) + "\n"
