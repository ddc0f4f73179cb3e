"""Allowing missing names by assumptions (their facts' selectors held false) is encoding the
problem without those facts: the same conflicts round by round, the same optimum."""

from __future__ import annotations

import attrs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from memstore import MemStore
from test_decompose import random_store

from autopatchelf.options import GlibcPolicy, SolveOptions
from autopatchelf.sat import facts as F
from autopatchelf.sat.encode import Encoding, encode
from autopatchelf.sat.memo import EncodingMemo
from autopatchelf.sat.optimize import Optimiser, check, optimise
from autopatchelf.sat.preferences import Preferences


def without(enc: Encoding, allowed: frozenset[str]) -> Encoding:
    """The encoding as it was made before assumptions allowed names: their facts (and
    clauses) left out."""
    off = {enc.missing[name] for name in allowed}
    return attrs.evolve(
        enc,
        hard=[c for c in enc.hard if not any(-s in c for s in off)],
        selectors={s: f for s, f in enc.selectors.items() if s not in off},
        missing={n: s for n, s in enc.missing.items() if n not in allowed},
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    random_store(),
    st.lists(st.integers(0, 5), max_size=4, unique=True),
    st.sampled_from([GlibcPolicy.STRICT, GlibcPolicy.COMPATIBLE]),
)
def test_allowing_by_assumptions_finds_what_leaving_the_facts_out_finds(
    built: tuple[MemStore, list[str]], missing: list[int], policy: GlibcPolicy
) -> None:
    store, needs = built
    absent = [f"libgone{i}.so.1" for i in missing]
    program = store.program(
        "/app/bin/tool",
        needs=(*absent, *needs, "libc.so.6"),
        version_needs={name: ["S_2"] for name in needs},
    )
    enc = encode(store.problem([program]), policy, Preferences(), store.version_of)
    assert set(enc.missing) == set(absent)
    allowed: frozenset[str] = frozenset()
    while True:  # what check does: set each missing name aside, round by round
        reference = without(enc, allowed)
        conflict = check(enc, allowed)
        assert conflict == check(reference)
        best = optimise(enc, allowed=allowed)
        assert best == optimise(reference)
        assert (best is None) == (conflict is not None)
        if conflict is None:
            break
        gone = [f.name for f in conflict.facts if isinstance(f, F.NoProvider)]
        if not gone:
            break
        assert not allowed & set(gone)
        allowed |= {gone[0]}
    assert allowed <= set(absent)


def test_the_memo_encodes_a_problem_once_whatever_it_allows() -> None:
    store = MemStore()
    store.glibc("glibc-2.36")
    problem = store.problem([store.program("/app/bin/tool", needs=("libgone.so.1",))])
    options = SolveOptions()
    with EncodingMemo() as memo:
        first = memo.optimiser(problem, options, frozenset(), store.version_of)
        again = memo.optimiser(
            problem, attrs.evolve(options, allow_missing=("libgone.so.1",)), frozenset(),
            store.version_of,
        )  # fmt: skip
        assert again is first and (memo.made, memo.hits) == (1, 1)
        assert first.optimise() is None and first.check() is not None
        assert first.optimise({"libgone.so.1"}) is not None
        assert first.check({"libgone.so.1"}) is None
        assert first.optimise() is None  # what one solve allowed is not kept for the next
        other = memo.optimiser(
            problem, attrs.evolve(options, prefer=("x",)), frozenset(), store.version_of
        )
        assert other is not first and memo.made == 2


def test_one_optimiser_finds_what_a_fresh_one_finds_in_any_order_of_solves() -> None:
    store = MemStore()
    store.glibc("glibc-2.36")
    store.library("libfoo-1.0", "libfoo.so.1", needs=("libc.so.6",), refs=("glibc-2.36",))
    program = store.program(
        "/app/bin/tool", needs=("libgone.so.1", "libfoo.so.1", "libnone.so.2", "libc.so.6")
    )
    enc = encode(store.problem([program]), GlibcPolicy.STRICT, Preferences(), store.version_of)
    sets = [set(), {"libgone.so.1"}, {"libgone.so.1", "libnone.so.2"}, {"libnone.so.2"}, set()]
    with Optimiser(enc) as shared:
        for allowed in sets + sets[::-1]:
            assert shared.optimise(allowed) == optimise(enc, allowed=allowed)
            assert shared.check(allowed) == check(enc, allowed)
