"""Sharing across solves: a memoised source and built problems handed out again."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from memstore import MemStore

from autopatchelf.errors import Unsatisfiable
from autopatchelf.options import GlibcPolicy, SolveOptions
from autopatchelf.problem.build import build_problem
from autopatchelf.problem.memo import MemoSource, ProblemMemo
from autopatchelf.problem.model import Problem
from autopatchelf.solution.solve import solve_problem


class Counting:
    """Wraps a source and counts the questions it is asked."""

    def __init__(self, inner: MemStore) -> None:
        self.inner = inner
        self.asked: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)

        def counted(*args: Any) -> Any:
            self.asked[name] += 1
            return method(*args)

        return counted


def store_and_app(needs: tuple[str, ...] = ("libfoo.so.1", "libc.so.6")) -> tuple[MemStore, Any]:
    store = MemStore()
    store.glibc("glibc-2.36")
    store.library("libfoo-1.0", "libfoo.so.1", needs=("libc.so.6",), refs=("glibc-2.36",))
    app = store.program("/app/bin/tool", needs=needs)
    return store, app


def test_memo_source_asks_each_question_once_and_answers_the_same() -> None:
    store, app = store_and_app()
    counting = Counting(store)
    memo = MemoSource(counting)  # type: ignore[arg-type]
    first = build_problem([app], memo, files=store.files)
    second = build_problem([app], memo, files=store.files)
    assert first == second == build_problem([app], store, files=store.files)
    once = dict(counting.asked)
    build_problem([app], memo, files=store.files)
    assert counting.asked == once  # the third build asked the store nothing
    assert once["candidates"] == len({"libfoo.so.1", "libc.so.6"} | set(first.candidates))


def test_problem_memo_builds_once_per_input() -> None:
    store, app = store_and_app()
    memo = ProblemMemo(build_problem, size=2)
    one = memo.build([app], store, files=store.files)
    assert memo.build([app.path], store, files=store.files) is one  # a path or its facts
    assert (memo.builds, memo.hits) == (1, 1)
    other = memo.build([app], store, files=store.files, glibc_policy=GlibcPolicy.COMPATIBLE)
    assert other is not one and memo.builds == 2
    assert memo.build([app], MemoSource(store), files=store.files) is not one  # another source
    # Only the last ``size`` are kept: the first was dropped.
    assert memo.build([app], store, files=store.files) is not one
    assert memo.builds == 4


def test_solves_differing_only_in_allow_missing_build_one_problem() -> None:
    store, app = store_and_app(needs=("libfoo.so.1", "libgone.so.3", "libc.so.6"))
    built: list[Problem] = []

    def build(*args: Any, **kwargs: Any) -> Problem:
        built.append(build_problem(*args, **kwargs))
        return built[-1]

    memo = ProblemMemo(build)
    with pytest.raises(Unsatisfiable) as failed:
        solve_problem([app], store, SolveOptions(), files=store.files, problems=memo)
    assert failed.value.explanation.diagnosis.subject == "libgone.so.3"
    allowed = SolveOptions(allow_missing=("libgone.so.3",))
    solution = solve_problem([app], store, allowed, files=store.files, problems=memo)
    plain = solve_problem([app], store, allowed, files=store.files)
    assert solution == plain
    assert "libgone.so.3 is missing (allowed)" in " ".join(solution.warnings)
    assert len(built) == 1 and memo.hits == 1


def test_version_checks_of_pairs_are_shared_between_builds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from autopatchelf.problem import build as build_module

    store = MemStore()
    store.glibc("glibc-2.36")
    store.library(
        "libfoo-1.0", "libfoo.so.1", defines=("FOO_1.0",), needs=("libc.so.6",),
        refs=("glibc-2.36",),
    )  # fmt: skip
    store.library(
        "libfoo-2.0", "libfoo.so.1", defines=("FOO_1.0", "FOO_2.0"),
        exports={"foo_new": "FOO_2.0"}, needs=("libc.so.6",), refs=("glibc-2.36",),
    )  # fmt: skip
    one = store.program("/app/bin/one", needs=("libfoo.so.1", "libc.so.6"),
                        version_needs={"libfoo.so.1": ("FOO_2.0",)})  # fmt: skip
    two = store.program("/app/bin/two", needs=("libfoo.so.1", "libc.so.6"),
                        version_needs={"libfoo.so.1": ("FOO_2.0",)})  # fmt: skip
    checked: list[tuple[str, str]] = []
    real = build_module._Builder._check_pair

    def counting(self: Any, requester: Any, name: str, provider: Any, *args: Any) -> Any:
        checked.append((requester.path, provider.path))
        return real(self, requester, name, provider, *args)

    monkeypatch.setattr(build_module._Builder, "_check_pair", counting)
    memo = ProblemMemo(build_problem)
    first = memo.build([one], store, files=store.files)
    pairs_first = len(checked)
    second = memo.build([two], store, files=store.files)
    # The second build checks only its own root's pairs: the store's were done.
    assert any(pair[0] != one.path for pair in checked[:pairs_first])  # store requesters
    again = [pair for pair in checked[pairs_first:] if pair[0] != two.path]
    assert again == [] and len(checked) > pairs_first
    for built, root in ((first, one), (second, two)):
        assert built == build_problem([root], store, files=store.files)
        assert any(e.requester == root.path and e.what == "FOO_2.0" for e in built.exclusions)
