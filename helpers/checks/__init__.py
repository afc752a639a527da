"""Exercise checks: what a test cell runs.

In a notebook::

    from helpers.checks import check
    check("apply_kernel")                 # the visible test
    check("apply_kernel", hidden=True)    # what the instructor's grading adds

``check`` finds the learner's answer by the exercise's name in the notebook,
runs the exercise's definition (see :mod:`helpers.checks.core`) and prints a
verdict in words, or raises :class:`~helpers.checks.core.CheckFailed` with a
message saying what was expected, what was got and, for known mistakes, why.

``check`` and ``summary`` belong to the learner's side (:mod:`helpers.learner.verdicts`, which prints
and records verdicts); this package holds the exercises and their registry (:func:`exercise`,
:func:`exercises`) and hands those two on under the name the notebooks import.

The chapter modules (``ch01`` ...) and :mod:`~helpers.checks.core` (PyTorch) are
imported on first use, so importing ``helpers.checks`` itself does no work, and
:mod:`~helpers.checks.catalog` (names, titles, points) loads without PyTorch.
"""

from __future__ import annotations

import importlib
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .core import CheckFailed, Exercise, NotAttempted, ShortcutUsed, Verdict

__all__ = ["check", "summary", "exercise", "exercises", "CheckFailed", "NotAttempted", "ShortcutUsed", "Verdict"]

_CORE_NAMES = ("CheckFailed", "Exercise", "NotAttempted", "ShortcutUsed", "Verdict")
#: The learner's names (:mod:`helpers.learner.verdicts`), imported from here by every notebook.
_LEARNER_NAMES = ("check", "summary")


def __getattr__(name: str) -> Any:
    if name in _CORE_NAMES:
        from . import core

        return getattr(core, name)
    if name in _LEARNER_NAMES:
        from ..learner import verdicts

        return getattr(verdicts, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: The modules that define exercises, one per chapter, in course order.
CHAPTER_MODULES = ("ch01", "ch02", "ch03", "ch04", "ch05", "ch06", "ch07", "ch08", "ch09")


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
