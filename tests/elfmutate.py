"""Deterministic mutants of real ELF objects, for the CLI fuzz campaign.

One :class:`Mutator` (seeded) turns a seed image into a mutant: byte and word overwrites
biased towards the headers, the program headers and the dynamic section (where counts and
offsets live), hostile strings written over the dynamic string table (shell code,
control bytes, undecodable bytes, ``:`` and ``$ORIGIN``), truncations, and size claims a
file does not hold (a sparse tail). Everything is plain :mod:`random` with a fixed seed, so
a failing mutant is reproduced by its number.
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass

# Values that tend to break offset and count arithmetic.
EDGE_WORDS = (0, 1, 2, 7, 8, 16, 24, 0x7F, 0x80, 0xFF, 0x100, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF,
              0x80000000, 0xFFFFFFFFFFFFFFFF, 0x7FFFFFFFFFFFFFFF, 1 << 30, 1 << 31)  # fmt: skip

#: Strings written over the dynamic string table: each must come out escaped, never run.
HOSTILE = (
    b"lib$(touch PWNED).so.1",
    b"lib`touch PWNED`.so",
    b"a\nb: ok    forged",
    b"\x1b[2J\x1b]0;t\x07",
    b"\xff\xfe\xe9.so",
    b"$ORIGIN/../../../../tmp",
    b"/tmp/x:/lib",
    b"libc.so.6",
    b"/lib64/ld-linux-x86-64.so.2",
    b"\xe2\x80\xae",
    b"'\";|&<>*?",
)


@dataclass(frozen=True)
class Mutant:
    data: bytes
    #: How many bytes the file should claim beyond ``data`` (a sparse tail), or 0.
    sparse_tail: int
    #: What was done, for the failure message.
    steps: tuple[str, ...]


def hot_ranges(image: bytes) -> list[tuple[int, int]]:
    """The ELF and program headers, and the dynamic section (from the program headers)."""
    ranges = [(0, min(len(image), 64))]
    if len(image) < 0x40 or image[:4] != b"\x7fELF":
        return ranges
    is64, order = image[4] == 2, "<" if image[5] == 1 else ">"
    word = "Q" if is64 else "I"
    phoff = struct.unpack_from(f"{order}{word}", image, 0x20 if is64 else 0x1C)[0]
    phentsize = 56 if is64 else 32
    phnum = struct.unpack_from(f"{order}H", image, 0x38 if is64 else 0x2C)[0]
    if phoff + phnum * phentsize <= len(image):
        ranges.append((phoff, phoff + phnum * phentsize))
        for number in range(phnum):
            at = phoff + number * phentsize
            if struct.unpack_from(f"{order}I", image, at)[0] == 2:  # PT_DYNAMIC
                offset = struct.unpack_from(f"{order}{word}", image, at + (8 if is64 else 4))[0]
                size = struct.unpack_from(f"{order}{word}", image, at + (32 if is64 else 16))[0]
                if offset < len(image):
                    ranges.append((offset, min(len(image), offset + size)))
    return ranges


def _string_table(image: bytes) -> tuple[int, int] | None:
    """Where the strings DT_NEEDED points into most likely are: the .dynstr section."""
    if len(image) < 0x40 or image[:4] != b"\x7fELF" or image[4] != 2 or image[5] != 1:
        return None
    shoff = struct.unpack_from("<Q", image, 0x28)[0]
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", image, 0x3A)
    if shentsize != 64 or shoff + shnum * 64 > len(image):
        return None
    for index in range(shnum):
        sh_type, _flags, _addr, offset, size = struct.unpack_from(
            "<I4xQQQQ", image, shoff + index * 64 + 4
        )
        if sh_type == 3 and index != shstrndx and offset + size <= len(image):  # SHT_STRTAB
            return offset, offset + size
    return None


class Mutator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def mutate(self, image: bytes) -> Mutant:
        rng = self.rng
        data = bytearray(image)
        steps: list[str] = []
        hot = hot_ranges(image)
        strings = _string_table(image)
        for _ in range(rng.randint(1, 6)):
            choice = rng.random()
            if choice < 0.2 and strings is not None:
                start, end = strings
                text = rng.choice(HOSTILE)
                at = rng.randrange(start, max(start + 1, end - len(text)))
                data[at : at + len(text)] = text
                steps.append(f"string {text!r} at {at:#x}")
                continue
            start, end = rng.choice(hot) if rng.random() < 0.7 else (0, len(data))
            if end <= start:
                continue
            position = rng.randrange(start, end)
            if choice < 0.55:
                value = rng.randrange(256)
                data[position] = value
                steps.append(f"byte {value:#x} at {position:#x}")
                continue
            size = rng.choice((4, 8))
            position -= position % size
            value = rng.choice((*EDGE_WORDS, len(data), len(data) - 1, rng.getrandbits(32)))
            packed = struct.pack("<Q", value & 0xFFFFFFFFFFFFFFFF)[:size]
            data[position : position + size] = packed
            steps.append(f"word{size} {value:#x} at {position:#x}")
        if rng.random() < 0.08:
            cut = rng.randrange(len(data) + 1)
            del data[cut:]
            steps.append(f"truncated to {cut}")
        tail = 0
        if rng.random() < 0.03:
            tail = rng.choice((1 << 20, 1 << 28, 1 << 31))
            steps.append(f"sparse tail {tail}")
        return Mutant(bytes(data), tail, tuple(steps))
