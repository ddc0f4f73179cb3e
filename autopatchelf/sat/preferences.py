"""The soft wishes of a solve, strongest first: pins and the lock, the system's closure,
already realised (then fewest bytes to download: the problem's ``downloads``), newest,
fewest store paths (:class:`Preferences`, read by the encoding's cost levels)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence

import attrs

from autopatchelf.frozen import FrozenMap, Record
from autopatchelf.options import SolveOptions
from autopatchelf.problem.model import Provider
from autopatchelf.store.path import is_store_basename, parse_store_path
from autopatchelf.store.version import split_name_version

Matcher = Callable[[Provider], bool]


@attrs.frozen(repr=False)
class Preferences(Record):
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
    (``openssl``, as Nix parses it: not ``openssl-fips``) or name-version
    (``openssl-3.0.13``, or a version prefix ending at a component: ``openssl-3`` matches
    ``openssl-3.0.13``, not ``openssl-30.1``)."""
    if not patterns:
        return None
    each = [_pattern_matcher(pat) for pat in patterns]
    return lambda provider: any(match(provider) for match in each)


def unmatched(patterns: Sequence[str], providers: Iterable[Provider]) -> tuple[str, ...]:
    """The ``patterns`` (as :func:`matcher` reads them) that match none of ``providers``:
    a misspelt ``--prefer`` would otherwise change nothing, silently."""
    pending = {pat: _pattern_matcher(pat) for pat in dict.fromkeys(patterns)}
    for provider in providers:
        for pat in [p for p, match in pending.items() if match(provider)]:
            del pending[pat]
        if not pending:
            break
    return tuple(pending)


def _pattern_matcher(pat: str) -> Matcher:
    name, version = split_name_version(pat)

    def matches(provider: Provider) -> bool:
        parsed = parse_store_path(provider.store_path) if provider.store_path else None
        if parsed is None:
            return False
        if pat.startswith("/"):
            if pat in (parsed.path, provider.path):
                return True
            return is_store_basename(os.path.basename(pat.rstrip("/"))) and (
                provider.path.startswith(pat.rstrip("/") + "/")
            )
        if name != parsed.name:
            return False
        return version is None or _version_prefix(version, parsed.version)

    return matches


def _version_prefix(prefix: str, version: str | None) -> bool:
    """Whether ``version`` is ``prefix`` or continues it at a component boundary."""
    if version is None:
        return False
    return version == prefix or (version.startswith(prefix) and version[len(prefix)] in ".-")
