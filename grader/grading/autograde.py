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

``grades.csv`` and ``report.json`` are rewritten atomically after every submission, so a run
stopped by Ctrl-C (every sandbox ended within seconds, :class:`BatchInterrupted`) or killed
is resumed by running it again: what ``report.json`` holds for the same file content and the
same hidden cases (:mod:`grader.grading.records`) is kept unless ``regrade``. The hidden cases
come from the course secret (:mod:`grader.grading.secret`, ``GradingConfig.secret``).
"""

from __future__ import annotations

import os
import queue
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor, as_completed, wait
from dataclasses import asdict
from pathlib import Path

from helpers.protocol import one_line

from ..authoring.execute import kernel_env
from ..sandbox.cgroups import Cgroups
from ..sandbox.client import Zygote
from ..sandbox.data import data_cache_dir, warm_data_cache
from ..sandbox.process import available, course_import_problem
from ..sandbox.reaping import reap
from ..sandbox.users import uid_base
from .batch import (BatchInterrupted, GraderError, ProgressBar, checkpoint, gradebook_summary, ignore_interrupts,
                    prepare_gradebook, recorded, sorted_results, write_all)
from .config import GradingConfig, resolve
from .records import file_digest, previous
from .report import write_outputs
from .results import Result, SubmissionStatus
from .run import Interrupted, Live, grade_one
from .sanitize import load_assignment
from .submissions import Submission, discover






# ---------------------------------------------------------------------------
# a batch


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
    both files for what was graded and raises :class:`BatchInterrupted`.
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
    if not config.scheduler:
        why = course_import_problem(root)
        if why:
            raise GraderError(f"cannot grade here: {why}")
    workers = config.worker_count()
    hidden = config.hidden_cases()
    kept, hidden["resume"] = ({}, "--regrade: every submission graded again") if config.regrade else \
        previous(out, hidden["fingerprint"])
    found = discover(submissions_dir, root)
    results: list[Result] = []
    to_grade: dict[tuple[str, str], Submission] = {}
    for sub in found:
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

    pending: dict[tuple[str, str], Submission] = {}
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
            pending[key] = sub
    if kept and not config.regrade:
        hidden["resume"] = (f"{len(to_grade) - len(pending)} submission(s) already graded in this folder were kept "
                            "(same file, same hidden cases); --regrade grades them again")

    if config.scheduler:
        from .cluster import grade_on_cluster

        assignments = {ch: load_assignment(ch, root) for ch in sorted({ch for _, ch in to_grade})}
        prepare_gradebook(gradebook, assignments)

        def on_result(result: Result, sub: Submission, sandbox: dict) -> None:  # as each one is judged
            results.append(recorded(gradebook, result, sub))
            out.mkdir(parents=True, exist_ok=True)  # not before: a cluster refused up front leaves no folder
            checkpoint(result, results, out, assignments, sandbox, gradebook, hidden)

        _, sandbox, interrupted = grade_on_cluster(sorted(pending.items()), assignments, config, on_result) \
            if pending else ([], None, False)
        out.mkdir(parents=True, exist_ok=True)
        if interrupted:
            write_outputs(results, out, assignments, sandbox, gradebook_summary(gradebook), hidden)
            raise BatchInterrupted(sorted_results(results))
        results = sorted_results(results)
        write_all(results, out, assignments, sandbox, submissions_dir, config, gradebook, hidden)
        return results

    # The zygote imports torch and the course (seconds) while this process reads the chapters and the
    # data and loads what it judges with: the two start-ups overlap.
    zygote = Zygote(data_cache_dir() if config.sandboxed else None, sandboxed=config.sandboxed, env=kernel_env()) \
        if isolation in ("zygote", "none") and pending else None
    cgroups = None
    try:
        assignments = {ch: load_assignment(ch, root) for ch in sorted({ch for _, ch in to_grade})}
        seeds = None
        if pending:
            from helpers.checks import exercises

            from .judge import judge_exercise  # noqa: F401 - torch, imported while the zygote loads

            exercises()
            seeds = config.seeds()
        cache = warm_data_cache() if config.sandboxed and pending else None
        out.mkdir(parents=True, exist_ok=True)
        cgroups = Cgroups(workers, config.limits) if config.sandboxed and pending else None
        prepare_gradebook(gradebook, assignments)
    except BaseException:
        _close(zygote, cgroups)
        raise
    first_uid = uid_base()
    sandbox = {"isolation": isolation, "workers": workers,
               "uids": [first_uid, first_uid + workers - 1] if config.sandboxed else None,
               "cell_timeout": config.cell_timeout, "timeout": config.timeout,
               "limits": asdict(config.limits) if config.sandboxed else None,
               "cgroups": (cgroups.missing or "cpu, memory and pids groups per worker") if cgroups else None}
    if not pending:
        write_all(results, out, assignments, sandbox, submissions_dir, config, gradebook, hidden)
        return sorted_results(results)
    bar = ProgressBar(len(pending)) if config.progress else None
    slots: queue.Queue[int] = queue.Queue()
    for slot in range(workers):
        slots.put(slot)
    live = Live()
    options = dict(config=config, zygote=zygote, cache=cache, cgroups=cgroups, uids=first_uid, seeds=seeds,
                   live=live)
    interrupted = False
    restore = None
    tmp = tempfile.mkdtemp(prefix="conv-course-grade-")
    try:
        os.chmod(tmp, 0o711)  # sandbox users reach only their own folder inside
        if zygote is not None:
            zygote.wait()

        def job(item: tuple[int, tuple[tuple[str, str], Submission]]) -> Result | None:
            number, ((_, chapter), sub) = item
            slot = slots.get()
            try:
                if live.stop.is_set():
                    return None
                return recorded(gradebook, grade_one(sub, assignments[chapter], Path(tmp), number, slot, **options),
                                 sub)
            except Interrupted:
                return None
            except Exception as exc:  # noqa: BLE001 - one submission never stops the batch
                if live.stop.is_set():
                    return None
                return recorded(gradebook, Result(sub.student, sub.path.name, chapter,
                                                   SubmissionStatus.GRADING_FAILED,
                                                   one_line(exc, "the grader failed on this notebook")), sub)
            finally:
                slots.put(slot)

        pool = ThreadPoolExecutor(max_workers=workers)
        futures = {pool.submit(job, item): item for item in enumerate(pending.items())}
        try:
            for future in as_completed(futures):
                result = future.result()
                if result is not None:
                    results.append(result)
                    checkpoint(result, results, out, assignments, sandbox, gradebook, hidden)
                if bar:
                    bar.step(futures[future][1][1].label)
        except KeyboardInterrupt:
            interrupted = True
            restore = ignore_interrupts()
            live.halt()
            pool.shutdown(wait=False, cancel_futures=True)
            done, _ = wait(futures, timeout=2.0)  # workers give up within a second of their sandbox's end
            for future in done:
                result = None if future.cancelled() or future.exception() else future.result()
                if result is not None and result not in results:
                    results.append(result)
        else:
            pool.shutdown(wait=True)
    finally:
        if interrupted:
            write_outputs(results, out, assignments, sandbox, gradebook_summary(gradebook), hidden)
        if config.sandboxed:  # whatever a sandbox left, killed before its control groups are removed
            reap(range(first_uid, first_uid + workers))
        _close(zygote, cgroups)
        shutil.rmtree(tmp, ignore_errors=True)
        if restore is not None:
            restore()
    if interrupted:
        raise BatchInterrupted(sorted_results(results))
    results = sorted_results(results)
    write_all(results, out, assignments, sandbox, submissions_dir, config, gradebook, hidden)
    return results


















def _close(zygote: Zygote | None, cgroups: Cgroups | None) -> None:
    if zygote is not None:
        zygote.close()
    if cgroups is not None:
        cgroups.close()
