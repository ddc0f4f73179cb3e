"""The soft wishes of a solve, strongest first: pins and the lock, the system's closure,
newest, fewest store paths (:class:`Preferences`, read by the encoding's cost levels)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import attrs

from autopatchelf.frozen import FrozenMap
from autopatchelf.options import SolveOptions
from autopatchelf.problem.model import Provider
from autopatchelf.store.path import parse_store_path

Matcher = Callable[[Provider], bool]


@attrs.frozen
class Preferences:
    """Soft wishes, strongest first: pins, system closure, newest, fewest store paths.

    (Above them all sits the cost of a closest-match substitution, when allowed.)
    """

    #: Predicates over providers: preferred (``--prefer``) and avoided (``--avoid``).
    prefer: Matcher | None = None
    avoid: Matcher | None = None
    #: name -> file chosen by a lock file (kept unless impossible).
    locked: FrozenMap[str, str] = attrs.field(factory=FrozenMap)
    #: Store paths already in use (``/run/current-system`` closure, given roots).
    system: frozenset[str] = frozenset()

    @classmethod
    def of(cls, options: SolveOptions, in_use: frozenset[str] = frozenset()) -> Preferences:
        """The wishes ``options`` express, with ``in_use`` as the system's closure."""
        return cls(
            prefer=matcher(options.prefer),
            avoid=matcher(options.avoid),
            locked=options.locked,
            system=in_use,
        )


def matcher(patterns: Sequence[str]) -> Matcher | None:
    """A predicate matching providers by store path (or a path inside one), package name
    (``openssl``, as Nix parses it) or name-version (``openssl-3.0.13``, or a prefix of
    the version: ``openssl-3``)."""
    if not patterns:
        return None

    def matches(provider: Provider) -> bool:
        parsed = parse_store_path(provider.store_path) if provider.store_path else None
        if parsed is None:
            return False
        for pat in patterns:
            if pat in (parsed.path, provider.path, parsed.name_version, parsed.name):
                return True
            if pat.startswith("/") and provider.path.startswith(pat.rstrip("/") + "/"):
                return True
            if "/" not in pat and parsed.name_version.startswith(pat + "-"):
                return True
        return False

    return matches
