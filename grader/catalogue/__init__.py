"""The catalogue of answers that proves each check: real mistakes, correct alternatives, checked claims.

A check is only as good as the wrong answers it rejects and the right ones it accepts. For every
exercise of the course this package keeps, as data beside the chapter (``grader/catalogue/chNN.py``):

* :class:`Wrong` answers: code a real learner writes, with the mistake in words and the text its
  hint must contain. Each must fail the visible check (or be marked :attr:`Wrong.hidden_only`, with
  the reason, and then fail grading while the visible verdict says what it did not test), must fail
  the hidden check, and must never be shown the value the check expects;
* :class:`Right` answers: other correct formulations (another loop order, float64, NumPy scalars,
  vectorised where allowed), which must pass both checks with full points;
* :class:`Claim` rows: every number a chapter's prose states that a run produces, with the code that
  recomputes it and a tolerance, so that prose cannot go stale.

One place, read by the test suite (``tests/test_catalogue.py``), by ``make mistakes`` (``python -m
grader.catalogue``: the table per chapter) and by the class report. The code of an entry is source
text run in a fresh namespace like a notebook's (:func:`namespace`), so the same entry can be shown,
counted, or graded by the real grader.

This lives in ``grader``, not ``helpers``: its right answers are solutions, and ``helpers`` is what
learners install.
"""

from __future__ import annotations

import importlib
import re
import textwrap
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

#: The chapter modules of the catalogue, one per chapter module of ``helpers.checks``.
CHAPTERS = ("ch01", "ch02", "ch03", "ch04", "ch05", "ch06", "ch07", "ch08", "ch09")
#: Wrong answers an exercise needs at least; by-hand (``forbid``) and training exercises need more.
MIN_WRONG, MIN_WRONG_HARD = 6, 10
#: Correct alternatives an exercise needs, unless its chapter says why none exist (``NO_ALTERNATIVES``).
MIN_RIGHT = 2
#: The share of wrong answers whose hint must name the mistake, per chapter.
MIN_HINTED = 0.9


@dataclass(frozen=True)
class Wrong:
    """A wrong answer a real learner writes.

    Attributes:
        key: the exercise (``helpers.checks`` key).
        mistake: what the learner did, in a few words ("padding counted once").
        code: the learner's cell: source text that defines the exercise's answer name.
        hint: text the verdict's hint must contain; ``None`` when no hint names it (counts against
            :data:`MIN_HINTED`).
        hidden_only: why only a hidden case can show this mistake (the visible check passes it); the
            visible verdict must then say what it did not test (``Exercise.untested``).
        concept: the misconception, named alike across exercises ("padding counted once"), for the
            class report's grouping.
    """

    key: str
    mistake: str
    code: str
    hint: str | None
    hidden_only: str | None = None
    concept: str | None = None


@dataclass(frozen=True)
class Right:
    """A correct answer written differently from the solution."""

    key: str
    how: str
    code: str


@dataclass(frozen=True)
class Claim:
    """A number the prose of a chapter states, and how to recompute it.

    Attributes:
        text: the number exactly as the prose writes it (``"88.7%"``); it must appear in the solution
            notebook of the chapter.
        compute: source text, run in a fresh namespace (:func:`namespace`), that assigns the
            recomputed number to ``value``.
        expected: the value the prose means (``0.887``).
        tolerance: how far a fresh run may land from ``expected``.
        seeds: for a claim about variability, how many seeds it rests on (at least 10).
    """

    text: str
    compute: str
    expected: float
    tolerance: float
    seeds: int = 1


@dataclass
class Chapter:
    """One chapter's part of the catalogue."""

    module: str
    wrong: list[Wrong] = field(default_factory=list)
    right: list[Right] = field(default_factory=list)
    no_alternatives: dict[str, str] = field(default_factory=dict)  # key -> why no other formulation exists
    claims: list[Claim] = field(default_factory=list)


@lru_cache(maxsize=None)
def chapter(module: str) -> Chapter:
    """The catalogue of one chapter (an empty one for a chapter not catalogued yet)."""
    try:
        mod = importlib.import_module(f"{__name__}.{module}")
    except ModuleNotFoundError as exc:
        if exc.name == f"{__name__}.{module}":
            return Chapter(module)
        raise
    return Chapter(module, list(getattr(mod, "WRONG", [])), list(getattr(mod, "RIGHT", [])),
                   dict(getattr(mod, "NO_ALTERNATIVES", {})), list(getattr(mod, "CLAIMS", [])))


def chapters() -> list[Chapter]:
    return [chapter(m) for m in CHAPTERS]


def namespace() -> dict[str, Any]:
    """A fresh namespace like a chapter's after its imports: torch, nn, F, np, math."""
    import math

    import numpy as np
    import torch
    import torch.nn.functional as F
    from torch import nn

    return {"__name__": "__main__", "torch": torch, "nn": nn, "F": F, "np": np, "math": math}


def define(entry: Wrong | Right) -> Any:
    """Run an entry's code in a fresh namespace and return what it defines under the answer's name."""
    from helpers.checks import exercise

    ns = namespace()
    exec(compile(textwrap.dedent(entry.code), f"<catalogue {entry.key}>", "exec"), ns)
    return ns[exercise(entry.key).answer]


@dataclass
class Result:
    """Both verdicts of one entry."""

    entry: Wrong | Right
    visible: Any  # helpers.checks.Verdict
    hidden: Any

    @property
    def caught_visibly(self) -> bool:
        return not self.visible.passed

    @property
    def hole(self) -> bool:
        return isinstance(self.entry, Wrong) and self.visible.passed and self.hidden.passed

    @property
    def hinted(self) -> bool:
        """The verdict that catches the mistake carries the hint the entry names."""
        if not isinstance(self.entry, Wrong) or self.entry.hint is None:
            return False
        catching = self.visible if not self.visible.passed else self.hidden
        return not catching.passed and self.entry.hint in (catching.hint or "")


def run(entry: Wrong | Right) -> Result:
    """The visible and the hidden verdict (public hidden cases) of one entry, in this process."""
    from helpers.checks import exercise

    ex = exercise(entry.key)
    answer = define(entry)
    return Result(entry, ex.verdict(answer, hidden=False), ex.verdict(answer, hidden=True))


def revealed(expected: Any, text: str) -> str | None:
    """The form in which ``text`` shows the expected value of a single-answer exercise, or ``None``."""
    forms: set[str] = set()
    if isinstance(expected, bool):
        return None  # True/False are words any message may use
    if isinstance(expected, (tuple, list)):
        items = [str(v) for v in expected]
        for sep in (", ", ",", " x ", "x", " × ", "×", " "):
            forms.add(sep.join(items))
    elif isinstance(expected, float):
        forms |= {f"{expected:g}", f"{expected:.2f}", f"{expected:.3g}", f"{expected:.4g}", repr(expected)}
    elif isinstance(expected, int):
        forms.add(str(expected))
    elif isinstance(expected, str):
        forms.add(expected)
    for form in sorted(forms, key=len, reverse=True):
        if len(form) > 0 and re.search(rf"(?<![\w.]){re.escape(form)}(?![\w]|\.\d)", text):
            return form
    return None


def problems(result: Result) -> list[str]:
    """What is wrong with how the checks treat this entry (empty: the entry is proven)."""
    from helpers.checks import exercise

    entry, out = result.entry, []
    ex = exercise(entry.key)
    if isinstance(entry, Right):
        for name, v in (("visible", result.visible), ("hidden", result.hidden)):
            if not v.passed or v.points != v.max_points:
                out.append(f"a correct answer ({entry.how}) is refused by the {name} check: {v.explain()}")
        return out
    if result.hidden.passed:
        out.append(f"the hidden check passes a wrong answer ({entry.mistake})")
    if entry.hidden_only:
        if not result.visible.passed:
            out.append(f"marked hidden_only but the visible check catches it ({entry.mistake}): drop the mark")
        elif not getattr(ex, "untested", "") or ex.untested not in result.visible.explain():
            out.append(f"{entry.key}: the visible verdict does not say what it leaves to grading "
                       "(set Exercise.untested)")
    elif result.visible.passed:
        out.append(f"the visible check passes a wrong answer ({entry.mistake})")
    if entry.hint is not None and not result.hinted:
        catching = result.visible if not result.visible.passed else result.hidden
        out.append(f"expected a hint containing {entry.hint!r} ({entry.mistake}); got {catching.hint!r}")
    if ex.kind == "value":
        expected = ex.reference(ex.make_cases()[0])
        own = define(entry)  # the learner's own value, which the message may repeat: it tells them nothing
        for v in (result.visible, result.hidden):
            text = f"{v.message}\n{v.hint or ''}"
            for form in {repr(own), str(own)}:
                text = text.replace(form, "")
            shown = revealed(expected, text)
            if not v.passed and shown:
                out.append(f"the verdict reveals the expected answer ({shown!r}): {v.explain()}")
                break
    return out


#: A claim about how results vary must rest on at least this many seeds.
MIN_SEEDS = 10


def recompute(claim: Claim) -> float:
    """The claim's number, computed afresh."""
    ns = namespace()
    exec(compile(textwrap.dedent(claim.compute), f"<claim {claim.text}>", "exec"), ns)
    return float(ns["value"])


def is_hard(ex: Any) -> bool:
    """By-hand and training exercises need :data:`MIN_WRONG_HARD` wrong answers."""
    from helpers.checks.core import TrainedOnce

    return bool(ex.forbid) or isinstance(ex.run, TrainedOnce)
