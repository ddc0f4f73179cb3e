"""Optima kept between runs (autopatchelf.sat.optimum): keyed by everything the optimiser
reads, read back instead of optimising again, and never trusted when they do not fit the
encoding; and the cardinality encoding that lets an encoding be made without python-sat."""

from __future__ import annotations

import json

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from memstore import MemStore
from pysat.card import CardEnc, EncType
from pysat.formula import IDPool

from autopatchelf.elf.facts import ElfFacts
from autopatchelf.errors import Unsatisfiable
from autopatchelf.options import GlibcPolicy, SolveOptions
from autopatchelf.problem.verdicts import MemoryVerdicts
from autopatchelf.sat.encode import at_most_one, encode
from autopatchelf.sat.memo import EncodingMemo
from autopatchelf.sat.optimize import optimise
from autopatchelf.sat.optimum import (
    OPTIMUM,
    Optimum,
    optimum_from,
    optimum_key,
    optimum_verdict,
)
from autopatchelf.sat.preferences import Preferences
from autopatchelf.solution.model import Solution
from autopatchelf.solution.solve import solve_problem


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(1, 500), unique=True, max_size=40),
    st.lists(st.booleans(), min_size=40, max_size=40),
    st.integers(0, 1000),
)
def test_at_most_one_is_python_sats_sequential_counter(
    variables: list[int], signs: list[bool], shift: int
) -> None:
    lits = [v if positive else -v for v, positive in zip(variables, signs, strict=False)]
    top = 500 + shift  # every literal is below the auxiliaries, as in an encoding
    pool = IDPool(start_from=top + 1)
    theirs = CardEnc.atmost(lits=lits, bound=1, vpool=pool, encoding=EncType.seqcounter)
    assert at_most_one(lits, top) == (theirs.clauses, max(pool.top, top))


@attrs.frozen
class Choices:
    """A store with a real choice: two glibcs, a libfoo built against each."""

    store: MemStore
    app: ElfFacts
    old_foo: str
    new_foo: str
    old_libc: str


def store_with_choices() -> Choices:
    store = MemStore()
    old_glibc = store.glibc("glibc-2.36")
    store.glibc("glibc-2.41")
    old = store.library("libfoo-1.0", "libfoo.so.1", refs=("glibc-2.36",))
    new = store.library("libfoo-2.0", "libfoo.so.1", refs=("glibc-2.41",))
    app = store.program("/app/bin/tool", needs=("libfoo.so.1", "libc.so.6"))
    return Choices(store, app, old.path, new.path, old_glibc.libc.path)


def solve_with(store: MemStore, app: ElfFacts, memo: EncodingMemo) -> Solution:
    return solve_problem([app], store, SolveOptions(), files=store.files, encodings=memo)


def kept_optimum(saved: MemoryVerdicts) -> tuple[bytes, dict[str, object]]:
    ((key, verdict),) = [(k, v) for k, v in saved.saved.items() if v and v[0] == OPTIMUM]
    assert verdict is not None
    return key, json.loads(verdict[1])


def test_a_kept_optimum_is_read_back_and_gives_the_same_solution() -> None:
    c = store_with_choices()
    saved = c.store.keep_verdicts()
    with EncodingMemo() as memo:
        first = solve_with(c.store, c.app, memo)
        assert (memo.kept_read, memo.kept_saved) == (0, 1)
    kept_optimum(saved)  # exactly one
    with EncodingMemo() as memo:
        again = solve_with(c.store, c.app, memo)
        assert (memo.kept_read, memo.kept_saved) == (1, 0)
    assert again == first
    assert first.choices["libfoo.so.1"] == c.new_foo


def test_the_kept_optimum_is_what_the_solve_uses() -> None:
    # Proof that it is read rather than found again: a kept optimum changed to another
    # model of the encoding (the older glibc and libfoo) is the answer of the next solve
    # (no real store is ever written so).
    c = store_with_choices()
    saved = c.store.keep_verdicts()
    assert c.store.solve([c.app]).choices["libfoo.so.1"] == c.new_foo
    key, data = kept_optimum(saved)
    older = {"libfoo.so.1": c.old_foo, "libc.so.6": c.old_libc}
    data["choices"] = sorted([name, older.get(name, path)] for name, path in data["choices"])
    data["glibc"] = c.store.path("glibc-2.36")
    data["alternatives"] = []
    saved.saved[key] = (OPTIMUM, json.dumps(data))
    again = c.store.solve([c.app])
    assert again.choices["libfoo.so.1"] == c.old_foo
    assert again.glibc == c.store.path("glibc-2.36")


def test_a_kept_optimum_that_does_not_fit_the_encoding_is_not_used() -> None:
    c = store_with_choices()
    saved = c.store.keep_verdicts()
    first = c.store.solve([c.app])
    key, data = kept_optimum(saved)
    for bad in (
        {**data, "choices": [*data["choices"], ["libfoo.so.1", "/elsewhere/libfoo.so.1"]]},
        {**data, "glibc": "/nix/store/00000000000000000000000000000000-glibc-9"},
        {**data, "cost": "3"},
        {**data, "alternatives": [[[1, 2]]]},
        [data],
    ):
        saved.saved[key] = (OPTIMUM, json.dumps(bad))
        with EncodingMemo() as memo:
            assert solve_with(c.store, c.app, memo) == first
            assert (memo.kept_read, memo.kept_saved) == (0, 1)  # optimised, kept again
    saved.saved[key] = (OPTIMUM, "{not json")
    assert c.store.solve([c.app]) == first


def test_the_key_follows_what_the_optimiser_reads() -> None:
    c = store_with_choices()
    problem = c.store.problem([c.app])
    enc = encode(problem, GlibcPolicy.STRICT, Preferences(), c.store.version_of)
    key = optimum_key(enc, (), 8)
    assert key == optimum_key(
        encode(problem, GlibcPolicy.STRICT, Preferences(), c.store.version_of), (), 8
    )
    assert key != optimum_key(enc, (), 1)  # how many alternatives are asked for
    preferring = encode(
        problem, GlibcPolicy.STRICT, Preferences.of(SolveOptions(prefer=("libfoo-1.0",)),
        frozenset()), c.store.version_of,
    )  # fmt: skip
    assert key != optimum_key(preferring, (), 8)
    heavier = attrs.evolve(enc, soft=[(clause, weight + 1) for clause, weight in enc.soft])
    assert key != optimum_key(heavier, (), 8)
    renamed = attrs.evolve(enc, choices={(n, p + "x"): v for (n, p), v in enc.choices.items()})
    assert key != optimum_key(renamed, (), 8)


def test_the_codec_round_trips_an_optimum() -> None:
    c = store_with_choices()
    problem = c.store.problem([c.app])
    enc = encode(problem, GlibcPolicy.STRICT, Preferences(), c.store.version_of)
    best = optimise(enc, max_alternatives=8)
    assert isinstance(best, Optimum)
    assert optimum_from(optimum_verdict(best), enc) == best
    assert optimum_from(None, enc) is None
    assert optimum_from(("version", "{}"), enc) is None


def test_only_solved_problems_keep_an_optimum() -> None:
    store = MemStore()
    store.glibc("glibc-2.36")
    app = store.program("/app/bin/tool", needs=("libgone.so.1", "libc.so.6"))
    saved = store.keep_verdicts()
    with pytest.raises(Unsatisfiable):
        store.solve([app])
    assert not [v for v in saved.saved.values() if v and v[0] == OPTIMUM]
    solution = store.solve([app], allow_missing=("libgone.so.1",))
    assert "libgone.so.1" not in solution.choices
    kept_optimum(saved)  # the solve that allowed it, under its own key
    with pytest.raises(Unsatisfiable):
        store.solve([app])  # not answered by the other solve's optimum
