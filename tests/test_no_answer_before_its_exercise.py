"""No solution appears in the release above the exercise that asks for it, in prose or code.

A chapter that shows ``(n + 2*pad - ks)//stride + 1`` two cells before asking for ``output_size`` has
given the exercise away. For every answer cell, each line of the solution (between its markers) that
carries an expression (:data:`MIN_TOKENS` tokens or more, control lines aside) is looked for, as
normalised tokens (names, numbers, operators; spacing, comments and Markdown ignored), in every cell
above the answer cell in the release.
"""

import re

import pytest

from grader import cells
from grader.authoring import notebooks

CHAPTERS = notebooks.chapters("solutions")
#: A solution line with fewer tokens than this (``return out``, ``total = 0``, a row ``[0, 0, 0],``) says
#: nothing about the answer; brackets, commas and dots are not counted.
MIN_TOKENS = 6
_PUNCTUATION = {"(", ")", "[", "]", ",", ".", ":"}
_TOKEN = re.compile(r"[A-Za-z_]\w*|\d+(?:\.\d*)?|\*\*|//|==|!=|<=|>=|\+=|-=|\*=|[-+*/%@()\[\],.:=<>~]")
_SOLUTION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)
_CONTROL = ("for ", "if ", "elif ", "else", "while ", "with ", "def ", "try", "except", "finally", "class ")


def tokens(text: str) -> list[str]:
    """Names, numbers and operators, comments dropped; ``**`` and ``//`` kept whole."""
    text = re.sub(r"#[^\n]*", "", text)
    return _TOKEN.findall(text.replace("`", " "))


def answer_lines(source: str) -> list[list[str]]:
    out = []
    for region in _SOLUTION.findall(source):
        for line in region.splitlines():
            line = line.strip()
            if line.startswith(_CONTROL) or line.startswith(("return", "raise")) and len(tokens(line)) < 3:
                continue
            t = tokens(line)
            if t and t[0] == "return":
                t = t[1:]
            if sum(tok not in _PUNCTUATION for tok in t) >= MIN_TOKENS:
                out.append(t)
    return out


def contains(haystack: list[str], needle: list[str]) -> bool:
    n = len(needle)
    first = needle[0]
    return any(haystack[i] == first and haystack[i:i + n] == needle for i in range(len(haystack) - n + 1))


def found_before(chapter: str) -> list[str]:
    """``"cell N (before answer cell M of key): tokens"`` for every solution line shown too early."""
    source = notebooks.read(notebooks.notebook_path(chapter, "solutions"))
    release = notebooks.read(notebooks.notebook_path(chapter, "notebooks"))
    answers = {cells.grade_id(c): answer_lines(c.source) for c in source.cells if cells.is_solution(c)}
    shown: list[str] = []
    for index, cell in enumerate(release.cells):
        if not cells.is_solution(cell):
            continue
        key = cells.grade_id(cell)
        for line in answers.get(key, []):
            for above, earlier in enumerate(release.cells[:index], start=1):
                if contains(tokens(earlier.source), line):
                    shown.append(f"cell {above} (above {key}'s answer cell {index + 1}): {' '.join(line)}")
    return shown


def test_the_search_finds_a_solution_line_in_prose_and_code():
    line = answer_lines("### BEGIN SOLUTION\n    return (n + 2 * pad - ks) // stride + 1\n### END SOLUTION\n")
    assert line and contains(tokens("The size is `(n + 2*pad - ks)//stride + 1`, as you saw."), line[0])
    assert not contains(tokens("The size is $(n + 2p - k)/s + 1$."), line[0])
    assert answer_lines("### BEGIN SOLUTION\n    for i in range(out.shape[0]):\n        total = 0\n"
                        "    kernel = [[0, 0, 0],\n### END SOLUTION\n") == []


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_no_solution_line_appears_above_its_exercise(chapter):
    shown = found_before(chapter)
    assert not shown, f"{chapter}: solution lines shown before their exercise:\n" + "\n".join(shown)
