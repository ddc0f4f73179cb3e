"""A test-only writer of nix-index ``files`` databases (see autopatchelf.remote.nixindex).

Written from nix-index's source description, independently of the reader: the header
``NIXI`` + u64-LE version 1, then zstd; per package, its file tree flattened the way
nix-index's ``FileTree::to_list`` does (a stack: a directory, then its entries popped in
reverse name order, depth first; the root has the empty path, others start with ``/``),
each line frcode-encoded (``meta \\0 diff suffix \\n``, diff a byte when ``|diff| < 127``
else ``0x80 hi lo``), then the footer ``p \\0 <-shared> <json> \\n``. Each package starts a
new encoder (previous path empty, shared length 0), as nix-index does.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeAlias

import zstandard

#: A file tree: a directory is a mapping of names to trees; a regular file is
#: ``("r", size)`` or ``("x", size)``; a symlink is ``("s", target)``.
Tree: TypeAlias = "Mapping[str, Tree] | tuple[str, int] | tuple[str, str]"


@dataclass
class Package:
    hash: str
    name: str
    tree: Tree
    attr: str = "pkg"
    output: str = "out"
    toplevel: bool = True
    system: str | None = "x86_64-linux"
    store_dir: str = "/nix/store"
    extra_origin: dict[str, object] = field(default_factory=dict)

    def json(self) -> bytes:
        origin: dict[str, object] = {
            "attr": self.attr,
            "output": self.output,
            "toplevel": self.toplevel,
            "system": self.system,
        }
        origin.update(self.extra_origin)
        value = {
            "store_dir": self.store_dir,
            "hash": self.hash,
            "name": self.name,
            "origin": origin,
        }
        return json.dumps(value, separators=(",", ":")).encode()


def flatten(tree: Tree) -> list[tuple[bytes, bytes]]:
    """``(metadata, path)`` pairs in nix-index's order."""
    result: list[tuple[bytes, bytes]] = []
    stack: list[tuple[bytes, Tree]] = [(b"", tree)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, Mapping):
            for name in sorted(node, key=lambda n: n.encode("utf-8", "surrogateescape")):
                stack.append((path + b"/" + name.encode("utf-8", "surrogateescape"), node[name]))
            meta = f"{len(node)}d".encode()
        else:
            kind, value = node
            if kind == "s":
                meta = str(value).encode("utf-8", "surrogateescape") + b"s"
            else:
                meta = f"{value}{kind}".encode()
        result.append((meta, path))
    return result


def _diff(value: int) -> bytes:
    if abs(value) < 127:
        return bytes([value & 0xFF])
    return b"\x80" + (value & 0xFFFF).to_bytes(2, "big")


def encode_package(package: Package) -> bytes:
    out = bytearray()
    last = b""
    shared_len = 0
    for meta, path in flatten(package.tree):
        shared = 0
        for a, b in zip(last, path, strict=False):
            if a != b or shared > 32767:
                break
            shared += 1
        out += meta + b"\0" + _diff(shared - shared_len) + path[shared:] + b"\n"
        last, shared_len = path, shared
    out += b"p\0" + _diff(-shared_len) + package.json() + b"\n"
    return bytes(out)


def encode_database(packages: Iterable[Package]) -> bytes:
    """The decompressed body (all frcode lines) of a database."""
    return b"".join(encode_package(p) for p in packages)


def write_database(
    path: Path, packages: Iterable[Package], *, version: int = 1, frames: int = 1
) -> bytes:
    """Write a database to ``path`` (body split over ``frames`` zstd frames); return it."""
    body = encode_database(packages)
    step = max(1, -(-len(body) // frames))
    compressed = b"".join(
        zstandard.ZstdCompressor(level=3).compress(body[i : i + step])
        for i in range(0, max(len(body), 1), step)
    )
    data = b"NIXI" + version.to_bytes(8, "little") + compressed
    path.write_bytes(data)
    return data
