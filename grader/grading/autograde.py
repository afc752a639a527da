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
  reason, gradebook_score``, one row per student, chapter and exercise (status: passed, failed, not attempted,
  error); lateness and penalty are nbgrader's (:mod:`grader.grading.late`), and ``gradebook_score`` the points the
  gradebook counts (a manual score outranks the grader's), known when the run records into a gradebook;
* ``canvas-grades.csv`` and ``moodle-<chapter>.csv``, the LMS's grade imports, when the submissions are an
  LMS's flat download or a roster is given (:mod:`grader.grading.lms`);
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

import sys
from pathlib import Path

from helpers.protocol import one_line

from .batch import Backend, Batch, GraderError, run_batch
from .config import GradingConfig, resolve
from .pool import LocalPool
from .records import file_digest, previous
from .results import Result, SubmissionStatus
from .lms import Names
from .submissions import Submission, discover
from ..errors import UsageError


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


def nothing_found(folder: Path, names: Names) -> UsageError:
    """The one line of a run that found no notebook: what it looked for, where."""
    return UsageError(f"no notebook found in {folder}: looked for nbgrader's submitted/<student>/<assignment>/*.ipynb, "
                      f"<student>/*.ipynb folders and a flat LMS download of *.ipynb ({names.described()})")


def select(batch: Batch) -> tuple[list[tuple[tuple[str, str], Submission]], list[str]]:
    """What is to be graded: every notebook found, one per student and chapter (the latest), except those
    already graded in ``out/report.json`` (same file, same hidden cases) unless ``regrade``, and those
    of other students or chapters than ``student`` and ``assignment`` when they are set (their results
    in ``out/report.json`` are kept, so grading one student leaves the class's report whole).

    The rest become rows of ``batch.results`` now: files that are not a chapter's notebook, older
    duplicates, unreadable files and the results kept; the kept ones and the unreadable files of a known
    chapter are also ``batch.settled``, recorded in the gradebook once it is ready. Returns the pending
    submissions, sorted, and the chapters of all that are graded, kept or unreadable. Finding no notebook
    at all is a :class:`~grader.errors.UsageError` saying what was looked for.
    """
    config, results, hidden = batch.config, batch.results, batch.hidden
    names = Names(config.lms_pattern, batch.roster)
    found = discover(batch.submissions_dir, config.root, names)
    if not found:
        raise nothing_found(batch.submissions_dir, names)
    batch.identities = {sub.student: sub.lms for sub in found if sub.lms is not None}
    untimed = [sub.path.name for sub in found if sub.lms is not None and sub.lms.late and not sub.lms.timestamp]
    if untimed and batch.gradebook is not None:
        print(f"note: the LMS marked {len(untimed)} file(s) late but names no submission time (e.g. {untimed[0]}): "
              "no late penalty is given without one; add a timestamp column to the roster", file=sys.stderr)
    earlier, resume = previous(batch.out, hidden["fingerprint"])
    kept, hidden["resume"] = ({}, "--regrade: every submission graded again") if config.regrade else (earlier, resume)
    to_grade: dict[tuple[str, str], Submission] = {}
    unreadable: list[tuple[Result, Submission]] = []
    others: list[Submission] = []
    for sub in found:
        if (config.student is not None and sub.student != config.student) or \
                (config.assignment is not None and sub.chapter != config.assignment):
            others.append(sub)
            continue
        if sub.problem:
            result = Result(sub.student, sub.path.name, sub.chapter, sub.problem.kind, sub.problem.reason)
            results.append(result)
            if sub.chapter:
                unreadable.append((result, sub))
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
        if entry is not None:  # graded before: kept, and recorded in a gradebook given only now
            results.append(Result.from_entry(entry))
            batch.settled.append((results[-1], sub))
        else:
            pending.append((key, sub))
    for sub in others:  # not selected (--student, --assignment): its result in OUT stays, nothing is graded
        try:
            entry = earlier.get((sub.student, sub.path.name, file_digest(sub.path)))
        except OSError:
            entry = None
        if entry is not None:
            results.append(Result.from_entry(entry))
    if kept and not config.regrade:
        hidden["resume"] = (f"{len(to_grade) - len(pending)} submission(s) already graded in this folder were kept "
                            "(same file, same hidden cases); --regrade grades them again")
    # an unreadable file of a known chapter is its learner's 0 (in the gradebook too) unless a notebook of theirs
    # for that chapter could be read, which counts instead; a second unreadable one is only reported
    counted = set(to_grade)
    for result, sub in unreadable:
        if (sub.student, sub.chapter) in counted:
            result.assignment = None
        else:
            counted.add((sub.student, sub.chapter))
            batch.settled.append((result, sub))
    chapters = sorted({ch for _, ch in counted})
    if config.canvas_assignment and len(chapters) > 1:
        raise UsageError(f"--canvas-assignment names one Canvas column, but {batch.submissions_dir} holds "
                         f"{len(chapters)} chapters ({', '.join(chapters)}): grade one chapter's download per run")
    return pending, chapters
