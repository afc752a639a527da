"""The grader's pure parts, without root, kernels or a sandbox: cell metadata, identify, plan,
the protocol's plain-data rule, load_outcomes, the report writers and the grading settings."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest
import torch

from grader import cells
from grader.grading.autograde import autograde
from grader.grading.batch import GraderError
from grader.grading.report import feedback_html, write_outputs
from grader.grading.config import GradingConfig, describe, resolve
from grader.grading.judge import load_outcomes
from grader.grading.results import Problem, Result, SubmissionStatus
from grader.grading.sanitize import load_assignment, plan
from grader.grading.submissions import chapter_grade_ids, identify
from grader.sandbox.users import MAX_WORKERS
from helpers import protocol
from tests.support import student_notebook

CH1 = "01-convolution-by-hand"


# -- nbgrader cell metadata ----------------------------------------------------------------------

@pytest.mark.parametrize("cell", [None, 3, "x", [], {}, {"metadata": []}, {"metadata": {"nbgrader": "yes"}},
                                  {"metadata": {"nbgrader": {"grade_id": 7, "grade": 1}}}])
def test_malformed_metadata_reads_as_absent(cell):
    assert cells.grade_id(cell) is None
    assert not cells.is_solution(cell) and not cells.is_test(cell)
    assert isinstance(cells.nbgrader(cell), dict)


def test_cell_kinds_as_nbgrader_says():
    test = {"cell_type": "code", "metadata": {"nbgrader": {"grade": True, "solution": False, "grade_id": "t",
                                                           "points": 3}}}
    answer = {"cell_type": "code", "metadata": {"nbgrader": {"grade": False, "solution": True, "grade_id": "a"}}}
    assert cells.is_test(test) and cells.points(test) == 3 and cells.grade_id(test) == "t"
    assert cells.is_solution(answer) and not cells.is_test(answer) and not cells.is_grade(answer)
    assert not cells.is_test({**test, "cell_type": "markdown"})


# -- identify ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def known():
    return chapter_grade_ids()


@pytest.mark.parametrize("content, kind, words", [
    (b"", SubmissionStatus.UNREADABLE, "empty"),
    (b'{"cells": [', SubmissionStatus.UNREADABLE, "not valid JSON"),
    (b'{"a": 1}', SubmissionStatus.UNREADABLE, "not a Jupyter notebook"),
    (b'{"cells": [], "metadata": {}}', SubmissionStatus.UNKNOWN_CHAPTER, "belongs to a course chapter"),
])
def test_identify_names_the_kind_of_problem(tmp_path, known, content, kind, words):
    path = tmp_path / "homework.ipynb"
    path.write_bytes(content)
    chapter, problem = identify(path, known)
    assert chapter is None and isinstance(problem, Problem)
    assert problem.kind is kind and words in str(problem)


def test_identify_reads_the_chapter_from_the_cells_not_the_name(tmp_path, known):
    path = tmp_path / "My homework (1).ipynb"
    path.write_text(json.dumps(student_notebook(CH1, "blank")))
    assert identify(path, known) == (CH1, None)


# -- plan ----------------------------------------------------------------------------------------

def _data(nb) -> dict:
    return json.loads(json.dumps(nb))


def test_plan_puts_back_the_source_test_cells():
    assignment = load_assignment(CH1)
    data = _data(student_notebook(CH1))
    tests = [c for c in data["cells"] if cells.grade_id(c) in assignment.tests]
    tests[0]["source"] = "pass"  # edited
    tests[1]["metadata"]["nbgrader"]["points"] = 100  # inflated
    tests[1]["metadata"]["tags"] = ["raises-exception"]
    data["cells"].remove(tests[2])  # deleted
    result = plan(data, assignment)
    steps = [s for s in result.steps if s.kind == "test"]
    assert [s.grade_id for s in steps] == list(assignment.tests)  # every test once, in order
    assert all(s.source == assignment.tests[s.grade_id].source for s in steps)
    assert all(s.hidden == assignment.tests[s.grade_id].hidden for s in steps)
    assert any(s.hidden for s in steps), "chapter 1 has hidden cases"
    restored = next(s for s in steps if s.grade_id == tests[2]["metadata"]["nbgrader"]["grade_id"])
    answer = result.steps.index(restored) - 1
    assert restored.cell_number is None and result.steps[answer].grade_id == f"{restored.grade_id}_answer"
    notes = " | ".join(result.tampering)
    assert "was edited" in notes and "claims 100 points" in notes and "raises-exception" in notes
    assert "was missing; it was put back" in notes


def test_plan_of_junk_is_empty_but_complete():
    assignment = load_assignment(CH1)
    result = plan({"cells": [None, 3, {"cell_type": "code", "source": 5, "metadata": []}]}, assignment)
    assert [s.grade_id for s in result.steps if s.kind == "test"] == list(assignment.tests)


# -- the protocol: plain data, errors, the not-attempted rule -------------------------------------

def test_what_to_plain_makes_is_plain():
    values = [1, 2.5, True, None, "s", torch.ones(2, 3), (torch.zeros(1), [1, 2]), torch.Size([2, 3]),
              torch.ones(2, requires_grad=True)]
    for value in values:
        assert protocol.is_plain(protocol.to_plain(value)), value


def test_numpy_scalars_are_the_numbers_they_hold():
    import numpy as np

    class Sly(np.float64):
        def __eq__(self, other):
            return True

    copied = protocol.to_plain((np.float64(0.5), np.int64(3), np.float32(0.25), np.bool_(True)))
    assert copied == (0.5, 3, 0.25, True) and [type(v) for v in copied] == [float, int, float, bool]
    for value in (Sly(1.0), np.ones(2), np.array(3.0)):
        with pytest.raises(protocol.NotPlain):
            protocol.to_plain(value)


@pytest.mark.parametrize("value", [torch.nn.Parameter(torch.ones(2)), torch.ones(2, requires_grad=True),
                                   object(), {"a": 1}, [[[[[[1]]]]]]])
def test_look_alikes_are_not_plain(value):
    assert not protocol.is_plain(value)
    if type(value) is not torch.Tensor:  # an exact tensor is copied (detached), anything else refused
        with pytest.raises(protocol.NotPlain):
            protocol.to_plain(value)


def test_error_text_and_not_attempted():
    try:
        raise NotImplementedError()
    except NotImplementedError as exc:
        text = protocol.describe_error(exc)
    assert text == "NotImplementedError" and protocol.not_attempted(f"calling `f` raised {text}")
    assert protocol.describe_error(ValueError("first line\nsecond")) == "ValueError: first line"
    assert not protocol.not_attempted("ValueError: x") and not protocol.not_attempted(None)
    assert protocol.outcome_file("convolve", True) == "convolve.hidden.pt"
    # a hidden test carries its cases' seed (None: the public ones), which the sandbox gets only on request
    assert protocol.test_command("convolve", 1) == {"op": "test", "key": "convolve", "hidden": True, "seed": None}
    assert protocol.test_command("convolve", True, 7)[protocol.SEED] == 7
    assert protocol.SEED not in protocol.test_command("convolve", False, 7)


# -- load_outcomes -------------------------------------------------------------------------------

def _saved(tmp_path: Path, obj, name="x.visible.pt") -> Path:
    path = tmp_path / name
    torch.save(obj, path)
    return path


def test_load_outcomes_accepts_plain_data(tmp_path):
    outcomes = load_outcomes(_saved(tmp_path, [{"value": torch.ones(2), "error": None},
                                               {"value": None, "error": "ValueError: no"}]))
    assert [o.error for o in outcomes] == [None, "ValueError: no"] and torch.equal(outcomes[0].value, torch.ones(2))


@pytest.mark.parametrize("obj, words", [
    ({"value": 1, "error": None}, "not a list"),
    ([{"value": 1}], "unexpected form"),
    ([{"value": 1, "error": 3}], "unexpected form"),
    ([{"value": torch.nn.Parameter(torch.ones(1)), "error": None}], "other than plain data"),
    ([{"value": [[[[[[1]]]]]], "error": None}], "other than plain data"),
])
def test_load_outcomes_refuses_anything_else(tmp_path, obj, words):
    result = load_outcomes(_saved(tmp_path, obj))
    assert isinstance(result, str) and words in result


def test_load_outcomes_refuses_missing_and_symlinked_files(tmp_path):
    assert "no results" in load_outcomes(tmp_path / "none.pt")
    target = _saved(tmp_path, [{"value": 1, "error": None}])
    (tmp_path / "link.pt").symlink_to(target)
    assert "no results" in load_outcomes(tmp_path / "link.pt")


# -- the report writers --------------------------------------------------------------------------

def test_writers_give_rows_statuses_and_escaped_feedback(tmp_path):
    assignment = load_assignment(CH1)
    rows = [{"exercise": gid, "title": "<b>t</b>", "score": 0.0, "max_score": t.points, "status": "failed",
             "message": "<script>alert(1)</script>", "hint": "<img src=x>"} for gid, t in assignment.tests.items()]
    results = [Result("ann", "a.ipynb", CH1, SubmissionStatus.GRADED, "", 0.0, assignment.max_score, rows),
               Result("bob", "b.ipynb", CH1, SubmissionStatus.GRADING_FAILED, "its sandbox never started"),
               Result("bob", "old.ipynb", CH1, SubmissionStatus.DUPLICATE, "b.ipynb is later"),
               Result("cy", "c.ipynb", None, SubmissionStatus.UNREADABLE, "the file is empty")]
    write_outputs(results, tmp_path, {CH1: assignment}, {"isolation": "none"})
    grades = list(csv.DictReader(open(tmp_path / "grades.csv")))
    assert [r["student"] for r in grades] == ["ann"] * len(rows) + ["bob"] * len(assignment.tests) + ["cy"]
    assert {r["status"] for r in grades if r["student"] == "bob"} == {"error"}
    # a file of no known chapter is still its learner's row: 0, and why
    cy = grades[-1]
    assert (cy["assignment"], cy["score"], cy["status"], cy["reason"]) == ("", "0.0", "error",
                                                                          "unreadable: the file is empty")
    assert {r["reason"] for r in grades if r["student"] == "bob"} == {"grading-failed: its sandbox never started"}
    assert {r["reason"] for r in grades if r["student"] == "ann"} == {""}
    report = json.loads((tmp_path / "report.json").read_text())
    assert [s["status"] for s in report["submissions"]] == ["graded", "grading-failed", "duplicate", "unreadable"]
    html = (tmp_path / "feedback" / "ann" / f"{CH1}.html").read_text()
    assert "<script>" not in html and "&lt;script&gt;" in html and "<img" not in html
    assert not (tmp_path / "feedback" / "bob").exists()
    assert feedback_html(results[0]) == html


# -- the settings ----------------------------------------------------------------------------------

def test_grading_config_defaults_are_written_once_and_described():
    config = GradingConfig()
    assert (config.timeout, config.isolation, config.workers) == (900, "zygote", None)
    assert "default: 900" in describe("timeout") and "default: zygote" in describe("isolation")
    assert resolve(config, timeout=None, workers=3) == GradingConfig(workers=3)
    assert 1 <= GradingConfig(workers=10_000).worker_count() == MAX_WORKERS
    with pytest.raises(ValueError, match="isolation"):
        GradingConfig(isolation="docker")
    with pytest.raises(TypeError):
        resolve(config, colour="red")
    assert GradingConfig(student="alan", assignment="01-convolution-by-hand").student == "alan"
    for bad in ("", "../alan", "alan/01", ".hidden"):
        with pytest.raises(ValueError, match="is one folder name of the submissions"):
            GradingConfig(student=bad)
        with pytest.raises(ValueError, match="assignment is one folder name"):
            GradingConfig(assignment=bad)


def test_a_bad_setting_is_a_grader_error(tmp_path):
    with pytest.raises(GraderError, match="isolation"):
        autograde(tmp_path, tmp_path / "out", isolation="docker")


@pytest.mark.skipif(os.geteuid() != 0, reason="sandbox uid blocks are claimed only by grader runs as root")
def test_a_run_whose_uid_block_is_held_by_another_run_claims_the_next_one():
    """Two grader runs whose pids agree modulo 1024 must not share sandbox users: the second finds the
    first's block locked and takes the next free one, and keeps it for its life (forked children claim
    their own)."""
    import subprocess
    import sys

    code = """if True:
        import fcntl, json, os
        from grader.sandbox import users as p
        mine = p.pid_block(os.getpid())
        p.UID_LOCKS.mkdir(mode=0o755, exist_ok=True)
        other = os.open(p.UID_LOCKS / f"{mine}.lock", os.O_RDWR | os.O_CREAT)  # another run's hold
        fcntl.flock(other, fcntl.LOCK_EX)
        first, again = p.uid_base(), p.uid_base()
        child = os.fork()
        if child == 0:
            os._exit(0 if p.uid_base() != first else 1)
        _, status = os.waitpid(child, 0)
        print(json.dumps([mine, (first - p.FIRST_UID) // p.MAX_WORKERS, again == first, status]))
    """
    mine, block, kept, child = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True,
                                                         text=True, check=True).stdout)
    assert block != mine and 0 <= block < 1024, (mine, block)
    assert kept and child == 0


# -- failures a user can fix: one line and an exit code, never a traceback -------------------------------

def _venv_importing(tmp_path: Path, other: Path) -> Path:
    """A virtualenv whose editable install of the course (setuptools' finder, as ``pip install -e`` writes
    it) points at ``other``, another checkout; it sees this venv's packages (torch...) but not its finder."""
    import site
    import sys

    venv = tmp_path / "venv"
    packages = venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    packages.mkdir(parents=True)
    (venv / "bin").mkdir()
    (venv / "bin" / "python").symlink_to(os.path.realpath(sys.executable))
    (venv / "pyvenv.cfg").write_text(f"home = {Path(os.path.realpath(sys.executable)).parent}\n"
                                     "include-system-site-packages = false\n")
    finder = next(Path(p) for p in site.getsitepackages() if (Path(p) / "__editable__.conv_course-0.1.0.pth").exists())
    code = next(finder.glob("__editable___conv_course_*_finder.py")).read_text()
    start = code.index("MAPPING")
    end = code.index("\n", start)
    mapping = {name: str(other / name) for name in ("grader", "helpers")}
    (packages / "__editable___conv_course_finder.py").write_text(code[:start] + f"MAPPING = {mapping!r}" + code[end:])
    (packages / "__editable__.conv_course.pth").write_text(
        "import __editable___conv_course_finder; __editable___conv_course_finder.install()\n")
    (packages / "packages.pth").write_text(str(finder) + "\n")  # a plain path: its own .pth files are not read
    for name in mapping:
        (other / name).mkdir(parents=True)
        (other / name / "__init__.py").write_text("")
    return venv / "bin" / "python"


def test_a_virtualenv_importing_another_checkout_is_named_before_anything_is_graded(tmp_path):
    """The sandbox starts ``python -I``: the course comes from the venv's editable install. When that points
    at another checkout, the grader says which checkout and which interpreter, in one line (exit code 3),
    instead of failing every submission with a process that "ended (exit code 0)"."""
    from grader.authoring.config import ROOT
    from grader.sandbox.process import course_import_problem

    assert course_import_problem(ROOT) is None  # this venv imports this checkout
    other = tmp_path / "other-checkout"
    python = _venv_importing(tmp_path, other)
    why = course_import_problem(ROOT, str(python))
    assert why and str(other) in why and str(python) in why and str(ROOT) in why, why
    assert course_import_problem(ROOT, str(tmp_path / "no-python")) is not None


@pytest.mark.slow
def test_the_grader_says_so_in_one_line_and_grades_nothing(tmp_path):
    import subprocess

    from grader.authoring.config import ROOT
    from grader.grading.secret import create

    other = tmp_path / "other-checkout"
    python = _venv_importing(tmp_path, other)
    (tmp_path / "subs").mkdir()
    secret, _ = create(tmp_path / "secret")
    done = subprocess.run([str(python), "-m", "grader", "autograde", str(tmp_path / "subs"), "--out",
                           str(tmp_path / "out"), "--no-gradebook", "--secret", str(secret)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 3 and len(lines) == 1, done.stderr
    assert lines[0].startswith("error: cannot grade here:") and str(other) in lines[0] and str(python) in lines[0]
    assert "Traceback" not in done.stderr and not (tmp_path / "out").exists()


@pytest.mark.parametrize("argv, code, words", [
    (["autograde", "{tmp}/missing", "--out", "{tmp}/out"], 2, "is not a folder of submissions"),
    (["autograde", "{tmp}", "--out", "{tmp}/out", "--similarity-threshold", "2", "--secret", "{tmp}/s"], 2,
     "similarity threshold"),
    (["report", "{tmp}/nothing"], 2, ""),
    (["secret", "--show", "--path", "{tmp}/none"], 2, ""),
    (["check", "{tmp}/none.ipynb"], 2, "no such file"),
])
def test_a_users_mistake_is_one_line_and_an_exit_code(tmp_path, capsys, argv, code, words):
    from grader.__main__ import main
    from grader.grading.secret import create

    create(tmp_path / "s")
    assert main([a.format(tmp=tmp_path) for a in argv]) == code
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and len(err.splitlines()) == 1 and words in err, err


def test_every_failure_a_user_can_fix_has_the_one_base():
    from grader.authoring.release import ReleaseError
    from grader.check import CheckInputError, OutputsError
    from grader.errors import CourseError, SetupError, UsageError
    from grader.grading.classreport import ReportError
    from grader.grading.cluster import CourseVersionError, GraderClusterError
    from grader.grading.config import SettingError
    from grader.grading.gradebook import GradebookError
    from grader.grading.secret import SecretError

    for kind in (CheckInputError, ReportError, SecretError, SettingError):
        assert issubclass(kind, UsageError) and kind.exit_code == 2
    for kind in (GraderError, GraderClusterError, CourseVersionError, GradebookError, ReleaseError, OutputsError):
        assert issubclass(kind, SetupError) and kind.exit_code == 3
    assert issubclass(UsageError, CourseError) and issubclass(SetupError, CourseError)


@pytest.mark.slow
def test_nbgrader_failing_to_release_is_one_line_that_names_the_chapter(tmp_path):
    """A solution notebook nbgrader refuses (two cells with one grade id) stops the release with one line."""
    from grader.authoring import notebooks, release
    from grader.authoring.config import ROOT, SOURCE_DIR

    nb = notebooks.read(notebooks.notebook_path(CH1, SOURCE_DIR, ROOT))
    graded = [c for c in nb.cells if cells.grade_id(c)]
    graded[1].metadata["nbgrader"]["grade_id"] = cells.grade_id(graded[0])
    notebooks.write(nb, tmp_path / SOURCE_DIR / CH1 / f"{CH1}.ipynb")
    with pytest.raises(release.ReleaseError) as caught:
        release.generate(CH1, tmp_path / "out", tmp_path)
    text = str(caught.value)
    assert len(text.splitlines()) == 1 and CH1 in text and cells.grade_id(graded[0]) in text, text
