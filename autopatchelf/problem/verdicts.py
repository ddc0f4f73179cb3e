"""Version-check verdicts kept between runs, by the content of what they were judged on.

Whether a requester may use a provider for a soname (every version it asks for is
defined, every versioned symbol is bound: :meth:`~autopatchelf.problem.build.Builder.
check_versions`) depends only on the facts of the files involved: what the requester asks
of that soname, and what the provider and the libraries it loads itself define. A verdict
keyed by digests of those facts therefore never goes stale: a warm solve reads it back
instead of decoding symbol tables again. A file's key is the digest of its facts
(:meth:`VerdictStore.facts_key`, for files the store index holds); a file it does not hold
(a root, a bundled library) is keyed by a digest of its raw symbol and version tables.

The store itself (SQLite, for the index) is behind :class:`VerdictStore`; the resolver
only makes keys and reads and writes verdicts through it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Protocol

from autopatchelf.elf.facts import ElfFacts

#: A saved verdict: ``None`` (the pair is fine) or (exclusion kind value, what is missing).
Verdict = tuple[str, str] | None

#: Part of every key: raise it when the rules of the check change, so that verdicts judged
#: by older rules are never read back.
RULES = b"version-check/1"

_SEP = b"\0"


class VerdictStore(Protocol):
    """Where verdicts are kept between runs."""

    def facts_key(self, path: str) -> bytes | None:
        """A digest of the facts of the file at ``path``, if this store can vouch for them
        (an indexed store file); ``None`` otherwise."""
        ...

    def load(self, keys: Sequence[bytes]) -> Mapping[bytes, Verdict]:
        """The saved verdicts of those of ``keys`` that have one."""
        ...

    def save(self, verdicts: Mapping[bytes, Verdict]) -> None:
        """Keep these verdicts (best effort: a store that cannot write drops them)."""
        ...


def tables_key(facts: ElfFacts) -> bytes:
    """The key of a file the store cannot vouch for (a root, a bundled library): a digest
    of what every verdict about it is judged on, its dynamic symbol table, string table,
    ``.gnu.version`` and version tables, hashed as they are (nothing decoded)."""
    symbols = facts.symbols
    digest = hashlib.blake2b(b"tables", digest_size=16)
    digest.update(f"{symbols.byte_order}{symbols.count}/{symbols.entry_size}".encode())
    for table in (symbols.table, symbols.versym, symbols.strtab):
        digest.update(_SEP + len(table).to_bytes(8, "little") + table)
    text = repr((facts.needed, facts.version_needs, facts.version_defs))
    digest.update(_SEP + text.encode("utf-8", "surrogateescape"))
    return b"t" + digest.digest()


def pair_key(requester: bytes, name: str, provider: bytes, deps: Sequence[bytes | None]) -> bytes:
    """The key of one verdict: the requester's key (its facts, or its asks of ``name``),
    the soname, the provider's facts and those of the libraries it loads itself (in its
    DT_NEEDED order; ``None`` for one not found)."""
    digest = hashlib.blake2b(RULES, digest_size=16)
    digest.update(_SEP + requester + _SEP + name.encode("utf-8", "surrogateescape"))
    digest.update(_SEP + provider)
    for dep in deps:
        digest.update(_SEP + (b"-" if dep is None else dep))
    return digest.digest()


def load_set_key(saved: VerdictStore, root: ElfFacts, loaded: Sequence[ElfFacts]) -> bytes | None:
    """The key of a load set's undefined unversioned imports: the facts of every loaded
    object, in order (``None`` if ``saved`` cannot vouch for one), and the root's (its
    raw tables' when ``saved`` does not hold it)."""
    keys = [saved.facts_key(obj.path) for obj in loaded]
    if any(k is None for k in keys):
        return None
    own = saved.facts_key(root.path) or tables_key(root)
    return pair_key(own, "(unversioned imports)", b"", keys)


#: The verdict kind of a load set's undefined imports.
UNDEFINED = "undefined"


def undefined_verdict(lost_by: Sequence[tuple[int, list[str]]]) -> Verdict:
    """What is kept of a load set's undefined imports: (position of the object in the
    root-first load set, the names), as JSON."""
    return (UNDEFINED, json.dumps([[position, names] for position, names in lost_by]))


def kept_json(verdict: Verdict, kind: str) -> object:
    """The JSON value a kept verdict of ``kind`` holds (``None`` when it is of another
    kind or not JSON: a value kept by another version, or a tampered cache)."""
    if verdict is None or verdict[0] != kind:
        return None
    try:
        return json.loads(verdict[1])
    except ValueError:
        return None


def undefined_from(verdict: Verdict) -> list[tuple[int, list[str]]] | None:
    """:func:`undefined_verdict`'s value back (``None`` if ``verdict`` is not one)."""
    data = kept_json(verdict, UNDEFINED)
    if not isinstance(data, list):
        return None
    result: list[tuple[int, list[str]]] = []
    for item in data:
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], int)):
            return None
        if not (isinstance(item[1], list) and all(isinstance(n, str) for n in item[1])):
            return None
        result.append((item[0], item[1]))
    return result


class MemoryVerdicts:
    """A :class:`VerdictStore` in memory over given facts keys (for sources held in memory
    and their tests)."""

    def __init__(self, keys: Mapping[str, bytes]) -> None:
        self._keys = dict(keys)
        self.saved: dict[bytes, Verdict] = {}
        #: How many verdicts were asked for and how many were found (for tests).
        self.asked = 0
        self.found = 0

    def facts_key(self, path: str) -> bytes | None:
        return self._keys.get(path)

    def load(self, keys: Sequence[bytes]) -> Mapping[bytes, Verdict]:
        found = {key: self.saved[key] for key in keys if key in self.saved}
        self.asked += len(keys)
        self.found += len(found)
        return found

    def save(self, verdicts: Mapping[bytes, Verdict]) -> None:
        self.saved.update(verdicts)
