"""How to solve: one frozen :class:`SolveOptions`, and the policy enums beside it.

Every layer may import this module (it imports nothing of ours but :mod:`autopatchelf.frozen`).
The CLI builds one ``SolveOptions`` from its flags (:mod:`autopatchelf.cli._options`);
:func:`autopatchelf.solve`, :func:`autopatchelf.check_paths`, ``patch``, ``run`` and the lock
policy all take it as it is. Adding an option means adding a field here and a flag there.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

import attrs

from autopatchelf.frozen import FrozenMap, Record, string_map


class GlibcPolicy(enum.StrEnum):
    """How strictly the one glibc of a process must match the chosen closures (a string
    enum: it compares equal to its value, ``"strict"``)."""

    #: Every chosen store path's closure that contains a glibc contains the chosen one.
    STRICT = "strict"
    #: Closures may reference another glibc if the loaded one satisfies every version.
    COMPATIBLE = "compatible"


class DlopenPriority(enum.StrEnum):
    """How much a ``.note.dlopen`` entry wants its library (the FDO ELF dlopen metadata
    spec's ``priority``; ``recommended`` when a note names none). As an option: the least
    priority a note needs to be solved for."""

    REQUIRED = "required"
    RECOMMENDED = "recommended"
    SUGGESTED = "suggested"

    @property
    def rank(self) -> int:
        """0 for required, 1 recommended, 2 suggested."""
        return ("required", "recommended", "suggested").index(self.value)


class NeedOrigin(enum.StrEnum):
    """Why the process loads a library."""

    #: A DT_NEEDED entry: loaded at start-up.
    NEEDED = "needed"
    #: A ``.note.dlopen`` entry of an object in the process: dlopen()ed later.
    NOTE = "note"
    #: ``--dlopen SONAME``.
    FLAG = "flag"
    #: Seen opened when the program ran (``trace``).
    TRACE = "trace"


class Delivery(enum.StrEnum):
    """How the solution reaches the loader; the prediction depends on it."""

    #: ``ld.so --library-path`` / ``NIX_LD_LIBRARY_PATH``: searched for every object,
    #: before each object's own RUNPATH.
    LIBRARY_PATH = "library-path"
    #: A patched DT_RUNPATH on the roots (and bundled libraries): serves their own needs.
    RUNPATH = "runpath"


#: ``SolveOptions(nix_index=[NIX_INDEX_DEFAULT])``: the database nix-index keeps for the
#: user (``$NIX_INDEX_DATABASE``, else ``$XDG_CACHE_HOME/nix-index/files``).
NIX_INDEX_DEFAULT = ""

#: Seconds a binary cache may take to accept a connection, and for each read after.
REMOTE_TIMEOUT_DEFAULT = 10.0


def _strings(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        raise TypeError(f"expected a sequence of strings, got the string {value!r}")
    items = tuple(value)
    for item in items:
        if not isinstance(item, str):
            raise TypeError(f"expected strings, got {item!r}")
    return items


def _optional_strings(value: Iterable[str] | None) -> tuple[str, ...] | None:
    return None if value is None else _strings(value)


def _glibc_policy(value: GlibcPolicy | str) -> GlibcPolicy:
    return GlibcPolicy(value)


def _delivery(value: Delivery | str) -> Delivery:
    return Delivery(value)


def _dlopen_priority(value: DlopenPriority | str) -> DlopenPriority:
    return DlopenPriority(value)


def _seconds(value: float) -> float:
    # A function of ours, not the builtin ``float``: attrs reads a converter's signature,
    # and a builtin's is parsed from text (tokenize's regexes compiled: ~10 ms at import).
    return float(value)


def _count(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"expected a count (0 or more), got {value!r}")
    return value


@attrs.frozen(repr=False)
class SolveOptions(Record):
    """Everything a solve may be told, with the defaults of ``autopatchelf solve``.

    Sequences become tuples, policy strings become enums (``glibc="compatible"``), so
    ``SolveOptions(within=["/run/current-system"])`` works as written.
    """

    # -- where candidates come from --------------------------------------------------
    #: The store directory (default: ``$NIX_STORE_DIR``, else ``/nix/store``).
    store: str | None = None
    #: Only the closures of these paths (store paths or links into the store).
    within: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    #: Where the index cache (and the lock cache) live.
    cache_dir: str | None = None

    # -- candidates that are not in the store yet (binary caches) ----------------------
    #: Files listing store paths a binary cache may have (plain, ``.xz`` or ``.zst``).
    remote_paths: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    #: nix-index ``files`` databases (``NIX_INDEX_DEFAULT``: the user's own).
    nix_index: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    #: Binary caches to fetch from (empty: the substituters of Nix's configuration).
    substituters: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    #: Public keys trusted besides Nix's ``trusted-public-keys`` (``name:base64``).
    trusted_public_keys: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    #: Realise the chosen store paths that are not in the store yet (else only say them).
    realise: bool = True
    #: Seconds a binary cache may take to connect and for each read (then it is down).
    remote_timeout: float = attrs.field(default=REMOTE_TIMEOUT_DEFAULT, converter=_seconds)

    # -- what must hold ----------------------------------------------------------------
    glibc: GlibcPolicy = attrs.field(default=GlibcPolicy.STRICT, converter=_glibc_policy)
    #: fnmatch patterns of sonames that may stay missing (a warning, not a failure).
    allow_missing: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    #: A close soname (``libfoo.so.2`` for ``libfoo.so.1``) may stand in, at a high cost.
    allow_substitution: bool = False
    #: Sonames every root's process dlopen()s (``--dlopen``): needed like DT_NEEDED.
    dlopen: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    #: ``.note.dlopen`` entries solved for: required ones always (hard), recommended
    #: ones while the rest stays solvable, suggested ones only with this at "suggested".
    dlopen_priority: DlopenPriority = attrs.field(
        default=DlopenPriority.RECOMMENDED, converter=_dlopen_priority
    )
    #: Note entries of these features are solved for whatever their priority.
    dlopen_features: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    #: List sonames written as strings in the roots that nothing loads (not solved for).
    dlopen_hints: bool = False
    #: Directories of graphics/GPU driver libraries, the only providers of driver sonames
    #: (``None``: NixOS's ``/run/opengl-driver/lib`` or ``-32/lib`` where it exists).
    driver_dirs: tuple[str, ...] | None = attrs.field(default=None, converter=_optional_strings)
    #: Sonames a run of the program was seen to open, or fail to open (``trace``):
    #: included like recommended notes (left out, with a warning, when impossible).
    traced: tuple[str, ...] = attrs.field(default=(), converter=_strings)

    # -- what is preferred (strongest first) -------------------------------------------
    #: soname -> file chosen before (a lock): kept unless impossible.
    locked: FrozenMap[str, str] = attrs.field(factory=FrozenMap, converter=string_map)
    #: Store paths, package names or name-versions to prefer / to avoid.
    prefer: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    avoid: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    #: Paths whose closures are already in use (None: ``/run/current-system`` if it exists).
    system: tuple[str, ...] | None = attrs.field(default=None, converter=_optional_strings)

    # -- what the answer is for ------------------------------------------------------
    delivery: Delivery = attrs.field(default=Delivery.LIBRARY_PATH, converter=_delivery)
    #: How many other optimal choices to report (ties).
    max_alternatives: int = attrs.field(default=8, converter=_count)
