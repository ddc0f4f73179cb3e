"""Text and JSON renderings of solutions and explanations.

The JSON documents are versioned (``schema``); docs/resolver.rst describes every field.
"""

from __future__ import annotations

import json
from typing import Any

import attrs

from autopatchelf.solution.explain import Explanation
from autopatchelf.solution.model import Solution

SOLUTION_SCHEMA = "autopatchelf.solution/1"
UNSATISFIABLE_SCHEMA = "autopatchelf.unsatisfiable/1"


def solution_document(solution: Solution) -> dict[str, Any]:
    return {
        "schema": SOLUTION_SCHEMA,
        "glibc": solution.glibc,
        "glibc_policy": solution.glibc_policy,
        "interpreter": solution.interpreter,
        "store_paths": list(solution.store_paths),
        "library_path": list(solution.library_path),
        "needs_link_dir": solution.needs_link_dir,
        "runpath": list(solution.runpath),
        "choices": dict(solution.choices),
        "substitutions": dict(solution.substitutions),
        "delivery": solution.delivery,
        "roots": [
            {
                "root": r.root,
                "interpreter": r.interpreter,
                "libraries": [attrs.asdict(lib) for lib in r.libraries],
            }
            for r in solution.roots
        ],
        "alternatives": [attrs.asdict(a) for a in solution.alternatives],
        "warnings": list(solution.warnings),
    }


def explanation_document(explanation: Explanation) -> dict[str, Any]:
    facts = []
    for fact in explanation.facts:
        entry: dict[str, Any] = {"kind": type(fact).__name__}
        entry.update(attrs.asdict(fact, value_serializer=_serialize))
        facts.append(entry)
    return {
        "schema": UNSATISFIABLE_SCHEMA,
        "explanation": list(explanation.lines),
        "facts": facts,
        "missing": {name: list(closest) for name, closest in explanation.missing.items()},
    }


def _serialize(_inst: object, _field: object, value: object) -> object:
    if hasattr(value, "value") and not isinstance(value, int | str):
        return value.value
    return value


def to_json(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=False) + "\n"


def solution_text(solution: Solution) -> str:
    lines: list[str] = []
    lines.append(f"glibc:       {solution.glibc or '-'} ({solution.glibc_policy})")
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
