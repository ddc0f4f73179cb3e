"""Renderings of a :class:`~autopatchelf.actions.checks.check_model.CheckReport`.

* :func:`render_text`: for people, grouped by root, failures with their explanation;
  ANSI colour only when asked (the CLI asks when writing to a terminal).
* :func:`render_json`: the versioned document ``autopatchelf.check/1``.
* :func:`render_junit`: JUnit XML, one testcase per binary.
* :func:`render_sarif`: SARIF 2.1.0 for code scanning, one rule per problem kind, one
  result per (binary, problem), locations relative to the checked root.
"""

from __future__ import annotations

import hashlib
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from urllib.parse import quote

from autopatchelf.actions.checks.check_document import CHECK_DOCUMENT, CheckDocument
from autopatchelf.actions.checks.check_model import (
    KIND_INFO,
    BinaryCheck,
    CheckProblem,
    CheckReport,
    ProblemKind,
    Status,
    problem_key,
)
from autopatchelf.actions.escape import json_text, visible
from autopatchelf.actions.report import mebibytes
from autopatchelf.store.path import parse_store_path

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/autopatchelf/autopatchelf"
FORMATS = ("text", "json", "junit", "sarif")


def render(
    report: CheckReport,
    fmt: str,
    *,
    color: bool = False,
    quiet: bool = False,
    verbose: bool = False,
) -> str:
    if fmt == "json":
        return render_json(report)
    if fmt == "junit":
        return render_junit(report)
    if fmt == "sarif":
        return render_sarif(report)
    if fmt == "text":
        return render_text(report, color=color, quiet=quiet, verbose=verbose)
    raise ValueError(f"unknown format {fmt!r}")


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _version() -> str:
    from autopatchelf import __version__

    return __version__


def _label(store_path: str | None) -> str:
    if store_path is None:
        return "-"
    parsed = parse_store_path(store_path)
    return parsed.name_version if parsed is not None else store_path


#: Problem kinds in a fixed order: SARIF rule indexes, the order of hints.
_RULES = list(ProblemKind)

# -- text ------------------------------------------------------------------------------

_COLORS = {
    Status.FAILED: "\x1b[1;31m",
    Status.KNOWN: "\x1b[33m",
    Status.OK: "\x1b[32m",
    Status.SKIPPED: "\x1b[2m",
    Status.DOWNLOADS: "\x1b[36m",
}
_WORDS = {
    Status.FAILED: "FAIL",
    Status.KNOWN: "known",
    Status.OK: "ok",
    Status.SKIPPED: "skip",
    Status.DOWNLOADS: "fetch",
}
_RESET = "\x1b[0m"
_DIM = "\x1b[2m"


def summary_line(report: CheckReport) -> str:
    counts = ", ".join(
        f"{report.count(status)} {name}"
        for status, name in (
            (Status.FAILED, "failed"),
            (Status.KNOWN, "known"),
            (Status.DOWNLOADS, "solvable with downloads"),
            (Status.OK, "ok"),
            (Status.SKIPPED, "skipped"),
        )
        if report.count(status) or status in (Status.FAILED, Status.OK)
    )
    new = sum(len(b.new_problems) for b in report.binaries)
    if report.unreadable_paths and not report.allow_unreadable:
        new += len(report.unreadable_paths)
    verdict = "passed" if report.passed else f"{new} new problem{'s' * (new != 1)}"
    unreadable = f", {report.unreadable} not readable" if report.unreadable else ""
    return (
        f"autopatchelf check: {verdict}: {counts} "
        f"({len(report.binaries)} ELF files, solved as {report.apps} "
        f"unit{'s' * (report.apps != 1)}; {report.non_elf} other files ignored{unreadable}; "
        f"{report.seconds:.1f}s)"
    )


def render_text(
    report: CheckReport, *, color: bool = False, quiet: bool = False, verbose: bool = False
) -> str:
    """One line per problem (a binary without one: one line), failures first; the
    resolver's explanation under each problem with ``verbose``; ``quiet`` leaves out the
    binaries that passed or were skipped. Names from the files are escaped
    (:func:`~autopatchelf.actions.escape.visible`): they cannot forge lines or colours."""

    def paint(text: str, code: str) -> str:
        return f"{code}{text}{_RESET}" if color else text

    lines: list[str] = []
    order = (Status.FAILED, Status.KNOWN, Status.DOWNLOADS, Status.OK, Status.SKIPPED)
    for index, root in enumerate(report.roots):
        mine = [b for b in report.binaries if b.root == index]
        lines.append(f"{visible(root.given)}: {len(mine)} ELF file{'s' * (len(mine) != 1)}")
        for status in order:
            if quiet and status in (Status.OK, Status.SKIPPED):
                continue
            for binary in (b for b in mine if b.status is status):
                word = paint(_WORDS[status].ljust(5), _COLORS[status])
                if not binary.problems:
                    lines.append(f"  {word} {visible(binary.path)}{_text_tail(binary)}")
                for problem in binary.problems:
                    known = paint(_WORDS[Status.KNOWN].ljust(5), _COLORS[Status.KNOWN])
                    lines.append(
                        f"  {known if problem.known else word} {visible(binary.path)}: "
                        f"{_problem_line(problem)}"
                    )
                    if verbose:
                        lines.extend(
                            paint(f"          {visible(line)}", _DIM) for line in problem.details
                        )
        lines.append("")
    kinds = sorted({p.kind for b in report.binaries for p in b.new_problems}, key=_RULES.index)
    if kinds:
        lines.append("what to do:")
        lines.extend(f"  {kind.value}: {_sentence(KIND_INFO[kind].help)}" for kind in kinds)
        if not verbose:
            lines.append("  (the resolver's explanation of each problem: --verbose)")
        lines.append("")
    if report.unreadable_paths:
        word = "ignored" if report.allow_unreadable else "FAIL"
        lines.append(f"not read ({len(report.unreadable_paths)}), so not checked:")
        lines.extend(
            f"  {paint(word.ljust(5), _COLORS[Status.FAILED])} {visible(path)}: {visible(why)}"
            for path, why in report.unreadable_paths
        )
        lines.append("")
    if report.stale:
        lines.append(f"baseline: {len(report.stale)} entries no longer seen (fixed?):")
        lines.extend(f"  {visible(k.path)}: {k.kind} {visible(k.subject)}" for k in report.stale)
        lines.append("")
    lines.extend(f"warning: {visible(w)}" for w in report.warnings)
    lines.append(summary_line(report))
    return "\n".join(lines) + "\n"


def _text_tail(binary: BinaryCheck) -> str:
    parts: list[str] = []
    if binary.app is not None and binary.app != binary.path:
        parts.append(f"with {binary.app}")
    if binary.status is Status.OK and binary.solution is not None:
        count = len(binary.store_paths)
        parts.append(f"{_label(binary.glibc)}, {count} store path{'s' * (count != 1)}")
    if binary.status is Status.DOWNLOADS:
        count = len(binary.downloads)
        parts.append(
            f"solvable with downloads: {count} store path{'s' * (count != 1)}, "
            f"{mebibytes(binary.download_bytes)}"
        )
    if binary.note:
        parts.append(binary.note)
    if binary.warnings:
        parts.append(f"{len(binary.warnings)} warning{'s' * (len(binary.warnings) != 1)}")
    return visible(f"  ({'; '.join(parts)})") if parts else ""


def _problem_line(problem: CheckProblem) -> str:
    where = f" [in {problem.needed_by}]" if problem.needed_by else ""
    known = " (known: in the baseline)" if problem.known else ""
    # The message names its subject most of the time: say it once.
    named = not problem.subject or problem.subject in problem.message
    subject = "" if named else f" {problem.subject}"
    return visible(f"{problem.kind.value}{subject}: {problem.message}{where}") + known


# -- JSON ------------------------------------------------------------------------------


def report_document(report: CheckReport) -> dict[str, Any]:
    """The ``autopatchelf.check/1`` document (see docs: every field is listed there)."""
    return CHECK_DOCUMENT.dump(CheckDocument.of(report))


def render_json(report: CheckReport) -> str:
    return json_text(report_document(report)) + "\n"


# -- JUnit -----------------------------------------------------------------------------


def render_junit(report: CheckReport) -> str:
    suites = ET.Element(
        "testsuites",
        name="autopatchelf check",
        tests=str(len(report.binaries)),
        failures=str(report.count(Status.FAILED)),
        errors="0",
        skipped=str(report.count(Status.SKIPPED) + report.count(Status.KNOWN)),
        time=f"{report.seconds:.3f}",
    )
    for index, root in enumerate(report.roots):
        mine = [b for b in report.binaries if b.root == index]
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=visible(root.given),
            tests=str(len(mine)),
            failures=str(sum(1 for b in mine if b.status is Status.FAILED)),
            errors="0",
            skipped=str(sum(1 for b in mine if b.status in (Status.SKIPPED, Status.KNOWN))),
        )
        for binary in mine:
            case = ET.SubElement(
                suite, "testcase", classname=visible(root.given), name=visible(binary.path)
            )
            status = binary.status
            if status is Status.FAILED:
                new = binary.new_problems
                failure = ET.SubElement(
                    case,
                    "failure",
                    type=new[0].kind.value,
                    message=visible("; ".join(f"{p.kind.value}: {p.message}" for p in new)),
                )
                failure.text = "\n\n".join(_problem_text(p) for p in new) + "\n"
            elif status is Status.KNOWN:
                ET.SubElement(
                    case,
                    "skipped",
                    message="known problems (baseline): "
                    + visible("; ".join(f"{p.kind.value} {p.subject}" for p in binary.problems)),
                )
            elif status is Status.SKIPPED:
                ET.SubElement(case, "skipped", message=visible(binary.note or "not checked"))
            else:
                out = ET.SubElement(case, "system-out")
                out.text = f"glibc: {visible(binary.glibc or '-')}\n" + "".join(
                    f"{visible(p)}\n" for p in binary.store_paths
                )
    ET.indent(suites)
    body = ET.tostring(suites, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


def _problem_text(problem: CheckProblem) -> str:
    head = f"{problem.kind.value} {problem.subject}: {problem.message}".replace("  ", " ")
    if problem.needed_by:
        head += f" (needed by {problem.needed_by})"
    return "\n".join(visible(line) for line in (head, *problem.details))


# -- SARIF -----------------------------------------------------------------------------


def render_sarif(report: CheckReport) -> str:
    return json_text(sarif_document(report)) + "\n"


def sarif_document(report: CheckReport, *, cwd: str | None = None) -> dict[str, Any]:
    """A SARIF 2.1.0 log with one run. Artifact locations are relative to their checked
    root (``uriBaseId`` ``ROOTn``); each ``ROOTn`` is given relative to ``%SRCROOT%``
    (the working directory) when the root lies inside it, else as a ``file:`` URI."""
    here = os.path.abspath(cwd or os.getcwd())
    bases: dict[str, Any] = {"%SRCROOT%": {"uri": _dir_uri(Path(here).as_uri())}}
    for index, root in enumerate(report.roots):
        rel = os.path.relpath(root.base, here)
        if rel == ".." or rel.startswith("../"):
            entry: dict[str, Any] = {"uri": _dir_uri(Path(root.base).as_uri())}
        else:
            uri = "./" if rel == "." else _dir_uri(_uri(rel))
            entry = {"uri": uri, "uriBaseId": "%SRCROOT%"}
        entry["description"] = {"text": f"checked root {root.given}"}
        bases[f"ROOT{index}"] = entry
    results = []
    for binary, problem in report.problems():
        results.append(_sarif_result(report, binary, problem))
    rules = [
        {
            "id": kind.value,
            "name": KIND_INFO[kind].name,
            "shortDescription": {"text": KIND_INFO[kind].short},
            "fullDescription": {"text": KIND_INFO[kind].full},
            "help": {"text": _sentence(KIND_INFO[kind].help)},
            "defaultConfiguration": {"level": "error"},
            "properties": {"tags": ["nixos", "elf", "dynamic-linking"]},
        }
        for kind in _RULES
    ]
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "autopatchelf",
                        "version": _version(),
                        "semanticVersion": _version(),
                        "informationUri": INFORMATION_URI,
                        "rules": rules,
                    }
                },
                "originalUriBaseIds": bases,
                "automationDetails": {"id": "autopatchelf/check/"},
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }


def _sarif_result(
    report: CheckReport, binary: BinaryCheck, problem: CheckProblem
) -> dict[str, Any]:
    key = problem_key(binary, problem)
    identity = f"{key.path}\0{key.kind}\0{key.subject}".encode("utf-8", "surrogateescape")
    fingerprint = hashlib.sha256(identity).hexdigest()
    text = visible(f"{binary.path}: {problem.message}")
    if problem.needed_by:
        text += visible(f" (needed by {problem.needed_by})")
    if problem.details:
        text += "\n" + "\n".join(visible(line) for line in problem.details)
    location = {
        "physicalLocation": {
            "artifactLocation": {"uri": _uri(binary.path), "uriBaseId": f"ROOT{binary.root}"}
        }
    }
    result: dict[str, Any] = {
        "ruleId": problem.kind.value,
        "ruleIndex": _RULES.index(problem.kind),
        "level": "error",
        "message": {"text": text},
        "locations": [location],
        "partialFingerprints": {"autopatchelfProblem/v1": fingerprint},
        "properties": {"subject": problem.subject, "role": binary.role.value},
    }
    if problem.needed_by:
        result["relatedLocations"] = [
            {
                "id": 1,
                "physicalLocation": {
                    "artifactLocation": {
                        "uri": _uri(problem.needed_by),
                        "uriBaseId": f"ROOT{binary.root}",
                    }
                },
                "message": {"text": "the file whose need fails"},
            }
        ]
    if report.baseline is not None:
        result["baselineState"] = "unchanged" if problem.known else "new"
    if problem.known:
        result["suppressions"] = [
            {"kind": "external", "justification": f"listed in the baseline {report.baseline}"}
        ]
    return result


def _uri(path: str) -> str:
    """A relative URI for ``path``, its bytes percent-encoded as they are."""
    return quote(path.encode("utf-8", "surrogateescape"))


def _dir_uri(uri: str) -> str:
    return uri if uri.endswith("/") else uri + "/"
