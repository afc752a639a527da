"""Test support for nbgrader's own workflow: a temporary course directory, submissions in
nbgrader's layout, the grader and nbgrader run as an instructor runs them, and the gradebook
read back through nbgrader's API."""

from __future__ import annotations

import csv
import hashlib
import os
import subprocess
import sys
from pathlib import Path

from grader.authoring import notebooks
from grader.authoring.config import ROOT

CH1 = "01-convolution-by-hand"
BIN = str(Path(sys.executable).parent)
#: One submission time for every test submission (nbgrader's timestamp.txt format).
TIMESTAMP = "2026-11-30 08:00:00.000000 UTC"
#: carol's wrong answer: a convolution of zeros (3 of chapter 1's 8 points lost).
WRONG_CONVOLVE = {"convolve_answer": "def convolve(img, kernel):\n    return torch.zeros(img.shape[0] - 2, img.shape[1] - 2)"}


def env(**extra: str) -> dict[str, str]:
    """The environment an instructor's shell has: the venv's bin first (nbgrader runs ``alembic``)."""
    return {**os.environ, "PATH": BIN + os.pathsep + os.environ.get("PATH", ""), "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1", **extra}


def make_course(folder: Path, exchange: Path | None = None, db_url: str | None = None) -> Path:
    """An nbgrader course directory using the repository's chapters (source and release read from it)."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["from grader.authoring.config import configure", "c = get_config()", f"configure(c, {str(folder)!r})",
             f"c.CourseDirectory.source_directory = {str(ROOT / 'solutions')!r}",
             f"c.CourseDirectory.release_directory = {str(ROOT / 'notebooks')!r}"]
    if exchange is not None:
        lines.append(f"c.Exchange.root = {str(exchange)!r}")
    if db_url is not None:
        lines.append(f"c.CourseDirectory.db_url = {db_url!r}")
    (folder / "nbgrader_config.py").write_text("\n".join(lines) + "\n")
    return folder


def submit(course: Path, student: str, nb, chapter: str = CH1, timestamp: str = TIMESTAMP) -> Path:
    """``submitted/<student>/<chapter>/<chapter>.ipynb`` and its ``timestamp.txt``, as ``nbgrader collect`` leaves them."""
    path = course / "submitted" / student / chapter / f"{chapter}.ipynb"
    notebooks.write(nb, path)
    (path.parent / "timestamp.txt").write_text(timestamp + "\n")
    return path


def grade(course: Path, *args: str, out: str = "grading-out", timeout: float = 900) -> subprocess.CompletedProcess:
    """``python -m grader autograde <course>/submitted --out <course>/<out> ARGS`` in a process of its own."""
    return subprocess.run([sys.executable, "-m", "grader", "autograde", str(course / "submitted"),
                           "--out", str(course / out), "--workers", "2", *args],
                          cwd=course, env=env(), capture_output=True, text=True, timeout=timeout)


def nbgrader(course: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """A stock ``nbgrader`` command run from the course directory."""
    result = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env(),
                            capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


def csv_scores(path: Path) -> dict[tuple[str, str, str], float]:
    """``{(student, assignment, exercise): score}`` from a grades.csv."""
    with open(path) as handle:
        return {(r["student"], r["assignment"], r["exercise"]): float(r["score"]) for r in csv.DictReader(handle)}


def gradebook_scores(url: str) -> dict[tuple[str, str, str], float | None]:
    """``{(student, assignment, grade cell): auto score}`` of every submission, read through nbgrader's API."""
    from nbgrader.api import Gradebook

    found = {}
    with Gradebook(url, "conv-course") as gb:
        for assignment in gb.assignments:
            for submission in assignment.submissions:
                for nb in submission.notebooks:
                    for grade in nb.grades:
                        found[(submission.student.id, assignment.name, grade.name)] = grade.auto_score
    return found


def digest(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` with its SHA-256 (to show submissions were not touched)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}
