"""The flags of :class:`~autopatchelf.options.SolveOptions`, as one table, and the one place
that turns parsed arguments into the options every command passes on.

Adding an option: a field on ``SolveOptions`` and an entry in ``SOLVE_FLAGS``.
(Kept free of solver imports so ``index`` and ``run`` with a lock stay fast.)
"""

from __future__ import annotations

import argparse
from typing import Any

import attrs

from autopatchelf.frozen import FrozenMap, Record
from autopatchelf.options import (
    NIX_INDEX_DEFAULT,
    REMOTE_TIMEOUT_DEFAULT,
    DlopenPriority,
    GlibcPolicy,
    SolveOptions,
)


def _arguments(kwargs: dict[str, Any]) -> FrozenMap[str, Any]:
    return FrozenMap(kwargs)


@attrs.frozen(repr=False)
class Flag(Record):
    """A command-line flag that sets the ``SolveOptions`` field ``field``."""

    field: str
    flag: str
    kwargs: FrozenMap[str, Any] = attrs.field(converter=_arguments)


#: Where candidates come from (also the ``index`` command's options).
STORE_FLAGS: tuple[Flag, ...] = (
    Flag(
        "store",
        "--store",
        {
            "metavar": "DIR",
            "help": "the store directory (default: $NIX_STORE_DIR or /nix/store); any "
            "directory of <hash>-<name> entries works without Nix",
        },
    ),
    Flag(
        "within",
        "--within",
        {
            "metavar": "PATH",
            "action": "append",
            "default": [],
            "help": "only the closure of PATH (a store path, result link, profile, "
            "/run/current-system); repeatable",
        },
    ),
    Flag(
        "cache_dir",
        "--cache-dir",
        {
            "metavar": "DIR",
            "help": "where the index cache lives (default: $AUTOPATCHELF_CACHE_DIR, else "
            "$XDG_CACHE_HOME/autopatchelf, else ~/.cache/autopatchelf)",
        },
    ),
)


def _seconds(text: str) -> float:
    """A timeout: a finite number of seconds above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError("must be more than 0 seconds (and finite)")
    return value


#: Candidates that are not in the store yet: binary caches and what lists their paths.
REMOTE_FLAGS: tuple[Flag, ...] = (
    Flag(
        "remote_paths",
        "--remote-paths",
        {
            "metavar": "FILE",
            "action": "append",
            "default": [],
            "help": "store paths a binary cache may have, one per line (plain, .xz or .zst: "
            "a channel's store-paths.xz); they become candidates, checked before any "
            "download; repeatable",
        },
    ),
    Flag(
        "nix_index",
        "--nix-index",
        {
            "metavar": "DB",
            "action": "append",
            "nargs": "?",
            "const": NIX_INDEX_DEFAULT,
            "default": [],
            "help": "a nix-index files database (default: $NIX_INDEX_DATABASE/files, else "
            "$XDG_CACHE_HOME/nix-index/files): its store paths become candidates",
        },
    ),
    Flag(
        "substituters",
        "--substituter",
        {
            "metavar": "URL",
            "action": "append",
            "default": [],
            "help": "a binary cache (file://, http://, https://) to fetch from; a file:// one "
            "also lends its store paths as candidates (default: the substituters of Nix's "
            "configuration); repeatable",
        },
    ),
    Flag(
        "trusted_public_keys",
        "--trusted-public-key",
        {
            "metavar": "KEY",
            "action": "append",
            "default": [],
            "help": "trust narinfos signed by KEY (name:base64) besides Nix's "
            "trusted-public-keys; repeatable",
        },
    ),
    Flag(
        "remote_timeout",
        "--remote-timeout",
        {
            "metavar": "SECONDS",
            "type": _seconds,
            "default": REMOTE_TIMEOUT_DEFAULT,
            "help": "how long a binary cache may take to connect, and for each read, before "
            f"it counts as down (default: {REMOTE_TIMEOUT_DEFAULT:g})",
        },
    ),
    Flag(
        "realise",
        "--no-realise",
        {
            "action": "store_false",
            "help": "do not download the chosen store paths that are missing: print the "
            "solution and what it would download",
        },
    ),
)

#: What must hold and what is preferred.
SOLVE_FLAGS: tuple[Flag, ...] = (
    Flag(
        "glibc",
        "--glibc",
        {
            "choices": [p.value for p in GlibcPolicy],
            "default": GlibcPolicy.STRICT.value,
            "help": "strict: every chosen closure uses the one glibc (default); compatible: "
            "closures may use another glibc if the loaded one has every version they need",
        },
    ),
    Flag(
        "prefer",
        "--prefer",
        {"metavar": "NAME_OR_PATH", "action": "append", "default": [], "help": "prefer these"},
    ),
    Flag(
        "avoid",
        "--avoid",
        {"metavar": "NAME_OR_PATH", "action": "append", "default": [], "help": "avoid these"},
    ),
    Flag(
        "system",
        "--system",
        {
            "metavar": "PATH",
            "action": "append",
            "default": None,
            "help": "prefer providers already in PATH's closure (default: /run/current-system)",
        },
    ),
    Flag(
        "allow_missing",
        "--allow-missing",
        {
            "metavar": "PATTERN",
            "action": "append",
            "default": [],
            "help": "a missing soname matching PATTERN (fnmatch) is a warning, not a failure",
        },
    ),
    Flag(
        "allow_substitution",
        "--allow-substitution",
        {
            "action": "store_true",
            "help": "let a close soname (libfoo.so.2 for a missing libfoo.so.1) stand in when "
            "every version and versioned symbol still fits",
        },
    ),
    Flag(
        "dlopen",
        "--dlopen",
        {
            "metavar": "SONAME",
            "action": "append",
            "default": [],
            "help": "the program dlopen()s SONAME: solve it like a DT_NEEDED (its provider's "
            "closure joins the one-glibc check); repeatable",
        },
    ),
    Flag(
        "dlopen_priority",
        "--dlopen-priority",
        {
            "choices": [p.value for p in DlopenPriority],
            "default": DlopenPriority.RECOMMENDED.value,
            "help": "the least .note.dlopen priority solved for: required ones must be "
            "provided; recommended ones (the default) are, unless that breaks the rest "
            "(then a warning); suggested ones only when asked",
        },
    ),
    Flag(
        "dlopen_features",
        "--dlopen-feature",
        {
            "metavar": "NAME",
            "action": "append",
            "default": [],
            "help": "also solve the .note.dlopen entries of feature NAME, whatever their "
            "priority; repeatable",
        },
    ),
    Flag(
        "driver_dirs",
        "--driver-dir",
        {
            "metavar": "DIR",
            "action": "append",
            "default": None,
            "help": "graphics/GPU driver libraries (libGL, libEGL, libvulkan, libcuda...) come "
            "from DIR, never from the store (default: /run/opengl-driver/lib, or "
            "/run/opengl-driver-32/lib for 32-bit programs, where it exists); repeatable",
        },
    ),
    Flag(
        "driver_dirs",
        "--no-driver-dir",
        {
            "action": "store_const",
            "const": [],
            "help": "use no driver dir: driver sonames are left out, with a warning",
        },
    ),
    Flag(
        "dlopen_hints",
        "--dlopen-hints",
        {
            "action": "store_true",
            "help": "list the sonames written as strings in the program that nothing loads "
            "(what it may dlopen()); promote one with --dlopen NAME",
        },
    ),
)


def add_store_options(parser: argparse.ArgumentParser | Any) -> None:
    """``--store``, ``--within`` and ``--cache-dir``: which libraries are candidates."""
    for flag in STORE_FLAGS:
        parser.add_argument(flag.flag, dest=flag.field, **flag.kwargs)


def add_solve_options(parser: argparse.ArgumentParser) -> None:
    """Every ``SolveOptions`` flag (solve, patch, run, check)."""
    group = parser.add_argument_group("solving")
    add_store_options(group)
    for flag in SOLVE_FLAGS:
        group.add_argument(flag.flag, dest=flag.field, **flag.kwargs)
    remote = parser.add_argument_group("binary caches")
    for flag in REMOTE_FLAGS:
        remote.add_argument(flag.flag, dest=flag.field, **flag.kwargs)


def solve_options(args: argparse.Namespace, **overrides: Any) -> SolveOptions:
    """The options the parsed flags say (``overrides`` win: ``delivery=...``)."""
    values = {
        flag.field: getattr(args, flag.field)
        for flag in (*STORE_FLAGS, *SOLVE_FLAGS, *REMOTE_FLAGS)
        if hasattr(args, flag.field)
    }
    values.update(overrides)
    return SolveOptions(**values)
