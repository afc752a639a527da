"""Finding submitted notebooks and telling which chapter each one is.

Two layouts are accepted:

* an LMS export: ``SUBMISSIONS/<student>/<anything>.ipynb``;
* nbgrader's own: ``SUBMISSIONS/submitted/<student>/<assignment>/<notebook>.ipynb``
  (or ``SUBMISSIONS`` pointing at that ``submitted`` folder).

The chapter comes from the notebook's autograded cells (their grade ids), not
from its file name, so ``My homework (1).ipynb`` is graded like any other.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from helpers.protocol import one_line

from .. import cells
from ..authoring import notebooks
from ..authoring.config import ROOT, SOURCE_DIR
from .results import Problem, SubmissionStatus


#: A chapter notebook with every output is a few MB; anything far larger is not graded.
MAX_NOTEBOOK_BYTES = 64 << 20


@dataclass(frozen=True)
class Submission:
    """One notebook handed in by one student."""

    student: str
    path: Path
    chapter: str | None = None
    problem: Problem | None = None  # why it cannot be graded (not a notebook, unknown chapter, ...)

    @property
    def label(self) -> str:
        return f"{self.student}/{self.path.name}"


def chapter_grade_ids(root: Path = ROOT) -> dict[str, set[str]]:
    """``{chapter: {grade ids of its test cells}}`` from the sources."""
    return {ch: set(notebooks.grade_cells(notebooks.load(notebooks.notebook_path(ch, SOURCE_DIR, root))))
            for ch in notebooks.chapters(SOURCE_DIR, root)}


def _unreadable(reason: str) -> tuple[None, Problem]:
    return None, Problem(SubmissionStatus.UNREADABLE, reason)


def identify(path: Path, known: dict[str, set[str]]) -> tuple[str | None, Problem | None]:
    """``(chapter, None)`` for a recognisable notebook, else ``(None, problem)``; ``str(problem)`` says why."""
    try:
        if path.stat().st_size > MAX_NOTEBOOK_BYTES:
            return _unreadable(f"the file is too large to be a chapter notebook (over {MAX_NOTEBOOK_BYTES >> 20} MB)")
        raw = path.read_bytes()
    except OSError as exc:
        return _unreadable(f"the file could not be read ({exc.strerror})")
    if not raw.strip():
        return _unreadable("the file is empty")
    try:
        data = json.loads(raw.decode("utf-8", errors="replace"))
    except json.JSONDecodeError as exc:
        return _unreadable(f"the file is not a notebook: it is not valid JSON (line {exc.lineno}); was it truncated?")
    except RecursionError:
        return _unreadable("the file is not a notebook: its JSON is nested too deeply to read")
    except (ValueError, MemoryError) as exc:  # e.g. a number with too many digits
        return _unreadable(f"the file is not a notebook: its JSON could not be read ({type(exc).__name__})")
    problem = not_a_notebook(data)
    if problem:
        return _unreadable(problem)
    ids = {cells.grade_id(cell) for cell in data["cells"]} - {None}
    scores = {ch: len(ids & grade_ids) for ch, grade_ids in known.items()}
    best = max(scores, key=scores.get, default=None)
    if best is None or scores[best] == 0:
        stem = re.sub(r"[^0-9a-z-]", "", path.stem.lower())
        by_name = [ch for ch in known if ch in stem]
        if by_name:
            return by_name[0], None
        return None, Problem(SubmissionStatus.UNKNOWN_CHAPTER,
                             "no cell of this notebook belongs to a course chapter (were the test cells deleted?)")
    return best, None


def not_a_notebook(data) -> str | None:
    """Why parsed JSON is not a notebook the grader can read (one line), or ``None``."""
    if not isinstance(data, dict):
        return f"the file is JSON but not a Jupyter notebook (a {type(data).__name__}, not an object)"
    if "worksheets" in data and "cells" not in data:
        return ("the file is an old-format notebook (nbformat 3, with worksheets): open and save it in a "
                "current JupyterLab, then hand it in again")
    if not isinstance(data.get("cells"), list):
        return "the file is JSON but not a Jupyter notebook (no list of cells)"
    return None


def discover(folder: Path, root: Path = ROOT) -> list[Submission]:
    """Every submitted notebook under ``folder``, identified; sorted by student then file.

    Nothing here raises for one file or folder: a student folder that cannot be listed, or a
    file that cannot be identified, becomes a :class:`Submission` with a one-line ``problem``.
    """
    known = chapter_grade_ids(root)
    base = folder / "submitted" if (folder / "submitted").is_dir() else folder
    found: list[Submission] = []
    for student_dir in sorted(p for p in base.iterdir() if _is_dir(p) and not p.name.startswith(".")):
        try:
            files = sorted(p for p in student_dir.rglob("*.ipynb")
                           if ".ipynb_checkpoints" not in p.parts and p.is_file() and not p.is_symlink())
        except (OSError, RecursionError) as exc:
            found.append(Submission(student_dir.name, student_dir, None,
                                    Problem(SubmissionStatus.UNREADABLE, one_line(exc, "the folder could not be read"))))
            continue
        for path in files:
            try:
                chapter, problem = identify(path, known)
            except Exception as exc:  # noqa: BLE001 - one file never stops the batch
                chapter, problem = None, Problem(SubmissionStatus.UNREADABLE,
                                                 one_line(exc, "the file could not be identified"))
            found.append(Submission(student_dir.name, path, chapter, problem))
    return found


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:
        return False
