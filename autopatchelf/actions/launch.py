"""Start a root through its solution without patching: ``<loader> --library-path P root``."""

from __future__ import annotations

from collections.abc import Sequence

from autopatchelf.actions.env import library_path_string
from autopatchelf.errors import RunError
from autopatchelf.solution.model import Solution


def loader_command(
    solution: Solution,
    root: str,
    args: Sequence[str] = (),
    *,
    link_dir: str | None = None,
) -> list[str]:
    """The argv that runs ``root`` with the chosen glibc's loader and library path.

    ``argv[0]`` of the program stays ``root`` (``--argv0``), so programs that look at
    their own name behave as when started directly.
    """
    root_solution = solution.root(root)
    # A library root has no interpreter of its own: ld.so can still list it (--list).
    interpreter = root_solution.interpreter or solution.interpreter
    if interpreter is None:
        raise RunError(f"{root}: the solution has no loader to start it with")
    if solution.needs_link_dir:
        if link_dir is None:
            raise ValueError("this solution needs a link directory; pass link_dir")
        path = library_path_string((link_dir,))
    else:
        path = library_path_string(solution.library_path)
    return [interpreter, "--library-path", path, "--argv0", root, root, *args]
