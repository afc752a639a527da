"""The grades, the report and the feedback of a batch, written from its results.

* ``grades.csv``: ``student, assignment, exercise, score, max_score, status``, one row per
  student, chapter and exercise (a submission that could not be graded: ``error`` rows with
  its chapter's maximum points; a superseded duplicate: no rows);
* ``report.json``: the run's settings and every :class:`~grader.grading.results.Result`;
* ``feedback/<student>/<chapter>.html``: :func:`feedback_html`, every value escaped.
"""

from __future__ import annotations

import csv
import html
import json
from dataclasses import asdict
from pathlib import Path

from helpers.protocol import ExerciseStatus

from .results import Result, SubmissionStatus
from .sanitize import Assignment

CSV_COLUMNS = ("student", "assignment", "exercise", "score", "max_score", "status")


def write_outputs(results: list[Result], out: Path, assignments: dict[str, Assignment],
                  sandbox: dict | None = None, gradebook: dict | None = None) -> None:
    """``grades.csv``, ``report.json`` and ``feedback/`` in ``out``; ``sandbox``: the run's settings;
    ``gradebook``: what was recorded in nbgrader's gradebook (:mod:`.gradebook`), if anything."""
    with open(out / "grades.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for r in results:
            if r.status == SubmissionStatus.GRADED:
                for e in r.exercises:
                    writer.writerow({"student": r.student, "assignment": r.assignment,
                                     **{k: e[k] for k in ("exercise", "score", "max_score", "status")}})
            elif r.assignment and r.status != SubmissionStatus.DUPLICATE:
                assignment = assignments.get(r.assignment)
                for gid, test in (assignment.tests.items() if assignment else []):
                    writer.writerow({"student": r.student, "assignment": r.assignment, "exercise": gid,
                                     "score": 0.0, "max_score": test.points, "status": ExerciseStatus.ERROR})
    report = {"sandbox": sandbox, "gradebook": gradebook, "submissions": [asdict(r) for r in results]}
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    for r in results:
        if r.status == SubmissionStatus.GRADED:
            dest = out / "feedback" / r.student / f"{r.assignment}.html"
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(feedback_html(r), encoding="utf-8")


_CSS = """body{font-family:system-ui,sans-serif;max-width:60em;margin:2em auto;padding:0 1em}
table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:.4em;vertical-align:top;text-align:left}
.passed{color:#176f2c}.failed,.error{color:#a4141b}.notattempted{color:#666}"""


def feedback_html(result: Result) -> str:
    """A student's feedback: every value escaped, no student output, no test code."""
    e = html.escape
    rows = []
    for ex in result.exercises:
        text = e(ex["message"] or "")
        if ex.get("hint"):
            text += f"<br><b>Hint:</b> {e(ex['hint'])}"
        rows.append(f"<tr><td><code>{e(ex['exercise'])}</code><br>{e(ex['title'])}</td>"
                    f"<td class=\"{e(ex['status'].replace(' ', ''))}\">{e(ex['status'])}</td>"
                    f"<td>{ex['score']:g} / {ex['max_score']:g}</td><td>{text}</td></tr>")
    notes = "".join(f"<li>{e(c['cell'])}: {e(c['cause'])}</li>" for c in result.cells)
    tamper = "".join(f"<li>{e(t)}</li>" for t in result.tampering)
    parts = [f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Feedback: {e(result.assignment or '')}"
             f"</title><style>{_CSS}</style></head><body>",
             f"<h1>{e(result.assignment or '')}</h1>",
             f"<p>{e(result.student)}, <code>{e(result.file)}</code>: <b>{result.score:g} of "
             f"{result.max_score:g} points</b></p>",
             "<table><tr><th>exercise</th><th>verdict</th><th>points</th><th>message</th></tr>",
             *rows, "</table>"]
    if notes:
        parts.append(f"<h2>Cells that could not run</h2><ul>{notes}</ul>")
    if tamper:
        parts.append(f"<h2>Changes the grader undid</h2><ul>{tamper}</ul>")
    parts.append("</body></html>\n")
    return "\n".join(parts)
