"""The resolution problem: objects, the names they need, and who can provide them.

Built by :mod:`autopatchelf.problem.build` from roots and a library source; consumed by
the SAT encoding. Everything here is plain data in a deterministic order.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Callable, Iterable, Iterator

import attrs

from autopatchelf.elf.facts import ElfFacts
from autopatchelf.frozen import FrozenMap, Record
from autopatchelf.options import DlopenPriority, NeedOrigin


@attrs.frozen(repr=False)
class Provider(Record):
    """A file that can be loaded: a store library, a bundled library or a root."""

    path: str
    facts: ElfFacts
    #: The store path it lives in; ``None`` for foreign files (roots, bundled libs).
    store_path: str | None
    #: How humans call it in messages (``libfoo-2.0`` or ``./lib/libbundled.so.1``).
    label: str

    @property
    def foreign(self) -> bool:
        return self.store_path is None


class ExclusionKind(enum.Enum):
    ARCH = "architecture"
    VERSION = "version"
    SYMBOL = "symbol"


@attrs.frozen(repr=False)
class Exclusion(Record):
    """``requester`` cannot use ``provider`` for ``name``: it lacks ``what``."""

    requester: str
    name: str
    provider: str
    kind: ExclusionKind
    #: The missing version (``GLIBC_2.38``), ``symbol@VERSION`` or the arch reason.
    what: str


@attrs.frozen(repr=False)
class Glibc(Record):
    """A store path holding a glibc (it provides ``libc.so.6``)."""

    store_path: str
    label: str
    #: Highest ``GLIBC_x.y`` version its libc.so.6 defines, as a tuple (2, 41).
    version: tuple[int, ...]
    #: Its loader file for the roots' machine, if it ships one.
    loader: str | None


@attrs.frozen(repr=False)
class DlopenNeed(Record):
    """A library an object of the process dlopen()s: solved like a DT_NEEDED of that
    object (its own search finds it first; the chosen provider's closure joins the
    one-glibc check), but loaded after start-up."""

    #: The object that calls dlopen() (a root, a bundled or a store library).
    requester: str
    #: The soname solved for (the first of the note's alternatives that exists).
    name: str
    origin: NeedOrigin
    priority: DlopenPriority
    feature: str | None = None
    #: Every soname the note allows, most preferred first.
    alternatives: tuple[str, ...] = ()

    @property
    def soft(self) -> bool:
        """Left out (with a warning) when it cannot be provided with the rest."""
        return self.priority is not DlopenPriority.REQUIRED

    def describe(self) -> str:
        """``libzstd.so.1 (recommended: zstd)``, ``libfoo.so.1 (--dlopen)``."""
        if self.origin is NeedOrigin.FLAG:
            return f"{self.name} (--dlopen)"
        if self.origin is NeedOrigin.TRACE:
            return f"{self.name} (seen opened by a traced run)"
        what = self.priority.value + (f": {self.feature}" if self.feature else "")
        return f"{self.name} ({what})"


@attrs.frozen(repr=False)
class DlopenPolicy(Record):
    """Which dlopen()ed libraries a solve includes (from ``SolveOptions``)."""

    #: ``--dlopen``: needed by every root.
    flags: tuple[str, ...] = ()
    #: Notes of this priority or a stronger one are included.
    priority: DlopenPriority = DlopenPriority.RECOMMENDED
    #: Notes of these features are included whatever their priority.
    features: tuple[str, ...] = ()
    #: Seen opened at run time (``trace``): needed by every root, softly.
    traced: tuple[str, ...] = ()
    #: (requester, name) left out after they could not be provided with the rest.
    dropped: frozenset[tuple[str, str]] = frozenset()

    def includes(self, priority: DlopenPriority, feature: str | None) -> bool:
        return priority.rank <= self.priority.rank or (
            feature is not None and feature in self.features
        )


@attrs.frozen(repr=False)
class Problem(Record):
    """Everything the encoding needs about one solve: who is loaded whatever we choose,
    who may provide each name, and the closures, glibcs and exclusions that constrain it."""

    roots: tuple[Provider, ...]
    #: Every object that will be loaded whatever we choose: roots and bundled libraries.
    foreign: tuple[Provider, ...]
    #: Every store or bundled file that may join the process, by path.
    providers: FrozenMap[str, Provider]
    #: name -> paths of files that may provide it (deterministic order).
    candidates: FrozenMap[str, tuple[str, ...]]
    #: (object path, name) -> the one file that object's own search finds for the name.
    fixed: FrozenMap[tuple[str, str], str]
    #: object path -> names it needs that any chosen provider may satisfy.
    free: FrozenMap[str, tuple[str, ...]]
    #: Candidates a requester cannot use, and why (precomputed version/symbol checks).
    exclusions: tuple[Exclusion, ...]
    glibcs: FrozenMap[str, Glibc]
    #: Names that belong to glibc: their providers must come from the chosen glibc.
    glibc_names: frozenset[str]
    #: store path -> glibc store paths in its closure.
    closure_glibcs: FrozenMap[str, tuple[str, ...]]
    #: store path -> its closure (store paths).
    closures: FrozenMap[str, frozenset[str]]
    #: Names no file in the store provides, with the closest names that exist.
    missing: FrozenMap[str, tuple[str, ...]]
    #: Human-readable notes gathered while building (ignored RUNPATH entries...).
    notes: tuple[str, ...]
    #: Closest matches for versions no candidate defines, for explanations.
    hints: tuple[str, ...] = ()
    #: (needed name, file) -> the other name that file answers to: a closest-match
    #: substitution, allowed only with ``--allow-substitution`` and at a high cost.
    substitutes: FrozenMap[tuple[str, str], str] = attrs.field(factory=FrozenMap)
    #: Store paths of the closures that are not in the store: bytes to download each.
    downloads: FrozenMap[str, int] = attrs.field(factory=FrozenMap)
    #: Needed name -> (store path, why) of unrealised paths that have it but may not be
    #: used (for explanations).
    rejected: FrozenMap[str, tuple[tuple[str, str], ...]] = attrs.field(factory=FrozenMap)
    #: Libraries objects dlopen() that the solve includes (their providers are chosen
    #: like DT_NEEDED ones; those the object's own search finds are in ``fixed`` too).
    dlopen: tuple[DlopenNeed, ...] = ()
    #: Files of the driver dirs that are candidates (for driver sonames only).
    drivers: frozenset[str] = frozenset()
    #: Driver sonames no driver dir has: left out (never taken from the store).
    driver_missing: tuple[str, ...] = ()

    def dlopen_of(self, path: str) -> tuple[str, ...]:
        """The names the object at ``path`` dlopen()s, in order."""
        return tuple(n.name for n in self.dlopen if n.requester == path)

    def needs_in_load_order(
        self, start: Iterable[str], provider_of: Callable[[str, str], str | None]
    ) -> Iterator[tuple[str, str]]:
        """``(object, name)`` for every need, breadth first from ``start`` (object paths)
        as ld.so walks them, each object once: ``provider_of(object, name)`` says which
        file serves the need (None: nothing; the walk does not go on there)."""
        queue = deque(start)
        visited: set[str] = set()
        while queue:
            path = queue.popleft()
            if path in visited:
                continue
            visited.add(path)
            for name in self.providers[path].facts.needed:
                yield path, name
                chosen = provider_of(path, name)
                if chosen is not None:
                    queue.append(chosen)
