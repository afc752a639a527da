"""One source of truth: solutions/ is valid nbgrader source, notebooks/ is derived from it and quiet."""

import json
import re
import subprocess
import sys

import pytest

from grader.authoring import notebooks
from grader.authoring.release import drift
from helpers.checks import exercises

CHAPTERS = notebooks.chapters("solutions")


def _nbgrader(*args, cwd=None):
    from grader.authoring.release import ensure_tools_on_path

    ensure_tools_on_path()
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], capture_output=True, text=True,
                          cwd=cwd or notebooks.ROOT)


def test_there_are_chapters():
    assert CHAPTERS and CHAPTERS[0] == "01-convolution-by-hand"
    assert notebooks.chapters("notebooks") == CHAPTERS


@pytest.mark.slow
def test_release_is_up_to_date():
    problems = drift()
    assert not problems, "\n".join(problems) + "\nrun `python -m grader release` and commit notebooks/"


@pytest.mark.slow
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_source_passes_nbgrader_validate(chapter):
    done = _nbgrader("validate", str(notebooks.notebook_path(chapter, "solutions")))
    assert "Success! Your notebook passes all the tests." in done.stdout, done.stdout + done.stderr


@pytest.mark.slow
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_untouched_release_fails_every_test(chapter):
    done = _nbgrader("validate", "--invert", str(notebooks.notebook_path(chapter, "notebooks")))
    assert "Success! The notebook does not pass any tests." in done.stdout, done.stdout + done.stderr


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_exercise_has_one_test_cell_with_its_points(chapter):
    nb = notebooks.read(notebooks.notebook_path(chapter, "solutions"))
    cells = notebooks.grade_cells(nb)
    defined = {ex.key: ex.points for ex in exercises(chapter)}
    assert cells == defined, "grade cells and exercise definitions disagree"
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade"):
            key = meta["grade_id"]
            assert re.search(rf'^check\("{key}"\)$', cell.source, re.M), f"{key}: no visible check"
            if not key.startswith("quiz_"):
                hidden = re.search(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", cell.source, re.S)
                assert hidden and f'check("{key}", hidden=True)' in hidden.group(1), f"{key}: no hidden test"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_answer_cell_precedes_its_test(chapter):
    nb = notebooks.read(notebooks.notebook_path(chapter, "solutions"))
    seen = []
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution"):
            seen.append(meta["grade_id"])
        elif meta.get("grade"):
            assert f"{meta['grade_id']}_answer" in seen, f"{meta['grade_id']} is tested before it is answered"


@pytest.mark.parametrize("step", ["solutions", "notebooks"])
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_notebooks_are_quiet(step, chapter):
    path = notebooks.notebook_path(chapter, step)
    raw = path.read_text()
    nb = json.loads(raw)
    assert raw == notebooks.dumps(notebooks.normalize(notebooks.read(path))), f"{path} is not normalised"
    assert set(nb["metadata"]) == {"kernelspec", "language_info"}, "widget state or other metadata stored"
    ids = [c["id"] for c in nb["cells"]]
    assert len(ids) == len(set(ids))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert (cell["execution_count"] is None) == (not cell["outputs"])
            assert "execution" not in cell["metadata"]
            if cell["outputs"]:
                assert notebooks.CHECK_OUTPUT_TAG in cell["metadata"].get("tags", [])
                assert all(o["output_type"] in ("stream", "execute_result") for o in cell["outputs"]), \
                    "only printed text is stored, never figures"
    assert len(raw) < 150_000, f"{path} is {len(raw)} bytes"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_source_ids_are_kept_in_the_release(chapter):
    source = [c.id for c in notebooks.read(notebooks.notebook_path(chapter, "solutions")).cells]
    release = [c.id for c in notebooks.read(notebooks.notebook_path(chapter, "notebooks")).cells]
    assert release == source


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_no_sys_path_edits_or_relative_data_paths(chapter):
    for step in ("solutions", "notebooks"):
        text = notebooks.notebook_path(chapter, step).read_text()
        assert "sys.path" not in text
        assert "../" not in text
