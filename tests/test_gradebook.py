"""Grading into nbgrader's gradebook (SQLite, nbgrader's default): the grader's scores become
nbgrader's auto scores, stock ``nbgrader export`` and ``generate_feedback`` work on the result,
manual grades survive a re-run, and bad gradebooks or student ids give one clear line."""

from __future__ import annotations

import re
import sqlite3
import subprocess

import pytest

from grader.grading.gradebook import GradebookError, Recorder, student_id_problem
from tests.courses import (CH1, TIMESTAMP, WRONG_CONVOLVE, csv_scores, digest, grade, gradebook_scores, make_course,
                           nbgrader, submit)
from tests.support import student_notebook

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """alice (all right), bob (blank), carol (convolve wrong), graded once into <course>/gradebook.db."""
    course = make_course(tmp_path_factory.mktemp("gradebook") / "course")
    submit(course, "alice", student_notebook(CH1))
    submit(course, "bob", student_notebook(CH1, "blank"))
    submit(course, "carol", student_notebook(CH1, WRONG_CONVOLVE))
    before = digest(course / "submitted")
    result = grade(course)
    assert result.returncode == 0, result.stderr
    assert digest(course / "submitted") == before, "the grader changed a submission"
    return course, result


def test_every_grade_cell_gets_the_graders_points_as_auto_score(course):
    course, result = course
    url = f"sqlite:///{course / 'gradebook.db'}"
    expected = csv_scores(course / "grading-out" / "grades.csv")
    assert gradebook_scores(url) == expected
    totals = {}
    for (student, _, _), score in expected.items():
        totals[student] = totals.get(student, 0) + score
    assert totals == {"alice": 8.0, "bob": 0.0, "carol": 5.0}
    assert f"3 recorded in the gradebook sqlite:///{course / 'gradebook.db'}" in result.stdout


def test_nbgrader_sees_students_submission_time_and_flags(course):
    from nbgrader.api import Gradebook
    from nbgrader.utils import parse_utc

    course, _ = course
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "conv-course") as gb:
        assert sorted(s.id for s in gb.students) == ["alice", "bob", "carol"]
        carol = gb.find_submission(CH1, "carol")
        assert carol.timestamp == parse_utc(TIMESTAMP)
        assert carol.score == 5.0 and carol.max_score == 8.0
        assert not carol.needs_manual_grade, "every test cell has an auto score: nothing to review"
        bob = gb.find_submission_notebook(CH1, CH1, "bob")
        assert {c.auto_comment for c in bob.comments} == {"No response."}, "blank answers are flagged as nbgrader does"


def test_graded_notebook_where_nbgrader_expects_it(course):
    import nbformat

    course, _ = course
    folder = course / "autograded" / "carol" / CH1
    assert sorted(p.name for p in folder.iterdir()) == [f"{CH1}.ipynb", "timestamp.txt"]
    nb = nbformat.read(str(folder / f"{CH1}.ipynb"), as_version=4)
    outputs = {c.metadata["nbgrader"]["grade_id"]: "".join(o["text"] for o in c.outputs)
               for c in nb.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")}
    assert outputs["convolve"].startswith("failed: 0 of 3 points")
    assert outputs["top_edge"].startswith("passed: 1 of 1 points")
    text = nbformat.writes(nb)
    assert "BEGIN HIDDEN TESTS" not in text and "hidden=True" not in text
    # no output of the student's survives: only the grader's verdicts, as plain text
    assert all(o["output_type"] == "stream" for c in nb.cells if c.cell_type == "code" for o in c.outputs)


def test_stock_nbgrader_export_gives_the_same_totals(course):
    course, _ = course
    nbgrader(course, "export", "--to", str(course / "export.csv"))
    import csv

    rows = {r["student_id"]: float(r["score"]) for r in csv.DictReader(open(course / "export.csv"))}
    assert rows == {"alice": 8.0, "bob": 0.0, "carol": 5.0}


def test_stock_generate_feedback_is_offline_and_secret(course):
    course, _ = course
    nbgrader(course, "generate_feedback", CH1, "--force")
    pages = sorted((course / "feedback").glob(f"*/{CH1}/{CH1}.html"))
    assert [p.parent.parent.name for p in pages] == ["alice", "bob", "carol"]
    for page in pages:
        html = page.read_text()
        assert "<script" not in html.lower(), f"{page}: a script in a feedback page"
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), f"{page}: loads something from the web"
        assert "hidden=True" not in html and "BEGIN HIDDEN TESTS" not in html
    assert "(Score: 5.0 / 8.0)" in pages[2].read_text()


def test_manual_grades_survive_a_rerun_that_changes_auto_scores(tmp_path):
    """The formgrader's three kinds of manual grade (score, comment, extra credit) through nbgrader's API,
    then the instructor fixes carol's notebook problem and grades again: only auto scores change."""
    from nbgrader.api import Gradebook

    course = make_course(tmp_path / "course")
    submit(course, "carol", student_notebook(CH1, WRONG_CONVOLVE))
    assert grade(course).returncode == 0
    url = f"sqlite:///{course / 'gradebook.db'}"
    with Gradebook(url, "conv-course") as gb:
        convolve = gb.find_grade("convolve", CH1, CH1, "carol")
        convolve.manual_score = 2.0  # partial credit by hand
        convolve.needs_manual_grade = False
        gb.find_grade("top_edge", CH1, CH1, "carol").extra_credit = 0.5
        gb.find_comment("convolve_answer", CH1, CH1, "carol").manual_comment = "Close: check the output size."
        gb.db.commit()
    submit(course, "carol", student_notebook(CH1))  # the fix: every answer right now
    result = grade(course)
    assert result.returncode == 0, result.stderr
    with Gradebook(url, "conv-course") as gb:
        convolve = gb.find_grade("convolve", CH1, CH1, "carol")
        assert (convolve.auto_score, convolve.manual_score, convolve.needs_manual_grade) == (3.0, 2.0, False)
        assert gb.find_grade("top_edge", CH1, CH1, "carol").extra_credit == 0.5
        assert gb.find_comment("convolve_answer", CH1, CH1, "carol").manual_comment == "Close: check the output size."
        assert gb.find_submission(CH1, "carol").score == 7.5  # 8 - 3 + 2 (manual) + 0.5 (extra credit)


# ---------------------------------------------------------------------------
# bad input: one line each, nothing half-written


def test_older_gradebook_schema_is_named_with_the_upgrade_command(tmp_path):
    from nbgrader.api import Gradebook

    from grader.authoring.release import ensure_tools_on_path

    ensure_tools_on_path()  # nbgrader stamps a new gradebook by running `alembic`
    db = tmp_path / "gradebook.db"
    Gradebook(f"sqlite:///{db}", "conv-course").close()
    with sqlite3.connect(db) as con:  # what nbgrader 0.6 left: no lms_user_id column, an older revision
        con.execute("ALTER TABLE student DROP COLUMN lms_user_id")
        con.execute("UPDATE alembic_version SET version_num = '167914646830'")
    with pytest.raises(GradebookError) as info:
        Recorder(tmp_path, f"sqlite:///{db}")
    message = str(info.value)
    assert "\n" not in message and "167914646830" in message and "nbgrader db upgrade" in message


def test_locked_sqlite_gradebook(tmp_path):
    db = tmp_path / "gradebook.db"
    Recorder(tmp_path, f"sqlite:///{db}").close()
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(GradebookError) as info:
            Recorder(tmp_path, f"sqlite:///{db}", busy_timeout=0.5)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert "locked by another program" in str(info.value) and "\n" not in str(info.value)


def test_missing_folder_and_unreachable_server_before_any_grading(tmp_path):
    import socket

    course = make_course(tmp_path / "course")
    submit(course, "alice", student_notebook(CH1))
    before = digest(course / "submitted")
    result = grade(course, "--db", f"sqlite:///{tmp_path / 'no such folder' / 'gradebook.db'}")
    assert result.returncode == 3 and result.stderr.strip().count("\n") == 0
    assert "its folder does not exist" in result.stderr
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = grade(course, "--db", f"postgresql://teacher:secret@127.0.0.1:{port}/grades")
    assert result.returncode == 3, result.stdout
    line = result.stderr.strip()
    assert "\n" not in line and f"no PostgreSQL server answers at 127.0.0.1:{port}" in line
    assert "secret" not in line, "the password is never printed"
    assert digest(course / "submitted") == before
    assert not (course / "autograded").exists() and not (course / "grading-out").exists()


def _result(student: str, exercises=None):
    from grader.grading.autograde import Result

    rows = exercises or [{"exercise": "top_edge", "title": "", "score": 1.0, "max_score": 1.0, "status": "passed",
                          "message": "", "hint": None}]
    return Result(student, f"{CH1}.ipynb", CH1, "graded", "", 1.0, 8.0, rows)


BAD_IDS = [("ann+1", "contains '+'"), (" ann", "white space"), ("ann\t", "white space"),
           ("a" * 129, "longer than the 128"), ("", "empty"), (".ann", "hidden folder")]


def test_student_ids_nbgrader_would_reject(tmp_path):
    with Recorder(tmp_path, f"sqlite:///{tmp_path / 'gradebook.db'}") as recorder:
        recorder.prepare([CH1])
        for student, why in BAD_IDS:
            assert why in student_id_problem(student)
            reason = recorder.record(_result(student), None)
            assert reason and "\n" not in reason and why in reason and "rename the student's folder" in reason
        assert recorder.record(_result("ann"), None) is None
    assert set(gradebook_scores(f"sqlite:///{tmp_path / 'gradebook.db'}")) == {
        ("ann", CH1, gid) for gid in ("top_edge", "apply_kernel", "convolve", "quiz_output_size", "quiz_edge_kernel")}
    assert sorted(p.name for p in (tmp_path / "autograded").iterdir()) == ["ann"]


def test_assignment_removed_from_the_gradebook_while_grading(tmp_path):
    from nbgrader.api import Gradebook

    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with Recorder(tmp_path, url) as recorder:
        recorder.prepare([CH1])
        with Gradebook(url, "conv-course") as gb:
            gb.remove_assignment(CH1)
        reason = recorder.record(_result("ann"), None)
        assert reason and "\n" not in reason and f"assignment {CH1} is missing from the gradebook" in reason
        assert recorder.summary.problems == [{"student": "ann", "assignment": CH1, "reason": reason}]
    with Gradebook(url, "conv-course") as gb:
        assert [s.id for s in gb.students] == [], "nothing half-written: not even the student"


def test_a_good_student_id_is_accepted():
    assert student_id_problem("Ada Lovelace_1021_assignsubmission_file_") is None
    assert student_id_problem("s1234567") is None


def test_lms_export_is_recorded_only_when_asked(tmp_path):
    from grader.grading.gradebook import recorder_for

    export = tmp_path / "export"
    (export / "ann").mkdir(parents=True)
    assert recorder_for(export) is None
    with recorder_for(export, course=tmp_path) as recorder:
        assert recorder.url == f"sqlite:///{tmp_path.resolve() / 'gradebook.db'}"


def test_cli_help_names_the_gradebook_options():
    import sys

    text = subprocess.run([sys.executable, "-m", "grader", "autograde", "--help"], capture_output=True,
                          text=True).stdout
    assert "--db URL" in text and "--course DIR" in text and "--no-gradebook" in text


def test_feedback_carries_no_student_html_or_script(tmp_path):
    """A learner's markdown and outputs with live HTML: the graded notebook drops the outputs and
    generate_feedback (the course's sanitize_html) neutralises the markdown."""
    import nbformat

    course = make_course(tmp_path / "course")
    nb = student_notebook(CH1)
    nb.cells.insert(1, nbformat.v4.new_markdown_cell(
        'Mine <script>alert("md")</script><img src="x" onerror="alert(1)"><iframe src="https://example.org"></iframe>'))
    nb.cells.insert(2, nbformat.v4.new_raw_cell('<script>alert("raw")</script>'))
    answer = next(c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "top_edge_answer")
    answer.outputs = [nbformat.v4.new_output("display_data", data={"text/html": '<script>alert("out")</script>'})]
    path = submit(course, "mallory", nb)
    rows = [{"exercise": gid, "title": "", "score": 0.0, "max_score": 1.0, "status": "failed", "message": "<b>x</b>",
             "hint": None} for gid in ("top_edge", "apply_kernel", "convolve", "quiz_output_size", "quiz_edge_kernel")]
    with Recorder(course) as recorder:
        recorder.prepare([CH1])
        assert recorder.record(_result("mallory", rows), path) is None
    nbgrader(course, "generate_feedback", CH1)
    html = (course / "feedback" / "mallory" / CH1 / f"{CH1}.html").read_text().lower()
    assert "mine" in html, "the learner's markdown is shown"
    graded = (course / "autograded" / "mallory" / CH1 / f"{CH1}.ipynb").read_text().lower()
    live = re.compile(r"<(script|iframe|img)\b|<[^>]*\bonerror\s*=|alert\(&quot;out|alert\(\\?\"out")
    assert not live.search(graded), f"{live.search(graded)} reached the graded notebook the formgrader shows"
    assert not live.search(html), f"{live.search(html)} reached the feedback page"
    assert "&lt;b&gt;x&lt;/b&gt;" in html, "the grader's messages are text, not markup"


# ---------------------------------------------------------------------------
# a manual score that hides a changed auto score


def _convolve_result(student: str, score: float):
    rows = [{"exercise": gid, "title": "", "score": pts if gid != "convolve" else score, "max_score": pts,
             "status": "passed" if gid != "convolve" or score else "failed", "message": "", "hint": None}
            for gid, pts in (("top_edge", 1.0), ("apply_kernel", 2.0), ("convolve", 3.0), ("quiz_output_size", 1.0),
                             ("quiz_edge_kernel", 1.0))]
    result = _result(student, rows)
    result.score = sum(r["score"] for r in rows)
    return result


@pytest.mark.parametrize("clear", [False, True])
def test_a_manual_score_hiding_a_changed_auto_score_is_listed_and_can_be_cleared(tmp_path, clear):
    """carol's convolve got 0 auto and 2 by hand; her fixed answer gets 3 auto. Every run lists the cell, grades.csv
    says which score the gradebook counts, and clear_stale_manual (the option) lets the new auto score count."""
    from nbgrader.api import Gradebook

    from grader.__main__ import stale_manual_text
    from grader.grading.config import GradingConfig, SettingError
    from grader.grading.report import write_outputs

    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with Recorder(tmp_path, url) as recorder:
        recorder.prepare([CH1])
        assert recorder.record(_convolve_result("carol", 0.0), None) is None
        assert recorder.record(_convolve_result("dan", 0.0), None) is None
        assert recorder.summary.stale_manual == []
    with Gradebook(url, "conv-course") as gb:
        for student in ("carol", "dan"):
            grade_ = gb.find_grade("convolve", CH1, CH1, student)
            grade_.manual_score, grade_.needs_manual_grade = 2.0, False
        gb.db.commit()
    with Recorder(tmp_path, url) as recorder:
        recorder.prepare([CH1], clear_stale_manual=clear)
        fixed, same = _convolve_result("carol", 3.0), _convolve_result("dan", 0.0)  # dan's auto score unchanged
        assert recorder.record(fixed, None) is None and recorder.record(same, None) is None
        stale = recorder.summary.stale_manual
        assert recorder.summary.as_dict()["stale_manual"] == stale
    assert stale == [{"student": "carol", "assignment": CH1, "cell": "convolve", "manual_score": 2.0,
                      "auto_before": 0.0, "auto_now": 3.0, "cleared": clear}]
    text = stale_manual_text(stale)
    assert "1 cell(s)" in text and f"carol/{CH1} convolve: manual 2, auto 0 -> 3" in text
    assert ("--clear-stale-manual" in text) and (("removed" in text) == clear)
    assert same.manual_scores == {"convolve": 2.0}, "dan's manual score stays and is counted"
    assert fixed.manual_scores == ({} if clear else {"convolve": 2.0})
    with Gradebook(url, "conv-course") as gb:
        assert gb.find_grade("convolve", CH1, CH1, "carol").manual_score == (None if clear else 2.0)
        assert gb.find_submission(CH1, "carol").score == (8.0 if clear else 7.0)
        assert gb.find_grade("convolve", CH1, CH1, "dan").manual_score == 2.0
    (tmp_path / "out").mkdir()
    write_outputs([fixed, same], tmp_path / "out", {}, feedback=False)
    import csv
    rows = list(csv.DictReader((tmp_path / "out" / "grades.csv").open()))
    carol = {r["exercise"]: r for r in rows if r["student"] == "carol"}
    assert carol["convolve"]["score"] == "3.0"
    assert carol["convolve"]["gradebook_score"] == ("3.0" if clear else "2.0")
    assert sum(float(r["gradebook_score"]) for r in carol.values()) == (8.0 if clear else 7.0)
    assert stale_manual_text([]) == "no manual score hides an auto score this run changed"
    assert GradingConfig(clear_stale_manual=True).clear_stale_manual
    with pytest.raises(SettingError, match="clear_stale_manual"):
        GradingConfig(clear_stale_manual="yes")


def test_grades_csv_leaves_gradebook_score_blank_without_a_gradebook(tmp_path):
    import csv

    from grader.grading.report import write_outputs

    write_outputs([_result("ann")], tmp_path, {}, feedback=False)
    rows = list(csv.DictReader((tmp_path / "grades.csv").open()))
    assert rows[0]["gradebook_score"] == "" and rows[0]["score"] == "1.0"
