"""Code that reaches for the grader or the sandbox, listed in the class report (:mod:`grader.grading.suspicious`).

Pure: the notebooks are read and parsed, never run.
"""

from __future__ import annotations

import pytest

from grader.authoring.config import ROOT
from grader.grading.classreport import write_report
from grader.grading.suspicious import reaches, render, scan
from tests.support import hand_in, student_notebook

CH3 = "03-padding-and-strides"

SNEAKY = '''import numpy as np, torch
import ctypes as c
from os import fork
def conv2d_padded(img, kernel, pad=0, stride=1):
    # gc.get_objects() in a comment is not code, nor is "torch.ops" in a string
    frame = sys._getframe(1).f_back
    windows = np.ndarray((3, 3), buffer=img.numpy(), strides=(4, 4))
    return torch.ops.aten.conv2d(img[None, None], kernel[None, None], None, stride, pad)[0, 0]
'''
HELPER = "import subprocess\nserver = subprocess.Popen(['python', '-c', 'pass'])\nmaps = open('/proc/1/maps')\n"


@pytest.mark.parametrize("code, line, words", [
    ("import gc\ngc.get_objects()", 2, "gc.get_objects"),
    ("import numpy\nv = numpy.lib.stride_tricks.as_strided(a, (2, 2), (4, 4))", 2, "numpy.lib.stride_tricks"),
    ("from numpy.lib import stride_tricks as st\nst.sliding_window_view(a, 3)", 2, "stride_tricks"),
    ("t = torch.empty(0).set_(img.untyped_storage())", 1, ".set_"),
    ("import torch\nf = torch._C._nn.im2col", 2, "torch._C"),
    ("import socket as s\ns.socket().connect(('127.0.0.1', 9))", 2, "socket.socket"),
    ("import multiprocessing\nmultiprocessing.Process(target=f).start()", 1, "multiprocessing"),
    ("!ls /tmp", 1, "shell command"),
    ("%%bash\necho hi", 1, "shell command"),
    ("try:\n    1 / 0\nexcept Exception as e:\n    f = e.__traceback__.tb_frame", 4, ".tb_frame"),
    ("from helpers.checks import exercise\ncases = exercise('convolve').make_cases(True)", 2, "helpers.checks.exercise"),
    ("g = __import__('g' + 'c')", 1, "__import__"),
    ("f.__code__ = other.__code__", 1, ".__code__"),
    ("path = f'/proc/{pid}/mem'", 1, "/proc"),
    ("class W:\n    pass\nW.__array_interface__ = dict(a.__array_interface__, strides=(4, 4, 4, 4))", 3,
     ".__array_interface__"),
    ("import torch\nfrom scipy.signal import _sigtools", 2, "private module"),
    ("import numpy._core._multiarray_umath as m", 1, "private module"),
])
def test_each_reach_is_found_with_its_line(code, line, words):
    found = reaches(code)
    assert any(n == line and words in what for n, what in found), found


@pytest.mark.parametrize("code", [
    "# import ctypes\nx = 'gc.get_objects and torch.ops'\n",
    "import torch\nimport numpy as np\nout = torch.zeros(3, 3)\nout[0, 0] = (img[0:2, 0:2] * k).sum()\nmodel.eval()\n",
    "import re\nre.compile('a+')\ntorch.compile\nx.unfold_ish = 3\n",
    "def f(:\n",  # does not parse: nothing to report (the grader reports the error itself)
])
def test_ordinary_code_and_words_in_comments_and_strings_are_not_reaches(code):
    assert reaches(code) == []


def test_the_course_solutions_reach_for_nothing_outside_their_setup_cell():
    import json

    for path in sorted((ROOT / "solutions").glob("*/*.ipynb")):
        cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
        setup = "".join(cells[0]["source"]) if "pip" in "".join(cells[0]["source"]) else None
        for cell in cells:
            source = "".join(cell["source"])
            if source != setup:
                assert reaches(source) == [], (path.name, source[:80])


def test_the_class_report_lists_the_suspicious_submission_with_cell_and_line_never_the_clean_one(tmp_path):
    subs = tmp_path / "submitted"
    hand_in(subs, "mallory", student_notebook(CH3, {"conv2d_padded_answer": SNEAKY}), "nb.ipynb")
    sneaky = student_notebook(CH3)
    sneaky.cells.insert(4, sneaky.cells[4].copy())
    sneaky.cells[4]["source"], sneaky.cells[4]["metadata"], sneaky.cells[4]["id"] = HELPER, {}, "a-helper"
    hand_in(subs, "trudy", sneaky, "nb.ipynb")
    hand_in(subs, "ada", student_notebook(CH3), "nb.ipynb")

    found = scan(subs, ROOT)
    assert {r.who.split("/")[0] for r in found} == {"mallory", "trudy"}
    mine = {(r.cell, r.line, r.what.split(": ", 1)[1]) for r in found if r.who.startswith("mallory")}
    assert {("conv2d_padded_answer", 2, "import ctypes"), ("conv2d_padded_answer", 3, "from os import fork"),
            ("conv2d_padded_answer", 6, "sys._getframe"), ("conv2d_padded_answer", 6, ".f_back"),
            ("conv2d_padded_answer", 7, "numpy.ndarray(buffer=..., strides=...)"),
            ("conv2d_padded_answer", 8, "torch.ops.aten.conv2d")} <= mine
    assert not any("gc" in what for _, _, what in mine), "a comment is not code"
    theirs = {(r.cell, r.line) for r in found if r.who.startswith("trudy")}
    assert theirs == {("cell 5", 1), ("cell 5", 2), ("cell 5", 3)}

    out = tmp_path / "out"
    out.mkdir()
    write_report(out, [], submissions_dir=subs, root=ROOT, similarity=False)
    assert "Code that reaches for the grader" not in (out / "class-report.html").read_text(), \
        "it names students: the instructor's page only"
    page = (out / "class-report-students.html").read_text()
    section = page[page.index("Code that reaches for the grader or the sandbox"):]
    assert "mallory/nb.ipynb" in section and "trudy/nb.ipynb" in section and "ada/" not in section
    assert "not a verdict" in section and "conv2d_padded_answer" in section
    assert "import ctypes as c" in section and "&#x27;/proc/1/maps&#x27;" in section  # the line, escaped


def test_without_the_submissions_the_section_says_so_and_escapes_what_it_shows():
    assert "Not read" in render(None) and "No submission" in render([])
    from grader.grading.suspicious import Reach
    html = render([Reach("<b>eve</b>/nb.ipynb", CH3, "cell 3", 1, "sockets: socket", "<script>x</script>")])
    assert "<script>" not in html and "&lt;b&gt;eve" in html
