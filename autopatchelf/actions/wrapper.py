"""Wrapper scripts: a POSIX ``sh`` script that starts a binary through its solution.

The script is one ``exec`` of the chosen glibc's loader with ``--library-path`` (which
replaces ``LD_LIBRARY_PATH`` for the process) and ``--argv0 "$0"``, so the program sees the
wrapper's name as its own, gets the arguments, stdin and signals, and its exit status is
the script's. It needs no environment variable and no Python at start-up (it works under
``env -i`` and from any directory: every path in it is absolute), and costs what the shell
and the loader cost. Every value is single-quoted and written as the names' real bytes,
so any path (spaces, quotes, ``$``, backticks, newlines) is safe.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import tempfile
from collections.abc import Sequence

from autopatchelf.actions.escape import shell_bytes, visible
from autopatchelf.actions.launch import loader_command
from autopatchelf.elf.facts import ElfFacts
from autopatchelf.errors import PatchError
from autopatchelf.ldso.load import LoadRole, load_role
from autopatchelf.solution.model import Solution

__all__ = [
    "elf_behind",
    "is_our_wrapper",
    "programs_among",
    "render_wrapper",
    "wrap",
    "wrapped_name",
    "wrapper_of",
]

#: Marks a wrapper as ours (``patch --wrap`` only rewrites files that carry it).
MARK = "# autopatchelf wrapper"


def render_wrapper(
    solution: Solution, root: str, *, link_dir: str | None = None, target: str | None = None
) -> bytes:
    """The wrapper of ``root`` (one of the solution's roots) as bytes; ``target``: where
    the ELF file is by then (``patch --wrap`` moves it), default ``root``."""
    root = os.path.abspath(root)
    argv = loader_command(solution, root, link_dir=link_dir)
    # [loader, --library-path, PATH, --argv0, root, root]: argv0 becomes the script's $0.
    words = [shlex.quote(word) for word in argv]
    words[4] = '"$0"'
    if target is not None:
        words[5] = shlex.quote(os.path.abspath(target))
    lines = [
        "#!/bin/sh",
        # A comment holds no raw control character: a newline would end it.
        f"{MARK} for {visible(os.path.abspath(target or root))}: exec it through its "
        "glibc's loader.",
        "# Re-make it (autopatchelf solve --format wrapper, or patch --wrap) when the store",
        "# paths it names are gone.",
        f'exec {" ".join(words)} "$@"',
        "",
    ]
    return shell_bytes("\n".join(lines))


def wrapped_name(binary: str) -> str:
    """Where ``patch --wrap`` moves the ELF file: ``.NAME-wrapped`` beside it (the name
    nixpkgs' ``wrapProgram`` uses)."""
    directory, name = os.path.split(os.path.abspath(binary))
    return os.path.join(directory, f".{name}-wrapped")


def elf_behind(path: str) -> str:
    """The ELF file ``path`` stands for: itself, or for a wrapper we wrote there, the
    ``.NAME-wrapped`` file it starts."""
    wrapped = wrapped_name(path)
    if os.path.isfile(wrapped) and is_our_wrapper(path):
        return wrapped
    return os.path.abspath(path)


def programs_among(paths: Sequence[str]) -> list[str]:
    """Those of the ELF files ``paths`` that ld.so starts (a wrapper only makes sense for
    them), in order."""
    return [p for p in paths if load_role(ElfFacts.read(p)) is LoadRole.PROGRAM]


def wrapper_of(elf: str) -> str:
    """Where the wrapper of the ELF file ``elf`` goes: beside ``.NAME-wrapped``, our
    wrapper NAME; for any other file, its own path."""
    directory, name = os.path.split(os.path.abspath(elf))
    if name.startswith(".") and name.endswith("-wrapped"):
        wrapper = os.path.join(directory, name[1 : -len("-wrapped")])
        if is_our_wrapper(wrapper):
            return wrapper
    return os.path.abspath(elf)


def is_our_wrapper(path: str) -> bool:
    try:
        with open(path, "rb") as handle:
            head = handle.read(256)
    except OSError:
        return False
    return head.startswith(b"#!/bin/sh\n" + MARK.encode())


def _keep_elf(path: str, target: str) -> None:
    """Give the ELF at ``path`` its second name ``target`` (a hard link, so ``path`` can
    then be replaced in one rename; a link left by an interrupted run is reused)."""
    try:
        os.link(path, target)
    except FileExistsError:
        if not os.path.samefile(path, target):
            raise PatchError(
                f"{visible(target)} exists and is not {visible(path)}: not ours to replace",
                hint="move it away, then wrap again",
            ) from None


def wrap(solution: Solution, path: str, *, link_dir: str | None = None) -> str:
    """Put a wrapper at ``path`` and the ELF file it starts at ``.NAME-wrapped`` (moved
    there the first time; a wrapper of ours already there is rewritten). The solution's
    root is the ELF file (:func:`elf_behind`). Returns the wrapped ELF's path."""
    path = os.path.abspath(path)
    elf = elf_behind(path)
    target = wrapped_name(path)
    script = render_wrapper(solution, elf, link_dir=link_dir, target=target)
    directory = os.path.dirname(path)
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(script)
        os.chmod(temporary, os.stat(elf).st_mode & 0o7777 & ~0o6000 | 0o111)
        if elf == path:
            _keep_elf(path, target)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    return target
