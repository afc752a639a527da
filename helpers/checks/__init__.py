"""Exercise checks: what a test cell runs.

In a notebook::

    from helpers.checks import check
    check("apply_kernel")                 # the visible test
    check("apply_kernel", hidden=True)    # what the instructor's grading adds

``check`` finds the learner's answer by the exercise's name in the notebook,
runs the exercise's definition (see :mod:`helpers.checks.core`) and prints a
verdict in words, or raises :class:`~helpers.checks.core.CheckFailed` with a
message saying what was expected, what was got and, for known mistakes, why.

The chapter modules (``ch01`` ...) and :mod:`~helpers.checks.core` (PyTorch) are
imported on first use, so importing ``helpers.checks`` itself does no work, and
:mod:`~helpers.checks.catalog` (names, titles, points) loads without PyTorch.
"""

from __future__ import annotations

import importlib
import sys
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .core import CheckFailed, Exercise, NotAttempted, ShortcutUsed, Verdict

__all__ = ["check", "summary", "exercise", "exercises", "CheckFailed", "NotAttempted", "ShortcutUsed", "Verdict"]

_CORE_NAMES = ("CheckFailed", "Exercise", "NotAttempted", "ShortcutUsed", "Verdict")


def __getattr__(name: str) -> Any:
    if name in _CORE_NAMES:
        from . import core

        return getattr(core, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

#: The modules that define exercises, one per chapter, in course order.
CHAPTER_MODULES = ("ch01", "ch02", "ch03", "ch04", "ch05", "ch06", "ch07", "ch08", "ch09")

_MISSING = object()


@lru_cache(maxsize=1)
def _registry() -> dict[str, Exercise]:
    found: dict[str, Exercise] = {}
    for name in CHAPTER_MODULES:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__name__}.{name}":
                continue  # a chapter not written yet
            raise
        for ex in module.EXERCISES:
            if ex.key in found:
                raise ValueError(f"two exercises share the key {ex.key!r}")
            found[ex.key] = ex
    return found


def exercises(chapter: str | None = None) -> list[Exercise]:
    """Every exercise of the course, or of one chapter (``"01-convolution-by-hand"``), in order."""
    return [ex for ex in _registry().values() if chapter is None or ex.chapter == chapter]


def exercise(key: str) -> Exercise:
    """The exercise with this key; a clear error for a typo."""
    try:
        return _registry()[key]
    except KeyError:
        raise KeyError(f"there is no exercise {key!r}; known: {', '.join(_registry())}") from None


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
    from .core import NOT_ATTEMPTED, CheckFailed, NotAttempted

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
    """Keep the verdict in the learner's local progress file (see :mod:`helpers.progress`)."""
    from .. import progress

    progress.record(verdict, hidden=hidden)


def _undefined(ex: Exercise) -> Verdict:
    from .core import NOT_ATTEMPTED, Verdict

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
