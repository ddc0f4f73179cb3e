"""Where autopatchelf keeps its caches (the index, locks, link directories): one rule.

Kept free of heavy imports: ``run`` with a cached lock reads it on every start.
"""

from __future__ import annotations

import os

CACHE_ENV = "AUTOPATCHELF_CACHE_DIR"


def default_cache_dir() -> str:
    """``$AUTOPATCHELF_CACHE_DIR``, else ``$XDG_CACHE_HOME/autopatchelf``, else
    ``~/.cache/autopatchelf``."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return os.path.abspath(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = xdg if xdg and os.path.isabs(xdg) else os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "autopatchelf")


def cache_dir(explicit: str | None = None) -> str:
    """``explicit`` (``--cache-dir``, made absolute), else :func:`default_cache_dir`."""
    return os.path.abspath(explicit) if explicit else default_cache_dir()
