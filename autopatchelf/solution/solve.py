"""The resolver pipeline: problem -> encoding -> conflict or optimum -> checked solution."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Mapping, Sequence

from autopatchelf.elf.facts import ElfFacts
from autopatchelf.errors import PredictionError, Unsatisfiable
from autopatchelf.ldso.search import Tag, own_entries
from autopatchelf.options import Delivery, SolveOptions
from autopatchelf.problem.build import build_problem
from autopatchelf.problem.model import Problem
from autopatchelf.problem.source import DiskFiles, ForeignFiles, LibrarySource
from autopatchelf.sat.encode import encode
from autopatchelf.sat.optimize import check, optimise
from autopatchelf.sat.preferences import Preferences, unmatched
from autopatchelf.solution.explain import explain
from autopatchelf.solution.loadorder import (
    LINK_DIR,
    FileView,
    Replay,
    link_entries,
    order_library_path,
    replay,
)
from autopatchelf.solution.model import Alternative, LoadedLibrary, RootSolution, Solution


def solve_problem(
    roots: Sequence[str | ElfFacts],
    source: LibrarySource,
    options: SolveOptions | None = None,
    *,
    in_use: frozenset[str] = frozenset(),
    names: Mapping[str, str] | None = None,
    files: ForeignFiles | None = None,
) -> Solution:
    """Choose a provider for every library ``roots`` load, or raise :class:`Unsatisfiable`.

    ``in_use``: store paths whose closures the system already uses (preferred after pins
    and locks); ``names``: root path -> the name the user gave it, for explanations;
    ``files``: the app's own files (default: the disk).
    (``options.store``/``within``/``cache_dir`` are the source's business, not read here.)
    """
    options = options or SolveOptions()
    delivery = options.delivery
    disk = files or DiskFiles()
    problem = build_problem(
        roots,
        source,
        allow_substitution=options.allow_substitution,
        files=disk,
        glibc_policy=options.glibc,
    )
    allowed = frozenset(
        n
        for n in problem.missing
        if any(fnmatch.fnmatchcase(n, pat) for pat in options.allow_missing)
    )
    prefs = Preferences.of(options, in_use)
    enc = encode(problem, options.glibc, prefs, source.version_of, allowed)
    conflict = check(enc)
    if conflict is not None:
        raise Unsatisfiable(explain(problem, conflict.facts, names=dict(names or {})))
    best = optimise(enc, max_alternatives=options.max_alternatives)
    choices = dict(sorted(best.choices))
    substitutions = {
        name: problem.substitutes[(name, path)]
        for name, path in choices.items()
        if (name, path) in problem.substitutes
    }
    interpreter = problem.glibcs[best.glibc].loader if best.glibc else None
    warnings = [*problem.notes]
    for flag, patterns in (("--prefer", options.prefer), ("--avoid", options.avoid)):
        warnings.extend(
            f"{flag} {pat} matches no candidate provider: it changed nothing"
            for pat in unmatched(patterns, problem.providers.values())
        )
    warnings.extend(
        f"{name} is missing (allowed): the program may fail when it is used"
        for name in sorted(allowed)
    )
    view = FileView(
        source,
        foreign_dirs=frozenset(os.path.dirname(p.path) for p in problem.foreign),
        files=disk,
    )
    first_use = _first_use(problem, choices)
    library_path = order_library_path(choices, view, first_use)
    runpath = _root_runpath(problem, choices, view, first_use, substitutions)
    search = library_path if delivery is Delivery.LIBRARY_PATH else runpath
    replayed, needs_link_dir = _replay_roots(
        problem, choices, interpreter, view, search, allowed, delivery, substitutions
    )
    store_paths: set[str] = set()
    for r in replayed:
        for lib in r.libraries:
            if lib.store_path is not None:
                store_paths.update(problem.closures.get(lib.store_path, {lib.store_path}))
    if best.glibc is not None:
        store_paths.update(problem.closures.get(best.glibc, {best.glibc}))
    warnings.extend(_unversioned_warnings(problem, replayed, view, interpreter))
    downloads = tuple(
        found
        for sp in sorted(store_paths)
        if sp in problem.downloads and (found := source.substitute(sp)) is not None
    )
    return Solution(
        downloads=downloads,
        roots=replayed,
        glibc=best.glibc,
        interpreter=interpreter,
        store_paths=tuple(sorted(store_paths)),
        choices=choices,
        library_path=library_path or (),
        needs_link_dir=needs_link_dir,
        runpath=runpath or (),
        delivery=delivery,
        substitutions=substitutions,
        warnings=tuple(warnings),
        alternatives=_alternatives(best.choices, best.alternatives),
        glibc_policy=options.glibc,
    )


def _first_use(problem: Problem, choices: Mapping[str, str]) -> list[str]:
    """Names in the breadth-first order ld.so first asks for them."""
    walked = problem.needs_in_load_order(
        (r.path for r in problem.roots), lambda _obj, name: choices.get(name)
    )
    order = list(dict.fromkeys(name for _obj, name in walked))
    seen = set(order)
    order.extend(sorted(n for n in choices if n not in seen))
    return order


def _replay_roots(
    problem: Problem,
    choices: Mapping[str, str],
    interpreter: str | None,
    view: FileView,
    search: tuple[str, ...] | None,
    allowed: frozenset[str],
    delivery: Delivery,
    substitutions: Mapping[str, str],
) -> tuple[tuple[RootSolution, ...], bool]:
    """Replay every root with the delivery's search path; fall back to a link directory.

    Returns the per-root load orders and whether the link directory was needed.
    """
    foreign = {p.path for p in problem.foreign}

    def store_path_of(path: str) -> str | None:
        prov = problem.providers.get(path)
        return prov.store_path if prov is not None else None

    def attempt(dirs: tuple[str, ...], root: ElfFacts, interp: str | None) -> Replay:
        if delivery is Delivery.LIBRARY_PATH:
            return replay(root, interp, view, library_path=dirs, store_path_of=store_path_of)

        def override(obj: ElfFacts) -> tuple[str, ...] | None:
            return (*kept_origin_dirs(obj), *dirs) if obj.path in foreign else None

        # Patching writes the substitute names into the foreign objects' DT_NEEDED.
        return replay(
            root,
            interp,
            view,
            runpath_override=override,
            store_path_of=store_path_of,
            renames=renames,
        )

    renames = {
        path: {
            n: substitutions[n] for n in problem.providers[path].facts.needed if n in substitutions
        }
        for path in foreign
    }
    view.links = link_entries(choices, substitutions, delivery)
    tries = ([search] if search is not None else []) + [(LINK_DIR,)]
    for dirs in tries:
        results: list[RootSolution] = []
        failure = None
        for root in problem.roots:
            interp = interpreter if root.facts.interpreter else None
            # In any real process the loader is there before a library root is loaded.
            outcome = attempt(dirs, root.facts, interpreter)
            lost = [name for _, name in outcome.not_found if name not in allowed]
            if not _agrees(outcome.libraries, choices) or lost:
                failure = _disagreement(root.path, outcome.libraries, choices, lost)
                break
            results.append(RootSolution(root.path, interp, outcome.libraries))
        if failure is None:
            return tuple(results), dirs == (LINK_DIR,)
    raise PredictionError(failure or "no delivery serves the chosen files")


def kept_origin_dirs(facts: ElfFacts) -> tuple[str, ...]:
    """The ``$ORIGIN`` entries of an object's own search path, expanded (patching keeps
    them so bundled libraries are still found)."""
    return tuple(e.directory for e in own_entries(facts) if e.origin_relative and e.directory)


def _agrees(libraries: Sequence[LoadedLibrary], choices: Mapping[str, str]) -> bool:
    return all(choices.get(lib.name, lib.path) == lib.path for lib in libraries)


def _disagreement(
    root: str, libraries: Sequence[LoadedLibrary], choices: Mapping[str, str], lost: list[str]
) -> str:
    if lost:
        return f"{root}: ld.so would not find {', '.join(lost)}"
    for lib in libraries:
        want = choices.get(lib.name)
        if want is not None and want != lib.path:
            return f"{root}: ld.so would load {lib.path} for {lib.name}, the solver chose {want}"
    return f"{root}: ld.so would not find every chosen library"


def _root_runpath(
    problem: Problem,
    choices: Mapping[str, str],
    view: FileView,
    first_use: Sequence[str],
    substitutions: Mapping[str, str],
) -> tuple[str, ...] | None:
    """Directories for a patched RUNPATH serving the foreign objects' own needs (under
    the substitute names patching writes into their DT_NEEDED)."""
    wanted = {
        substitutions.get(name, name): choices[name]
        for prov in problem.foreign
        for name in problem.free.get(prov.path, ())
        if name in choices
    }
    order = [substitutions.get(name, name) for name in first_use]
    return order_library_path(wanted, view, order, Tag.RUNPATH)


def _alternatives(
    best: frozenset[tuple[str, str]], others: Sequence[frozenset[tuple[str, str]]]
) -> tuple[Alternative, ...]:
    chosen = dict(best)
    extra: dict[str, set[str]] = {}
    for other in others:
        for name, path in other:
            if chosen.get(name) != path:
                extra.setdefault(name, set()).add(path)
    return tuple(
        Alternative(name, chosen.get(name, ""), tuple(sorted(paths)))
        for name, paths in sorted(extra.items())
    )


def _unversioned_warnings(
    problem: Problem,
    roots: Sequence[RootSolution],
    view: FileView,
    interpreter: str | None,
) -> list[str]:
    warnings: list[str] = []
    for root in roots:
        objects = [problem.providers[root.root].facts]
        objects.extend(view.facts(lib.path) for lib in root.libraries)
        if interpreter is not None:
            objects.append(view.facts(interpreter))
        defined: set[str] = set()
        for obj in objects:
            defined.update(s.name for s in obj.symbols.defined)
        for obj in objects:
            lost = sorted({s.name for s in obj.symbols.undefined if s.version is None} - defined)
            if lost:
                shown = ", ".join(lost[:5]) + (", ..." if len(lost) > 5 else "")
                warnings.append(
                    f"{os.path.basename(obj.path)}: {len(lost)} unversioned symbol(s) no loaded "
                    f"library defines ({shown})"
                )
    return sorted(set(warnings))
