"""Autograding a folder of submissions into grades, a report and feedback.

The batch: find the submissions (:mod:`grader.grading.submissions`), start one zygote and
the workers, grade each submission (:mod:`grader.grading.run`), write the outputs
(:mod:`grader.grading.report`). For every submitted notebook, side by side up to ``workers``:

1. **sanitize** it outside any kernel (:mod:`grader.grading.sanitize`): the student's code
   cells in the student's order, test cells and points from the source notebook;
2. **run** the plan in a sandboxed Python process of its own (:mod:`grader.sandbox.process`,
   :mod:`grader.sandbox.harness`), cell by cell; test cells only *collect* the answer's
   outcomes there, as plain data. A cell that runs past ``cell_timeout`` is
   interrupted; one that ignores the interrupt, exits or kills its process ends the
   sandbox, which is restarted and brought back to the same point by re-running the
   earlier cells (not that one), so it costs only what depends on it;
3. **judge** here, where no student code ran (:mod:`grader.grading.judge`).

Why not stock ``nbgrader autograde``: it grades inside the student's kernel (a
monkeypatched ``torch.allclose`` or ``check`` passes everything), lets student code
see the gradebook and the course, loses every point on a dead kernel, and pays an
nbgrader start per student. Points are still nbgrader's: each test cell is worth the
``points`` of its nbgrader metadata in the source notebook, all or nothing, and
nbgrader remains the tool that releases and validates the notebooks.

Outputs in ``OUT``:

* ``grades.csv``: ``student, assignment, exercise, score, max_score, status``, one row
  per student, chapter and exercise (status: passed, failed, not attempted, error);
* ``report.json``: the settings of the run, then per submission ``graded`` or an error kind
  (:class:`~grader.grading.results.SubmissionStatus`) with a one-line reason, the tampering
  noticed, the cells that could not run, with the cause, and the cells that raised;
* ``feedback/<student>/<chapter>.html``: each exercise's name, verdict, message and hint,
  escaped (no student output or script is ever copied into it; no test code either).
"""

from __future__ import annotations

import os
import queue
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path

from ..sandbox.process import Cgroups, Zygote, _data_cache, _data_cache_dir, available, uid_base
from .config import GradingConfig, resolve
from .report import write_outputs
from .results import Result, SubmissionStatus
from .run import grade_one
from .sanitize import load_assignment
from .submissions import Submission, discover


class GraderError(RuntimeError):
    """The grader itself cannot run (not a problem of any one submission)."""


class Progress:
    """A one-line progress bar with an ETA on stderr."""

    def __init__(self, total: int, stream=sys.stderr) -> None:
        self.total, self.done, self.start, self.stream = total, 0, time.monotonic(), stream

    def step(self, label: str) -> None:
        self.done += 1
        elapsed = time.monotonic() - self.start
        eta = elapsed / self.done * (self.total - self.done)
        width = 24
        filled = int(width * self.done / max(self.total, 1))
        self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} "
                          f"ETA {eta:4.0f}s  {label[:40]:<40}")
        if self.done == self.total:
            self.stream.write("\n")
        self.stream.flush()


# ---------------------------------------------------------------------------
# a batch


def autograde(submissions_dir: Path, out: Path, config: GradingConfig | None = None, *, gradebook=None,
              **overrides) -> list[Result]:
    """Grade every notebook under ``submissions_dir``; write grades, report and feedback to ``out``.

    ``config``: the settings (:class:`~grader.grading.config.GradingConfig`, its defaults if
    ``None``); keyword ``overrides`` change single settings (``workers=4``, ``isolation="bwrap"``).

    ``gradebook``: a :class:`grader.grading.gradebook.Recorder`; each graded submission is recorded in it
    as soon as it is graded (nbgrader's gradebook and ``autograded/``).
    """
    try:
        config = resolve(config, **overrides)
    except ValueError as exc:
        raise GraderError(str(exc)) from None
    isolation, root = config.isolation, config.root
    if config.sandboxed and not config.scheduler:  # on a cluster, each worker is checked (grading.cluster)
        why = available(isolation)
        if why:
            raise GraderError(f"cannot grade in a sandbox here: {why}. (Use --no-sandbox only for "
                              "notebooks you trust.)")
    workers = config.worker_count()
    found = discover(submissions_dir, root)
    results: list[Result] = []
    to_grade: dict[tuple[str, str], Submission] = {}
    for sub in found:
        if sub.problem:
            results.append(Result(sub.student, sub.path.name, None, sub.problem.kind, sub.problem.reason))
            continue
        key = (sub.student, sub.chapter)
        if key in to_grade:
            older, newer = sorted([to_grade[key], sub], key=lambda s: (s.path.stat().st_mtime, s.path.name))
            results.append(Result(older.student, older.path.name, older.chapter, SubmissionStatus.DUPLICATE,
                                  f"{newer.path.name} is a later notebook for the same chapter; it was graded"))
            to_grade[key] = newer
        else:
            to_grade[key] = sub

    if config.scheduler:
        from .cluster import grade_on_cluster

        assignments = {ch: load_assignment(ch, root) for ch in sorted({ch for _, ch in to_grade})}
        _prepare(gradebook, assignments)
        graded, sandbox = grade_on_cluster(sorted(to_grade.items()), assignments, config)
        paths = {(sub.student, sub.chapter): sub for sub in to_grade.values()}
        graded = [_recorded(gradebook, r, paths[(r.student, r.assignment)]) if (r.student, r.assignment) in paths
                  else r for r in graded]
        results = sorted(results + graded, key=lambda r: (r.student, r.assignment or "", r.file))
        out.mkdir(parents=True, exist_ok=True)
        _write_all(results, out, assignments, sandbox, submissions_dir, config, gradebook)
        return results

    # The zygote imports torch and the course (seconds) while this process reads the chapters and the
    # data and loads what it judges with: the two start-ups overlap.
    zygote = Zygote(_data_cache_dir() if config.sandboxed else None, sandboxed=config.sandboxed) \
        if isolation in ("zygote", "none") and to_grade else None
    try:
        assignments = {ch: load_assignment(ch, root) for ch in sorted({ch for _, ch in to_grade})}
        if to_grade:
            from helpers.checks import exercises

            from .judge import judge_exercise  # noqa: F401 - torch, imported while the zygote loads

            exercises()
        cache = _data_cache() if config.sandboxed and to_grade else None
        out.mkdir(parents=True, exist_ok=True)
        cgroups = Cgroups(workers, config.limits) if config.sandboxed and to_grade else None
    except BaseException:
        if zygote is not None:
            zygote.close()
        raise
    try:
        _prepare(gradebook, assignments)
    except BaseException:
        if zygote is not None:
            zygote.close()
        raise
    bar = Progress(len(to_grade)) if config.progress and to_grade else None
    slots: queue.Queue[int] = queue.Queue()
    for slot in range(workers):
        slots.put(slot)
    options = dict(config=config, zygote=zygote, cache=cache, cgroups=cgroups, uids=uid_base())

    with tempfile.TemporaryDirectory(prefix="conv-course-grade-") as tmp, _closing(zygote, cgroups):
        os.chmod(tmp, 0o711)  # sandbox users reach only their own folder inside
        if zygote is not None:
            zygote.wait()

        def job(item: tuple[int, tuple[tuple[str, str], Submission]]) -> Result:
            number, ((_, chapter), sub) = item
            slot = slots.get()
            try:
                return _recorded(gradebook, grade_one(sub, assignments[chapter], Path(tmp), number, slot, **options),
                                 sub)
            except Exception as exc:  # noqa: BLE001 - one submission never stops the batch
                return _recorded(gradebook, Result(sub.student, sub.path.name, chapter, SubmissionStatus.GRADING_FAILED,
                                 f"the grader failed on this notebook: {type(exc).__name__}: {exc}"[:300]), sub)
            finally:
                slots.put(slot)
                if bar:
                    bar.step(sub.label)

        with ThreadPoolExecutor(max_workers=workers) as pool:
            results.extend(pool.map(job, enumerate(sorted(to_grade.items()))))

    results.sort(key=lambda r: (r.student, r.assignment or "", r.file))
    sandbox = {"isolation": isolation, "workers": workers,
               "uids": [options["uids"], options["uids"] + workers - 1] if config.sandboxed else None,
               "cell_timeout": config.cell_timeout, "timeout": config.timeout,
               "limits": asdict(config.limits) if config.sandboxed else None,
               "cgroups": (cgroups.missing or "cpu, memory and pids groups per worker") if cgroups else None}
    _write_all(results, out, assignments, sandbox, submissions_dir, config, gradebook)
    return results


def _write_all(results: list[Result], out: Path, assignments: dict, sandbox: dict | None, submissions_dir: Path,
               config: GradingConfig, gradebook=None) -> None:
    """The run's outputs: grades, report and feedback (:mod:`.report`), then the class report."""
    from .classreport import write_report

    write_outputs(results, out, assignments, sandbox, gradebook.summary.as_dict() if gradebook else None)
    write_report(out, [asdict(r) for r in results], submissions_dir=submissions_dir, root=config.root,
                 similarity=config.similarity, threshold=config.similarity_threshold)


def _prepare(gradebook, assignments: dict) -> None:
    """The gradebook ready for these chapters (assignments created as needed), or a GraderError saying why."""
    if gradebook is None:
        return
    from .gradebook import GradebookError

    try:
        gradebook.prepare(sorted(assignments))
    except GradebookError as exc:
        raise GraderError(str(exc)) from None


def _recorded(gradebook, result: Result, sub: Submission) -> Result:
    if gradebook is not None:
        gradebook.record(result, sub.path)
    return result


class _closing:
    def __init__(self, zygote: Zygote | None, cgroups: Cgroups | None) -> None:
        self.zygote, self.cgroups = zygote, cgroups

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc) -> None:
        if self.zygote is not None:
            self.zygote.close()
        if self.cgroups is not None:
            self.cgroups.close()
