"""The nix-index reader against the independent test writer (and real listings)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import zstandard
from nixindex_writer import Package, encode_database, write_database

from autopatchelf.remote import (
    EntryKind,
    IndexedFile,
    Listing,
    NixIndexError,
    default_database_path,
    lib_dir_filter,
    read_database,
)
from autopatchelf.remote.fetch import CacheClient

from ._nix import RealCache

H1, H2 = "5nwcs54gk9n0vsahc57bm0kakpfv7zjf", "c21cdmcx0qnzcvjyzdi4pi647cbqnzsw"
ZLIB = Package(
    H1,
    "zlib-1.3",
    {
        "lib": {"libz.so.1": ("s", "libz.so.1.3"), "libz.so.1.3": ("x", 100), "pkgconfig": {}},
        "share": {"doc": {"long-" + "n" * 300: ("r", 5)}},
    },
    attr="zlib",
    output="out",
)
LIBC = Package(
    H2,
    "glibc-2.41",
    {"lib": {"libc.so.6": ("r", 2000)}},
    attr="glibc",
    output="lib",
    toplevel=False,
    system=None,
)


def test_round_trip(tmp_path: Path) -> None:
    write_database(tmp_path / "files", [ZLIB, LIBC], frames=3)
    first, second = list(read_database(tmp_path / "files"))
    assert first.store_path == f"/nix/store/{H1}-zlib-1.3"
    assert (first.attr, first.output, first.toplevel, first.system) == (
        "zlib",
        "out",
        True,
        "x86_64-linux",
    )
    assert (second.attr, second.output, second.toplevel, second.system) == (
        "glibc",
        "lib",
        False,
        None,
    )
    files = {f.path: f for f in first.files}
    assert files[""] == IndexedFile("", EntryKind.DIRECTORY, 2)
    assert files["lib/libz.so.1.3"] == IndexedFile("lib/libz.so.1.3", EntryKind.REGULAR, 100, True)
    assert files["lib/libz.so.1"].target == "libz.so.1.3"
    assert files["share/doc/long-" + "n" * 300].size == 5
    assert len(files) == 8


def test_filter(tmp_path: Path) -> None:
    write_database(tmp_path / "files", [ZLIB, LIBC])
    got = {
        p.name: [f.path for f in p.files]
        for p in read_database(tmp_path / "files", want=lib_dir_filter(["lib"]))
    }
    assert got == {
        "zlib-1.3": ["lib", "lib/pkgconfig", "lib/libz.so.1.3", "lib/libz.so.1"],
        "glibc-2.41": ["lib", "lib/libc.so.6"],
    }


def test_dirs_filter_equals_predicate(tmp_path: Path) -> None:
    write_database(tmp_path / "files", [ZLIB, LIBC])
    by_dirs = list(read_database(tmp_path / "files", dirs=["lib", "share/doc"]))
    by_want = list(read_database(tmp_path / "files", want=lib_dir_filter(["/lib/", "share/doc"])))
    assert by_dirs == by_want
    assert [f.path for f in by_dirs[0].files] == [
        "share/doc",
        "share/doc/long-" + "n" * 300,
        "lib",
        "lib/pkgconfig",
        "lib/libz.so.1.3",
        "lib/libz.so.1",
    ]


def _db(tmp_path: Path, body: bytes, header: bytes = b"NIXI" + (1).to_bytes(8, "little")) -> Path:
    path = tmp_path / "files"
    path.write_bytes(header + zstandard.ZstdCompressor().compress(body))
    return path


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda b: b[:-1], "truncated or malformed line"),
        (lambda b: b[: b.rindex(b"p\0")], "no package entry"),
        (lambda b: b.replace(b"\0\0/lib\n", b"\0\x05/lib\n", 1), "shared prefix length"),
        (lambda b: b.replace(b"2d\0", b"2q\0", 1), "invalid file entry"),
        (lambda b: b.replace(b'"hash"', b'"hush"'), "no valid store_dir/hash/name"),
        (lambda b: b.replace(b'"toplevel":true', b'"toplevel":1'), "invalid origin"),
        (lambda b: b.replace(b"p\0", b"p\0" + b"[" * 5000, 1), "not valid JSON|shared prefix"),
        (lambda b: b.replace(b"\n", b"", 1), "invalid file entry|shared prefix|not absolute"),
    ],
)
def test_corrupt(tmp_path: Path, mutate: object, message: str) -> None:
    body = mutate(encode_database([ZLIB, LIBC]))  # type: ignore[operator]
    with pytest.raises(NixIndexError, match=message) as caught:
        list(read_database(_db(tmp_path, body)))
    assert str(caught.value).startswith(str(tmp_path))


def test_header_and_stream_errors(tmp_path: Path) -> None:
    body = encode_database([ZLIB])
    with pytest.raises(NixIndexError, match="no 'NIXI' magic"):
        list(read_database(_db(tmp_path, body, b"NIXJ" + bytes(8))))
    with pytest.raises(NixIndexError, match="version 2, only 1"):
        list(read_database(_db(tmp_path, body, b"NIXI" + (2).to_bytes(8, "little"))))
    path = _db(tmp_path, body)
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(NixIndexError, match="zstd stream is truncated"):
        list(read_database(path))
    with pytest.raises(NixIndexError, match="cannot open"):
        list(read_database(tmp_path / "missing"))


def test_long_line_is_bounded(tmp_path: Path) -> None:
    from autopatchelf.remote.nixindex import NixIndexLimits

    path = _db(tmp_path, b"x" * 100_000)
    with pytest.raises(NixIndexError, match="longer than 1000"):
        list(read_database(path, limits=NixIndexLimits(max_line=1000)))


def test_default_database_path() -> None:
    assert default_database_path({"NIX_INDEX_DATABASE": "/db"}) == Path("/db/files")
    assert default_database_path({"XDG_CACHE_HOME": "/c", "HOME": "/h"}) == Path(
        "/c/nix-index/files"
    )
    assert default_database_path({"HOME": "/h"}) == Path("/h/.cache/nix-index/files")


def _tree(listing: Listing) -> dict[str, object]:
    """A writer tree from a listing (what nix-index would have indexed)."""
    root: dict[str, object] = {}
    for entry in listing.entries:
        if not entry.path:
            continue
        *parents, name = entry.path.split("/")
        node = root
        for parent in parents:
            node = node[parent]  # type: ignore[assignment]
        if entry.kind is EntryKind.DIRECTORY:
            node[name] = {}
        elif entry.kind is EntryKind.SYMLINK:
            node[name] = ("s", entry.target)
        else:
            node[name] = ("x" if entry.executable else "r", entry.size)
    return root


def test_database_from_real_listings(tmp_path: Path, zstd_cache: RealCache) -> None:
    client = CacheClient(zstd_cache.url)
    packages, listings = [], {}
    for path in zstd_cache.paths:
        hash_part, name = path.name[:32], path.name[33:]
        listing = client.fetch_listing(hash_part)
        assert listing is not None
        listings[str(path)] = listing
        packages.append(Package(hash_part, name, _tree(listing), attr=name))  # type: ignore[arg-type]
    write_database(tmp_path / "files", packages)
    seen = 0
    for package in read_database(tmp_path / "files"):
        listing = listings[package.store_path]
        expected = {
            (
                e.path,
                e.kind,
                e.size if e.kind is EntryKind.REGULAR else None,
                e.executable,
                e.target,
            )
            for e in listing.entries
        }
        got = {
            (
                f.path,
                f.kind,
                f.size if f.kind is EntryKind.REGULAR else None,
                f.executable,
                f.target,
            )
            for f in package.files
        }
        assert got == expected
        dirs = [f for f in package.files if f.kind is EntryKind.DIRECTORY]
        for directory in dirs:
            assert directory.size == len(listing.children(directory.path))
        seen += 1
    assert seen == len(zstd_cache.paths) >= 3
    json.dumps([p.name for p in packages])
