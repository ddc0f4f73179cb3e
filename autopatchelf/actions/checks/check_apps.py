"""Group the ELF files ``check`` found into the units it solves.

A *unit* is what one process-wide choice must serve: the programs of an app that reach
the same bundled libraries through their own ``$ORIGIN`` RUNPATH/RPATH are solved
together (the resolver discovers those bundled libraries again, exactly); shared
libraries no program reaches are solved as library roots, again grouped when they share
bundled libraries. The reach computed here mirrors the resolver's own bundled-library
search (:mod:`autopatchelf.problem.build`), restricted to the files that were found.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable, Mapping, Sequence

import attrs

from autopatchelf.actions.checks.check_model import Role
from autopatchelf.elf.facts import ElfFacts
from autopatchelf.frozen import Record
from autopatchelf.ldso.load import LoadRole, load_role
from autopatchelf.ldso.machines import compatible
from autopatchelf.ldso.search import has_slash
from autopatchelf.problem.foreign import bundled_dirs


@attrs.frozen(repr=False)
class Unit(Record):
    """Roots solved together and the bundled libraries they reach (real paths)."""

    roots: tuple[str, ...]
    members: tuple[str, ...]


_ROLES = {
    LoadRole.PROGRAM: Role.EXECUTABLE,
    LoadRole.LIBRARY: Role.LIBRARY,
    LoadRole.SELF_CONTAINED: Role.STATIC,
    LoadRole.NOT_LOADABLE: Role.OTHER,
}


def role_of(facts: ElfFacts) -> Role:
    """``check``'s role of a file: what ld.so makes of it
    (:func:`~autopatchelf.ldso.load.load_role`)."""
    return _ROLES[load_role(facts)]


def plan_units(facts: Mapping[str, ElfFacts]) -> tuple[Unit, ...]:
    """Units for every file of ``facts`` (real path -> facts) that needs solving.

    Executables reaching a common bundled library share a unit; shared libraries no
    executable reaches become library roots (those reached only from another such
    library are its members). Units come in the order of their first root's path.
    """
    roles = {path: role_of(f) for path, f in facts.items()}
    programs = sorted(p for p, r in roles.items() if r is Role.EXECUTABLE)
    reach = {p: bundled_reach(facts[p], facts) for p in programs}
    reached = {m for members in reach.values() for m in members}
    libraries = sorted(p for p, r in roles.items() if r is Role.LIBRARY and p not in reached)
    lib_reach = {p: bundled_reach(facts[p], facts) for p in libraries}
    by_others = {m for p, members in lib_reach.items() for m in members if m != p}
    tops: list[str] = []
    covered: set[str] = set()
    for lib in [p for p in libraries if p not in by_others] + libraries:
        if lib not in covered:  # the second pass picks up libraries in loops
            tops.append(lib)
            covered.add(lib)
            covered.update(lib_reach[lib])
    reach.update({p: lib_reach[p] for p in tops})
    units = _group(programs, reach, facts) + _group(tops, reach, facts)
    return tuple(sorted(units, key=lambda u: u.roots[0]))


def bundled_reach(root: ElfFacts, facts: Mapping[str, ElfFacts]) -> tuple[str, ...]:
    """Real paths of the found files ``root``'s process loads from its own tree."""
    order: dict[str, None] = {}
    start = os.path.realpath(root.path)
    queue: deque[tuple[ElfFacts, tuple[ElfFacts, ...]]] = deque([(root, ())])
    while queue:
        obj, chain = queue.popleft()
        for name in obj.needed:
            found = _find_bundled(root, obj, chain, name, facts)
            if found is None or found == start or found in order:
                continue
            order[found] = None
            queue.append((facts[found], (obj, *chain)))
    return tuple(order)


def _find_bundled(
    root: ElfFacts,
    obj: ElfFacts,
    chain: tuple[ElfFacts, ...],
    name: str,
    facts: Mapping[str, ElfFacts],
) -> str | None:
    if has_slash(name):
        return None
    # Only files ``check`` found can be members, so a store directory needs no exclusion:
    # its files are found only when the user checks that store path itself.
    for directory in bundled_dirs(obj, chain, is_store_path=lambda _directory: False):
        real = os.path.realpath(os.path.join(directory, name))
        other = facts.get(real)
        if other is not None and compatible(root, other):
            return real
    return None


def _group(
    roots: Sequence[str], reach: Mapping[str, Iterable[str]], facts: Mapping[str, ElfFacts]
) -> list[Unit]:
    """Union roots that reach a common library (and can share a process)."""
    parent = {r: r for r in roots}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    owner: dict[str, str] = {}
    for root in roots:
        for member in reach[root]:
            first = owner.setdefault(member, root)
            if first != root and compatible(facts[first], facts[root]):
                parent[find(root)] = find(first)
    groups: dict[str, list[str]] = {}
    for root in roots:
        groups.setdefault(find(root), []).append(root)
    units = []
    for members_of in groups.values():
        group_roots = sorted(members_of)
        members = dict.fromkeys(m for r in group_roots for m in reach[r] if m not in parent)
        units.append(Unit(tuple(group_roots), tuple(members)))
    return units
