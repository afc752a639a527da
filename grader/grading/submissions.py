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

from ..authoring import notebooks
from ..authoring.config import ROOT, SOURCE_DIR


#: A chapter notebook with every output is a few MB; anything far larger is not graded.
MAX_NOTEBOOK_BYTES = 64 << 20


@dataclass(frozen=True)
class Submission:
    """One notebook handed in by one student."""

    student: str
    path: Path
    chapter: str | None = None
    problem: str | None = None  # why it cannot be graded (not a notebook, unknown chapter, ...)

    @property
    def label(self) -> str:
        return f"{self.student}/{self.path.name}"


def chapter_grade_ids(root: Path = ROOT) -> dict[str, set[str]]:
    """``{chapter: {grade ids of its test cells}}`` from the sources."""
    return {ch: set(notebooks.grade_cells(notebooks.read(notebooks.notebook_path(ch, SOURCE_DIR, root))))
            for ch in notebooks.chapters(SOURCE_DIR, root)}


def identify(path: Path, known: dict[str, set[str]]) -> tuple[str | None, str | None]:
    """``(chapter, None)`` for a recognisable notebook, else ``(None, reason in words)``."""
    try:
        if path.stat().st_size > MAX_NOTEBOOK_BYTES:
            return None, f"the file is too large to be a chapter notebook (over {MAX_NOTEBOOK_BYTES >> 20} MB)"
        raw = path.read_bytes()
    except OSError as exc:
        return None, f"the file could not be read ({exc.strerror})"
    if not raw.strip():
        return None, "the file is empty"
    try:
        data = json.loads(raw.decode("utf-8", errors="replace"))
    except json.JSONDecodeError as exc:
        return None, f"the file is not a notebook: it is not valid JSON (line {exc.lineno}); was it truncated?"
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        return None, "the file is JSON but not a Jupyter notebook (no list of cells)"
    ids = set()
    for cell in data["cells"]:
        meta = cell.get("metadata", {}) if isinstance(cell, dict) else {}
        grade_id = meta.get("nbgrader", {}).get("grade_id") if isinstance(meta, dict) and isinstance(
            meta.get("nbgrader"), dict) else None
        if isinstance(grade_id, str):
            ids.add(grade_id)
    scores = {ch: len(ids & grade_ids) for ch, grade_ids in known.items()}
    best = max(scores, key=scores.get, default=None)
    if best is None or scores[best] == 0:
        stem = re.sub(r"[^0-9a-z-]", "", path.stem.lower())
        by_name = [ch for ch in known if ch in stem]
        if by_name:
            return by_name[0], None
        return None, "no cell of this notebook belongs to a course chapter (were the test cells deleted?)"
    return best, None


def discover(folder: Path, root: Path = ROOT) -> list[Submission]:
    """Every submitted notebook under ``folder``, identified; sorted by student then file."""
    known = chapter_grade_ids(root)
    base = folder / "submitted" if (folder / "submitted").is_dir() else folder
    found: list[Submission] = []
    for student_dir in sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")):
        files = sorted(p for p in student_dir.rglob("*.ipynb")
                       if ".ipynb_checkpoints" not in p.parts and p.is_file() and not p.is_symlink())
        for path in files:
            chapter, problem = identify(path, known)
            found.append(Submission(student_dir.name, path, chapter, problem))
    return found
