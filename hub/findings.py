"""What the course's grader found beyond the scores, shown where an instructor grading in the formgrader
looks: a "What grading found" cell at the top of the autograded notebook (which the formgrader shows
and nbgrader's ``generate_feedback`` turns into the learner's page), and the submission flagged.

The findings are read from the grader's ``report.json`` (one source): test cells the learner edited,
deleted or duplicated, which grading undid (``tampering``), cells that could not run (timed out,
crashed the kernel: ``cells``), and by-hand answers refused for calling a built-in the exercise forbids
(an exercise's message, :func:`helpers.protocol.refused_by_hand`). The formgrader's Autograde runs this after the grader
(:mod:`hub.formgrader`); ``python -m hub.findings COURSE_DIR`` does the same after a grading run
from the command line. A flag is only ever set here, never cleared (an instructor's own flag stays).
"""

from __future__ import annotations

import html
import json
import os
import sys
import tempfile
from pathlib import Path

#: The metadata key marking the cell this module writes, so grading again replaces it.
MARK = "conv_course_findings"
HEADING = "What grading found"


def findings(entry: dict) -> list[str]:
    """One line per finding of a ``report.json`` submission entry, in the grader's own words: test cells
    undone, cells that could not run, and answers refused for calling a built-in a by-hand exercise forbids."""
    from helpers.protocol import refused_by_hand

    found = [str(text) for text in entry.get("tampering") or []]
    found += [f"{cell.get('cell', '?')}: {cell.get('cause', '?')}" for cell in entry.get("cells") or []]
    found += [f"{row.get('exercise', '?')}: refused: {row['message']}" for row in entry.get("exercises") or []
              if isinstance(row, dict) and refused_by_hand(row.get("message"))]
    return found


def annotated(nb: dict, found: list[str]) -> dict:
    """``nb`` with its findings cell replaced (or removed when nothing was found)."""
    cells = [c for c in nb.get("cells", []) if not c.get("metadata", {}).get(MARK)]
    if found:
        text = f"**{HEADING}** (the course's grader):\n\n" + "".join(f"* {html.escape(f)}\n" for f in found)
        cells.insert(0, {"cell_type": "markdown", "id": "grading-findings", "metadata": {MARK: True},
                         "source": text})
    return {**nb, "cells": cells}


def _write(path: Path, nb: dict) -> None:
    """Written whole or not at all (a temporary file renamed over the old one)."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(handle, "w") as out:
        json.dump(nb, out, indent=1, ensure_ascii=False)
        out.write("\n")
    os.chmod(temporary, 0o644)
    os.replace(temporary, path)


def annotate(course: Path, out: str = "grading-out") -> list[str]:
    """Annotate and flag every graded submission of ``course`` with findings; one line per one annotated."""
    from nbgrader.api import Gradebook, MissingEntry

    from grader.grading.gradebook import course_db_url, course_id

    report = json.loads((course / out / "report.json").read_text())
    done = []
    url = course_db_url(course)
    with Gradebook(url, course_id(course)) as gb:
        for entry in report.get("submissions", []):
            student, assignment = entry.get("student"), entry.get("assignment")
            path = course / "autograded" / str(student) / str(assignment) / f"{assignment}.ipynb"
            if entry.get("status") != "graded" or not path.is_file():
                continue
            found = findings(entry)
            nb = json.loads(path.read_text())
            if annotated(nb, found) != nb:
                _write(path, annotated(nb, found))
            if found:
                try:
                    notebook = gb.find_submission_notebook(assignment, assignment, student)
                except MissingEntry:
                    continue
                notebook.flagged = True
                gb.db.commit()
                done.append(f"{student} {assignment}: flagged, {len(found)} finding(s)")
    return done


if __name__ == "__main__":
    for line in annotate(Path(sys.argv[1]).resolve()):
        print(line)
