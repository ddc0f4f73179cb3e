"""What a lock trusts a binary by: the sha256 of its bytes, and of what it asks of ld.so."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
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


def known_sha256(path: str, cache_dir: str | None = None) -> str:
    """:func:`file_sha256`, read from a record when the file is unchanged since it was
    last hashed: same device and inode, size, mtime and ctime (any write, and any
    ``touch`` that hides one, changes the ctime). Hashing a 100 MB binary costs more than
    everything else ``run`` does; a missing or unwritable record only costs the hash."""
    from autopatchelf.actions.locks.locations import hash_record_path

    st = os.stat(path)
    stamp = f"{st.st_size} {st.st_mtime_ns} {st.st_ctime_ns}"
    record = hash_record_path(st.st_dev, st.st_ino, cache_dir)
    try:
        with open(record, encoding="ascii") as stream:
            saved_stamp, _, digest = stream.read().rpartition(" ")
        if saved_stamp == stamp and len(digest) == 64 and all(c in _HEX for c in digest):
            return digest
    except (OSError, ValueError):
        pass
    digest = file_sha256(path)
    after = os.stat(path)
    if f"{after.st_size} {after.st_mtime_ns} {after.st_ctime_ns}" != stamp:
        return digest  # changed while it was read: remember nothing
    with contextlib.suppress(OSError):
        os.makedirs(os.path.dirname(record), exist_ok=True)
        partial = f"{record}.{os.getpid()}"
        with open(partial, "w", encoding="ascii") as stream:
            stream.write(f"{stamp} {digest}")
        os.replace(partial, record)
    return digest


_HEX = frozenset("0123456789abcdef")


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
