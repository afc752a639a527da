"""What a test cell prints: an exercise's verdict in words (``check``), a chapter's table (``summary``).

A notebook imports both as ``from helpers.checks import check, summary``, the name every released
notebook has used; :mod:`helpers.checks` hands them over from here. ``check`` finds the learner's
answer by the exercise's name in the calling notebook, runs the exercise's definition
(:mod:`helpers.checks.core`), prints the verdict or raises :class:`~helpers.checks.core.CheckFailed`
(:class:`~helpers.checks.core.NotAttempted` for an answer not written yet), and keeps it in the
learner's progress (:mod:`helpers.learner.progress`).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from ..checks import exercise, exercises

if TYPE_CHECKING:  # pragma: no cover
    from ..checks.core import Exercise, Verdict

_MISSING = object()


def _caller_namespace(depth: int = 2) -> dict[str, Any]:
    return sys._getframe(depth).f_globals


def _lookup(ex: Exercise, namespace: dict[str, Any]) -> Any:
    return namespace.get(ex.answer, _MISSING)


def check(key: str, value: Any = _MISSING, *, hidden: bool = False, quiet: bool = False) -> None:
    """Check one exercise and print the verdict; raise :class:`CheckFailed` if it is wrong.

    Returns nothing, so a test cell shows the verdict in words and nothing else
    (use :meth:`Exercise.verdict` for the :class:`Verdict` object).

    Args:
        key: the exercise, e.g. ``"apply_kernel"``.
        value: the answer; by default the name ``ex.answer`` in the calling notebook.
        hidden: use the larger set of cases the instructor's grading uses.
        quiet: print nothing on success.
    """
    from ..checks.core import NOT_ATTEMPTED, CheckFailed, NotAttempted

    ex = exercise(key)
    if value is _MISSING:
        value = _lookup(ex, _caller_namespace())
    verdict = _undefined(ex) if value is _MISSING else ex.verdict(value, hidden=hidden)
    _record(verdict, hidden)
    if verdict.status == NOT_ATTEMPTED:
        raise NotAttempted(verdict)
    if not verdict.passed:
        raise CheckFailed(verdict)
    if not quiet:
        from ..protocol import wrapped

        print("\n".join(wrapped(verdict.explain())))


def _record(verdict: Verdict, hidden: bool) -> None:
    """Keep the verdict in the learner's local progress file (see :mod:`helpers.learner.progress`)."""
    from . import progress

    progress.record(verdict, hidden=hidden)


def _undefined(ex: Exercise) -> Verdict:
    from ..checks.core import NOT_ATTEMPTED, Verdict

    return Verdict(ex.key, ex.title, 0, ex.points, 0,
                   f"`{ex.answer}` is not defined yet: write it in its cell above and run that cell.",
                   status=NOT_ATTEMPTED)


def attempt_status(ex: Exercise, namespace: dict[str, Any]) -> Verdict:
    """The visible verdict of one exercise from a namespace, without printing or raising."""
    value = _lookup(ex, namespace)
    return _undefined(ex) if value is _MISSING else ex.verdict(value)


def summary(chapter: str, namespace: dict[str, Any] | None = None) -> list[Verdict]:
    """Show a chapter's exercises as a table: passed, failed or not attempted.

    Runs the visible checks on what is defined in the calling notebook.
    """
    namespace = _caller_namespace() if namespace is None else namespace
    verdicts = [attempt_status(ex, namespace) for ex in exercises(chapter)]
    width = max([len(v.title) for v in verdicts] + [8])
    lines = [f"{'exercise':<{width}}  {'visible checks':<14}  points at grading",
             f"{'-' * width}  {'-' * 14}  -----------------"]
    for v in verdicts:
        # A visible pass is not a grade: the hidden checks decide, so only "up to" is claimed.
        points = f"up to {v.max_points}" if v.passed else f"0 of {v.max_points}"
        lines.append(f"{v.title:<{width}}  {v.status:<14}  {points}")
    possible = sum(v.max_points for v in verdicts)
    reachable = sum(v.max_points for v in verdicts if v.passed)
    lines.append(f"{'total':<{width}}  {'':<14}  up to {reachable} of {possible}")
    lines.append("Only grading gives points: it runs more cases than these visible checks. To see what it "
                 "would give, save the notebook and run `python -m grader check` on it.")
    print("\n".join(lines))
    return verdicts
