"""What a lock trusts a binary by: the sha256 of its bytes, and of what it asks of ld.so."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from autopatchelf.elf.facts import ElfFacts


def file_sha256(path: str) -> str:
    """The sha256 (hex) of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def elf_digest(facts: ElfFacts) -> str:
    """sha256 of what an ELF file asks of the loader: class, machine, interpreter, soname,
    DT_NEEDED, RPATH/RUNPATH, flags, version needs and imported symbols.

    Two builds with the same digest need the same libraries, so a lock made for one fits
    the other (a rebuilt binary whose code changed but whose imports did not).
    """
    record = [
        int(facts.elf_class),
        int(facts.endian),
        facts.machine,
        facts.osabi,
        facts.type.value,
        facts.interpreter,
        facts.soname,
        list(facts.needed),
        facts.rpath,
        facts.runpath,
        facts.flags,
        facts.flags_1,
        [[n.file, sorted([v.name, v.weak] for v in n.versions)] for n in facts.version_needs],
        sorted([s.name, s.version or "", s.file or ""] for s in facts.symbols.undefined),
    ]
    text = json.dumps(record, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()
