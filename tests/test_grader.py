"""The grader end to end: ``python -m grader autograde`` in real sandboxes on correct, blank and wrong submissions."""

import csv
import hashlib
import json
from pathlib import Path

import pytest

from grader.__main__ import main
from grader.sandbox.process import available
from tests.support import hand_in, student_notebook

CH1 = "01-convolution-by-hand"


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("grading")
    subs = tmp / "submissions"
    hand_in(subs, "alice", student_notebook(CH1), f"{CH1}.ipynb")
    hand_in(subs, "bob", student_notebook(CH1, "blank"), "My homework (1).ipynb")
    wrong = {
        "convolve_answer": "def convolve(img, kernel):\n    return torch.zeros(img.shape[0] - 2, img.shape[1] - 2)",
        "quiz_edge_kernel_answer": 'quiz_edge_kernel = "right_edge"',
    }
    hand_in(subs, "carol", student_notebook(CH1, wrong), "chapter1.ipynb")
    # Right only where the grader says it is grading, as nbgrader does (NBGRADER_EXECUTION).
    hand_in(subs, "erin", student_notebook(CH1, {"quiz_output_size_answer": "import os\n"
            "quiz_output_size = (26, 26) if os.environ.get('NBGRADER_EXECUTION') else (0, 0)"}), "ch1.ipynb")
    (subs / "dave").mkdir()
    (subs / "dave" / "homework.ipynb").write_text('{"cells": [')
    before = _digest(subs)
    out = tmp / "out"
    # In the sandbox when this machine can build one (root); the grades are the same without it.
    sandbox = [] if available() is None else ["--no-sandbox"]
    code = main(["autograde", str(subs), "--out", str(out), "--workers", "2", *sandbox])
    return code, out, before, _digest(subs)


def _scores(out: Path) -> dict[str, tuple[float, float]]:
    totals: dict[str, list[float]] = {}
    with open(out / "grades.csv") as handle:
        for row in csv.DictReader(handle):
            t = totals.setdefault(row["student"], [0.0, 0.0])
            t[0] += float(row["score"])
            t[1] += float(row["max_score"])
    return {k: tuple(v) for k, v in totals.items()}


@pytest.mark.slow
def test_full_zero_and_partial_marks(graded):
    code, out, _, _ = graded
    assert code == 0
    scores = _scores(out)
    assert scores["alice"] == (8.0, 8.0)
    assert scores["bob"] == (0.0, 8.0)
    assert scores["carol"] == (4.0, 8.0)
    assert scores["erin"] == (8.0, 8.0), "grading kernels must see NBGRADER_EXECUTION (sandboxed or not)"


@pytest.mark.slow
def test_grades_csv_rows_per_exercise(graded):
    _, out, _, _ = graded
    rows = list(csv.DictReader(open(out / "grades.csv")))
    assert list(rows[0]) == ["student", "assignment", "exercise", "score", "max_score", "status",
                             "seconds_late", "late_penalty", "reason", "gradebook_score"]
    assert {(float(r["seconds_late"]), float(r["late_penalty"])) for r in rows} == {(0, 0)}  # no due date: none late
    carol = {r["exercise"]: r["status"] for r in rows if r["student"] == "carol"}
    assert carol == {"apply_kernel": "passed", "convolve": "failed", "quiz_edge_kernel": "failed",
                     "quiz_output_size": "passed", "top_edge": "passed"}


@pytest.mark.slow
def test_bad_file_is_reported_not_fatal(graded):
    _, out, _, _ = graded
    report = {(s["student"], s["file"]): s for s in json.loads((out / "report.json").read_text())["submissions"]}
    dave = report[("dave", "homework.ipynb")]
    assert dave["status"] == "unreadable" and "not valid JSON" in dave["reason"]
    assert report[("bob", "My homework (1).ipynb")]["assignment"] == CH1


@pytest.mark.slow
def test_feedback_without_hidden_tests(graded):
    _, out, _, _ = graded
    for student in ("alice", "bob", "carol"):
        html = (out / "feedback" / student / f"{CH1}.html").read_text()
        assert "hidden=True" not in html and "BEGIN HIDDEN TESTS" not in html
    assert "expected" in (out / "feedback" / "carol" / f"{CH1}.html").read_text()


@pytest.mark.slow
def test_submissions_untouched(graded):
    _, _, before, after = graded
    assert before == after


@pytest.mark.slow
def test_regrading_gives_the_same_grades_with_the_bubblewrap_sandbox(graded, tmp_path):
    if available("bwrap"):
        pytest.skip(f"no bubblewrap sandbox here: {available('bwrap')}")
    _, out, _, _ = graded
    again = tmp_path / "again"
    assert main(["autograde", str(out.parent / "submissions"), "--out", str(again), "--isolation", "bwrap"]) == 0
    assert (again / "grades.csv").read_text() == (out / "grades.csv").read_text()
    first = json.loads((out / "report.json").read_text())
    second = json.loads((again / "report.json").read_text())
    assert second["submissions"] == first["submissions"]
    assert (first["sandbox"]["isolation"], second["sandbox"]["isolation"]) == ("zygote", "bwrap")


@pytest.mark.slow
def test_learners_check_gives_the_instructors_grade_to_a_notebook_that_knows_it_is_graded(graded, tmp_path):
    """``grader check`` runs without a sandbox, but as graded: NBGRADER_EXECUTION is set there too."""
    from grader.check import check_notebooks

    _, out, _, _ = graded
    erin = out.parent / "submissions" / "erin" / "ch1.ipynb"
    (report,) = check_notebooks([erin], workers=1)
    assert (report.score, report.max_score) == _scores(out)["erin"] == (8.0, 8.0)


@pytest.mark.slow
def test_a_second_run_keeps_what_was_graded_and_regrade_grades_everything_again(graded, tmp_path):
    """The same command again keeps the graded submissions as recorded (proved by a record altered on
    purpose: it is carried over), and ``--regrade`` grades every one again (the true grade is back)."""
    import shutil

    _, out, _, _ = graded
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    report = json.loads((copy / "report.json").read_text())
    alice = next(s for s in report["submissions"] if s["student"] == "alice")
    for row in alice["exercises"]:
        row["score"] = 0.0
    alice["score"] = 0.0
    (copy / "report.json").write_text(json.dumps(report))
    sandbox = [] if available() is None else ["--no-sandbox"]
    command = ["autograde", str(out.parent / "submissions"), "--out", str(copy), "--workers", "2", *sandbox]

    assert main(command) == 0
    kept = json.loads((copy / "report.json").read_text())
    assert "4 submission(s) already graded in this folder were kept" in kept["hidden_cases"]["resume"]
    assert _scores(copy)["alice"] == (0.0, 8.0)  # the record, not a new grading

    assert main([*command, "--regrade"]) == 0
    again = json.loads((copy / "report.json").read_text())
    assert again["hidden_cases"]["resume"] == "--regrade: every submission graded again"
    assert _scores(copy)["alice"] == (8.0, 8.0)
    assert (copy / "grades.csv").read_text() == (out / "grades.csv").read_text()
    assert again["submissions"] == json.loads((out / "report.json").read_text())["submissions"]


@pytest.mark.slow
def test_student_and_assignment_grade_one_submission_and_keep_the_rest_of_out(graded, tmp_path, capsys):
    """``--student carol --assignment CH1`` (the formgrader's Autograde on carol's row) grades carol's
    submission only, even with ``--regrade``; every other result in OUT is kept as recorded (an altered
    record of alice's proves it is not graded again) and none is dropped."""
    import shutil

    _, out, _, _ = graded
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    report = json.loads((copy / "report.json").read_text())
    for entry in report["submissions"]:
        if entry["student"] in ("alice", "carol"):
            for row in entry["exercises"]:
                row["score"] = 0.0
            entry["score"] = 0.0
    (copy / "report.json").write_text(json.dumps(report))
    sandbox = [] if available() is None else ["--no-sandbox"]
    command = ["autograde", str(out.parent / "submissions"), "--out", str(copy), "--workers", "1", *sandbox]

    assert main([*command, "--student", "carol", "--assignment", CH1, "--regrade"]) == 0
    after = json.loads((copy / "report.json").read_text())
    assert _scores(copy)["carol"] == _scores(out)["carol"]  # graded again: the true score is back
    assert _scores(copy)["alice"] == (0.0, 8.0)  # not asked for: the record stands
    before = {(s["student"], s["file"], s["status"]) for s in json.loads((out / "report.json").read_text())["submissions"]
              if s["status"] == "graded"}
    assert {(s["student"], s["file"], s["status"]) for s in after["submissions"]} == before

    assert main([*command, "--assignment", "02-feature-maps-and-channels"]) == 0  # nobody handed it in
    assert _scores(copy)["alice"] == (0.0, 8.0)
    capsys.readouterr()
    assert main([*command, "--student", "../alice"]) != 0
    assert "student is one folder name of the submissions, not '../alice'" in capsys.readouterr().err
