"""Text and JSON renderings of solutions and explanations.

The JSON documents are versioned (``schema``); docs/resolver.rst describes every field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from autopatchelf.actions.escape import json_text, visible
from autopatchelf.options import NeedOrigin
from autopatchelf.schema import encode
from autopatchelf.solution.model import SOLUTION_DOCUMENT, SOLUTION_SCHEMA, Solution

if TYPE_CHECKING:
    from autopatchelf.actions.trace import TraceResult
    from autopatchelf.solution.explain import Explanation

__all__ = ["SOLUTION_SCHEMA", "UNSATISFIABLE_SCHEMA", "explanation_document", "solution_document"]

UNSATISFIABLE_SCHEMA = "autopatchelf.unsatisfiable/1"
TRACE_SCHEMA = "autopatchelf.trace/1"


def solution_document(solution: Solution) -> dict[str, Any]:
    """The ``autopatchelf.solution/1`` document."""
    return SOLUTION_DOCUMENT.dump(solution)


def explanation_document(explanation: Explanation) -> dict[str, Any]:
    """The ``autopatchelf.unsatisfiable/1`` document: the explanation's lines, its
    diagnosis, the minimal conflict's facts (each with its ``kind``) and what is missing."""
    return {
        "schema": UNSATISFIABLE_SCHEMA,
        "explanation": list(explanation.lines),
        "diagnosis": encode(explanation.diagnosis),
        "facts": [{"kind": type(fact).__name__, **encode(fact)} for fact in explanation.facts],
        "missing": encode(explanation.missing),
    }


def to_json(document: dict[str, Any]) -> str:
    """A document as JSON text (bytes that were not UTF-8 as ``\\udcXX`` escapes)."""
    return json_text(document) + "\n"


def solution_text(solution: Solution, names: Mapping[str, str] | None = None) -> str:
    """The solution for people; ``names``: root path -> the name the user gave it. Names
    from the files are escaped (:func:`~autopatchelf.actions.escape.visible`)."""
    shown = dict(names or {})
    lines: list[str] = []
    for path, reason in solution.nothing_to_solve.items():
        lines.append(f"nothing to solve: {visible(shown.get(path, path))} is {reason}")
    if not solution.roots:
        return "\n".join(lines) + "\n"
    if lines:
        lines.append("")
    lines.append(f"glibc:       {visible(solution.glibc or '-')} ({solution.glibc_policy.value})")
    lines.append(f"interpreter: {visible(solution.interpreter or '-')}")
    for r in solution.roots:
        lines.append("")
        lines.append(visible(shown.get(r.root, r.root)))
        width = max((len(visible(lib.name)) for lib in r.libraries), default=0)
        for lib in r.libraries:
            origin = "bundled" if lib.store_path is None else ""
            if lib.driver:
                origin = "driver"
            if lib.via is not NeedOrigin.NEEDED:
                origin = f"{origin} (dlopen: {lib.via.value})".strip()
            lines.append(
                f"  {visible(lib.name).ljust(width)}  {visible(lib.path)}  {origin}".rstrip()
            )
    lines.append("")
    if solution.needs_link_dir:
        lines.append("library path: no order works; use a directory of links (--link-dir)")
    else:
        lines.append("library path (in order):")
        lines.extend(f"  {visible(d)}" for d in solution.library_path)
    lines.append(f"store paths: {len(solution.store_paths)}")
    if solution.downloads:
        verb = "downloaded" if solution.realised else "to download"
        lines.append(
            f"{verb}: {len(solution.downloads)} store paths, "
            f"{mebibytes(solution.download_bytes)} (from binary caches):"
        )
        for download in solution.downloads:
            origin = f" ({download.origin})" if download.origin else ""
            named = f"  [{download.named_by}]" if download.named_by else "  [a dependency]"
            lines.append(
                f"  {visible(download.store_path)}{visible(origin)}  "
                f"{mebibytes(download.file_size)}{visible(named)}"
            )
    if solution.dlopen_hints:
        lines.append("dlopen() hints (sonames written in the program; --dlopen NAME solves one):")
        for hint in solution.dlopen_hints:
            where = "a store path has it" if hint.provided else "nothing provides it"
            who = shown.get(hint.root, hint.root)
            lines.append(visible(f"  {hint.soname}  ({where}; in {who})"))
    for old, new in solution.substitutions.items():
        lines.append(visible(f"substitution: {old} is served by a {new} (closest match)"))
    for alt in solution.alternatives:
        tie = f"tie: {alt.name}: {alt.chosen} (also optimal: {', '.join(alt.others)})"
        lines.append(visible(tie))
    lines.extend(visible(f"warning: {w}") for w in solution.warnings)
    return "\n".join(lines) + "\n"


def mebibytes(size: int) -> str:
    """A download size for people: ``12.3 MiB``, or ``85 KiB`` below a MiB."""
    if size >= 1 << 20:
        return f"{size / (1 << 20):.1f} MiB"
    return f"{max(1, round(size / 1024))} KiB"


def explanation_text(explanation: Explanation) -> str:
    """The explanation for people, its names escaped."""
    return "no solution:\n" + "".join(f"  {visible(line)}\n" for line in explanation.lines)


def trace_text(result: TraceResult, lock_file: str) -> str:
    """What each round of ``trace`` showed, and what the lock now holds."""
    lines: list[str] = []
    for r in result.rounds:
        ended = "timed out" if r.timed_out else f"exit {r.returncode}"
        lines.append(f"round {r.number}: ran ({ended})")
        for name, path in r.leaks:
            lines.append(visible(f"  leak: {name} was loaded from {path}, not from the store"))
        lines.extend(visible(f"  failed: {name} was not found") for name in r.failed)
        lines.extend(visible(f"  dlopen()ed from the store: {name}") for name in r.served)
        lines.extend(
            visible(f"  opened by path (a solve cannot serve it): {name}") for name in r.by_path
        )
        if r.new:
            lines.append(visible(f"  solving again with: {', '.join(r.new)}"))
        else:
            lines.append("  nothing new")
    state = "settled" if result.settled else "not settled (--rounds ran out)"
    traced = ", ".join(result.traced) or "none"
    lines.append(visible(f"traced: {traced}; {state}"))
    lines.extend(visible(f"warning: {w}") for w in result.solution.warnings)
    lines.append(visible(f"lock written: {lock_file}"))
    return "\n".join(lines) + "\n"


def trace_json(result: TraceResult, lock_file: str) -> str:
    """The ``autopatchelf.trace/1`` document: the rounds, what was traced, the lock and
    the final solution (an ``autopatchelf.solution/1`` document)."""
    document = {
        "schema": TRACE_SCHEMA,
        "settled": result.settled,
        "traced": list(result.traced),
        "rounds": [encode(r) for r in result.rounds],
        "lock": lock_file,
        "solution": solution_document(result.solution),
    }
    return to_json(document)
