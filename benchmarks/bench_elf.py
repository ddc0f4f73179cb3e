"""Benchmark the ELF facts reader against lief and pyelftools, in one run.

    python benchmarks/bench_elf.py [--files N] [--repeat R] [--dir DIR] [--json OUT]

Takes the first N (default 500) ELF files of DIR (default /usr/lib/x86_64-linux-gnu),
sorted by path, symlinks skipped, and times over the same files, after one untimed pass
that warms the page cache:

* ``ours``: :func:`autopatchelf.elf.read_facts` (every eager field; the symbol lists
  stay undecoded, as the index reads them).
* ``ours+symbols``: the same, then decoding ``symbols.defined``/``symbols.undefined``
  (every exported and imported symbol as an attrs record: the full decode).
* ``ours+exports``: read, then one ``symbols.exports()`` query (builds the lookup
  index the resolver uses, without the per-symbol records).
* ``from-blob``: ``ElfFacts.from_blob`` of each file's cached blob (the index's warm
  path: no file access); the blobs are made before timing.
* ``lief-minimal``: ``lief.ELF.parse`` with a ParserConfig that turns off everything it
  can while still yielding the same eager facts: ``parse_relocations``,
  ``parse_dyn_symbols``, ``parse_symtab_symbols``, ``parse_notes`` and
  ``parse_overlay`` off; ``parse_symbol_versions`` on (version requirements and
  definitions). Header, program headers, interpreter and dynamic entries are always
  parsed. Facts are then extracted from the Binary like ours.
* ``lief+dynsym``: the same with ``parse_dyn_symbols`` on (``count_mtd`` AUTO), and the
  dynamic symbols with their versions extracted: comparable to ``ours+symbols``.
* ``pyelftools``: ``ELFFile`` reading the same eager facts (header, PT_INTERP, dynamic
  tags via the PT_DYNAMIC segment, version requirements and definitions).

Each reader runs R times (default 3, interleaved) and its best pass counts. Reports
files/s and the ratio of each to lief-minimal. Ratios, not absolute numbers, are what
to compare across machines.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from autopatchelf.elf import ElfFacts, read_facts

DEFAULT_DIR = "/usr/lib/x86_64-linux-gnu"
BASELINE = "lief-minimal"


def elf_files(root: str, limit: int) -> list[str]:
    """The first ``limit`` ELF files under ``root``, sorted by path, no symlinks."""
    found: list[str] = []
    for path in sorted(_walk(root)):
        if len(found) == limit:
            break
        with open(path, "rb") as stream:
            if stream.read(4) == b"\x7fELF":
                found.append(path)
    return found


def _walk(root: str) -> Iterator[str]:
    for directory, _, names in os.walk(root):
        for name in names:
            path = os.path.join(directory, name)
            if not os.path.islink(path) and os.path.isfile(path):
                yield path


# -- the readers ----------------------------------------------------------------------


def ours(path: str) -> object:
    return read_facts(path)


def ours_with_symbols(path: str) -> object:
    facts = read_facts(path)
    return facts, facts.symbols.defined, facts.symbols.undefined


def ours_with_exports(path: str) -> object:
    facts = read_facts(path)
    return facts, facts.symbols.exports("malloc", "GLIBC_2.2.5")


def make_blob_reader(paths: list[str]) -> tuple[Callable[[str], object], int]:
    """A reader restoring each file's facts from its blob, and the blobs' total size."""
    blobs = {path: read_facts(path).to_blob() for path in paths}

    def read(path: str) -> object:
        return ElfFacts.from_blob(blobs[path], path)

    return read, sum(map(len, blobs.values()))


def make_lief_reader(with_symbols: bool) -> Callable[[str], object]:
    import lief

    lief.logging.disable()
    config = lief.ELF.ParserConfig()
    config.parse_relocations = False
    config.parse_dyn_symbols = with_symbols
    config.parse_symtab_symbols = False
    config.parse_notes = False
    config.parse_overlay = False
    config.parse_symbol_versions = True
    tag = lief.ELF.DynamicEntry.TAG

    def read(path: str) -> object:
        binary = lief.ELF.parse(path, config)
        if binary is None:
            raise ValueError(f"lief cannot parse {path}")
        header = binary.header
        needed: list[str] = []
        single: dict[object, object] = {}
        entry: Any  # lief's stubs type the entries as the DynamicEntry base class
        for entry in binary.dynamic_entries:
            if entry.tag == tag.NEEDED:
                needed.append(entry.name)
            elif entry.tag == tag.SONAME:
                single[entry.tag] = entry.name
            elif entry.tag == tag.RUNPATH:
                single[entry.tag] = entry.runpath
            elif entry.tag == tag.RPATH:
                single[entry.tag] = entry.rpath
            elif entry.tag in (tag.FLAGS, tag.FLAGS_1):
                single[entry.tag] = entry.value
        facts: list[Any] = [
            int(header.identity_class),
            int(header.identity_data),
            int(header.machine_type),
            int(header.identity_os_abi),
            int(header.file_type),
            binary.interpreter if binary.has_interpreter else None,
            needed,
            single,
            [
                (
                    need.name,
                    [(a.name, a.hash, a.flags, a.other) for a in need.get_auxiliary_symbols()],
                )
                for need in binary.symbols_version_requirement
            ],
            [
                (d.auxiliary_symbols[0].name if d.auxiliary_symbols else None, d.hash, d.ndx)
                for d in binary.symbols_version_definition
            ],
        ]
        if with_symbols:
            facts.append([_lief_symbol(s) for s in binary.dynamic_symbols])
        return facts

    return read


def _lief_symbol(symbol: Any) -> tuple[str, str | None]:
    version = symbol.symbol_version if symbol.has_version else None
    if version is None or not version.has_auxiliary_version:
        return symbol.name, None
    return symbol.name, version.symbol_version_auxiliary.name


def pyelftools_reader(path: str) -> object:
    from elftools.elf.dynamic import DynamicSegment
    from elftools.elf.elffile import ELFFile
    from elftools.elf.gnuversions import GNUVerDefSection, GNUVerNeedSection

    with open(path, "rb") as stream:
        elf = ELFFile(stream)
        header = elf.header
        interpreter = None
        needed: list[str] = []
        single: dict[str, object] = {}
        segment: Any
        entry: Any
        for segment in elf.iter_segments():
            if segment["p_type"] == "PT_INTERP":
                interpreter = segment.get_interp_name()
            elif isinstance(segment, DynamicSegment):
                for entry in segment.iter_tags():
                    if entry.entry.d_tag == "DT_NEEDED":
                        needed.append(entry.needed)
                    elif entry.entry.d_tag == "DT_SONAME":
                        single["soname"] = entry.soname
                    elif entry.entry.d_tag == "DT_RPATH":
                        single["rpath"] = entry.rpath
                    elif entry.entry.d_tag == "DT_RUNPATH":
                        single["runpath"] = entry.runpath
                    elif entry.entry.d_tag in ("DT_FLAGS", "DT_FLAGS_1"):
                        single[entry.entry.d_tag] = entry.entry.d_val
        needs, defs = [], []
        for section in elf.iter_sections():
            if isinstance(section, GNUVerNeedSection):
                for need, auxes in section.iter_versions():
                    needs.append(
                        (
                            need.name,
                            [
                                (a.name, a["vna_hash"], a["vna_flags"], a["vna_other"])
                                for a in auxes
                            ],
                        )
                    )
            elif isinstance(section, GNUVerDefSection):
                for definition, auxes in section.iter_versions():
                    first = next(iter(auxes), None)
                    defs.append(
                        (first.name if first else None, definition["vd_hash"], definition["vd_ndx"])
                    )
        return (
            header["e_ident"]["EI_CLASS"],
            header["e_ident"]["EI_DATA"],
            header["e_machine"],
            header["e_ident"]["EI_OSABI"],
            header["e_type"],
            interpreter,
            needed,
            single,
            needs,
            defs,
        )


# -- timing ---------------------------------------------------------------------------


def time_pass(reader: Callable[[str], object], paths: list[str]) -> tuple[float, int]:
    """Seconds for one pass over ``paths``, and how many files the reader rejected."""
    failures = 0
    start = time.perf_counter()
    for path in paths:
        try:
            reader(path)
        except Exception:  # a reader that cannot handle a file still spent the time
            failures += 1
    return time.perf_counter() - start, failures


def run(paths: list[str], repeat: int) -> tuple[dict[str, dict[str, float]], int]:
    from_blob, blob_bytes = make_blob_reader(paths)
    readers: dict[str, Callable[[str], object]] = {
        "ours": ours,
        "ours+symbols": ours_with_symbols,
        "ours+exports": ours_with_exports,
        "from-blob": from_blob,
        BASELINE: make_lief_reader(with_symbols=False),
        "lief+dynsym": make_lief_reader(with_symbols=True),
        "pyelftools": pyelftools_reader,
    }
    for path in paths:  # warm the page cache
        Path(path).read_bytes()
    best = {name: float("inf") for name in readers}
    failures = dict.fromkeys(readers, 0)
    for _ in range(repeat):
        for name, reader in readers.items():
            seconds, failed = time_pass(reader, paths)
            best[name] = min(best[name], seconds)
            failures[name] = failed
    baseline_rate = len(paths) / best[BASELINE]
    results = {}
    for name, seconds in best.items():
        rate = len(paths) / seconds
        results[name] = {
            "seconds": seconds,
            "files_per_second": rate,
            "ratio_vs_lief_minimal": rate / baseline_rate,
            "failures": failures[name],
        }
    return results, blob_bytes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=500, help="how many ELF files (500)")
    parser.add_argument("--repeat", type=int, default=3, help="passes per reader (3)")
    parser.add_argument("--dir", default=DEFAULT_DIR, help=f"where to take them ({DEFAULT_DIR})")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    paths = elf_files(args.dir, args.files)
    if not paths:
        print(f"no ELF files under {args.dir}", file=sys.stderr)
        return 1
    results, blob_bytes = run(paths, max(1, args.repeat))
    print(f"{len(paths)} ELF files from {args.dir}, best of {args.repeat} passes")
    print(f"cache blobs: {blob_bytes / len(paths) / 1024:.1f} KiB per file on average")
    print(f"{'reader':<14} {'files/s':>10} {'vs lief-minimal':>16} {'failures':>9}")
    for name, result in results.items():
        print(
            f"{name:<14} {result['files_per_second']:>10,.0f} "
            f"{result['ratio_vs_lief_minimal']:>15.1f}x {result['failures']:>9}"
        )
    if args.json:
        summary = {
            "files": len(paths),
            "dir": args.dir,
            "repeat": args.repeat,
            "blob_bytes_per_file": blob_bytes / len(paths),
        }
        args.json.write_text(json.dumps({**summary, "results": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
