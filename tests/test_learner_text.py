"""What learners read: the course is its own text.

No "book" and no "seed" in the sense of the material the course grew from (a
random seed is fine), in the notebooks or in the helpers' docstrings and messages;
every review question names the variable its answer goes in.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from grader.authoring import notebooks

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = notebooks.chapters()

_BOOK = re.compile(r"\bbooks?\b", re.I)
#: "seed" is fine as a random seed: "random seed(s)", manual_seed, seed=..., a seed argument.
_SEED = re.compile(r"(?<!random )(?<!random\n)\bseed(?:'s|s)?\b(?!\s*=)", re.I)


def _comments(code: str) -> str:
    return "\n".join(line.split("#", 1)[1] for line in code.splitlines() if "#" in line)


def _learner_text(cell) -> str:
    return cell.source if cell.cell_type == "markdown" else _comments(cell.source)


@pytest.mark.parametrize("step", ["solutions", "notebooks"])
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_no_book_and_no_seed_in_the_notebooks(step, chapter):
    nb = notebooks.read(notebooks.notebook_path(chapter, step))
    found = []
    for cell in nb.cells:
        text = _learner_text(cell)
        found += [f"{cell.id}: ...{text[max(m.start() - 40, 0):m.end() + 20]!r}..."
                  for pattern in (_BOOK, _SEED) for m in pattern.finditer(text)]
    assert not found, "\n".join(found)


def test_no_book_and_no_seed_in_the_helpers():
    found = []
    for path in sorted((ROOT / "helpers").rglob("*.py")):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if _BOOK.search(line) or re.search(r"\bthe seed\b|\bseed's\b", line, re.I):
                found.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not found, "\n".join(found)


def test_the_patterns_catch_what_they_should():
    assert _BOOK.search("The book this course grew from") and not _BOOK.search("a notebook, a textbook case")
    assert _SEED.search("The seed writes it like this") and _SEED.search("the seed's network")
    assert not _SEED.search("from a fixed random seed") and not _SEED.search("two random seeds")
    assert not _SEED.search("fit(model, seed=0)")


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_question_names_its_variable(chapter):
    nb = notebooks.read(notebooks.notebook_path(chapter, "notebooks"))
    cells = nb.cells
    asked = 0
    for question, answer in zip(cells, cells[1:]):
        grade_id = answer.metadata.get("nbgrader", {}).get("grade_id", "")
        if grade_id.startswith("quiz_") and grade_id.endswith("_answer"):
            variable = grade_id[:-len("_answer")]
            assert f"`{variable}`" in question.source, (chapter, variable, question.source)
            assert variable in answer.source, (chapter, variable, answer.source)  # the release's stub names it too
            asked += 1
    assert asked >= 2
