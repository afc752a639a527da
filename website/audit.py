"""What must never appear on the site, and a scan of the built site for it.

The secrets are read from ``solutions/``: every line of every ``### BEGIN SOLUTION``
block (the answers, quiz answers included), every line of every ``### BEGIN HIDDEN TESTS``
block, and every line of output the solutions store (computed from an answer). A line
that a learner's notebook also shows (a ``return out``, an earlier chapter's answer handed
out as given code, an output a plain cell prints the same way without any answer) is
public and not a secret; so are lines too short to mean anything (a bracket).

The scan reads every text file of the built site (pages, search index, sources) as text:
tags removed, entities decoded and spaces collapsed, so syntax highlighting cannot hide
a line. :func:`website.build.build` runs it before it reports success.
"""

from __future__ import annotations

import copy
import html
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from grader.authoring.notebooks import merge_streams

SOLUTION = ("### BEGIN SOLUTION", "### END SOLUTION")
HIDDEN = ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
MIN_LENGTH = 6
TEXT_SUFFIXES = {".html", ".js", ".txt", ".ipynb", ".md", ".json", ".css"}


@dataclass(frozen=True)
class Secret:
    text: str
    kind: str  # "solution", "hidden test" or "solution output"
    where: str  # chapter and cell


def squash(text: str) -> str:
    """Collapse runs of whitespace to one space (how a line is compared)."""
    return re.sub(r"\s+", " ", text).strip()


def page_text(markup: str) -> str:
    """The text of an HTML page as a reader (or a search engine) gets it."""
    return squash(html.unescape(re.sub(r"<[^>]+>", "", markup)))


def _blocks(source: str, markers: tuple[str, str]) -> list[str]:
    lines, inside = [], False
    for line in source.splitlines():
        if line.strip() == markers[0]:
            inside = True
        elif line.strip() == markers[1]:
            inside = False
        elif inside:
            lines.append(line)
    return lines


def _output_lines(cell) -> list[str]:
    """The lines a cell's outputs show, consecutive pieces of one stream joined first as a notebook shows
    them (:func:`grader.authoring.notebooks.merge_streams`): a kernel may send ``print("a:", x)`` as
    ``"a: "`` and ``"x\n"`` or in one piece."""
    lines = []
    for output in merge_streams(copy.deepcopy(list(cell.get("outputs", [])))):
        if output.get("output_type") == "stream":
            lines += "".join(output.get("text", "")).splitlines()
        elif output.get("output_type") in ("execute_result", "display_data"):
            lines += "".join(output.get("data", {}).get("text/plain", "")).splitlines()
    return lines


def _shown(nb, outputs: bool) -> list[str]:
    """Every line a notebook shows (sources, and outputs if ``outputs``), squashed."""
    shown = []
    for cell in nb.cells:
        shown += [squash(line) for line in cell.source.splitlines()]
        if outputs and cell.cell_type == "code":
            shown += [squash(line) for line in _output_lines(cell)]
    return shown


def secrets(solution: Path, public_text: str) -> list[Secret]:
    """The secret lines of one chapter's source: those not already in ``public_text``."""
    nb = nbformat.read(str(solution), as_version=4)
    found = {}
    for index, cell in enumerate(nb.cells):
        where = f"{solution.stem}, cell {index}"
        candidates = [(line, "solution") for line in _blocks(cell.source, SOLUTION)]
        candidates += [(line, "hidden test") for line in _blocks(cell.source, HIDDEN)]
        if cell.cell_type == "code":
            candidates += [(line, "solution output") for line in _output_lines(cell)]
        for line, kind in candidates:
            text = squash(line)
            if len(text) >= MIN_LENGTH and re.search(r"[A-Za-z0-9]", text) and text not in public_text:
                found.setdefault(text, Secret(text, kind, where))
    return list(found.values())


def course_secrets(root: Path, pages: Path | None = None) -> list[Secret]:
    """Every chapter's secrets.

    Public is the code and prose of any learner's notebook (a later chapter may hand out an
    earlier chapter's answer as given code; the outputs a release carries are the solution's,
    so they are not public) and, when ``pages`` is given, what the site's page notebooks show
    from their own runs (an output a plain cell prints the same way without any answer).
    """
    shown = [line for p in (root / "notebooks").glob("[0-9][0-9]-*/[0-9][0-9]-*.ipynb")
             for line in _shown(nbformat.read(str(p), as_version=4), outputs=False)]
    for page in pages.glob("*.ipynb") if pages is not None else []:
        shown += _shown(nbformat.read(str(page), as_version=4), outputs=True)
    public_text = "\n".join(shown)
    return [secret for solution in sorted((root / "solutions").glob("[0-9][0-9]-*/[0-9][0-9]-*.ipynb"))
            for secret in secrets(solution, public_text)]


def site_texts(site: Path) -> dict[str, str]:
    """``{relative path: text}`` of every text file of a built site."""
    texts = {}
    for path in sorted(site.rglob("*")):
        if path.is_file() and path.suffix in TEXT_SUFFIXES and "mathjax" not in path.parts:
            raw = path.read_text(encoding="utf-8", errors="replace")
            texts[str(path.relative_to(site))] = page_text(raw) if path.suffix == ".html" else squash(raw)
    return texts


def leaks(texts: dict[str, str], found: list[Secret]) -> list[str]:
    """One line per secret found in a text: where it came from and where it showed up."""
    return [f"{secret.kind} ({secret.where}) `{secret.text}` appears in {name}"
            for secret in found for name, text in texts.items() if secret.text in text]
