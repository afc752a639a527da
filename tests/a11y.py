"""axe-core in the browser tests: run it on a page, sort what it finds by who owns it.

axe-core comes from npm (``package.json``/``package-lock.json``; ``make test`` runs ``npm ci``) and
is injected into the real Chromium page the test already has open, then run on WCAG 2.0/2.1 A and
AA rules. A violation's node is the course's when it lies in what the course draws (a notebook's
outputs and rendered prose in JupyterLab, an article on the website, a whole feedback or class-report
page), JupyterLab's or the theme's otherwise; the tests allow no critical or serious violation of the
course's own, and print the others (the README lists them, with what the course did about them).
Each run leaves its findings in ``test-artifacts/axe-<name>.json``.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
SEVERE = {"critical", "serious"}
#: Where the course's own content is, per kind of page (a CSS selector an element is inside).
COURSE_IN_LAB = ".jp-OutputArea-output, .jp-RenderedMarkdown, .jp-RenderedHTMLCommon.jp-MarkdownOutput"
COURSE_ON_SITE = "article.bd-article"

_OWNER = """([nodes, course]) => nodes.map(target => {
    const node = document.querySelector(target);
    return node && node.closest(course) ? 'course' : 'other';
})"""


def need_axe() -> None:
    """Skip without axe-core (``npm ci``), or fail when ``CI`` is set."""
    if not AXE.exists():
        reason = f"{AXE.relative_to(ROOT)} is missing (npm ci, as make test does)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI is set, so the accessibility checks must run)")
        pytest.skip(reason)


def run_axe(page, name: str, course: str | None, other: str = "other") -> list[dict]:
    """axe on ``page``: one row per (rule, impact, owner, node) found; ``course`` selects the course's own
    content (``None``: the whole page is the course's); ``other`` names the owner of the rest."""
    need_axe()
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    violations = page.evaluate("async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags},"
                               " resultTypes: ['violations']})).violations", TAGS)
    rows = []
    for v in violations:
        targets = [n["target"][-1] if isinstance(n["target"][-1], str) else n["target"][-1][-1] for n in v["nodes"]]
        owners = (["course"] * len(targets) if course is None else
                  [o if o == "course" else other for o in page.evaluate(_OWNER, [targets, course])])
        rows += [{"rule": v["id"], "impact": n["impact"] or v["impact"], "owner": owner, "target": target,
                  "html": n["html"][:200], "help": v["help"]} for n, target, owner in zip(v["nodes"], targets, owners)]
    folder = ROOT / "test-artifacts"
    folder.mkdir(exist_ok=True)
    (folder / f"axe-{name}.json").write_text(json.dumps(rows, indent=1))
    return rows


def counts(rows: list[dict]) -> Counter:
    """How many nodes per (owner, rule, impact)."""
    return Counter((r["owner"], r["rule"], r["impact"]) for r in rows)


def severe_of_course(rows: list[dict]) -> list[str]:
    """The course's own critical and serious violations, one readable line each (the test wants none)."""
    return [f"{r['rule']} ({r['impact']}): {r['help']}: {r['html']}" for r in rows
            if r["owner"] == "course" and r["impact"] in SEVERE]
