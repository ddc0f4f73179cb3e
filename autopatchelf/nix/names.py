"""How Nix names store paths: ``<32 base-32 characters>-<name>`` (facts of Nix's
``StorePath`` rules, kept import-light for ``run``'s lock checks)."""

from __future__ import annotations

#: The 32 characters of Nix's base-32 alphabet (no e, o, t, u).
NIX_BASE32 = frozenset("0123456789abcdfghijklmnpqrsvwxyz")
HASH_LENGTH = 32
#: Characters Nix allows in the name part of a store path.
NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-._?=")
MAX_NAME = 211


def is_store_basename(basename: str) -> bool:
    """Whether ``basename`` looks like ``<32 base-32 chars>-<valid name>``."""
    if len(basename) < HASH_LENGTH + 2 or basename[HASH_LENGTH] != "-":
        return False
    if not NIX_BASE32.issuperset(basename[:HASH_LENGTH]):
        return False
    name = basename[HASH_LENGTH + 1 :]
    return len(name) <= MAX_NAME and not name.startswith(".") and NAME_CHARS.issuperset(name)
