"""End to end against real binary caches written by ``nix copy`` (xz and zstd).

Every narinfo verifies with the generated key (and not with another key, nor after any
signed field is changed); listings match the store paths on disk; NARs streamed through
decompression, the NAR reader and the hash checks give exactly the files on disk; a
flipped byte fails the FileHash or NarHash check.
"""

from __future__ import annotations

import hashlib
import io
import lzma
import os
import stat
from pathlib import Path

import attrs
import pytest
import zstandard

from autopatchelf.remote import (
    CacheClient,
    Compression,
    CompressionError,
    EntryKind,
    Hash,
    IntegrityError,
    Listing,
    NarInfo,
    TrustedKeys,
    extract_verified,
    is_elf,
    verify,
)

from ._nix import RealCache, generate_key

LIB_DIRS = (
    "lib",
    "lib64",
    "usr/lib",
    "usr/lib64",
    "usr/lib/x86_64-linux-gnu",
    "lib/x86_64-linux-gnu",
)


def narinfos(cache: RealCache) -> list[tuple[Path, NarInfo]]:
    found = []
    for path in cache.paths:
        file = cache.narinfo_file(path)
        found.append((path, NarInfo.parse(file.read_bytes(), url=str(file))))
    return found


def test_narinfos_parse_and_verify(real_cache: RealCache, tmp_path: Path) -> None:
    keys = TrustedKeys.parse(real_cache.public_key)
    _, other_public = generate_key(tmp_path, "autopatchelf-test-1")  # same name, other key
    others = TrustedKeys.parse(other_public)
    infos = narinfos(real_cache)
    assert len(infos) >= 3 and any(info.references for _, info in infos)
    for path, info in infos:
        assert info.store_path == str(path)
        assert info.compression is Compression(real_cache.compression)
        assert verify(info, keys), info.source
        assert verify(info, others).reason == (
            "signature does not verify with trusted keys (autopatchelf-test-1)"
        )
        text = real_cache.narinfo_file(path).read_text()
        nar_hash = str(info.nar_hash)
        tampered = {
            "NarSize": text.replace(
                f"NarSize: {info.nar_size}\n", f"NarSize: {info.nar_size + 8}\n"
            ),
            "NarHash": text.replace(
                nar_hash, nar_hash[:-1] + ("0" if nar_hash[-1] != "0" else "1")
            ),
            "StorePath": text.replace(f"StorePath: {path}", f"StorePath: {path}x"),
            "References": text.replace("References: ", "References: " + info.basename + " ", 1)
            if info.basename not in info.references
            else text.replace(f" {info.basename}", "").replace(f"{info.basename} ", ""),
        }
        for field, changed in tampered.items():
            assert changed != text, field
            result = verify(NarInfo.parse(changed, url=info.source), keys)
            assert not result, field


def _disk(root: Path, directory: str) -> dict[str, tuple[EntryKind, int, str | None]]:
    found: dict[str, tuple[EntryKind, int, str | None]] = {}
    base = root / directory
    for name in sorted(os.listdir(base)):
        full = base / name
        mode = full.lstat().st_mode
        rel = f"{directory}/{name}"
        if stat.S_ISLNK(mode):
            found[rel] = (EntryKind.SYMLINK, 0, os.readlink(full))
        elif stat.S_ISDIR(mode):
            found[rel] = (EntryKind.DIRECTORY, 0, None)
        else:
            found[rel] = (EntryKind.REGULAR, full.stat().st_size, None)
    return found


def test_listing_lib_dirs_match_disk(real_cache: RealCache) -> None:
    client = CacheClient(real_cache.url)
    for path in real_cache.paths:
        listing = client.fetch_listing(path.name[:32])
        assert isinstance(listing, Listing)
        lib_dirs = listing.lib_dirs(LIB_DIRS, store_path=str(path))
        present = [d for d in LIB_DIRS if (path / d).is_dir() and not (path / d).is_symlink()]
        assert {d.lib_dir for d in lib_dirs if d.directory == d.lib_dir} == set(present)
        for lib_dir in lib_dirs:
            assert lib_dir.directory is not None
            listed = {
                e.path: (e.kind, listing.get(e.path).size, listing.get(e.path).target)  # type: ignore[union-attr]
                for e in lib_dir.entries
            }
            assert listed == _disk(path, lib_dir.directory)
            for entry in lib_dir.entries:
                real = path / entry.path
                if entry.found:
                    assert entry.resolved is not None
                    assert (path / entry.resolved).resolve() == real.resolve()
                    assert real.resolve().is_file()
        # Every regular file of the listing, anywhere, has the size on disk.
        for item in listing.entries:
            if item.kind is EntryKind.REGULAR:
                assert (path / item.path).stat().st_size == item.size


def _walk(root: Path) -> dict[str, tuple[EntryKind, bool, object]]:
    found: dict[str, tuple[EntryKind, bool, object]] = {"": (EntryKind.DIRECTORY, False, None)}
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            full = Path(directory, name)
            mode = full.lstat().st_mode
            rel = str(full.relative_to(root))
            if stat.S_ISLNK(mode):
                found[rel] = (EntryKind.SYMLINK, False, os.readlink(full))
            elif stat.S_ISDIR(mode):
                found[rel] = (EntryKind.DIRECTORY, False, None)
            else:
                found[rel] = (EntryKind.REGULAR, bool(mode & stat.S_IXUSR), full.stat().st_size)
    return found


def test_nar_stream_matches_disk(real_cache: RealCache) -> None:
    client = CacheClient(real_cache.url)
    elf_count = 0
    for path, info in narinfos(real_cache):
        with client.open_nar(info) as stream:
            contents = extract_verified(
                stream,
                info,
                want=lambda e: e.path.rpartition("/")[0] in LIB_DIRS,
                head=is_elf,
            )
        tree = {
            e.path: (e.kind, e.executable, e.size if e.kind is EntryKind.REGULAR else e.target)
            for e in contents.entries
        }
        assert tree == _walk(path)
        expected_elves = {
            rel
            for rel, (kind, _, _) in tree.items()
            if kind is EntryKind.REGULAR
            and rel.rpartition("/")[0] in LIB_DIRS
            and (path / rel).read_bytes()[:4] == b"\x7fELF"
        }
        assert set(contents.files) == expected_elves
        for rel, data in contents.files.items():
            assert data == (path / rel).read_bytes(), rel
        elf_count += len(expected_elves)
    assert elf_count > 3


def _one(cache: RealCache) -> tuple[Path, NarInfo, bytes]:
    path, info = next((p, i) for p, i in narinfos(cache) if "zlib1g" in p.name)
    return path, info, (cache.root / info.nar_url).read_bytes()


def _extract(data: bytes, info: NarInfo) -> object:
    return extract_verified(io.BytesIO(data), info, want=lambda e: True)


def test_flipped_compressed_byte_fails(real_cache: RealCache) -> None:
    _, info, data = _one(real_cache)
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0x01
    with pytest.raises((IntegrityError, CompressionError)) as caught:
        _extract(bytes(flipped), info)
    assert info.nar_url in str(caught.value)


def _unpack(data: bytes, compression: Compression) -> bytes:
    if compression is Compression.ZSTD:
        return bytes(zstandard.ZstdDecompressor().decompressobj().decompress(data))
    return lzma.decompress(data)


def _pack(nar: bytes, compression: Compression, level: int) -> bytes:
    if compression is Compression.ZSTD:
        return zstandard.ZstdCompressor(level=level).compress(nar)
    return lzma.compress(nar, preset=level)


def test_file_hash_is_checked(real_cache: RealCache) -> None:
    """A valid stream of the same NAR, but not the bytes the narinfo's FileHash names."""
    _, info, data = _one(real_cache)
    other = _pack(_unpack(data, info.compression), info.compression, level=9)
    assert other != data
    changed = attrs.evolve(info, file_size=len(other))  # only the hash can tell
    with pytest.raises(IntegrityError, match=r"compressed NAR \(FileHash/FileSize\) hash mismatch"):
        _extract(other, changed)
    assert _extract(data, info)  # the bytes Nix wrote pass


def test_nar_hash_is_checked(real_cache: RealCache) -> None:
    """A flipped byte inside a file of the NAR, re-compressed with a matching FileHash."""
    _, info, data = _one(real_cache)
    nar = bytearray(_unpack(data, info.compression))
    nar[nar.index(b"\x7fELF") + 100] ^= 0x01
    packed = _pack(bytes(nar), info.compression, level=1)
    changed = attrs.evolve(
        info, file_hash=Hash("sha256", hashlib.sha256(packed).digest()), file_size=len(packed)
    )
    with pytest.raises(IntegrityError, match=r"NAR \(NarHash/NarSize\) hash mismatch"):
        _extract(packed, changed)
