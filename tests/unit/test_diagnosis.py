"""Every kind of failure the resolver diagnoses, as data and as text, from a minimal conflict."""

from __future__ import annotations

from collections.abc import Sequence
from fnmatch import fnmatchcase
from typing import Any

import pytest
from memstore import I386, MemStore
from pysat.solvers import Solver

from autopatchelf.elf.facts import ElfFacts
from autopatchelf.errors import Unsatisfiable
from autopatchelf.options import GlibcPolicy
from autopatchelf.sat import facts as F
from autopatchelf.sat.encode import encode
from autopatchelf.sat.optimize import check
from autopatchelf.sat.preferences import Preferences
from autopatchelf.solution.diagnosis import (
    KIND_INFO,
    Diagnosis,
    ProblemKind,
    Rejected,
    Side,
    diagnose,
)
from autopatchelf.solution.explain import Explanation, conclusion, explain, summary

TOOL = "/app/bin/tool"


def failure(store: MemStore, roots: Sequence[ElfFacts], **options: Any) -> Explanation:
    """The explanation of a solve that must fail; checks the conflict is minimal too."""
    with pytest.raises(Unsatisfiable) as caught:
        store.solve(roots, **options)
    expl = caught.value.explanation
    assert str(caught.value) == expl.conclusion
    assert caught.value.hint == KIND_INFO[expl.diagnosis.kind].help == expl.hint
    assert_minimal(store, roots, expl.facts, **options)
    return expl


def assert_minimal(
    store: MemStore, roots: Sequence[ElfFacts], facts: Sequence[F.Fact], **options: Any
) -> None:
    """The facts cannot hold together, and every proper subset can (a minimal conflict)."""
    problem = store.problem(roots)
    patterns = options.get("allow_missing", ())
    allowed = frozenset(n for n in problem.missing if any(fnmatchcase(n, p) for p in patterns))
    policy = GlibcPolicy(options.get("glibc", "strict"))
    enc = encode(problem, policy, Preferences(), store.version_of)
    off = [s for s in enc.assumptions(allowed) if s < 0]  # the allowed names' facts
    selector = {fact: sel for sel, fact in enc.selectors.items()}
    chosen = [selector[f] for f in facts]
    assert not set(chosen) & {-s for s in off}, "an allowed name's fact in the conflict"
    with Solver(name="g4", bootstrap_with=enc.hard) as solver:
        assert not solver.solve(assumptions=chosen + off), "the facts are no conflict"
        for sel in chosen:
            rest = [s for s in chosen if s != sel]
            assert solver.solve(assumptions=rest + off), (
                f"not minimal: {enc.selectors[sel]} is spare"
            )


def kinds(expl: Explanation) -> list[str]:
    return sorted({type(f).__name__ for f in expl.facts})


def nix_store(*glibcs: str) -> MemStore:
    store = MemStore()
    for glibc in glibcs or ("glibc-2.36",):
        store.glibc(glibc)
    return store


# -- missing-library -----------------------------------------------------------------------


def test_missing_library_names_the_closest_sonames() -> None:
    store = nix_store()
    store.library("libfoo-3.0", "libfoo.so.2")
    store.library("libfoo-4.0", "libfoo.so.3")
    app = store.program(TOOL, needs=("libfoo.so.1", "libc.so.6"))
    expl = failure(store, [app], names={TOOL: "./tool"})
    assert expl.diagnosis == Diagnosis(
        ProblemKind.MISSING_LIBRARY,
        "libfoo.so.1",
        TOOL,
        soname="libfoo.so.1",
        closest=("libfoo.so.2", "libfoo.so.3"),
    )
    assert kinds(expl) == ["Needs", "NoProvider"]
    assert expl.missing == {"libfoo.so.1": ("libfoo.so.2", "libfoo.so.3")}
    assert expl.diagnosis.relaxable == "libfoo.so.1"
    assert expl.lines == (
        "Because ./tool needs libfoo.so.1, and no file in the store provides libfoo.so.1.",
        "So libfoo.so.1 cannot be loaded; closest names that exist: libfoo.so.2, libfoo.so.3.",
    )
    assert expl.summary == (
        "needs libfoo.so.1, which no library in the store provides "
        "(closest: libfoo.so.2, libfoo.so.3)"
    )


def test_one_missing_library_is_diagnosed_and_every_other_one_listed() -> None:
    store = nix_store()
    app = store.program(TOOL, needs=("libone.so.1", "libtwo.so.1", "libthree.so.1"))
    expl = failure(store, [app])
    shown = expl.diagnosis.subject
    assert expl.diagnosis.kind is ProblemKind.MISSING_LIBRARY
    others = sorted({"libone.so.1", "libtwo.so.1", "libthree.so.1"} - {shown})
    assert expl.lines[-1] == f"Also missing from the store: {', '.join(others)}."
    # Allowing the diagnosed one shows the next.
    after = failure(store, [app], allow_missing=[shown])
    assert after.diagnosis.subject in others


def test_a_store_librarys_missing_need_is_pinned_on_the_root_that_needs_the_library() -> None:
    store = nix_store()
    store.library("libfoo-1.0", "libfoo.so.1", needs=("libgone.so.3",))
    app = store.program(TOOL, needs=("libfoo.so.1",))
    expl = failure(store, [app])
    assert (expl.diagnosis.kind, expl.diagnosis.subject, expl.diagnosis.requester) == (
        ProblemKind.MISSING_LIBRARY,
        "libgone.so.3",
        TOOL,
    )
    assert kinds(expl) == ["Needs", "NoProvider"]


# -- wrong-architecture --------------------------------------------------------------------


def test_a_soname_only_for_another_machine_is_a_wrong_architecture() -> None:
    store = nix_store()
    store.library("libfoo-i686-2.0", "libfoo.so.1", arch=I386)
    app = store.program(TOOL, needs=("libfoo.so.1", "libc.so.6"))
    expl = failure(store, [app])
    assert expl.diagnosis == Diagnosis(
        ProblemKind.WRONG_ARCHITECTURE,
        "libfoo.so.1",
        TOOL,
        soname="libfoo.so.1",
        lacking=("libfoo-i686-2.0",),
    )
    assert expl.diagnosis.relaxable == "libfoo.so.1"
    fact = next(f for f in expl.facts if isinstance(f, F.NoProvider))
    assert fact.wrong_arch == (store.lib_dir("libfoo-i686-2.0") + "/libfoo.so.1",)
    assert expl.lines[-1] == (
        "So libfoo.so.1 cannot be loaded; the store has it only for another architecture "
        "(libfoo-i686-2.0); no similar name exists either."
    )
    assert expl.summary == (
        "needs libfoo.so.1, which the store has only for other architectures (libfoo-i686-2.0)"
    )


def test_a_32_bit_program_against_64_bit_glibcs_is_a_wrong_architecture() -> None:
    store = nix_store("glibc-2.36", "glibc-2.38")
    app = store.program("/app/bin/tool32", needs=("libc.so.6",), arch=I386)
    expl = failure(store, [app])
    assert expl.diagnosis == Diagnosis(
        ProblemKind.WRONG_ARCHITECTURE,
        "i386 (32-bit)",
        "/app/bin/tool32",
        lacking=("glibc-2.36", "glibc-2.38"),
        arch="i386 (32-bit)",
        store_arches=("x86-64 (64-bit)",),
    )
    assert expl.diagnosis.relaxable is None  # no soname: nothing to set aside
    assert expl.lines[-1] == (
        "So it cannot run here: it is built for i386 (32-bit), and every glibc in the store "
        "is for x86-64 (64-bit) (none for i386 (32-bit))."
    )
    assert expl.summary == (
        "is built for i386 (32-bit), but every glibc in the store is for x86-64 (64-bit)"
    )


def test_a_32_bit_program_gets_a_32_bit_glibc_when_the_store_has_one() -> None:
    store = nix_store("glibc-2.36")
    i686 = store.glibc("glibc-i686-2.36", arch=I386)
    app = store.program("/app/bin/tool32", needs=("libc.so.6",), arch=I386)
    solution = store.solve([app])
    assert solution.glibc == i686.store_path
    assert solution.interpreter == i686.loader.path  # type: ignore[union-attr]


# -- glibc-too-new -------------------------------------------------------------------------


def test_glibc_too_new_names_the_highest_version_and_the_newest_glibc() -> None:
    store = nix_store("glibc-2.35", "glibc-2.36")
    app = store.program(
        TOOL,
        needs=("libc.so.6",),
        version_needs={"libc.so.6": ("GLIBC_2.2.5", "GLIBC_2.34", "GLIBC_2.38")},
    )
    expl = failure(store, [app], names={TOOL: "./tool"})
    assert expl.diagnosis == Diagnosis(
        ProblemKind.GLIBC_TOO_NEW,
        "GLIBC_2.38",
        TOOL,
        soname="libc.so.6",
        wanted=("GLIBC_2.38",),
        lacking=("glibc-2.35", "glibc-2.36"),
        newest_glibc="2.36",
    )
    assert kinds(expl) == ["Excluded", "Needs"]
    assert expl.diagnosis.relaxable is None
    assert expl.lines == (
        "Because ./tool needs libc.so.6 with GLIBC_2.38, and no candidate has it "
        "(glibc-2.35 lacks GLIBC_2.38; glibc-2.36 lacks GLIBC_2.38).",
        "So no glibc in the store is new enough: GLIBC_2.38 is needed, "
        "the newest glibc has GLIBC_2.36.",
    )
    assert expl.summary == (
        "needs GLIBC_2.38 from libc.so.6, newer than every glibc in the store (newest: 2.36)"
    )


def test_a_rejected_newer_glibc_is_in_the_diagnosis_and_the_text() -> None:
    """A binary cache's glibc that would do, rejected, turns "none is new enough" into
    "one is, but it is not trusted": the diagnosis carries it, the text says it."""
    store = nix_store("glibc-2.36")
    store.reject("libc.so.6", "glibc-2.41", "not signed by a trusted key (signed by cache-1)")
    app = store.program(
        TOOL, needs=("libc.so.6",), version_needs={"libc.so.6": ("GLIBC_2.2.5", "GLIBC_2.38")}
    )
    expl = failure(store, [app], names={TOOL: "./tool"})
    assert expl.diagnosis.kind is ProblemKind.GLIBC_TOO_NEW
    assert expl.diagnosis.rejected == (
        Rejected(
            store.path("glibc-2.41"), "libc.so.6", "not signed by a trusted key (signed by cache-1)"
        ),
    )
    assert expl.lines[1] == (
        f"A binary cache has {store.path('glibc-2.41')}, which would provide libc.so.6, "
        "but it is rejected: not signed by a trusted key (signed by cache-1)."
    )
    assert expl.lines[-1].startswith("So no glibc in the store is new enough")


def test_a_newer_glibc_in_the_store_solves_it() -> None:
    store = nix_store("glibc-2.36", "glibc-2.38")
    app = store.program(TOOL, needs=("libc.so.6",), version_needs={"libc.so.6": ("GLIBC_2.38",)})
    assert store.solve([app]).glibc == store.path("glibc-2.38")


# -- missing-version / missing-symbol ------------------------------------------------------


def libfoo_versions() -> MemStore:
    store = nix_store()
    store.library("libfoo-1.0", "libfoo.so.1", defines=("FOO_1.0",))
    store.library(
        "libfoo-2.0", "libfoo.so.1", defines=("FOO_1.0", "FOO_2.0"), exports={"foo": "FOO_2.0"}
    )
    store.library("libfoo-3.0", "libfoo.so.2", defines=("FOO_1.0", "FOO_2.0", "FOO_3.0"))
    return store


def test_missing_version_names_who_lacks_it_and_the_close_soname_that_has_it() -> None:
    store = libfoo_versions()
    app = store.program(
        TOOL, needs=("libfoo.so.1", "libc.so.6"), version_needs={"libfoo.so.1": ("FOO_3.0",)}
    )
    expl = failure(store, [app])
    assert expl.diagnosis == Diagnosis(
        ProblemKind.MISSING_VERSION,
        "libfoo.so.1:FOO_3.0",
        TOOL,
        soname="libfoo.so.1",
        wanted=("FOO_3.0",),
        lacking=("libfoo-1.0", "libfoo-2.0"),
    )
    assert kinds(expl) == ["Excluded", "Needs"]
    assert expl.lines[-2:] == (
        "So no libfoo.so.1 in the store has FOO_3.0: a newer build of it is needed.",
        "Closest match: libfoo-3.0 defines FOO_3.0, but as libfoo.so.2, not libfoo.so.1.",
    )
    assert expl.summary == (
        "needs version FOO_3.0 of libfoo.so.1, which no candidate defines "
        "(libfoo-1.0, libfoo-2.0 lack it)"
    )


def test_missing_version_of_a_bundled_library_names_the_bundled_requester() -> None:
    store = libfoo_versions()
    own = store.bundled(
        "/app/lib/libown.so.1", needs=("libfoo.so.1",), version_needs={"libfoo.so.1": ("FOO_9",)}
    )
    app = store.program(TOOL, needs=("libown.so.1",), runpath="$ORIGIN/../lib")
    expl = failure(store, [app])
    d = expl.diagnosis
    assert (d.kind, d.subject, d.requester, d.lacking) == (
        ProblemKind.MISSING_VERSION,
        "libfoo.so.1:FOO_9",
        own.path,
        ("libfoo-1.0", "libfoo-2.0"),
    )
    # The bundled library is always loaded: its own need is the conflict.
    assert kinds(expl) == ["Excluded", "Needs"]
    assert expl.lines[0].startswith("Because /app/lib/libown.so.1 needs libfoo.so.1 with FOO_9")


def test_a_store_librarys_missing_version_is_diagnosed_too() -> None:
    store = nix_store()
    store.library("libdep-1.0", "libdep.so.1", defines=("DEP_1.0",))
    store.library(
        "libfoo-1.0",
        "libfoo.so.1",
        needs=("libdep.so.1",),
        version_needs={"libdep.so.1": ("DEP_2.0",)},
    )
    app = store.program(TOOL, needs=("libfoo.so.1",))
    expl = failure(store, [app])
    d = expl.diagnosis
    assert (d.kind, d.subject, d.soname, d.wanted, d.lacking) == (
        ProblemKind.MISSING_VERSION,
        "libdep.so.1:DEP_2.0",
        "libdep.so.1",
        ("DEP_2.0",),
        ("libdep-1.0",),
    )
    assert (
        "And because libfoo-1.0 needs DEP_2.0 from libdep.so.1, libdep-1.0 cannot be its "
        "libdep.so.1." in expl.lines
    )


def test_missing_symbol_names_the_symbol_at_its_version() -> None:
    store = nix_store()
    for version in ("2.0", "2.1"):
        store.library(
            f"libfoo-{version}", "libfoo.so.1", defines=("FOO_2.0",), exports={"foo": "FOO_2.0"}
        )
    app = store.program(
        TOOL,
        needs=("libfoo.so.1", "libc.so.6"),
        version_needs={"libfoo.so.1": ("FOO_2.0",)},
        imports={"foo": "FOO_2.0", "foo_new": "FOO_2.0"},
    )
    expl = failure(store, [app])
    assert expl.diagnosis == Diagnosis(
        ProblemKind.MISSING_SYMBOL,
        "libfoo.so.1:foo_new@FOO_2.0",
        TOOL,
        soname="libfoo.so.1",
        wanted=("foo_new@FOO_2.0",),
        lacking=("libfoo-2.0", "libfoo-2.1"),
    )
    assert kinds(expl) == ["Excluded", "Needs"]
    assert expl.lines[-1] == (
        "So no libfoo.so.1 in the store has foo_new@FOO_2.0: a newer build of it is needed."
    )
    assert expl.summary == (
        "needs foo_new@FOO_2.0 from libfoo.so.1, which no candidate exports "
        "(libfoo-2.0, libfoo-2.1 lack it)"
    )


def test_every_candidate_said_to_lack_the_subject_really_lacks_it() -> None:
    # libfoo-1.0 lacks FOO_2.0; libfoo-2.0 has FOO_2.0 but lacks foo_new@FOO_2.0.
    store = libfoo_versions()
    app = store.program(
        TOOL,
        needs=("libfoo.so.1", "libc.so.6"),
        version_needs={"libfoo.so.1": ("FOO_2.0",)},
        imports={"foo": "FOO_2.0", "foo_new": "FOO_2.0"},
    )
    d = failure(store, [app]).diagnosis
    assert d.kind in (ProblemKind.MISSING_VERSION, ProblemKind.MISSING_SYMBOL)
    what = d.subject.partition(":")[2]
    assert d.lacking
    for label in d.lacking:
        (lib,) = [f for f in store.candidates("libfoo.so.1") if store.label(f.store_path) == label]
        if d.kind is ProblemKind.MISSING_VERSION:
            assert what not in lib.facts.defined_versions, f"{label} has {what}"
        else:
            symbol, _, version = what.partition("@")
            assert not lib.facts.symbols.exports(symbol, version), f"{label} has {what}"


# -- diamond -------------------------------------------------------------------------------


def diamond_store() -> MemStore:
    store = nix_store()
    for version in ("1.0", "2.0"):
        store.library(f"libdep-{version}", "libdep.so.1")
    store.library("liba-2.0", "liba.so.1", needs=("libdep.so.1",), refs=("libdep-2.0",))
    store.library("libb-1.0", "libb.so.1", needs=("libdep.so.1",), refs=("libdep-1.0",))
    return store


def test_a_diamond_names_who_brings_which_copy() -> None:
    store = diamond_store()
    app = store.program(TOOL, needs=("liba.so.1", "libb.so.1"))
    expl = failure(store, [app])
    d = expl.diagnosis
    assert (d.kind, d.subject, d.requester, d.soname) == (
        ProblemKind.DIAMOND,
        "libdep.so.1",
        TOOL,
        "libdep.so.1",
    )
    assert sorted(d.sides, key=lambda s: s.provider) == [
        Side("libdep-1.0", ("libb-1.0",)),
        Side("libdep-2.0", ("liba-2.0",)),
    ]
    assert kinds(expl) == ["ClosureProvides", "Needs", "OneProvider"]
    assert expl.lines[-1].startswith("So two different libdep.so.1 would be loaded (a diamond: ")
    assert "libb-1.0 brings libdep-1.0" in expl.lines[-1]
    assert "liba-2.0 brings libdep-2.0" in expl.lines[-1]
    assert expl.lines[-1].endswith("), and ld.so loads only one.")


def test_a_bundled_copy_against_a_closures_copy_is_a_diamond() -> None:
    store = diamond_store()
    store.bundled("/app/lib/libdep.so.1")
    app = store.program(TOOL, needs=("liba.so.1", "libdep.so.1"), runpath="$ORIGIN/../lib")
    expl = failure(store, [app])
    d = expl.diagnosis
    assert (d.kind, d.subject) == (ProblemKind.DIAMOND, "libdep.so.1")
    assert sorted(d.sides, key=lambda s: s.provider) == [
        Side("/app/lib/libdep.so.1", ("tool",)),
        Side("libdep-2.0", ("liba-2.0",)),
    ]
    assert kinds(expl) == ["BundledProvides", "ClosureProvides", "Needs", "OneProvider"]
    assert (
        "Because ./tool finds libdep.so.1 bundled at /app/lib/libdep.so.1 through its own "
        "RUNPATH, that copy is loaded." in expl.lines
    )


# -- glibc-conflict ------------------------------------------------------------------------


def test_two_closures_with_different_glibcs_are_a_glibc_conflict() -> None:
    store = nix_store("glibc-2.36", "glibc-2.38")
    store.library("libold-1.0", "libold.so.1", needs=("libc.so.6",), refs=("glibc-2.36",))
    store.library("libnew-1.0", "libnew.so.1", needs=("libc.so.6",), refs=("glibc-2.38",))
    app = store.program(TOOL, needs=("libold.so.1", "libnew.so.1"))
    expl = failure(store, [app])
    d = expl.diagnosis
    assert (d.kind, d.subject, d.requester) == (
        ProblemKind.GLIBC_CONFLICT,
        "libnew.so.1+libold.so.1",
        TOOL,
    )
    assert sorted(d.sides, key=lambda s: s.provider) == [
        Side("glibc-2.36", ("libold-1.0",)),
        Side("glibc-2.38", ("libnew-1.0",)),
    ]
    assert kinds(expl) == ["ClosureProvides", "Needs", "OneProvider"]
    assert expl.lines[-1] in (
        "So no single glibc fits: libold-1.0 uses glibc-2.36; libnew-1.0 uses glibc-2.38.",
        "So no single glibc fits: libnew-1.0 uses glibc-2.38; libold-1.0 uses glibc-2.36.",
    )
    # The compatible policy lets both run on the newer glibc.
    assert store.solve([app], glibc="compatible").glibc == store.path("glibc-2.38")


def test_closures_referring_to_two_glibcs_conflict_through_the_one_glibc_rule() -> None:
    store = nix_store("glibc-2.36", "glibc-2.38")
    # Built against a glibc, without loading its libc through the RUNPATH.
    store.library("libold-1.0", "libold.so.1", refs=("glibc-2.36",), runpath=None)
    store.library("libnew-1.0", "libnew.so.1", refs=("glibc-2.38",), runpath=None)
    app = store.program(TOOL, needs=("libold.so.1", "libnew.so.1"))
    expl = failure(store, [app])
    d = expl.diagnosis
    assert (d.kind, d.subject, d.sides) == (
        ProblemKind.GLIBC_CONFLICT,
        "libnew.so.1+libold.so.1",
        (),
    )
    assert kinds(expl) == ["ClosureGlibc", "Needs", "OneGlibc"]
    assert expl.lines[-1] == "So no single glibc fits every library the process needs."
    assert (
        "And because libold-1.0's closure uses glibc-2.36, the process must load glibc-2.36."
        in (expl.lines)
    )


def test_a_glibc_name_from_outside_a_glibc_is_refused() -> None:
    store = nix_store()
    store.library("fakem-1.0", "libm.so.6")
    app = store.program(TOOL, needs=("libm.so.6", "libc.so.6"))
    expl = failure(store, [app])
    assert (expl.diagnosis.kind, expl.diagnosis.subject) == (
        ProblemKind.GLIBC_CONFLICT,
        "libm.so.6",
    )
    assert kinds(expl) == ["Needs", "NotFromGlibc"]
    assert (
        "And because fakem-1.0 is not part of a glibc, it cannot provide glibc's libm.so.6."
        in expl.lines
    )


# -- no-loader -----------------------------------------------------------------------------


def test_a_glibc_without_its_loader_cannot_serve_a_program() -> None:
    store = MemStore()
    store.glibc("glibc-2.36", loader=False)
    app = store.program(TOOL, needs=("libc.so.6",))
    expl = failure(store, [app])
    assert expl.diagnosis == Diagnosis(
        ProblemKind.NO_LOADER,
        "ld-linux-x86-64.so.2",
        TOOL,
        glibc="glibc-2.36",
        loader="ld-linux-x86-64.so.2",
    )
    assert kinds(expl) == ["Needs", "NoLoader"]
    assert expl.lines[-1] == (
        "So no glibc in the store ships the loader ld-linux-x86-64.so.2 for this machine."
    )
    # A library root has no interpreter: a glibc without loader serves it.
    plugin = store.bundled("/app/lib/plugin.so", needs=("libc.so.6",))
    assert store.solve([plugin]).glibc == store.path("glibc-2.36")
    # And a complete glibc next to it is chosen.
    store.glibc("glibc-2.35")
    assert store.solve([app]).glibc == store.path("glibc-2.35")


# -- unsolvable ----------------------------------------------------------------------------


def test_a_conflict_no_kind_describes_is_unsolvable() -> None:
    # libfoo names an i386 file by path: its closure's copy can never join the process.
    store = nix_store()
    dep = store.library("libdep-i686-1.0", "libdep.so.1", arch=I386)
    store.library("libfoo-1.0", "libfoo.so.1", needs=(dep.path,), refs=("libdep-i686-1.0",))
    app = store.program(TOOL, needs=("libfoo.so.1", "libc.so.6"))
    expl = failure(store, [app])
    assert expl.diagnosis == Diagnosis(ProblemKind.UNSOLVABLE, "libfoo.so.1", TOOL)
    assert kinds(expl) == ["ClosureProvides", "Needs"]
    assert expl.lines[-1] == "So these requirements cannot all hold."
    assert expl.summary == "these requirements cannot all hold"
    assert expl.diagnosis.relaxable is None


# -- the diagnosis as a function of facts ------------------------------------------------


def test_diagnose_reads_the_facts_given_in_any_order() -> None:
    store = diamond_store()
    app = store.program(TOOL, needs=("liba.so.1", "libb.so.1"))
    problem = store.problem([app])
    enc = encode(problem, GlibcPolicy.STRICT, Preferences(), store.version_of)
    conflict = check(enc)
    assert conflict is not None
    forward = diagnose(problem, conflict.facts)
    backward = diagnose(problem, tuple(reversed(conflict.facts)))
    assert (forward.kind, forward.subject) == (backward.kind, backward.subject)
    assert set(forward.sides) == set(backward.sides)
    assert explain(problem, conflict.facts).diagnosis == forward
    # An empty conflict (never produced) still reads as something.
    assert diagnose(problem, ()) == Diagnosis(ProblemKind.UNSOLVABLE, "-", TOOL)


@pytest.mark.parametrize("kind", list(ProblemKind))
def test_every_kind_has_its_text(kind: ProblemKind) -> None:
    info = KIND_INFO[kind]
    assert info.name and info.short and info.full and info.help
    d = Diagnosis(kind, "x", TOOL, soname="libx.so.1", wanted=("X_1",))
    assert conclusion(d).startswith("So ")
    assert summary(d)


def test_a_closure_glibc_older_than_a_version_need_is_a_glibc_conflict() -> None:
    """A new-enough glibc exists, but the only libzstd loads an older one from its own
    closure: two glibcs, not a missing one (it was once called glibc-too-new)."""
    store = nix_store("glibc-2.36", "glibc-2.41")
    store.library("zstd-1.5", "libzstd.so.1", needs=("libc.so.6",), refs=("glibc-2.36",))
    app = store.program(
        TOOL,
        needs=("libzstd.so.1", "libc.so.6"),
        version_needs={"libc.so.6": ("GLIBC_2.38",)},
    )
    expl = failure(store, [app], names={TOOL: "./tool"})
    assert expl.diagnosis.kind is ProblemKind.GLIBC_CONFLICT
    assert expl.lines == (
        "Because ./tool needs libzstd.so.1, and only zstd-1.5 provides it, zstd-1.5 is required.",
        "And because zstd-1.5 loads libc.so.6 from its own closure (glibc-2.36), no other "
        "libc.so.6 may be loaded.",
        "And because ./tool needs GLIBC_2.38 from libc.so.6, glibc-2.36 cannot be its libc.so.6.",
        "So no single glibc fits every library the process needs.",
    )
