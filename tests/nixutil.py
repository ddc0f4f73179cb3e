"""Helpers for tests that build real stores: with Nix (``nix-build``) or as plain dirs.

Policy for Nix tests: :func:`require_nix` skips when Nix cannot build here (no
``nix-build``, or not root), but fails instead when ``AUTOPATCHELF_REQUIRE_NIX=1``
(CI), so that a broken Nix setup can never pass as a skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest
from fixtures.policy import nix_unavailable_reason, require
from prerequisites import NIX_BUILD_OPTIONS, REQUIRE_ENV
from prerequisites import reason as missing_reason

__all__ = ["REQUIRE_ENV"]

HOST_LIB_DIR = "/usr/lib/x86_64-linux-gnu"


def nix_missing_reason() -> str | None:
    """Why Nix tests cannot run here, or ``None`` if they can."""
    return nix_unavailable_reason() or missing_reason(("nix-instantiate", "gcc"))


def require_nix() -> None:
    """Skip this test without Nix, or fail when ``AUTOPATCHELF_REQUIRE_NIX=1``."""
    require(nix_missing_reason())


def run(args: Sequence[str], **kwargs: object) -> str:
    """Run a command, returning stdout; on failure, fail with its stderr."""
    done = subprocess.run(list(args), capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload]
    if done.returncode != 0:
        pytest.fail(f"{' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return str(done.stdout)


def nix_build(expr_text: str, tmp_path: Path, attrs: Sequence[str] = ()) -> list[str]:
    """Build ``expr_text`` (a Nix expression) with ``nix-build``; return the out paths.

    With ``attrs``, builds those attributes, returning their paths in that order. No
    ``result`` link is made (the paths are not GC roots); substituters are off.
    """
    expr = tmp_path / f"expr-{len(list(tmp_path.glob('expr-*.nix')))}.nix"
    expr.write_text(expr_text)
    args = ["nix-build", str(expr), "--no-out-link", *NIX_BUILD_OPTIONS]
    for attr in attrs:
        args += ["-A", attr]
    return [line for line in run(args).splitlines() if line.startswith("/")]


def nix_query(flag: str, path: str) -> set[str]:
    """``nix-store -q <flag> path`` as a set of store paths."""
    return {line for line in run(["nix-store", "-q", flag, path]).splitlines() if line}


def nix_delete(path: str) -> None:
    run(["nix-store", "--delete", path])


#: Derivations forming a small store whose RUNPATHs name each other (so Nix records
#: references): base <- mid <- app, plus a second libapebase provider and a host zlib.
#: ``@SALT@`` is replaced to get fresh paths (the GC test deletes one).
SAMPLE_EXPR = r"""
let
  mk = name: script: derivation {
    inherit name;
    system = builtins.currentSystem;
    builder = "/bin/sh";
    args = [ "-c" ("set -e; export PATH=/usr/bin:/bin; cd $TMPDIR; " + script) ];
    salt = "@SALT@";
  };
  lib = soname: file: flags: ''
    printf 'int f_%s(void){return 1;}\n' "$(echo ${soname} | tr -c 'a-z0-9\n' _)" > src.c
    gcc -shared -fPIC -Wl,-soname,${soname} -o ${file} src.c ${flags}
  '';
in rec {
  base = mk "apetest-base-1.0" ''
    mkdir -p $out/lib $out/share/hidden
    ${lib "libapebase.so.1" "$out/lib/libapebase.so.1.0" ""}
    ln -s libapebase.so.1.0 $out/lib/libapebase.so.1
    ln -s libapebase.so.1 $out/lib/libapebase.so
    ln -s lib $out/lib64
    echo "# libtool archive" > $out/lib/libapebase.la
    printf '\177ELF\002\001\001garbage' > $out/lib/libbroken.so.3
    echo 'int x;' > obj.c && gcc -c obj.c -o $out/lib/crt-test.o
    ln -s /lib/x86_64-linux-gnu/libc.so.6 $out/lib/libc-outside.so.6
    ${lib "libapehidden.so.1" "$out/share/hidden/libapehidden.so.1" ""}
  '';
  base11 = mk "apetest-base-1.1" ''
    mkdir -p $out/lib
    ${lib "libapebase.so.1" "$out/lib/libapebase.so.1" ""}
  '';
  mid = mk "apetest-mid-2.1" ''
    mkdir -p $out/lib
    ${lib "libapemid.so.2" "$out/lib/libapemid.so.2"
      "-L${base}/lib -l:libapebase.so.1 -Wl,--enable-new-dtags,-rpath,${base}/lib"}
  '';
  app = mk "apetest-app-0.5" ''
    mkdir -p $out/bin $out/lib $out/usr/lib/x86_64-linux-gnu
    ${lib "libapedeb.so.0" "$out/usr/lib/x86_64-linux-gnu/libapedeb.so.0" ""}
    echo 'int main(void){return 0;}' > main.c
    gcc main.c -o $out/bin/apeapp -L${mid}/lib -L$out/usr/lib/x86_64-linux-gnu \
      -l:libapemid.so.2 -l:libapedeb.so.0 -Wl,--enable-new-dtags \
      -Wl,-rpath,${mid}/lib:\$ORIGIN/../usr/lib/x86_64-linux-gnu
    ln -s ${mid}/lib/libapemid.so.2 $out/lib/libapemid-link.so.2
    printf '#!/bin/sh\necho hi\n' > $out/bin/script && chmod +x $out/bin/script
  '';
  hostz = mk "apetest-hostz-1.2" ''
    mkdir -p $out/lib
    cp -L /usr/lib/x86_64-linux-gnu/libz.so.1 $out/lib/libz.so.1.2.99
    ln -s libz.so.1.2.99 $out/lib/libz.so.1
  '';
  leaf = mk "apetest-leaf-1.0" ''
    mkdir -p $out/lib
    ${lib "libapeleaf.so.1" "$out/lib/libapeleaf.so.1" ""}
  '';
}
"""

SAMPLE_ATTRS = ("base", "base11", "mid", "app", "hostz")


def build_sample(tmp_path: Path, salt: str = "v1") -> dict[str, str]:
    """Build the sample store (all but ``leaf``); attribute name -> out path."""
    paths = nix_build(SAMPLE_EXPR.replace("@SALT@", salt), tmp_path, SAMPLE_ATTRS)
    assert len(paths) == len(SAMPLE_ATTRS), paths
    return dict(zip(SAMPLE_ATTRS, paths, strict=True))


def build_leaf(tmp_path: Path, salt: str) -> str:
    """A fresh, unreferenced store path (``salt`` makes it unique) that can be deleted."""
    (path,) = nix_build(SAMPLE_EXPR.replace("@SALT@", salt), tmp_path, ("leaf",))
    return path


# -- plain stores (no Nix) -------------------------------------------------------------


def fake_hash(seed: str) -> str:
    """A deterministic 32-character nix-base32 string."""
    import hashlib

    alphabet = "0123456789abcdfghijklmnpqrsvwxyz"
    digest = hashlib.sha256(seed.encode()).digest()
    return "".join(alphabet[b % 32] for b in digest[:32])


def compile_library(path: Path, soname: str, *, flags: Sequence[str] = ()) -> None:
    """Compile a tiny shared library ``path`` with DT_SONAME ``soname``."""
    source = path.parent / f".{path.name}.c"
    symbol = "".join(c if c.isalnum() else "_" for c in soname)
    source.write_text(f"int f_{symbol}(void) {{ return 1; }}\n")
    run(["gcc", "-shared", "-fPIC", f"-Wl,-soname,{soname}", "-o", str(path), str(source), *flags])
    source.unlink()


def compile_executable(path: Path, *, flags: Sequence[str] = ()) -> None:
    source = path.parent / f".{path.name}.c"
    source.write_text("int main(void) { return 0; }\n")
    run(["gcc", "-o", str(path), str(source), *flags])
    source.unlink()


def require_gcc() -> None:
    if shutil.which("gcc") is None:
        pytest.skip("gcc not found")


#: Where the plain sample store's RUNPATHs say it lives (as a copied closure would).
FOREIGN_STORE = "/nix/store"


def build_plain_store(store: Path) -> dict[str, Path]:
    """A small plain store (no Nix) in ``store``; name -> store path.

    ``zlib`` (a host libz, plus a non-ELF, a bad ELF, an object file and a link out of
    the store), ``zlib12`` (an older libz.so.1 provider), ``foo`` (RUNPATH names zlib
    under ``/nix/store``, as a copied closure keeps it), ``app`` (an executable whose
    RUNPATH names foo and a Debian-style ``$ORIGIN`` dir, plus a lib nobody names).
    """
    store.mkdir(parents=True, exist_ok=True)
    paths = {
        "zlib": store / f"{fake_hash('zlib')}-zlib-1.3",
        "zlib12": store / f"{fake_hash('zlib12')}-zlib-1.2.11",
        "foo": store / f"{fake_hash('foo')}-foo-2.0",
        "app": store / f"{fake_hash('app')}-app-1.0",
    }
    zlib = paths["zlib"] / "lib"
    zlib.mkdir(parents=True)
    shutil.copy(os.path.realpath(f"{HOST_LIB_DIR}/libz.so.1"), zlib / "libz.so.1.3.1")
    (zlib / "libz.so.1").symlink_to("libz.so.1.3.1")
    (zlib / "libz.so").symlink_to("libz.so.1")
    (zlib / "libz.la").write_text("# libtool\n")
    (zlib / "libbad.so.1").write_bytes(b"\x7fELF\x02\x01\x01garbage")
    (zlib / "libc-outside.so.6").symlink_to("/lib/x86_64-linux-gnu/libc.so.6")
    (zlib / ".obj.c").write_text("int x;\n")
    run(["gcc", "-c", str(zlib / ".obj.c"), "-o", str(zlib / "crt.o")])
    (zlib / ".obj.c").unlink()
    (paths["zlib"] / "lib64").symlink_to("lib")

    old = paths["zlib12"] / "lib"
    old.mkdir(parents=True)
    compile_library(old / "libz.so.1", "libz.so.1")

    foo = paths["foo"] / "lib"
    foo.mkdir(parents=True)
    zlib_foreign = f"{FOREIGN_STORE}/{paths['zlib'].name}/lib"
    compile_library(
        foo / "libfoo.so.2",
        "libfoo.so.2",
        flags=[f"-L{zlib}", "-l:libz.so.1", f"-Wl,--enable-new-dtags,-rpath,{zlib_foreign}"],
    )

    app = paths["app"]
    deb = app / "usr/lib/x86_64-linux-gnu"
    deb.mkdir(parents=True)
    compile_library(deb / "libdeb.so.0", "libdeb.so.0")
    (app / "share/x").mkdir(parents=True)
    compile_library(app / "share/x/libhidden.so.1", "libhidden.so.1")
    (app / "bin").mkdir()
    foo_foreign = f"{FOREIGN_STORE}/{paths['foo'].name}/lib"
    compile_executable(
        app / "bin/app",
        flags=[
            f"-L{foo}",
            f"-L{deb}",
            "-l:libfoo.so.2",
            "-l:libdeb.so.0",
            "-Wl,--enable-new-dtags",
            f"-Wl,-rpath,{foo_foreign}:$ORIGIN/../usr/lib/x86_64-linux-gnu",
        ],
    )
    (app / "bin/script").write_text("#!/bin/sh\n")
    return paths
