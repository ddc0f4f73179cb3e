"""Closest-match substitution and tied optima, on small stores built for these tests."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from extra_store import build_libfoo
from fixtures import FixtureStore
from ldcheck import predicted, run_through

import autopatchelf
from autopatchelf.actions.linkdir import write_link_dir
from autopatchelf.errors import Unsatisfiable

pytestmark = pytest.mark.nix


def test_substitution_uses_a_close_soname_only_when_allowed(
    fixture_store: FixtureStore, tmp_path: Path
) -> None:
    fx = fixture_store
    libfoo4 = build_libfoo(fx, tmp_path, "libfoo-4.0", "libfoo.so.2", "subst")
    within = [libfoo4, str(fx.path("glibc-host"))]
    app = str(fx.apps["foo-v2"])
    cache = str(tmp_path / "cache")
    with pytest.raises(Unsatisfiable) as caught:
        autopatchelf.solve(
            [app], autopatchelf.SolveOptions(within=within, cache_dir=cache, system=[])
        )
    assert caught.value.explanation.missing == {"libfoo.so.1": ("libfoo.so.2",)}

    solution = autopatchelf.solve(
        [app],
        autopatchelf.SolveOptions(
            within=within, cache_dir=cache, system=[], allow_substitution=True
        ),
    )
    assert solution.substitutions == {"libfoo.so.1": "libfoo.so.2"}
    assert solution.choices["libfoo.so.1"] == os.path.join(libfoo4, "lib", "libfoo.so.2")
    # Unpatched, ld.so looks for libfoo.so.1 by name: only a link directory serves it.
    assert solution.needs_link_dir
    links = write_link_dir(solution, str(tmp_path / "links"))
    ran = run_through(solution, app, link_dir=links)
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert "foo-v2: libfoo 4.0 foo_new@4.0" in ran.stdout
    assert ran.loaded == predicted(solution, app)


def test_substitution_never_breaks_a_version(fixture_store: FixtureStore, tmp_path: Path) -> None:
    fx = fixture_store
    # libfoo-3.0 is libfoo.so.2 too, but defines only FOO_3.0: foo-v2 needs FOO_1.0/2.0.
    within = [str(fx.path("libfoo-3.0")), str(fx.path("glibc-host"))]
    with pytest.raises(Unsatisfiable) as caught:
        autopatchelf.solve(
            [str(fx.apps["foo-v2"])],
            autopatchelf.SolveOptions(
                within=within, cache_dir=str(tmp_path / "cache"), system=[], allow_substitution=True
            ),
        )
    assert "lacks FOO_" in caught.value.explanation.text()


def test_tied_optima_are_reported_as_alternatives(
    fixture_store: FixtureStore, tmp_path: Path
) -> None:
    fx = fixture_store
    # Two builds of the same release: same name and version, different store paths.
    first = build_libfoo(fx, tmp_path, "libfoo-5.0", "libfoo.so.1", "one")
    second = build_libfoo(fx, tmp_path, "libfoo-5.0", "libfoo.so.1", "two")
    assert first != second
    within = [first, second, str(fx.path("glibc-host"))]
    app = str(fx.apps["foo-v2"])
    solution = autopatchelf.solve(
        [app],
        autopatchelf.SolveOptions(within=within, cache_dir=str(tmp_path / "cache"), system=[]),
    )
    assert not solution.unique
    (alt,) = solution.alternatives
    assert alt.name == "libfoo.so.1"
    files = {os.path.join(p, "lib", "libfoo.so.1") for p in (first, second)}
    assert {alt.chosen, *alt.others} == files
    # Ties are broken the same way on every run.
    again = autopatchelf.solve(
        [app],
        autopatchelf.SolveOptions(within=within, cache_dir=str(tmp_path / "cache"), system=[]),
    )
    assert again.choices == solution.choices
    assert run_through(solution, app).returncode == 0


def test_versioned_symbol_found_where_ld_so_binds_it(
    fixture_store: FixtureStore, tmp_path: Path
) -> None:
    """A program built against glibc < 2.34 imports dladdr@GLIBC_2.2.5 from libdl.so.2;
    since 2.34 libdl.so.2 is a stub keeping the version while libc.so.6 holds the symbol.
    ld.so binds by version, so this must solve (and run) with the 2.36 glibc."""
    fx = fixture_store
    src = tmp_path / "stub.c"
    src.write_text("int dladdr(const void *a, void *b) { return 0; }\n")
    vers = tmp_path / "stub.map"
    vers.write_text("GLIBC_2.2.5 { global: dladdr; local: *; };\n")
    stub_dir = tmp_path / "old-glibc"
    stub_dir.mkdir()
    subprocess.run(
        [
            "gcc",
            "-shared",
            "-fPIC",
            "-o",
            str(stub_dir / "libdl.so.2"),
            str(src),
            "-Wl,-soname,libdl.so.2",
            f"-Wl,--version-script={vers}",
        ],
        check=True,
    )
    app_src = tmp_path / "app.c"
    app_src.write_text(
        "#include <stdio.h>\nint dladdr(const void *, void *);\n"
        "int main(void) {\n  char info[64];\n"
        '  printf("dladdr=%d\\n", dladdr((void *)main, info) != 0);\n  return 0;\n}\n'
    )
    app = tmp_path / "old-app"
    subprocess.run(
        ["gcc", "-o", str(app), str(app_src), "-Wl,--no-as-needed", str(stub_dir / "libdl.so.2")],
        check=True,
    )
    facts = autopatchelf.ElfFacts.read(str(app))
    assert any(s.name == "dladdr" and s.file == "libdl.so.2" for s in facts.symbols.undefined), (
        "the app should import dladdr from libdl.so.2, as old manylinux builds do"
    )
    solution = autopatchelf.solve(
        [str(app)],
        autopatchelf.SolveOptions(
            within=[str(fx.path("glibc-host"))], cache_dir=str(tmp_path / "cache"), system=[]
        ),
    )
    ran = run_through(solution, str(app))
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert "dladdr=1" in ran.stdout


def test_every_missing_soname_is_listed_at_once(
    fixture_store: FixtureStore, tmp_path: Path
) -> None:
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    for name in ("libnope-a.so.1", "libnope-b.so.1"):
        (tmp_path / "s.c").write_text("int nope_stub;\n")
        subprocess.run(
            ["gcc", "-shared", "-fPIC", "-o", str(stubs / name), str(tmp_path / "s.c"),
             f"-Wl,-soname,{name}"],
            check=True,
        )  # fmt: skip
    (tmp_path / "app.c").write_text("int main(void) { return 0; }\n")
    app = tmp_path / "app"
    subprocess.run(
        ["gcc", "-o", str(app), str(tmp_path / "app.c"), "-Wl,--no-as-needed",
         str(stubs / "libnope-a.so.1"), str(stubs / "libnope-b.so.1")],
        check=True,
    )  # fmt: skip
    with pytest.raises(Unsatisfiable) as caught:
        autopatchelf.solve(
            [str(app)],
            autopatchelf.SolveOptions(
                within=[str(fixture_store.path("glibc-host"))],
                cache_dir=str(tmp_path / "cache"),
                system=[],
            ),
        )
    expl = caught.value.explanation
    shown = next(iter(expl.missing))
    other = ({"libnope-a.so.1", "libnope-b.so.1"} - {shown}).pop()
    assert expl.lines[-1] == f"Also missing from the store: {other}."
    assert caught.value.hint is not None and "--allow-missing" in caught.value.hint
