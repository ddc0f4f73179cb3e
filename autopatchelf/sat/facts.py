"""Hard facts of an encoding, each kept behind one selector literal.

When no solution exists, the minimised UNSAT core is a set of these facts: the
explanation is written from them (see :mod:`autopatchelf.solution.explain`).
"""

from __future__ import annotations

import attrs

from autopatchelf.problem.model import DlopenNeed, Exclusion


@attrs.frozen
class Needs:
    """``requester`` (a foreign object: root or bundled library) needs ``name``."""

    requester: str
    name: str


@attrs.frozen
class Dlopens(Needs):
    """``requester`` (any object of the process) dlopen()s ``name``: needed while
    ``requester`` is loaded. ``need`` says why (a note's priority, ``--dlopen``)."""

    need: DlopenNeed = attrs.field(eq=False)


@attrs.frozen
class BundledProvides:
    """``requester``'s own ``$ORIGIN`` search finds ``name`` as bundled file ``provider``."""

    requester: str
    name: str
    provider: str


@attrs.frozen
class NoProvider:
    """No file in the store answers to ``name``; ``closest`` names do exist."""

    name: str
    closest: tuple[str, ...]
    #: Files with that name that were ruled out for the architecture.
    wrong_arch: tuple[str, ...] = ()


@attrs.frozen
class Excluded:
    """A version or versioned-symbol check rules a candidate out for a requester."""

    exclusion: Exclusion


@attrs.frozen
class ClosureProvides:
    """Store library ``requester``, once loaded, gets ``name`` from ``provider`` (its RUNPATH
    inside its closure), so no other file may provide ``name`` in the process."""

    requester: str
    name: str
    provider: str


@attrs.frozen
class ClosureGlibc:
    """Store path ``store_path``'s closure uses ``glibcs`` (strict policy: it must be one
    of these)."""

    store_path: str
    glibcs: tuple[str, ...]


@attrs.frozen
class NotFromGlibc:
    """``provider`` answers to glibc name ``name`` but is not part of a glibc store path."""

    name: str
    provider: str


@attrs.frozen
class OneGlibc:
    """A process loads exactly one glibc."""


@attrs.frozen
class OneProvider:
    """A process loads one file per soname."""

    name: str


@attrs.frozen
class NoLoader:
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
