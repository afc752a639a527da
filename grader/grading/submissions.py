"""Finding submitted notebooks and telling which chapter each one is.

Three layouts are accepted, side by side:

* a folder per student: ``SUBMISSIONS/<student>/<anything>.ipynb``;
* nbgrader's own: ``SUBMISSIONS/submitted/<student>/<assignment>/<notebook>.ipynb``
  (or ``SUBMISSIONS`` pointing at that ``submitted`` folder);
* an LMS's flat download: ``SUBMISSIONS/<name>.ipynb``, who handed each one in read from its name
  (:class:`grader.grading.lms.Names`: Canvas's or Moodle's names, or the instructor's pattern, and the roster);
  a name no pattern reads is graded under its own stem, never skipped.

A file that cannot be read still belongs to a chapter when its nbgrader assignment folder or its
file name says which (:func:`chapter_by_name`), so its learner gets a row with 0 and the reason.

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
from .lms import Identity, Names
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
    #: who handed it in, as the LMS's download names it (``None``: not a flat LMS download)
    lms: Identity | None = None

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
        by_name = chapter_by_name(path, known)
        if by_name:
            return by_name, None
        return None, Problem(SubmissionStatus.UNKNOWN_CHAPTER,
                             "no cell of this notebook belongs to a course chapter (were the test cells deleted?)")
    return best, None


def chapter_by_name(path: Path, known, folder: str | None = None) -> str | None:
    """The chapter an nbgrader assignment ``folder`` or the file's name gives (``My 01-convolution-by-hand
    (2).ipynb``), or ``None``."""
    if folder in known:
        return folder
    stem = re.sub(r"[^0-9a-z-]", "", path.stem.lower())
    return next((ch for ch in known if ch in stem), None)


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


def discover(folder: Path, root: Path = ROOT, names: Names | None = None) -> list[Submission]:
    """Every submitted notebook under ``folder``, identified; sorted by student then file.

    ``names`` reads a flat LMS download's file names (default: Canvas's or Moodle's, no roster).
    Nothing here raises for one file or folder: a student folder that cannot be listed, or a
    file that cannot be identified, becomes a :class:`Submission` with a one-line ``problem``.
    """
    known = chapter_grade_ids(root)
    names = names or Names()
    base = folder / "submitted" if (folder / "submitted").is_dir() else folder
    found: list[Submission] = []
    entries = sorted(p for p in base.iterdir() if not p.name.startswith("."))
    for path in entries:  # the flat download: notebooks right in the folder
        if path.suffix != ".ipynb" or not _is_file(path):
            continue
        who = names.identify(path.name)
        found.append(_identified(who.student if who else path.stem, path, known, who))
    for student_dir in (p for p in entries if _is_dir(p)):
        try:
            files = sorted(p for p in student_dir.rglob("*.ipynb")
                           if ".ipynb_checkpoints" not in p.parts and p.is_file() and not p.is_symlink())
        except (OSError, RecursionError) as exc:
            found.append(Submission(student_dir.name, student_dir, None,
                                    Problem(SubmissionStatus.UNREADABLE, one_line(exc, "the folder could not be read"))))
            continue
        for path in files:
            found.append(_identified(student_dir.name, path, known))
    return sorted(found, key=lambda s: (s.student, str(s.path)))


def _identified(student: str, path: Path, known, who: Identity | None = None) -> Submission:
    try:
        chapter, problem = identify(path, known)
        if problem is not None and problem.kind == SubmissionStatus.UNREADABLE:
            chapter = chapter_by_name(path, known, path.parent.name)
    except Exception as exc:  # noqa: BLE001 - one file never stops the batch
        chapter, problem = None, Problem(SubmissionStatus.UNREADABLE, one_line(exc, "the file could not be identified"))
    return Submission(student, path, chapter, problem, who)


def _is_file(path: Path) -> bool:
    try:
        return path.is_file() and not path.is_symlink()
    except OSError:
        return False


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:
        return False
