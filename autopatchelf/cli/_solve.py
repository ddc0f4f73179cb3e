"""``autopatchelf solve FILE...``: choose providers and print them (text, json or env)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from autopatchelf.errors import ExitCode


def add_solve_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by every command that solves (solve, and later patch/run/check)."""
    group = parser.add_argument_group("solving")
    group.add_argument("--store", metavar="DIR", help="store directory (default: /nix/store)")
    group.add_argument(
        "--within",
        metavar="PATH",
        action="append",
        default=[],
        help="only consider the closure of PATH (a store path, result link, profile); repeatable",
    )
    group.add_argument("--cache-dir", metavar="DIR", help="where the index cache lives")
    group.add_argument(
        "--glibc",
        choices=["strict", "compatible"],
        default="strict",
        help="strict: every chosen closure uses the one glibc (default); compatible: "
        "closures may use another glibc if the loaded one has every version they need",
    )
    group.add_argument(
        "--prefer", metavar="NAME_OR_PATH", action="append", default=[], help="prefer these"
    )
    group.add_argument(
        "--avoid", metavar="NAME_OR_PATH", action="append", default=[], help="avoid these"
    )
    group.add_argument(
        "--system",
        metavar="PATH",
        action="append",
        default=None,
        help="prefer providers already in PATH's closure (default: /run/current-system)",
    )
    group.add_argument(
        "--allow-missing",
        metavar="PATTERN",
        action="append",
        default=[],
        help="a missing soname matching PATTERN (fnmatch) is a warning, not a failure",
    )
    group.add_argument(
        "--allow-substitution",
        action="store_true",
        help="let a close soname (libfoo.so.2 for a missing libfoo.so.1) stand in when every "
        "version and versioned symbol still fits",
    )


def solve_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "store": args.store,
        "within": args.within,
        "cache_dir": args.cache_dir,
        "glibc": args.glibc,
        "prefer": args.prefer,
        "avoid": args.avoid,
        "system": args.system,
        "allow_missing": args.allow_missing,
        "allow_substitution": args.allow_substitution,
    }


def configure_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "solve",
        help="choose a store provider for every library FILE needs",
        description="Choose one /nix/store provider for every library the files load "
        "(exit 0), or explain why none exists (exit 1).",
    )
    parser.add_argument("files", nargs="+", metavar="FILE")
    add_solve_options(parser)
    parser.add_argument("--format", choices=["text", "json", "env"], default="text")
    parser.add_argument(
        "--link-dir",
        metavar="DIR",
        help="when no library-path order works, make DIR a directory of links to the "
        "chosen files and use it (env format)",
    )


def execute(args: argparse.Namespace) -> int:
    from autopatchelf._api import solve
    from autopatchelf.actions import report
    from autopatchelf.actions.env import nix_ld_variables, render_env
    from autopatchelf.actions.linkdir import write_link_dir
    from autopatchelf.elf.facts import ElfFacts
    from autopatchelf.problem.ldso import nix_system
    from autopatchelf.solution.explain import Unsatisfiable

    try:
        solution = solve(args.files, **solve_kwargs(args))
    except Unsatisfiable as exc:
        if args.format == "json":
            sys.stdout.write(report.to_json(report.explanation_document(exc.explanation)))
        else:
            sys.stdout.write(report.explanation_text(exc.explanation))
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        return int(ExitCode.UNSATISFIABLE)
    if args.format == "json":
        sys.stdout.write(report.to_json(report.solution_document(solution)))
    elif args.format == "env":
        link_dir = None
        if solution.needs_link_dir:
            if not args.link_dir:
                print(
                    "autopatchelf: error: no library-path order serves every chosen file "
                    "(hint: pass --link-dir DIR)",
                    file=sys.stderr,
                )
                return int(ExitCode.USAGE)
            link_dir = write_link_dir(solution, args.link_dir)
        system = nix_system(ElfFacts.read(solution.roots[0].root))
        sys.stdout.write(render_env(nix_ld_variables(solution, system, link_dir=link_dir)))
    else:
        sys.stdout.write(report.solution_text(solution))
    return int(ExitCode.OK)
