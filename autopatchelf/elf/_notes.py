"""``.note.dlopen``: the libraries an object says it may ``dlopen()``.

The FDO "ELF dlopen metadata" spec (systemd.io/ELF_DLOPEN_METADATA) puts, in a note of
owner ``FDO`` and type ``0x407c0c0a`` (section ``.note.dlopen``, in a ``PT_NOTE``
segment), a NUL-terminated JSON array of objects: ``soname`` (an array of strings, most
preferred first), and optionally ``feature``, ``description`` and ``priority``
(``required``, ``recommended``, ``suggested``; default ``recommended``). Notes are found
through the program headers, as a loader would (section headers may be stripped).

Every note is decoded on its own: a malformed one becomes a problem sentence (reported as
a warning naming the file) and never an error, so a bad note cannot make a library
unreadable.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Final

from autopatchelf.elf.records import DlopenNote
from autopatchelf.options import DlopenPriority

if TYPE_CHECKING:
    from autopatchelf.elf._reader import Image

OWNER: Final = b"FDO\x00"
NOTE_TYPE: Final = 0x407C0C0A
#: A note segment larger than this is not read (real ones are a few hundred bytes).
MAX_NOTE_SEGMENT: Final = 1 << 20
#: Longest soname, feature or description kept.
MAX_TEXT: Final = 4096
_HEADER: Final = 12  # n_namesz, n_descsz, n_type: three 4-byte words in ELF32 and ELF64


def dlopen_notes(image: Image) -> tuple[tuple[DlopenNote, ...], tuple[str, ...]]:
    """The dlopen entries of every FDO note of ``image``'s PT_NOTE segments, and a
    sentence for each malformed one."""
    entries: list[DlopenNote] = []
    problems: list[str] = []
    for offset, size in image.notes:
        if size > MAX_NOTE_SEGMENT or offset + size > image.size:
            problems.append(f"a PT_NOTE segment of {size} bytes at {offset:#x} was not read")
            continue
        data = image.read(offset, size, "PT_NOTE segment")
        for description in _fdo_notes(data, image.layout.byte_order):
            found, problem = parse_dlopen_note(description)
            entries.extend(found)
            if problem:
                problems.append(problem)
    return tuple(entries), tuple(problems)


def _fdo_notes(data: bytes, order: str) -> Iterator[bytes]:
    """The descriptors of the dlopen notes in one note segment (notes are 4-byte aligned;
    a segment that does not parse as notes is not ours to judge, and yields nothing)."""
    header = struct.Struct(f"{order}III")
    position = 0
    while position + header.size <= len(data):
        namesz, descsz, kind = header.unpack_from(data, position)
        name_at = position + _HEADER
        desc_at = name_at + _aligned(namesz)
        end = desc_at + _aligned(descsz)
        if desc_at + descsz > len(data):
            return
        if kind == NOTE_TYPE and data[name_at : name_at + namesz] == OWNER:
            yield data[desc_at : desc_at + descsz]
        position = end


def _aligned(size: int) -> int:
    return (size + 3) & ~3


def parse_dlopen_note(description: bytes) -> tuple[tuple[DlopenNote, ...], str | None]:
    """The entries of one note's descriptor, and what was wrong with it (or None).

    A descriptor that is not a JSON array gives no entry; in an array, each object that
    is not valid is skipped (and said), the others kept."""
    text = description.split(b"\x00", 1)[0]
    try:
        document = json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return (), f"a .note.dlopen note is not JSON ({_short(str(exc))})"
    if not isinstance(document, list):
        return (), "a .note.dlopen note is not a JSON array"
    entries: list[DlopenNote] = []
    wrong: list[str] = []
    for number, item in enumerate(document):
        entry = _entry(item)
        if isinstance(entry, str):
            wrong.append(f"entry {number}: {entry}")
        else:
            entries.append(entry)
    problem = f"a .note.dlopen note has bad entries ({'; '.join(wrong[:3])})" if wrong else None
    return tuple(entries), problem


def _entry(item: Any) -> DlopenNote | str:
    if not isinstance(item, dict):
        return "not an object"
    sonames = item.get("soname")
    if not isinstance(sonames, list) or not sonames:
        return "no soname array"
    if not all(isinstance(s, str) and 0 < len(s) <= MAX_TEXT and "\x00" not in s for s in sonames):
        return "a soname is not a name"
    priority = item.get("priority", DlopenPriority.RECOMMENDED.value)
    try:
        level = DlopenPriority(priority)
    except ValueError:
        return f"unknown priority {_short(repr(priority))}"
    feature, description = item.get("feature"), item.get("description")
    if not all(text is None or isinstance(text, str) for text in (feature, description)):
        return "feature and description must be strings"
    return DlopenNote(tuple(sonames), level, _cut(feature), _cut(description))


def _cut(text: str | None) -> str | None:
    return None if text is None else text[:MAX_TEXT]


def _short(text: str) -> str:
    return text if len(text) <= 80 else text[:77] + "..."
