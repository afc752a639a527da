"""Autograding a folder of submissions with nbgrader into grades, a report and feedback.

Each run builds a private nbgrader course in a temporary folder (sources,
gradebook, submitted copies), so the repository and the submissions folder
are only ever read. Every submission is autograded by its own ``nbgrader
autograde --student`` process, side by side up to ``workers``; one that fails
becomes that student's error row and never stops the batch.

Outputs in ``OUT``:

* ``grades.csv``: one row per student, chapter and exercise:
  ``student, assignment, exercise, score, max_score, status``;
* ``report.json``: per submission, ``graded`` or an error kind with a reason;
* ``feedback/<student>/<chapter>.html``: nbgrader's feedback without hidden tests.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import notebooks
from .config import ROOT, SOURCE_DIR
from .execute import KERNEL_ENV
from .release import ensure_tools_on_path
from .submissions import Submission, discover

CSV_COLUMNS = ("student", "assignment", "exercise", "score", "max_score", "status")


@dataclass
class Result:
    """What happened to one submission."""

    student: str
    file: str
    assignment: str | None
    status: str  # "graded" or an error kind: "unreadable", "unknown-chapter", "duplicate", "grading-failed"
    reason: str = ""
    score: float = 0.0
    max_score: float = 0.0
    exercises: list[dict] = field(default_factory=list)


def _safe_id(name: str, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_") or "student"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}_{n}", n + 1
    taken.add(candidate)
    return candidate


def _write_course_config(course: Path) -> None:
    (course / "nbgrader_config.py").write_text(
        "from grader.config import configure\n"
        f"configure(get_config(), {str(course)!r})\n"
        "get_config().CourseDirectory.source_directory = 'source'\n"
        "get_config().CourseDirectory.release_directory = 'release'\n"
    )


def _nbgrader(args: list[str], course: Path, timeout: float | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.update(KERNEL_ENV)
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env,
                          capture_output=True, text=True, timeout=timeout)


def _last_error(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if "[ERROR]" in line or "Error" in line]
    return lines[-1][:300] if lines else "nbgrader failed without saying why"


class Progress:
    """A one-line progress bar with an ETA on stderr."""

    def __init__(self, total: int, stream=sys.stderr) -> None:
        self.total, self.done, self.start, self.stream = total, 0, time.monotonic(), stream

    def step(self, label: str) -> None:
        self.done += 1
        elapsed = time.monotonic() - self.start
        eta = elapsed / self.done * (self.total - self.done)
        width = 24
        filled = int(width * self.done / max(self.total, 1))
        self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} "
                          f"ETA {eta:4.0f}s  {label[:40]:<40}")
        if self.done == self.total:
            self.stream.write("\n")
        self.stream.flush()


def autograde(submissions_dir: Path, out: Path, *, workers: int | None = None, timeout: float = 900,
              root: Path = ROOT, progress: bool = True) -> list[Result]:
    """Grade every notebook under ``submissions_dir``; write grades, report and feedback to ``out``."""
    ensure_tools_on_path()
    workers = workers or os.cpu_count() or 1
    found = discover(submissions_dir, root)
    results: list[Result] = []
    to_grade: dict[tuple[str, str], Submission] = {}
    for sub in found:
        if sub.problem:
            kind = "unreadable" if "not a notebook" in sub.problem or "empty" in sub.problem or \
                "could not be read" in sub.problem or "not a Jupyter" in sub.problem else "unknown-chapter"
            results.append(Result(sub.student, sub.path.name, None, kind, sub.problem))
            continue
        key = (sub.student, sub.chapter)
        if key in to_grade:
            older, newer = sorted([to_grade[key], sub], key=lambda s: (s.path.stat().st_mtime, s.path.name))
            results.append(Result(older.student, older.path.name, older.chapter, "duplicate",
                                  f"{newer.path.name} is a later notebook for the same chapter; it was graded"))
            to_grade[key] = newer
        else:
            to_grade[key] = sub

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="conv-course-grade-") as tmp:
        course = Path(tmp) / "course"
        course.mkdir()
        _write_course_config(course)
        for chapter in sorted({ch for _, ch in to_grade}):
            src = notebooks.notebook_path(chapter, SOURCE_DIR, root)
            (course / "source" / chapter).mkdir(parents=True)
            shutil.copy2(src, course / "source" / chapter / src.name)
            done = _nbgrader(["generate_assignment", chapter, "--force"], course)
            if done.returncode != 0:
                raise RuntimeError(f"could not prepare {chapter} for grading:\n{done.stderr[-2000:]}")

        taken: set[str] = set()
        sid_of = {student: _safe_id(student, taken) for student in sorted({s for s, _ in to_grade})}
        for (student, chapter), sub in sorted(to_grade.items()):
            target = course / "submitted" / sid_of[student] / chapter / f"{chapter}.ipynb"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(sub.path, target)

        bar = Progress(len(to_grade)) if progress and to_grade else None

        def grade_one(item: tuple[tuple[str, str], Submission]) -> tuple[tuple[str, str], str | None]:
            (student, chapter), sub = item
            try:
                done = _nbgrader(["autograde", chapter, "--student", sid_of[student], "--force"],
                                 course, timeout=timeout)
                problem = None if done.returncode == 0 else _last_error(done.stdout + done.stderr)
            except subprocess.TimeoutExpired:
                problem = f"grading took longer than {timeout:.0f} s and was stopped"
            if bar:
                bar.step(sub.label)
            return (student, chapter), problem

        with ThreadPoolExecutor(max_workers=workers) as pool:
            problems = dict(pool.map(grade_one, sorted(to_grade.items())))

        for chapter in sorted({ch for _, ch in to_grade}):
            _nbgrader(["generate_feedback", chapter, "--force"], course)

        results.extend(_collect(course, to_grade, sid_of, problems, out))
    results.sort(key=lambda r: (r.student, r.assignment or "", r.file))
    _write_outputs(results, out)
    return results


def _collect(course: Path, to_grade, sid_of, problems, out: Path) -> list[Result]:
    from nbgrader.api import Gradebook, MissingEntry

    collected = []
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "conv-course") as gb:
        for (student, chapter), sub in sorted(to_grade.items()):
            sid = sid_of[student]
            problem = problems.get((student, chapter))
            try:
                nb = gb.find_submission_notebook(chapter, chapter, sid)
            except MissingEntry:
                nb = None
            if problem or nb is None:
                collected.append(Result(student, sub.path.name, chapter, "grading-failed",
                                        problem or "nbgrader produced no grades"))
                continue
            exercises = [{"exercise": g.name, "score": float(g.score), "max_score": float(g.max_score),
                          "status": "passed" if g.score >= g.max_score else "failed"}
                         for g in sorted(nb.grades, key=lambda g: g.name) if g.cell_type == "code"]
            collected.append(Result(student, sub.path.name, chapter, "graded", "",
                                    sum(e["score"] for e in exercises), sum(e["max_score"] for e in exercises),
                                    exercises))
            html = course / "feedback" / sid / chapter / f"{chapter}.html"
            if html.exists():
                dest = out / "feedback" / student / f"{chapter}.html"
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(html, dest)
    return collected


def _write_outputs(results: list[Result], out: Path) -> None:
    with open(out / "grades.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for r in results:
            if r.status == "graded":
                for e in r.exercises:
                    writer.writerow({"student": r.student, "assignment": r.assignment, **e})
            elif r.assignment and r.status != "duplicate":
                from helpers.checks import exercises as course_exercises

                for ex in course_exercises(r.assignment):
                    writer.writerow({"student": r.student, "assignment": r.assignment, "exercise": ex.key,
                                     "score": 0.0, "max_score": float(ex.points), "status": "error"})
    report = {"submissions": [asdict(r) for r in results]}
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
