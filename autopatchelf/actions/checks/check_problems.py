"""A resolver failure as ``check`` reports it: one :class:`CheckProblem` per diagnosis.

The kind, subject and requester come from the explanation's
:class:`~autopatchelf.Diagnosis`; the message is its one-line summary and
the details are the explanation's lines. Nothing here reads text back.
"""

from __future__ import annotations

from autopatchelf.actions.checks.check_model import CheckProblem
from autopatchelf.solution.explain import Explanation


def problem_of(explanation: Explanation) -> tuple[CheckProblem, str | None]:
    """The problem a failed solve stands for, and the missing soname ``check`` may set
    aside to look for further problems (``None`` when it cannot)."""
    diagnosis = explanation.diagnosis
    problem = CheckProblem(
        diagnosis.kind,
        diagnosis.subject,
        explanation.summary,
        explanation.lines,
        needed_by=diagnosis.requester,
    )
    return problem, diagnosis.relaxable
