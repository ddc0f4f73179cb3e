"""The user's Nix configuration, as Nix itself reads it: substituters and trusted keys.

``nix show-config --json`` applies nix.conf, ``NIX_CONFIG`` and the rest of Nix's rules,
so we never parse configuration files ourselves. Without Nix on PATH the settings are
empty (binary caches must then be named with ``--substituter``).
"""

from __future__ import annotations

import functools
import json
import shutil
import subprocess

import attrs

from autopatchelf.errors import StoreError
from autopatchelf.frozen import Record


@attrs.frozen(repr=False)
class NixSettings(Record):
    """What Nix would substitute from, and whose signatures it trusts."""

    substituters: tuple[str, ...] = ()
    trusted_public_keys: tuple[str, ...] = ()
    require_sigs: bool = True


def _values(document: dict[str, object], key: str) -> tuple[str, ...]:
    entry = document.get(key)
    value = entry.get("value") if isinstance(entry, dict) else None
    if isinstance(value, list):
        return tuple(str(v) for v in value if isinstance(v, str) and v)
    if isinstance(value, str):
        return tuple(value.split())
    return ()


@functools.cache
def nix_settings(executable: str = "nix", timeout: float = 30.0) -> NixSettings:
    """The settings ``nix show-config`` reports (memoised: one call per process)."""
    found = shutil.which(executable)
    if found is None:
        return NixSettings()
    argv = [found, "--extra-experimental-features", "nix-command", "show-config", "--json"]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise StoreError(f"cannot run {found} show-config: {exc}") from exc
    if done.returncode != 0:
        detail = done.stderr.strip().splitlines()
        raise StoreError(
            f"nix show-config failed: {detail[-1] if detail else done.returncode}",
            hint="check nix.conf and NIX_CONFIG, or name the caches with --substituter",
        )
    try:
        document = json.loads(done.stdout)
    except json.JSONDecodeError as exc:
        raise StoreError(f"nix show-config printed no JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise StoreError("nix show-config printed an unexpected document")
    require = document.get("require-sigs")
    require_sigs = not (isinstance(require, dict) and require.get("value") is False)
    return NixSettings(
        substituters=_values(document, "substituters"),
        trusted_public_keys=_values(document, "trusted-public-keys"),
        require_sigs=require_sigs,
    )
