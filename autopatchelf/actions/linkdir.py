"""A directory of links holding exactly the chosen files (when no library-path order works)."""

from __future__ import annotations

import os
import tempfile

from autopatchelf.solution.model import Solution


def link_entries(solution: Solution) -> dict[str, str]:
    """name -> file for every library the link directory must hold."""
    return dict(sorted(solution.choices.items()))


def write_link_dir(solution: Solution, directory: str) -> str:
    """Create ``directory`` (atomically replacing an old one) with one symlink per name."""
    parent = os.path.dirname(os.path.abspath(directory)) or "."
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".links-", dir=parent)
    for name, target in link_entries(solution).items():
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
