"""One chapter's page source: the learner's release, run, filtered by :mod:`website.plan`.

Only the cells the plan marks ``plain`` or ``explorer`` are run, in a real kernel started
in the chapter's folder; answer, test and needs-answer cells are kept with their source
and no output (a needs-answer cell gets a one-line note instead). Figures and printed
outputs of plain cells are kept; a plain cell that raises stops the build.

Running a chapter takes seconds to a minute, so the result is cached under the build
folder, keyed by the notebook and the code that draws it (``helpers/`` and this package).
"""

from __future__ import annotations

import copy
import hashlib
import os
import tempfile
from pathlib import Path

import nbformat

from . import plan as planning
from .snapshot import snapshot_outputs, widget_states

NEEDS_ANSWER_NOTE = "Its output appears when you run it in JupyterLab after your answer above."
#: Cell tags the page's stylesheet uses (MyST-NB gives each cell a ``tag_<name>`` class).
ROLE_TAGS = {planning.ANSWER: "cc-answer", planning.TEST: "cc-check", planning.NEEDS_ANSWER: "cc-needs-answer",
             planning.EXPLORER: "cc-explorer"}
CELL_TIMEOUT = 600


class ChapterError(RuntimeError):
    """A chapter could not be turned into a page; the message names the cell."""


def _first_line(source: str) -> str:
    return next((line for line in source.splitlines() if line.strip()), "")[:70]


def fingerprint(notebook: Path, code_roots: list[Path]) -> str:
    """A hash of the notebook and every Python file that can change what it draws."""
    digest = hashlib.sha256(notebook.read_bytes())
    for root in code_roots:
        for path in sorted(root.rglob("*.py")) if root.is_dir() else [root]:
            digest.update(str(path.relative_to(root.parent)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def execute(nb, plans: list[planning.CellPlan], cwd: Path) -> nbformat.NotebookNode:
    """Run the cells the plan says to run (others are blanked) in a fresh kernel; returns the run copy."""
    from nbclient import NotebookClient

    from grader.authoring.kernels import IpcKernelManager

    run = copy.deepcopy(nb)
    for cell, cell_plan in zip(run.cells, plans):
        if cell.cell_type == "code":
            cell.source = cell_plan.run
            cell.outputs = []
    with tempfile.TemporaryDirectory(prefix="conv-course-site-") as tmp:
        env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
                   CONV_COURSE_PROGRESS=str(Path(tmp) / "progress.json"))  # the site records no progress
        env.pop("NBGRADER_EXECUTION", None)  # explorers must draw, training its full budget
        client = NotebookClient(run, timeout=CELL_TIMEOUT, kernel_name="python3", allow_errors=True,
                                store_widget_state=True, resources={"metadata": {"path": str(cwd)}},
                                kernel_manager_class=IpcKernelManager)
        client.execute(env=env)
    return run


def page(nb, run, plans: list[planning.CellPlan], name: str) -> nbformat.NotebookNode:
    """The page's notebook: the learner's cells, with the outputs of ``run`` the plan allows."""
    states = widget_states(run)
    out = copy.deepcopy(nb)
    for index, (cell, done, cell_plan) in enumerate(zip(out.cells, run.cells, plans)):
        if cell.cell_type != "code":
            continue
        cell.execution_count = None
        tags = [t for t in cell.metadata.get("tags", []) if not t.startswith("nbval")]
        if cell_plan.role in ROLE_TAGS:
            tags.append(ROLE_TAGS[cell_plan.role])
        cell.metadata = nbformat.NotebookNode({"tags": tags} if tags else {})
        errors = [o for o in done.outputs if o.get("output_type") == "error"]
        if errors:
            raise ChapterError(f"{name}: cell {index} (`{_first_line(cell.source)}`) raised "
                               f"{errors[0].get('ename')}: {errors[0].get('evalue')}; it reads no answer, "
                               "so the chapter itself is broken")
        if cell_plan.role == planning.PLAIN:
            cell.outputs = [_clean(o) for o in done.outputs]
        elif cell_plan.role == planning.EXPLORER:
            try:
                cell.outputs = snapshot_outputs(done.outputs, states)
            except ValueError as problem:
                raise ChapterError(f"{name}: cell {index} (`{_first_line(cell.source)}`): {problem}") from None
        elif cell_plan.role == planning.NEEDS_ANSWER:
            cell.outputs = [nbformat.v4.new_output(
                "display_data", data={"text/html": f'<p class="cc-note">{NEEDS_ANSWER_NOTE}</p>'})]
        else:
            cell.outputs = []
    out.metadata = nbformat.NotebookNode({"kernelspec": nb.metadata.get("kernelspec", {}),
                                          "language_info": nb.metadata.get("language_info", {})})
    return out


def _clean(output):
    output = copy.deepcopy(output)
    if "execution_count" in output:
        output["execution_count"] = None
    return output


def chapter_page(notebook: Path, cache: Path, code_roots: list[Path]) -> tuple[nbformat.NotebookNode, bool]:
    """The page notebook of one chapter of ``notebooks/``, from the cache when nothing changed.

    Returns ``(page, ran)``: ``ran`` is False when the cached page was used.
    """
    name = notebook.stem
    cached = cache / f"{name}-{fingerprint(notebook, code_roots)}.ipynb"
    if cached.exists():
        return nbformat.read(str(cached), as_version=4), False
    nb = nbformat.read(str(notebook), as_version=4)
    plans = planning.plan(nb)
    result = page(nb, execute(nb, plans, notebook.parent), plans, name)
    cache.mkdir(parents=True, exist_ok=True)
    for stale in cache.glob(f"{name}-*.ipynb"):
        stale.unlink()
    nbformat.write(result, str(cached))
    return result, True
