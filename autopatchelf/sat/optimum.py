"""An encoding's optimum, and optima kept between runs by the content of their formula.

:class:`~autopatchelf.sat.optimize.Optimiser` is deterministic: what it answers depends
only on the formula it is given (hard and soft clauses, which variables are choices and
glibcs, the selectors held) and on how many alternatives are asked for. An optimum kept
under a digest of exactly those never goes stale, and a warm solve whose problem is the
one solved before reads it back instead of importing a SAT solver and optimising again.
It is kept in the verdict store (``autopatchelf.problem.verdicts.VerdictStore``) the
version verdicts are kept in (SQLite, for the index); nothing here imports python-sat.

Raise :data:`RULES` when the optimiser changes what it answers for a given formula (its
order of glibc cases, its tie-breaks, how alternatives are chosen).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection

import attrs

from autopatchelf.frozen import Record
from autopatchelf.problem.verdicts import Verdict, kept_json
from autopatchelf.sat.encode import Encoding

#: Part of every key: raise it when the optimiser's answers change.
RULES = b"optimum/1"

#: The verdict kind of a kept optimum.
OPTIMUM = "optimum"

Choices = frozenset[tuple[str, str]]


@attrs.frozen(repr=False)
class Optimum(Record):
    #: Chosen (name, file) pairs.
    choices: Choices
    glibc: str | None
    cost: int
    #: Other choice sets with the same cost (at most ``max_alternatives``).
    alternatives: tuple[Choices, ...]


def optimum_key(enc: Encoding, allowed: Collection[str], max_alternatives: int) -> bytes:
    """The key of ``enc``'s optimum with ``allowed`` missing names set aside: a digest
    of everything the optimiser reads (the fact a selector guards is not among it: it
    only names a conflict)."""
    digest = hashlib.blake2b(RULES, digest_size=16)
    for part in (
        enc.top,
        enc.hard,
        enc.soft,
        sorted(enc.choices.items(), key=lambda kv: kv[1]),
        list(enc.glibc_vars.items()),
        enc.assumptions(allowed),
        max_alternatives,
    ):
        digest.update(b"\0" + repr(part).encode("utf-8", "surrogateescape"))
    return b"o" + digest.digest()


def optimum_verdict(optimum: Optimum) -> Verdict:
    """What is kept of ``optimum``: JSON, choice sets sorted."""
    return (
        OPTIMUM,
        json.dumps(
            {
                "choices": sorted(optimum.choices),
                "glibc": optimum.glibc,
                "cost": optimum.cost,
                "alternatives": [sorted(a) for a in optimum.alternatives],
            }
        ),
    )


def optimum_from(verdict: Verdict, enc: Encoding) -> Optimum | None:
    """:func:`optimum_verdict`'s value back, if it is one and every choice and glibc it
    names is one of ``enc``'s (``None`` otherwise: optimise again)."""
    data = kept_json(verdict, OPTIMUM)
    if not isinstance(data, dict):
        return None
    choices = _choices(data.get("choices"), enc)
    alternatives = data.get("alternatives")
    glibc, cost = data.get("glibc"), data.get("cost")
    if choices is None or not isinstance(alternatives, list):
        return None
    if not (glibc is None or (isinstance(glibc, str) and glibc in enc.glibc_vars)):
        return None
    if not isinstance(cost, int) or isinstance(cost, bool):
        return None
    others = [_choices(a, enc) for a in alternatives]
    if any(o is None for o in others):
        return None
    return Optimum(choices, glibc, cost, tuple(o for o in others if o is not None))


def _choices(value: object, enc: Encoding) -> Choices | None:
    if not isinstance(value, list):
        return None
    pairs: list[tuple[str, str]] = []
    for item in value:
        if not (isinstance(item, list) and len(item) == 2):
            return None
        if not (isinstance(item[0], str) and isinstance(item[1], str)):
            return None
        pair = (item[0], item[1])
        if pair not in enc.choices:
            return None
        pairs.append(pair)
    return frozenset(pairs)
