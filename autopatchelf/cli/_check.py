"""``autopatchelf check PATH...``: will these vendored binaries run on NixOS? (for CI)

Exit 0 when no binary has a problem the baseline does not know, 1 when one does, 2 on
bad usage or input (a PATH that does not exist, an unreadable baseline, no store).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from autopatchelf.cli._options import add_solve_options, solve_options
from autopatchelf.errors import ExitCode, OutputError


def configure_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "check",
        help="check that the ELF files under PATHs resolve against the store (for CI)",
        description="Find every ELF file under the PATHs, group programs with the "
        "libraries they bundle, and resolve each against the store: exit 0 when all "
        "resolve (or only have problems the baseline knows), 1 when one has a new "
        "problem, 2 on bad input.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="a directory or an ELF file")
    add_solve_options(parser)
    group = parser.add_argument_group("report")
    group.add_argument(
        "--format", choices=["text", "json", "junit", "sarif"], default="text", help="(text)"
    )
    group.add_argument("--output", "-o", metavar="FILE", help="write the report to FILE")
    group.add_argument(
        "--baseline", metavar="FILE", help="problems listed in FILE are known: they do not fail"
    )
    group.add_argument(
        "--write-baseline",
        metavar="FILE",
        help="write every problem found to FILE as the new baseline (then exit 0)",
    )
    group.add_argument(
        "--quiet", "-q", action="store_true", help="text format: list only binaries with problems"
    )
    group.add_argument(
        "--allow-empty",
        action="store_true",
        help="pass when the PATHs hold no ELF file (default: that is a usage error, exit 2)",
    )
    group.add_argument(
        "--allow-unreadable",
        action="store_true",
        help="pass even when files cannot be read or directories listed (default: fail)",
    )
    group.add_argument(
        "--verbose",
        "-v",
        action="store_true",
        help="text format: the resolver's whole explanation under each problem",
    )
    group.add_argument(
        "--color",
        choices=["auto", "always", "never"],
        default="auto",
        help="colour the text report (auto: only on a terminal, and not with NO_COLOR)",
    )
    parser.add_argument(
        "--jobs",
        "-j",
        type=_jobs,
        default=1,
        metavar="N",
        help="solve apps in N worker processes (0: one per CPU; default 1)",
    )


def _jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 (one per CPU) or more")
    return value or (os.cpu_count() or 1)


def execute(args: argparse.Namespace) -> int:
    from autopatchelf.actions.checks.check import check_paths
    from autopatchelf.actions.checks.check_baseline import Baseline, baseline_of, write_baseline
    from autopatchelf.actions.checks.check_report import render, summary_line
    from autopatchelf.progress import TerminalProgress

    options = solve_options(args)
    baseline = Baseline.read(args.baseline) if args.baseline else None
    # check_paths walks the PATHs before it opens the index: a bad PATH fails fast.
    report = check_paths(
        args.paths,
        options,
        jobs=args.jobs,
        baseline=baseline,
        allow_empty=args.allow_empty,
        allow_unreadable=args.allow_unreadable,
        progress=TerminalProgress(sys.stderr),
    )
    stream = sys.stdout
    color = args.color == "always" or (
        args.color == "auto"
        and not args.output
        and stream.isatty()
        and "NO_COLOR" not in os.environ
    )
    text = render(report, args.format, color=color, quiet=args.quiet, verbose=args.verbose)
    if args.output:
        try:
            with open(args.output, "w", encoding="utf-8") as out:
                out.write(text)
        except OSError as exc:
            raise OutputError(f"cannot write {args.output}: {exc.strerror or exc}") from exc
        print(summary_line(report), file=sys.stderr)
    else:
        stream.write(text)
    if args.write_baseline:
        write_baseline(baseline_of(report), args.write_baseline)
        print(
            f"autopatchelf check: wrote {sum(len(b.problems) for b in report.binaries)} "
            f"problems to {args.write_baseline}",
            file=sys.stderr,
        )
        return int(ExitCode.OK)
    return int(ExitCode.OK if report.passed else ExitCode.UNSATISFIABLE)
