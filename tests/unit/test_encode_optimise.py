"""Encoding and optimisation: the hard rules hold, and the soft wishes rank the rest."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest
from memstore import MemStore

from autopatchelf.elf.facts import ElfFacts
from autopatchelf.errors import Unsatisfiable
from autopatchelf.options import Delivery, GlibcPolicy
from autopatchelf.problem.model import Problem, Provider
from autopatchelf.sat import facts as F
from autopatchelf.sat.encode import Encoding, encode
from autopatchelf.sat.optimize import check, optimise
from autopatchelf.sat.preferences import Preferences, matcher
from autopatchelf.solution.greedy import greedy_first_match
from autopatchelf.solution.model import Alternative


def labels(store: MemStore, choices: Mapping[str, str]) -> dict[str, str]:
    """name -> the label (``libfoo-2.0``) of the store path of the chosen file."""
    return {name: store.label(store.file(path).store_path) for name, path in choices.items()}


def libfoo_store(*versions: str, glibc: str = "glibc-2.36") -> MemStore:
    store = MemStore()
    store.glibc(glibc)
    for version in versions:
        store.library(
            f"libfoo-{version}",
            "libfoo.so.1",
            defines=tuple(f"FOO_{v}" for v in versions if v <= version),
            needs=("libc.so.6",),
            refs=(glibc,),
        )
    return store


def tool(store: MemStore, *needs: str, path: str = "/app/bin/tool", **kw: Any) -> ElfFacts:
    """A program needing ``needs`` and libc.so.6."""
    return store.program(path, needs=(*needs, "libc.so.6"), **kw)


def tool_again(store: MemStore, *needs: str) -> ElfFacts:
    return tool(store, *needs, path="/app/bin/tool-again")


def encoded(problem: Problem, store: MemStore) -> Encoding:
    return encode(problem, GlibcPolicy.STRICT, Preferences(), store.version_of)


# -- the diamond ---------------------------------------------------------------------------


def diamond() -> MemStore:
    """liba-2.0's closure brings libdep-2.0, which dropped the DEP_1.0 libb needs."""
    store = MemStore()
    store.glibc("glibc-2.36")
    for version, defines in (("1.0", ("DEP_1.0",)), ("2.0", ("DEP_2.0",))):
        store.library(
            f"libdep-{version}",
            "libdep.so.1",
            defines=defines,
            needs=("libc.so.6",),
            refs=("glibc-2.36",),
        )
        store.library(
            f"liba-{version}",
            "liba.so.1",
            needs=("libdep.so.1", "libc.so.6"),
            refs=(f"libdep-{version}", "glibc-2.36"),
        )
    store.library(
        "libb-1.0",
        "libb.so.1",
        needs=("libdep.so.1", "libc.so.6"),
        version_needs={"libdep.so.1": ("DEP_1.0",)},
        refs=("libdep-1.0", "glibc-2.36"),
    )
    return store


def test_the_diamond_newest_first_gets_wrong_is_solved_with_the_older_liba() -> None:
    store = diamond()
    app = tool(store, "liba.so.1", "libb.so.1")
    greedy = labels(store, greedy_first_match([app], store))
    assert greedy["liba.so.1"] == "liba-2.0"  # the newest: brings the wrong libdep
    assert greedy["libdep.so.1"] == "libdep-2.0"
    solution = store.solve([app])
    assert labels(store, solution.choices) == {
        "liba.so.1": "liba-1.0",
        "libb.so.1": "libb-1.0",
        "libdep.so.1": "libdep-1.0",
        "libc.so.6": "glibc-2.36",
        "ld-linux-x86-64.so.2": "glibc-2.36",
    }
    assert solution.unique
    assert solution.store_paths == tuple(
        sorted(store.path(n) for n in ("liba-1.0", "libb-1.0", "libdep-1.0", "glibc-2.36"))
    )


def test_encoding_the_diamond_directly_finds_the_same_optimum() -> None:
    store = diamond()
    problem = store.problem([tool(store, "liba.so.1", "libb.so.1")])
    enc = encoded(problem, store)
    assert check(enc) is None
    best = optimise(enc)
    assert best is not None
    assert (
        "liba.so.1",
        store.lib_dir("liba-1.0") + "/liba.so.1",
    ) in best.choices
    assert best.glibc == store.path("glibc-2.36")
    assert best.alternatives == ()
    # Every choice variable the optimum sets true is one the problem offered.
    assert all(path in problem.candidates[name] for name, path in best.choices)


def test_without_libb_the_newest_liba_is_chosen() -> None:
    store = diamond()
    solution = store.solve([tool(store, "liba.so.1")])
    assert labels(store, solution.choices)["liba.so.1"] == "liba-2.0"
    assert labels(store, solution.choices)["libdep.so.1"] == "libdep-2.0"


# -- glibc -----------------------------------------------------------------------------------


def test_one_glibc_is_chosen_and_every_glibc_name_comes_from_it() -> None:
    store = MemStore()
    store.glibc("glibc-2.36", libs=("libm.so.6",))
    new = store.glibc("glibc-2.38", libs=("libm.so.6",))
    solution = store.solve([tool(store, "libm.so.6")])
    assert solution.glibc == new.store_path
    assert solution.interpreter == new.loader.path  # type: ignore[union-attr]
    assert set(labels(store, solution.choices).values()) == {"glibc-2.38"}
    assert set(solution.choices) == {"libm.so.6", "libc.so.6", "ld-linux-x86-64.so.2"}


def test_a_closure_built_against_the_older_glibc_makes_it_the_glibc() -> None:
    store = MemStore()
    old = store.glibc("glibc-2.36")
    store.glibc("glibc-2.38")
    store.library("libfoo-1.0", "libfoo.so.1", needs=("libc.so.6",), refs=("glibc-2.36",))
    solution = store.solve([tool(store, "libfoo.so.1")])
    assert solution.glibc == old.store_path
    assert solution.choices["libc.so.6"] == old.libc.path


def two_glibc_closures() -> MemStore:
    store = MemStore()
    store.glibc("glibc-2.36")
    store.glibc("glibc-2.38")
    store.library(
        "libold-1.0",
        "libold.so.1",
        needs=("libc.so.6",),
        version_needs={"libc.so.6": ("GLIBC_2.2.5",)},
        refs=("glibc-2.36",),
    )
    store.library(
        "libnew-1.0",
        "libnew.so.1",
        needs=("libc.so.6",),
        version_needs={"libc.so.6": ("GLIBC_2.38",)},
        refs=("glibc-2.38",),
    )
    return store


def test_strict_policy_refuses_closures_of_two_glibcs_compatible_takes_the_newer() -> None:
    store = two_glibc_closures()
    app = tool(store, "libold.so.1", "libnew.so.1")
    with pytest.raises(Unsatisfiable):
        store.solve([app])
    solution = store.solve([app], glibc="compatible")
    assert solution.glibc == store.path("glibc-2.38")
    assert solution.glibc_policy is GlibcPolicy.COMPATIBLE
    assert labels(store, solution.choices)["libc.so.6"] == "glibc-2.38"


def test_compatible_policy_never_picks_a_glibc_lacking_a_version_a_library_needs() -> None:
    store = two_glibc_closures()
    app = tool(store, "libold.so.1", "libnew.so.1")
    # Avoiding glibc-2.38 is a wish; libnew's need of GLIBC_2.38 is a hard constraint.
    solution = store.solve([app], glibc="compatible", avoid=["glibc-2.38"])
    assert solution.glibc == store.path("glibc-2.38")


def test_the_newest_glibc_wins_when_nothing_ties_the_choice() -> None:
    store = MemStore()
    store.glibc("glibc-2.36")
    store.glibc("glibc-2.41")
    store.glibc("glibc-2.38")
    assert store.solve([tool(store)]).glibc == store.path("glibc-2.41")


# -- versions and symbols ------------------------------------------------------------------


def test_a_version_need_leaves_only_the_provider_defining_it() -> None:
    store = libfoo_store("1.0", "2.0", "3.0")
    store.library("libfoo-4.0", "libfoo.so.1", defines=("FOO_4.0",))  # dropped the old ones
    app = tool(store, "libfoo.so.1", version_needs={"libfoo.so.1": ("FOO_2.0",)})
    solution = store.solve([app])
    assert labels(store, solution.choices)["libfoo.so.1"] == "libfoo-3.0"


def test_a_versioned_symbol_rules_out_a_provider_with_the_same_versions() -> None:
    store = MemStore()
    store.glibc("glibc-2.36")
    store.library("libfoo-2.0", "libfoo.so.1", defines=("FOO_2.0",), exports={"foo_new": "FOO_2.0"})
    store.library(
        "libfoo-2.1", "libfoo.so.1", defines=("FOO_2.0",), exports={"foo_else": "FOO_2.0"}
    )
    plain = tool(store, "libfoo.so.1", version_needs={"libfoo.so.1": ("FOO_2.0",)})
    assert labels(store, store.solve([plain]).choices)["libfoo.so.1"] == "libfoo-2.1"
    app = tool(
        store,
        "libfoo.so.1",
        path="/app/bin/tool-with-imports",
        version_needs={"libfoo.so.1": ("FOO_2.0",)},
        imports={"foo_new": "FOO_2.0"},
    )
    assert labels(store, store.solve([app]).choices)["libfoo.so.1"] == "libfoo-2.0"


# -- ties and alternatives -----------------------------------------------------------------


def test_two_equal_providers_are_a_tie_reported_as_alternatives() -> None:
    store = MemStore()
    store.glibc("glibc-2.36")
    one = store.library("libfoo-2.0", "libfoo.so.1")
    two = store.library("libfoo-fork-2.0", "libfoo.so.1")
    solution = store.solve([tool(store, "libfoo.so.1")])
    chosen = solution.choices["libfoo.so.1"]
    assert chosen in (one.path, two.path)
    other = two.path if chosen == one.path else one.path
    assert solution.alternatives == (Alternative("libfoo.so.1", chosen, (other,)),)
    assert not solution.unique
    again = store.solve([tool_again(store, "libfoo.so.1")], max_alternatives=0)
    assert again.alternatives == ()
    assert again.choices["libfoo.so.1"] == chosen


# -- wishes: pins, lock, system, newest, fewest ----------------------------------------------


@pytest.mark.parametrize(
    "pattern",
    ["libfoo-1.0", "STORE_PATH", "FILE_PATH"],
    ids=["name-version", "store-path", "file"],
)
def test_prefer_beats_newest(pattern: str) -> None:
    store = libfoo_store("1.0", "2.0")
    old = store.lib_dir("libfoo-1.0") + "/libfoo.so.1"
    pattern = {"STORE_PATH": store.path("libfoo-1.0"), "FILE_PATH": old}.get(pattern, pattern)
    default = store.solve([tool(store, "libfoo.so.1")])
    assert labels(store, default.choices)["libfoo.so.1"] == "libfoo-2.0"
    pinned = store.solve([tool_again(store, "libfoo.so.1")], prefer=[pattern])
    assert pinned.choices["libfoo.so.1"] == old


def test_avoid_beats_newest_and_prefer_by_package_name_takes_its_newest() -> None:
    store = libfoo_store("1.0", "2.0", "3.0")
    store.library("libfoo-fork-9.0", "libfoo.so.1", defines=("FOO_1.0",))
    store.library("other-10.0", "libfoo.so.1", defines=("FOO_1.0",))
    app = tool(store, "libfoo.so.1")
    assert labels(store, store.solve([app]).choices)["libfoo.so.1"] == "other-10.0"
    avoided = store.solve([app], avoid=["other", "libfoo-fork", store.path("libfoo-3.0")])
    assert labels(store, avoided.choices)["libfoo.so.1"] == "libfoo-2.0"
    preferred = store.solve([app], prefer=["libfoo-fork"])
    assert labels(store, preferred.choices)["libfoo.so.1"] == "libfoo-fork-9.0"


def test_a_pin_by_package_name_matches_that_package_only() -> None:
    store = libfoo_store("1.0", "2.0")
    store.library("other-10.0", "libfoo.so.1", defines=("FOO_1.0",))
    preferred = store.solve([tool(store, "libfoo.so.1")], prefer=["libfoo"])
    assert labels(store, preferred.choices)["libfoo.so.1"] == "libfoo-2.0"


def provider(store: MemStore, name: str) -> Provider:
    lib = store.library(name, "libfoo.so.1")
    return Provider(lib.path, lib.facts, lib.store_path, name)


def test_matcher_takes_store_paths_files_names_and_name_versions() -> None:
    store = MemStore()
    foo = provider(store, "libfoo-1.0")
    match = matcher([store.path("libfoo-1.0")])
    assert match is not None and match(foo)
    for pattern in (foo.path, "libfoo", "libfoo-1.0", store.path("libfoo-1.0") + "/"):
        found = matcher([pattern])
        assert found is not None and found(foo), pattern
    for pattern in ("libfo", "libfoo-2.0", "/nix/store/lib", store.path("libfoo-2.0")):
        found = matcher([pattern])
        assert found is not None and not found(foo), pattern
    foreign = Provider("/app/lib/libfoo.so.1", foo.facts, None, "/app/lib/libfoo.so.1")
    found = matcher(["libfoo", "/app/lib"])
    assert found is not None and not found(foreign)


def test_matcher_takes_a_version_prefix_at_component_boundaries() -> None:
    store = MemStore()
    one = provider(store, "libfoo-1.0")
    one_five = provider(store, "libfoo-1.5.2")
    ten = provider(store, "libfoo-10.0")
    fork = provider(store, "libfoo-fork-9.0")
    by_version = matcher(["libfoo-1"])
    by_name = matcher(["libfoo"])
    assert by_version is not None and by_name is not None
    assert [by_version(p) for p in (one, one_five, ten, fork)] == [True, True, False, False]
    assert [by_name(p) for p in (one, one_five, ten, fork)] == [True, True, True, False]


def test_a_lock_beats_newest_and_a_stale_lock_is_ignored() -> None:
    store = libfoo_store("1.0", "2.0")
    old = store.lib_dir("libfoo-1.0") + "/libfoo.so.1"
    app = tool(store, "libfoo.so.1")
    locked = store.solve([app], locked={"libfoo.so.1": old})
    assert locked.choices["libfoo.so.1"] == old
    stale = store.solve(
        [app], locked={"libfoo.so.1": "/nix/store/00000000000000000000000000000000-gone/x"}
    )
    assert labels(store, stale.choices)["libfoo.so.1"] == "libfoo-2.0"


def test_pins_never_break_a_hard_constraint() -> None:
    store = libfoo_store("1.0", "2.0")
    old = store.lib_dir("libfoo-1.0") + "/libfoo.so.1"
    app = tool(store, "libfoo.so.1", version_needs={"libfoo.so.1": ("FOO_2.0",)})
    for wish in (
        {"prefer": ["libfoo-1.0"]},
        {"avoid": ["libfoo-2.0"]},
        {"locked": {"libfoo.so.1": old}},
    ):
        solution = store.solve([app], **wish)
        assert labels(store, solution.choices)["libfoo.so.1"] == "libfoo-2.0", wish


def test_the_systems_closure_beats_newest_and_pins_beat_the_system() -> None:
    store = libfoo_store("1.0", "2.0")
    store.refer("system-1", "libfoo-1.0")
    in_use = store.closure(store.path("system-1"))
    app = tool(store, "libfoo.so.1")
    system = store.solve([app], in_use=in_use)
    assert labels(store, system.choices)["libfoo.so.1"] == "libfoo-1.0"
    pinned = store.solve([app], in_use=in_use, prefer=["libfoo-2.0"])
    assert labels(store, pinned.choices)["libfoo.so.1"] == "libfoo-2.0"


def test_fewest_store_paths_break_a_version_tie_but_never_beat_newest() -> None:
    store = MemStore()
    store.glibc("glibc-2.36")
    store.library("libextra-1.0", "libextra.so.1")
    store.library("libfoo-2.0", "libfoo.so.1", needs=("libextra.so.1",), refs=("libextra-1.0",))
    store.library("libfoo-lean-2.0", "libfoo.so.1")
    store.library("libfoo-lean-1.0", "libfoo.so.1")
    solution = store.solve([tool(store, "libfoo.so.1")])
    assert labels(store, solution.choices) == {
        "libfoo.so.1": "libfoo-lean-2.0",
        "libc.so.6": "glibc-2.36",
        "ld-linux-x86-64.so.2": "glibc-2.36",
    }
    assert solution.unique
    assert store.path("libextra-1.0") not in solution.store_paths
    # An older provider with a smaller closure still loses to the newest.
    big = MemStore()
    big.glibc("glibc-2.36")
    big.library("libextra-1.0", "libextra.so.1")
    big.library("libfoo-2.0", "libfoo.so.1", needs=("libextra.so.1",), refs=("libextra-1.0",))
    big.library("libfoo-1.0", "libfoo.so.1")
    newest = big.solve([tool(big, "libfoo.so.1")])
    assert labels(big, newest.choices)["libfoo.so.1"] == "libfoo-2.0"
    assert big.path("libextra-1.0") in newest.store_paths


def test_preferences_read_the_options() -> None:
    from autopatchelf.options import SolveOptions

    prefs = Preferences.of(
        SolveOptions(prefer=["libfoo"], locked={"libfoo.so.1": "/x"}), frozenset({"/s"})
    )
    assert prefs.prefer is not None and prefs.avoid is None
    assert prefs.locked == {"libfoo.so.1": "/x"} and prefs.system == {"/s"}
    assert matcher([]) is None


# -- allow-missing, substitution ------------------------------------------------------------


def test_allow_missing_patterns_turn_a_missing_name_into_a_warning() -> None:
    store = libfoo_store("1.0")
    app = tool(store, "libfoo.so.1", "libbar.so.1", "libbaz.so.2")
    with pytest.raises(Unsatisfiable):
        store.solve([app], allow_missing=["libbar.so.*"])
    solution = store.solve([app], allow_missing=["libbar.so.*", "libbaz*"])
    assert "libbar.so.1" not in solution.choices and "libbaz.so.2" not in solution.choices
    assert labels(store, solution.choices)["libfoo.so.1"] == "libfoo-1.0"
    assert [w for w in solution.warnings if "missing" in w] == [
        "libbar.so.1 is missing (allowed): the program may fail when it is used",
        "libbaz.so.2 is missing (allowed): the program may fail when it is used",
    ]


def test_allow_missing_never_excuses_a_present_name_with_a_version_problem() -> None:
    store = libfoo_store("1.0")
    app = tool(store, "libfoo.so.1", version_needs={"libfoo.so.1": ("FOO_9.0",)})
    with pytest.raises(Unsatisfiable):
        store.solve([app], allow_missing=["*"])


def test_substitution_is_a_last_resort() -> None:
    store = MemStore()
    store.glibc("glibc-2.36")
    sub = store.library("libfoo-3.0", "libfoo.so.2")
    app = tool(store, "libfoo.so.1")
    with pytest.raises(Unsatisfiable):
        store.solve([app])
    solution = store.solve([app], allow_substitution=True)
    assert solution.substitutions == {"libfoo.so.1": "libfoo.so.2"}
    assert solution.choices["libfoo.so.1"] == sub.path
    # ld.so asks for libfoo.so.1: only a link directory serves it under that name.
    assert solution.needs_link_dir and solution.library_path == ()
    real = store.library("libfoo-1.0", "libfoo.so.1")
    exact = store.solve([tool_again(store, "libfoo.so.1")], allow_substitution=True)
    assert exact.substitutions == {} and exact.choices["libfoo.so.1"] == real.path


def test_substitution_asks_for_the_providers_soname_not_its_file_name() -> None:
    """libjq.so.1.0.4 (DT_SONAME libjq.so.1, with that link beside it) substitutes for
    libjq.so.0: the patched DT_NEEDED says libjq.so.1, which a plain RUNPATH finds."""
    store = MemStore()
    store.glibc("glibc-2.36")
    jq = store.library("jq-1.6", "libjq.so.1", file="libjq.so.1.0.4", links=("libjq.so.1",))
    app = tool(store, "libjq.so.0")
    solution = store.solve([app], allow_substitution=True, delivery="runpath")
    assert solution.substitutions == {"libjq.so.0": "libjq.so.1"}
    assert solution.choices["libjq.so.0"] == jq.path
    assert not solution.needs_link_dir
    assert solution.runpath[0] == store.lib_dir("jq-1.6")
    # Without its DT_SONAME's link, the file name is what a search would find.
    bare = MemStore()
    bare.glibc("glibc-2.36")
    bare.library("jq-1.6", "libjq.so.1", file="libjq.so.1.0.4")
    named = bare.solve([tool(bare, "libjq.so.0")], allow_substitution=True, delivery="runpath")
    assert named.substitutions == {"libjq.so.0": "libjq.so.1.0.4"}


def test_prefer_and_avoid_that_match_no_candidate_are_warned_about() -> None:
    store = libfoo_store("1.0", "2.0")
    app = tool(store, "libfoo.so.1")
    solution = store.solve([app], prefer=["libfooo", "libfoo-1"], avoid=["openssl"])
    assert labels(store, solution.choices)["libfoo.so.1"] == "libfoo-1.0"
    assert [w for w in solution.warnings if "matches no" in w] == [
        "--prefer libfooo matches no candidate provider: it changed nothing",
        "--avoid openssl matches no candidate provider: it changed nothing",
    ]
    quiet = store.solve([tool_again(store, "libfoo.so.1")], prefer=["libfoo"])
    assert not [w for w in quiet.warnings if "matches no" in w]


def test_substitution_with_runpath_delivery_is_served_by_the_patched_runpath() -> None:
    store = MemStore()
    store.glibc("glibc-2.36")
    sub = store.library("libfoo-3.0", "libfoo.so.2")
    app = tool(store, "libfoo.so.1")
    solution = store.solve([app], allow_substitution=True, delivery="runpath")
    assert solution.delivery is Delivery.RUNPATH
    assert solution.runpath[0] == store.lib_dir("libfoo-3.0")
    assert [lib.path for lib in solution.roots[0].libraries][:1] == [sub.path]
    assert not solution.needs_link_dir


# -- determinism and the encoding's shape ----------------------------------------------------


def build_mixed(reverse: bool) -> MemStore:
    store = MemStore()
    steps: list[Callable[[], object]] = [
        lambda: store.glibc("glibc-2.36"),
        lambda: store.glibc("glibc-2.38"),
        lambda: store.library("libfoo-2.0", "libfoo.so.1", refs=("glibc-2.36",)),
        lambda: store.library("libfoo-fork-2.0", "libfoo.so.1", refs=("glibc-2.38",)),
        lambda: store.library("libbar-1.0", "libbar.so.1"),
        lambda: store.library("libbar-alt-1.0", "libbar.so.1"),
    ]  # fmt: skip
    for step in reversed(steps) if reverse else steps:
        step()
    return store


def test_the_same_problem_gets_the_same_answer_every_time_in_any_declaration_order() -> None:
    answers = []
    for reverse in (False, True, False, True):
        store = build_mixed(reverse)
        answers.append(store.solve([tool(store, "libfoo.so.1", "libbar.so.1")]))
    assert answers[0] == answers[1] == answers[2] == answers[3]
    assert answers[0].alternatives  # there are ties, and they are broken the same way


def test_every_selector_guards_a_fact_and_a_satisfiable_encoding_checks_clean() -> None:
    store = diamond()
    problem = store.problem([tool(store, "liba.so.1", "libb.so.1")])
    enc = encoded(problem, store)
    assert F.OneGlibc() in enc.selectors.values()
    assert F.OneProvider("libdep.so.1") in enc.selectors.values()
    assert len(set(enc.selectors.values())) == len(enc.selectors)
    assert set(enc.glibc_vars) == set(problem.glibcs)
    assert set(enc.choices) == {(n, p) for n, paths in problem.candidates.items() for p in paths}
    assert all(weight > 0 for _, weight in enc.soft)
    # liba-2.0's RUNPATH fixing its libdep is a fact a conflict may name.
    liba2 = store.lib_dir("liba-2.0") + "/liba.so.1"
    assert F.ClosureProvides(
        liba2, "libdep.so.1", store.lib_dir("libdep-2.0") + "/libdep.so.1"
    ) in (enc.selectors.values())


# -- store paths a binary cache must provide ------------------------------------------------


def test_already_realised_beats_newer_that_must_be_downloaded() -> None:
    store = libfoo_store("1.0", "2.0")
    store.unrealised("libfoo-2.0", 40_000)
    app = tool(store, "libfoo.so.1")
    solution = store.solve([app])
    assert labels(store, solution.choices)["libfoo.so.1"] == "libfoo-1.0"
    assert solution.downloads == ()
    # Once it is needed (only 2.0 defines FOO_2.0), it is downloaded and said so.
    newer = store.solve(
        [
            tool(
                store,
                "libfoo.so.1",
                path="/app/bin/tool-again",
                version_needs={"libfoo.so.1": ("FOO_2.0",)},
            )
        ]
    )
    assert labels(store, newer.choices)["libfoo.so.1"] == "libfoo-2.0"
    assert [d.store_path for d in newer.downloads] == [store.path("libfoo-2.0")]
    assert newer.download_bytes == 40_000


def test_among_downloads_fewer_bytes_wins_over_newer() -> None:
    store = libfoo_store("1.0", "2.0")
    store.unrealised("libfoo-1.0", 10_000)
    store.unrealised("libfoo-2.0", 900_000)
    solution = store.solve([tool(store, "libfoo.so.1")])
    assert labels(store, solution.choices)["libfoo.so.1"] == "libfoo-1.0"
    # Pins still come first.
    pinned = store.solve([tool_again(store, "libfoo.so.1")], prefer=["libfoo-2.0"])
    assert labels(store, pinned.choices)["libfoo.so.1"] == "libfoo-2.0"


def test_a_downloads_closure_counts_its_own_downloads() -> None:
    """libbar-1.0 is small but brings a big unrealised libdep; libbar-2.0 brings none."""
    store = MemStore()
    store.glibc("glibc-2.36")
    store.library("libdep-1.0", "libdep.so.1", refs=("glibc-2.36",))
    store.library("libbar-1.0", "libbar.so.1", needs=("libdep.so.1",), refs=("libdep-1.0",))
    store.library("libbar-2.0", "libbar.so.1", refs=("glibc-2.36",))
    store.unrealised("libbar-1.0", 1_000)
    store.unrealised("libdep-1.0", 5_000_000)
    store.unrealised("libbar-2.0", 50_000)
    solution = store.solve([tool(store, "libbar.so.1")])
    assert labels(store, solution.choices)["libbar.so.1"] == "libbar-2.0"
    assert [d.store_path for d in solution.downloads] == [store.path("libbar-2.0")]


def test_a_rejected_cache_path_is_named_in_the_explanation() -> None:
    store = MemStore()
    store.glibc("glibc-2.36")
    store.reject("libatomic.so.1", "gcc-13.2.0-lib", "signature does not verify with trusted keys")
    with pytest.raises(Unsatisfiable) as raised:
        store.solve([tool(store, "libatomic.so.1")])
    text = "\n".join(raised.value.explanation.lines)
    assert (
        f"A binary cache has {store.path('gcc-13.2.0-lib')}, which would provide "
        "libatomic.so.1, but it is rejected: signature does not verify with trusted keys."
    ) in text
