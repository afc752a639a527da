"""nbgrader's formgrader on the course grader's results, in a real JupyterLab and a real Chromium.

A course directory with one graded submission (recorded by ``python -m grader autograde``) is
served by ``jupyter lab`` on 127.0.0.1 with nbgrader's server and lab extensions. Chromium
(Playwright) checks that JupyterLab shows nbgrader's menu, that the formgrader's submissions
page gives the learner the total of ``grades.csv``, then makes a manual adjustment on the
grading page (a manual score, extra credit, a comment), as an instructor would, and grades
again after the learner's fix: the adjustment is still there and the page shows the new total.
"""

from __future__ import annotations

import re
import time

import pytest

from tests.courses import CH1, WRONG_CONVOLVE, csv_scores, env, grade, make_course, submit
from tests.support import student_notebook
from tests.lab import CHROMIUM, chromium, jupyter_lab, missing, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    if not CHROMIUM.exists():
        missing(f"{CHROMIUM} is missing (apt-get install chromium)")
    course = make_course(tmp_path_factory.mktemp("formgrader") / "course")
    submit(course, "carol", student_notebook(CH1, WRONG_CONVOLVE))
    graded = grade(course, "--workers", "1")
    assert graded.returncode == 0, graded.stderr
    return course


@pytest.fixture(scope="module")
def lab(course):
    with jupyter_lab(course, course.parent / "jupyter", env()) as (url, token):
        yield url, token


@pytest.fixture(scope="module")
def tab(lab, tmp_path_factory):
    with chromium(tmp_path_factory.mktemp("chromium-profile")) as context:
        page = context.pages[0] if context.pages else context.new_page()
        page.set_default_timeout(60_000)
        yield page


def _listed_score(page, url: str) -> str:
    """The score the formgrader's submissions page shows for carol, e.g. ``5 / 8``."""
    page.goto(f"{url}/formgrader/manage_submissions/{CH1}")
    row = page.locator("tr", has=page.locator(".student-id", has_text=re.compile(r"^carol$")))
    score = row.locator(".score")
    score.filter(has_text="/").wait_for()
    return score.inner_text().strip()


def _grading_page(tab, url: str, notebook_id: str) -> None:
    """The formgrader's grading page of one submitted notebook, once its grades and comments are in.

    The page fetches grades and comments by two separate requests after it loads; typing into a
    field before its request has answered would be overwritten when the answer arrives. (Not
    ``formgrader.loaded``: offline, MathJax's CDN script is missing and the page's set-up stops at it.)
    """
    tab.goto(f"{url}/formgrader/submissions/{notebook_id}/")
    tab.wait_for_function("() => window.formgrader && formgrader.grades && formgrader.grades.loaded"
                          " && formgrader.comments && formgrader.comments.loaded", timeout=60_000)


def test_formgrader_shows_the_graders_score_and_keeps_a_manual_adjustment(course, lab, tab):
    from nbgrader.api import Gradebook

    url, token = lab
    db = f"sqlite:///{course / 'gradebook.db'}"
    try:
        # JupyterLab with nbgrader's lab extension: its menu is there
        tab.goto(f"{url}/lab?token={token}")
        tab.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Nbgrader$")).wait_for(timeout=120_000)
        # the formgrader's submissions page: the total of grades.csv
        total = sum(s for (student, _, _), s in csv_scores(course / "grading-out" / "grades.csv").items()
                    if student == "carol")
        assert total == 5.0
        assert _listed_score(tab, url) == f"{total:g} / 8"
        # the grading page: a manual score, extra credit and a comment, typed as an instructor would
        with Gradebook(db, "conv-course") as gb:
            notebook_id = gb.find_submission_notebook(CH1, CH1, "carol").id
        _grading_page(tab, url, notebook_id)
        score = tab.locator("input.score#convolve")
        assert score.get_attribute("placeholder") == "0"  # the auto score
        score.fill("2")
        score.press("Tab")
        credit = tab.locator("input.extra-credit#top_edge_extra_credit")
        credit.fill("0.5")
        credit.press("Tab")
        comment = tab.locator("textarea#convolve_answer-comment")
        comment.fill("Close: check the output size.")
        comment.press("Tab")
        deadline = time.monotonic() + 30
        while True:
            with Gradebook(db, "conv-course") as gb:
                saved = (gb.find_grade("convolve", CH1, CH1, "carol").manual_score,
                         gb.find_grade("top_edge", CH1, CH1, "carol").extra_credit,
                         gb.find_comment("convolve_answer", CH1, CH1, "carol").manual_comment)
            if saved == (2.0, 0.5, "Close: check the output size.") or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert saved == (2.0, 0.5, "Close: check the output size."), "the formgrader did not save the adjustment"
        assert _listed_score(tab, url) == "7.5 / 8"  # 5 - 0 (auto) + 2 (manual) + 0.5 (extra credit)

        # the learner fixes the answer; the instructor grades again
        submit(course, "carol", student_notebook(CH1), timestamp="2026-11-30 09:00:00.000000 UTC")
        again = grade(course, "--workers", "1")
        assert again.returncode == 0, again.stderr
        with Gradebook(db, "conv-course") as gb:
            convolve = gb.find_grade("convolve", CH1, CH1, "carol")
            assert (convolve.auto_score, convolve.manual_score) == (3.0, 2.0)
            assert gb.find_grade("top_edge", CH1, CH1, "carol").extra_credit == 0.5
            assert gb.find_comment("convolve_answer", CH1, CH1, "carol").manual_comment == "Close: check the output size."
        assert _listed_score(tab, url) == "7.5 / 8", "the manual score must still stand (8 - 3 + 2 + 0.5)"
        from playwright.sync_api import expect

        _grading_page(tab, url, notebook_id)
        expect(tab.locator("input.score#convolve")).to_have_value("2")
        expect(tab.locator("input.score#convolve")).to_have_attribute("placeholder", "3")
        expect(tab.locator("input.extra-credit#top_edge_extra_credit")).to_have_value("0.5")
        expect(tab.locator("textarea#convolve_answer-comment")).to_have_value("Close: check the output size.")
    except Exception:
        screenshot(tab, "formgrader")
        raise
