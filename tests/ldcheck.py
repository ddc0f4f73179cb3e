"""Ask the real dynamic loader what a solution loads (the judge of every prediction)."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Sequence

import attrs

from autopatchelf.actions.launch import loader_command
from autopatchelf.elf.facts import ElfFacts
from autopatchelf.solution.model import Solution

_INIT = re.compile(r"^\s*\d+:\s+calling init: (\S+)\s*$")
_LISTED = re.compile(r"=>\s+(/\S+)\s+\(0x")
_NOT_FOUND = re.compile(r"^\s*(\S+) => not found")


@attrs.frozen
class LoaderRun:
    returncode: int
    stdout: str
    stderr: str
    #: Real paths of every library ld.so loaded before starting the program (the
    #: loader itself excluded).
    loaded: frozenset[str]
    #: Real paths of what the program dlopen()ed later (plugins: not predicted).
    dlopened: frozenset[str]


def run_through(
    solution: Solution, root: str, args: Sequence[str] = (), *, link_dir: str | None = None
) -> LoaderRun:
    """Start ``root`` through the solution with ``LD_BIND_NOW=1 LD_DEBUG=libs``."""
    argv = loader_command(solution, root, args, link_dir=link_dir)
    return _traced(argv, not_libraries=(argv[0], root))


def _traced(argv: Sequence[str], *, not_libraries: Sequence[str]) -> LoaderRun:
    """Run ``argv`` with ``LD_BIND_NOW=1 LD_DEBUG=libs``; split what ld.so initialised into
    the libraries loaded before the program started and those it dlopen()ed later."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LD_BIND_NOW": "1", "LD_DEBUG": "libs"}
    done = subprocess.run(
        list(argv), capture_output=True, text=True, env=env, timeout=60, check=False
    )
    loaded: set[str] = set()
    dlopened: set[str] = set()
    started = False
    for line in done.stderr.splitlines():
        if "transferring control:" in line:
            started = True
        match = _INIT.match(line)
        if match:
            (dlopened if started else loaded).add(os.path.realpath(match.group(1)))
    loaded.difference_update(os.path.realpath(p) for p in not_libraries)
    return LoaderRun(
        done.returncode, done.stdout, done.stderr, frozenset(loaded), frozenset(dlopened)
    )


def static_load_set(
    solution: Solution, root: str, *, link_dir: str | None = None
) -> tuple[frozenset[str], tuple[str, ...]]:
    """``ld.so --list``: real paths of the libraries it maps, and the names not found."""
    argv = loader_command(solution, root, link_dir=link_dir)
    # [loader, --library-path, P, --argv0, root, root] -> [loader, --library-path, P, --list, root]
    listing = [argv[0], argv[1], argv[2], "--list", root]
    done = subprocess.run(listing, capture_output=True, text=True, timeout=60, check=False)
    paths = {os.path.realpath(m.group(1)) for m in _LISTED.finditer(done.stdout)}
    paths.discard(os.path.realpath(argv[0]))
    missing = tuple(
        m.group(1) for line in done.stdout.splitlines() if (m := _NOT_FOUND.match(line))
    )
    return frozenset(paths), missing


def predicted(solution: Solution, root: str) -> frozenset[str]:
    """Real paths the solution says ld.so loads for ``root`` (the loader excluded)."""
    interp = solution.interpreter
    paths = {os.path.realpath(lib.path) for lib in solution.root(root).libraries}
    if interp is not None:
        paths.discard(os.path.realpath(interp))
    return frozenset(paths)


_TRYING = re.compile(r"^\s*\d+:\s+trying file=(\S+)\s*$")


def run_directly(program: str, args: Sequence[str] = ()) -> LoaderRun:
    """Start a patched ``program`` itself (no loader on the command line: the kernel runs
    its PT_INTERP) with ``LD_BIND_NOW=1 LD_DEBUG=libs``."""
    interpreter = ElfFacts.read(program).interpreter
    not_libraries = [program] if interpreter is None else [program, interpreter]
    return _traced([program, *args], not_libraries=not_libraries)


def searched_files(stderr: str) -> tuple[str, ...]:
    """Every file ld.so tried while loading the program, before starting it (``LD_DEBUG=libs``:
    ``trying file=...``; later dlopen() searches are not included)."""
    tried: list[str] = []
    for line in stderr.splitlines():
        if "transferring control:" in line:
            break
        if match := _TRYING.match(line):
            tried.append(match.group(1))
    return tuple(tried)
