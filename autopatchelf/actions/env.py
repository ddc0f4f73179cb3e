"""nix-ld variables for a solution (``NIX_LD``, ``NIX_LD_LIBRARY_PATH`` and per-system)."""

from __future__ import annotations

import shlex

from autopatchelf.solution.model import Solution


def nix_ld_variables(
    solution: Solution, system: str | None, *, link_dir: str | None = None
) -> dict[str, str]:
    """The variables nix-ld reads, for ``system`` (``x86_64-linux``...).

    ``link_dir`` must be given when ``solution.needs_link_dir``: the directory made by
    :func:`autopatchelf.actions.linkdir.write_link_dir`.
    """
    if solution.needs_link_dir and link_dir is None:
        raise ValueError("this solution needs a link directory; pass link_dir")
    path = (link_dir,) if solution.needs_link_dir and link_dir else solution.library_path
    values: dict[str, str] = {}
    if solution.interpreter:
        values["NIX_LD"] = solution.interpreter
    values["NIX_LD_LIBRARY_PATH"] = ":".join(path)
    if system:
        suffix = system.replace("-", "_")
        if solution.interpreter:
            values[f"NIX_LD_{suffix}"] = solution.interpreter
        values[f"NIX_LD_LIBRARY_PATH_{suffix}"] = ":".join(path)
    return values


def render_env(variables: dict[str, str]) -> str:
    """``export NAME=value`` lines, shell-quoted."""
    return "".join(f"export {name}={shlex.quote(value)}\n" for name, value in variables.items())
