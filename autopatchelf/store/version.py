"""Nix's name/version split and version ordering, as sortable Python keys.

Nix splits ``name-version`` at the first ``-`` that is not followed by a letter
(``gcc-13.2.0-lib`` is name ``gcc``, version ``13.2.0-lib``) and compares versions
component by component, where components are runs of digits or runs of other
characters, separated by ``.`` and ``-``. Numbers compare numerically and beat
words; ``pre`` loses to everything; a missing component loses to any word or number
but beats ``pre``. :func:`version_key` turns a version into a tuple that Python's
ordinary tuple comparison orders exactly that way.
"""

from __future__ import annotations

#: One component of a version key: (rank, number, word).
VersionComponent = tuple[int, int, str]
VersionKey = tuple[VersionComponent, ...]

_PRE: VersionComponent = (0, 0, "")
#: Appended to every key: stands for the missing components past its end.
_END: VersionComponent = (1, 0, "")
_WORD = 2
_NUMBER = 3
_SEPARATORS = ".-"


def _is_ascii_digit(char: str) -> bool:
    return "0" <= char <= "9"


def _is_ascii_letter(char: str) -> bool:
    return ("a" <= char <= "z") or ("A" <= char <= "Z")


def split_name_version(name_version: str) -> tuple[str, str | None]:
    """Split ``name-version`` the way Nix does; the version is ``None`` if there is none."""
    for i, char in enumerate(name_version):
        if char == "-" and i + 1 < len(name_version) and not _is_ascii_letter(name_version[i + 1]):
            return name_version[:i], name_version[i + 1 :]
    return name_version, None


def version_components(version: str) -> tuple[str, ...]:
    """The components Nix compares, in order (``"1.2pre3-x"`` -> ``1, 2, pre, 3, x``)."""
    parts: list[str] = []
    i, size = 0, len(version)
    while i < size:
        if version[i] in _SEPARATORS:
            i += 1
            continue
        j = i + 1
        if _is_ascii_digit(version[i]):
            while j < size and _is_ascii_digit(version[j]):
                j += 1
        else:
            while j < size and not _is_ascii_digit(version[j]) and version[j] not in _SEPARATORS:
                j += 1
        parts.append(version[i:j])
        i = j
    return tuple(parts)


def _component_key(part: str) -> VersionComponent:
    if _is_ascii_digit(part[0]):
        return (_NUMBER, int(part), "")
    if part == "pre":
        return _PRE
    return (_WORD, 0, part)


def version_key(version: str | None) -> VersionKey:
    """A key that sorts versions the way ``nix-env`` compares them (``None`` sorts first)."""
    if version is None:
        return ()
    return (*(_component_key(part) for part in version_components(version)), _END)
