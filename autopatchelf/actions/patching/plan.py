"""What ``patch`` will change, decided before anything is written.

:func:`plan_patch` turns a runpath-delivery :class:`~autopatchelf.solution.model.Solution`
into one :class:`FileEdit` per foreign object (the roots and their bundled libraries):
the object's patchable state now (:class:`ElfState`) and the state it must have after
patching. Applying (:mod:`autopatchelf.actions.patching.patch`) makes the file match ``after`` and
checks it does; a dry run only shows :meth:`FileEdit.changes`. An object whose state
already matches is left alone, so patching twice changes nothing.

The new state of an object:

* PT_INTERP: the chosen glibc's loader (objects that have an interpreter only);
* DT_RUNPATH: the object's own ``$ORIGIN`` entries, raw and in order (from its RUNPATH,
  else its RPATH: they still find bundled libraries), then the solution's RUNPATH
  directories (or the link directory); DT_RPATH is removed (ld.so ignores it next to a
  RUNPATH anyway, and it would be inherited by everything the object loads);
* DT_NEEDED and the ``.gnu.version_r`` file names: renamed by the solution's
  substitutions (``libfoo.so.1`` -> ``libfoo.so.2``), both or ld.so aborts.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Sequence

import attrs

from autopatchelf.actions.linkdir import link_entries
from autopatchelf.elf.facts import ElfFacts
from autopatchelf.errors import PatchError
from autopatchelf.frozen import Record
from autopatchelf.ldso.search import own_entries
from autopatchelf.nix.dirs import nix_store_dir
from autopatchelf.options import Delivery
from autopatchelf.solution.model import Solution

#: The file capability attribute: privileges like setuid's.
CAPABILITY_XATTR = "security.capability"
_SET_ID_BITS = ((stat.S_ISUID, "setuid"), (stat.S_ISGID, "setgid"))


@attrs.frozen(repr=False)
class ElfState(Record):
    """The parts of an ELF object ``patch`` may change."""

    interpreter: str | None
    #: Raw DT_RPATH / DT_RUNPATH strings (None: no such entry).
    rpath: str | None
    runpath: str | None
    needed: tuple[str, ...]
    #: The file names of the ``.gnu.version_r`` entries, in table order.
    verneed: tuple[str, ...]

    @classmethod
    def of(cls, facts: ElfFacts) -> ElfState:
        return cls(
            interpreter=facts.interpreter,
            rpath=facts.rpath,
            runpath=facts.runpath,
            needed=facts.needed,
            verneed=tuple(need.file for need in facts.version_needs),
        )


@attrs.frozen(repr=False)
class Change(Record):
    """One value that changes: ``what`` is ``interpreter``, ``rpath``, ``runpath``,
    ``needed[i]`` or ``verneed[i]``; None means "absent"."""

    what: str
    old: str | None
    new: str | None

    def text(self) -> str:
        return f"{self.what}: {_shown(self.old)} -> {_shown(self.new)}"


@attrs.frozen(repr=False)
class FileEdit(Record):
    """One file: its state when planned and the state patching gives it."""

    path: str
    before: ElfState
    after: ElfState

    @property
    def changed(self) -> bool:
        return self.before != self.after

    @property
    def changes(self) -> tuple[Change, ...]:
        return tuple(_diff(self.before, self.after))


@attrs.frozen(repr=False)
class PatchPlan(Record):
    """Every edit of one ``patch`` run, applied together by :func:`apply_plan`."""

    #: One edit per foreign object of the solution (unchanged ones included), roots first.
    edits: tuple[FileEdit, ...]
    solution: Solution
    #: The directory of links to create (when the solution needs one), else None.
    link_dir: str | None
    #: setuid/setgid files and files with capabilities may be patched.
    force: bool = False
    #: Files found in the given directories and left out, with the reason.
    skipped: tuple[tuple[str, str], ...] = ()

    @property
    def changed(self) -> tuple[FileEdit, ...]:
        return tuple(e for e in self.edits if e.changed)


def plan_patch(
    solution: Solution,
    files: Sequence[str],
    *,
    store_dir: str | None = None,
    link_dir: str | None = None,
    force: bool = False,
    skipped: Sequence[tuple[str, str]] = (),
) -> PatchPlan:
    """Plan the edits that make the foreign objects of ``solution`` load what it chose.

    ``files`` are the files and directories the user named: every file that needs a
    change must be one of them or lie inside one. Raises :class:`PatchError` when an
    object to change lies outside them or in the store, is setuid/setgid (unless
    ``force``), or when the solution needs a link directory and ``link_dir`` is None.
    """
    if solution.delivery is not Delivery.RUNPATH:
        raise PatchError(
            f"the solution was made for {solution.delivery.value} delivery, not runpath",
            hint="solve with SolveOptions(delivery=Delivery.RUNPATH) to patch",
        )
    scope = tuple(os.path.realpath(f) for f in files)
    links: str | None = None
    if solution.needs_link_dir:
        if link_dir is None:
            raise PatchError(
                "no RUNPATH order lets ld.so find every chosen library under its own name",
                hint="pass --link-dir DIR: a directory of links to exactly the chosen "
                "files, which the patched RUNPATH then names",
            )
        links = os.path.abspath(link_dir)
        store = store_holding(links, store_dir)
        if store is not None:
            raise PatchError(f"{link_dir}: the link directory cannot be in the store {store}")
        search: tuple[str, ...] = (links,)
    else:
        search = solution.runpath
    edits = []
    for path in _foreign_objects(solution):
        facts = ElfFacts.read(path)
        edit = FileEdit(path, ElfState.of(facts), _target_state(facts, solution, search))
        if edit.changed:
            store = store_holding(path, store_dir)
            if store is not None:
                raise PatchError(
                    f"{path} is in the read-only store {store}; store files are never patched",
                    hint="copy the app out of the store and patch the copy",
                )
            if not any(inside(os.path.realpath(path), s) for s in scope):
                raise PatchError(
                    f"{path} must be patched too, but it is not among the given files",
                    hint="name it, or the app's whole directory, on the command line",
                )
            if not force:
                check_privileges(path)
        edits.append(edit)
    return PatchPlan(tuple(edits), solution, links, force, tuple(skipped))


def check_privileges(path: str) -> None:
    """Refuse setuid/setgid files and files with capabilities (``--force`` skips this)."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise PatchError(f"{path}: cannot read it ({exc.strerror})") from None
    what = [f"is {name}" for bit, name in _SET_ID_BITS if mode & bit]
    if _has_capabilities(path):
        what.append("has file capabilities")
    if what:
        raise PatchError(
            f"{path} {' and '.join(what)}; refusing to patch it",
            hint="check it is what you mean to change, then pass --force",
        )


def _has_capabilities(path: str) -> bool:
    try:
        return CAPABILITY_XATTR in os.listxattr(path)
    except OSError:  # no xattr support on this file system
        return False


def _foreign_objects(solution: Solution) -> Iterator[str]:
    """Roots, then bundled libraries, each once."""
    seen: set[str] = set()
    for root in solution.roots:
        if root.root not in seen:
            seen.add(root.root)
            yield root.root
    for root in solution.roots:
        for lib in root.libraries:
            if lib.store_path is None and lib.path not in seen:
                seen.add(lib.path)
                yield lib.path


def _target_state(facts: ElfFacts, solution: Solution, search: tuple[str, ...]) -> ElfState:
    subs = solution.substitutions
    interpreter = facts.interpreter
    if interpreter is not None and solution.interpreter is not None:
        interpreter = solution.interpreter
    rpath, runpath = facts.rpath, facts.runpath
    if facts.needed:  # an object that needs nothing keeps its (unused) search path
        entries = list(dict.fromkeys(e.raw for e in own_entries(facts) if e.origin_relative))
        entries.extend(d for d in search if d not in entries)
        rpath, runpath = None, (":".join(entries) or None)
    return ElfState(
        interpreter=interpreter,
        rpath=rpath,
        runpath=runpath,
        needed=tuple(subs.get(n, n) for n in facts.needed),
        verneed=tuple(subs.get(need.file, need.file) for need in facts.version_needs),
    )


def _diff(before: ElfState, after: ElfState) -> Iterator[Change]:
    for what in ("interpreter", "rpath", "runpath"):
        old, new = getattr(before, what), getattr(after, what)
        if old != new:
            yield Change(what, old, new)
    for what in ("needed", "verneed"):
        olds, news = getattr(before, what), getattr(after, what)
        for i, (old, new) in enumerate(zip(olds, news, strict=True)):
            if old != new:
                yield Change(f"{what}[{i}]", old, new)


def store_holding(path: str, store_dir: str | None) -> str | None:
    """The store directory ``path`` lies in (``store_dir``, and Nix's own store: both are
    read-only), or None."""
    real = os.path.realpath(path)
    stores = (store_dir or nix_store_dir(), nix_store_dir())
    for store in dict.fromkeys(os.path.realpath(d) for d in stores):
        if inside(real, store):
            return store
    return None


def inside(path: str, directory: str) -> bool:
    """Is ``path`` ``directory`` itself or below it? (Both already real paths.)"""
    return path == directory or path.startswith(directory.rstrip("/") + "/")


def _shown(value: str | None) -> str:
    if value is None:
        return "(none)"
    return value if value else "''"


def render_plan(plan: PatchPlan) -> str:
    """What applying ``plan`` would change, one ``old -> new`` line per value."""
    lines: list[str] = []
    for edit in plan.edits:
        if not edit.changed:
            lines.append(f"unchanged {edit.path}")
            continue
        lines.append(f"would patch {edit.path}")
        lines.extend(f"  {c.text()}" for c in edit.changes)
    if plan.link_dir is not None:
        count = len(link_entries(plan.solution))
        lines.append(f"would make {plan.link_dir}: {count} links to the chosen files")
    lines.extend(f"skipped {path}: {reason}" for path, reason in plan.skipped)
    return "\n".join(lines) + "\n"
