"""The grades, the report and the feedback of a batch, written from its results.

* ``grades.csv``: ``student, assignment, exercise, score, max_score, status, seconds_late,
  late_penalty, reason``, one row per student, chapter and exercise (a submission that could not be graded:
  ``error`` rows with its chapter's maximum points and the reason; one of no known chapter: one ``error`` row
  with no chapter; a superseded duplicate: no rows; never a learner without a row); ``score`` is
  the exercise's points, ``seconds_late`` the submission's lateness (every row of it) and
  ``late_penalty`` the penalty nbgrader's late-submission plugin gave the submission, on its first
  row only (0 on the others), so that a sum of ``score`` minus a sum of ``late_penalty`` is what
  ``nbgrader export`` calls ``score``; ``gradebook_score`` is the points the gradebook counts for the cell
  when the run recorded into one (a manual score there outranks the grader's ``score``; blank when nothing was
  recorded), so that a sum of it minus the penalties is the export's total whatever the formgrader changed; text that a spreadsheet would run as a formula is neutralised
  (:func:`~grader.grading.records.spreadsheet_safe`);
* ``report.json``: the run's settings, where the hidden cases came from (the secret's
  fingerprint) and every :class:`~grader.grading.results.Result`;

Both files are replaced atomically (:func:`~grader.grading.records.atomic_write`), after
every submission while a batch runs: a killed grader leaves complete files to resume from.
* ``feedback/<student>/<chapter>.html``: :func:`feedback_html`, every value escaped.
"""

from __future__ import annotations

import csv
import html
import io
import json
from dataclasses import asdict
from pathlib import Path

from helpers.protocol import ExerciseStatus, one_line

from .records import atomic_write, make_dirs, spreadsheet_safe
from .results import Result, SubmissionStatus
from .sanitize import Assignment

CSV_COLUMNS = ("student", "assignment", "exercise", "score", "max_score", "status", "seconds_late", "late_penalty",
               "reason", "gradebook_score")


def write_outputs(results: list[Result], out: Path, assignments: dict[str, Assignment],
                  sandbox: dict | None = None, gradebook: dict | None = None, hidden: dict | None = None, *,
                  feedback: bool = True) -> None:
    """``grades.csv`` (spreadsheet-safe), ``report.json`` (raw names), each replaced atomically, and
    ``feedback/`` in ``out``; ``sandbox``: the run's settings; ``gradebook``: what was recorded in nbgrader's
    gradebook (:mod:`.gradebook`), if anything; ``hidden``: where the hidden cases came from (a fingerprint).

    One student's row or entry that cannot be written becomes an error row or entry; it never costs
    the others theirs."""
    results = sorted(results, key=lambda r: (r.student, r.assignment or "", r.file))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    for r in results:
        if r.status == SubmissionStatus.GRADED:
            rows = [{"student": r.student, "assignment": r.assignment,
                     **{k: e[k] for k in ("exercise", "score", "max_score", "status")}} for e in r.exercises]
            for row in rows:
                counted = r.gradebook_score(row["exercise"], row["score"])
                row["gradebook_score"] = "" if counted is None else counted
        elif r.assignment and r.status != SubmissionStatus.DUPLICATE:
            assignment = assignments.get(r.assignment)
            rows = [{"student": r.student, "assignment": r.assignment, "exercise": gid,
                     "score": 0.0, "max_score": test.points, "status": ExerciseStatus.ERROR}
                    for gid, test in (assignment.tests.items() if assignment else [])]
        elif r.status != SubmissionStatus.DUPLICATE:  # of no known chapter: still its learner's row, with 0
            rows = [{"student": r.student, "assignment": "", "exercise": "", "score": 0.0, "max_score": 0.0,
                     "status": ExerciseStatus.ERROR}]
        else:
            rows = []
        for i, row in enumerate(rows):
            row.update(seconds_late=r.seconds_late, late_penalty=r.late_penalty if i == 0 else 0.0,
                       reason="" if r.status == SubmissionStatus.GRADED else f"{r.status}: {r.reason}")
            try:
                writer.writerow({k: spreadsheet_safe(v) for k, v in row.items()})
            except Exception as exc:  # noqa: BLE001 - one student's row never costs the others theirs
                writer.writerow({"student": spreadsheet_safe(repr(r.student)), "assignment": r.assignment,
                                 "exercise": spreadsheet_safe(str(row.get("exercise"))), "score": 0.0,
                                 "max_score": row.get("max_score", 0.0), "status": ExerciseStatus.ERROR,
                                 "seconds_late": row["seconds_late"], "late_penalty": row["late_penalty"],
                                 "reason": spreadsheet_safe(str(row["reason"])), "gradebook_score": ""})
                r.reason = one_line(exc, "a row of this submission could not be written")
    atomic_write(out / "grades.csv", buffer.getvalue())
    report = {"sandbox": sandbox, "gradebook": gradebook, "hidden_cases": hidden,
              "submissions": [_entry(r) for r in results]}
    atomic_write(out / "report.json", json.dumps(report, indent=2) + "\n")
    if feedback:
        for r in results:
            write_feedback(r, out)


def _entry(r: Result) -> dict:
    """``r`` as a ``report.json`` entry; one that cannot be serialised becomes an error entry, not a crash."""
    entry = asdict(r)
    try:
        json.dumps(entry)
        return entry
    except Exception as exc:  # noqa: BLE001
        return {"student": repr(r.student), "file": repr(r.file), "assignment": r.assignment,
                "status": SubmissionStatus.GRADING_FAILED.value,
                "reason": one_line(exc, "its result could not be recorded")}


def write_feedback(r: Result, out: Path) -> None:
    """``feedback/<student>/<chapter>.html`` of a graded submission; a failure is noted in its reason, never raised."""
    if r.status != SubmissionStatus.GRADED:
        return
    try:
        dest = out / "feedback" / r.student / f"{r.assignment}.html"
        make_dirs(dest.parent)
        atomic_write(dest, feedback_html(r).encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
    except Exception as exc:  # noqa: BLE001 - the grades stand; the feedback is what is missing
        r.reason = one_line(exc, "the feedback file could not be written")


def _late(seconds: float) -> str:
    """``seconds`` in words: ``3 min 17 s``, ``2 d 4 h 0 min``."""
    s = int(round(seconds))
    days, hours, minutes = s // 86400, s // 3600 % 24, s // 60 % 60
    if days:
        return f"{days} d {hours} h {minutes} min"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {s % 60} s" if minutes else f"{s} s"


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
    parts = [f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Feedback: {e(result.assignment or '')}"
             f"</title><style>{_CSS}</style></head><body>",
             f"<h1>{e(result.assignment or '')}</h1>",
             f"<p>{e(result.student)}, <code>{e(result.file)}</code>: <b>{result.score:g} of "
             f"{result.max_score:g} points</b></p>",
             *([f"<p>Handed in {_late(result.seconds_late)} after the due date: late penalty "
                f"<b>{result.late_penalty:g} points</b>, {max(0.0, result.score - result.late_penalty):g} of "
                f"{result.max_score:g} points counted.</p>"] if result.seconds_late > 0 else []),
             "<table><tr><th>exercise</th><th>verdict</th><th>points</th><th>message</th></tr>",
             *rows, "</table>"]
    if notes:
        parts.append(f"<h2>Cells that could not run</h2><ul>{notes}</ul>")
    if tamper:
        parts.append(f"<h2>Changes the grader undid</h2><ul>{tamper}</ul>")
    parts.append("</body></html>\n")
    return "\n".join(parts)
