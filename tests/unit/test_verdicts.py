"""Version-check verdicts kept between runs (autopatchelf.problem.verdicts): read back
instead of judged again, keyed by the facts judged, never by paths alone."""

from __future__ import annotations

from memstore import MemStore

from autopatchelf.elf.facts import ElfFacts
from autopatchelf.problem.model import Exclusion, ExclusionKind
from autopatchelf.problem.verdicts import MemoryVerdicts, pair_key, tables_key

LIBC_NEEDS = {"libc.so.6": ("GLIBC_2.2.5",)}


def store_and_app(
    imports: dict[str, str | None] | None = None,
) -> tuple[MemStore, ElfFacts, str, str]:
    store = MemStore()
    store.glibc("glibc-2.36")
    old = store.library("libfoo-1.0", "libfoo.so.1", defines=("FOO_1.0",), refs=("glibc-2.36",))
    lean = store.library(
        "libfoo-2.1",
        "libfoo.so.1",
        defines=("FOO_1.0", "FOO_2.0"),
        exports={"foo_other": "FOO_2.0"},
        refs=("glibc-2.36",),
    )
    store.library(
        "libfoo-2.0",
        "libfoo.so.1",
        defines=("FOO_1.0", "FOO_2.0"),
        exports={"foo_new": "FOO_2.0"},
        refs=("glibc-2.36",),
    )
    app = store.program(
        "/app/bin/tool",
        needs=("libfoo.so.1", "libc.so.6"),
        version_needs={"libfoo.so.1": ("FOO_2.0",), **LIBC_NEEDS},
        imports=imports if imports is not None else {"foo_new": "FOO_2.0"},
    )
    return store, app, old.path, lean.path


def test_saved_verdicts_are_read_back_and_give_the_same_exclusions() -> None:
    store, app, old, lean = store_and_app()
    saved = store.keep_verdicts()
    first = store.problem([app])
    assert first.exclusions == (
        Exclusion(app.path, "libfoo.so.1", old, ExclusionKind.VERSION, "FOO_2.0"),
        Exclusion(app.path, "libfoo.so.1", lean, ExclusionKind.SYMBOL, "foo_new@FOO_2.0"),
    )
    assert saved.found == 0 and len(saved.saved) == saved.asked > 0
    again = store.problem([app])
    assert again == first
    # The second build asked for the same pairs, and found every one.
    assert saved.asked == 2 * len(saved.saved) and saved.found == len(saved.saved)


def test_a_saved_verdict_is_what_the_build_uses() -> None:
    # Proof that the second build reads the verdicts rather than judging again: a verdict
    # changed in the store changes the problem (no real store is ever written so).
    store, app, _, lean = store_and_app()
    saved = store.keep_verdicts()
    store.problem([app])
    for key, verdict in saved.saved.items():
        if verdict is not None and verdict[0] == "version":
            saved.saved[key] = None
    again = store.problem([app])
    assert [e.provider for e in again.exclusions] == [lean]


def test_another_root_asking_other_symbols_is_judged_again() -> None:
    store, app, old, _ = store_and_app()
    saved = store.keep_verdicts()
    store.problem([app])
    kept = len(saved.saved)
    other = store.program(
        "/app/bin/other",
        needs=("libfoo.so.1", "libc.so.6"),
        version_needs={"libfoo.so.1": ("FOO_2.0",), **LIBC_NEEDS},
        imports={"foo_other": "FOO_2.0"},
    )
    problem = store.problem([other])
    # foo_other is in libfoo-2.1 but not in libfoo-2.0: the verdicts are the other's own.
    assert {(e.provider, e.kind) for e in problem.exclusions} == {
        (old, ExclusionKind.VERSION),
        (store.lib_dir("libfoo-2.0") + "/libfoo.so.1", ExclusionKind.SYMBOL),
    }
    assert len(saved.saved) > kept


def test_keys_follow_the_facts_not_the_paths() -> None:
    _, app, _, _ = store_and_app()
    twin, _, _, _ = store_and_app()
    moved = twin.program(
        "/elsewhere/tool",
        needs=("libfoo.so.1", "libc.so.6"),
        version_needs={"libfoo.so.1": ("FOO_2.0",), **LIBC_NEEDS},
        imports={"foo_new": "FOO_2.0"},
    )
    assert tables_key(moved) == tables_key(app)
    changed = twin.program(
        "/elsewhere/tool2",
        needs=("libfoo.so.1", "libc.so.6"),
        version_needs={"libfoo.so.1": ("FOO_2.0",), **LIBC_NEEDS},
        imports={"foo_new": "FOO_2.0", "bar": "FOO_2.0"},
    )
    assert tables_key(changed) != tables_key(app)
    one = pair_key(b"r", "libfoo.so.1", b"p", [b"d", None])
    assert one != pair_key(b"r", "libfoo.so.1", b"p", [b"d"])
    assert one != pair_key(b"r", "libbar.so.1", b"p", [b"d", None])
    assert one == pair_key(b"r", "libfoo.so.1", b"p", [b"d", None])


def test_a_provider_the_store_cannot_vouch_for_keeps_no_verdict() -> None:
    store, app, old, lean = store_and_app()
    vouchless = store.verdict_store = MemoryVerdicts({})  # vouches for no file
    problem = store.problem([app])
    # Judged all the same (both exclusions found), but nothing kept or even looked up.
    assert {e.provider for e in problem.exclusions} == {old, lean}
    assert vouchless.saved == {} and vouchless.asked == 0


def test_undefined_unversioned_imports_are_kept_and_warned_the_same() -> None:
    store, app, _, _ = store_and_app(imports={"foo_new": "FOO_2.0", "nowhere": None})
    saved = store.keep_verdicts()
    first = store.solve([app])
    assert any("nowhere" in w for w in first.warnings)
    assert any(v is not None and v[0] == "undefined" for v in saved.saved.values())
    found = saved.found
    again = store.solve([app])
    assert again.warnings == first.warnings
    assert saved.found > found


def test_the_index_cache_keeps_verdicts_and_skips_names_sqlite_cannot_hold() -> None:
    from autopatchelf.index.cache import IndexCache

    cache = IndexCache.in_memory("/nix/store")
    try:
        hostile = ("symbol", "f\udc93oo@FOO_1.0")  # a name read with surrogateescape
        kept = {b"k" * 16: ("version", "FOO_2.0"), b"n" * 16: None, b"h" * 16: hostile}
        assert cache.save_verdicts(kept)
        found = cache.verdicts([b"k" * 16, b"n" * 16, b"h" * 16, b"x" * 16])
        assert found == {b"k" * 16: ("version", "FOO_2.0"), b"n" * 16: None}
    finally:
        cache.close()
