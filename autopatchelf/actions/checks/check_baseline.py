"""Known problems: a baseline file lets ``check`` fail only on new ones (as linters do).

The file is JSON, sorted, one entry per problem, keyed by what survives a store update
and a rebuild of the tree: the binary's path relative to its checked root, the problem
kind and its subject (a soname, a version...). Never line numbers or store hashes::

    {
      "schema": "autopatchelf.check-baseline/1",
      "problems": [
        {"path": "bin/tool", "kind": "missing-library", "subject": "libfoo.so.1"}
      ]
    }
"""

from __future__ import annotations

import contextlib
import os

import attrs

from autopatchelf.actions.checks.check_model import BaselineKey, CheckReport, problem_key
from autopatchelf.errors import BaselineError
from autopatchelf.frozen import Record
from autopatchelf.schema import Document, SchemaError, parse_json

BASELINE_SCHEMA = "autopatchelf.check-baseline/1"


@attrs.frozen(repr=False)
class BaselineFile(Record):
    """The baseline document's body: the known problems, sorted."""

    problems: tuple[BaselineKey, ...]


#: The ``autopatchelf.check-baseline/1`` document.
BASELINE_DOCUMENT = Document(BASELINE_SCHEMA, BaselineFile)


@attrs.frozen(repr=False)
class Baseline(Record):
    keys: frozenset[BaselineKey]
    #: Where it was read from (for reports).
    source: str | None = None

    @classmethod
    def read(cls, path: str) -> Baseline:
        try:
            with open(path, encoding="utf-8") as stream:
                text = stream.read()
        except FileNotFoundError as exc:
            raise BaselineError(
                f"baseline {path} does not exist",
                hint="create it with --write-baseline FILE",
            ) from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise BaselineError(f"baseline {path} cannot be read: {exc}") from exc
        try:
            data = parse_json(text)
        except SchemaError as exc:
            raise BaselineError(f"baseline {path} cannot be read: it {exc}") from None
        if not isinstance(data, dict) or data.get("schema") != BASELINE_SCHEMA:
            raise BaselineError(
                f"baseline {path} is not an {BASELINE_SCHEMA} document",
                hint="write it again with --write-baseline FILE",
            )
        try:
            document = BASELINE_DOCUMENT.load(data)
        except SchemaError as exc:
            raise BaselineError(
                f"baseline {path}: {exc}", hint="write it again with --write-baseline FILE"
            ) from None
        return cls(frozenset(document.problems), path)


def baseline_of(report: CheckReport) -> Baseline:
    """Every problem of ``report`` (known or new) as a baseline."""
    return Baseline(frozenset(problem_key(b, p) for b, p in report.problems()))


def render_baseline(baseline: Baseline) -> str:
    entries = tuple(sorted(baseline.keys, key=attrs.astuple))
    return BASELINE_DOCUMENT.dumps(BaselineFile(entries))


def write_baseline(baseline: Baseline, path: str) -> None:
    """Write ``baseline`` to ``path`` atomically."""
    temporary = f"{path}.tmp{os.getpid()}"
    try:
        with open(temporary, "w", encoding="utf-8") as stream:
            stream.write(render_baseline(baseline))
        os.replace(temporary, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise BaselineError(f"cannot write baseline {path}: {exc.strerror or exc}") from exc


def apply_baseline(report: CheckReport, baseline: Baseline) -> CheckReport:
    """Mark the problems ``baseline`` knows; list its entries nothing matched any more."""
    used: set[BaselineKey] = set()
    binaries = []
    for binary in report.binaries:
        problems = []
        for problem in binary.problems:
            key = problem_key(binary, problem)
            known = key in baseline.keys
            if known:
                used.add(key)
            problems.append(attrs.evolve(problem, known=known))
        binaries.append(attrs.evolve(binary, problems=tuple(problems)))
    stale = tuple(sorted(baseline.keys - used, key=attrs.astuple))
    return attrs.evolve(
        report, binaries=tuple(binaries), baseline=baseline.source or "", stale=stale
    )
