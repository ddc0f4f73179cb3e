"""``autopatchelf index``: build or refresh the store index, print counts and timings."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from autopatchelf.cli._options import add_store_options
from autopatchelf.index import Candidate, IndexStats, StoreIndex
from autopatchelf.progress import TerminalProgress


def configure_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "index",
        help="index the store's libraries (cached; later runs only scan what changed)",
        description=(
            "Index every library of the store (or of the closures given with --within) by "
            "soname, and print what the index holds. The index is cached per store dir and "
            "updated incrementally."
        ),
    )
    add_store_options(parser)
    parser.add_argument(
        "--nix",
        choices=["auto", "db", "cli", "none"],
        default="auto",
        help="how to ask Nix about valid paths and references: its database (db), the "
        "nix-store command (cli), not at all (none); default: auto",
    )
    parser.add_argument("--stats", action="store_true", help="print every count and timing")
    parser.add_argument(
        "--soname",
        metavar="NAME",
        action="append",
        default=[],
        help="also list the candidate files for NAME; repeatable",
    )
    parser.add_argument("--format", choices=["text", "json"], default="text")


def execute(args: argparse.Namespace) -> int:
    progress = TerminalProgress(sys.stderr)
    with StoreIndex.open(
        args.store,
        within=args.within,
        cache_dir=args.cache_dir,
        progress=progress,
        nix=args.nix,
    ) as index:
        stats = index.stats
        found = {name: index.candidates(name) for name in args.soname}
    if stats.cache_warning:
        print(f"autopatchelf: warning: {stats.cache_warning}", file=sys.stderr)
    if args.format == "json":
        document = {
            "stats": stats.as_dict(),
            "candidates": {name: [_candidate_dict(c) for c in cs] for name, cs in found.items()},
        }
        print(json.dumps(document, indent=2, sort_keys=True))
        return 0
    print(_stats_table(stats) if args.stats else _summary(stats))
    for name, candidates in found.items():
        print(f"{name}:" if candidates else f"{name}: no candidates")
        for candidate in candidates:
            print(f"  {candidate.path}")
    return 0


def _candidate_dict(candidate: Candidate) -> dict[str, object]:
    return {
        "path": candidate.path,
        "store_path": candidate.store_path.path,
        "names": list(candidate.names),
        "entries": list(candidate.entries),
        "soname": candidate.soname,
    }


def _summary(stats: IndexStats) -> str:
    return (
        f"{stats.files} library files, {stats.sonames} names, {stats.store_paths} store paths"
        f" in {stats.store_dir} ({stats.backend}); {stats.paths_scanned} paths scanned,"
        f" {stats.paths_dropped} dropped, {stats.files_read} ELF files read"
        f" in {stats.seconds:.2f} s"
    )


def _stats_table(stats: IndexStats) -> str:
    rows: list[tuple[str, object]] = [
        ("store", f"{stats.store_dir} ({stats.backend})"),
        ("cache", stats.cache_file or "(in memory)"),
        ("store paths", stats.store_paths),
        ("lib dirs", stats.lib_dirs),
        ("library files", stats.files),
        ("sonames", stats.sonames),
        ("executables", stats.executables),
        ("skipped: not ELF", stats.non_elf),
        ("skipped: bad ELF", stats.bad_elf),
        ("skipped: not a library", stats.not_library),
        ("skipped: outside store", stats.outside),
        ("paths scanned", stats.paths_scanned),
        ("paths from cache", stats.paths_cached),
        ("paths dropped", stats.paths_dropped),
        ("RUNPATH dirs scanned", stats.dirs_scanned),
        ("ELF files read", stats.files_read),
        ("library files from cache", stats.files_cached),
        ("update seconds", f"{stats.update_seconds:.3f}"),
        ("load seconds", f"{stats.load_seconds:.3f}"),
        ("total seconds", f"{stats.seconds:.3f}"),
    ]
    if stats.files_read and stats.update_seconds > 0:
        rows.append(("files read per second", f"{stats.files_read / stats.update_seconds:.0f}"))
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"{label:<{width}}  {value}" for label, value in rows)
