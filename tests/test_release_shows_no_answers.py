"""A release shows nothing computed from a solution, and nothing stale from the solution's run."""

import json
import re

import pytest

from grader.authoring import notebooks
from grader.check import run_order_warning, with_reference_outputs
from helpers.checks import exercises
from tests.support import solution_code

CHAPTERS = notebooks.chapters("solutions")


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_no_release_cell_has_an_output_or_an_execution_count(chapter):
    nb = json.loads(notebooks.notebook_path(chapter, "notebooks").read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code
    shown = [c["id"] for c in code if c["outputs"] or c["execution_count"] is not None]
    assert not shown, f"{chapter}: cells showing outputs or counts from the solution's run: {shown}"
    assert not [c["id"] for c in nb["cells"] if c.get("attachments")], "no images carried into the release"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_the_source_keeps_the_reference_outputs(chapter):
    """What the release no longer carries is still where ``grader check --outputs`` reads it."""
    nb = notebooks.read(notebooks.notebook_path(chapter, "solutions"))
    checked = [c for c in nb.cells if c.cell_type == "code" and notebooks.CHECK_OUTPUT_TAG in notebooks.tags(c)]
    assert checked and all(c.outputs and c.execution_count for c in checked)


def _value_answers(chapter: str) -> dict[str, object]:
    """The solution's value of each value exercise (the quizzes' answers), computed from its answer cell."""
    found = {}
    code = solution_code(chapter)
    for ex in exercises(chapter):
        if ex.kind != "value" or f"{ex.key}_answer" not in code:
            continue
        namespace: dict = {}
        try:
            exec(code[f"{ex.key}_answer"], {"__builtins__": __builtins__}, namespace)  # literals and arithmetic
        except Exception:  # noqa: BLE001 - an answer built from the notebook's names is not a literal
            continue
        if ex.answer in namespace:
            found[ex.key] = namespace[ex.answer]
    return found


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_no_cell_of_the_release_spells_out_a_numeric_answer(chapter):
    """e.g. chapter 4's training plot was titled with simple_cnn's 6,722 parameters, review question 2's answer,
    and its prose read 6,722 and 18,432 off the summary table before the questions asked for them."""
    release = notebooks.read(notebooks.notebook_path(chapter, "notebooks"))
    code = "\n".join(c.source for c in release.cells)
    for key, value in _value_answers(chapter).items():
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 100:
            for spelled in {str(value), f"{value:,}"}:
                assert not re.search(rf"(?<![\d,]){re.escape(spelled)}(?![\d,])", code), \
                    f"{chapter}: the answer of {key} ({spelled}) is written in the release"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_an_untouched_release_gets_no_false_run_order_warning(chapter):
    """Counts copied from the solution's run made an unopened notebook look 'not restarted'."""
    data = json.loads(notebooks.notebook_path(chapter, "notebooks").read_text())
    warning = run_order_warning(data) or ""
    assert "not restarted" not in warning and "out of order" not in warning
    assert "no code cell of the saved file was run" in warning


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_reference_outputs_come_from_the_source_at_check_time(chapter):
    release = json.loads(notebooks.notebook_path(chapter, "notebooks").read_text())
    source = notebooks.read(notebooks.notebook_path(chapter, "solutions"))
    copy, restored = with_reference_outputs(release, chapter)
    expected = [n for n, c in enumerate(source.cells, start=1)
                if c.cell_type == "code" and notebooks.CHECK_OUTPUT_TAG in notebooks.tags(c) and c.outputs]
    assert restored == expected
    by_id = {c.id: c for c in source.cells}
    for number in restored:
        cell = copy["cells"][number - 1]
        assert cell["outputs"] == json.loads(json.dumps(by_id[cell["id"]].outputs))
    assert all(not c["outputs"] for c in release["cells"] if c["cell_type"] == "code"), "the input was changed"


def test_without_solutions_the_outputs_check_says_why(tmp_path):
    from grader.check import CheckInputError

    chapter = CHAPTERS[0]
    release = json.loads(notebooks.notebook_path(chapter, "notebooks").read_text())
    with pytest.raises(CheckInputError, match="does not have"):
        with_reference_outputs(release, chapter, root=tmp_path)
