"""The index cache's blob of one file's facts: a marshal dump of plain values.

One table (``_FIELDS``) says how each field of :class:`~autopatchelf.elf.facts.ElfFacts`
becomes a plain value and back; the symbol tables follow as their own payload
(:meth:`~autopatchelf.elf.symbols.DynamicSymbols.payload`), left packed until the symbols
are first used (most never are). Bump ``BLOB_FORMAT`` whenever the layout changes: old
blobs are then rejected as corrupt, and the index reads their files again.

The index keeps that payload apart (:func:`encode_parts`): a blob whose payload slot is
``None`` is the rest, and decoding it takes the payload, or what loads it on first use.
A library's symbol tables are most of its blob (800 KB of some), and a warm solve reads
the facts of every candidate but, its version verdicts kept, the symbols of none.
"""

from __future__ import annotations

import marshal
from collections.abc import Callable
from typing import Any

from autopatchelf.elf.records import (
    DlopenNote,
    ElfClass,
    ElfType,
    Endian,
    VersionDefinition,
    VersionNeed,
    VersionRequirement,
)
from autopatchelf.elf.symbols import DynamicSymbols, PayloadLoader
from autopatchelf.errors import ElfError
from autopatchelf.options import DlopenPriority

BLOB_FORMAT = 4
_MARSHAL_VERSION = 4


def _tuple(value: object) -> tuple[object, ...]:
    if not isinstance(value, tuple):
        raise TypeError(f"expected a tuple, got {type(value).__name__}")
    return value


def _int(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"expected an int, got {type(value).__name__}")
    return value


def _bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected a bool, got {type(value).__name__}")
    return value


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a str, got {type(value).__name__}")
    return value


def _optional_str(value: object) -> str | None:
    return None if value is None else _str(value)


def _strs(value: object) -> tuple[str, ...]:
    return tuple(_str(item) for item in _tuple(value))


def _bytes(value: object) -> bytes:
    if not isinstance(value, bytes):
        raise TypeError(f"expected bytes, got {type(value).__name__}")
    return value


def _same(value: Any) -> object:
    return value


def _needs_out(needs: tuple[VersionNeed, ...]) -> object:
    return tuple(
        (need.file, tuple((v.name, v.hash, v.weak, v.index) for v in need.versions))
        for need in needs
    )


def _needs_in(value: object) -> tuple[VersionNeed, ...]:
    needs = []
    for item in _tuple(value):
        file, versions = _tuple(item)
        requirements = []
        for version in _tuple(versions):
            name, hash_, weak, index = _tuple(version)
            requirement = VersionRequirement(_str(name), _int(hash_), _bool(weak), _int(index))
            requirements.append(requirement)
        needs.append(VersionNeed(_str(file), tuple(requirements)))
    return tuple(needs)


def _defs_out(definitions: tuple[VersionDefinition, ...]) -> object:
    return tuple((d.name, d.hash, d.index, d.base, d.weak) for d in definitions)


def _defs_in(value: object) -> tuple[VersionDefinition, ...]:
    definitions = []
    for item in _tuple(value):
        name, hash_, index, base, weak = _tuple(item)
        definitions.append(
            VersionDefinition(_str(name), _int(hash_), _int(index), _bool(base), _bool(weak))
        )
    return tuple(definitions)


def _note_out(note: DlopenNote) -> object:
    return (note.sonames, note.priority.value, note.feature, note.description)


def _notes_in(value: object) -> tuple[DlopenNote, ...]:
    notes = []
    for item in _tuple(value):
        sonames, priority, feature, description = _tuple(item)
        notes.append(
            DlopenNote(
                _strs(sonames),
                DlopenPriority(_str(priority)),
                _optional_str(feature),
                _optional_str(description),
            )
        )
    return tuple(notes)


#: Every field of ElfFacts but ``path`` (the blob is about a file, wherever it is) and
#: ``symbols`` (their own payload): (name, to a plain value, from a plain value).
_FIELDS: tuple[tuple[str, Callable[[Any], object], Callable[[object], Any]], ...] = (
    ("elf_class", int, lambda v: ElfClass(_int(v))),
    ("endian", int, lambda v: Endian(_int(v))),
    ("machine", _same, _int),
    ("osabi", _same, _int),
    ("type", lambda t: t.value, lambda v: ElfType(_str(v))),
    ("interpreter", _same, _optional_str),
    ("soname", _same, _optional_str),
    ("needed", _same, _strs),
    ("rpath", _same, _optional_str),
    ("runpath", _same, _optional_str),
    ("flags", _same, _int),
    ("flags_1", _same, _int),
    ("version_needs", _needs_out, _needs_in),
    ("version_defs", _defs_out, _defs_in),
    ("dlopen", lambda notes: tuple(_note_out(n) for n in notes), _notes_in),
    ("dlopen_problems", _same, _strs),
)

#: The ElfFacts fields the blob holds (a unit test checks none is forgotten).
FIELD_NAMES = tuple(name for name, _, _ in _FIELDS)


def encode(facts: Any) -> bytes:
    """The blob of ``facts`` (an :class:`~autopatchelf.elf.facts.ElfFacts`)."""
    return _dump(facts, facts.symbols.payload())


def encode_parts(facts: Any) -> tuple[bytes, bytes]:
    """The blob of ``facts`` without its symbol payload, and that payload."""
    return _dump(facts, None), facts.symbols.payload()


def _dump(facts: Any, payload: bytes | None) -> bytes:
    symbols: DynamicSymbols = facts.symbols
    record = (
        BLOB_FORMAT,
        *(out(getattr(facts, name)) for name, out, _ in _FIELDS),
        symbols.byte_order,
        symbols.count,
        payload,
    )
    return marshal.dumps(record, _MARSHAL_VERSION)  # type: ignore[arg-type]


def _not_kept(path: str) -> PayloadLoader:
    def load() -> bytes:
        raise ElfError(path, "its symbol tables were not kept with its facts")

    return load


def decode(blob: bytes, path: str, symbols: bytes | PayloadLoader | None = None) -> dict[str, Any]:
    """The ElfFacts fields a blob holds, for the file now at ``path`` (``path`` and
    ``symbols`` included); ``symbols`` gives the payload of a blob made by
    :func:`encode_parts` (without it, using that blob's symbols raises). Raises
    :class:`~autopatchelf.errors.ElfError` on a corrupt blob or one of another format."""
    try:
        record = marshal.loads(blob)
        if not isinstance(record, tuple) or not record or record[0] != BLOB_FORMAT:
            raise ValueError("unknown blob format")
        if len(record) != len(_FIELDS) + 4:
            raise ValueError("wrong number of fields")
        fields = {
            name: into(value) for (name, _, into), value in zip(_FIELDS, record[1:], strict=False)
        }
        byte_order, count, payload = record[len(_FIELDS) + 1 :]
        if payload is not None:
            kept: bytes | PayloadLoader = _bytes(payload)
        elif isinstance(symbols, bytes):
            kept = _bytes(symbols)
        else:
            kept = symbols or _not_kept(path)
        fields["symbols"] = DynamicSymbols.deferred(
            _str(byte_order),
            _int(count),
            kept,
            fields["version_needs"],
            fields["version_defs"],
            path,
        )
    except (ValueError, TypeError, EOFError) as exc:
        raise ElfError(path, f"corrupt facts blob ({exc})") from None
    fields["path"] = path
    return fields
