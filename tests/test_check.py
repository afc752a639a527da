"""``python -m grader check``: the learner's check agrees with the instructor's grader, point for point.

One batch: a correct, a blank and a partly wrong notebook of every chapter (three per chapter),
graded once by ``python -m grader autograde`` (in its sandbox when this machine can build
one) and once by ``python -m grader check`` on all of them, the two running side by side.
"""

import hashlib
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from grader import cells
from grader.authoring import notebooks
from grader.authoring.config import ROOT
from grader.check import run_order_warning
from grader.sandbox.process import available
from helpers.checks import exercises
from tests.support import student_notebook

CHAPTERS = notebooks.chapters()

#: Per chapter, wrong answers a learner could hand in (the rest right); None: left as released.
PARTLY = {
    "01-convolution-by-hand": {
        "convolve_answer": "def convolve(img, kernel):\n    kh, kw = kernel.shape\n"
                           "    out = torch.zeros(img.shape[0] - kh + 1, img.shape[1] - kw + 1)\n"
                           "    k = kernel.flip(0).flip(1)\n"
                           "    for i in range(out.shape[0]):\n        for j in range(out.shape[1]):\n"
                           "            out[i, j] = (img[i:i + kh, j:j + kw] * k).sum()\n    return out\n",
        "quiz_edge_kernel_answer": 'quiz_edge_kernel = "right_edge"\n',
    },
    "02-feature-maps-and-channels": {
        "conv_channels_answer": "def conv_channels(x, weight, bias):\n"
                                "    return torch.stack([conv_multi_in(x, weight[:, o]) + bias[o]\n"
                                "                        for o in range(weight.shape[1])])\n",
    },
    "03-padding-and-strides": {
        "output_size_answer": "def output_size(n, ks, pad=0, stride=1):\n    return (n + pad - ks) // stride + 1\n",
        "conv2d_padded_answer": None,
    },
    "04-conv2d-and-a-first-cnn": {
        "stack_params_answer": "def stack_params(channels, ks=3):\n"
                               "    return sum(nf * ni * ks * ks for ni, nf in zip(channels[:-1], channels[1:]))\n",
        "quiz_cnn_params_answer": "quiz_cnn_params = 6688\n",
    },
    "05-receptive-fields": {
        "receptive_fields_answer": "def receptive_fields(layers):\n    size, jump, sizes = 0, 1, []\n"
                                   "    for kernel, stride, padding in layers:\n"
                                   "        size += (kernel - 1) * jump\n        jump *= stride\n"
                                   "        sizes.append(size)\n    return sizes\n",
        "quiz_jump_answer": "quiz_jump = 2\n",
    },
    "06-pooling": {
        "avg_pool_answer": "def avg_pool(x, size, stride):\n    h, w = x.shape[-2:]\n"
                           "    oh, ow = (h - size) // stride + 1, (w - size) // stride + 1\n"
                           "    out = torch.empty(*x.shape[:-2], oh, ow)\n"
                           "    for i in range(oh):\n        for j in range(ow):\n"
                           "            out[..., i, j] = x[..., i * stride:i * stride + size,\n"
                           "                               j * stride:j * stride + size].sum(dim=(-2, -1))\n"
                           "    return out\n",
        "quiz_pool_params_answer": "quiz_pool_params = 1\n",
    },
    "07-colour-and-stable-training": {"to_channels_answer": "def to_channels(img):\n    return torch.from_numpy(img).permute(2, 0, 1).float()\n", "quiz_bn_params_answer": "quiz_bn_params = 128\n"},
    "08-conv-arithmetic-and-backward": {
        "grouped_params_answer": "def grouped_params(c_in, c_out, ks, groups=1, bias=True):\n"
                                 "    return c_out * c_in * ks * ks + (c_out if bias else 0)\n",
        "im2col_answer": None,
    },
    "09-deeper-networks": {
        "kaiming_init_answer": "def kaiming_init(shape):\n    return torch.randn(shape) * math.sqrt(1 / math.prod(shape[1:]))\n",
        "grad_check_answer": None,  # not res_block: res_cnn is built from it, and would lose its points too
    },
}
#: A cell that raises, inserted near the top of chapter 1's partly wrong notebook.
BROKEN_CELL = "print(undefined_in_chapter_one)"


def _partly(chapter: str) -> nbformat.NotebookNode:
    wrong = {k: v for k, v in PARTLY[chapter].items() if v is not None}
    nb = student_notebook(chapter, wrong)
    blank = {cells.grade_id(c): c.source for c in student_notebook(chapter, "blank").cells}
    for cell in nb.cells:
        gid = cells.grade_id(cell)
        if gid in PARTLY[chapter] and PARTLY[chapter][gid] is None:
            cell.source = blank[gid]
    if chapter == CHAPTERS[0]:
        nb.cells.insert(3, nbformat.v4.new_code_cell(BROKEN_CELL))
    return nb


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _env(progress: Path) -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "CONV_COURSE_PROGRESS": str(progress)}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("check")
    learners, subs = tmp / "learner", tmp / "submissions"
    paths: dict[tuple[str, str], Path] = {}
    for chapter in CHAPTERS:
        # blank, correct, then partly wrong: the progress keeps the last check of each chapter
        for kind, nb in (("blank", student_notebook(chapter, "blank")), ("correct", student_notebook(chapter)),
                         ("partly", _partly(chapter))):
            path = learners / kind / chapter / f"{chapter}.ipynb"
            notebooks.write(nb, path)
            copy = subs / f"{kind}-{chapter[:2]}" / f"{chapter}.ipynb"
            copy.parent.mkdir(parents=True)
            copy.write_bytes(path.read_bytes())
            paths[(kind, chapter)] = path
    before = {key: _sha(p) for key, p in paths.items()}
    progress = tmp / "progress.json"
    sandbox = available("zygote") is None
    grade_cmd = [sys.executable, "-m", "grader", "autograde", str(subs), "--out", str(tmp / "out"), "--workers", "2"]
    if not sandbox:
        grade_cmd.append("--no-sandbox")
    check_cmd = [sys.executable, "-m", "grader", "check", *map(str, paths.values()), "--workers", "2",
                 "--json", str(tmp / "check.json")]
    start = time.monotonic()
    instructor = subprocess.Popen(grade_cmd, cwd=ROOT, env=_env(tmp / "instructor-progress.json"),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    learner = subprocess.Popen(check_cmd, cwd=tmp, env=_env(progress), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    check_out, check_err = learner.communicate(timeout=1200)
    grade_out, grade_err = instructor.communicate(timeout=1200)
    seconds = time.monotonic() - start
    print(f"\n{len(paths)} notebooks checked and autograded side by side in {seconds:.0f} s (sandbox: {sandbox})")
    assert instructor.returncode == 0, grade_err[-2000:]
    report = json.loads((tmp / "out" / "report.json").read_text())["submissions"]
    return {
        "paths": paths, "before": before, "progress": progress, "tmp": tmp,
        "check_code": learner.returncode, "check_out": check_out, "check_err": check_err,
        "check": {(r["path"]): r for r in json.loads((tmp / "check.json").read_text())},
        "grader": {(s["student"].split("-", 1)[0], s["assignment"]): s for s in report},
    }


def _points(rows: list[dict]) -> dict[str, tuple[float, float, str]]:
    return {r["exercise"]: (r["score"], r["max_score"], r["status"]) for r in rows}


@pytest.mark.slow
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_check_agrees_with_the_instructors_grader(graded, chapter):
    assert graded["check_code"] == 0, graded["check_err"][-2000:]
    keys = [ex.key for ex in exercises(chapter)]
    for kind in ("correct", "blank", "partly"):
        mine = graded["check"][str(graded["paths"][(kind, chapter)])]
        theirs = graded["grader"][(kind, chapter)]
        assert mine["status"] == theirs["status"] == "graded", (mine["reason"], theirs["reason"])
        assert _points(mine["exercises"]) == _points(theirs["exercises"]), f"{kind} {chapter}"
        assert sorted(_points(mine["exercises"])) == sorted(keys)
        assert (mine["score"], mine["max_score"]) == (theirs["score"], theirs["max_score"])
        total = mine["max_score"]
        if kind == "correct":
            assert mine["score"] == total > 0
        elif kind == "blank":
            assert mine["score"] == 0
            assert {r["status"] for r in mine["exercises"]} == {"not attempted"}
        else:
            assert 0 < mine["score"] < total
            wrong = {gid.removesuffix("_answer") for gid in PARTLY[chapter]}
            lost = {r["exercise"] for r in mine["exercises"] if r["score"] < r["max_score"]}
            assert lost == wrong, f"{chapter}: points lost on {lost}, expected on {wrong}"


@pytest.mark.slow
def test_check_never_changes_the_learners_files(graded):
    after = {key: _sha(p) for key, p in graded["paths"].items()}
    assert after == graded["before"]


@pytest.mark.slow
def test_check_prints_points_messages_hints_and_cells(graded):
    out = graded["check_out"]
    block = out.split(str(graded["paths"][("partly", "03-padding-and-strides")]))[1].split("-" * 72)[0]
    # exercises named by their titles, as in the notebook, in the notebook's order
    assert re.search(r"^  output_size\(n, ks, pad, stride\)\s+0 of 2 points\s+failed$", block, re.M), block
    assert re.search(r"^  same_padding\(ks\)\s+1 of 1 point\s+passed$", block, re.M), block
    assert block.index("same_padding(ks)") < block.index("output_size(n, ks, pad, stride)")
    assert re.search(r"answer in cell \d+ \(`def output_size\(n, ks, pad=0, stride=1\):`\), test in cell \d+$",
                     block, re.M), block
    assert "expected 28, got 27" in block
    assert "Hint: padding is added on both sides, so it counts twice: n + 2*pad - ks, not n + pad - ks." in block
    assert re.search(r"^  conv2d_padded\(img, kernel, pad, stride\)\s+0 of 3 points\s+not attempted$", block, re.M), block
    # the cells after the unfinished conv2d_padded name it (NotImplementedError, then a NameError for its result)
    assert "Cells that stopped at an exercise not done yet (finish it, and they run):" in block
    assert re.search(r"^  conv2d_padded\(img, kernel, pad, stride\): cells \d+, \d+$", block, re.M), block
    assert "NameError" not in block
    assert re.search(r"^Total: 4 of 9 points$", block, re.M), block
    assert "Warning: the saved notebook was not run top to bottom" in block
    # a cell that raised: its number and the error's first line, no traceback anywhere
    ch1 = out.split(str(graded["paths"][("partly", "01-convolution-by-hand")]))[1].split("-" * 72)[0]
    assert re.search(r"^  cell 4 \(`print\(undefined_in_chapter_one\)`\): NameError: name 'undefined_in_chapter_one' "
                     r"is not defined$", ch1, re.M), ch1
    assert "Traceback" not in out and 'File "' not in out
    # a blank chapter 4: its three review answers hold the same stub text, and each is named on its own
    ch4 = out.split(str(graded["paths"][("blank", "04-conv2d-and-a-first-cnn")]))[1].split("-" * 72)[0]
    for title in ("review question 1 (stride-2 size)", "review question 2 (parameters of simple_cnn)",
                  "review question 3 (multiply-adds)"):
        assert re.search(rf"^  {re.escape(title)}: cell \d+$", ch4, re.M), ch4
    assert re.search(r"^  the simple_cnn model: cells \d+, \d+, ", ch4, re.M), ch4
    assert "not restarted" not in out
    assert re.search(rf"^All {3 * len(CHAPTERS)} notebooks: \d+ of \d+ points$", out, re.M)


@pytest.mark.slow
def test_check_feeds_the_progress(graded):
    records = json.loads(graded["progress"].read_text())["exercises"]
    assert records["output_size"]["status"] == "failed" and records["output_size"]["source"] == "check"
    assert records["output_size"]["hidden"] is True
    assert records["same_padding"]["status"] == "passed"
    assert records["conv2d_padded"]["status"] == "not attempted"
    shown = subprocess.run([sys.executable, "-m", "grader", "progress", "-v"], cwd=graded["tmp"],
                           env=_env(graded["progress"]), capture_output=True, text=True, check=True).stdout
    # the last check of each chapter was the partly wrong notebook
    for chapter in CHAPTERS:
        items = exercises(chapter)
        failed = {gid.removesuffix("_answer") for gid in PARTLY[chapter]}
        passed = [ex for ex in items if ex.key not in failed]
        points = sum(ex.points for ex in passed)
        assert re.search(rf"^{chapter}\s+{len(passed)} of\s+{len(items)} exercises passed\s+{points} of\s+"
                         rf"{sum(ex.points for ex in items)} points$", shown, re.M), shown
    assert re.search(r"^    output_size\(n, ks, pad, stride\)\s+failed$", shown, re.M), shown


# -- without running a notebook -------------------------------------------------------------


@pytest.mark.parametrize("content, message", [
    (None, "no such file"),
    ('{"cells": [', "not a notebook: it is not valid JSON"),
    ('{"a": 1}', "not a Jupyter notebook"),
    ('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}', "belongs to a course chapter"),
])
def test_bad_input_is_one_clear_line_and_a_nonzero_exit(tmp_path, content, message):
    path = tmp_path / "homework.ipynb"
    if content is not None:
        path.write_text(content)
    done = subprocess.run([sys.executable, "-m", "grader", "check", str(path)], cwd=tmp_path,
                          capture_output=True, text=True, env=_env(tmp_path / "p.json"))
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], done.stderr
    assert content is None or path.read_text() == content


def _nb(*counts):
    return {"cells": [{"cell_type": "markdown", "source": "# title"}] +
            [{"cell_type": "code", "source": "x = 1", "execution_count": c} for c in counts] +
            [{"cell_type": "code", "source": "", "execution_count": None}]}


def test_run_order_warning():
    assert run_order_warning(_nb(1, 2, 3)) is None
    assert run_order_warning(_nb(1, 2, 7)) is None  # strictly increasing from 1
    assert "execution count 3, not 1" in run_order_warning(_nb(3, 4, 5))
    assert "go back at cell 4" in run_order_warning(_nb(1, 5, 2))
    assert "1 code cell was never run (cell 3)" in run_order_warning(_nb(1, None, 2))
    assert "no code cell of the saved file was run" in run_order_warning(_nb(None, None))


# -- nbval: the outputs a learner's answer determines ------------------------------------------


@pytest.mark.slow
def test_outputs_name_exactly_the_cells_a_wrong_answer_changes(tmp_path):
    """``check --outputs`` on a notebook as released (no outputs anywhere) with a wrong output_size: the
    cells whose reference output depends on it differ, only those, numbered as the notebook counts."""
    from grader.check import compare_outputs, render_outputs

    chapter = "03-padding-and-strides"
    nb = student_notebook(chapter, {"output_size_answer": PARTLY[chapter]["output_size_answer"]})
    path = tmp_path / f"{chapter}.ipynb"
    notebooks.write(nb, path)
    before = _sha(path)
    checked = {n: c for n, c in enumerate(nb.cells, start=1)
               if c.cell_type == "code" and c.id in _reference_ids(chapter)}
    expected = sorted(n for n, c in checked.items() if "output_size(" in c.source)
    assert len(expected) >= 2
    found = compare_outputs(path, chapter)
    assert [n for n, _ in found.differ] == expected, found
    assert not found.not_run and found.same == len(checked) - len(expected)
    assert all(start == _first(checked[n].source) for n, start in found.differ)
    text = render_outputs(found)
    assert "Outputs that differ from the solution's, " in text and "Cell " not in text
    assert _sha(path) == before


@pytest.mark.slow
def test_outputs_never_call_a_cell_that_did_not_run_the_same(tmp_path):
    """A blank chapter 3: the cells that need output_size or conv2d_padded raise, so they are 'not compared'."""
    from grader.check import compare_outputs, render_outputs

    chapter = "03-padding-and-strides"
    path = tmp_path / f"{chapter}.ipynb"
    notebooks.write(student_notebook(chapter, "blank"), path)
    found = compare_outputs(path, chapter)
    nb = notebooks.read(path)
    needing = sorted(n for n, c in enumerate(nb.cells, start=1) if c.id in _reference_ids(chapter)
                     and re.search(r"\b(output_size|conv2d_padded|same_padding)\(", c.source))
    assert [n for n, _ in found.not_run] == needing and len(needing) >= 2, found
    assert not found.differ
    text = render_outputs(found)
    assert f"Outputs not compared, {len(needing)} cells raised an error before printing" in text
    assert "All " not in text and f"The other {found.same} outputs" in text


def _reference_ids(chapter: str) -> set[str]:
    source = notebooks.read(notebooks.notebook_path(chapter, "solutions"))
    return {c.id for c in source.cells if c.cell_type == "code" and "nbval-check-output" in notebooks.tags(c)
            and c.outputs}


#: Chapters held to the rule below. Chapter 7 stores compared outputs too (``rgb_kernel``'s among them), but
#: its other answers are used only by training runs and figures, whose outputs are not compared exactly.
REGRESSION_CHECKED = [c for c in CHAPTERS if c != "07-colour-and-stable-training"]


@pytest.mark.parametrize("chapter", REGRESSION_CHECKED)
def test_every_answer_used_later_has_a_regression_checked_output(chapter):
    """An answer a later cell uses (a size, a shape, a count, a model) shows up in at least one cell whose
    output the source stores (tag ``nbval-check-output``), so ``check --outputs`` can say it differs."""
    nb = notebooks.read(notebooks.notebook_path(chapter, "solutions"))
    plain = [c for c in nb.cells if c.cell_type == "code" and not cells.nbgrader(c)]
    for ex in exercises(chapter):
        users = [c for c in plain if re.search(rf"\b{re.escape(ex.answer)}\b", c.source)]
        if not users or ex.kind == "value":
            continue
        checked = [c for c in users if "nbval-check-output" in notebooks.tags(c)]
        assert checked, f"{chapter}: no cell whose output nbval compares uses {ex.answer}"
        assert all(c.outputs for c in checked), f"{chapter}: a checked cell using {ex.answer} has no stored output"


@pytest.mark.slow
def test_outputs_are_compared_with_the_solutions_even_after_the_learner_saved_their_own(tmp_path):
    """Saving a run notebook stores the learner's outputs; ``check --outputs`` puts the solution's on a copy
    before nbval compares, so a wrong output_size still shows where it matters."""
    from grader.check import compare_outputs

    chapter = "03-padding-and-strides"
    nb = student_notebook(chapter, {"output_size_answer": PARTLY[chapter]["output_size_answer"]})
    numbers = {}
    for number, cell in enumerate(nb.cells, start=1):
        if cell.cell_type == "code" and cell.id in _reference_ids(chapter):
            numbers[number] = cell
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="what the learner's run printed\n")]
            cell.execution_count = number
    path = tmp_path / "mine.ipynb"
    notebooks.write(nb, path)
    before = _sha(path)
    differ = compare_outputs(path, chapter).differ
    expected = sorted(n for n, c in numbers.items() if "output_size(" in c.source)
    assert [n for n, _ in differ] == expected and len(expected) >= 2, differ
    assert all(start == _first(numbers[n].source) for n, start in differ)
    assert _sha(path) == before


def _first(source: str) -> str:
    from grader.check import _first_line

    return _first_line(source)
