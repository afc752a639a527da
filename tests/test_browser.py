"""The explorers in a real JupyterLab, driven in a real Chromium, as a learner uses them.

The test starts ``jupyter lab`` on 127.0.0.1 with a token in a temporary folder holding a
notebook made of the chapters' own explorer cells (taken from the solution notebooks by
cell id), opens it in Debian's Chromium through Playwright, runs it, moves sliders with
the keyboard and checks that what is drawn changed to the right numbers.

Without ``/usr/bin/chromium`` it is skipped, unless ``CI`` is set: then it fails, since CI
installs Chromium (``.ci/run``). On failure a screenshot is saved under ``test-artifacts/``.
It ends only the processes it started: the server's process group and the kernels it launched.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from grader.authoring import notebooks
from tests.a11y import COURSE_IN_LAB, counts, run_axe, severe_of_course
from tests.lab import chromium, jupyter_lab, kernel_ready, need_browser, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

#: The explorer cells the test drives, one per chapter: (chapter, cell id, source if the chapter's own cell
#: needs an answer or is missing). Chapter 2's explorer takes the learner's weights, so it runs on its defaults.
CELLS = [
    ("01-convolution-by-hand", "explore-kernel-walk", None),
    ("02-feature-maps-and-channels", "explore-channels-default", "from helpers.widgets import channels\n\nchannels()"),
    ("03-padding-and-strides", "explore-padding-stride", "from helpers.widgets import padding_stride\n\npadding_stride()"),
    ("04-conv2d-and-a-first-cnn", "explore-feature-maps", None),
    ("05-receptive-fields", "explore-receptive-field", None),
    ("06-pooling", "explore-pooling", None),
    ("07-colour-and-stable-training", "explore-activations-default", "from helpers.widgets import activation_histograms\n\nactivation_histograms()"),
    ("08-conv-arithmetic-and-backward", "explore-arithmetic", None),
    ("09-deeper-networks", "explore-depth", None),
]


def _explorer_notebook(folder: Path) -> Path:
    """A notebook of the chapters' explorer cells, exactly as the solution notebooks have them."""
    cells = []
    for chapter, cell_id, fallback in CELLS:
        found = [c for c in notebooks.read(notebooks.notebook_path(chapter, "solutions")).cells
                 if c.get("id") == cell_id] if notebooks.notebook_path(chapter, "solutions").exists() else []
        if not found and fallback is None:
            raise AssertionError(f"{chapter} has no cell {cell_id}")
        cells.append(found[0] if found else notebooks.code(fallback, cell_id=cell_id))
    path = folder / "explorers.ipynb"
    notebooks.write(notebooks.new_notebook(cells), path)
    return path


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on 127.0.0.1 serving a folder with the explorer notebook; yields (url, token, folder)."""
    need_browser()
    folder = tmp_path_factory.mktemp("lab")
    _explorer_notebook(folder)
    with jupyter_lab(folder, folder, learner=True) as (url, token):
        yield url, token, folder


@pytest.fixture(scope="module")
def page(lab, tmp_path_factory):
    """The explorer notebook open in headless Chromium, every cell run."""
    url, token, _ = lab
    with chromium(tmp_path_factory.mktemp("chromium-profile"), 1500, 1100) as context:
        tab = context.pages[0] if context.pages else context.new_page()
        tab.set_default_timeout(60_000)
        try:
            tab.goto(f"{url}/lab/tree/explorers.ipynb?token={token}")
            tab.locator(".jp-Notebook .jp-Cell").first.wait_for()
            kernel_ready(tab, url, token)
            tab.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
            tab.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
            tab.locator(".cc-kernel-walk").wait_for(timeout=90_000)
            tab.locator(".cc-padding-stride").wait_for(timeout=60_000)
        except Exception:
            screenshot(tab, "browser-setup")
            raise
        yield tab


@pytest.fixture
def shot_on_failure(request, page):
    """The page; if the test fails, a full-page screenshot in test-artifacts/<test name>.png."""
    failures_before = request.session.testsfailed
    yield page
    if request.session.testsfailed > failures_before:
        screenshot(page, request.node.name)


def _cell(tab, marker: str):
    """The notebook cell whose output holds an element of class ``marker``, scrolled into view (JupyterLab skips
    drawing the cells off screen, whose text then reads as empty)."""
    cell = tab.locator(".jp-Cell").filter(has=tab.locator(f".{marker}"))
    cell.scroll_into_view_if_needed()
    return cell


def _slider_handle(cell, label: str):
    slider = cell.locator(".widget-slider").filter(
        has=cell.page.locator(".widget-label", has_text=re.compile(rf"^{re.escape(label)}$")))
    return slider.locator(".noUi-handle")


def _wait_text_change(locator, before: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = locator.inner_text()
        if now != before:
            return now
        time.sleep(0.1)
    raise AssertionError(f"still {before!r} after {timeout} s")


def test_kernel_walk_follows_the_column_slider(shot_on_failure):
    import torch.nn.functional as F

    from helpers.data import digit
    from helpers.explorers import KERNELS

    tab = shot_on_failure
    cell = _cell(tab, "cc-kernel-walk")
    note = cell.locator(".cc-kernel-walk")
    before = note.inner_text()
    assert "row 6, column 14" in before  # the cell as the chapter builds it: centred on (7, 15)
    images_before = [img.get_attribute("src") for img in cell.locator("img").all()]
    handle = _slider_handle(cell, "column (centre)")
    handle.focus()
    for _ in range(3):
        handle.press("ArrowRight")
    after = _wait_text_change(note, before)
    # the slider may be read mid-way: wait for the third step to arrive
    deadline = time.monotonic() + 20
    while "column 17" not in after and time.monotonic() < deadline:
        time.sleep(0.1)
        after = note.inner_text()
    assert "row 6, column 17" in after, after
    seven = digit(7, 4)
    expected = float(F.conv2d(seven[None, None], KERNELS["top edge"][None, None])[0, 0, 6, 17])
    shown = cell.locator(".cc-sum").inner_text()
    assert shown == (f"{expected:.2f}".replace("-", "\u2212") if f"{expected:.2f}" != "-0.00" else "0.00")
    images_after = [img.get_attribute("src") for img in cell.locator("img").all()]
    assert images_after[-1] != images_before[-1], "the output map's picture did not change"
    assert cell.locator(".widget-readout").nth(1).inner_text().strip() == "18"


def test_padding_stride_formula_follows_the_sliders(shot_on_failure):
    tab = shot_on_failure
    cell = _cell(tab, "cc-padding-stride")
    formula = cell.locator(".cc-formula")
    before = formula.inner_text()
    assert before == "(7 + 2\u00d71 \u2212 3) // 2 + 1 = 6 // 2 + 1 = 3 + 1 = 4"
    cells_before = cell.locator("table").last.locator("td").count()
    assert cells_before == 16

    stride = _slider_handle(cell, "stride")
    stride.focus()
    stride.press("ArrowLeft")  # stride 2 -> 1
    after = _wait_text_change(formula, before)
    assert after == "(7 + 2\u00d71 \u2212 3) // 1 + 1 = 6 // 1 + 1 = 6 + 1 = 7"
    assert cell.locator("table").last.locator("td").count() == 49  # the output grid is now 7x7

    kernel = _slider_handle(cell, "kernel size ks")
    kernel.focus()
    kernel.press("ArrowRight")  # ks 3 -> 4: even, and PyTorch's floor
    after = _wait_text_change(formula, after)
    assert after == "(7 + 2\u00d71 \u2212 4) // 1 + 1 = 5 // 1 + 1 = 5 + 1 = 6"
    remarks = " ".join(cell.locator(".cc-remark").all_inner_texts())
    assert "no centre pixel" in remarks


def test_activation_explorer_follows_the_step_slider(shot_on_failure):
    """Chapter 7: the explorer trains its three short runs, then a step slider moves through them."""
    from helpers.stability import explorer_runs

    tab = shot_on_failure
    tab.locator(".cc-activations").first.wait_for(timeout=180_000)  # three one-epoch trainings come first
    cell = _cell(tab, "cc-activations")
    step = cell.locator(".cc-step")
    assert step.inner_text() == "1"
    handle = _slider_handle(cell, "training step")
    handle.focus()
    for _ in range(5):
        handle.press("ArrowRight")
    deadline = time.monotonic() + 20
    while step.inner_text() != "6" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert step.inner_text() == "6"
    recorded = explorer_runs()[0].stats.layers[-1]  # the same run, trained again here: same seed, one thread
    assert cell.locator(".cc-zero").inner_text() == f"{100 * recorded.near_zero[5]:.1f}%"


def test_arithmetic_formulas_follow_the_dilation_and_stride_sliders(shot_on_failure):
    """Chapter 8: dilation widens the kernel's span, and the way back reports the output_padding it needs."""
    tab = shot_on_failure
    cell = _cell(tab, "cc-arith-forward")
    cell.wait_for(timeout=60_000)
    forward, back = cell.locator(".cc-arith-forward"), cell.locator(".cc-arith-transposed")
    before = forward.inner_text()
    assert before.startswith("(7 + 2\u00d71 \u2212 3) // 2 + 1 = 4"), before
    assert back.inner_text().startswith("(4 \u2212 1)\u00d72 \u2212 2\u00d71 + 1\u00d7(3 \u2212 1) + 0 + 1 = 7")
    dilation = _slider_handle(cell, "dilation")
    dilation.focus()
    dilation.press("ArrowRight")  # dilation 1 -> 2: the kernel spans 5
    after = _wait_text_change(forward, before)
    assert after.startswith("(7 + 2\u00d71 \u2212 5) // 2 + 1 = 3"), after
    assert "dilated span 2\u00d7(3 \u2212 1) + 1 = 5" in after
    assert cell.locator(".cc-arith-output td").count() == 9
    remarks = " ".join(cell.locator(".cc-remark").all_inner_texts())
    assert "Dilation 2" in remarks


#: Every control of every explorer, in the order Tab reaches them, by role and accessible name (the names the
#: chapters' labels give them); the explorers are the notebook's cells in the order of CELLS.
CONTROLS = [
    [("combobox", "digit"), ("combobox", "kernel"), ("textbox", "my own kernel"), ("slider", "row (centre)"),
     ("slider", "column (centre)")],
    [("combobox", "digit"), ("slider", "output map")],
    [("slider", "image size n"), ("slider", "kernel size ks"), ("slider", "padding"), ("slider", "stride"),
     ("slider", "kernel position")],
    [("combobox", "digit"), ("slider", "which example"), ("slider", "layer")],
    [("combobox", "digit"), ("combobox", "layer"), ("slider", "cell row"), ("slider", "cell column")],
    [("combobox", "digit"), ("combobox", "feature map"), ("slider", "window size"), ("slider", "stride"),
     ("button", "max"), ("button", "average"), ("slider", "output cell")],
    [("combobox", "run"), ("slider", "ReLU"), ("slider", "training step")],
    [("slider", "input size n"), ("slider", "kernel size ks"), ("slider", "stride"), ("slider", "padding"),
     ("slider", "dilation"), ("slider", "output cell")],
    [("slider", "depth (layers)"), ("slider", "scale x Kaiming")],
]
#: Tab presses allowed between two controls (a slider's editable read-out is a stop of its own).
TABS_BETWEEN = 3


def _is_focused(control) -> bool:
    return control.evaluate("e => e === document.activeElement")


def _move(tab, role: str, control) -> str | None:
    """Change a control from the keyboard as a learner would; the key pressed, or None for controls only reached."""
    if role == "slider":  # down where it can go down: an earlier slider's move may have left this one at its top
        key = "ArrowLeft" if float(control.get_attribute("aria-valuenow")) > float(control.get_attribute("aria-valuemin")) \
            else "ArrowRight"
    elif role == "combobox":
        key = "ArrowDown"
    elif role == "button" and control.get_attribute("aria-pressed") != "true" and "mod-active" not in \
            (control.get_attribute("class") or ""):
        key = "Space"
    else:
        return None
    tab.keyboard.press(key)
    return key


def test_every_control_of_every_explorer_works_from_the_keyboard_and_is_spoken(shot_on_failure):
    """Keyboard only, for all nine explorers: from the first control, Tab reaches every control in order by its
    accessible name; on each, an arrow key (Space on a toggle) changes it, and the explorer's polite live region
    says the new result in words, never markup; every slider carries its description."""
    tab = shot_on_failure
    cells = tab.locator(".jp-Notebook .jp-Cell")
    assert cells.count() == len(CELLS) == len(CONTROLS)
    for (chapter, _, _), controls, index in zip(CELLS, CONTROLS, range(len(CELLS))):
        cell = cells.nth(index)
        live = cell.locator(".cc-live")
        live.wait_for(timeout=300_000)
        assert live.get_attribute("aria-live") == "polite" and live.get_attribute("role") == "status", chapter
        sliders = cell.get_by_role("slider")
        names = [sliders.nth(i).evaluate("h => document.getElementById(h.getAttribute('aria-labelledby'))"
                                         "?.textContent.trim()") for i in range(sliders.count())]
        assert names == [name for role, name in controls if role == "slider"], f"{chapter}: sliders named {names}"
        moved = 0
        for number, (role, name) in enumerate(controls):
            control = cell.get_by_role(role, name=name, exact=True)
            assert control.count() == 1, f"{chapter}: {role} {name!r} found {control.count()} times"
            if number == 0:
                control.focus()  # into the explorer; from here on only the keyboard
            for _ in range(TABS_BETWEEN):
                if _is_focused(control):
                    break
                tab.keyboard.press("Tab")
            assert _is_focused(control), f"{chapter}: Tab did not reach {role} {name!r}"
            if role == "slider":
                assert control.evaluate("h => h.title").startswith(f"{name}: "), f"{chapter}: {name} has no description"
            before = live.inner_text()
            key = _move(tab, role, control)
            if key is None:
                continue
            try:
                said = _wait_text_change(live, before)
            except AssertionError as silence:
                raise AssertionError(f"{chapter}: {key} on {role} {name!r} said nothing new: {silence}") from None
            assert said.strip() and not re.search(r"</?[a-z]", said), f"{chapter}, {name} ({key}): {said!r}"
            moved += 1
            if not _is_focused(control):  # a redraw may move focus; the learner's place must not be lost
                raise AssertionError(f"{chapter}: {key} on {name!r} lost the focus")
        expected = sum(role in ("slider", "combobox") or name == "average" for role, name in controls)
        assert moved == expected, f"{chapter}: {moved} of {expected} controls changed from the keyboard"


def test_axe_finds_no_serious_problem_in_the_explorers(shot_on_failure, lab):
    """axe-core (WCAG 2.1 A and AA) on the explorer notebook: none critical or serious in the course's outputs;
    and the learner's JupyterLab of ``make lab`` has no formgrader and no news toast."""
    import urllib.error
    import urllib.request

    tab = shot_on_failure
    url, token, _ = lab
    with pytest.raises(urllib.error.HTTPError, match="404"):
        urllib.request.urlopen(f"{url}/formgrader?token={token}", timeout=30)
    assert tab.get_by_text("Jupyter news").count() == 0, "no news toast"
    tab.locator(".cc-activations").first.wait_for(timeout=180_000)
    rows = run_axe(tab, "lab-explorers", COURSE_IN_LAB, other="jupyterlab")
    print(sorted(counts(rows).items()))
    assert severe_of_course(rows) == []
    validate = tab.locator("jp-button[aria-label='Validate'], [title='Validate Assignment']")  # nbgrader's button
    assert validate.count() == 0, "the learner sees no Validate"
