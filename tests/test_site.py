"""The course's website: what a chapter page may show, a scan for secrets, and the pages in Chromium.

The site is built once for the module (``website.build``, into ``build/site``; chapter runs
are cached there, so after ``make site`` this takes seconds). The pages are served from
127.0.0.1 and opened in Debian's Chromium: each chapter's title, its figures (as many as
its answer-free cells draw, every one loaded), its explorer still, rendered math, search,
no request to any other host, and none of the solutions' lines in the page text.
"""

from __future__ import annotations

import ast
import functools
import http.server
import os
import re
import threading
from pathlib import Path

import nbformat
import pytest

from tests.lab import CHROMIUM, CHROMIUM_ARGS
from website import audit, build, plan

ROOT = build.ROOT


def _cell(source, cell_type="code", nbgrader=None):
    cell = nbformat.v4.new_code_cell(source) if cell_type == "code" else nbformat.v4.new_markdown_cell(source)
    if nbgrader:
        cell.metadata["nbgrader"] = nbgrader
    return cell


def test_plan_follows_answers_through_later_cells():
    nb = nbformat.v4.new_notebook(cells=[
        _cell("# Title", "markdown"),
        _cell("import torch\nfrom helpers.checks import check, summary\nfrom helpers.plots import show_maps"),
        _cell("def area(w, h):\n    raise NotImplementedError()", nbgrader={"solution": True, "grade_id": "area_answer"}),
        _cell('check("area")', nbgrader={"grade": True, "grade_id": "area", "points": 1}),
        _cell("# YOUR CODE HERE", nbgrader={"solution": True, "grade_id": "quiz_answer"}),
        _cell("sizes = [area(w, 2) for w in range(3)]"),             # reads an answer
        _cell("total = sum(sizes)\nprint(total)"),                     # reads what an answer made
        _cell("show_maps({n: torch.ones(2, 2) for n in 'ab'})"),        # comprehension names are local
        _cell("print(quiz)"),                                          # an exercise's name
        _cell('summary("00-demo")'),                                   # reads every answer by name
        _cell("sizes = [1, 2]"),                                       # rebinding cleans a name
        _cell("from helpers.widgets import pooling, feature_maps\n\nfeature_maps(model=total)"),
        _cell("pooling(sizes[0])"),                                    # reads the clean name
    ])
    nb.cells[4].metadata["nbgrader"]["grade_id"] = "quiz_answer"
    nb.cells.insert(5, _cell('check("quiz")', nbgrader={"grade": True, "grade_id": "quiz", "points": 1}))
    roles = [(p.role, p.reads) for p in plan.plan(nb)]
    assert [r for r, _ in roles] == [plan.PLAIN, plan.PLAIN, plan.ANSWER, plan.TEST, plan.ANSWER, plan.TEST,
                                     plan.NEEDS_ANSWER, plan.NEEDS_ANSWER, plan.PLAIN, plan.NEEDS_ANSWER,
                                     plan.NEEDS_ANSWER, plan.PLAIN, plan.EXPLORER, plan.EXPLORER]
    assert roles[6][1] == ["area"] and roles[7][1] == ["sizes"] and roles[9][1] == ["quiz"]
    assert roles[10][1] == ["summary"]
    plans = plan.plan(nb)
    assert plans[12].run.endswith("feature_maps()"), "an explorer fed by an answer opens with its defaults"
    assert plans[13].run == "pooling(sizes[0])" and plans[2].run == "" and plans[6].run == ""


#: The helpers modules whose functions draw a chapter's figures.
FIGURE_MODULES = ("helpers.plots", "helpers.photos", "helpers.stability_plots")


def _figure_calls(notebook: Path) -> int:
    """Figures a chapter's answer-free cells draw: calls of the figure functions of helpers (every name of
    helpers.plots; the show_ and plot_ functions of chapter 7's helpers.photos and helpers.stability_plots)
    in plain cells."""
    nb = nbformat.read(str(notebook), as_version=4)
    drawers: set[str] = set()
    count = 0
    for cell, cell_plan in zip(nb.cells, plan.plan(nb)):
        if cell.cell_type != "code":
            continue
        tree = ast.parse(plan.python_source(cell.source))
        drawers |= {a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
                    and n.module in FIGURE_MODULES for a in n.names
                    if n.module == "helpers.plots" or a.name.startswith(("show_", "plot_"))}
        if cell_plan.role == plan.PLAIN:
            count += sum(1 for n in ast.walk(tree) if isinstance(n, ast.Call)
                         and isinstance(n.func, ast.Name) and n.func.id in drawers)
    return count


def test_audit_reads_a_printed_line_the_kernel_sent_in_pieces_as_one_line():
    """A page whose run got ``print("running mean:", t)`` as two stream messages still shows the
    solution's one line, so that line is public there, as it is when the kernel sends it whole."""
    import nbformat

    pieces = nbformat.v4.new_code_cell("print('running mean:', t)", outputs=[
        nbformat.v4.new_output("stream", name="stdout", text="running mean: "),
        nbformat.v4.new_output("stream", name="stdout", text="tensor([0.214, 0.206]) \nrunning var: 1.8\n"),
        nbformat.v4.new_output("stream", name="stderr", text="a warning\n"),
        nbformat.v4.new_output("execute_result", data={"text/plain": "42"}, execution_count=1)])
    assert audit._output_lines(pieces) == ["running mean: tensor([0.214, 0.206]) ", "running var: 1.8", "a warning",
                                           "42"]


def test_audit_finds_a_solution_line_however_it_is_marked_up():
    found = audit.course_secrets(ROOT)
    kinds = {s.kind for s in found}
    assert {"solution", "hidden test"} <= kinds
    chapters = {s.where.split(",")[0] for s in found}
    assert chapters == {p.name for p in (ROOT / "solutions").glob("[0-9][0-9]-*/")}
    hidden = next(s for s in found if s.kind == "hidden test")
    answer = next(s for s in found if s.kind == "solution" and len(s.text) > 20)
    words = answer.text.split(" ")
    highlighted = "<pre>" + " ".join(f'<span class="n">{w.replace("<", "&lt;")}</span>' for w in words) + "</pre>"
    texts = {"page.html": audit.page_text(f"<p>{highlighted}</p>"), "other.html": audit.page_text("<p>nothing</p>"),
             "searchindex.js": audit.squash(f'x = "{hidden.text}"')}
    leaks = audit.leaks(texts, found)
    assert any("page.html" in leak and answer.text in leak for leak in leaks)
    assert any("searchindex.js" in leak and hidden.text in leak for leak in leaks)
    assert not any("other.html" in leak for leak in leaks)


@pytest.fixture(scope="module")
def site() -> Path:
    return build.build(ROOT / "build" / "site", log=lambda *a: None)


@pytest.mark.slow
def test_site_shows_no_solution_hidden_test_or_solution_output(site):
    found = audit.course_secrets(ROOT, site.parent / "src" / "chapters")
    assert len(found) > 50 and {s.kind for s in found} == {"solution", "hidden test", "solution output"}
    texts = audit.site_texts(site)
    assert any(name.startswith("chapters/") for name in texts) and "searchindex.js" in texts
    assert audit.leaks(texts, found) == []


@pytest.mark.slow
def test_site_has_every_released_chapter_and_loads_nothing_from_elsewhere(site):
    pages = sorted(p.stem for p in (site / "chapters").glob("*.html"))
    assert pages == [p.stem for p in build.chapter_notebooks()]
    for page in [site / "index.html", *(site / "chapters").glob("*.html")]:
        markup = page.read_text(encoding="utf-8")
        remote = re.findall(r'<(?:script|link|img|iframe)\b[^>]*(?:src|href)="((?:https?:)?//[^"]+)"', markup)
        assert remote == [], f"{page.name} loads {remote}"


@pytest.fixture(scope="module")
def served(site):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("/usr/bin/chromium is missing (CI is set, so the browser test must run)")
        pytest.skip("no /usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _title(nb) -> str:
    """A chapter's title as a reader sees it (markdown's code backticks gone)."""
    return re.search(r"^#\s+(.+)$", nb.cells[0].source, re.M).group(1).replace("`", "").strip()


def _open(browser, url: str):
    """A page that refuses (and records) every request to another host."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    elsewhere: list[str] = []
    origin = url.split("/", 3)[:3]

    def route(r):
        if r.request.url.split("/", 3)[:3] == origin or r.request.url.startswith("data:"):
            r.continue_()
        else:
            elsewhere.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    return page, elsewhere, errors


@pytest.mark.slow
@pytest.mark.browser
def test_chapter_pages_in_chromium(served, browser, site):
    secrets = audit.course_secrets(ROOT, site.parent / "src" / "chapters")
    for notebook in build.chapter_notebooks():
        nb = nbformat.read(str(notebook), as_version=4)
        title = _title(nb)
        page, elsewhere, errors = _open(browser, f"{served}/chapters/{notebook.stem}.html")
        try:
            page.wait_for_load_state("networkidle")
            assert page.locator("article h1").first.inner_text().strip().rstrip("#").strip() == title
            figures = page.eval_on_selector_all(
                ".cell_output img", "els => els.filter(e => !e.closest('.cc-explorer-still'))"
                                    ".map(e => e.complete && e.naturalWidth > 0)")
            assert figures == [True] * _figure_calls(notebook), f"{notebook.stem}: figures {figures}"
            stills = page.locator(".cc-explorer-still")
            explorers = sum(p.role == plan.EXPLORER for p in plan.plan(nb))
            assert stills.count() == explorers, f"{notebook.stem}: one still per explorer cell"
            for n in range(explorers):
                assert "JupyterLab" in stills.nth(n).inner_text()
                assert stills.nth(n).bounding_box()["height"] > 150, f"{notebook.stem}: a still that draws nothing"
            assert page.eval_on_selector_all(".cc-explorer-still img", "els => els.every(e => e.complete && "
                                             "e.naturalWidth > 0)")
            if "$" in "".join(c.source for c in nb.cells if c.cell_type == "markdown"):
                page.wait_for_function("document.querySelectorAll('.MathJax, .MathJax_Display').length > 0",
                                       timeout=30_000)
            text = page.inner_text("body")
            assert "\\begin{" not in text and "\\frac" not in text, f"{notebook.stem}: math left as TeX"
            shown = [s.text for s in secrets if s.text in audit.squash(text)]
            assert shown == [], f"{notebook.stem} shows solution text: {shown}"
            sections = [re.sub(r"[`*]", "", h).strip() for c in nb.cells if c.cell_type == "markdown"
                        for h in re.findall(r"^##\s+(.+)$", c.source, re.M)]
            toc = page.eval_on_selector_all("#pst-page-toc-nav a", "els => els.map(e => e.innerText.replace(/\\s+/g, ' ').trim())")
            assert sections and [t for t in toc if t in sections] == sections, f"{notebook.stem}: contents {toc}"
            assert elsewhere == [], f"{notebook.stem} asked other hosts for {elsewhere}"
            assert errors == [], f"{notebook.stem}: JavaScript errors {errors}"
        except Exception:
            (ROOT / "test-artifacts").mkdir(exist_ok=True)
            page.screenshot(path=str(ROOT / "test-artifacts" / f"site-{notebook.stem}.png"), full_page=True)
            raise
        finally:
            page.close()


@pytest.mark.slow
@pytest.mark.browser
def test_index_lists_the_chapters_and_search_finds_them(served, browser):
    titles = [_title(nbformat.read(str(n), as_version=4)) for n in build.chapter_notebooks()]
    page, elsewhere, errors = _open(browser, f"{served}/index.html")
    toc = page.eval_on_selector_all(".toctree-wrapper a", "els => els.map(e => e.innerText.trim())")
    assert toc == titles
    page.goto(f"{served}/search.html?q=receptive")
    page.wait_for_selector("#search-results li a", timeout=30_000)
    hits = page.eval_on_selector_all("#search-results li a", "els => els.map(e => e.getAttribute('href'))")
    assert any("05-receptive-fields" in h for h in hits), hits
    assert elsewhere == [] and errors == []
    page.close()


@pytest.mark.slow
@pytest.mark.browser
def test_axe_finds_no_serious_problem_on_any_page_and_every_figure_says_what_it_shows(served, browser, site):
    """axe-core (WCAG 2.1 A and AA) on every page of the site: nothing critical or serious in the course's
    articles (the theme's own findings are printed, and listed in the README); every figure's alt is words."""
    from tests.a11y import COURSE_ON_SITE, counts, run_axe, severe_of_course

    pages = ["index.html", "search.html", "genindex.html",
             *(f"chapters/{n.stem}.html" for n in build.chapter_notebooks())]
    problems, totals = {}, {}
    for name in pages:
        page, _, _ = _open(browser, f"{served}/{name}")
        try:
            page.wait_for_load_state("networkidle")
            rows = run_axe(page, "site-" + name.replace("/", "-").removesuffix(".html"), COURSE_ON_SITE,
                           other="theme")
            totals[name] = sorted(counts(rows).items())
            problems[name] = severe_of_course(rows)
            alts = page.eval_on_selector_all("article img", "els => els.map(e => e.getAttribute('alt') || '')")
            assert all(len(a) > 20 and not re.search(r"\.(png|jpe?g|svg)\b", a) for a in alts), (name, alts)
        finally:
            page.close()
    print(totals)
    assert {name: found for name, found in problems.items() if found} == {}
