"""One vocabulary: an untouched exercise is "not attempted" everywhere, and exercises go by their titles."""

import json
import subprocess
import sys
from pathlib import Path

from grader.check import CellError, CheckReport, render
from helpers.checks import exercise
from helpers.checks.core import NOT_ATTEMPTED


def _progress(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    code = ("import sys\nfrom grader.__main__ import main\ncode = main(['progress', *sys.argv[1:]])\n"
            "print('torch imported:', 'torch' in sys.modules)\nsys.exit(code)")
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=tmp_path,
                          env={"CONV_COURSE_PROGRESS": str(tmp_path / "progress.json"), "PATH": "/usr/bin:/bin"})


def test_progress_with_nothing_recorded_says_so_and_needs_no_pytorch(tmp_path):
    done = _progress(tmp_path, "-v")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("No progress recorded yet: ") and "Progress recorded in" not in done.stdout
    assert not (tmp_path / "progress.json").exists()
    assert "torch imported: False" in done.stdout
    from helpers.checks.catalog import entries

    assert done.stdout.count("not attempted") == len(entries()) and "failed" not in done.stdout


def test_a_stub_is_not_attempted_in_the_notebook_the_check_and_the_progress(tmp_path, monkeypatch):
    from helpers.checks import check
    from helpers.checks.core import NotAttempted

    monkeypatch.setenv("CONV_COURSE_PROGRESS", str(tmp_path / "progress.json"))

    def output_size(n, ks, pad=0, stride=1):
        raise NotImplementedError()

    verdict = exercise("output_size").verdict(output_size, hidden=True)
    assert verdict.status == NOT_ATTEMPTED  # the grader's judgement (grades.csv, grader check)
    try:
        check("output_size", output_size)
    except NotAttempted as exc:
        shown = exc._render_traceback_()
    assert shown == ["Not attempted yet: output_size(n, ks, pad, stride). `output_size` still raises "
                     "NotImplementedError: write your answer in its cell above, run that cell, then this one."]
    assert json.loads((tmp_path / "progress.json").read_text())["exercises"]["output_size"]["status"] == NOT_ATTEMPTED
    done = _progress(tmp_path, "-v")
    assert "    output_size(n, ks, pad, stride)" in done.stdout
    line = next(l for l in done.stdout.splitlines() if l.startswith("    output_size("))
    assert line.endswith("not attempted")


def test_check_names_exercises_by_their_titles_and_each_waiting_cell_by_its_exercise():
    rows = [{"exercise": "same_padding", "title": "same_padding(ks)", "score": 1.0, "max_score": 1.0,
             "status": "passed", "message": "", "hint": None},
            {"exercise": "quiz_even_padding", "title": "review question 2 (an even kernel)", "score": 0.0,
             "max_score": 1.0, "status": NOT_ATTEMPTED, "message": "`quiz_even_padding` is not defined",
             "hint": None, "answer_cell": 51, "answer_start": "raise NotImplementedError()", "test_cell": 52}]
    report = CheckReport(Path("mine.ipynb"), "03-padding-and-strides", "graded", score=1, max_score=2,
                         exercises=rows,
                         errors=[CellError("cell 51", 51, "raise NotImplementedError()", "NotImplementedError",
                                           ["review question 2 (an even kernel)"]),
                                 CellError("cell 54", 54, "raise NotImplementedError()", "NotImplementedError",
                                           ["review question 3 (what the floor drops)"]),
                                 CellError("cell 7", 7, "print(x)", "NameError: name 'x' is not defined")])
    text = render(report)
    assert "  same_padding(ks)  " in text and "  review question 2 (an even kernel)  " in text
    assert "quiz_even_padding  " not in text
    assert "  review question 2 (an even kernel): cell 51" in text
    assert "  review question 3 (what the floor drops): cell 54" in text  # identical stubs, each named
    assert "  cell 7 (`print(x)`): NameError: name 'x' is not defined" in text
