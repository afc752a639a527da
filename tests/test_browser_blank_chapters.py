"""Each blank chapter, as released, run cell by cell in a real JupyterLab in a real Chromium.

A learner who opens a chapter and presses Shift+Enter on every cell, without writing any answer,
must see no traceback outside the exercises' own test cells: a cell that needs an unfinished
answer shows one line naming the exercise, a test cell says "Not attempted yet" in words, and
figures and explorers that need no answer are drawn (chapter 4's explorer starts from the
course's trained model). The test presses Shift+Enter itself, waits for each code cell's
prompt to get its number, saves with Ctrl+S, then reads what was shown both from the page and
from the saved file.

It reuses the server and browser plumbing of :mod:`tests.test_browser` (skipped without
``/usr/bin/chromium`` unless ``CI`` is set) and ends only the processes it started.
"""

from __future__ import annotations

import json
import os
import time
import urllib.request

import pytest

from grader.authoring import notebooks
from tests.a11y import COURSE_IN_LAB, counts, run_axe, severe_of_course
from tests.lab import chromium, jupyter_lab, kernel_ready, need_browser, screenshot
from tests.support import assert_blank_run

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHAPTERS = notebooks.chapters("notebooks")
#: What a chapter must draw without any answer (a class its figure or explorer carries).
DRAWN = {"04-conv2d-and-a-first-cnn": ".cc-feature-maps", "01-convolution-by-hand": ".cc-kernel-walk"}


@pytest.fixture(scope="module")
def blank_lab(tmp_path_factory):
    """JupyterLab on 127.0.0.1 serving a copy of every released chapter; yields (url, token, folder)."""
    need_browser()
    folder = tmp_path_factory.mktemp("blank-lab")
    for chapter in CHAPTERS:
        (folder / f"{chapter}.ipynb").write_bytes(notebooks.notebook_path(chapter, "notebooks").read_bytes())
    settings = folder / ".settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    # every cell in the page, so the test can read each one's prompt and outputs
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    with jupyter_lab(folder, folder, {**os.environ, "CONV_COURSE_PROGRESS": str(folder / "progress.json")},
                     learner=True) as (url, token):
        yield url, token, folder


@pytest.fixture(scope="module")
def browser(blank_lab, tmp_path_factory):
    with chromium(tmp_path_factory.mktemp("chromium-blank")) as context:
        yield context


#: In the page: does code cell ``i``'s prompt match the pattern (``[*]:`` running or queued, ``[3]:`` done)?
PROMPT = """([i, pattern]) => {
    const prompt = document.querySelectorAll('.jp-Notebook .jp-Cell')[i].querySelector('.jp-InputArea-prompt');
    return new RegExp(pattern).test((prompt.innerText || '').trim());
}"""
STARTED, FINISHED = r"^\[(\*|\d+)\]:$", r"^\[\d+\]:$"
#: In the page: each cell's outputs as the learner sees them (one string per cell).
SHOWN = """() => Array.from(document.querySelectorAll('.jp-Notebook .jp-Cell'),
    cell => Array.from(cell.querySelectorAll('.jp-OutputArea'), area => area.innerText).join('\\n'))"""


def _run_cell_by_cell(tab, timeout_ms: int = 600_000) -> int:
    """Shift+Enter on every cell from the top, each code cell waited for; returns the code cells run.

    The wait happens in the page (checked on every animation frame), so a quick cell costs one
    round trip, not a polling interval.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    is_code = tab.evaluate("() => Array.from(document.querySelectorAll('.jp-Notebook .jp-Cell'),"
                           " cell => cell.classList.contains('jp-CodeCell'))")
    tab.locator(".jp-Notebook .jp-Cell").first.locator(".jp-InputArea").click()
    tab.keyboard.press("Escape")  # command mode: Shift+Enter runs the active cell and selects the next
    ran = 0
    for i, code in enumerate(is_code):
        tab.keyboard.press("Shift+Enter")
        if code:
            for pattern, what, limit in ((STARTED, "start", 30_000), (FINISHED, "finish", timeout_ms)):
                try:
                    tab.wait_for_function(PROMPT, arg=[i, pattern], polling="raf", timeout=limit)
                except PlaywrightTimeout:
                    prompt = tab.locator(".jp-Notebook .jp-Cell").nth(i).locator(".jp-InputArea-prompt").inner_text()
                    raise AssertionError(f"cell {i + 1} did not {what}: prompt {prompt!r}") from None
            ran += 1
    return ran


def _saved(path, timeout: float = 30.0) -> dict:
    """The notebook as saved on disk, once the save has every code cell's execution count."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            saved = json.loads(path.read_text())
        except ValueError:  # caught mid-write
            saved = None
        if saved and all(c["execution_count"] for c in saved["cells"]
                         if c["cell_type"] == "code" and "".join(c["source"]).strip()):
            return saved
        if time.monotonic() > deadline:
            return saved or json.loads(path.read_text())
        time.sleep(0.2)


def _shut_down_kernels(url: str, token: str) -> None:
    """End the kernels this test's server started for the chapter just run (through the server's API)."""
    with urllib.request.urlopen(f"{url}/api/sessions?token={token}", timeout=10) as answer:
        sessions = json.loads(answer.read())
    for session in sessions:
        request = urllib.request.Request(f"{url}/api/sessions/{session['id']}?token={token}", method="DELETE")
        urllib.request.urlopen(request, timeout=30).close()


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_a_blank_chapter_run_cell_by_cell_in_jupyterlab_shows_no_traceback(blank_lab, browser, chapter):
    url, token, folder = blank_lab
    tab = browser.new_page()
    tab.set_default_timeout(60_000)
    try:
        # a workspace of its own: only this notebook open (the default one would reopen the others)
        tab.goto(f"{url}/lab/workspaces/{chapter[:2]}/tree/{chapter}.ipynb?reset&token={token}")
        tab.locator(".jp-Notebook .jp-Cell").first.wait_for()
        kernel_ready(tab, url, token)
        ran = _run_cell_by_cell(tab)
        tab.keyboard.press("Control+s")
        tab.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(timeout=60_000)
        if chapter in DRAWN:
            tab.locator(DRAWN[chapter]).first.wait_for(timeout=120_000)
        # what the page shows: no traceback outside the test cells
        on_page = tab.evaluate(SHOWN)
        # axe-core on the chapter as the learner sees it, explorer and figures drawn (tests/a11y.py)
        found = run_axe(tab, f"lab-{chapter}", COURSE_IN_LAB, other="jupyterlab")
        print(chapter, sorted(counts(found).items()))
        validate = tab.locator("jp-button[aria-label='Validate'], [title='Validate Assignment']").count()
        saved = _saved(folder / f"{chapter}.ipynb")
    except Exception:
        screenshot(tab, f"blank-{chapter}")
        raise
    finally:
        tab.close()
        _shut_down_kernels(url, token)
    # (Shift+Enter on the last cell adds an empty one below it, as it does for a learner)
    code = [c for c in saved["cells"] if c["cell_type"] == "code" and "".join(c["source"]).strip()]
    assert ran == len(code)
    assert all(c["execution_count"] for c in code), "every code cell was run"
    assert severe_of_course(found) == [], "critical or serious accessibility problems in the course's outputs"
    assert validate == 0, "the learner's JupyterLab shows no nbgrader Validate button"
    assert_blank_run(chapter, saved["cells"], on_page)
