"""Where a foreign object's bundled libraries are: the policy on its own search path.

A foreign program (or a library it bundles) names directories in its DT_RUNPATH/DT_RPATH;
ld.so's rules for them are :mod:`autopatchelf.ldso.search`. autopatchelf follows:

* ``$ORIGIN`` entries (``$ORIGIN/../lib``): the app's own tree, wherever it is unpacked;
* absolute directories that are neither the host's library directories (absent on NixOS)
  nor in the store (a store RUNPATH in a foreign file is replaced by the solver's choice);

and ignores, with a note, host and working-directory-relative entries. ``check`` groups
apps with the same rule, so both agree on what an app bundles.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

from autopatchelf.elf.facts import ElfFacts
from autopatchelf.ldso import search


def bundled_dirs(
    facts: ElfFacts,
    chain: Sequence[ElfFacts],
    *,
    is_store_path: Callable[[str], bool],
    notes: list[str] | None = None,
) -> Iterator[str]:
    """The directories, in ld.so's order, where ``facts`` (loaded by ``chain``) may find
    a bundled library. Ignored entries are described in ``notes`` (once each)."""
    return _followed(search.object_entries(facts, chain), facts, is_store_path, notes)


def main_rpath_dirs(main: ElfFacts, *, is_store_path: Callable[[str], bool]) -> Iterator[str]:
    """The program's own DT_RPATH directories that lead into its tree: ld.so searches
    them for every object without a DT_RUNPATH, store libraries included (after their
    own DT_RPATH, before the library path)."""
    return _followed(search.rpath_entries(main), main, is_store_path, None)


def _followed(
    entries: Iterable[search.Entry],
    facts: ElfFacts,
    is_store_path: Callable[[str], bool],
    notes: list[str] | None,
) -> Iterator[str]:
    for entry in entries:
        if entry.origin_relative:
            if entry.directory is not None:
                yield entry.directory
            continue
        if entry.directory is not None and is_store_path(entry.directory):
            continue  # replaced by the solver's choice
        if entry.directory is None or search.is_host_lib_dir(entry.directory):
            if notes is not None:
                tag = entry.tag.value.removeprefix("DT_")
                note = (
                    f"{facts.path}: {tag} entry {entry.raw} is a host or relative directory; "
                    "ignored"
                )
                if note not in notes:
                    notes.append(note)
            continue
        yield entry.directory
