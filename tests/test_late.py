"""Due dates, extensions and late penalties as nbgrader defines them (:mod:`grader.grading.late`).

Each penalty method is checked against stock nbgrader's own number for the same late submission:
the course's grader records it, then nbgrader's ``AssignLatePenalties`` preprocessor (what stock
``nbgrader autograde`` runs after grading, with the course's ``nbgrader_config.py``) computes it again
on the same gradebook, and both must equal the number worked out by hand."""

from __future__ import annotations

import csv
import datetime
import json

import pytest

from grader.grading.gradebook import GradebookError, Recorder, course_config
from grader.grading.report import CSV_COLUMNS, write_outputs
from grader.grading.results import Result
from tests.courses import CH1, csv_scores, grade, make_course, nbgrader, submit
from tests.support import student_notebook

pytestmark = pytest.mark.slow

DUE = datetime.datetime(2026, 11, 30, 8, 0, 0)
#: chapter 1's exercises and the points of a learner who got ``convolve`` wrong: 5 of 8
SCORES = {"top_edge": 1.0, "apply_kernel": 2.0, "convolve": 0.0, "quiz_output_size": 1.0, "quiz_edge_kernel": 1.0}
#: nbgrader's documented example of a custom plugin: one point per hour late, rounded
SUBMARKS = '''from nbgrader.plugins import BasePlugin


class SubMarks(BasePlugin):
    def late_submission_penalty(self, student_id, score, total_seconds_late):
        return round(total_seconds_late / 3600)
'''


def stamp(when: datetime.datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M:%S.%f UTC")


def graded(student: str, scores: dict[str, float] = SCORES) -> Result:
    rows = [{"exercise": gid, "title": "", "score": s, "max_score": 3.0, "status": "passed" if s else "failed",
             "message": "", "hint": None} for gid, s in scores.items()]
    return Result(student, f"{CH1}.ipynb", CH1, "graded", "", sum(scores.values()), 8.0, rows)


def course_with(tmp_path, *config_lines: str):
    course = make_course(tmp_path / "course")
    with open(course / "nbgrader_config.py", "a") as handle:
        handle.write("".join(line + "\n" for line in config_lines))
    return course


def record(course, student: str, handed_in: datetime.datetime | None, scores=SCORES, extension=None) -> Result:
    """The submission recorded by the course's grader, with the due date DUE (and an extension) in the gradebook."""
    from nbgrader.api import Gradebook

    url = f"sqlite:///{course / 'gradebook.db'}"
    path = submit(course, student, student_notebook(CH1))
    if handed_in is None:
        (path.parent / "timestamp.txt").unlink()
    else:
        (path.parent / "timestamp.txt").write_text(stamp(handed_in) + "\n")
    with Recorder(course) as recorder:
        recorder.prepare([CH1])
        with Gradebook(url, "conv-course") as gb:
            gb.update_or_create_assignment(CH1, duedate=stamp(DUE))
            if extension is not None:
                gb.update_or_create_student(student)
                gb.update_or_create_submission(CH1, student)
                gb.grant_extension(CH1, student, minutes=extension)
        result = graded(student, scores)
        assert recorder.record(result, path) is None
    return result


def penalties(course, student: str) -> tuple[float | None, float | None]:
    """``(the course's penalty, stock nbgrader's)`` for the student's notebook, both from the gradebook."""
    from nbformat.v4 import new_notebook
    from nbgrader.api import Gradebook
    from nbgrader.preprocessors import AssignLatePenalties

    url = f"sqlite:///{course / 'gradebook.db'}"
    with Gradebook(url, "conv-course") as gb:
        ours = gb.find_submission_notebook(CH1, CH1, student).late_submission_penalty
    import sys

    sys.path.insert(0, str(course))  # where stock nbgrader, run in the course directory, finds the plugin
    try:
        stock = AssignLatePenalties(config=course_config(course))
        stock.preprocess(new_notebook(), {"nbgrader": {"notebook": CH1, "assignment": CH1, "student": student,
                                                        "db_url": url}})
    finally:
        sys.path.remove(str(course))
    with Gradebook(url, "conv-course") as gb:
        return ours, gb.find_submission_notebook(CH1, CH1, student).late_submission_penalty


def test_penalty_method_none_keeps_the_points_of_a_late_submission(tmp_path):
    course = course_with(tmp_path, 'c.LateSubmissionPlugin.penalty_method = "none"')
    result = record(course, "ann", DUE + datetime.timedelta(seconds=197))
    assert (result.seconds_late, result.late_penalty) == (197.0, 0.0)
    assert penalties(course, "ann") == (None, None)


def test_penalty_method_zero_takes_every_point_as_stock_nbgrader_does(tmp_path):
    course = course_with(tmp_path, 'c.LateSubmissionPlugin.penalty_method = "zero"')
    result = record(course, "ann", DUE + datetime.timedelta(seconds=197))
    assert (result.seconds_late, result.late_penalty) == (197.0, 5.0)
    assert penalties(course, "ann") == (5.0, 5.0)
    # one second early: no penalty at all (stock nbgrader leaves None)
    early = record(course, "ben", DUE - datetime.timedelta(seconds=1))
    assert (early.seconds_late, early.late_penalty) == (0.0, 0.0)
    assert penalties(course, "ben") == (None, None)
    nbgrader(course, "export", "--to", str(course / "export.csv"))
    rows = {r["student_id"]: r for r in csv.DictReader(open(course / "export.csv"))}
    assert [(rows[s]["raw_score"], rows[s]["late_submission_penalty"], rows[s]["score"]) for s in ("ann", "ben")] \
        == [("5.0", "5.0", "0.0"), ("5.0", "0.0", "5.0")]


def test_a_custom_plugin_class_from_the_course_config(tmp_path):
    course = course_with(tmp_path, 'c.AssignLatePenalties.plugin_class = "conv_course_submarks.SubMarks"')
    (course / "conv_course_submarks.py").write_text(SUBMARKS)
    result = record(course, "ann", DUE + datetime.timedelta(hours=3, minutes=10))
    assert (result.seconds_late, result.late_penalty) == (11400.0, 3.0)
    assert penalties(course, "ann") == (3.0, 3.0)
    # 3 points asked of a score of 2: nbgrader's own clamp (never more than the score), here and in stock
    poor = record(course, "bea", DUE + datetime.timedelta(hours=3, minutes=10),
                  scores={**SCORES, "apply_kernel": 0.0, "quiz_output_size": 0.0})
    assert poor.late_penalty == 2.0
    assert penalties(course, "bea") == (2.0, 2.0)


def test_a_plugin_that_cannot_be_loaded_is_one_line_before_any_grading(tmp_path):
    course = course_with(tmp_path, 'c.AssignLatePenalties.plugin_class = "no_such_module.Penalty"')
    with pytest.raises(GradebookError) as info:
        Recorder(course)
    message = str(info.value)
    assert "\n" not in message and "no_such_module.Penalty" in message and "plugin_class" in message
    assert not (course / "gradebook.db").exists()


def test_a_plugin_that_fails_costs_only_that_submission_its_record(tmp_path):
    from nbgrader.api import Gradebook

    course = course_with(tmp_path, 'c.AssignLatePenalties.plugin_class = "conv_course_broken.Broken"')
    (course / "conv_course_broken.py").write_text(SUBMARKS.replace("SubMarks", "Broken").replace(
        "return round(total_seconds_late / 3600)", "return 1 / 0"))
    on_time = record(course, "ann", DUE - datetime.timedelta(seconds=5))  # the plugin is asked only when late
    assert on_time.late_penalty == 0.0
    path = submit(course, "ben", student_notebook(CH1), timestamp=stamp(DUE + datetime.timedelta(seconds=197)))
    with Recorder(course) as recorder:
        recorder.prepare([CH1])
        reason = recorder.record(graded("ben"), path)
    assert reason and "\n" not in reason and "conv_course_broken.Broken failed" in reason and "ZeroDivision" in reason
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "conv-course") as gb:
        assert [s.id for s in gb.students] == ["ann"], "nothing of ben's half-written"


def test_within_the_extension_keeps_its_points_without_it_zero(tmp_path):
    from nbgrader.api import Gradebook

    course = course_with(tmp_path, 'c.LateSubmissionPlugin.penalty_method = "zero"')
    late = DUE + datetime.timedelta(seconds=197)
    extended = record(course, "ann", late, extension=10)
    assert (extended.seconds_late, extended.late_penalty) == (0.0, 0.0)
    assert penalties(course, "ann") == (None, None)
    short = record(course, "ben", late, extension=3)  # 180 s of extension: 17 s late
    assert (short.seconds_late, short.late_penalty) == (17.0, 5.0)
    assert penalties(course, "ben") == (5.0, 5.0)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "conv-course") as gb:
        assert gb.find_submission(CH1, "ann").extension == datetime.timedelta(minutes=10), "the extension is kept"


def test_no_timestamp_is_on_time_and_an_unreadable_one_is_named(tmp_path):
    course = course_with(tmp_path, 'c.LateSubmissionPlugin.penalty_method = "zero"')
    result = record(course, "ann", None)
    assert (result.seconds_late, result.late_penalty) == (0.0, 0.0)
    path = submit(course, "ben", student_notebook(CH1), timestamp="next tuesday")
    with Recorder(course) as recorder:
        recorder.prepare([CH1])
        reason = recorder.record(graded("ben"), path)
    assert reason and "\n" not in reason and "timestamp.txt holds 'next tuesday'" in reason


def test_grades_csv_says_the_penalty_once_per_submission(tmp_path):
    late, on_time = graded("ann"), graded("ben")
    late.seconds_late, late.late_penalty = 197.0, 5.0
    write_outputs([late, on_time], tmp_path, {})
    rows = list(csv.DictReader(open(tmp_path / "grades.csv")))
    assert tuple(rows[0]) == CSV_COLUMNS and CSV_COLUMNS[6:8] == ("seconds_late", "late_penalty")
    ann = [r for r in rows if r["student"] == "ann"]
    assert [float(r["seconds_late"]) for r in ann] == [197.0] * 5
    assert [float(r["late_penalty"]) for r in ann] == [5.0, 0.0, 0.0, 0.0, 0.0]
    assert sum(float(r["score"]) for r in ann) - sum(float(r["late_penalty"]) for r in ann) == 0.0
    assert {float(r["late_penalty"]) for r in rows if r["student"] == "ben"} == {0.0}
    page = (tmp_path / "feedback" / "ann" / f"{CH1}.html").read_text()
    assert "Handed in 3 min 17 s after the due date: late penalty <b>5 points</b>, 0 of 8 points counted." in page
    assert "due date" not in (tmp_path / "feedback" / "ben" / f"{CH1}.html").read_text()


def test_autograde_applies_the_due_date_to_grades_csv_gradebook_and_export(tmp_path):
    """The instructor's way: ``nbgrader db assignment add --duedate``, penalty method zero, the course's grader."""
    course = course_with(tmp_path, 'c.LateSubmissionPlugin.penalty_method = "zero"')
    nbgrader(course, "db", "assignment", "add", CH1, "--duedate", stamp(DUE))
    submit(course, "alice", student_notebook(CH1), timestamp=stamp(DUE + datetime.timedelta(seconds=197)))
    submit(course, "carol", student_notebook(CH1), timestamp=stamp(DUE - datetime.timedelta(hours=1)))
    result = grade(course)
    assert result.returncode == 0, result.stderr
    grades = list(csv.DictReader(open(course / "grading-out" / "grades.csv")))
    by_student = {s: [r for r in grades if r["student"] == s] for s in ("alice", "carol")}
    assert sum(csv_scores(course / "grading-out" / "grades.csv").values()) == 16.0, "both answered everything right"
    assert sum(float(r["late_penalty"]) for r in by_student["alice"]) == 8.0
    assert {float(r["seconds_late"]) for r in by_student["alice"]} == {197.0}
    assert sum(float(r["late_penalty"]) for r in by_student["carol"]) == 0.0
    report = json.loads((course / "grading-out" / "report.json").read_text())
    assert "'zero'" in report["gradebook"]["late_policy"]
    nbgrader(course, "export", "--to", str(course / "export.csv"))
    rows = {r["student_id"]: (r["duedate"], r["raw_score"], r["late_submission_penalty"], r["score"])
            for r in csv.DictReader(open(course / "export.csv"))}
    assert rows == {"alice": ("2026-11-30 08:00:00", "8.0", "8.0", "0.0"),
                    "carol": ("2026-11-30 08:00:00", "8.0", "0.0", "8.0")}
