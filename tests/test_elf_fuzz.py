"""Malformed ELF input: the reader returns facts or raises ElfError, and nothing else.

Mutations of real objects (small system libraries, objects compiled here, synthesized
images of every class and byte order): byte and word overwrites biased towards the
headers, the dynamic section and the tables it points at, and truncations. Decoding the
lazy symbol lists and the cache blob round trip must also raise only ElfError.
"""

from __future__ import annotations

import struct
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TypeVar
from unittest import mock

import pytest
from elfbuild import can_compile_32bit, compile_fixtures, strip_section_headers, synthesize
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autopatchelf.elf import ElfFacts, _reader, parse_facts, read_facts
from autopatchelf.errors import ElfError

SYSTEM_LIBS = Path("/usr/lib/x86_64-linux-gnu")
SMALL_SEED_BYTES = 64 * 1024
FUZZ_PATH = "/fuzz/lib.so"
T = TypeVar("T")

# Values that tend to break offset and count arithmetic.
EDGE_WORDS = [0, 1, 2, 7, 8, 16, 24, 0x7F, 0x80, 0xFF, 0x100, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF,
              0x80000000, 0xFFFFFFFFFFFFFFFF, 0x7FFFFFFFFFFFFFFF]  # fmt: skip


def _small_system_libraries(count: int) -> list[bytes]:
    if not SYSTEM_LIBS.is_dir():
        return []
    found = []
    for path in sorted(SYSTEM_LIBS.glob("lib*.so.*")):
        if path.is_symlink() or not path.is_file() or path.stat().st_size > SMALL_SEED_BYTES:
            continue
        data = path.read_bytes()
        if data[:4] == b"\x7fELF":
            found.append(data)
        if len(found) == count:
            break
    return found


@pytest.fixture(scope="session")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    images = [synthesize(is64, big).data for is64 in (True, False) for big in (False, True)]
    images += _small_system_libraries(3)
    directory = tmp_path_factory.mktemp("fuzz-seeds")
    try:
        fixtures = compile_fixtures(directory, with_32bit=can_compile_32bit(directory))
    except RuntimeError:  # no gcc: the synthesized and system seeds remain
        return images
    stripped = strip_section_headers(fixtures.libfoo, directory / "libfoo-stripped.so")
    compiled = [fixtures.libfoo, fixtures.app_runpath, fixtures.libfoo_sysv_hash, stripped]
    if fixtures.libfoo32 is not None:
        compiled.append(fixtures.libfoo32)
    images += [path.read_bytes() for path in compiled]
    for image in images:  # every seed must be readable before mutating it
        parse_facts(image, "seed").symbols.defined  # noqa: B018
    return images


def hot_ranges(image: bytes) -> list[tuple[int, int]]:
    """Where mutations hurt most: the headers and the dynamic section."""
    ranges = [(0, min(len(image), 4096))]
    is64, order = image[4] == 2, "<" if image[5] == 1 else ">"
    phoff, phentsize, phnum = (
        struct.unpack_from(f"{order}Q", image, 0x20)[0] if is64 else struct.unpack_from(
            f"{order}I", image, 0x1C)[0],
        56 if is64 else 32,
        struct.unpack_from(f"{order}H", image, 0x38 if is64 else 0x2C)[0],
    )  # fmt: skip
    for number in range(phnum):
        at = phoff + number * phentsize
        if struct.unpack_from(f"{order}I", image, at)[0] == 2:  # PT_DYNAMIC
            offset, size = struct.unpack_from(
                f"{order}{'Q' if is64 else 'I'}", image, at + (8 if is64 else 4)
            )[0], struct.unpack_from(f"{order}{'Q' if is64 else 'I'}", image,
                                     at + (32 if is64 else 16))[0]  # fmt: skip
            ranges.append((offset, offset + size))
    return ranges


@st.composite
def mutations(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    image = bytearray(draw(st.sampled_from(seeds)))
    hot = hot_ranges(bytes(image))
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        start, end = draw(st.sampled_from(hot)) if draw(st.booleans()) else (0, len(image))
        position = draw(st.integers(min_value=start, max_value=max(start, end - 1)))
        kind = draw(st.sampled_from(["byte", "word4", "word8"]))
        if kind == "byte":
            image[position] = draw(st.integers(min_value=0, max_value=255))
            continue
        size = 4 if kind == "word4" else 8
        position -= position % size
        value = draw(st.sampled_from([*EDGE_WORDS, len(image), len(image) - 1]))
        order = draw(st.sampled_from("<>"))
        packed = struct.pack(f"{order}Q", value)
        packed = packed[:size] if order == "<" else packed[-size:]
        image[position : position + size] = packed
    if draw(st.integers(min_value=0, max_value=9)) == 0:
        del image[draw(st.integers(min_value=0, max_value=len(image))) :]
    return bytes(image)


def check_only_elf_errors(facts_or_error: ElfFacts | ElfError) -> None:
    if isinstance(facts_or_error, ElfError):
        assert facts_or_error.path == FUZZ_PATH
        assert "\n" not in str(facts_or_error)
        assert facts_or_error.short_reason
        return
    facts = facts_or_error
    decoded = outcome(lambda: (facts.symbols.defined, facts.symbols.exports("foo", "NEW")))
    if isinstance(decoded, ElfError):
        assert decoded.path == FUZZ_PATH
        assert "\n" not in str(decoded)
        return
    assert isinstance(facts.symbols.undefined, tuple)
    assert isinstance(facts.symbols.exports("foo"), bool)
    restored = ElfFacts.from_blob(facts.to_blob(), FUZZ_PATH)
    assert restored == facts
    assert restored.symbols.defined == facts.symbols.defined
    assert restored.symbols.undefined == facts.symbols.undefined


def outcome(read: Callable[[], T]) -> T | ElfError:
    """What ``read()`` returns, or the ElfError it raises (anything else fails the test)."""
    try:
        return read()
    except ElfError as error:
        return error


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_images_only_raise_elf_error(seeds: list[bytes], data: st.DataObject) -> None:
    image = data.draw(mutations(seeds))
    check_only_elf_errors(outcome(lambda: parse_facts(image, FUZZ_PATH)))


@contextmanager
def pieces_reader() -> Iterator[Path]:
    """read_facts on a file, forced to read in small pread windows."""
    with (
        tempfile.TemporaryDirectory() as directory,
        mock.patch.object(_reader, "SMALL_FILE_BYTES", 0),
        mock.patch.object(_reader, "_HEAD_BYTES", 128),
        mock.patch.object(_reader, "_WINDOW_BYTES", 64),
    ):
        yield Path(directory) / "lib.so"


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_files_read_in_pieces_only_raise_elf_error(
    seeds: list[bytes], data: st.DataObject
) -> None:
    image = data.draw(mutations(seeds))
    with pieces_reader() as path:
        path.write_bytes(image)
        from_file = outcome(lambda: read_facts(path))
    from_bytes = outcome(lambda: parse_facts(image, str(path)))
    # Reading in pieces and reading the whole buffer agree.
    assert type(from_file) is type(from_bytes)
    if isinstance(from_file, ElfFacts):
        assert from_file == from_bytes
    else:
        assert str(from_file) == str(from_bytes)


def test_every_truncation_of_every_synthetic_image() -> None:
    for is64 in (True, False):
        for big in (False, True):
            image = synthesize(is64, big).data
            for length in range(len(image)):
                error = outcome(partial(parse_facts, image[:length], FUZZ_PATH))
                assert isinstance(error, ElfError), f"a {length}-byte prefix was accepted"


def test_every_header_and_dynamic_byte_set_to_edge_values() -> None:
    for is64 in (True, False):
        for big in (False, True):
            image = synthesize(is64, big).data
            for start, end in hot_ranges(image):
                for position in range(start, min(end, len(image))):
                    for value in (0x00, 0x7F, 0xFF):
                        mutated = bytearray(image)
                        mutated[position] = value
                        check_only_elf_errors(
                            outcome(partial(parse_facts, bytes(mutated), FUZZ_PATH))
                        )
