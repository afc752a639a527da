"""Turning a submitted notebook into a grading plan, outside any kernel.

The plan is the list of steps the sandbox runs, in the student's order:

* every code cell the student wrote or kept runs as plain code, with whatever
  metadata it carried thrown away (``skip-execution``, ``raises-exception``, nbgrader
  schema claims, points, "locked" flags: none of it changes what runs or what counts);
* every test cell is taken from the **source** notebook, whatever the student did to it:
  an edited one is replaced, a duplicated one runs once (the first copy), a deleted one
  is put back right after its answer cell, and its points are the source's;
* a cell claiming a grade id the assignment does not have is ordinary code.

Everything noticed on the way is returned as *tampering* notes for the report.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from helpers.protocol import answer_id

from .. import cells
from ..authoring import notebooks
from ..authoring.config import RELEASE_DIR, ROOT, SOURCE_DIR

#: Tags that change how nbgrader or nbval run a cell; the grader ignores them all.
EXECUTION_TAGS = frozenset({"skip-execution", "raises-exception", "nbval-skip", "nbval-raises-exception",
                            "skip", "hide", "remove-cell"})


#: How a test cell asks for the hidden cases: ``check("convolve", hidden=True)``, inside nbgrader's
#: ``### BEGIN HIDDEN TESTS`` block. Read here once; the plan carries it as ``TestCell.hidden``.
HIDDEN_CASES = "hidden=True"


@dataclass(frozen=True)
class TestCell:
    """An autograded test cell of the source notebook."""

    grade_id: str
    points: float
    source: str  # with hidden tests: what grading runs
    released: str  # as the student received it
    hidden: bool  # has a hidden part (``check(..., hidden=True)``)


@dataclass(frozen=True)
class Assignment:
    """What the source notebook of a chapter says about grading."""

    chapter: str
    tests: dict[str, TestCell]  # in notebook order
    answers: list[str]  # grade ids of answer cells, in order

    @property
    def max_score(self) -> float:
        return sum(t.points for t in self.tests.values())


@dataclass
class Step:
    """One step of a grading plan."""

    kind: str  # "code" (student code) or "test"
    source: str
    label: str  # how the report names it, e.g. "cell 17 (convolve)"
    grade_id: str | None = None
    cell_number: int | None = None  # 1-based position in the submitted notebook (None: restored)
    hidden: bool = False  # a test step whose test cell has hidden cases (``TestCell.hidden``)


@dataclass
class Plan:
    steps: list[Step] = field(default_factory=list)
    tampering: list[str] = field(default_factory=list)


def _source_text(source) -> str:
    if isinstance(source, str):
        return source
    if isinstance(source, list) and all(isinstance(s, str) for s in source):
        return "".join(source)
    return ""


def load_assignment(chapter: str, root: Path = ROOT) -> Assignment:
    source = notebooks.load(notebooks.notebook_path(chapter, SOURCE_DIR, root))
    released_path = notebooks.notebook_path(chapter, RELEASE_DIR, root)
    released = {}
    if released_path.exists():
        for cell in notebooks.load(released_path)["cells"]:
            gid = cells.grade_id(cell)
            if gid:
                released[gid] = _source_text(cell.get("source"))
    tests: dict[str, TestCell] = {}
    answers: list[str] = []
    for cell in source["cells"]:
        gid = cells.grade_id(cell)
        if not gid or not cells.is_code(cell):
            continue
        if cells.is_test(cell):
            text = _source_text(cell.get("source"))
            tests[gid] = TestCell(gid, float(cells.points(cell) or 0), text, released.get(gid, text),
                                  HIDDEN_CASES in text)
        elif cells.is_solution(cell):
            answers.append(gid)
    return Assignment(chapter, tests, answers)


def _tags(cell: dict) -> list[str]:
    meta = cell.get("metadata")
    tags = meta.get("tags") if isinstance(meta, dict) else None
    return [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []


def _short(value, width: int = 60) -> str:
    """``repr(value)``, cut to ``width`` characters: a note in the report stays one short line."""
    try:
        text = repr(value)
    except RecursionError:
        text = f"<a deeply nested {type(value).__name__}>"
    return text if len(text) <= width else text[:width - 3] + "..."


def _norm(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def plan(data: dict, assignment: Assignment) -> Plan:
    """The grading plan of a submitted notebook (parsed JSON) for ``assignment``."""
    result = Plan()
    placed: set[str] = set()
    seen_answers: set[str] = set()
    submitted = data.get("cells") if isinstance(data.get("cells"), list) else []
    for number, cell in enumerate(submitted, start=1):
        if not cells.is_code(cell):
            continue
        text = _source_text(cell.get("source"))
        meta = cells.nbgrader(cell)
        gid = cells.grade_id(cell)
        for tag in sorted(set(_tags(cell)) & EXECUTION_TAGS):
            result.tampering.append(f"cell {number}: tag `{tag}` ignored (cells run as the source says)")
        if gid in assignment.tests:
            test = assignment.tests[gid]
            if gid in placed:
                result.tampering.append(f"cell {number}: a second copy of test cell `{gid}` was not run")
                continue
            placed.add(gid)
            if _norm(text) not in (_norm(test.released), _norm(test.source)):
                result.tampering.append(f"cell {number}: test cell `{gid}` was edited; the original was run")
            claimed = meta.get("points")
            if claimed is not None and claimed != test.points and claimed != int(test.points):
                result.tampering.append(f"cell {number}: test cell `{gid}` claims {_short(claimed)} points; "
                                        f"it is worth {test.points:g}")
            result.steps.append(Step("test", test.source, f"cell {number} (test {gid})", gid, number, test.hidden))
            continue
        if gid in assignment.answers:
            if gid in seen_answers:
                result.tampering.append(f"cell {number}: a second cell claims to be answer cell `{gid}`; "
                                        "it runs as ordinary code")
            seen_answers.add(gid)
            label = f"cell {number} ({gid})"
        else:
            if meta.get("grade") or meta.get("points") or (gid and meta):
                result.tampering.append(f"cell {number}: claims nbgrader grade id {_short(gid)} "
                                        f"(points {_short(meta.get('points'))}) that the assignment does not have; "
                                        "it runs as ordinary code and earns nothing")
            label = f"cell {number}"
        result.steps.append(Step("code", text, label, gid if gid in assignment.answers else None, number))

    for gid, test in assignment.tests.items():
        if gid in placed:
            continue
        result.tampering.append(f"test cell `{gid}` was missing; it was put back")
        answer_cell = answer_id(gid)
        position = len(result.steps)
        for i, step in enumerate(result.steps):
            if step.grade_id == answer_cell:
                position = i + 1  # after the last cell claiming to be the answer
        result.steps.insert(position, Step("test", test.source, f"restored test {gid}", gid, None, test.hidden))
    return result


def read_json(path: Path) -> tuple[dict | None, str | None]:
    """The submitted file as a notebook dict, or ``(None, reason)``."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return None, f"the file could not be read ({exc.strerror})"
    try:
        data = json.loads(raw.decode("utf-8", errors="replace"))
    except RecursionError:
        return None, "the file is not a notebook: its JSON is nested too deeply to read"
    except (ValueError, MemoryError) as exc:
        return None, f"the file is not a notebook: it is not valid JSON ({str(exc)[:200]})"
    from .submissions import not_a_notebook

    problem = not_a_notebook(data)
    return (None, problem) if problem else (data, None)
