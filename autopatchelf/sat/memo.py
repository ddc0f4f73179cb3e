"""The last encodings made, handed out again with their optimisers: solves of one problem
that differ only in the missing names they allow (``check`` setting missing libraries
aside round by round) encode it once and share one
:class:`~autopatchelf.sat.optimize.Optimiser` (which allows them by assumptions).

An optimum kept between runs (:mod:`~autopatchelf.sat.optimum`) is read back here before
any optimiser is made: a warm solve of a problem solved before imports no SAT solver.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING

from autopatchelf.options import GlibcPolicy, SolveOptions
from autopatchelf.problem.model import Problem
from autopatchelf.problem.verdicts import VerdictStore
from autopatchelf.sat.encode import Encoding, encode
from autopatchelf.sat.optimum import Optimum, optimum_from, optimum_key, optimum_verdict
from autopatchelf.sat.preferences import Preferences

if TYPE_CHECKING:  # python-sat is imported only when an optimiser is made
    from autopatchelf.sat.optimize import Optimiser

#: What an encoding is made from besides its problem: the glibc policy and the wishes
#: :meth:`Preferences.of` reads (``--prefer``, ``--avoid``, the lock, the system).
EncodingKey = tuple[
    int, GlibcPolicy, tuple[str, ...], tuple[str, ...], object, frozenset[str], object
]


class _Made:
    """One encoding, its problem (kept alive: the key holds its id) and, once asked
    for, its optimiser."""

    def __init__(self, problem: Problem, encoding: Encoding) -> None:
        self.problem = problem
        self.encoding = encoding
        self.optimiser: Optimiser | None = None

    def close(self) -> None:
        if self.optimiser is not None:
            self.optimiser.close()


class EncodingMemo:
    """The last ``size`` encodings (each with its optimiser), by problem (its identity:
    problems handed out again by a :class:`~autopatchelf.problem.memo.ProblemMemo` are
    the same object) and by everything else they are made from. A context manager:
    closing it frees the optimisers' solvers (dropping it does too)."""

    def __init__(self, size: int = 2) -> None:
        self._size = size
        self._made: OrderedDict[EncodingKey, _Made] = OrderedDict()
        #: How many encodings were made, and how many were handed out again.
        self.made = 0
        self.hits = 0
        #: How many optima were read back from a verdict store, and how many were kept.
        self.kept_read = 0
        self.kept_saved = 0

    def __enter__(self) -> EncodingMemo:
        return self

    def __exit__(self, *exc: object) -> None:
        while self._made:
            self._made.popitem()[1].close()

    def encoding(
        self,
        problem: Problem,
        options: SolveOptions,
        in_use: frozenset[str],
        version_of: Callable[[str], tuple[object, ...]],
    ) -> Encoding:
        """``problem``'s encoding under ``options``' glibc policy and wishes, with
        ``in_use`` as the system's closure (``options.allow_missing`` is not read: each
        solve says what it allows)."""
        return self._entry(problem, options, in_use, version_of).encoding

    def optimiser(
        self,
        problem: Problem,
        options: SolveOptions,
        in_use: frozenset[str],
        version_of: Callable[[str], tuple[object, ...]],
    ) -> Optimiser:
        """The optimiser of :meth:`encoding`'s encoding (made on first use)."""
        made = self._entry(problem, options, in_use, version_of)
        if made.optimiser is None:
            from autopatchelf.sat.optimize import Optimiser  # python-sat: only now

            made.optimiser = Optimiser(made.encoding)
        return made.optimiser

    def optimum(
        self,
        problem: Problem,
        options: SolveOptions,
        in_use: frozenset[str],
        version_of: Callable[[str], tuple[object, ...]],
        allowed: Collection[str],
        kept: VerdictStore | None = None,
    ) -> Optimum | None:
        """The optimum with ``allowed`` missing names set aside (``None``: the hard facts
        cannot all hold, :meth:`optimiser`'s ``check`` says why), read from ``kept`` when
        it holds this formula's, else optimised (and then kept there)."""
        encoding = self.encoding(problem, options, in_use, version_of)
        key = None
        if kept is not None:
            key = optimum_key(encoding, allowed, options.max_alternatives)
            found = optimum_from(kept.load([key]).get(key), encoding)
            if found is not None:
                self.kept_read += 1
                return found
        optimiser = self.optimiser(problem, options, in_use, version_of)
        best = optimiser.optimise(allowed, max_alternatives=options.max_alternatives)
        if best is not None and kept is not None and key is not None:
            kept.save({key: optimum_verdict(best)})
            self.kept_saved += 1
        return best

    def _entry(
        self,
        problem: Problem,
        options: SolveOptions,
        in_use: frozenset[str],
        version_of: Callable[[str], tuple[object, ...]],
    ) -> _Made:
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
        if found is not None and found.problem is problem:  # kept alive: its id is its own
            self._made.move_to_end(key)
            self.hits += 1
            return found
        made = _Made(
            problem, encode(problem, options.glibc, Preferences.of(options, in_use), version_of)
        )
        self.made += 1
        self._made[key] = made
        while len(self._made) > self._size:
            self._made.popitem(last=False)[1].close()
        return made
