"""Text and JSON renderings of solutions and explanations.

The JSON documents are versioned (``schema``); docs/resolver.rst describes every field.
"""

from __future__ import annotations

import json
from typing import Any

from autopatchelf.schema import encode
from autopatchelf.solution.explain import Explanation
from autopatchelf.solution.model import SOLUTION_DOCUMENT, SOLUTION_SCHEMA, Solution

__all__ = ["SOLUTION_SCHEMA", "UNSATISFIABLE_SCHEMA", "explanation_document", "solution_document"]

UNSATISFIABLE_SCHEMA = "autopatchelf.unsatisfiable/1"


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
    return json.dumps(document, indent=2, sort_keys=False) + "\n"


def solution_text(solution: Solution) -> str:
    lines: list[str] = []
    lines.append(f"glibc:       {solution.glibc or '-'} ({solution.glibc_policy.value})")
    lines.append(f"interpreter: {solution.interpreter or '-'}")
    for r in solution.roots:
        lines.append("")
        lines.append(f"{r.root}")
        width = max((len(lib.name) for lib in r.libraries), default=0)
        for lib in r.libraries:
            origin = "bundled" if lib.store_path is None else ""
            lines.append(f"  {lib.name.ljust(width)}  {lib.path}  {origin}".rstrip())
    lines.append("")
    if solution.needs_link_dir:
        lines.append("library path: no order works; use a directory of links (--link-dir)")
    else:
        lines.append("library path (in order):")
        lines.extend(f"  {d}" for d in solution.library_path)
    lines.append(f"store paths: {len(solution.store_paths)}")
    for old, new in solution.substitutions.items():
        lines.append(f"substitution: {old} is served by a {new} (closest match)")
    for alt in solution.alternatives:
        lines.append(f"tie: {alt.name}: {alt.chosen} (also optimal: {', '.join(alt.others)})")
    lines.extend(f"warning: {w}" for w in solution.warnings)
    return "\n".join(lines) + "\n"


def explanation_text(explanation: Explanation) -> str:
    return "no solution:\n" + "\n".join(f"  {line}" for line in explanation.lines) + "\n"
