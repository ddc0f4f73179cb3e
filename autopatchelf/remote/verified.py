"""Read a cache's NAR through every check its narinfo allows, into memory.

The chain, innermost last: the raw (compressed) bytes are hashed and counted against
``FileHash``/``FileSize``; decompressed with the narinfo's ``Compression``, at most
``NarSize`` bytes; hashed and counted against ``NarHash``/``NarSize``; parsed as a NAR.
The wanted files are returned only after *all* of these checks passed. Signatures are the
caller's business (:func:`autopatchelf.remote.narinfo.verify`), before fetching.
"""

from __future__ import annotations

from collections.abc import Callable

from autopatchelf.remote.compression import open_decompressed
from autopatchelf.remote.hashing import HashingReader
from autopatchelf.remote.nar import NarContents, NarEntry, NarLimits, extract_files
from autopatchelf.remote.narinfo import MAX_SIZE, NarInfo
from autopatchelf.remote.readers import Readable


def extract_verified(
    raw: Readable,
    narinfo: NarInfo,
    *,
    name: str | None = None,
    want: Callable[[NarEntry], bool],
    head: Callable[[bytes], bool] | None = None,
    head_size: int = 4,
    max_total: int = 1 << 31,
    limits: NarLimits | None = None,
) -> NarContents:
    """Extract the wanted files of the NAR ``narinfo`` describes, read from ``raw``.

    ``name`` (default: the narinfo's URL field) names the stream in errors. Raises
    ``IntegrityError``, ``CompressionError`` or ``NarError``.
    """
    name = name or narinfo.nar_url
    compressed = HashingReader(
        raw,
        name=name,
        what="compressed NAR (FileHash/FileSize)",
        algorithm=narinfo.file_hash.algorithm if narinfo.file_hash else None,
        digest=narinfo.file_hash.digest if narinfo.file_hash else None,
        size=narinfo.file_size,
        limit=MAX_SIZE,
    )
    decompressed = open_decompressed(
        compressed, narinfo.compression, limit=narinfo.nar_size, name=name
    )
    nar = HashingReader(
        decompressed,
        name=name,
        what="NAR (NarHash/NarSize)",
        algorithm=narinfo.nar_hash.algorithm,
        digest=narinfo.nar_hash.digest,
        size=narinfo.nar_size,
    )
    contents = extract_files(
        nar,
        name=name,
        want=want,
        head=head,
        head_size=head_size,
        max_total=max_total,
        limits=limits,
    )
    nar.verify()
    compressed.verify()
    return contents
