"""Autograding a folder of submissions into grades, a report and feedback.

The batch: find the submissions (:func:`select`, :mod:`grader.grading.submissions`), then grade
them with the batch engine (:func:`grader.grading.batch.run_batch`) on this machine's pool of
sandboxes (:class:`grader.grading.pool.LocalPool`: one zygote, ``workers`` at a time) or on a Dask
cluster (:class:`grader.grading.cluster.DaskCluster`), and write the outputs
(:mod:`grader.grading.report`). For every submitted notebook:

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

* ``grades.csv``: ``student, assignment, exercise, score, max_score, status, seconds_late, late_penalty,
  gradebook_score``, one row per student, chapter and exercise (status: passed, failed, not attempted, error);
  lateness and penalty are nbgrader's (:mod:`grader.grading.late`), and ``gradebook_score`` the points the
  gradebook counts (a manual score outranks the grader's), known when the run records into a gradebook;
* ``report.json``: the settings of the run, then per submission ``graded`` or an error kind
  (:class:`~grader.grading.results.SubmissionStatus`) with a one-line reason, the tampering
  noticed, the cells that could not run, with the cause, and the cells that raised;
* ``feedback/<student>/<chapter>.html``: each exercise's name, verdict, message and hint,
  escaped (no student output or script is ever copied into it; no test code either).

``grades.csv`` and ``report.json`` are rewritten atomically after every submission, so a run
stopped by Ctrl-C (every sandbox ended within seconds, :class:`~grader.grading.batch.BatchInterrupted`) or killed
is resumed by running it again: what ``report.json`` holds for the same file content and the
same hidden cases (:mod:`grader.grading.records`) is kept unless ``regrade``. The hidden cases
come from the course secret (:mod:`grader.grading.secret`, ``GradingConfig.secret``).
"""

from __future__ import annotations

from pathlib import Path

from helpers.protocol import one_line

from .batch import Backend, Batch, GraderError, run_batch
from .config import GradingConfig, resolve
from .pool import LocalPool
from .records import file_digest, previous
from .results import Result, SubmissionStatus
from .submissions import Submission, discover


def autograde(submissions_dir: Path, out: Path, config: GradingConfig | None = None, *, gradebook=None,
              **overrides) -> list[Result]:
    """Grade every notebook under ``submissions_dir``; write grades, report and feedback to ``out``.

    ``config``: the settings (:class:`~grader.grading.config.GradingConfig`, its defaults if
    ``None``); keyword ``overrides`` change single settings (``workers=4``, ``isolation="bwrap"``,
    ``secret=KEY``: the course secret the hidden cases are drawn from, :mod:`grader.grading.secret`;
    without one, the public hidden cases a learner's ``grader check`` uses).

    ``gradebook``: a :class:`grader.grading.gradebook.Recorder`; each graded submission is recorded in it
    as soon as it is graded (nbgrader's gradebook and ``autograded/``).

    A submission already graded in ``out/report.json`` (same file content, same hidden cases)
    is kept, not graded again, unless ``regrade``. ``grades.csv`` and ``report.json`` are
    rewritten (atomically) after every submission. Ctrl-C ends every sandbox at once, writes
    both files for what was graded and raises :class:`~grader.grading.batch.BatchInterrupted`.
    """
    try:
        config = resolve(config, **overrides)
    except ValueError as exc:
        raise GraderError(str(exc)) from None
    if config.scheduler:  # each worker is checked when the cluster is reached
        from .cluster import DaskCluster

        backend: Backend = DaskCluster(config)
    else:
        backend = LocalPool(config)  # this machine is checked now: can it sandbox, does it import this course
    batch = Batch(out, submissions_dir, config, gradebook, config.hidden_cases())
    pending, chapters = select(batch)
    return run_batch(backend, batch, pending, chapters)


def select(batch: Batch) -> tuple[list[tuple[tuple[str, str], Submission]], list[str]]:
    """What is to be graded: every notebook found, one per student and chapter (the latest), except those
    already graded in ``out/report.json`` (same file, same hidden cases) unless ``regrade``.

    The rest become rows of ``batch.results`` now: files that are not a chapter's notebook, older
    duplicates, unreadable files and the results kept. Returns the pending submissions, sorted, and
    the chapters of all that are graded or kept.
    """
    config, results, hidden = batch.config, batch.results, batch.hidden
    kept, hidden["resume"] = ({}, "--regrade: every submission graded again") if config.regrade else \
        previous(batch.out, hidden["fingerprint"])
    to_grade: dict[tuple[str, str], Submission] = {}
    for sub in discover(batch.submissions_dir, config.root):
        if sub.problem:
            results.append(Result(sub.student, sub.path.name, None, sub.problem.kind, sub.problem.reason))
            continue
        key = (sub.student, sub.chapter)
        if key in to_grade:
            try:
                older, newer = sorted([to_grade[key], sub], key=lambda s: (s.path.stat().st_mtime, s.path.name))
            except OSError:  # removed meanwhile: the one still there is graded
                older, newer = (to_grade[key], sub) if sub.path.exists() else (sub, to_grade[key])
            results.append(Result(older.student, older.path.name, older.chapter, SubmissionStatus.DUPLICATE,
                                  f"{newer.path.name} is a later notebook for the same chapter; it was graded"))
            to_grade[key] = newer
        else:
            to_grade[key] = sub

    pending: list[tuple[tuple[str, str], Submission]] = []
    for key, sub in sorted(to_grade.items()):
        try:
            entry = kept.get((sub.student, sub.path.name, file_digest(sub.path)))
        except OSError as exc:
            results.append(Result(sub.student, sub.path.name, sub.chapter, SubmissionStatus.UNREADABLE,
                                  one_line(exc, "the file could not be read")))
            continue
        if entry is not None:
            results.append(Result.from_entry(entry))
        else:
            pending.append((key, sub))
    if kept and not config.regrade:
        hidden["resume"] = (f"{len(to_grade) - len(pending)} submission(s) already graded in this folder were kept "
                            "(same file, same hidden cases); --regrade grades them again")
    return pending, sorted({ch for _, ch in to_grade})
