"""Reading DT_VERNEED and DT_VERDEF: chains of entries linked by forward offsets, each
bounded by its segment and by the 15-bit version index space."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from autopatchelf.elf._layout import (
    DT_VERDEF,
    DT_VERDEFNUM,
    DT_VERNEED,
    DT_VERNEEDNUM,
    MAX_RUN,
    MAX_VERSIONS,
    VERDAUX_SIZE,
    VERDEF_SIZE,
    VERNAUX_SIZE,
    VERNEED_SIZE,
    VERSION_REVISION,
)
from autopatchelf.elf.records import (
    VER_FLG_BASE,
    VER_FLG_WEAK,
    VersionDefinition,
    VersionNeed,
    VersionRequirement,
)

if TYPE_CHECKING:
    from autopatchelf.elf._reader import Image


def version_needs(image: Image, tags: dict[int, int]) -> tuple[VersionNeed, ...]:
    """DT_VERNEED: a chain of Verneed entries, each with a chain of Vernaux entries."""
    if DT_VERNEED not in tags:
        return ()
    offset, limit = image.locate(tags[DT_VERNEED], "DT_VERNEED")
    max_entries = min(tags.get(DT_VERNEEDNUM, MAX_VERSIONS), MAX_VERSIONS)
    unpack = image.layout.verneed.unpack_from
    needs: list[VersionNeed] = []
    total = 0
    for _ in range(max_entries):
        if offset + VERNEED_SIZE > limit:
            raise image.past_segment("Verneed")
        revision, count, file, aux, next_offset = unpack(
            *image.fetch(offset, VERNEED_SIZE, "Verneed")
        )
        if revision != VERSION_REVISION:
            raise image.error(f"unsupported Verneed revision {revision}")
        versions = vernaux_chain(image, offset + aux, count, limit)
        total += len(versions)
        if total > MAX_VERSIONS:
            raise image.error("more version requirements than version indexes")
        needs.append(VersionNeed(image.string(file, "Verneed file"), versions))
        if next_offset == 0:
            break
        offset += next_offset
    return tuple(needs)


def vernaux_chain(
    image: Image, offset: int, count: int, limit: int
) -> tuple[VersionRequirement, ...]:
    """The ``count`` Vernaux entries at ``offset`` (the chain ends early at a zero
    ``vna_next``). Linkers write them back to back: that case is decoded with one
    unpack; anything else walks the chain entry by entry."""
    if 0 < count <= MAX_RUN and offset + count * VERNAUX_SIZE <= limit:
        run = image.layout.vernaux_run(count)
        fields = run.unpack_from(*image.fetch(offset, run.size, "Vernaux"))
        links = fields[4::5]
        if links[-1] == 0 and links.count(VERNAUX_SIZE) == count - 1:
            return requirements(image, fields)
    unpack = image.layout.vernaux.unpack_from
    walked: list[int] = []
    for _ in range(min(count, MAX_VERSIONS)):
        if offset + VERNAUX_SIZE > limit:
            raise image.past_segment("Vernaux")
        entry = unpack(*image.fetch(offset, VERNAUX_SIZE, "Vernaux"))
        walked.extend(entry)
        if entry[4] == 0:
            break
        offset += entry[4]
    return requirements(image, tuple(walked))


def requirements(image: Image, fields: tuple[int, ...]) -> tuple[VersionRequirement, ...]:
    """VersionRequirements from flattened (hash, flags, other, name, next) fields."""
    requirements: list[VersionRequirement] = []
    for hash_, flags, other, name in zip(
        fields[0::5], fields[1::5], fields[2::5], fields[3::5], strict=False
    ):
        key = (image.string_bytes(name, "Vernaux"), hash_, flags, other)
        requirement = _REQUIREMENTS.get(key)
        if requirement is None:
            requirement = _intern_requirement(key)
        requirements.append(requirement)
    return tuple(requirements)


def version_defs(image: Image, tags: dict[int, int]) -> tuple[VersionDefinition, ...]:
    """DT_VERDEF: a chain of Verdef entries; each is named by its first Verdaux."""
    if DT_VERDEF not in tags:
        return ()
    offset, limit = image.locate(tags[DT_VERDEF], "DT_VERDEF")
    max_entries = min(tags.get(DT_VERDEFNUM, MAX_VERSIONS), MAX_VERSIONS)
    unpack_verdef = image.layout.verdef.unpack_from
    unpack_verdaux = image.layout.verdaux.unpack_from
    definitions: list[VersionDefinition] = []
    for _ in range(max_entries):
        if offset + VERDEF_SIZE > limit:
            raise image.past_segment("Verdef")
        revision, flags, index, _, hash_, aux, next_offset = unpack_verdef(
            *image.fetch(offset, VERDEF_SIZE, "Verdef")
        )
        if revision != VERSION_REVISION:
            raise image.error(f"unsupported Verdef revision {revision}")
        if offset + aux + VERDAUX_SIZE > limit:
            raise image.past_segment("Verdaux")
        name = unpack_verdaux(*image.fetch(offset + aux, VERDAUX_SIZE, "Verdaux"))[0]
        key = (image.string_bytes(name, "Verdaux"), hash_, index, flags)
        definition = _DEFINITIONS.get(key)
        if definition is None:
            definition = _intern_definition(key)
        definitions.append(definition)
        if next_offset == 0:
            break
        offset += next_offset
    return tuple(definitions)


#: Interned VersionRequirements: the same few (name, hash, flags, index) entries recur in
#: thousands of files, and a dict lookup is much cheaper than building a record.
_REQUIREMENTS: dict[tuple[bytes, int, int, int], VersionRequirement] = {}
#: Interned VersionDefinitions (name, hash, index, flags), for the same reason.
_DEFINITIONS: dict[tuple[bytes, int, int, int], VersionDefinition] = {}
_MAX_INTERNED: Final = 1 << 14


def _intern_requirement(key: tuple[bytes, int, int, int]) -> VersionRequirement:
    name, hash_, flags, other = key
    requirement = VersionRequirement(
        name.decode("utf-8", "surrogateescape"), hash_, bool(flags & VER_FLG_WEAK), other
    )
    if len(_REQUIREMENTS) >= _MAX_INTERNED:
        _REQUIREMENTS.clear()
    _REQUIREMENTS[key] = requirement
    return requirement


def _intern_definition(key: tuple[bytes, int, int, int]) -> VersionDefinition:
    name, hash_, index, flags = key
    definition = VersionDefinition(
        name=name.decode("utf-8", "surrogateescape"),
        hash=hash_,
        index=index,
        base=bool(flags & VER_FLG_BASE),
        weak=bool(flags & VER_FLG_WEAK),
    )
    if len(_DEFINITIONS) >= _MAX_INTERNED:
        _DEFINITIONS.clear()
    _DEFINITIONS[key] = definition
    return definition
