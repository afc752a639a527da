"""nbgrader's cell metadata, read in one place (as ``nbgrader.utils.is_grade`` / ``is_solution`` do).

A cell's ``metadata.nbgrader`` says what nbgrader makes of it: an answer cell
(``solution``), a test cell (``grade`` with ``points``), its ``grade_id``. Submitted
notebooks are untrusted JSON, so every function here accepts anything (a cell that is not
a dict, metadata that is a list, a grade id that is a number) and never raises; what is
malformed reads as absent.
"""

from __future__ import annotations

from typing import Any


def nbgrader(cell: Any) -> dict:
    """The cell's nbgrader metadata; ``{}`` when it has none or it is malformed."""
    meta = cell.get("metadata") if isinstance(cell, dict) else None
    found = meta.get("nbgrader") if isinstance(meta, dict) else None
    return found if isinstance(found, dict) else {}


def grade_id(cell: Any) -> str | None:
    """The cell's nbgrader ``grade_id``, if it is a string."""
    value = nbgrader(cell).get("grade_id")
    return value if isinstance(value, str) else None


def is_grade(cell: Any) -> bool:
    """nbgrader grades this cell (``grade: true``): a test cell, or a manually graded answer."""
    return bool(nbgrader(cell).get("grade"))


def is_solution(cell: Any) -> bool:
    """The learner writes this cell (``solution: true``): an answer cell."""
    return bool(nbgrader(cell).get("solution"))


def is_code(cell: Any) -> bool:
    return isinstance(cell, dict) and cell.get("cell_type") == "code"


def is_test(cell: Any) -> bool:
    """An autograded test cell: code, graded, not written by the learner."""
    return is_code(cell) and is_grade(cell) and not is_solution(cell)


def points(cell: Any) -> Any:
    """The points the cell's metadata claims (as written: trust it only for the source notebook)."""
    return nbgrader(cell).get("points")
