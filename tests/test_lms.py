"""LMS downloads and uploads (:mod:`grader.grading.lms`): Canvas's and Moodle's download names, a roster,
the grade files their imports take; unreadable files keep their learner's row; a folder of no notebook is
one line; a finished run recorded in a gradebook given later without running any notebook.

The tests that start no kernel come first; the two that grade (one of them only records) are ``slow``."""

from __future__ import annotations

import csv
import datetime
import io
import json

import pytest

from grader.__main__ import main
from grader.authoring import notebooks
from grader.errors import UsageError
from grader.grading.config import GradingConfig, SettingError, describe
from grader.grading.lms import (CANVAS_COLUMNS, MOODLE_COLUMNS, Names, read_roster, write_grade_files)
from grader.grading.report import write_outputs
from grader.grading.results import Result, SubmissionStatus
from grader.grading.sanitize import load_assignment
from grader.grading.submissions import discover
from tests.courses import CH1, WRONG_CONVOLVE, gradebook_scores, make_course, nbgrader
from tests.support import student_notebook

#: A Canvas gradebook export used as a roster as it is: its "Points Possible" line, a comma in a name and a
#: section, an accent, a name a spreadsheet would run as a formula, and a learner who handed in nothing.
CANVAS_EXPORT = ('Student,ID,SIS User ID,SIS Login ID,Section\n'
                 '    Points Possible,,,,\n'
                 '"Smith, John",12345,S1,jsmith,"Sec A, Mon"\n'
                 '"Dupont, Zoë",23456,S2,zdupont,Sec A\n'
                 '"=HYPERLINK(""http://x""), Ann",34567,S3,alee,Sec B\n'
                 '"Absent, Al",45678,S4,aabsent,Sec B\n')


def _secret(tmp_path):
    from grader.grading.secret import create, fingerprint

    path, key = create(tmp_path / "secret")
    return path, fingerprint(key)


def _rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


# -- download names --------------------------------------------------------------------------------

@pytest.mark.parametrize("filename, expected", [
    (f"smithjohn_12345_6789012_{CH1}.ipynb", ("canvas", "12345", "smithjohn", False)),
    (f"smithjohn_late_12345_6789012_{CH1}-1.ipynb", ("canvas", "12345", "smithjohn", True)),  # Canvas lower-cases it
    (f"smithjohn_LATE_12345_6789012_{CH1}.ipynb", ("canvas", "12345", "smithjohn", True)),  # older Canvas
    (f"12345_6789012_{CH1}.ipynb", ("canvas", "12345", "", False)),  # anonymous grading: no name
    (f"Zoë Müller_4242_assignsubmission_file_{CH1}.ipynb", ("moodle", "4242", "Zoë Müller", False)),
    (f"Madonna_77_assignsubmission_file_{CH1}.ipynb", ("moodle", "77", "Madonna", False)),  # not Canvas's 77_<digits>
])
def test_canvas_and_moodle_download_names(filename, expected):
    who = Names().identify(filename)
    assert (who.lms, who.lms_id, who.name, who.late) == expected
    assert who.student == who.lms_id  # no roster: the LMS id is the nbgrader id


@pytest.mark.parametrize("filename", [f"{CH1}.ipynb", "My homework (1).ipynb", "smithjohn_12345_678_notes.txt",
                                      "smithjohn_x_678_a.ipynb"])
def test_names_no_pattern_reads_are_none(filename):
    assert Names().identify(filename) is None


def test_the_instructors_pattern_is_nbgraders_named_groups_timestamp_included():
    pattern = r"(?P<student_id>[a-z]+)_attempt_(?P<timestamp>[0-9 :-]+ UTC)_(?P<file_id>\w+)"
    who = Names(pattern).identify("bitdiddle_attempt_2026-11-30 08:03:17 UTC_problem1.ipynb")
    assert (who.student, who.timestamp, who.lms) == ("bitdiddle", "2026-11-30 08:03:17 UTC", "custom")
    assert Names("canvas").identify(f"Zoë Müller_4242_assignsubmission_file_{CH1}.ipynb") is None


@pytest.mark.parametrize("value, words", [("(?P<student_id>", "not a regular expression"),
                                          (r"(?P<student_id>\d+)_(?P<file>.+)", "file_id"),
                                          (r"(?P<file_id>.+)", "student_id")])
def test_a_pattern_nbgrader_could_not_use_is_one_line(value, words):
    with pytest.raises(SettingError) as info:
        GradingConfig(lms_pattern=value)
    assert words in str(info.value) and "\n" not in str(info.value)
    for good in ("auto", "canvas", "moodle", r"(?P<student_id>\d+)-(?P<file_id>.+)"):
        assert GradingConfig(lms_pattern=good).lms_pattern == good
    assert "(default: auto)" in describe("lms_pattern")


def test_the_command_line_refuses_a_bad_pattern_and_canvas_column_in_one_line(tmp_path, capsys):
    (tmp_path / "download").mkdir()
    secret, _ = _secret(tmp_path)
    for option in (["--lms-pattern", "(?P<x>.)"], ["--canvas-assignment", "Convolution by hand"],
                   ["--roster", str(tmp_path / "missing.csv")]):
        code = main(["autograde", str(tmp_path / "download"), "--out", str(tmp_path / "out"), "--secret", str(secret),
                     *option])
        err = capsys.readouterr().err
        assert code == 2 and err.startswith("error: ") and err.count("\n") == 1, (option, err)
    assert not (tmp_path / "out").exists()


# -- the roster ------------------------------------------------------------------------------------

def test_a_canvas_gradebook_export_and_a_moodle_worksheet_are_rosters(tmp_path):
    (tmp_path / "canvas.csv").write_text("\ufeff" + CANVAS_EXPORT, encoding="utf-8")  # Excel's byte order mark
    canvas = read_roster(tmp_path / "canvas.csv")
    assert sorted(canvas.learners) == ["12345", "23456", "34567", "45678"]  # "Points Possible" is no learner
    john = canvas.learners["12345"]
    assert (john.name, john.student, john.sis_user_id, john.section) == ("Smith, John", "jsmith", "S1", "Sec A, Mon")
    (tmp_path / "moodle.csv").write_text(
        "Identifier,Full name,Email address,Status,Grade\n"
        "Participant 4242,Zoë Müller,zoe@example.org,Submitted,\n", encoding="utf-8")
    zoe = read_roster(tmp_path / "moodle.csv").learners["4242"]
    assert (zoe.name, zoe.email, zoe.student) == ("Zoë Müller", "zoe@example.org", "4242")
    (tmp_path / "plain.csv").write_text("lms_id,name,student\n12345,John Smith,js01\n")
    assert read_roster(tmp_path / "plain.csv").learners["12345"].student == "js01"


@pytest.mark.parametrize("text, words", [
    ("name,student\nJohn,js\n", "no column of LMS ids"),
    ("lms_id,name\n1,A\n1,B\n", "lists LMS id 1 twice (line 3)"),
    ("lms_id,name,student\n1,A,a+b\n", "nbgrader id 'a+b' cannot be used"),
    ("lms_id,name,student\n1,A,same\n2,B,same\n", "gives nbgrader id 'same' to LMS ids 1 and 2"),
])
def test_a_roster_that_cannot_be_used_is_one_line(tmp_path, text, words):
    (tmp_path / "roster.csv").write_text(text)
    with pytest.raises(UsageError) as info:
        read_roster(tmp_path / "roster.csv")
    assert words in str(info.value) and "\n" not in str(info.value)


# -- finding the submissions -----------------------------------------------------------------------

def test_a_flat_download_is_found_with_its_learners_and_a_broken_file_keeps_its_chapter(tmp_path):
    download = tmp_path / "download"
    notebooks.write(student_notebook(CH1, "blank"), download / f"smithjohn_12345_6789012_{CH1}.ipynb")
    notebooks.write(student_notebook(CH1, "blank"), download / "homework.ipynb")  # a name no pattern reads
    (download / f"leeann_34567_6789014_{CH1}.ipynb").write_text('{"cells": [')
    (download / "notes.txt").write_text("not a notebook")
    (tmp_path / "roster.csv").write_text(CANVAS_EXPORT)
    found = {s.path.name: s for s in discover(download, names=Names(roster=read_roster(tmp_path / "roster.csv")))}
    assert set(found) == {f"smithjohn_12345_6789012_{CH1}.ipynb", "homework.ipynb", f"leeann_34567_6789014_{CH1}.ipynb"}
    john = found[f"smithjohn_12345_6789012_{CH1}.ipynb"]
    assert (john.student, john.chapter, john.problem, john.lms.name) == ("jsmith", CH1, None, "Smith, John")
    broken = found[f"leeann_34567_6789014_{CH1}.ipynb"]
    assert (broken.student, broken.chapter, broken.problem.kind) == ("alee", CH1, SubmissionStatus.UNREADABLE)
    assert (found["homework.ipynb"].student, found["homework.ipynb"].chapter) == ("homework", CH1)


def test_a_folder_of_no_notebook_is_one_line_saying_what_was_looked_for(tmp_path, capsys):
    (tmp_path / "download").mkdir()
    (tmp_path / "download" / "readme.txt").write_text("the LMS's zip, not unpacked")
    secret, _ = _secret(tmp_path)
    code = main(["autograde", str(tmp_path / "download"), "--out", str(tmp_path / "out"), "--no-gradebook",
                 "--secret", str(secret), "--no-sandbox"])  # nothing runs; a machine that cannot sandbox says so first
    out, err = capsys.readouterr()
    assert code == 2 and "submissions graded" not in out
    assert err.count("\n") == 1 and err.startswith(f"error: no notebook found in {tmp_path / 'download'}")
    assert "submitted/<student>/<assignment>/*.ipynb" in err and "Canvas's or Moodle's download names" in err
    assert not (tmp_path / "out").exists()


# -- the grade files -------------------------------------------------------------------------------

def _graded(student: str, scores: dict[str, float], penalty: float = 0.0, seconds: float = 0.0) -> Result:
    assignment = load_assignment(CH1)
    rows = [{"exercise": gid, "title": "", "score": scores.get(gid, t.points), "max_score": t.points,
             "status": "passed", "message": "", "hint": None} for gid, t in assignment.tests.items()]
    return Result(student, f"{student}.ipynb", CH1, SubmissionStatus.GRADED, "", sum(r["score"] for r in rows),
                  assignment.max_score, rows, seconds_late=seconds, late_penalty=penalty)


def test_grade_files_have_the_documented_columns_escape_every_name_and_total_as_grades_csv(tmp_path):
    (tmp_path / "roster.csv").write_text(CANVAS_EXPORT)
    roster = read_roster(tmp_path / "roster.csv")
    results = [_graded("jsmith", {}),
               _graded("zdupont", {"convolve": 0.0}, penalty=2.0, seconds=197.0),
               Result("alee", f"leeann_34567_6789014_{CH1}.ipynb", CH1, SubmissionStatus.UNREADABLE,
                      'the file is not a notebook: "x" <is> broken, line 1')]
    assignments = {CH1: load_assignment(CH1)}
    write_outputs(results, tmp_path, assignments)
    written = write_grade_files(results, tmp_path, assignments, {}, roster, "Convolution by hand, part 1 (98765)",
                                now=datetime.datetime(2026, 12, 7, 9, 0, tzinfo=datetime.timezone.utc))
    assert [p.name for p in written] == ["canvas-grades.csv", f"moodle-{CH1}.csv"]

    canvas_text = (tmp_path / "canvas-grades.csv").read_text(encoding="utf-8")
    canvas = _rows(canvas_text)
    assert canvas_text.splitlines()[0] == ",".join(CANVAS_COLUMNS) + ',"Convolution by hand, part 1 (98765)"'
    by_id = {r["ID"]: r for r in canvas}
    assert by_id["12345"]["Section"] == "Sec A, Mon" and '"Sec A, Mon"' in canvas_text  # the comma quoted
    assert by_id["23456"]["Student"] == "Dupont, Zoë"  # accents kept, UTF-8
    # a formula is text: a quote before it, and its own quotes doubled by the csv module
    assert by_id["34567"]["Student"] == "'=HYPERLINK(\"http://x\"), Ann"
    assert '"\'=HYPERLINK(""http://x""), Ann"' in canvas_text
    assert not any(cell.startswith(("=", "+", "-", "@")) for r in canvas for cell in r.values())

    moodle_text = (tmp_path / f"moodle-{CH1}.csv").read_text(encoding="utf-8")
    assert moodle_text.splitlines()[0] == ",".join(MOODLE_COLUMNS)
    moodle = {r["Identifier"]: r for r in _rows(moodle_text)}
    assert set(moodle) == {"Participant 12345", "Participant 23456", "Participant 34567", "Participant 45678"}
    assert moodle["Participant 23456"]["Feedback comments"] == "5 of 8 points; late penalty 2, 3 counted"
    assert moodle["Participant 34567"]["Feedback comments"] == \
        '0 points: unreadable: the file is not a notebook: "x" &lt;is&gt; broken, line 1'  # Moodle shows HTML
    assert moodle["Participant 12345"]["Last modified (grade)"] == "2026-12-07 09:00:00 UTC"
    assert {r["Maximum Grade"] for r in moodle.values()} == {"8"}

    # the totals are grades.csv's: points minus nbgrader's late penalty, per learner; 0 for the unreadable file;
    # no grade at all (left unchanged by both imports) for the learner who handed in nothing
    totals: dict[str, float] = {}
    for row in _rows((tmp_path / "grades.csv").read_text()):
        totals[row["student"]] = totals.get(row["student"], 0.0) + float(row["score"]) - float(row["late_penalty"])
    assert totals == {"jsmith": 8.0, "zdupont": 3.0, "alee": 0.0}
    ids = {learner.student: learner.lms_id for learner in roster.learners.values()}
    column = "Convolution by hand, part 1 (98765)"
    assert {s: float(by_id[ids[s]][column]) for s in totals} == totals
    assert {s: float(moodle[f"Participant {ids[s]}"]["Grade"]) for s in totals} == totals
    assert by_id["45678"][column] == moodle["Participant 45678"]["Grade"] == ""


# -- with a gradebook: a finished run recorded later, and a class's flat Canvas download -------------------

@pytest.mark.slow
def test_a_finished_run_is_recorded_in_a_gradebook_given_later_without_running_any_notebook(tmp_path, capsys):
    """The run was graded without a gradebook; adding --course records what report.json keeps. The notebook is
    the blank release, which would score 0 if it ran again: the gradebook's 5 points are the kept result."""
    from grader.grading.records import file_digest

    course = make_course(tmp_path / "course")
    submission = course / "submitted" / "ann" / CH1 / f"{CH1}.ipynb"
    notebooks.write(student_notebook(CH1, "blank"), submission)
    secret, fingerprint = _secret(tmp_path)
    kept = _graded("ann", {"convolve": 0.0})
    kept.file, kept.sha256 = submission.name, file_digest(submission)
    out = course / "grading-out"
    out.mkdir()
    (out / "report.json").write_text(json.dumps({"hidden_cases": {"fingerprint": fingerprint},
                                                 "submissions": [kept.__dict__]}))
    code = main(["autograde", str(course / "submitted"), "--out", str(out), "--course", str(course),
                 "--secret", str(secret), "--no-similarity"])
    printed = capsys.readouterr().out
    assert code == 0 and "1 of 1 submissions graded" in printed and "1 recorded in the gradebook" in printed
    assert gradebook_scores(f"sqlite:///{course / 'gradebook.db'}") == {
        ("ann", CH1, gid): row["score"] for gid, row in ((r["exercise"], r) for r in kept.exercises)}
    report = json.loads((out / "report.json").read_text())
    assert "1 submission(s) already graded in this folder were kept" in report["hidden_cases"]["resume"]
    assert report["gradebook"]["recorded"] == 1


@pytest.mark.slow
def test_a_flat_canvas_download_graded_with_late_penalties_into_grades_gradebook_and_both_lms_files(tmp_path):
    """Three learners of a Canvas download: one right and on time, one late (penalty method zero) with a wrong
    answer, one whose file is broken JSON; the roster is Canvas's gradebook export plus the submission times."""
    from grader.sandbox.process import available

    course = make_course(tmp_path / "course")
    with open(course / "nbgrader_config.py", "a") as handle:
        handle.write('c.LateSubmissionPlugin.penalty_method = "zero"\n')
    nbgrader(course, "db", "assignment", "add", CH1, "--duedate", "2026-11-30 08:00:00 UTC")
    download = tmp_path / "download"
    notebooks.write(student_notebook(CH1), download / f"smithjohn_12345_6789012_{CH1}.ipynb")
    notebooks.write(student_notebook(CH1, WRONG_CONVOLVE), download / f"dupontzoe_late_23456_6789013_{CH1}-1.ipynb")
    (download / f"leeann_34567_6789014_{CH1}.ipynb").write_text('{"cells": [')
    lines = CANVAS_EXPORT.splitlines()
    # the late file's time is the roster's: Canvas's names say only "late" (a run without it says so, below)
    times = ["timestamp", "", "2026-11-30 07:59:00 UTC", "2026-11-30 08:03:17 UTC", "", ""]
    (tmp_path / "roster.csv").write_text("\n".join(f"{line},{t}" for line, t in zip(lines, times)) + "\n")
    secret, _ = _secret(tmp_path)
    out = course / "grading-out"
    code = main(["autograde", str(download), "--out", str(out), "--course", str(course), "--workers", "2",
                 "--roster", str(tmp_path / "roster.csv"), "--canvas-assignment", "Convolution by hand (98765)",
                 "--secret", str(secret), "--no-similarity", *([] if available() is None else ["--no-sandbox"])])
    assert code == 0
    grades = _rows((out / "grades.csv").read_text())
    totals: dict[str, float] = {}
    for row in grades:
        totals[row["student"]] = totals.get(row["student"], 0.0) + float(row["score"]) - float(row["late_penalty"])
    assert totals == {"jsmith": 8.0, "zdupont": 0.0, "alee": 0.0}
    assert {r["seconds_late"] for r in grades if r["student"] == "zdupont"} == {"197.0"}
    assert {r["reason"] for r in grades if r["student"] == "alee"} == {
        "unreadable: the file is not a notebook: it is not valid JSON (line 1); was it truncated?"}
    canvas = {r["ID"]: r["Convolution by hand (98765)"] for r in _rows((out / "canvas-grades.csv").read_text())}
    assert canvas == {"12345": "8", "23456": "0", "34567": "0", "45678": ""}
    moodle = {r["Identifier"]: r["Grade"] for r in _rows((out / f"moodle-{CH1}.csv").read_text())}
    assert moodle == {"Participant 12345": "8", "Participant 23456": "0", "Participant 34567": "0",
                      "Participant 45678": ""}
    # nbgrader's own export lists all three, the broken file's learner with 0, with the roster's names (a name a
    # spreadsheet would run is stored as text: nbgrader's export writes names as they are)
    nbgrader(course, "export", "--to", str(course / "export.csv"))
    export = {r["student_id"]: (r["last_name"], r["first_name"], r["raw_score"], r["late_submission_penalty"],
                                r["score"]) for r in _rows((course / "export.csv").read_text())}
    assert export == {"jsmith": ("Smith", "John", "8.0", "0.0", "8.0"),
                      "zdupont": ("Dupont", "Zoë", "5.0", "5.0", "0.0"),
                      "alee": ("'=HYPERLINK(\"http://x\")", "Ann", "0.0", "0.0", "0.0")}
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "conv-course") as gb:
        assert {s.id: s.lms_user_id for s in gb.students} == {"jsmith": "12345", "zdupont": "23456", "alee": "34567"}


def test_an_unreadable_file_counts_for_its_learner_once_and_never_beside_a_readable_notebook(tmp_path):
    """ben's only notebook is broken: his 0 for the chapter (recorded in the gradebook too); ann's broken copy
    beside her readable notebook is only reported, so her chapter is not counted twice."""
    from grader.grading.autograde import select
    from grader.grading.batch import Batch

    subs = tmp_path / "subs"
    notebooks.write(student_notebook(CH1, "blank"), subs / "ann" / f"{CH1}.ipynb")
    (subs / "ann" / f"{CH1} (copy).ipynb").write_text("")
    (subs / "ben" / CH1).mkdir(parents=True)
    (subs / "ben" / CH1 / "notebook.ipynb").write_text('{"cells": [')  # nbgrader's layout names the chapter
    (subs / "ben" / CH1 / "again.ipynb").write_text('{"cells": [')
    config = GradingConfig()
    batch = Batch(tmp_path / "out", subs, config, None, config.hidden_cases())
    pending, chapters = select(batch)
    assert [sub.student for _, sub in pending] == ["ann"] and chapters == [CH1]
    by_file = {(r.student, r.file): r for r in batch.results}
    assert by_file[("ann", f"{CH1} (copy).ipynb")].assignment is None
    assert [(r.student, r.file, r.assignment) for r, _ in batch.settled] == [("ben", "again.ipynb", CH1)]
    assert by_file[("ben", "notebook.ipynb")].assignment is None
    write_outputs(batch.results, tmp_path, {CH1: load_assignment(CH1)})
    rows = _rows((tmp_path / "grades.csv").read_text())
    assert [(r["assignment"], r["max_score"]) for r in rows if r["student"] == "ann"] == [("", "0.0")]
    assert sum(float(r["max_score"]) for r in rows if r["student"] == "ben") == 8.0


def test_a_file_the_lms_marked_late_without_a_time_is_said_to_get_no_penalty(tmp_path, capsys):
    from grader.grading.autograde import select
    from grader.grading.batch import Batch

    download = tmp_path / "download"
    notebooks.write(student_notebook(CH1, "blank"), download / f"dupontzoe_late_23456_6789013_{CH1}.ipynb")
    notebooks.write(student_notebook(CH1, "blank"), download / f"smithjohn_12345_6789012_{CH1}.ipynb")
    (tmp_path / "roster.csv").write_text("lms_id,name,timestamp\n23456,\"Dupont, Zoë\",2026-11-30 08:03:17 UTC\n")
    for roster, said in ((None, True), (tmp_path / "roster.csv", False)):
        config = GradingConfig(roster=roster)
        select(Batch(tmp_path / "out", download, config, object(), config.hidden_cases()))  # a gradebook: lateness
        err = capsys.readouterr().err
        assert ("the LMS marked 1 file(s) late but names no submission time (e.g. dupontzoe_late" in err) is said, err
