"""Hard facts of an encoding, each kept behind one selector literal.

When no solution exists, the minimised UNSAT core is a set of these facts: the
explanation is written from them (see :mod:`autopatchelf.solution.explain`).
"""

from __future__ import annotations

import attrs

from autopatchelf.frozen import Record
from autopatchelf.problem.model import DlopenNeed, Exclusion


@attrs.frozen(repr=False)
class Needs(Record):
    """``requester`` (a foreign object: root or bundled library) needs ``name``."""

    requester: str
    name: str


@attrs.frozen(repr=False)
class Dlopens(Needs):
    """``requester`` (any object of the process) dlopen()s ``name``: needed while
    ``requester`` is loaded. ``need`` says why (a note's priority, ``--dlopen``)."""

    need: DlopenNeed = attrs.field(eq=False)


@attrs.frozen(repr=False)
class BundledProvides(Record):
    """``requester``'s own ``$ORIGIN`` search finds ``name`` as bundled file ``provider``."""

    requester: str
    name: str
    provider: str


@attrs.frozen(repr=False)
class NoProvider(Record):
    """No file in the store answers to ``name``; ``closest`` names do exist."""

    name: str
    closest: tuple[str, ...]
    #: Files with that name that were ruled out for the architecture.
    wrong_arch: tuple[str, ...] = ()


@attrs.frozen(repr=False)
class Excluded(Record):
    """A version or versioned-symbol check rules a candidate out for a requester."""

    exclusion: Exclusion


@attrs.frozen(repr=False)
class ClosureProvides(Record):
    """Store library ``requester``, once loaded, gets ``name`` from ``provider`` (its RUNPATH
    inside its closure), so no other file may provide ``name`` in the process."""

    requester: str
    name: str
    provider: str


@attrs.frozen(repr=False)
class ClosureGlibc(Record):
    """Store path ``store_path``'s closure uses ``glibcs`` (strict policy: it must be one
    of these)."""

    store_path: str
    glibcs: tuple[str, ...]


@attrs.frozen(repr=False)
class NotFromGlibc(Record):
    """``provider`` answers to glibc name ``name`` but is not part of a glibc store path."""

    name: str
    provider: str


@attrs.frozen(repr=False)
class OneGlibc(Record):
    """A process loads exactly one glibc."""


@attrs.frozen(repr=False)
class OneProvider(Record):
    """A process loads one file per soname."""

    name: str


@attrs.frozen(repr=False)
class NoLoader(Record):
    """Glibc ``glibc`` ships no loader for the roots' machine, yet they need one."""

    glibc: str


Fact = (
    Needs
    | BundledProvides
    | NoProvider
    | Excluded
    | ClosureProvides
    | ClosureGlibc
    | NotFromGlibc
    | OneGlibc
    | OneProvider
    | NoLoader
)
