"""The hub's formgrader extension (``hub.formgrader``) in a real JupyterLab, without the hub: faster than
the week of a class in ``tests/test_hub.py``, and about what that test cannot see quickly.

The course is the class file's *second* course (``conv-course-evening``): its ``nbgrader_config.py`` is
the one ``make hub`` writes from ``hub/class.toml``, so the gradebook's course id must come from there,
not from the course's default. Two learners hand in chapter 1: grace's answers are right, hedy's
``convolve`` calls ``F.conv2d``, which the by-hand exercise refuses with a long message (over 150 characters). Then, over the
formgrader's own API (token, as the page's button posts it):

* Autograde on hedy's row grades hedy only (grace's submission is neither graded nor recorded), into the
  evening course's gradebook; the refusal is in the "What grading found" cell and hedy is flagged;
* Autograde on grace's row grades grace, and hedy's result stays in ``report.json`` untouched;
* in Chromium, the formgrader's page of hedy's notebook and ``generate_feedback``'s page show every
  verdict line whole: no output is wider than its box (screenshots in ``test-artifacts/hub-formgrader/``).
"""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path

import pytest

from grader.authoring.config import ROOT
from hub import classroom
from helpers.protocol import WRAP_WIDTH
from tests.courses import CH1, env, nbgrader, submit
from tests.lab import ARTIFACTS, chromium, jupyter_lab, need_browser
from tests.support import student_notebook

pytestmark = [pytest.mark.slow, pytest.mark.browser]

SHOTS = ARTIFACTS / "hub-formgrader"
CLASS = """
[[course]]
id = "conv-course"
instructors = ["root"]
learners = ["ada"]

[[course]]
id = "conv-course-evening"
instructors = ["root2"]
learners = [{ id = "grace", first_name = "Grace", last_name = "Hopper" },
            { id = "hedy", first_name = "Hedy", last_name = "Lamarr" }]
"""
SHORTCUT = {"convolve_answer": "def convolve(img, kernel):\n    return F.conv2d(img[None, None], kernel[None, None])[0, 0]"}
#: Lines no wider than this fit the formgrader's and the feedback page's output boxes (checked in Chromium below).
OVERFLOW_JS = """() => [...document.querySelectorAll('pre')]
    .filter(p => p.offsetParent !== null && p.scrollWidth > p.clientWidth + 1)
    .map(p => p.innerText.slice(0, 80))"""


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    need_browser()
    place = tmp_path_factory.mktemp("hub-formgrader")
    (place / "class.toml").write_text(CLASS)
    cls = classroom.load(place / "class.toml")
    evening = cls.courses[1]
    folder = place / evening.id
    folder.mkdir()
    (folder / "nbgrader_config.py").write_text(classroom.course_config(evening, cls, directory=folder))
    classroom.enrol(evening, folder / "gradebook.db")
    submit(folder, "grace", student_notebook(CH1))
    submit(folder, "hedy", student_notebook(CH1, SHORTCUT))
    return folder


@pytest.fixture(scope="module")
def lab(course):
    server_env = env(PYTHONPATH=str(ROOT), JUPYTER_CONFIG_PATH=str(ROOT / "hub" / "jupyter" / "instructor"))
    with jupyter_lab(course, course.parent / "jupyter", server_env) as (url, token):
        yield url, token


def autograde(lab, student: str) -> dict:
    """The formgrader's Autograde of ``student``'s chapter 1, as its button posts it."""
    url, token = lab
    request = urllib.request.Request(f"{url}/formgrader/api/submission/{CH1}/{student}/autograde", data=b"",
                                     method="POST", headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=900) as answer:
        return json.loads(answer.read())


def submissions(course: Path) -> dict[str, str]:
    report = json.loads((course / "grading-out" / "report.json").read_text())
    return {s["student"]: s["status"] for s in report["submissions"]}


def test_autograde_on_a_row_grades_that_submission_only_into_the_courses_own_gradebook(course, lab):
    from nbgrader.api import Assignment, Course, Gradebook, MissingEntry

    answer = autograde(lab, "hedy")
    assert answer["success"] is True, answer
    assert "--student hedy --assignment 01-convolution-by-hand" in answer["log"], answer["log"]
    assert "1 of 1 submissions graded" in answer["log"] and "1 recorded in the gradebook" in answer["log"]
    assert submissions(course) == {"hedy": "graded"}
    assert not (course / "autograded" / "grace").exists(), "grace was not asked for"
    db = f"sqlite:///{course / 'gradebook.db'}"
    with Gradebook(db, "conv-course-evening") as gb:
        # the class file's id; the course's default id is not used (nbgrader's own SaveCells adds its
        # "default_course" row whatever the configuration says)
        assert "conv-course" not in {c.id for c in gb.db.query(Course).all()}
        assert [a.course_id for a in gb.db.query(Assignment).all()] == ["conv-course-evening"]
        hedy = gb.find_submission_notebook(CH1, CH1, "hedy")
        assert hedy.flagged is True and hedy.student.first_name == "Hedy"
        with pytest.raises(MissingEntry):
            gb.find_submission(CH1, "grace")
        hedy_id = hedy.id

    # the refusal is a finding, in the grader's words, at the top of the notebook the formgrader shows
    graded = json.loads((course / "autograded" / "hedy" / CH1 / f"{CH1}.ipynb").read_text())
    first = "".join(graded["cells"][0]["source"])
    assert "What grading found" in first
    assert "* convolve: refused: " in first and "must be computed by hand, but it called torch&#x27;s built-in " \
        "`convolution`" in first, first
    assert f"hedy {CH1}: flagged, 1 finding(s)" in answer["log"]
    # every verdict line the grader wrote is wrapped (the refusal's message alone is over 150 characters)
    lines = [line for cell in graded["cells"] for out in cell.get("outputs", [])
             for line in "".join(out.get("text", "")).splitlines()]
    assert any("must be computed by hand" in line for line in lines)
    assert lines and max(len(line) for line in lines) <= WRAP_WIDTH, max(lines, key=len)
    before = (course / "autograded" / "hedy" / CH1 / f"{CH1}.ipynb").stat().st_mtime_ns

    answer = autograde(lab, "grace")
    assert answer["success"] is True, answer
    assert "1 recorded in the gradebook" in answer["log"], answer["log"]
    assert submissions(course) == {"grace": "graded", "hedy": "graded"}  # hedy's result kept, not redone
    assert (course / "autograded" / "hedy" / CH1 / f"{CH1}.ipynb").stat().st_mtime_ns == before
    with Gradebook(db, "conv-course-evening") as gb:
        grace = gb.find_submission(CH1, "grace")
        assert grace.score == grace.max_score == 8
        assert gb.find_submission_notebook(CH1, CH1, "grace").flagged is False

    # in Chromium: the formgrader's page and generate_feedback's page show each line whole
    nbgrader(course, "generate_feedback", CH1, "--student", "hedy")
    feedback = course / "feedback" / "hedy" / CH1 / f"{CH1}.html"
    url, token = lab
    SHOTS.mkdir(parents=True, exist_ok=True)
    with chromium(course.parent / "profile") as context:
        page = context.new_page()
        page.goto(f"{url}/formgrader/submissions/{hedy_id}/?token={token}")
        page.get_by_text("What grading found").first.wait_for(timeout=60_000)
        page.get_by_text("must be computed by hand").first.wait_for()
        page.screenshot(path=str(SHOTS / "formgrader-hedy.png"), full_page=True)
        assert page.evaluate(OVERFLOW_JS) == [], "an output of the formgrader's page is cut off"
        page.goto(feedback.as_uri())
        page.get_by_text("What grading found").first.wait_for()
        body = page.locator("body").inner_text()
        assert "must be computed by hand" in body and "refused:" in body
        page.screenshot(path=str(SHOTS / "feedback-hedy.png"), full_page=True)
        assert page.evaluate(OVERFLOW_JS) == [], "an output of the feedback page is cut off"


def test_the_width_check_rejects_an_unwrapped_verdict_on_nbgraders_feedback_page(tmp_path):
    """The check above, proven: nbgrader's feedback template shows a stream output in a ``<pre>`` that does
    not wrap (its classic-template base would, the feedback page drops that style), so a verdict line of
    about 300 characters overflows its box, and the same verdict wrapped by the course does not."""
    import nbformat
    from nbconvert import HTMLExporter
    from nbgrader.server_extensions.formgrader.handlers import template_path

    from helpers.checks.core import refusal_message
    from helpers.protocol import wrapped
    from tests.lab import CHROMIUM, CHROMIUM_ARGS

    need_browser()
    verdict = f"failed: 0 of 3 points\n{refusal_message('`convolve`', 'convolution')} " * 2
    bootstrap = Path(template_path).parent / "static" / "node_modules" / "bootstrap" / "dist" / "css"
    exporter = HTMLExporter(template_name="feedback", extra_template_basedirs=[template_path],
                            extra_template_paths=[str(bootstrap)])

    def page_of(text: str) -> str:
        cell = nbformat.v4.new_code_cell("check()", outputs=[nbformat.v4.new_output("stream", name="stdout", text=text)])
        resources = {"nbgrader": {"notebook": CH1, "score": 0, "max_score": 3, "late_penalty": 0}}
        return exporter.from_notebook_node(nbformat.v4.new_notebook(cells=[cell]), resources=resources)[0]

    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_content(page_of(verdict))
            assert page.evaluate(OVERFLOW_JS) != [], "an unwrapped 300-character line must be seen as cut off"
            page.set_content(page_of("\n".join(wrapped(verdict))))
            assert page.evaluate(OVERFLOW_JS) == []
        finally:
            browser.close()
