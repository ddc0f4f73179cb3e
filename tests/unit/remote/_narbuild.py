"""Build NAR bytes in tests (the canonical serialisation, and deliberately broken ones)."""

from __future__ import annotations

import struct
from collections.abc import Mapping

#: ``bytes`` = regular file, ``("x", bytes)`` = executable, ``("s", target)`` = symlink,
#: mapping = directory.
Node = object


def string(data: bytes) -> bytes:
    return struct.pack("<Q", len(data)) + data + bytes(-len(data) % 8)


def node(value: Node) -> bytes:
    out = string(b"(") + string(b"type")
    if isinstance(value, bytes):
        out += string(b"regular") + string(b"contents") + string(value)
    elif isinstance(value, tuple) and value[0] == "x":
        out += string(b"regular") + string(b"executable") + string(b"") + string(b"contents")
        out += string(value[1])
    elif isinstance(value, tuple) and value[0] == "s":
        target = value[1].encode() if isinstance(value[1], str) else value[1]
        out += string(b"symlink") + string(b"target") + string(target)
    else:
        assert isinstance(value, Mapping)
        out += string(b"directory")
        for name in sorted(value):
            raw = name.encode() if isinstance(name, str) else name
            out += string(b"entry") + string(b"(") + string(b"name") + string(raw)
            out += string(b"node") + node(value[name]) + string(b")")
    return out + string(b")")


def nar(value: Node) -> bytes:
    return string(b"nix-archive-1") + node(value)
