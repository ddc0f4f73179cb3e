"""What ``autopatchelf run`` executes: argv and environment, without patching anything.

Two ways to start a foreign binary through a solution:

* the chosen loader (default): ``<loader> --library-path P --argv0 BINARY BINARY ARGS``
  (:func:`autopatchelf.actions.launch.loader_command`), the environment unchanged;
* nix-ld (``--nix-ld``): the binary itself, whose interpreter on NixOS is nix-ld's stub,
  with ``NIX_LD``/``NIX_LD_LIBRARY_PATH`` (and their per-system forms) set.

Building a :class:`RunPlan` is pure; the CLI ``execve``\\ s it. :func:`ensure_link_dir`
prepares the directory of links a solution needs when no library-path order works.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import attrs

from autopatchelf.actions.launch import loader_command
from autopatchelf.errors import RunError
from autopatchelf.frozen import FrozenMap, Record, string_map
from autopatchelf.solution.model import Solution

# The nix-ld and link-dir helpers (and what they import: shlex, tempfile) load only when
# used: the default path of ``autopatchelf run`` needs neither.


@attrs.frozen(repr=False)
class RunPlan(Record):
    """An ``execve`` call: the file to execute, its argv and its environment."""

    executable: str
    argv: tuple[str, ...]
    env: FrozenMap[str, str] = attrs.field(converter=string_map)
    #: ``loader``, ``nix-ld`` or ``direct``.
    mode: str


def exec_error(plan: RunPlan, exc: OSError) -> RunError:
    """Why ``execve`` of ``plan`` failed, as the error to raise."""
    hint = None
    if plan.mode == "nix-ld":
        hint = (
            "--nix-ld needs nix-ld as the binary's interpreter "
            "(NixOS: programs.nix-ld.enable = true); run without --nix-ld"
        )
    return RunError(f"cannot execute {plan.executable}: {exc.strerror or exc}", hint=hint)


def loader_plan(
    solution: Solution,
    binary: str,
    args: Sequence[str],
    environ: Mapping[str, str],
    *,
    link_dir: str | None = None,
) -> RunPlan:
    """Start ``binary`` (a root of ``solution``) through the chosen loader; a shared
    library is refused (ld.so would jump into it and crash)."""
    _refuse_library(solution, binary)
    argv = loader_command(solution, os.path.abspath(binary), args, link_dir=link_dir)
    return RunPlan(executable=argv[0], argv=tuple(argv), env=dict(environ), mode="loader")


def nix_ld_plan(
    solution: Solution,
    binary: str,
    args: Sequence[str],
    environ: Mapping[str, str],
    *,
    system: str | None,
    link_dir: str | None = None,
) -> RunPlan:
    """Exec ``binary`` itself with nix-ld's variables for ``system`` set over ``environ``.

    Needs nix-ld as the binary's interpreter (``/lib64/ld-linux-x86-64.so.2`` on a NixOS
    with ``programs.nix-ld.enable``); elsewhere the host loader ignores the variables.
    """
    from autopatchelf.actions.env import nix_ld_variables

    _refuse_library(solution, binary)
    env = dict(environ)
    env.update(nix_ld_variables(solution, system, link_dir=link_dir))
    return RunPlan(
        executable=os.path.abspath(binary),
        argv=(binary, *args),
        env=env,
        mode="nix-ld",
    )


def _refuse_library(solution: Solution, binary: str) -> None:
    if solution.root(os.path.abspath(binary)).interpreter is None:
        raise RunError(
            f"{binary} is a shared library, not a program: it cannot be started",
            hint="run the program that loads it (solve or patch the library itself)",
        )


def direct_plan(binary: str, args: Sequence[str], environ: Mapping[str, str]) -> RunPlan:
    """Start ``binary`` as it is (a statically linked program needs no loader)."""
    return RunPlan(
        executable=os.path.abspath(binary), argv=(binary, *args), env=environ, mode="direct"
    )


def default_link_dir(solution: Solution, cache_base: str) -> str:
    """A link directory under ``cache_base`` named by the chosen files (so reusable)."""
    import hashlib

    from autopatchelf.actions.linkdir import link_entries

    digest = hashlib.sha256()
    for name, target in link_entries(solution).items():
        digest.update(f"{name}\0{target}\0".encode("utf-8", "surrogateescape"))
    return os.path.join(cache_base, "links", digest.hexdigest()[:32])


def ensure_link_dir(solution: Solution, directory: str) -> str:
    """``directory`` holding exactly the chosen files' links: kept when already right,
    else (re)made (:func:`~autopatchelf.actions.linkdir.ensure_links`)."""
    from autopatchelf.actions.linkdir import ensure_links, link_entries

    return ensure_links(link_entries(solution), directory)
