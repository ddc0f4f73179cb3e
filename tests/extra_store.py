"""Small extra store paths some tests build next to the fixture store."""

from __future__ import annotations

from pathlib import Path

from fixtures import FixtureStore
from nixutil import nix_build

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
