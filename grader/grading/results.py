"""What grading says about each submission: the result types and their statuses.

A submission is :attr:`SubmissionStatus.GRADED`, or it is one of the error kinds, each
with a one-line reason in words for the instructor. The kind is decided where the problem
is found (:func:`grader.grading.submissions.identify` returns a :class:`Problem`), never
read back out of the sentence. Exercises have the statuses of
:class:`helpers.protocol.ExerciseStatus` (passed, failed, not attempted, error).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from enum import StrEnum


class SubmissionStatus(StrEnum):
    """What happened to one submitted notebook."""

    GRADED = "graded"
    UNREADABLE = "unreadable"  # not a notebook: empty, not JSON, no cells, too large, unreadable file
    UNKNOWN_CHAPTER = "unknown-chapter"  # a notebook, but of no chapter of the course
    DUPLICATE = "duplicate"  # an older notebook of a student for a chapter that has a later one
    GRADING_FAILED = "grading-failed"  # the grader could not grade it (its sandbox never started)


@dataclass(frozen=True)
class Problem:
    """Why a file cannot be graded: its kind, and the reason in words (what ``str()`` gives)."""

    kind: SubmissionStatus
    reason: str

    def __str__(self) -> str:
        return self.reason


@dataclass
class Result:
    """What happened to one submission."""

    student: str
    file: str
    assignment: str | None
    status: SubmissionStatus
    reason: str = ""
    score: float = 0.0
    max_score: float = 0.0
    exercises: list[dict] = field(default_factory=list)
    tampering: list[str] = field(default_factory=list)
    cells: list[dict] = field(default_factory=list)  # cells that could not run: {"cell", "cause"}
    #: cells of the student's code that raised (first error each): {"cell", "number", "error"}
    raised: list[dict] = field(default_factory=list)
    sha256: str = ""  # of the file graded: a resumed batch keeps this result only for the same content
    #: how late nbgrader's gradebook says it was handed in (its due date, the student's extension, ``timestamp.txt``)
    #: and the penalty nbgrader's late-submission plugin gave (:mod:`grader.grading.late`); 0 without a gradebook
    seconds_late: float = 0.0
    late_penalty: float = 0.0
    #: each time the sandbox was ended from outside (the host, not the submission) and the cell run again
    retried: list[str] = field(default_factory=list)
    #: recorded in a gradebook: the cells whose manual score the gradebook counts instead of the grader's points
    #: (cell -> manual score; ``{}`` none); ``None``: not recorded, the grader's points are the only ones
    manual_scores: dict[str, float] | None = None

    def gradebook_score(self, exercise: str, score: float) -> float | None:
        """The points the gradebook counts for ``exercise`` (its manual score, else the grader's ``score``);
        ``None`` when this result was not recorded in a gradebook."""
        if self.manual_scores is None:
            return None
        return self.manual_scores.get(exercise, score)

    @classmethod
    def from_entry(cls, entry: dict) -> "Result":
        """A result back from its ``report.json`` entry (fields this version does not know are dropped)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in entry.items() if k in names})
