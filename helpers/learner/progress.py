"""Your progress through the course, kept on your own machine.

Every time a test cell checks an exercise, the verdict is recorded in a small
JSON file outside the repository (``$CONV_COURSE_PROGRESS``, else
``$XDG_DATA_HOME/conv-course/progress.json``, else
``~/.local/share/conv-course/progress.json``). ``python -m grader progress``
shows the whole course from it; ``python -m grader check`` records there too.
Nothing is recorded while nbgrader grades a notebook.

Introduced in chapter 1, "Convolution by hand" (the summary table at the end).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ..nbgrader_env import under_grading
from ..protocol import ExerciseStatus

if TYPE_CHECKING:  # pragma: no cover
    from ..checks.core import Verdict


def progress_file() -> Path:
    """Where progress is kept."""
    explicit = os.environ.get("CONV_COURSE_PROGRESS")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "conv-course" / "progress.json"


def load() -> dict[str, dict]:
    """``{exercise key: latest record}``; empty when nothing was recorded (or the file is unreadable)."""
    try:
        data = json.loads(progress_file().read_text())
    except (OSError, ValueError):
        return {}
    return data.get("exercises", {}) if isinstance(data, dict) else {}


def status(entry: dict | None) -> str:
    """An exercise's status in the course's words (:class:`helpers.protocol.ExerciseStatus`); a record
    of any other status (an error) counts as failed."""
    if not entry:
        return ExerciseStatus.NOT_ATTEMPTED
    recorded = entry.get("status")
    kept = (ExerciseStatus.PASSED, ExerciseStatus.FAILED, ExerciseStatus.NOT_ATTEMPTED)
    return ExerciseStatus(recorded) if isinstance(recorded, str) and recorded in kept else ExerciseStatus.FAILED


def record(verdict: "Verdict", *, hidden: bool = False, source: str = "notebook") -> None:
    """Remember a verdict; a hidden (grader-strength) pass is never overwritten by a visible one.

    Does nothing while the notebook is graded (:func:`helpers.nbgrader_env.under_grading`) or when the file
    cannot be written.
    """
    if under_grading():
        return
    records = load()
    previous = records.get(verdict.exercise)
    entry = {"status": str(verdict.status), "points": verdict.points, "max_points": verdict.max_points,
             "hidden": hidden, "source": source, "time": time.strftime("%Y-%m-%dT%H:%M:%S")}
    if previous and previous.get("hidden") and not hidden and previous.get("status") == ExerciseStatus.PASSED \
            and verdict.passed:
        return
    records[verdict.exercise] = entry
    path = progress_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"exercises": records}, indent=1, sort_keys=True) + "\n")
        os.replace(tmp, path)
    except OSError:
        pass
