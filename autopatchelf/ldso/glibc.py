"""What belongs to glibc: the sonames one glibc build installs together, and its versions.

A process loads exactly one glibc: its loader, ``libc.so.6`` and every other library of
this list come from the same build (glibc checks that the loader and libc agree; mixing
``libm.so.6`` of one with ``libc.so.6`` of another breaks on private symbols).
"""

from __future__ import annotations

import functools
import re

from autopatchelf.elf.facts import ElfFacts

#: Sonames glibc itself installs (besides the loader, ``ld-linux*``, and ``libnss_*``).
GLIBC_SONAMES = frozenset(
    {
        "libc.so.6",
        "libm.so.6",
        "libdl.so.2",
        "libpthread.so.0",
        "librt.so.1",
        "libresolv.so.2",
        "libutil.so.1",
        "libanl.so.1",
        "libnsl.so.1",
        "libBrokenLocale.so.1",
        "libmvec.so.1",
        "libc_malloc_debug.so.0",
        "libthread_db.so.1",
        "libmemusage.so",
        "libpcprofile.so",
    }
)

_GLIBC_VERSION = re.compile(r"^GLIBC_(\d+(?:\.\d+)*)$")


def is_glibc_name(name: str) -> bool:
    """Whether ``name`` is a soname glibc installs (its providers must come from the one
    chosen glibc)."""
    return name in GLIBC_SONAMES or name.startswith(("ld-linux", "libnss_"))


@functools.lru_cache(maxsize=4096)
def parse_glibc_version(name: str) -> tuple[int, ...] | None:
    """``GLIBC_2.38`` -> ``(2, 38)``; None for any other version name."""
    match = _GLIBC_VERSION.match(name)
    return tuple(int(p) for p in match.group(1).split(".")) if match else None


def glibc_version(facts: ElfFacts) -> tuple[int, ...]:
    """The highest ``GLIBC_x.y`` version a libc.so.6 defines (``()`` if none)."""
    return _highest_glibc_version(facts.defined_versions)


@functools.lru_cache(maxsize=256)
def _highest_glibc_version(defined: frozenset[str]) -> tuple[int, ...]:
    """Once per set of versions: every problem asks it of each glibc again."""
    versions = (parse_glibc_version(name) for name in defined)
    return max((v for v in versions if v is not None), default=())


def highest_glibc_need(facts: ElfFacts, name: str) -> str | None:
    """The highest non-weak ``GLIBC_x.y`` version ``facts`` requires from ``name``."""
    best: tuple[tuple[int, ...], str] | None = None
    for need in facts.version_needs:
        if need.file != name:
            continue
        for requirement in need.versions:
            version = parse_glibc_version(requirement.name)
            if version is not None and not requirement.weak and (best is None or version > best[0]):
                best = (version, requirement.name)
    return best[1] if best else None


def version_text(version: tuple[int, ...]) -> str:
    """``(2, 41)`` -> ``2.41``."""
    return ".".join(map(str, version))
