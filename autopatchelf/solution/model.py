"""What a successful solve returns: :class:`Solution`, also the ``autopatchelf.solution/1``
document (its fields, in order, are the document's keys: :data:`SOLUTION_DOCUMENT`)."""

from __future__ import annotations

import attrs

from autopatchelf.frozen import FrozenMap, Record, string_map
from autopatchelf.options import Delivery, GlibcPolicy, NeedOrigin
from autopatchelf.schema import Document
from autopatchelf.store.substitute import Substitute

__all__ = [
    "SOLUTION_DOCUMENT",
    "SOLUTION_SCHEMA",
    "Alternative",
    "Delivery",
    "DlopenHint",
    "LoadedLibrary",
    "RootSolution",
    "Solution",
    "Substitute",
]

SOLUTION_SCHEMA = "autopatchelf.solution/1"


@attrs.frozen(repr=False)
class LoadedLibrary(Record):
    """One object ld.so will map, in load order."""

    #: The name it is first requested by (a DT_NEEDED string).
    name: str
    path: str
    #: Its store path, or None for bundled libraries of the app itself.
    store_path: str | None
    #: Who asked for it first (a root, a bundled library or a store library).
    requested_by: str
    #: ``needed``: mapped at start-up; else it is dlopen()ed later (``note``, ``flag``).
    via: NeedOrigin = NeedOrigin.NEEDED
    #: A graphics/GPU driver library of a driver dir (``store_path`` is then None).
    driver: bool = False


@attrs.frozen(repr=False)
class RootSolution(Record):
    root: str
    interpreter: str | None
    #: Libraries in the order ld.so loads them (breadth-first from the root).
    libraries: tuple[LoadedLibrary, ...]

    def mapping(self) -> dict[str, str]:
        """name -> file for every library this root's process loads."""
        return {lib.name: lib.path for lib in self.libraries}


@attrs.frozen(repr=False)
class Alternative(Record):
    """Another choice with the same cost as the chosen one, for one name."""

    name: str
    chosen: str
    others: tuple[str, ...]


@attrs.frozen(repr=False)
class DlopenHint(Record):
    """A soname written as a string in a root (``--dlopen-hints``): maybe a dlopen()
    argument. Not solved for; ``--dlopen NAME`` promotes it."""

    root: str
    soname: str
    #: Whether some store file (or binary cache path) could provide it.
    provided: bool


@attrs.frozen(kw_only=True, repr=False)
class Solution(Record):
    """One provider for every library of a set of roots, checked by replaying ld.so."""

    #: The glibc store path every root loads, and its loader (the interpreter).
    glibc: str | None
    glibc_policy: GlibcPolicy = GlibcPolicy.STRICT
    interpreter: str | None
    #: Every store path the solution needs at run time (closures included), sorted.
    store_paths: tuple[str, ...]
    #: Directories to hand to the loader, in the order that makes every chosen file win.
    #: Empty when ``needs_link_dir`` (no order works): see
    #: :func:`~autopatchelf.actions.linkdir.write_link_dir`.
    library_path: tuple[str, ...]
    needs_link_dir: bool
    #: Directories for a patched DT_RUNPATH of the roots and bundled libraries, after
    #: their own ``$ORIGIN`` entries (which patching keeps). Empty with ``needs_link_dir``
    #: in runpath delivery.
    runpath: tuple[str, ...]
    #: name -> file for every library of the whole set (one provider per soname).
    choices: FrozenMap[str, str] = attrs.field(converter=string_map)
    #: Closest-match substitutions (``--allow-substitution``): needed name -> the name of
    #: the file chosen instead (``libfoo.so.1`` -> ``libfoo.so.2``). Patching rewrites
    #: DT_NEEDED *and* the matching ``.gnu.version_r`` file name; ``choices`` maps the
    #: needed name to the substitute file.
    substitutions: FrozenMap[str, str] = attrs.field(factory=FrozenMap, converter=string_map)
    #: The delivery the prediction was made for.
    delivery: Delivery = Delivery.LIBRARY_PATH
    roots: tuple[RootSolution, ...]
    alternatives: tuple[Alternative, ...] = ()
    warnings: tuple[str, ...] = ()
    #: Roots with nothing to solve, and why (``statically linked...``): they are not in
    #: ``roots``.
    nothing_to_solve: FrozenMap[str, str] = attrs.field(factory=FrozenMap, converter=string_map)
    #: Store paths of ``store_paths`` that a binary cache must provide, with their sizes
    #: (``realise`` in the document).
    downloads: tuple[Substitute, ...] = attrs.field(default=(), metadata={"key": "realise"})
    #: Whether ``downloads`` were realised (downloaded into the store) before returning.
    realised: bool = False
    #: Sonames found as strings in the roots that nothing loads (``--dlopen-hints``).
    dlopen_hints: tuple[DlopenHint, ...] = ()
    #: Driver dirs (``/run/opengl-driver/lib``) that serve chosen driver libraries.
    driver_dirs: tuple[str, ...] = ()

    @classmethod
    def empty(cls, nothing_to_solve: dict[str, str]) -> Solution:
        """The solution of roots that need nothing (every one statically linked...)."""
        return cls(
            glibc=None,
            interpreter=None,
            store_paths=(),
            library_path=(),
            needs_link_dir=False,
            runpath=(),
            choices={},
            roots=(),
            nothing_to_solve=nothing_to_solve,
        )

    def root(self, path: str) -> RootSolution:
        for r in self.roots:
            if r.root == path:
                return r
        raise KeyError(path)

    @property
    def download_bytes(self) -> int:
        """What realising :attr:`downloads` downloads, in bytes."""
        return sum(d.file_size for d in self.downloads)

    @property
    def unique(self) -> bool:
        """True when no other choice has the same cost."""
        return not self.alternatives


#: The ``autopatchelf.solution/1`` document (``solve --format json``).
SOLUTION_DOCUMENT = Document(SOLUTION_SCHEMA, Solution)
