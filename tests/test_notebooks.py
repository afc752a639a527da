"""One source of truth: solutions/ is valid nbgrader source, notebooks/ is derived from it and quiet."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from grader import cells
from grader.authoring import notebooks
from grader.authoring.release import drift
from helpers.checks import exercises

CHAPTERS = notebooks.chapters("solutions")


def test_there_are_chapters():
    assert CHAPTERS and CHAPTERS[0] == "01-convolution-by-hand"
    assert notebooks.chapters("notebooks") == CHAPTERS


@pytest.mark.slow
def test_release_is_up_to_date():
    problems = drift()
    assert not problems, "\n".join(problems) + "\nrun `python -m grader release` and commit notebooks/"


def _validate_every_chapter(folder: str, *flags: str) -> subprocess.Popen:
    """One real ``nbgrader validate`` over every chapter of ``folder`` (one process, not one per chapter)."""
    from grader.authoring.release import ensure_tools_on_path

    ensure_tools_on_path()
    paths = [str(notebooks.notebook_path(chapter, folder)) for chapter in CHAPTERS]
    # its log (stderr) and its verdicts (stdout) in one stream, in the order they were written
    return subprocess.Popen([sys.executable, "-m", "nbgrader", "validate", *flags, *paths], cwd=notebooks.ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})


def _per_chapter(folder: str, printed: str) -> dict[str, str]:
    """What nbgrader printed for each chapter, split at its ``Validating '<path>'`` lines."""
    chapter_of = {str(notebooks.notebook_path(chapter, folder)): chapter for chapter in CHAPTERS}
    shown: dict[str, list[str]] = {}
    current = None
    for line in printed.splitlines():
        found = re.search(r"Validating '(.+)'", line)
        if found:
            current = chapter_of.get(found.group(1))
            shown[current] = []
        elif current:
            shown[current].append(line)
    return {chapter: "\n".join(lines) for chapter, lines in shown.items()}


@pytest.fixture(scope="module")
def validated():
    """nbgrader's verdicts: the sources validated, the untouched releases validated with ``--invert``."""
    runs = {"solutions": _validate_every_chapter("solutions"),
            "notebooks": _validate_every_chapter("notebooks", "--invert")}
    printed = {folder: run.communicate(timeout=1800)[0] for folder, run in runs.items()}
    return {folder: (_per_chapter(folder, text), text) for folder, text in printed.items()}


def _verdict(validated, folder: str, chapter: str) -> str:
    shown, printed = validated[folder]
    assert chapter in shown, f"nbgrader validate stopped before {chapter}:\n{printed[-3000:]}"
    return shown[chapter]


@pytest.mark.slow
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_source_passes_nbgrader_validate(validated, chapter):
    shown = _verdict(validated, "solutions", chapter)
    assert "Success! Your notebook passes all the tests." in shown, shown


@pytest.mark.slow
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_untouched_release_fails_every_test(validated, chapter):
    shown = _verdict(validated, "notebooks", chapter)
    assert "Success! The notebook does not pass any tests." in shown, shown


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_exercise_has_one_test_cell_with_its_points(chapter):
    nb = notebooks.read(notebooks.notebook_path(chapter, "solutions"))
    defined = {ex.key: ex.points for ex in exercises(chapter)}
    assert notebooks.grade_cells(nb) == defined, "grade cells and exercise definitions disagree"
    for cell in nb.cells:
        if cells.is_grade(cell):
            key = cells.grade_id(cell)
            assert re.search(rf'^check\("{key}"\)$', cell.source, re.M), f"{key}: no visible check"
            if not key.startswith("quiz_"):
                hidden = re.search(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", cell.source, re.S)
                assert hidden and f'check("{key}", hidden=True)' in hidden.group(1), f"{key}: no hidden test"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_answer_cell_precedes_its_test(chapter):
    nb = notebooks.read(notebooks.notebook_path(chapter, "solutions"))
    seen = []
    for cell in nb.cells:
        if cells.is_solution(cell):
            seen.append(cells.grade_id(cell))
        elif cells.is_grade(cell):
            assert f"{cells.grade_id(cell)}_answer" in seen, f"{cells.grade_id(cell)} is tested before it is answered"


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


def test_course_kernels_listen_on_unix_sockets_of_their_own(tmp_path, monkeypatch):
    """A TCP port picked for a kernel can be taken before the kernel binds it; a fresh socket file cannot.
    nbgrader's runs and the course's own use the same kernel manager; a runtime folder too deep for a
    Unix socket's path falls back to TCP."""
    import nbformat
    from traitlets.config import Config

    from grader.authoring.config import configure
    from grader.authoring.execute import execute
    from grader.authoring.kernels import IpcKernelManager

    runtime = Path(tempfile.mkdtemp(prefix="rt-"))  # short: pytest's tmp_path is too deep for a socket
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(runtime))
    one, two = IpcKernelManager(), IpcKernelManager()
    assert one.transport == two.transport == "ipc"
    assert one.ip != two.ip and os.path.dirname(one.ip) == str(runtime)
    settings = Config()
    configure(settings)
    assert settings.Execute.kernel_manager_class is IpcKernelManager
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "from ipykernel.kernelapp import IPKernelApp\nprint(IPKernelApp.instance().transport)")])
    execute(nb, tmp_path)
    assert nb.cells[0].outputs[0]["text"] == "ipc\n"
    assert not list(runtime.glob("kernel-*-ipc-*")), "the kernel's sockets outlived it"
    shutil.rmtree(runtime)
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / ("deep" * 30)))
    assert IpcKernelManager().transport == "tcp"
