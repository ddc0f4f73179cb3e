"""``--interactive``: let the user pick among tied optima, then solve again with the pick.

Only on a terminal; the library never prompts. Each decision shows the candidates' store
paths, versions and what makes them fit, and the choice becomes a pin (``--prefer``), so
the final answer is a consistent solution, not a hand-edited one.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence

from autopatchelf import Alternative, ElfFacts, Solution
from autopatchelf.errors import AutopatchelfError
from autopatchelf.store import StorePath, parse_store_path


def can_prompt() -> bool:
    """Prompts go to stderr, so stdout can still be redirected (``--format json > f``)."""
    return sys.stdin.isatty() and sys.stderr.isatty()


def owning_store_path(path: str) -> StorePath | None:
    """The store path ``path`` lies in (any store dir), or None."""
    current = path
    while current not in ("/", ""):
        parsed = parse_store_path(current)
        if parsed is not None:
            return parsed
        current = os.path.dirname(current)
    return None


def describe(path: str) -> str:
    """``libfoo-2.0  (/nix/store/...-libfoo-2.0)  defines FOO_1.0, FOO_2.0``."""
    owner = owning_store_path(path)
    store_path = owner.path if owner is not None else os.path.dirname(path)
    label = owner.name_version if owner is not None else path
    try:
        versions = sorted(ElfFacts.read(path).defined_versions)
    except AutopatchelfError:
        versions = []
    fits = f"  defines {', '.join(versions)}" if versions else ""
    return f"{label}  ({store_path}){fits}"


def ask(alternative: Alternative) -> str | None:
    """Prompt for one decision; returns the chosen file (None if the user gave up)."""
    import questionary
    from prompt_toolkit.output import create_output

    options = [alternative.chosen, *alternative.others]
    choices = [questionary.Choice(title=describe(p), value=p) for p in options]
    answer = questionary.select(
        f"{alternative.name}: {len(options)} equally good providers. Which one?",
        choices=choices,
        default=choices[0],
        output=create_output(stdout=sys.stderr),
    ).ask()
    return answer if isinstance(answer, str) else None


def choose(
    solution: Solution,
    resolve: Callable[[Sequence[str]], Solution],
    prompt: Callable[[Alternative], str | None] = ask,
) -> Solution:
    """Ask about every tied decision, pinning each answer and solving again."""
    pins: list[str] = []
    decided: set[str] = set()
    while True:
        pending = [a for a in solution.alternatives if a.name not in decided]
        if not pending:
            return solution
        alternative = pending[0]
        picked = prompt(alternative)
        decided.add(alternative.name)
        if picked is None:
            return solution
        owner = owning_store_path(picked)
        pins.append(owner.path if owner is not None else picked)
        solution = resolve(pins)
