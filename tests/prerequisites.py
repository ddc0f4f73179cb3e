"""What the test-suite (and the demo) needs from the host, in one table, and the set-up.

Every tool a test runs is listed here once, with the Debian package that provides it.
``python tests/prerequisites.py --setup`` (run by ``nox -s tests`` and ``nox -s demo``
before anything else) makes a fresh Debian machine ready when run as root:

* installs the missing packages with ``apt-get`` (``apt-get update`` first only when the
  package lists are missing or an install fails for want of them);
* creates Nix's build users (group ``nixbld``, users ``nixbld1..N``) when the group Nix is
  configured to build as does not exist: Debian's ``nix-bin`` creates none (its
  ``nix-setup-systemd`` package would, but needs systemd running).

Not root, it only lists what is missing and how to install it; the tests that need a
missing tool then skip with that reason, or fail when ``AUTOPATCHELF_REQUIRE_NIX=1`` (CI):
:func:`require` is that one policy.

This file is stdlib-only: it runs before the test environment exists.
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass

#: With this set to 1 (CI), a missing prerequisite fails the tests that need it.
REQUIRE_ENV = "AUTOPATCHELF_REQUIRE_NIX"
NIX_BUILD_USERS = 8
#: Options of every ``nix-build`` the tests run: no binary cache (none is reachable), and
#: no sandbox, since the fixture derivations build with the host's ``/bin/sh``, gcc and
#: patchelf (Debian's nix-bin enables the sandbox by default).
NIX_BUILD_OPTIONS = ("--option", "substituters", "", "--option", "sandbox", "false")


@dataclass(frozen=True)
class Prerequisite:
    """One thing some tests need: how to tell it is there, and which package brings it."""

    name: str
    #: The Debian package that provides it.
    package: str
    #: What needs it, for messages.
    used_for: str
    present: Callable[[], bool]


def _tool(name: str) -> Callable[[], bool]:
    return lambda: shutil.which(name) is not None


@functools.cache
def _gcc_m32_links() -> bool:
    """Whether ``gcc -m32`` links a program (gcc-multilib installs the 32-bit libc)."""
    gcc = shutil.which("gcc")
    if gcc is None:
        return False
    with tempfile.TemporaryDirectory() as work:
        source = os.path.join(work, "probe.c")
        with open(source, "w", encoding="ascii") as stream:
            stream.write("int main(void) { return 0; }\n")
        done = subprocess.run(
            [gcc, "-m32", "-o", os.path.join(work, "probe"), source],
            capture_output=True,
            check=False,
        )
        return done.returncode == 0


def _file(path: str) -> Callable[[], bool]:
    return lambda: os.path.exists(path)


PREREQUISITES: tuple[Prerequisite, ...] = (
    Prerequisite("nix-build", "nix-bin", "the real Nix store the tests build", _tool("nix-build")),
    Prerequisite("nix-store", "nix-bin", "store queries, GC roots", _tool("nix-store")),
    Prerequisite("nix-instantiate", "nix-bin", "Nix expressions", _tool("nix-instantiate")),
    Prerequisite("gcc", "gcc", "test programs and libraries", _tool("gcc")),
    Prerequisite("gcc -m32", "gcc-multilib", "32-bit (i386) test programs", _gcc_m32_links),
    Prerequisite("patchelf", "patchelf", "fixture libraries' RUNPATHs", _tool("patchelf")),
    Prerequisite("dpkg-deb", "dpkg", "unpacking Debian packages", _tool("dpkg-deb")),
    Prerequisite("apt-get", "apt", "downloading Debian packages", _tool("apt-get")),
    Prerequisite("apt-cache", "apt", "Debian package metadata", _tool("apt-cache")),
    Prerequisite("readelf", "binutils", "cross-checking the ELF reader", _tool("readelf")),
    Prerequisite(
        "zlib.h", "zlib1g-dev", "a test library linked to zlib", _file("/usr/include/zlib.h")
    ),
    Prerequisite("tmux", "tmux", "the --interactive terminal test", _tool("tmux")),
    Prerequisite("ca-certificates", "ca-certificates", "apt over https", _file("/etc/ssl/certs")),
)

BY_NAME = {p.name: p for p in PREREQUISITES}


def missing(names: Sequence[str] | None = None) -> list[Prerequisite]:
    """The prerequisites (all, or those named) that are not there."""
    wanted = PREREQUISITES if names is None else tuple(BY_NAME[n] for n in names)
    return [p for p in wanted if not p.present()]


def reason(names: Sequence[str]) -> str | None:
    """Why the named prerequisites are not met (naming the packages), or None."""
    lacking = missing(names)
    if not lacking:
        return None
    packages = " ".join(dict.fromkeys(p.package for p in lacking))
    what = ", ".join(p.name for p in lacking)
    verb = "is" if len(lacking) == 1 else "are"
    return f"{what} {verb} missing (apt-get install {packages})"


def require(why: str | None) -> None:
    """The one policy: skip the calling test for ``why`` (a reason it cannot run), or fail
    instead when ``AUTOPATCHELF_REQUIRE_NIX=1``, so a broken CI set-up never passes by
    skipping. ``None``: nothing is missing. Needs pytest (only the tests call it)."""
    import pytest

    if why is None:
        return
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 but {why}", pytrace=False)
    pytest.skip(why)


def need(*names: str) -> None:
    """:func:`require` the named prerequisites (``need("gcc", "gcc -m32")``)."""
    require(reason(names))


# -- set-up --------------------------------------------------------------------------------


def _say(message: str) -> None:
    print(f"prerequisites: {message}", file=sys.stderr, flush=True)


def _apt_install(packages: list[str]) -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    command = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages]
    lists = "/var/lib/apt/lists"
    has_lists = os.path.isdir(lists) and any(n.endswith("_Packages") for n in os.listdir(lists))
    if has_lists:
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode == 0:
            return
    _say("apt-get update")
    subprocess.run(["apt-get", "update", "-q"], env=env, check=True, stdout=subprocess.DEVNULL)
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)


def _nix_build_group() -> str | None:
    """The group Nix builds as (``build-users-group``), or None when it builds as root."""
    configured = None
    try:
        done = subprocess.run(
            ["nix", "--extra-experimental-features", "nix-command", "show-config"],
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return None
    for line in done.stdout.splitlines():
        key, _, value = line.partition(" = ")
        if key.strip() == "build-users-group":
            configured = value.strip()
    return configured or None


def _group_exists(group: str) -> bool:
    import grp

    try:
        grp.getgrnam(group)
    except KeyError:
        return False
    return True


def _make_build_users(group: str) -> None:
    """What Nix's own multi-user installer does: a system group and N member users."""
    _say(f"creating Nix build group {group} and {NIX_BUILD_USERS} build users")
    subprocess.run(["groupadd", "--system", group], check=True)
    nologin = shutil.which("nologin") or "/usr/sbin/nologin"
    for number in range(1, NIX_BUILD_USERS + 1):
        subprocess.run(
            [
                "useradd", "--system", "--no-create-home", "--home-dir", "/var/empty",
                "--shell", nologin, "--gid", group, "--groups", group,
                "--comment", f"Nix build user {number}", f"{group}{number}",
            ],
            check=True,
        )  # fmt: skip


def setup() -> int:
    """Install what is missing (as root on Debian); list it otherwise. Returns an exit code
    (0 unless an install step failed)."""
    lacking = missing()
    is_root = os.geteuid() == 0
    if lacking and is_root and shutil.which("apt-get"):
        packages = sorted({p.package for p in lacking})
        _say(f"installing {' '.join(packages)}")
        try:
            _apt_install(packages)
        except subprocess.CalledProcessError as exc:
            _say(f"apt-get failed ({exc.returncode}); the tests needing these will say so")
            return 1
        _gcc_m32_links.cache_clear()
        lacking = missing()
    for prerequisite in lacking:
        _say(
            f"missing {prerequisite.name} ({prerequisite.used_for}): "
            f"apt-get install {prerequisite.package}"
        )
    if is_root and shutil.which("nix-build"):
        group = _nix_build_group()
        if group is not None and not _group_exists(group):
            _make_build_users(group)
    elif not is_root:
        _say("not root: the Nix tests (which build into /nix/store) will be skipped")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setup", action="store_true", help="install what is missing")
    args = parser.parse_args(argv)
    if args.setup:
        return setup()
    for prerequisite in missing():
        print(f"{prerequisite.name}: apt-get install {prerequisite.package}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
