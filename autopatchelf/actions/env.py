"""nix-ld variables for a solution (``NIX_LD``, ``NIX_LD_LIBRARY_PATH`` and per-system)."""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from autopatchelf.errors import OutputError
from autopatchelf.ldso.pathstring import Tag, join
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
    library_path = library_path_string(path)
    values: dict[str, str] = {}
    if solution.interpreter:
        values["NIX_LD"] = solution.interpreter
    values["NIX_LD_LIBRARY_PATH"] = library_path
    if system:
        suffix = system.replace("-", "_")
        if solution.interpreter:
            values[f"NIX_LD_{suffix}"] = solution.interpreter
        values[f"NIX_LD_LIBRARY_PATH_{suffix}"] = library_path
    return values


def library_path_string(dirs: Sequence[str]) -> str:
    """``dirs`` as the one string ld.so reads back as exactly these directories; an
    :class:`~autopatchelf.errors.OutputError` when one cannot be written so (a ``:`` or
    ``;`` in its name, a ``$`` token)."""
    try:
        return join(dirs, Tag.LIBRARY_PATH)
    except ValueError as exc:
        raise OutputError(
            str(exc), hint="use a directory of links elsewhere (--link-dir DIR)"
        ) from None


def system_of(binary: str) -> str | None:
    """The Nix system (``x86_64-linux``) of the ELF file ``binary``, for the per-system
    variables."""
    from autopatchelf.elf.facts import ElfFacts
    from autopatchelf.ldso.machines import nix_system

    return nix_system(ElfFacts.read(binary))


def render_env(variables: dict[str, str]) -> str:
    """``export NAME=value`` lines, shell-quoted."""
    return "".join(f"export {name}={shlex.quote(value)}\n" for name, value in variables.items())
