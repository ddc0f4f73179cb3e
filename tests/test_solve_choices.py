"""Closest-match substitution and tied optima, on small stores built for these tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fixtures import FixtureStore
from ldcheck import predicted, run_through
from nixutil import nix_build

import autopatchelf
from autopatchelf.actions.linkdir import write_link_dir
from autopatchelf.solution.explain import Unsatisfiable

pytestmark = pytest.mark.nix

SRC = Path(__file__).parent / "fixtures" / "src"


def build_libfoo(fx: FixtureStore, tmp_path: Path, name: str, soname: str, salt: str) -> str:
    """A libfoo release built like the fixture ones (RUNPATH to glibc-host): the 2.0 ABI
    (FOO_1.0 + FOO_2.0) under ``soname``. ``salt`` makes a distinct store path."""
    glibc = fx.path("glibc-host") / "lib"
    release = name.split("-", 1)[1]
    expr = f"""
derivation {{
  name = "{name}";
  system = builtins.currentSystem;
  builder = "/bin/sh";
  salt = "{salt}";
  args = [ "-c" ''
    export PATH=/usr/bin:/bin
    mkdir -p $out/lib
    cp ${{{SRC / "libfoo.c"}}} libfoo.c
    gcc -shared -fPIC -O2 -o $out/lib/{soname} libfoo.c -D'FOO_RELEASE="{release}"' \\
      -Wl,-soname,{soname} -Wl,--version-script=${{{SRC / "libfoo-2.0.map"}}} \\
      -Wl,--no-as-needed {glibc}/libc.so.6 -Wl,--enable-new-dtags,-rpath,{glibc}
  '' ];
}}
"""
    (out,) = nix_build(expr, tmp_path)
    return out


def test_substitution_uses_a_close_soname_only_when_allowed(
    fixture_store: FixtureStore, tmp_path: Path
) -> None:
    fx = fixture_store
    libfoo4 = build_libfoo(fx, tmp_path, "libfoo-4.0", "libfoo.so.2", "subst")
    within = [libfoo4, str(fx.path("glibc-host"))]
    app = str(fx.apps["foo-v2"])
    cache = str(tmp_path / "cache")
    with pytest.raises(Unsatisfiable) as caught:
        autopatchelf.solve([app], within=within, cache_dir=cache, system=[])
    assert caught.value.explanation.missing == {"libfoo.so.1": ("libfoo.so.2",)}

    solution = autopatchelf.solve(
        [app], within=within, cache_dir=cache, system=[], allow_substitution=True
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
            within=within,
            cache_dir=str(tmp_path / "cache"),
            system=[],
            allow_substitution=True,
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
        [app], within=within, cache_dir=str(tmp_path / "cache"), system=[]
    )
    assert not solution.unique
    (alt,) = solution.alternatives
    assert alt.name == "libfoo.so.1"
    files = {os.path.join(p, "lib", "libfoo.so.1") for p in (first, second)}
    assert {alt.chosen, *alt.others} == files
    # Ties are broken the same way on every run.
    again = autopatchelf.solve([app], within=within, cache_dir=str(tmp_path / "cache"), system=[])
    assert again.choices == solution.choices
    assert run_through(solution, app).returncode == 0
