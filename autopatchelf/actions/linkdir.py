"""A directory of links holding exactly the chosen files (when no library-path order works)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping

from autopatchelf.solution.loadorder import link_entries as entries_for
from autopatchelf.solution.model import Solution


def link_entries(solution: Solution) -> dict[str, str]:
    """name -> file for every link the solution's link directory must hold
    (:func:`autopatchelf.solution.loadorder.link_entries`)."""
    return entries_for(solution.choices, solution.substitutions, solution.delivery)


def write_link_dir(solution: Solution, directory: str) -> str:
    """Create ``directory`` (atomically replacing an old one) with one symlink per chosen
    name."""
    return write_links(link_entries(solution), directory)


def write_links(entries: Mapping[str, str], directory: str) -> str:
    """Create ``directory`` (atomically replacing an old one) with a symlink ``name ->
    target`` per entry."""
    parent = os.path.dirname(os.path.abspath(directory)) or "."
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".links-", dir=parent)
    for name, target in sorted(entries.items()):
        os.symlink(target, os.path.join(staging, name))
    if os.path.isdir(directory) and not os.path.islink(directory):
        old = tempfile.mkdtemp(prefix=".old-links-", dir=parent)
        os.rmdir(old)
        os.rename(directory, old)
        os.rename(staging, directory)
        for entry in os.listdir(old):
            os.unlink(os.path.join(old, entry))
        os.rmdir(old)
    else:
        os.rename(staging, directory)
    return directory


def ensure_links(entries: Mapping[str, str], directory: str) -> str:
    """``directory`` holding exactly ``entries`` as links: kept when it already does, else
    (re)made with :func:`write_links`."""
    try:
        present = {entry.name: os.readlink(entry.path) for entry in os.scandir(directory)}
    except OSError:  # missing, or holding something that is not a link
        present = None
    if present != dict(entries):
        write_links(entries, directory)
    return directory
