"""Test support: student notebooks built from the release, answered as a test needs."""

from __future__ import annotations

import re
from pathlib import Path

from nbformat import NotebookNode

from grader.authoring import notebooks

_MARKERS = re.compile(r"^[ \t]*### (BEGIN|END) (SOLUTION|HIDDEN TESTS)[ \t]*\n?", re.MULTILINE)


def solution_code(chapter: str) -> dict[str, str]:
    """``{grade_id: code}`` of every answer cell of a chapter's source, markers removed."""
    nb = notebooks.read(notebooks.notebook_path(chapter, "solutions"))
    return {cell.metadata["nbgrader"]["grade_id"]: _MARKERS.sub("", cell.source)
            for cell in nb.cells
            if cell.get("metadata", {}).get("nbgrader", {}).get("solution")}


def student_notebook(chapter: str, answers: str | dict[str, str] = "solution") -> NotebookNode:
    """The released notebook of ``chapter`` as a student would hand it in.

    ``answers`` is ``"solution"`` (every answer right), ``"blank"`` (untouched release) or
    ``{grade_id: code}``: those answer cells get that code, the others the solution.
    """
    nb = notebooks.read(notebooks.notebook_path(chapter, "notebooks"))
    if answers == "blank":
        return nb
    code = solution_code(chapter)
    if isinstance(answers, dict):
        unknown = set(answers) - set(code)
        assert not unknown, f"no answer cells {unknown} in {chapter}"
        code.update(answers)
    for cell in nb.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if cell.get("metadata", {}).get("nbgrader", {}).get("solution") and grade_id in code:
            cell.source = code[grade_id]
    return nb


def hand_in(folder: Path, student: str, nb: NotebookNode, name: str | None = None) -> Path:
    """Write ``nb`` as ``folder/<student>/<name>`` (an LMS-style export)."""
    path = folder / student / (name or "notebook.ipynb")
    notebooks.write(nb, path)
    return path
