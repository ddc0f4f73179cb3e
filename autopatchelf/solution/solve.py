"""The resolver pipeline: problem -> encoding -> conflict or optimum -> checked solution."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Mapping, Sequence

import attrs

from autopatchelf.elf.facts import ElfFacts
from autopatchelf.elf.records import ElfClass
from autopatchelf.elf.strings import soname_strings
from autopatchelf.errors import PredictionError, Unsatisfiable
from autopatchelf.gcpause import cycle_collector_paused
from autopatchelf.ldso.drivers import default_driver_dirs
from autopatchelf.ldso.glibc import is_glibc_name
from autopatchelf.ldso.search import Tag, own_entries
from autopatchelf.options import Delivery, NeedOrigin, SolveOptions
from autopatchelf.problem.build import build_problem
from autopatchelf.problem.memo import ProblemMemo
from autopatchelf.problem.model import DlopenPolicy, Problem
from autopatchelf.problem.source import DiskFiles, ForeignFiles, LibrarySource
from autopatchelf.problem.verdicts import (
    VerdictStore,
    load_set_key,
    undefined_from,
    undefined_verdict,
)
from autopatchelf.sat import facts as F
from autopatchelf.sat.memo import EncodingMemo
from autopatchelf.sat.preferences import unmatched
from autopatchelf.solution.loadorder import (
    LINK_DIR,
    FileView,
    Replay,
    link_entries,
    order_library_path,
    replay,
)
from autopatchelf.solution.model import (
    Alternative,
    DlopenHint,
    LoadedLibrary,
    RootSolution,
    Solution,
)


@cycle_collector_paused()
def solve_problem(
    roots: Sequence[str | ElfFacts],
    source: LibrarySource,
    options: SolveOptions | None = None,
    *,
    in_use: frozenset[str] = frozenset(),
    names: Mapping[str, str] | None = None,
    files: ForeignFiles | None = None,
    problems: ProblemMemo | None = None,
    encodings: EncodingMemo | None = None,
) -> Solution:
    """Choose a provider for every library ``roots`` load, or raise :class:`Unsatisfiable`.

    ``in_use``: store paths whose closures the system already uses (preferred after pins
    and locks); ``names``: root path -> the name the user gave it, for explanations;
    ``files``: the app's own files (default: the disk); ``problems``: problems built
    before, handed out again when this solve's would be the same; ``encodings``: their
    encodings, likewise (a solve that only allows other missing names encodes nothing).
    (``options.store``/``within``/``cache_dir`` are the source's business, not read here.)
    """
    options = options or SolveOptions()
    delivery = options.delivery
    disk = files or DiskFiles()
    policy = DlopenPolicy(
        flags=options.dlopen,
        priority=options.dlopen_priority,
        features=options.dlopen_features,
        traced=options.traced,
    )
    encodings = encodings or EncodingMemo()
    left_out: list[str] = []
    drivers = _driver_dirs(roots, options)
    build = problems.build if problems is not None else build_problem
    while True:
        problem = build(
            roots,
            source,
            allow_substitution=options.allow_substitution,
            files=disk,
            glibc_policy=options.glibc,
            dlopen=policy,
            driver_dirs=drivers,
        )
        allowed = frozenset(
            n
            for n in problem.missing
            if any(fnmatch.fnmatchcase(n, pat) for pat in options.allow_missing)
        ) | frozenset(problem.driver_missing)
        best = encodings.optimum(
            problem, options, in_use, source.version_of, allowed, source.verdicts()
        )
        if best is not None:
            break
        optimiser = encodings.optimiser(problem, options, in_use, source.version_of)
        conflict = optimiser.check(allowed)
        if conflict is None:  # pragma: no cover - optimise and check disagree
            raise RuntimeError("the optimiser found no model of a satisfiable encoding")
        from autopatchelf.solution.explain import explain  # only when there is no answer

        explanation = explain(problem, conflict.facts, names=dict(names or {}))
        soft = [f for f in conflict.facts if isinstance(f, F.Dlopens) and f.need.soft]
        if not soft:
            raise Unsatisfiable(explanation)
        # A recommended (or asked-for suggested) dlopen() library that cannot be had with
        # the rest is left out, said, and the rest solved again.
        for fact in soft:
            who = os.path.basename(fact.requester)
            left_out.append(
                f"{who} may dlopen() {fact.need.describe()}; left out, it cannot be provided "
                f"with the rest: {explanation.conclusion}"
            )
        policy = attrs.evolve(
            policy, dropped=policy.dropped | {(f.requester, f.name) for f in soft}
        )
    choices = dict(sorted(best.choices))
    substitutions = {
        name: problem.substitutes[(name, path)]
        for name, path in choices.items()
        if (name, path) in problem.substitutes
    }
    interpreter = problem.glibcs[best.glibc].loader if best.glibc else None
    warnings = [*problem.notes, *left_out]
    for flag, patterns in (("--prefer", options.prefer), ("--avoid", options.avoid)):
        warnings.extend(
            f"{flag} {pat} matches no candidate provider: it changed nothing"
            for pat in unmatched(patterns, problem.providers.values())
        )
    warnings.extend(
        f"{name} is missing (allowed): the program may fail when it is used"
        for name in sorted(allowed - set(problem.driver_missing))
    )
    where = ", ".join(drivers) if drivers else "none here"
    warnings.extend(
        f"{name} is a graphics/GPU driver library: it comes from the system's driver dir "
        f"(on NixOS /run/opengl-driver/lib, with hardware.graphics.enable), never from "
        f"the store; no driver dir has it ({where}; --driver-dir DIR)"
        for name in problem.driver_missing
    )
    view = FileView(
        source,
        foreign_dirs=frozenset(
            {os.path.dirname(p.path) for p in problem.foreign}
            | {os.path.dirname(p) for p in problem.drivers}
        ),
        files=disk,
    )
    first_use = _first_use(problem, choices)
    library_path = _drivers_first(order_library_path(choices, view, first_use), problem)
    runpath = _drivers_first(
        _root_runpath(problem, choices, view, first_use, substitutions), problem
    )
    search = library_path if delivery is Delivery.LIBRARY_PATH else runpath
    dlopen_misses: list[tuple[str, str]] = []
    replayed, needs_link_dir = _replay_roots(
        problem, choices, interpreter, view, search, allowed, delivery, substitutions,
        dlopen_misses,
    )  # fmt: skip
    warnings.extend(
        f"{os.path.basename(caller)}'s dlopen() of {name} would not find the chosen file "
        f"with {delivery.value} delivery"
        + (
            " (its own RUNPATH cannot be patched: start it with `run`)"
            if caller not in {p.path for p in problem.foreign}
            else ""
        )
        for caller, name in sorted(set(dlopen_misses))
    )
    store_paths: set[str] = set()
    for r in replayed:
        for lib in r.libraries:
            if lib.store_path is not None:
                store_paths.update(problem.closures.get(lib.store_path, {lib.store_path}))
    if best.glibc is not None:
        store_paths.update(problem.closures.get(best.glibc, {best.glibc}))
    warnings.extend(_unversioned_warnings(problem, replayed, view, interpreter, source.verdicts()))
    hints = _dlopen_hints(problem, replayed, source) if options.dlopen_hints else ()
    if problem.drivers:
        replayed = tuple(
            attrs.evolve(
                r,
                libraries=tuple(
                    attrs.evolve(lib, driver=True) if lib.path in problem.drivers else lib
                    for lib in r.libraries
                ),
            )
            for r in replayed
        )
    used_drivers = sorted(
        {os.path.dirname(lib.path) for r in replayed for lib in r.libraries if lib.driver}
    )
    downloads = tuple(
        found
        for sp in sorted(store_paths)
        if sp in problem.downloads and (found := source.substitute(sp)) is not None
    )
    return Solution(
        driver_dirs=tuple(used_drivers),
        dlopen_hints=hints,
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


def _driver_dirs(roots: Sequence[str | ElfFacts], options: SolveOptions) -> tuple[str, ...]:
    """The driver dirs: those given, else NixOS's for the first root's class."""
    if options.driver_dirs is not None:
        return tuple(os.path.abspath(d) for d in options.driver_dirs)
    if not roots:
        return ()
    first = roots[0]
    facts = first if isinstance(first, ElfFacts) else ElfFacts.read(os.path.abspath(first))
    return default_driver_dirs(bits32=facts.elf_class is ElfClass.ELF32)


def _drivers_first(
    library_path: tuple[str, ...] | None, problem: Problem
) -> tuple[str, ...] | None:
    """The chosen driver dirs ahead of every store dir, as NixOS's own wrappers put
    them (a driver dir is searched before any package for what it has)."""
    if library_path is None or not problem.drivers:
        return library_path
    dirs = {os.path.dirname(p) for p in problem.drivers}
    return (*[d for d in library_path if d in dirs], *[d for d in library_path if d not in dirs])


def _dlopen_hints(
    problem: Problem, replayed: Sequence[RootSolution], source: LibrarySource
) -> tuple[DlopenHint, ...]:
    """Sonames written in each root that its process does not load."""
    hints: list[DlopenHint] = []
    for root in replayed:
        facts = problem.providers[root.root].facts
        loaded = {lib.name for lib in root.libraries} | set(facts.needed)
        loaded |= {os.path.basename(lib.path) for lib in root.libraries}
        for name in soname_strings(root.root):
            if name in loaded or name == facts.soname or is_glibc_name(name):
                continue
            provided = any(True for _ in source.candidates(name))
            hints.append(DlopenHint(root.root, name, provided))
    return tuple(hints)


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
    dlopen_misses: list[tuple[str, str]],
) -> tuple[tuple[RootSolution, ...], bool]:
    """Replay every root with the delivery's search path; fall back to a link directory.

    Returns the per-root load orders and whether the link directory was needed; fills
    ``dlopen_misses`` with the (caller, name) dlopen()s that would not find the chosen
    file (a store library's own RUNPATH cannot be patched: only a library path serves it).
    """
    foreign = {p.path for p in problem.foreign}
    unserved = dlopen_misses

    def store_path_of(path: str) -> str | None:
        prov = problem.providers.get(path)
        return prov.store_path if prov is not None else None

    dlopened: dict[str, list[tuple[str, NeedOrigin]]] = {}
    for need in problem.dlopen:
        dlopened.setdefault(need.requester, []).append((need.name, need.origin))

    def dlopen(path: str) -> Sequence[tuple[str, NeedOrigin]]:
        return dlopened.get(path, ())

    def attempt(dirs: tuple[str, ...], root: ElfFacts, interp: str | None) -> Replay:
        if delivery is Delivery.LIBRARY_PATH:
            return replay(
                root,
                interp,
                view,
                library_path=dirs,
                store_path_of=store_path_of,
                dlopen=dlopen,
            )

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
            dlopen=dlopen,
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
        unserved.clear()
        failure = None
        for root in problem.roots:
            interp = interpreter if root.facts.interpreter else None
            # In any real process the loader is there before a library root is loaded.
            outcome = attempt(dirs, root.facts, interpreter)
            # A driver's own needs are found by its own RUNPATH on the real system.
            lost = [
                name
                for req, name in outcome.not_found
                if name not in allowed and req not in problem.drivers
            ]
            if not _agrees(outcome.libraries, choices) or lost:
                failure = _disagreement(root.path, outcome.libraries, choices, lost)
                break
            results.append(RootSolution(root.path, interp, outcome.libraries))
            unserved.extend(outcome.dlopen_not_found)
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
    foreign = {prov.path for prov in problem.foreign}
    own = [name for prov in problem.foreign for name in problem.free.get(prov.path, ())]
    own += [
        need.name
        for need in problem.dlopen
        if need.requester in foreign and (need.requester, need.name) not in problem.fixed
    ]
    wanted = {substitutions.get(name, name): choices[name] for name in own if name in choices}
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
    saved: VerdictStore | None = None,
) -> list[str]:
    """A warning per loaded object with unversioned imports that no loaded object (nor
    the root) defines. ``saved``: where the names each load set leaves undefined are kept
    between runs, by the facts of its objects (a warm solve decodes no export table)."""
    warnings: list[str] = []
    for root in roots:
        own = problem.providers[root.root].facts
        loaded = [view.facts(lib.path) for lib in root.libraries]
        if interpreter is not None:
            loaded.append(view.facts(interpreter))
        own.symbols.unversioned_imports  # noqa: B018 - a bad root table fails first, as ever
        objects = [own, *loaded]
        key = None if saved is None else load_set_key(saved, own, loaded)
        found = saved.load([key]) if saved is not None and key is not None else {}
        kept = undefined_from(found[key]) if key is not None and key in found else None
        if kept is not None:
            lost_by = kept
        else:
            lost_by = _undefined_imports(own, loaded)
            if saved is not None and key is not None:
                saved.save({key: undefined_verdict(lost_by)})
        for position, lost in lost_by:
            if 0 <= position < len(objects) and lost:
                shown = ", ".join(lost[:5]) + (", ..." if len(lost) > 5 else "")
                warnings.append(
                    f"{os.path.basename(objects[position].path)}: {len(lost)} unversioned "
                    f"symbol(s) no loaded library defines ({shown})"
                )
    return sorted(set(warnings))


def _undefined_imports(own: ElfFacts, loaded: Sequence[ElfFacts]) -> list[tuple[int, list[str]]]:
    """(position in ``[own, *loaded]``, sorted names) of the unversioned imports of each
    object that neither a loaded object nor ``own`` defines."""
    # Each import is looked up in the objects' name sets: no union of them all. The
    # root's own definitions are decoded only for an import nothing loaded defines
    # (a check's roots are mostly libraries, whose exports are most of their table).
    # The loaded objects' names are decoded only once some object imports a name
    # without a version.
    defined: list[frozenset[str]] = []
    lost_by: list[tuple[int, list[str]]] = []
    for position, obj in enumerate([own, *loaded]):
        imports = obj.symbols.unversioned_imports
        if not imports:
            continue
        if not defined:
            defined = [other.symbols.defined_names for other in loaded]
        left = [n for n in imports if not any(n in names for names in defined)]
        lost = sorted(n for n in left if n not in own.symbols.defined_names)
        if lost:
            lost_by.append((position, lost))
    return lost_by
