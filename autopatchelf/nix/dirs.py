"""Where Nix keeps its store and its state (read from Nix's own environment variables).

Kept free of heavy imports: ``run`` with a lock checks store paths on every start.
"""

from __future__ import annotations

import os

DEFAULT_STORE_DIR = "/nix/store"
DEFAULT_STATE_DIR = "/nix/var/nix"


def nix_store_dir() -> str:
    """The store Nix is configured for (``NIX_STORE_DIR``, else ``/nix/store``)."""
    return os.path.normpath(os.environ.get("NIX_STORE_DIR") or DEFAULT_STORE_DIR)


def nix_state_dir() -> str:
    """Nix's state directory (``NIX_STATE_DIR``, else ``/nix/var/nix``)."""
    return os.path.normpath(os.environ.get("NIX_STATE_DIR") or DEFAULT_STATE_DIR)
