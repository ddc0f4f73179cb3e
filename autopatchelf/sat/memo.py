"""The last encodings made, handed out again with their optimisers: solves of one problem
that differ only in the missing names they allow (``check`` setting missing libraries
aside round by round) encode it once and share one
:class:`~autopatchelf.sat.optimize.Optimiser` (which allows them by assumptions)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from autopatchelf.options import GlibcPolicy, SolveOptions
from autopatchelf.problem.model import Problem
from autopatchelf.sat.encode import encode
from autopatchelf.sat.optimize import Optimiser
from autopatchelf.sat.preferences import Preferences

#: What an encoding is made from besides its problem: the glibc policy and the wishes
#: :meth:`Preferences.of` reads (``--prefer``, ``--avoid``, the lock, the system).
EncodingKey = tuple[
    int, GlibcPolicy, tuple[str, ...], tuple[str, ...], object, frozenset[str], object
]


class EncodingMemo:
    """The last ``size`` encodings (each in its optimiser), by problem (its identity:
    problems handed out again by a :class:`~autopatchelf.problem.memo.ProblemMemo` are
    the same object) and by everything else they are made from. A context manager:
    closing it frees the optimisers' solvers (dropping it does too)."""

    def __init__(self, size: int = 2) -> None:
        self._size = size
        self._made: OrderedDict[EncodingKey, tuple[Problem, Optimiser]] = OrderedDict()
        #: How many encodings were made, and how many were handed out again.
        self.made = 0
        self.hits = 0

    def __enter__(self) -> EncodingMemo:
        return self

    def __exit__(self, *exc: object) -> None:
        while self._made:
            self._made.popitem()[1][1].close()

    def optimiser(
        self,
        problem: Problem,
        options: SolveOptions,
        in_use: frozenset[str],
        version_of: Callable[[str], tuple[object, ...]],
    ) -> Optimiser:
        """The optimiser of ``problem``'s encoding under ``options``' glibc policy and
        wishes, with ``in_use`` as the system's closure (``options.allow_missing`` is not
        read: the optimiser is told what each solve allows)."""
        key: EncodingKey = (
            id(problem),
            options.glibc,
            options.prefer,
            options.avoid,
            options.locked,
            in_use,
            version_of,
        )
        found = self._made.get(key)
        if found is not None and found[0] is problem:  # kept alive: its id is its own
            self._made.move_to_end(key)
            self.hits += 1
            return found[1]
        optimiser = Optimiser(
            encode(problem, options.glibc, Preferences.of(options, in_use), version_of)
        )
        self.made += 1
        self._made[key] = (problem, optimiser)
        while len(self._made) > self._size:
            self._made.popitem(last=False)[1][1].close()
        return optimiser
