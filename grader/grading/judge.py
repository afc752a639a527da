"""Verdicts, computed in the grader's own process, where no student code ever ran.

The sandbox leaves outcome files (:func:`~helpers.protocol.outcome_file`). They are
read here with ``torch.load(weights_only=True)`` (no code can run while loading), checked
to be plain data of exact types (:func:`~helpers.protocol.is_plain`: a real
``torch.Tensor``, ``int``, ``float``, ``str``, ``bool``, ``None``, tuples and lists of
those), and handed to the exercise's
:meth:`~helpers.checks.core.Exercise.judge`, which computes the references with this
process's own torch. Whatever the student monkeypatched inside the sandbox
(``torch.allclose``, ``F.conv2d``, ``helpers.checks``) does not exist here.
"""

from __future__ import annotations

from pathlib import Path

import torch

from helpers.checks.core import Outcome, Verdict
from helpers.protocol import (ERROR, MAX_OUTCOME_BYTES, OUTCOME_FIELDS, VALUE, ExerciseStatus, clip_error,
                              describe_error, is_plain, outcome_file)


def load_outcomes(path: Path) -> list[Outcome] | str:
    """The outcomes in ``path``, or why they cannot be trusted (in words)."""
    try:
        if not path.is_file() or path.is_symlink():
            return "no results were collected"
        if path.stat().st_size > MAX_OUTCOME_BYTES:
            return "the collected results were too large"
        raw = torch.load(path, weights_only=True, map_location="cpu")
    except Exception as exc:  # noqa: BLE001 - anything unreadable is untrusted
        return f"the collected results could not be read safely ({type(exc).__name__})"
    if type(raw) is not list or len(raw) > 1000:
        return "the collected results were not a list"
    outcomes = []
    for item in raw:
        if type(item) is not dict or set(item) != OUTCOME_FIELDS:
            return "the collected results had an unexpected form"
        error = item[ERROR]
        if error is not None and type(error) is not str:
            return "the collected results had an unexpected form"
        if not is_plain(item[VALUE]):
            return "the collected results held something other than plain data"
        outcomes.append(Outcome(value=item[VALUE], error=clip_error(error) if error else None))
    return outcomes


def judge_exercise(ex, outdir: Path, hidden: bool, secret_seed: int | None = None) -> Verdict:
    """Judge one exercise from its outcome files (visible, and hidden when the test cell has them).

    ``secret_seed``: the seed of the hidden cases drawn from the course secret (``None``: the public ones).
    """
    verdicts = []
    for part in (False, True) if hidden else (False,):
        outcomes = load_outcomes(outdir / outcome_file(ex.key, part))
        if isinstance(outcomes, str):
            return Verdict(ex.key, ex.title, 0, ex.points, 0, outcomes, status=ExerciseStatus.FAILED)
        try:
            verdicts.append(ex.judge(outcomes, hidden=part, secret_seed=secret_seed if part else None))
        except Exception as exc:  # noqa: BLE001 - a malformed value must not stop the batch
            return Verdict(ex.key, ex.title, 0, ex.points, 0,
                           clip_error(f"the answer could not be compared ({describe_error(exc, line=False)})"),
                           status=ExerciseStatus.FAILED)
    failed = [v for v in verdicts if not v.passed]
    if failed:
        first = failed[0]  # its status (failed or not attempted) is the exercise's own judgement
        if len(verdicts) == 2 and first is verdicts[1]:
            first.message = f"the visible checks passed, but the instructor's hidden checks did not: {first.message}"
        return first
    cases = sum(v.cases for v in verdicts)
    return Verdict(ex.key, ex.title, ex.points, ex.points, cases, status=ExerciseStatus.PASSED)
