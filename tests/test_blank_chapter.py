"""A blank chapter run cell by cell: one line naming the exercise to finish, never a wall of tracebacks.

Unit tests of :mod:`helpers.unfinished` and of the "not attempted" verdict, the same in a real
IPython shell, a static check that no demo cell leaks a loop variable a later cell reads, and
(slow) every blank chapter run by a real kernel cell by cell, errors allowed.
"""

from __future__ import annotations

import ast
import re
import symtable

import pytest

from grader.authoring import notebooks
from helpers.checks import exercises
from helpers.checks.catalog import entries
from helpers.unfinished import Tracker, assigned_names
from tests.support import assert_blank_run

CHAPTERS = notebooks.chapters("solutions")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


# -- the reasoning, on text -------------------------------------------------------------------


def test_a_missing_answer_is_named_by_its_exercise():
    tracker = Tracker("04-conv2d-and-a-first-cnn")
    line = tracker.explain("print_summary(simple_cnn)", "NameError: name 'simple_cnn' is not defined")
    assert line.startswith("This cell needs `simple_cnn` (the simple_cnn model), not done yet")
    assert "\n" not in line


def test_what_a_stopped_cell_would_have_defined_waits_for_the_same_exercise():
    """Chapter 6: ``model = pool_cnn()`` stops, so the training cell's ``model`` is pool_cnn's, not a NameError."""
    tracker = Tracker("06-pooling")
    first = tracker.explain("torch.manual_seed(0)\nmodel = pool_cnn()\nprint_summary(model)",
                            "NotImplementedError", functions=["<module>", "pool_cnn"])
    assert "`pool_cnn`" in first
    later = tracker.explain("history = fit(model, data)", "NameError: name 'model' is not defined")
    assert "`pool_cnn`" in later and "model" not in later.split("(")[0].replace("needs `pool_cnn`", "")
    plot = tracker.explain("plot_history(history)", "NameError: name 'history' is not defined")
    assert "`pool_cnn`" in plot
    tracker.defined("model = nn.Linear(2, 2)")
    assert tracker.explain("print(model.oops)", "AttributeError: 'Linear' object has no attribute 'oops'") is None


def test_a_half_made_result_is_traced_to_its_exercise():
    tracker = Tracker("06-pooling")
    tracker.explain("curves = {}\nfor s in shifts:\n    curves[s] = evaluate(model, x)",
                    "NameError: name 'model' is not defined")  # model: never defined, not an answer
    tracker.explain("model = pool_cnn()", "NotImplementedError", functions=["<module>", "pool_cnn"])
    line = tracker.explain("results = {s: evaluate(model, x) for s in shifts}\n",
                           "NameError: name 'model' is not defined")
    assert "`pool_cnn`" in line
    assert "`pool_cnn`" in tracker.explain("plot(results)", "ValueError: x and y must have same first dimension")


def test_other_errors_keep_their_traceback():
    tracker = Tracker("01-convolution-by-hand")
    assert tracker.explain("print(typo)", "NameError: name 'typo' is not defined") is None
    assert tracker.explain("1 / 0", "ZeroDivisionError: division by zero") is None
    assert tracker.explain("convolve(x, k)", "RuntimeError: shapes differ", functions=["<module>", "convolve"]) is None


def test_an_answer_cell_still_holding_its_stub_says_so():
    tracker = Tracker("04-conv2d-and-a-first-cnn")
    line = tracker.explain("# YOUR CODE HERE\nraise NotImplementedError()", "NotImplementedError",
                           cell_id="quiz_cnn_params_answer", functions=["<module>"])
    assert line.startswith("Not done yet: review question 2 (parameters of simple_cnn) is still")
    assert tracker.explain("torch.manual_seed(0)\n# YOUR CODE HERE\nraise NotImplementedError()",
                           "NotImplementedError", functions=["<module>"]).startswith("Not done yet: this exercise")


def test_assigned_names():
    assert assigned_names("a = 1\nb, (c, *d) = f()\nfor e in x:\n    z = 1\nwith f() as g:\n    pass\n"
                          "def h(): pass\nimport torch.nn as nn\nimport os.path\n") == \
        {"a", "b", "c", "d", "e", "g", "h", "nn", "os"}


# -- in a real IPython shell --------------------------------------------------------------------


@pytest.fixture
def shell(tmp_path, monkeypatch):
    from IPython.core.interactiveshell import InteractiveShell

    monkeypatch.setenv("CONV_COURSE_PROGRESS", str(tmp_path / "progress.json"))
    sh = InteractiveShell.instance()
    sh.run_cell("from helpers.unfinished import enable\nenable('06-pooling')\n"
                "from helpers.checks import check\nimport torch\nfrom torch import nn\ndef fit(model):\n    return model", store_history=False)
    yield sh
    sh.set_custom_exc((), None)
    InteractiveShell.clear_instance()


def _run(shell, capsys, source: str) -> tuple[bool, str]:
    capsys.readouterr()
    result = shell.run_cell(source, store_history=False)
    out = capsys.readouterr()
    return result.success, ANSI.sub("", out.out + out.err)


def test_in_ipython_a_blank_chapter_gives_one_line_per_cell_and_still_stops(shell, capsys):
    ok, shown = _run(shell, capsys, "def pool_cnn():\n    # YOUR CODE HERE\n    raise NotImplementedError()")
    assert ok
    ok, shown = _run(shell, capsys, "check('pool_cnn')")
    assert not ok  # nbgrader must still see the test fail
    assert shown.strip().splitlines() == [shown.strip()] and shown.startswith("Not attempted yet: pool_cnn()")
    assert "CheckFailed" not in shown and "Traceback" not in shown
    for source in ("torch.manual_seed(0)\nmodel = pool_cnn()", "history = fit(model)", "print(history)"):
        ok, shown = _run(shell, capsys, source)
        assert not ok
        assert len(shown.strip().splitlines()) == 1 and "needs `pool_cnn`" in shown, shown
    ok, shown = _run(shell, capsys, "print(undefined_elsewhere)")
    assert not ok and "Traceback" in shown and "NameError" in shown  # an ordinary mistake keeps its traceback


def test_in_ipython_a_missing_value_answer_is_not_attempted_in_words(shell, capsys):
    ok, shown = _run(shell, capsys, "check('quiz_pool_size')")
    assert not ok
    assert shown.strip() == ("Not attempted yet: review question 1 (pooled size). `quiz_pool_size` is not defined "
                             "yet: write it in its cell above, run that cell, then this one.")


def test_a_stub_checked_in_the_notebook_is_recorded_as_not_attempted(shell, capsys, tmp_path):
    import json

    _run(shell, capsys, "def max_pool(x, size, stride):\n    raise NotImplementedError()")
    _run(shell, capsys, "check('max_pool')")
    records = json.loads((tmp_path / "progress.json").read_text())["exercises"]
    assert records["max_pool"]["status"] == "not attempted"


# -- the chapters as written ----------------------------------------------------------------------


def _free_reads(source: str) -> set[str]:
    top = symtable.symtable(source, "<cell>", "exec")
    names = {s.get_name() for s in top.get_symbols() if s.is_referenced()}
    todo = list(top.get_children())
    while todo:
        table = todo.pop()
        names |= {s.get_name() for s in table.get_symbols() if s.is_referenced() and s.is_global()}
        todo += table.get_children()
    return names


def _top_assigned(source: str) -> set[str]:
    return {s.get_name() for s in symtable.symtable(source, "<cell>", "exec").get_symbols()
            if s.is_assigned() or s.is_imported()}


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_no_loop_variable_of_a_cell_is_read_by_a_later_cell(chapter):
    """Chapter 6's ``for name, model in ...`` left a ``model`` that the training cell then trained."""
    nb = notebooks.read(notebooks.notebook_path(chapter, "solutions"))
    code = [(n, c.source) for n, c in enumerate(nb.cells) if c.cell_type == "code"]
    for n, source in code:
        loops = {name.id for node in ast.parse(source).body if isinstance(node, (ast.For, ast.AsyncFor))
                 for name in ast.walk(node.target) if isinstance(name, ast.Name)}
        for m, later in code:
            if m > n:
                leaked = loops & _free_reads(later) - _top_assigned(later)
                assert not leaked, f"{chapter}: cell {m} reads {sorted(leaked)}, left over from cell {n}'s loop"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_each_chapter_turns_the_hook_on_in_its_first_code_cell(chapter):
    nb = notebooks.read(notebooks.notebook_path(chapter, "notebooks"))
    first = next(c for c in nb.cells if c.cell_type == "code")
    assert "from helpers.unfinished import enable" in first.source and f'enable("{chapter}")' in first.source


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_exercises_are_listed_in_notebook_order(chapter):
    """The summary table, ``grader check`` and ``grader progress`` list them as the notebook does."""
    nb = notebooks.read(notebooks.notebook_path(chapter, "solutions"))
    order = list(notebooks.grade_cells(nb))
    assert [ex.key for ex in exercises(chapter)] == order
    assert [(e.key, e.answer, e.title, e.points) for e in entries(chapter)] == \
        [(ex.key, ex.answer, ex.title, ex.points) for ex in exercises(chapter)]


@pytest.mark.slow
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_a_blank_chapter_run_cell_by_cell_shows_no_traceback(chapter, tmp_path):
    """Every cell run in order in a real kernel, errors allowed (what "run cell by cell" does), shows what
    ``tests.support.assert_blank_run`` says a learner must see."""
    from grader.authoring.execute import execute

    path = notebooks.notebook_path(chapter, "notebooks")
    nb = notebooks.read(path)
    execute(nb, path.parent, timeout=600, allow_errors=True,
            env={"CONV_COURSE_PROGRESS": str(tmp_path / "progress.json")})
    assert_blank_run(chapter, nb.cells)
