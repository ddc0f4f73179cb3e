"""Options several commands share (kept apart so ``index`` does not load the solver)."""

from __future__ import annotations

import argparse
from typing import Any


def add_store_options(parser: argparse.ArgumentParser | Any) -> None:
    """``--store``, ``--within`` and ``--cache-dir``: which libraries are candidates."""
    parser.add_argument(
        "--store",
        metavar="DIR",
        help="the store directory (default: $NIX_STORE_DIR or /nix/store); any directory "
        "of <hash>-<name> entries works without Nix",
    )
    parser.add_argument(
        "--within",
        metavar="PATH",
        action="append",
        default=[],
        help="only the closure of PATH (a store path, result link, profile, "
        "/run/current-system); repeatable",
    )
    parser.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="where the index cache lives (default: $AUTOPATCHELF_CACHE_DIR, else "
        "$XDG_CACHE_HOME/autopatchelf, else ~/.cache/autopatchelf)",
    )
