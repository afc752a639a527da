"""``python -m grader check NOTEBOOK...``: a learner's own notebook, graded as the instructor would.

The notebook is copied into a temporary folder and graded there by
:func:`grader.grading.autograde.autograde`, the instructor's grader itself, with
``isolation="none"``: no sandbox, no root, since it is the learner's own code on
the learner's own machine. Everything shown comes from the grader's own result
(:class:`grader.grading.results.Result`), including the cells that raised. So the check runs the notebook from the top in a fresh
process (whatever was defined in JupyterLab does not count), runs the visible and the
hidden checks, and gives the same points, exercise by exercise, as the instructor's
grading of the same file.

What it adds for a learner:

* each exercise's points (``3 of 5 points``), and for each one not passed the
  message, the hint and the cells (the answer cell and its test cell);
* the cells that raised an error while the notebook ran, one line each (the error's
  first line, never a traceback); the cells that only stopped at an exercise not done
  yet (``NotImplementedError``) are named together on one line;
* a warning when the saved notebook was not run top to bottom;
* each verdict recorded in the local progress (:mod:`helpers.learner.progress`), which
  ``python -m grader progress`` shows.

The learner's file is only read, never written.
"""

from __future__ import annotations

import json
import re
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .grading import autograde as _autograde
from helpers.protocol import ExerciseStatus, answer_id, answered_key

from .authoring.config import ROOT
from .errors import CourseError, SetupError, UsageError
from .grading.config import GradingConfig, resolve
from .grading.results import Result, SubmissionStatus
from .grading.sanitize import load_assignment, plan, read_json
from .grading.submissions import chapter_grade_ids, identify


class CheckInputError(UsageError, ValueError):
    """The file given cannot be checked (missing, not a notebook, not a course chapter)."""


class OutputsError(SetupError):
    """nbval could not run the notebook to compare its outputs (not installed, or it failed to start)."""


@dataclass
class CellError:
    """A cell that raised while the notebook ran."""

    cell: str  # as the grader names it: "cell 12" or "cell 12 (output_size_answer)"
    number: int | None
    start: str  # the cell's first line of code, to find it in JupyterLab
    error: str  # the error's first line
    waits_for: list[str] = field(default_factory=list)  # titles of the unfinished exercises it stopped at


@dataclass
class CheckReport:
    """The check of one notebook."""

    path: Path
    chapter: str | None
    status: SubmissionStatus
    reason: str = ""
    score: float = 0.0
    max_score: float = 0.0
    #: the grader's rows, plus where the answer and its test are: "answer_cell", "answer_start", "test_cell"
    exercises: list[dict] = field(default_factory=list)
    errors: list[CellError] = field(default_factory=list)
    cells: list[dict] = field(default_factory=list)  # the grader's cells that could not run (timeouts, deaths)
    warnings: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------
# input


def validate(path: Path, known: dict[str, set[str]] | None = None) -> str:
    """The chapter of the notebook at ``path``; :class:`CheckInputError` with a one-line reason if none."""
    if not path.exists():
        raise CheckInputError(f"{path}: no such file")
    if path.is_dir():
        raise CheckInputError(f"{path} is a folder; give the notebook, e.g. "
                              "notebooks/01-convolution-by-hand/01-convolution-by-hand.ipynb")
    chapter, problem = identify(path, known if known is not None else chapter_grade_ids(ROOT))
    if problem:
        raise CheckInputError(f"{path}: {problem}")
    return chapter  # type: ignore[return-value]


def run_order_warning(data: dict) -> str | None:
    """Why the saved notebook does not look run top to bottom, or ``None``.

    Run top to bottom means: every code cell that has code was run, and the execution
    counts, read from the top, are strictly increasing from 1.
    """
    counts = []
    unrun = []
    for number, cell in enumerate(data.get("cells", []), start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source")
        text = "".join(source) if isinstance(source, list) else source if isinstance(source, str) else ""
        if not text.strip():
            continue
        count = cell.get("execution_count")
        if isinstance(count, int) and not isinstance(count, bool):
            counts.append((number, count))
        else:
            unrun.append(number)
    problems = []
    if not counts:
        problems.append("no code cell of the saved file was run")
    else:
        if counts[0][1] != 1:
            problems.append(f"the first run cell (cell {counts[0][0]}) has execution count {counts[0][1]}, not 1: "
                            "the kernel was not restarted before running it")
        backwards = [n for (_, a), (n, b) in zip(counts, counts[1:]) if b <= a]
        if backwards:
            problems.append("cells were run out of order (execution counts go back at cell"
                            f"{'s' if len(backwards) > 1 else ''} {_list(backwards)})")
        if unrun:
            problems.append(f"{len(unrun)} code cell{'s were' if len(unrun) > 1 else ' was'} never run "
                            f"(cell{'s' if len(unrun) > 1 else ''} {_list(unrun)})")
    if not problems:
        return None
    return ("the saved notebook was not run top to bottom: " + "; ".join(problems) + ". The check ran it "
            "from the top in a fresh kernel; to see in JupyterLab what it saw, use Kernel > Restart Kernel "
            "and Run All Cells.")


def _list(numbers: list[int], most: int = 8) -> str:
    shown = ", ".join(str(n) for n in numbers[:most])
    return shown + (f" and {len(numbers) - most} more" if len(numbers) > most else "")


# ---------------------------------------------------------------------------
# checking


#: A learner's check: the instructor's settings, without the sandbox (it is the learner's own code) and
#: without the progress bar (the check prints its own line).
CHECK = GradingConfig(isolation="none", progress=False)


def check_notebooks(paths: list[Path], config: GradingConfig | None = None, **overrides) -> list[CheckReport]:
    """Grade each notebook as the instructor's grader would, without a sandbox; one report each, in order.

    ``config`` defaults to :data:`CHECK`; keyword ``overrides`` change single settings (``workers=2``).
    Raises :class:`CheckInputError` for a file that is not a course notebook (before running anything).
    The notebooks are only read.
    """
    config = resolve(config or CHECK, **overrides)
    root = config.root
    known = chapter_grade_ids(root)
    chapters = [validate(Path(p), known) for p in paths]
    reports: list[CheckReport] = []
    with tempfile.TemporaryDirectory(prefix="conv-course-check-") as tmp:
        subs = Path(tmp) / "submissions"
        copies = []
        for i, path in enumerate(paths):
            copy = subs / f"notebook{i:03d}" / Path(path).name
            copy.parent.mkdir(parents=True)
            shutil.copyfile(path, copy)  # read once: what is graded is what is described below
            copies.append(copy)
        results = _autograde.autograde(subs, Path(tmp) / "out", config)
        by_student = {r.student: r for r in results}
        for i, (path, copy, chapter) in enumerate(zip(paths, copies, chapters)):
            result = by_student.get(f"notebook{i:03d}")
            data, _ = read_json(copy)
            reports.append(_report(Path(path), chapter, result, data or {"cells": []}, root))
    return reports


def _report(path: Path, chapter: str, result: Result | None, data: dict, root: Path) -> CheckReport:
    if result is None:
        return CheckReport(path, chapter, SubmissionStatus.GRADING_FAILED,
                           "the grader returned nothing for this notebook")
    report = CheckReport(path, result.assignment or chapter, result.status, result.reason, result.score,
                         result.max_score, cells=list(result.cells))
    warning = run_order_warning(data)
    if warning:
        report.warnings.append(warning)
    if result.status != SubmissionStatus.GRADED:
        return report
    assignment = load_assignment(report.chapter, root)
    steps = plan(data, assignment).steps
    test_cell = {s.grade_id: s.cell_number for s in steps if s.kind == "test"}
    answer = {s.grade_id: s for s in steps if s.kind == "code" and s.grade_id}
    for row in result.exercises:
        gid = row["exercise"]
        step = answer.get(answer_id(gid))
        report.exercises.append({**row, "test_cell": test_cell.get(gid),
                                 "answer_cell": step.cell_number if step else None,
                                 "answer_start": _first_line(step.source) if step else None})
    report.errors = _cell_errors(steps, result.raised, report.exercises, report.chapter)
    return report


def _cell_errors(steps, raised: list[dict], rows: list[dict], chapter: str | None) -> list[CellError]:
    """Each code cell that raised, in notebook order, one entry per cell (identical stubs included).

    ``raised`` is the grader's own record of the cells of student code that raised (``Result.raised``,
    by the plan's labels); every other code cell ran cleanly and defined what it defines. A cell that
    stopped at an unfinished exercise gets the line a learner sees in JupyterLab
    (:mod:`helpers.unfinished`) instead of a bare ``NameError``.
    """
    from helpers.unfinished import Tracker

    tracker = Tracker(chapter)
    unfinished = [tracker.answers[r["exercise"]].answer for r in rows
                  if r["status"] == ExerciseStatus.NOT_ATTEMPTED and r["exercise"] in tracker.answers]
    by_label = {cell["cell"]: cell["error"] for cell in raised}
    errors: list[CellError] = []
    for step in steps:
        if step.kind != "code":
            continue
        error = by_label.get(step.label)
        if error is None:
            tracker.defined(step.source)
            continue
        cell_id = step.grade_id if answered_key(step.grade_id) else None
        explained = tracker.explain(step.source, error, cell_id=cell_id, unfinished=unfinished)
        errors.append(CellError(step.label, step.cell_number, _first_line(step.source), error,
                                [e.title for e in tracker.last] if explained else []))
    return errors


def _first_line(source: str, width: int = 60) -> str:
    """The first line of code of a cell (comments and blank lines skipped), shortened."""
    lines = [line.rstrip() for line in source.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    line = lines[0] if lines else (source.strip().splitlines() or [""])[0]
    return line if len(line) <= width else line[:width - 3] + "..."


def record(report: CheckReport) -> None:
    """Keep each exercise's verdict in the local progress (what ``python -m grader progress`` shows)."""
    from helpers.learner import progress
    from helpers.checks.core import Verdict

    for row in report.exercises:
        # An exercise the grader could not check (status error) is recorded as failed.
        status = ExerciseStatus(row["status"]) if row["status"] != ExerciseStatus.ERROR else ExerciseStatus.FAILED
        verdict = Verdict(row["exercise"], row.get("title") or row["exercise"], int(row["score"]),
                          int(row["max_score"]), 0, row.get("message") or "", row.get("hint"), status=status)
        progress.record(verdict, hidden=True, source="check")


# ---------------------------------------------------------------------------
# words


def _pts(score: float, max_score: float) -> str:
    return f"{score:g} of {max_score:g} point{'' if max_score == 1 else 's'}"


def _number(label: str) -> int:
    found = re.match(r"cell (\d+)", label)
    return int(found.group(1)) if found else 1 << 30


def render(report: CheckReport) -> str:
    """The report in words, as ``python -m grader check`` prints it (exercises named by their titles)."""
    lines = [f"{report.path} ({report.chapter or 'unknown chapter'}), run from the top in a fresh kernel "
             "with the instructor's checks:"]
    for warning in report.warnings:
        lines.append(f"Warning: {warning}")
    if report.status != SubmissionStatus.GRADED:
        lines.append(f"Could not be graded: {report.reason}")
        return "\n".join(lines)
    lines.append("")
    width = max([len(r.get("title") or r["exercise"]) for r in report.exercises] + [8])
    for row in report.exercises:
        title = row.get("title") or row["exercise"]
        lines.append(f"  {title:<{width}}  {_pts(row['score'], row['max_score']):<15}  {row['status']}")
        if row["status"] == ExerciseStatus.PASSED:
            continue
        where = []
        if row.get("answer_cell"):
            where.append(f"answer in cell {row['answer_cell']} (`{row['answer_start']}`)")
        if row.get("test_cell"):
            where.append(f"test in cell {row['test_cell']}")
        if where:
            lines.append(f"  {'':<{width}}  {', '.join(where)}")
        if row.get("message"):
            lines.append(f"  {'':<{width}}  {row['message']}")
        if row.get("hint"):
            lines.append(f"  {'':<{width}}  Hint: {row['hint']}")
    errors = [e for e in report.errors if not e.waits_for]
    stopped = [e for e in report.errors if e.waits_for]
    if errors or report.cells:
        lines += ["", "Cells that did not run cleanly:"]
        found = [(e.number or 0, f"  cell {e.number} (`{e.start}`): {e.error}" if e.number else f"  {e.cell}: {e.error}")
                 for e in errors]
        found += [(_number(c["cell"]), f"  {c['cell']}: {c['cause']}") for c in report.cells
                  if not any(c["cell"] == e.cell for e in errors)]
        lines += [line for _, line in sorted(found, key=lambda item: item[0])]
    if stopped:
        waiting: dict[str, list[int]] = {}
        for e in stopped:
            waiting.setdefault(" and ".join(e.waits_for), []).append(e.number or 0)
        lines += ["", "Cells that stopped at an exercise not done yet (finish it, and they run):"]
        lines += [f"  {what}: cell{'s' if len(numbers) > 1 else ''} {_list(numbers)}"
                  for what, numbers in waiting.items()]
    if any(r["status"] != ExerciseStatus.PASSED for r in report.exercises) or report.errors or report.cells:
        lines += ["", "(Cells are counted from the top of the notebook, text cells included.)"]
    lines += ["", f"Total: {_pts(report.score, report.max_score)}", HIDDEN_CASES_NOTE]
    return "\n".join(lines)


#: What every check says about the hidden cases (see grader.grading.secret).
HIDDEN_CASES_NOTE = ("Hidden checks here use the course's public cases. The instructor's hidden cases differ: they "
                     "are drawn from a course secret, so an answer that only fits these inputs fails there.")


def main(paths: list[Path], config: GradingConfig | None = None, *, save: bool = True,
         json_out: Path | None = None, outputs: bool = False, **overrides) -> int:
    """The ``check`` command: 0 when the notebooks were checked (whatever the score).

    A path that cannot be checked is a :class:`CheckInputError` (``python -m grader`` prints its one
    line and exits with 2) before anything runs.
    """
    import sys

    config = resolve(config or CHECK, **overrides)
    known = chapter_grade_ids(config.root)
    for path in paths:
        validate(Path(path), known)
    n = len(paths)
    print(f"Checking {n} notebook{'s' if n > 1 else ''} in a fresh kernel "
          "(about as long as running it top to bottom)...", file=sys.stderr, flush=True)
    reports = check_notebooks([Path(p) for p in paths], config)
    if save:
        for report in reports:
            record(report)
    if json_out is not None:
        Path(json_out).write_text(as_json(reports) + "\n")
    for i, report in enumerate(reports):
        if i:
            print("\n" + "-" * 72 + "\n")
        print(render(report))
        if outputs and report.chapter:
            try:
                print("\n" + render_outputs(compare_outputs(report.path, report.chapter, config.root, config.timeout)))
            except CourseError as exc:  # this notebook's comparison only: the others' reports stand
                print(f"\nOutputs not compared: {exc}")
    if n > 1:
        total = sum(r.score for r in reports)
        possible = sum(r.max_score for r in reports)
        print(f"\nAll {n} notebooks: {_pts(total, possible)}")
    return 0


def as_json(reports: list[CheckReport]) -> str:
    """The reports as JSON (``--json``), for tools and tests."""
    return json.dumps([{"path": str(r.path), "chapter": r.chapter, "status": r.status, "reason": r.reason,
                        "score": r.score, "max_score": r.max_score, "exercises": r.exercises,
                        "errors": [e.__dict__ for e in r.errors], "cells": r.cells, "warnings": r.warnings}
                       for r in reports], indent=1)


# ---------------------------------------------------------------------------
# outputs: the learner's run against the solution's stored outputs (nbval)


def with_reference_outputs(data: dict, chapter: str, root: Path = ROOT) -> tuple[dict, list[int]]:
    """A copy of the learner's notebook whose ``nbval-check-output`` cells hold the solution's outputs.

    The references are read here, at check time, from the source notebook in ``solutions/``: the
    release carries no outputs (one computed from a solution would give its answer away), and a
    notebook the learner ran and saved holds the learner's own outputs, so nbval on it would compare
    the learner with themselves. Cells are matched by id (the release keeps the source's ids);
    returns the copy and the notebook numbers (1-based, all cells) of the cells given a reference.
    """
    from .authoring import notebooks

    source = notebooks.notebook_path(chapter, "solutions", root)
    if not source.exists():
        raise CheckInputError(f"the reference outputs are in {source}, which this copy of the course does not "
                              "have (a class release ships without solutions/); --outputs needs it")
    reference = {c.get("id"): c for c in notebooks.read(source).cells
                 if c.cell_type == "code" and notebooks.CHECK_OUTPUT_TAG in notebooks.tags(c) and c.outputs}
    copy = json.loads(json.dumps(data))
    restored = []
    for number, cell in enumerate(copy.get("cells", []), start=1):
        if not (isinstance(cell, dict) and cell.get("cell_type") == "code"):
            continue
        meta = cell.setdefault("metadata", {})
        tags = [t for t in meta.get("tags", []) if t != notebooks.CHECK_OUTPUT_TAG]
        if cell.get("id") in reference:
            ref = reference[cell["id"]]
            cell["outputs"] = json.loads(json.dumps(ref.get("outputs", [])))
            cell["execution_count"] = ref.get("execution_count")
            tags.append(notebooks.CHECK_OUTPUT_TAG)
            restored.append(number)
        else:  # nothing to compare with: nbval only runs it
            cell["outputs"], cell["execution_count"] = [], None
        meta["tags"] = sorted(set(tags))
    return copy, restored


@dataclass
class OutputComparison:
    """What ``--outputs`` found, in the notebook's own cell numbers (1-based, text cells included)."""

    differ: list[tuple[int, str]] = field(default_factory=list)  # ran, printed something else
    not_run: list[tuple[int, str]] = field(default_factory=list)  # raised (or stopped) before printing
    same: int = 0

    @property
    def compared(self) -> int:
        return len(self.differ) + len(self.not_run) + self.same


def compare_outputs(path: Path, chapter: str, root: Path = ROOT,
                    timeout: float = GradingConfig.timeout) -> OutputComparison:
    """Run the notebook under ``pytest --nbval-lax`` against the solution's outputs of its checked cells.

    Runs on a copy carrying the reference outputs (:func:`with_reference_outputs`), with the project's
    sanitizer; the learner's file is only read. Every cell with a reference output ends up in exactly
    one list: ``differ``, ``not_run`` (it raised, so there is no output to compare) or counted ``same``.
    nbval's own numbering (code cells from 0) never reaches the learner.
    """
    import subprocess
    import sys
    import xml.etree.ElementTree as ET

    data, problem = read_json(path)
    if data is None:
        raise CheckInputError(f"{path}: {problem}")
    copy, restored = with_reference_outputs(data, chapter, root)
    cells = copy["cells"]
    code_numbers = [n for n, c in enumerate(cells, start=1) if isinstance(c, dict) and c.get("cell_type") == "code"]
    with tempfile.TemporaryDirectory(prefix="conv-course-outputs-") as tmp:
        target = Path(tmp) / Path(path).name
        target.write_text(json.dumps(copy, indent=1))
        junit = Path(tmp) / "nbval.xml"
        done = subprocess.run([sys.executable, "-m", "pytest", "-c", str(root / "pyproject.toml"), "--rootdir",
                               str(root), "-q", "--nbval-current-env", f"--junitxml={junit}", str(target)],
                              cwd=root, capture_output=True, text=True, timeout=timeout,
                              # the checks this run makes are not the learner's progress
                              env={**os.environ, "CONV_COURSE_PROGRESS": str(Path(tmp) / "progress.json")})
        if not junit.exists():
            said = [line.strip() for line in (done.stdout + done.stderr).splitlines() if line.strip()]
            raise OutputsError(f"nbval did not run ({said[-1][:200] if said else f'exit code {done.returncode}'}): "
                               "is nbval installed in this virtualenv (pip install -r requirements.txt)?")
        outcome: dict[int, str] = {}
        for case in ET.parse(junit).getroot().iter("testcase"):
            found = re.match(r"Cell (\d+)$", case.get("name", ""))
            if not found or int(found.group(1)) >= len(code_numbers):
                continue
            failure = case.find("failure")
            text = "" if failure is None else (failure.get("message", "") + (failure.text or ""))
            outcome[code_numbers[int(found.group(1))]] = ("differ" if "Cell outputs differ" in text else
                                                          "raised" if failure is not None else "ok")
    result = OutputComparison()
    for number in restored:
        start = _first_line("".join(cells[number - 1].get("source", "")))
        state = outcome.get(number, "raised")  # never reached: the run stopped before it
        if state == "differ":
            result.differ.append((number, start))
        elif state == "raised":
            result.not_run.append((number, start))
        else:
            result.same += 1
    return result


def render_outputs(comparison: OutputComparison) -> str:
    """``--outputs`` in words; never says "the same" about a cell that did not run."""
    lines = []
    if comparison.differ:
        n = len(comparison.differ)
        lines.append(f"Outputs that differ from the solution's, {n} cell{'s' if n > 1 else ''}:")
        lines += [f"  cell {number} (`{start}`)" for number, start in comparison.differ]
    if comparison.not_run:
        n = len(comparison.not_run)
        lines.append(f"Outputs not compared, {n} cell{'s' if n > 1 else ''} raised an error before printing "
                     "(see above):")
        lines += [f"  cell {number} (`{start}`)" for number, start in comparison.not_run]
    if comparison.same:
        lines.append(f"{'All' if not lines else 'The other'} {comparison.same} output"
                     f"{'s' if comparison.same > 1 else ''} the solution stores "
                     f"{'are' if comparison.same > 1 else 'is'} the same in your run.")
    if not comparison.compared:
        lines.append("This chapter stores no outputs to compare.")
    return "(pytest --nbval-lax against the solution's outputs; cells counted as above)\n" + "\n".join(lines)
