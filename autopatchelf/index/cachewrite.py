"""Writing scanned store paths and dirs into the index cache's tables, batched.

A cold index writes tens of thousands of files: the rows of a whole batch of scans go
in with one ``executemany`` per table, their ids chosen here (the caller holds the
write lock and a transaction), so that no statement runs per store path or per file.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Sequence

from autopatchelf.index.records import DirScan, FileRecord, PathScan

#: Parameters of one ``IN (...)`` query, at most.
_QUERY_BATCH = 500
#: Blobs whose digests are remembered (hard-linked copies share one bytes object).
_MAX_DIGESTS = 4096


def blob_digest(blob: bytes, symbols: bytes) -> bytes:
    """The key a file's facts are stored under (the blob without its symbols, and their
    payload: :meth:`~autopatchelf.elf.facts.ElfFacts.to_blob_parts`): equal files (copies
    of one library in many store paths) share one row. The digest of both, so it is also
    what version verdicts key the file's facts by."""
    digest = hashlib.blake2b(len(blob).to_bytes(8, "little"), digest_size=16)
    digest.update(blob)
    digest.update(symbols)
    return digest.digest()


class DigestMemo:
    """Digests of blobs written lately: a bytes object keeps its own hash, so a repeat
    of one (every path of a hard-linked file) costs a dict lookup, not a blake2b pass."""

    def __init__(self) -> None:
        self._known: dict[tuple[bytes, bytes], bytes] = {}

    def digest(self, blob: bytes, symbols: bytes) -> bytes:
        key = (blob, symbols)
        found = self._known.get(key)
        if found is None:
            if len(self._known) >= _MAX_DIGESTS:
                self._known.clear()
            found = self._known[key] = blob_digest(blob, symbols)
        return found


def _ids_of(conn: sqlite3.Connection, table: str, paths: Iterable[str]) -> dict[str, int]:
    """``path -> id`` of the rows of ``table`` (``dirs`` or ``files``) already there."""
    wanted = sorted(set(paths))
    if not wanted:
        return {}
    rows = conn.execute(
        f"SELECT path, id FROM {table} WHERE path IN (SELECT value FROM json_each(?))",
        (json.dumps(wanted),),
    )
    return dict(rows.fetchall())


def _held_digests(conn: sqlite3.Connection, digests: Iterable[bytes]) -> set[bytes]:
    """Those of ``digests`` the ``blobs`` table holds already (each batch of a cold build
    meets most blobs of the last one again: not binding them again spares copying them)."""
    wanted = sorted(digests)
    held: set[bytes] = set()
    for start in range(0, len(wanted), _QUERY_BATCH):
        batch = wanted[start : start + _QUERY_BATCH]
        marks = ",".join("?" * len(batch))
        rows = conn.execute(f"SELECT digest FROM blobs WHERE digest IN ({marks})", batch)
        held.update(digest for (digest,) in rows)
    return held


def _next_id(conn: sqlite3.Connection, table: str) -> int:
    (top,) = conn.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()
    return int(top) + 1


def write_scans(
    conn: sqlite3.Connection,
    paths: Sequence[PathScan],
    dirs: Sequence[DirScan],
    digests: DigestMemo,
) -> None:
    """Insert ``paths`` and ``dirs`` (inside the caller's write transaction).

    A dir already recorded (or met earlier in the batch) is not written again; a
    standard scan of it only marks it standard. An entry whose file is in neither the
    batch nor the table is left out. A file already recorded keeps its row.
    """
    named: list[tuple[str, str, str]] = []
    refs: list[tuple[str, str]] = []
    for path_scan in paths:
        named += [(path_scan.basename, d, t) for d, t in path_scan.names]
        refs += [(path_scan.basename, r) for r in path_scan.refs]
    conn.executemany(
        "INSERT OR REPLACE INTO paths (basename, stamp, executables) VALUES (?, ?, ?)",
        [(s.basename, s.stamp, s.executables) for s in paths],
    )
    scans = [d for s in paths for d in s.dirs] + list(dirs)
    dir_ids = _ids_of(conn, "dirs", (d.path for d in scans))
    next_dir = _next_id(conn, "dirs")
    marked: list[tuple[int]] = []
    fresh: list[tuple[int, DirScan]] = []
    for scan in scans:
        known = dir_ids.get(scan.path)
        if known is not None:
            if scan.standard:
                marked.append((known,))
            continue
        dir_ids[scan.path] = next_dir
        fresh.append((next_dir, scan))
        next_dir += 1
        named += [(scan.owner, d, t) for d, t in scan.names]
        refs += [(scan.owner, r) for r in scan.refs]
    conn.executemany("UPDATE dirs SET standard = 1 WHERE id = ?", marked)
    conn.executemany(
        "INSERT INTO dirs (id, path, owner, standard, present, non_elf, bad_elf, not_library,"
        " outside) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                dir_id,
                s.path,
                s.owner,
                int(s.standard),
                int(s.present),
                s.skipped.non_elf,
                s.skipped.bad_elf,
                s.skipped.not_library,
                s.skipped.outside,
            )
            for dir_id, s in fresh
        ],
    )
    _write_files(conn, fresh, digests)
    conn.executemany("INSERT OR IGNORE INTO named (namer, dir, target) VALUES (?, ?, ?)", named)
    conn.executemany("INSERT OR IGNORE INTO refs (referrer, reference) VALUES (?, ?)", refs)


def _write_files(
    conn: sqlite3.Connection, fresh: Sequence[tuple[int, DirScan]], digests: DigestMemo
) -> None:
    """The files, blobs and entries of newly recorded dirs."""
    entry_paths = {path for _, scan in fresh for _, path in scan.entries}
    file_ids = _ids_of(conn, "files", entry_paths | {f.path for _, s in fresh for f in s.files})
    next_file = _next_id(conn, "files")
    blobs: dict[bytes, tuple[bytes, bytes]] = {}
    rows: list[tuple[object, ...]] = []
    for _, scan in fresh:
        for record in scan.files:
            if record.path in file_ids:
                continue
            file_ids[record.path] = next_file
            digest = digests.digest(record.blob, record.symbols)
            blobs.setdefault(digest, (record.blob, record.symbols))
            rows.append(_file_row(next_file, record, digest))
            next_file += 1
    held = _held_digests(conn, blobs)
    fresh_blobs = sorted((d, parts) for d, parts in blobs.items() if d not in held)
    conn.executemany(
        "INSERT OR IGNORE INTO blobs (digest, blob) VALUES (?, ?)",
        [(d, blob) for d, (blob, _) in fresh_blobs],
    )
    conn.executemany(
        "INSERT OR IGNORE INTO symbols (digest, payload) VALUES (?, ?)",
        [(d, symbols) for d, (_, symbols) in fresh_blobs],
    )
    conn.executemany(
        "INSERT INTO files (id, path, owner, soname, rpath, runpath, interpreter, elf64, facts)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    conn.executemany(
        "INSERT OR IGNORE INTO entries (dir, name, file) VALUES (?, ?, ?)",
        [
            (dir_id, name, file_ids[path])
            for dir_id, scan in fresh
            for name, path in scan.entries
            if path in file_ids
        ],
    )


def _file_row(file_id: int, record: FileRecord, digest: bytes) -> tuple[object, ...]:
    return (
        file_id,
        record.path,
        record.owner,
        record.soname,
        record.rpath,
        record.runpath,
        record.interpreter,
        int(record.elf64),
        digest,
    )
