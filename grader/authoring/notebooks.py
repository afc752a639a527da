"""Reading, writing and normalising the course's notebooks.

Notebooks are committed in a quiet form so that their diffs show only what an
author changed (as data-8 does): no widget state, no execution counts or
timings, no kernel version noise, stable cell ids, and outputs only in the
cells whose printed output *is* the lesson (tagged ``nbval-check-output``),
which nbval compares on every CI run. That is the sources in
``solutions/``; a release keeps no outputs at all (see :mod:`.release`).

:func:`code` and :func:`new_notebook` build small notebooks (the browser tests use them).

``nbformat`` is imported only by the functions that need it (reading with validation,
writing, building): importing it costs seconds (jsonschema's format checkers), and
grading reads notebooks as plain JSON with :func:`load`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from .. import cells
from .config import ROOT, RELEASE_DIR, SOURCE_DIR

if TYPE_CHECKING:
    from nbformat import NotebookNode

#: Cells carrying this tag keep their outputs in the committed notebook; nbval compares them.
CHECK_OUTPUT_TAG = "nbval-check-output"

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO = {"name": "python", "version": "3.11"}

_CHAPTER_RE = re.compile(r"^\d\d-[a-z0-9-]+$")


def chapters(step: str = SOURCE_DIR, root: Path = ROOT) -> list[str]:
    """The chapter folders (``NN-slug``) of a step, in order."""
    base = root / step
    return sorted(p.name for p in base.iterdir() if p.is_dir() and _CHAPTER_RE.match(p.name)) \
        if base.is_dir() else []


def notebook_path(chapter: str, step: str = SOURCE_DIR, root: Path = ROOT) -> Path:
    """``<root>/<step>/NN-slug/NN-slug.ipynb``."""
    return root / step / chapter / f"{chapter}.ipynb"


def read(path: Path | str) -> NotebookNode:
    """Read a notebook as nbformat 4 (converted and validated)."""
    import nbformat

    return nbformat.read(str(path), as_version=4)


def load(path: Path | str) -> dict:
    """A committed notebook as plain JSON: no conversion, no validation, no ``nbformat`` import.

    For the course's own, validated notebooks (``solutions/``, ``notebooks/``) on the grading
    path; a submission is read by :func:`grader.grading.sanitize.read_json`, which trusts nothing.
    """
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def dumps(nb: NotebookNode) -> str:
    """Serialise the way the repository stores notebooks (1-space indent, sorted keys, final newline)."""
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def write(nb: NotebookNode, path: Path | str) -> None:
    """Validate and write a notebook in the repository's stable form."""
    import nbformat

    nbformat.validate(nb)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(dumps(nb), encoding="utf-8")


def tags(cell: NotebookNode) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _stable_id(cell: NotebookNode, index: int, taken: set[str]) -> str:
    base = cells.grade_id(cell) or hashlib.sha1(f"{index}:{cell.cell_type}:{''.join(cell.source)[:200]}".encode()
                                    ).hexdigest()[:8]
    candidate = re.sub(r"[^A-Za-z0-9_-]", "-", base)[:64]
    n = 2
    while candidate in taken:
        candidate = f"{base[:60]}-{n}"
        n += 1
    return candidate


def normalize(nb: NotebookNode, *, keep_outputs: bool = True) -> NotebookNode:
    """Make a notebook quiet for version control; returns the same notebook.

    * notebook metadata reduced to the kernelspec and language (widget state dropped);
    * every cell keeps an id (missing ones get a stable id from the grade id or content);
    * per-cell execution metadata removed, execution counts cleared;
    * outputs kept only in cells tagged ``nbval-check-output`` (and only if ``keep_outputs``),
      and only printed text (no figures, no widgets); those cells are numbered as a fresh
      top-to-bottom run would number them, since nbval skips cells without a count.
    """
    from nbformat import NotebookNode

    nb.nbformat, nb.nbformat_minor = 4, 5
    nb.metadata = NotebookNode({"kernelspec": dict(KERNELSPEC), "language_info": dict(LANGUAGE_INFO)})
    taken: set[str] = set()
    ordinal = 0
    for index, cell in enumerate(nb.cells):
        if not cell.get("id") or cell["id"] in taken:
            cell["id"] = _stable_id(cell, index, taken)
        taken.add(cell["id"])
        meta = cell.setdefault("metadata", NotebookNode())
        for key in ("execution", "collapsed", "scrolled", "jupyter", "editable_widgets", "ExecuteTime"):
            meta.pop(key, None)
        if isinstance(cell.source, list):
            cell.source = "".join(cell.source)
        if cell.cell_type == "code":
            ordinal += 1
            cell.execution_count = None
            if keep_outputs and CHECK_OUTPUT_TAG in tags(cell):
                cell.outputs = merge_streams([_quiet_output(o, ordinal) for o in cell.outputs
                                               if o.get("output_type") in ("stream", "execute_result")])
            else:
                cell.outputs = []
            if cell.outputs:
                # nbval compares only cells that were run: number them as a top-to-bottom run would.
                cell.execution_count = ordinal
        else:
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
            if cell.cell_type == "markdown":
                cell.pop("attachments", None) if not cell.get("attachments") else None
    return nb


def merge_streams(outputs: list[NotebookNode]) -> list[NotebookNode]:
    """Join consecutive pieces of the same stream: how a kernel splits its prints is timing, not content."""
    merged: list[NotebookNode] = []
    for output in outputs:
        previous = merged[-1] if merged else None
        if (previous is not None and output.get("output_type") == "stream" == previous.get("output_type")
                and output.get("name") == previous.get("name")):
            previous["text"] = "".join(previous["text"]) + "".join(output["text"])
        else:
            merged.append(output)
    for output in merged:
        if output.get("output_type") == "stream" and isinstance(output.get("text"), list):
            output["text"] = "".join(output["text"])
    return merged


def _quiet_output(output: NotebookNode, ordinal: int) -> NotebookNode:
    if "execution_count" in output:
        output["execution_count"] = ordinal
    output.pop("metadata", None) if output.get("output_type") == "stream" else None
    if output.get("output_type") in ("execute_result", "display_data"):
        output["metadata"] = {}
    return output


# ---------------------------------------------------------------------------
# small notebooks, built in code


def code(source: str, *, cell_id: str | None = None, tag: Iterable[str] = ()) -> NotebookNode:
    """A read-only-for-nobody code cell (example code the learner runs and may edit)."""
    import nbformat

    cell = nbformat.v4.new_code_cell(source.strip("\n"))
    if tag:
        cell.metadata["tags"] = list(tag)
    if cell_id:
        cell["id"] = cell_id
    return cell


def new_notebook(content: list[NotebookNode]) -> NotebookNode:
    """A normalised notebook from cells."""
    import nbformat

    nb = nbformat.v4.new_notebook(cells=content)
    return normalize(nb)


def grade_cells(nb: dict) -> dict[str, int]:
    """``{grade_id: points}`` of a notebook's autograded test cells (a NotebookNode or plain JSON)."""
    return {cells.grade_id(cell): int(cells.points(cell) or 0) for cell in nb["cells"]
            if cells.is_grade(cell) and cells.is_code(cell)}


__all__ = ["chapters", "notebook_path", "read", "write", "normalize", "code", "new_notebook", "grade_cells",
           "RELEASE_DIR", "SOURCE_DIR"]
