"""Store path basenames: the compiled pattern says exactly what Nix's rules say."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from autopatchelf.nix.names import HASH_LENGTH, MAX_NAME, NAME_CHARS, NIX_BASE32, is_store_basename


def by_the_rules(basename: str) -> bool:
    """The rules spelled out character by character (the reference)."""
    if len(basename) < HASH_LENGTH + 2 or basename[HASH_LENGTH] != "-":
        return False
    if any(c not in NIX_BASE32 for c in basename[:HASH_LENGTH]):
        return False
    name = basename[HASH_LENGTH + 1 :]
    return len(name) <= MAX_NAME and not name.startswith(".") and all(c in NAME_CHARS for c in name)


HASHES = st.text(alphabet="0123456789abcdefghijklmnopqrstuvwxyz", min_size=30, max_size=34)
NAMES = st.text(alphabet="abcXYZ019+-._?= \n/äe", max_size=215)


@settings(max_examples=500)
@given(HASHES, st.sampled_from(["-", "_", ""]), NAMES)
def test_the_pattern_follows_the_rules(digest: str, dash: str, name: str) -> None:
    basename = digest + dash + name
    assert is_store_basename(basename) == by_the_rules(basename)


def test_edges() -> None:
    good = "0" * 32 + "-hello-2.12"
    assert is_store_basename(good)
    assert is_store_basename("0" * 32 + "-" + "a" * MAX_NAME)
    assert not is_store_basename("0" * 32 + "-" + "a" * (MAX_NAME + 1))
    assert not is_store_basename("0" * 32 + "-.hidden")
    assert not is_store_basename("e" * 32 + "-x")  # e is not in Nix's base-32
    assert not is_store_basename("0" * 32 + "-")
    assert not is_store_basename(good + "\n")
