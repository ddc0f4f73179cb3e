"""Nix policy and real-cache helpers for the remote tests.

Tests needing Nix call :func:`require_nix`: it skips (with the reason) when ``nix`` /
``nix-store`` are missing or we are not root, but fails instead when
``AUTOPATCHELF_REQUIRE_NIX=1``, so a broken setup cannot pass as a skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

REQUIRE_ENV = "AUTOPATCHELF_REQUIRE_NIX"
STORE = Path("/nix/store")
NIX_COMMAND = ("nix", "--extra-experimental-features", "nix-command")


def nix_unusable_reason() -> str | None:
    """Why real-Nix tests cannot run here, or ``None``."""
    for tool in ("nix", "nix-store"):
        if shutil.which(tool) is None:
            return f"{tool} not found on PATH"
    if os.geteuid() != 0:
        return "the real-cache tests copy from the root-owned /nix/store and need root"
    return None


def require_nix() -> None:
    reason = nix_unusable_reason()
    if reason is None:
        return
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def run(*args: str, stdin: bytes | None = None) -> bytes:
    env = dict(os.environ, NIX_CONFIG="sandbox = false")
    done = subprocess.run(list(args), capture_output=True, input=stdin, env=env, check=False)
    if done.returncode != 0:
        pytest.fail(f"{' '.join(args)} failed: {done.stderr.decode(errors='replace')[-2000:]}")
    return done.stdout


def find_store_path(fragment: str, lib_dir: str = "usr/lib/x86_64-linux-gnu") -> Path:
    """A valid store path whose name contains ``fragment`` and that has ``lib_dir``."""
    for entry in sorted(STORE.iterdir()):
        name = entry.name
        if fragment in name and not name.endswith((".drv", ".deb")) and (entry / lib_dir).is_dir():
            check = subprocess.run(
                ["nix-store", "--check-validity", str(entry)], capture_output=True, check=False
            )
            if check.returncode == 0:
                return entry
    pytest.fail(f"no valid store path like *{fragment}* with {lib_dir} in {STORE}")


def closure(paths: list[Path]) -> list[Path]:
    out = run("nix-store", "--query", "--requisites", *map(str, paths)).decode()
    return [Path(line) for line in out.split()]


@dataclass
class RealCache:
    """A binary cache written by ``nix copy`` (with ``.ls`` listings and signatures)."""

    root: Path
    compression: str
    public_key: str
    paths: list[Path]

    @property
    def url(self) -> str:
        return f"file://{self.root}"

    def narinfo_file(self, path: Path) -> Path:
        return self.root / f"{path.name[:32]}.narinfo"


def make_cache(
    root: Path, paths: list[Path], compression: str, secret_key: Path, public_key: str
) -> RealCache:
    url = f"file://{root}?write-nar-listing=true&secret-key={secret_key}&compression={compression}"
    if compression == "xz":
        url += "&compression-level=0"  # keeps `nix copy` fast; still a real xz stream
    run(*NIX_COMMAND, "copy", "--option", "substituters", "", "--to", url, *map(str, paths))
    return RealCache(root, compression, public_key, closure(paths))


def generate_key(directory: Path, name: str) -> tuple[Path, str]:
    secret, public = directory / f"{name}.sec", directory / f"{name}.pub"
    run("nix-store", "--generate-binary-cache-key", name, str(secret), str(public))
    return secret, public.read_text().strip()
