"""What every grading batch shares, wherever its sandboxes run: errors, progress, interrupts, outputs.

A batch (:func:`grader.grading.autograde.autograde`) grades its submissions on this machine, a pool
of sandboxes, or on a Dask cluster (:mod:`grader.grading.cluster`); either way it

* reports progress on one line (:class:`ProgressBar`) and stops on Ctrl-C without losing what was
  graded (:func:`ignore_interrupts` while it winds down, :class:`BatchInterrupted` to the caller);
* records each result as it comes (:func:`recorded`: the gradebook) and checkpoints it
  (:func:`checkpoint`: feedback, ``grades.csv`` and ``report.json`` rewritten atomically), so the same
  command resumes a stopped batch; at the end writes everything (:func:`write_all`), class report included;
* fails before grading anything with :class:`GraderError` (the set-up) when it cannot run at all.

One engine drives both ways of grading (:func:`run_batch`, through the :class:`Backend` interface):
this machine's pool (:class:`grader.grading.pool.LocalPool`) and a Dask cluster
(:class:`grader.grading.cluster.DaskCluster`); both import this module and nothing of each other.
"""

from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import SetupError
from .config import GradingConfig
from .lms import Roster, read_roster, write_grade_files
from .records import make_dirs
from .report import write_feedback, write_outputs
from .results import Result
from .sanitize import load_assignment
from .submissions import Submission


class GraderError(SetupError):
    """The grader itself cannot run (not a problem of any one submission)."""


class ProgressBar:
    """A one-line progress bar with an ETA on stderr."""

    def __init__(self, total: int, stream=None) -> None:  # stderr as it is now, not as it was at import
        self.total, self.done, self.start, self.stream = total, 0, time.monotonic(), stream or sys.stderr

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


class BatchInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped the batch; ``results`` were written, the rest is graded by the next run."""

    def __init__(self, results: list[Result]) -> None:
        super().__init__("the batch was interrupted")
        self.results = results


def sorted_results(results: list[Result]) -> list[Result]:
    return sorted(results, key=lambda r: (r.student, r.assignment or "", r.file))


def gradebook_summary(gradebook) -> dict | None:
    return gradebook.summary.as_dict() if gradebook else None


def checkpoint(result: Result, results: list[Result], out: Path, assignments, sandbox, gradebook, hidden) -> None:
    """One submission finished: its feedback, then grades and report as they stand (atomically).

    A checkpoint that cannot be written (a full disk) does not stop the batch: the files are
    written again after the next submission and at the end.
    """
    write_feedback(result, out)
    try:
        write_outputs(results, out, assignments, sandbox, gradebook_summary(gradebook), hidden, feedback=False)
    except OSError:
        pass


def ignore_interrupts():
    """A second Ctrl-C while the batch winds down would only lose what the first one saves; returns the undo."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    return lambda: signal.signal(signal.SIGINT, before)


def write_all(results: list[Result], out: Path, assignments: dict, sandbox: dict | None, submissions_dir: Path,
               config: GradingConfig, gradebook=None, hidden: dict | None = None, *, identities: dict | None = None,
               roster: Roster | None = None) -> None:
    """The run's outputs: grades, report and feedback (:mod:`.report`), the LMS's grade files when the
    submissions came from an LMS download or a roster was given (:mod:`.lms`), then the class report."""
    from .classreport import write_report

    write_outputs(results, out, assignments, sandbox, gradebook_summary(gradebook), hidden)
    if identities or (roster and roster.learners):
        write_grade_files(results, out, assignments, identities or {}, roster or Roster(), config.canvas_assignment)
    write_report(out, [asdict(r) for r in results], submissions_dir=submissions_dir, root=config.root,
                 similarity=config.similarity, threshold=config.similarity_threshold)


def prepare_gradebook(gradebook, assignments: dict, config: GradingConfig) -> None:
    """The gradebook ready for these chapters (assignments created as needed) and for this run's settings,
    or a GraderError saying why."""
    if gradebook is None:
        return
    from .gradebook import GradebookError

    try:
        gradebook.prepare(sorted(assignments), clear_stale_manual=config.clear_stale_manual)
    except GradebookError as exc:
        raise GraderError(str(exc)) from None


def recorded(gradebook, result: Result, sub: Submission) -> Result:
    if gradebook is not None:
        gradebook.record(result, sub.path, lms=sub.lms)
    return result


def record_settled(batch: "Batch") -> None:
    """What the batch did not grade but the gradebook must hold, once it is ready: results kept from an
    earlier run (a gradebook given only now records them without running any notebook) and unreadable
    files of a known chapter (their learner's 0 and the reason, so ``nbgrader export`` lists them)."""
    for result, sub in batch.settled:
        recorded(batch.gradebook, result, sub)


# ---------------------------------------------------------------------------
# the engine: one loop for both backends


@dataclass
class Batch:
    """One batch under way: the results so far, where they are written, and how each one is kept."""

    out: Path
    submissions_dir: Path
    config: GradingConfig
    gradebook: object
    hidden: dict
    results: list[Result] = field(default_factory=list)
    assignments: dict = field(default_factory=dict)
    #: report.json's settings of the sandboxes, once the backend has them (``None``: nothing was run)
    sandbox: dict | None = None
    #: results settled before grading (kept, unreadable) that the gradebook records (:func:`record_settled`)
    settled: list[tuple[Result, Submission]] = field(default_factory=list)
    #: each student's identity in a flat LMS download (nbgrader id -> :class:`grader.grading.lms.Identity`)
    identities: dict = field(default_factory=dict)
    roster: Roster = field(init=False)

    def __post_init__(self) -> None:
        self.roster = read_roster(self.config.roster)

    def keep(self, result: Result, sub: Submission) -> None:
        """One finished submission: recorded in the gradebook, then checkpointed with the rest."""
        self.results.append(recorded(self.gradebook, result, sub))
        make_dirs(self.out)  # not before: a cluster refused up front leaves no folder
        checkpoint(result, self.results, self.out, self.assignments, self.sandbox, self.gradebook, self.hidden)


class Backend:
    """Where a batch's sandboxes run: this machine's pool (:class:`LocalPool`) or a Dask cluster
    (:class:`grader.grading.cluster.DaskCluster`). :func:`run_batch` drives either the same way:

    1. :meth:`start` as soon as the pending submissions are known (slow start-ups overlap the reading);
    2. :meth:`open` once the chapters are loaded: ready to grade, ``batch.sandbox`` set;
    3. :meth:`grade` yields ``(result, submission)`` as each one finishes (``None``: stopped before);
    4. on Ctrl-C, :meth:`halt` ends every sandbox at once and returns what finished meanwhile;
    5. :meth:`close`, always.
    """

    def start(self, pending: list) -> None:
        """Begin what takes long (the zygote's imports) while the batch reads its chapters."""

    def open(self, batch: Batch, pending: list) -> None:
        raise NotImplementedError

    def grade(self, batch: Batch, pending: list):
        raise NotImplementedError

    def halt(self) -> list[tuple[Result, Submission]]:
        return []

    def close(self) -> None:
        """Everything the backend started is gone (it may be called before :meth:`open`, or twice)."""


def run_batch(backend: Backend, batch: Batch, pending: list[tuple[tuple[str, str], Submission]],
              chapters: list[str]) -> list[Result]:
    """Grade ``pending`` (``((student, chapter), submission)``) on ``backend``: each result kept as it comes
    (:meth:`Batch.keep`), Ctrl-C ending every sandbox and keeping what was graded
    (:class:`BatchInterrupted`), and at the end every output written (:func:`write_all`)."""
    interrupted, restore = False, None
    try:
        backend.start(pending)
        batch.assignments = {ch: load_assignment(ch, batch.config.root) for ch in chapters}
        try:
            backend.open(batch, pending)
            record_settled(batch)
            bar = ProgressBar(len(pending)) if batch.config.progress and pending else None
            for result, sub in backend.grade(batch, pending):
                if result is not None:
                    batch.keep(result, sub)
                if bar:
                    bar.step(sub.label)
        except KeyboardInterrupt:
            interrupted, restore = True, ignore_interrupts()
            for result, sub in backend.halt():
                if not any(kept is result for kept in batch.results):
                    batch.keep(result, sub)
    finally:
        try:
            if interrupted:
                make_dirs(batch.out)
                write_outputs(batch.results, batch.out, batch.assignments, batch.sandbox,
                              gradebook_summary(batch.gradebook), batch.hidden)
            backend.close()
        finally:
            if restore is not None:
                restore()
    results = sorted_results(batch.results)
    if interrupted:
        raise BatchInterrupted(results)
    make_dirs(batch.out)
    write_all(results, batch.out, batch.assignments, batch.sandbox, batch.submissions_dir, batch.config,
              batch.gradebook, batch.hidden, identities=batch.identities, roster=batch.roster)
    return results
