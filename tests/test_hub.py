"""A week of a class on the course's JupyterHub, in a real Chromium, with real Unix accounts.

``make hub`` (the README's command) serves a class file written for the test: two courses, each
with its own instructor; two learners in the first, one in the second. Every account is a real
Unix account made for the test with a password, logging in through the hub's PAM login page.
Then, all in the browser:

1. the instructor opens the Formgrader (only instructors have it), clicks Generate (the course's
   release of chapter 1, checked, nothing rewritten) and Release;
2. two learners fetch chapter 1 in their Assignments tab, answer it (one right, one with a wrong
   quiz answer) and submit it; a learner of the other course does not see it;
3. the instructor collects, clicks Autograde on one learner's row (the course's sandboxed grader grades
   that submission only and records it in the gradebook), then on the other's, gives one score by hand,
   generates and releases feedback;
4. each learner fetches their feedback and reads their score and verdicts.

Screenshots of every step are kept in ``test-artifacts/hub/``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from grader.authoring.config import ROOT
from tests.courses import CH1
from tests import hubs
from tests.hubs import assignments_tab, log_in, nbgrader_menu
from tests.lab import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, free_port, need_browser
from tests.support import solution_code
from tests.unix_users import why_not

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = ARTIFACTS / "hub"
#: The partly wrong answer: the second review question (7 of chapter 1's 8 points), and its test cell
#: edited to pass anyway (grading runs the original and says so).
WRONG = {"quiz_edge_kernel_answer": 'quiz_edge_kernel = "right_edge"', "quiz_edge_kernel": "pass  # trust me"}
EDITED = "test cell quiz_edge_kernel was edited; the original was run"  # as shown: the name in code type
COURSE, OTHER = "conv-course", "conv-course-evening"


@pytest.fixture(scope="module")
def place():
    why = why_not()
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"the hub test needs real accounts: {why} (CI is set: .ci/run runs as root)")
        pytest.skip(f"the hub test needs real accounts: {why}")
    need_browser()
    folder = Path(tempfile.mkdtemp(prefix="conv-course-hub-", dir="/tmp"))
    os.chmod(folder, 0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def accounts(place):
    """Five real accounts (two instructors, three learners), each with a password; removed afterwards."""
    with hubs.accounts(place / "home", ["ines", "ada", "alan", "ivan", "grace"]) as made:
        yield made


@pytest.fixture(scope="module")
def hub(place, accounts):
    """``make hub HUB_CLASS=...`` (two courses, each with its instructor) in the background: its URL."""
    a, port = accounts, free_port()
    path = hubs.class_file(place, port, [
        (COURSE, a["ines"], [(a["ada"], "Ada", "Lovelace"), (a["alan"], "Alan", "Turing")]),
        (OTHER, a["ivan"], [a["grace"]])])
    try:
        with hubs.running_hub(place, path, port) as (url, seconds):
            print(f"hub answering {seconds:.1f} s after make hub")
            yield url
    finally:
        SHOTS.mkdir(parents=True, exist_ok=True)
        if (place / "hub.log").exists():
            shutil.copy(place / "hub.log", SHOTS / "hub.log")


@pytest.fixture(scope="module")
def browser(hub):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Step:
    """Numbered screenshots: ``test-artifacts/hub/NN-<what>.png``."""

    def __init__(self):
        SHOTS.mkdir(parents=True, exist_ok=True)
        for old in SHOTS.glob("*.png"):
            old.unlink()
        self.n = 0

    def shot(self, page, what: str) -> None:
        self.n += 1
        page.screenshot(path=str(SHOTS / f"{self.n:02d}-{what}.png"), full_page=True)


def answer(page, url: str, user: str, path: str, answers: dict[str, str]) -> None:
    """The learner's answers saved into their fetched notebook through their own server (as JupyterLab saves)."""
    xsrf = next(c["value"] for c in page.context.cookies() if c["name"] == "_xsrf")
    api = f"{url}/user/{user}/api/contents/{path}"
    model = page.request.get(f"{api}?content=1&type=notebook")
    assert model.ok, f"{path}: {model.status} {model.text()[:300]}"
    nb = model.json()["content"]
    for cell in nb["cells"]:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid in answers:
            cell["source"] = answers[gid]
    saved = page.request.put(api, data=json.dumps({"type": "notebook", "format": "json", "content": nb}),
                             headers={"X-XSRFToken": xsrf, "Content-Type": "application/json"})
    assert saved.ok, f"saving {path}: {saved.status} {saved.text()[:300]}"


def modal_text(page, title: re.Pattern) -> str:
    """The text of the formgrader's result dialog once it shows ``title``; the dialog is closed."""
    modal = page.locator(".modal .modal-content").filter(has_text=title)
    modal.wait_for(timeout=900_000)
    return modal.inner_text()


def close_modal(page) -> None:
    page.locator(".modal .modal-footer button", has_text="OK").click()
    page.locator(".modal").wait_for(state="detached")


def gradebook_total(course_dir: Path, student: str) -> float:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}", COURSE) as gb:
        return gb.find_submission(CH1, student).score


def test_a_week_of_a_class_on_the_hub(hub, accounts, browser, place):
    url, a = hub, accounts
    step = Step()
    course_dir = a["ines"].home / COURSE
    fetched = f"{COURSE}/{CH1}/{CH1}.ipynb"
    right, wrong = solution_code(CH1), {**solution_code(CH1), **WRONG}

    # the exchange is root's, writable by all with the sticky bit, as nbgrader documents
    exchange = place / "exchange"
    assert (exchange.stat().st_uid, exchange.stat().st_mode & 0o7777) == (0, 0o1777)

    # -- the instructor: Formgrader in the menu, Generate checks the release, Release
    ines = log_in(browser, url, a["ines"])
    assert "Formgrader" in nbgrader_menu(ines)
    step.shot(ines, "instructor-nbgrader-menu")
    ines.keyboard.press("Escape")
    ines.goto(f"{url}/user/{a['ines'].name}/formgrader/manage_assignments")
    row = ines.locator("tr", has=ines.locator("td.name", has_text=CH1))
    row.locator("td.assign a").click()
    text = modal_text(ines, re.compile(r"Successfully created the student version|There was an error"))
    step.shot(ines, "instructor-generate-checks-the-release")
    assert f"is the course's release of solutions/{CH1}" in text and "nothing rewritten" in text, text
    close_modal(ines)
    released = (ROOT / "notebooks" / CH1 / f"{CH1}.ipynb").read_bytes()
    row.locator("td.release a").click()
    modal_text(ines, re.compile(r"Successfully released"))
    close_modal(ines)
    row.locator("td.status", has_text="released").wait_for()
    step.shot(ines, "instructor-released-chapter-1")
    inbound = exchange / COURSE / "inbound"
    assert inbound.stat().st_uid == os.stat(a["ines"].home).st_uid and inbound.stat().st_mode & 0o7777 == 0o2733

    # -- two learners fetch, answer and submit in their Assignments tab
    for role, answers in (("ada", right), ("alan", wrong)):
        page = log_in(browser, url, a[role])
        assert "Formgrader" not in nbgrader_menu(page), "a learner must not have the Formgrader"
        page.keyboard.press("Escape")
        assignments_tab(page)
        item = page.locator("#released_assignments_list .list_item", has_text=CH1)
        assert item.locator(".item_course").inner_text().strip() == COURSE
        step.shot(page, f"{role}-assignments-tab")
        item.locator("button", has_text="Fetch").click()
        page.locator("#fetched_assignments_list .list_item", has_text=CH1).first.wait_for()
        step.shot(page, f"{role}-fetched")
        answer(page, url, a[role].name, fetched, answers)
        page.goto(f"{url}/user/{a[role].name}/lab/tree/{fetched}")
        page.locator(".jp-Notebook .jp-Cell").first.wait_for()
        step.shot(page, f"{role}-answered")
        assignments_tab(page)
        page.locator("#fetched_assignments_list button", has_text="Submit").first.click()
        page.locator("#submitted_assignments_list .list_item", has_text=re.compile(r"\d{4}-\d\d-\d\d")).first.wait_for()
        step.shot(page, f"{role}-submitted")
        page.context.close()

    # -- a learner of the other course sees neither the chapter nor the course
    grace = log_in(browser, url, a["grace"])
    grace.keyboard.press("Escape")
    assignments_tab(grace)
    grace.locator("#released_assignments_list_placeholder").wait_for()
    assert CH1 not in grace.locator("#released_assignments_list").inner_text()
    courses = [t.strip() for t in grace.locator("#course_list li").all_inner_texts()]
    assert COURSE not in courses, courses
    step.shot(grace, "other-course-learner-sees-nothing")
    grace.context.close()

    # -- the instructor collects, autogrades with the course's grader, adjusts one score
    ines.goto(f"{url}/user/{a['ines'].name}/formgrader/manage_assignments")
    row = ines.locator("tr", has=ines.locator("td.name", has_text=CH1))
    row.locator("td.collect a").click()
    modal_text(ines, re.compile(r"Successfully collected"))
    close_modal(ines)
    ines.goto(f"{url}/user/{a['ines'].name}/formgrader/manage_submissions/{CH1}")
    student_row = ines.locator("tr", has=ines.locator(".student-id", has_text=a["alan"].name))
    student_row.locator(".autograde a").click()
    text = modal_text(ines, re.compile(r"Successfully autograded|There was an error"))
    step.shot(ines, "instructor-autograde-ran-the-course-grader")
    assert "python -m grader autograde" in text and f"--student {a['alan'].name}" in text, text
    assert "1 of 1 submissions graded" in text and "1 recorded in the gradebook" in text, text  # alan's row only
    alan_log = text
    close_modal(ines)
    assert not (course_dir / "autograded" / a["ada"].name).exists(), "Autograde on alan's row graded ada too"
    ada_row = ines.locator("tr", has=ines.locator(".student-id", has_text=a["ada"].name))
    ada_row.locator(".autograde a").click()
    text = modal_text(ines, re.compile(r"Successfully autograded|There was an error"))
    assert "2 of 2 submissions graded" in text and "1 recorded in the gradebook" in text, text  # alan's kept
    close_modal(ines)
    report = json.loads((course_dir / "grading-out" / "report.json").read_text())
    assert {(s["student"], s["status"]) for s in report["submissions"]} == {
        (a["ada"].name, "graded"), (a["alan"].name, "graded")}
    assert gradebook_total(course_dir, a["ada"].name) == 8.0
    assert gradebook_total(course_dir, a["alan"].name) == 7.0
    assert "python -m hub.findings" in alan_log and f"{a['alan'].name} {CH1}: flagged" in alan_log, alan_log
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}", COURSE) as gb:
        assert gb.find_submission_notebook(CH1, CH1, a["alan"].name).flagged is True
        assert gb.find_submission_notebook(CH1, CH1, a["ada"].name).flagged is False
    ines.reload()
    ines.locator(".score", has_text="7 / 8").wait_for()
    step.shot(ines, "instructor-submissions-scores")

    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}", COURSE) as gb:
        notebook_id = gb.find_submission_notebook(CH1, CH1, a["alan"].name).id
    ines.goto(f"{url}/user/{a['ines'].name}/formgrader/submissions/{notebook_id}/")
    ines.wait_for_function("() => window.formgrader && formgrader.grades && formgrader.grades.loaded"
                           " && formgrader.comments && formgrader.comments.loaded")
    ines.get_by_text("What grading found").first.wait_for()
    assert EDITED in ines.locator("body").inner_text(), "the formgrader must show what grading found"
    score = ines.locator("input.score#quiz_edge_kernel")
    score.fill("0.5")
    score.press("Tab")
    comment = ines.locator("textarea#quiz_edge_kernel_answer-comment")
    comment.fill("Half a point: the reasoning in class was right.")
    comment.press("Tab")
    deadline = time.monotonic() + 30
    while gradebook_total(course_dir, a["alan"].name) != 7.5 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert gradebook_total(course_dir, a["alan"].name) == 7.5, "the formgrader did not save the manual score"
    step.shot(ines, "instructor-adjusts-a-score-by-hand")

    # -- feedback, generated and released from the formgrader
    ines.goto(f"{url}/user/{a['ines'].name}/formgrader/manage_assignments")
    row = ines.locator("tr", has=ines.locator("td.name", has_text=CH1))
    row.locator("td.generate-feedback a").click()
    modal_text(ines, re.compile(r"Successfully generated feedback"))
    close_modal(ines)
    row.locator("td.release-feedback a").click()
    modal_text(ines, re.compile(r"Successfully released feedback"))
    close_modal(ines)
    step.shot(ines, "instructor-released-feedback")
    assert (ROOT / "notebooks" / CH1 / f"{CH1}.ipynb").read_bytes() == released, "the release was rewritten"

    # -- each learner reads their score and verdicts in the browser
    for role, total in (("ada", "8.0 / 8.0"), ("alan", "7.5 / 8.0")):
        page = log_in(browser, url, a[role])
        page.keyboard.press("Escape")
        assignments_tab(page)
        page.locator("#submitted_assignments_list button", has_text="Fetch Feedback").first.click()
        page.locator("#submitted_assignments_list a", has_text="view feedback").first.wait_for()
        step.shot(page, f"{role}-fetched-feedback")
        pages = sorted((a[role].home / COURSE / CH1 / "feedback").glob(f"*/{CH1}.html"))
        assert len(pages) == 1
        relative = pages[0].relative_to(a[role].home)
        page.goto(f"{url}/user/{a[role].name}/files/{relative}")
        body = page.locator("body").inner_text()
        assert f"{CH1} (Score: {total})" in body, body[:500]
        step.shot(page, f"{role}-reads-feedback")
        if role == "alan":
            assert "Half a point: the reasoning in class was right." in body
            assert "What grading found" in body and EDITED in body
        else:
            assert "What grading found" not in body
        page.context.close()
