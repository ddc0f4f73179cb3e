"""Realising store paths from binary caches with Nix itself (``nix-store --realise``).

Nix downloads, checks the signatures and hashes again, and registers the paths; we never
write to the store ourselves. The substituters the solve used are passed on
(``--option substituters``) and the extra keys it trusted (``extra-trusted-public-keys``);
everything else comes from the user's configuration, as for any ``nix-store`` call.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence

from autopatchelf.errors import StoreError


def realise(
    paths: Sequence[str],
    *,
    substituters: Sequence[str],
    extra_keys: Sequence[str] = (),
    executable: str = "nix-store",
    timeout: float | None = 3600.0,
) -> None:
    """Make ``paths`` valid in the store, or raise
    :class:`~autopatchelf.errors.StoreError` (one line)."""
    if not paths:
        return
    found = shutil.which(executable)
    if found is None:
        raise StoreError(
            f"{executable} not found on PATH: cannot download {len(paths)} store paths",
            hint="install Nix, or pass --no-realise to see the solution without downloading",
        )
    argv = [found, "--realise", *paths, "--option", "substituters", " ".join(substituters)]
    if extra_keys:
        argv += ["--option", "extra-trusted-public-keys", " ".join(extra_keys)]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise StoreError(f"nix-store --realise took longer than {timeout:g} s") from None
    except OSError as exc:
        raise StoreError(f"cannot run {found}: {exc.strerror}") from None
    if done.returncode != 0:
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
        reason = lines[-1].strip() if lines else f"exit status {done.returncode}"
        raise StoreError(
            f"nix-store --realise of {len(paths)} store paths failed: {reason}",
            hint="check that Nix trusts these substituters and keys (trusted-substituters, "
            "trusted-public-keys in nix.conf), or pass --no-realise",
        )
