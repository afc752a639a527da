"""The local backend of a batch: a pool of sandboxes on this machine, one zygote for all of them.

:class:`LocalPool` is what :func:`grader.grading.batch.run_batch` drives when no ``--scheduler`` is
given: its grading place (:class:`grader.grading.place.GradingPlace`) starts one zygote (its imports
overlap the batch's reading of the chapters), a control group and a sandbox uid per worker slot, and it grades up to ``workers`` submissions side by side in
threads, each in its own folder (:func:`grader.grading.run.grade_one`). Ctrl-C ends every running
sandbox at once (:class:`~grader.grading.run.Live`); at the end whatever a sandbox left is killed
(:func:`~grader.sandbox.reaping.reap`) before the control groups are removed.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor, as_completed, wait
from dataclasses import asdict

from helpers.protocol import one_line

from ..sandbox.process import available, course_import_problem
from ..sandbox.reaping import reap
from .batch import Backend, Batch, GraderError, prepare_gradebook
from .config import GradingConfig
from .place import GradingPlace
from .records import make_dirs
from .results import Result, SubmissionStatus
from .run import Interrupted, Live, grade_one


class LocalPool(Backend):
    """Sandboxes on this machine, ``config.worker_count()`` at a time, in one :class:`GradingPlace`."""

    def __init__(self, config: GradingConfig) -> None:
        if config.sandboxed:
            why = available(config.isolation)
            if why:
                raise GraderError(f"cannot grade in a sandbox here: {why}. (Use --no-sandbox only for "
                                  "notebooks you trust.)")
        why = course_import_problem(config.root)
        if why:
            raise GraderError(f"cannot grade here: {why}")
        self.config, self.workers = config, config.worker_count()
        self.place: GradingPlace | None = None
        self.opened = False
        self.live = Live()
        self.pool: ThreadPoolExecutor | None = None
        self.futures: dict = {}
        self.seen: set = set()

    def start(self, pending: list) -> None:
        # The zygote imports torch and the course (seconds) while this process reads the chapters and the
        # data and loads what it judges with: the two start-ups overlap.
        self.place = GradingPlace(self.config, self.workers)
        if pending:
            self.place.start_zygote()

    def open(self, batch: Batch, pending: list) -> None:
        config, place = self.config, self.place
        if pending:
            from helpers.checks import exercises

            from .judge import judge_exercise  # noqa: F401 - torch, imported while the zygote loads

            exercises()
            place.prepare()
        make_dirs(batch.out)
        prepare_gradebook(batch.gradebook, batch.assignments, batch.config)
        self.opened = True
        cgroups = place.cgroups
        batch.sandbox = {"isolation": config.isolation, "workers": self.workers,
                         "uids": [place.uids, place.uids + self.workers - 1] if config.sandboxed else None,
                         "cell_timeout": config.cell_timeout, "timeout": config.timeout,
                         "limits": asdict(config.limits) if config.sandboxed else None,
                         "cgroups": (cgroups.missing or "cpu, memory and pids groups per worker") if cgroups else None}

    def grade(self, batch: Batch, pending: list):
        if not pending:
            return
        config, place, live = self.config, self.place, self.live
        options = dict(place.sandboxes(), live=live)
        tmp = place.make_folder("conv-course-grade-")
        place.wait()

        def job(item: tuple[int, tuple[tuple[str, str], object]]) -> Result | None:
            number, ((_, chapter), sub) = item
            with place.slot() as slot:
                try:
                    if live.stop.is_set():
                        return None
                    return grade_one(sub, batch.assignments[chapter], tmp, number, slot,
                                     seeds=config.seeds(sub.student), **options)
                except Interrupted:
                    return None
                except Exception as exc:  # noqa: BLE001 - one submission never stops the batch
                    if live.stop.is_set():
                        return None
                    return Result(sub.student, sub.path.name, chapter, SubmissionStatus.GRADING_FAILED,
                                  one_line(exc, "the grader failed on this notebook"))

        self.pool = ThreadPoolExecutor(max_workers=self.workers)
        self.futures = {self.pool.submit(job, item): item for item in enumerate(pending)}
        for future in as_completed(self.futures):
            yield future.result(), self.futures[future][1][1]
            self.seen.add(future)  # only once it was kept: a Ctrl-C while keeping it leaves it to halt()
        self.pool.shutdown(wait=True)

    def halt(self) -> list:
        """Every running sandbox killed; the submissions finished within 2 s of it are kept."""
        self.live.halt()
        if self.pool is None:
            return []
        self.pool.shutdown(wait=False, cancel_futures=True)
        done, _ = wait(self.futures, timeout=2.0)  # workers give up within a second of their sandbox's end
        late = []
        for future in done:
            if future in self.seen or future.cancelled() or future.exception():
                continue
            self.seen.add(future)
            if future.result() is not None:
                late.append((future.result(), self.futures[future][1][1]))
        return late

    def close(self) -> None:
        place = self.place
        if place is None:
            return
        if self.config.sandboxed and self.opened:  # what a sandbox left, before the groups go
            reap(place.uid_range())
        place.close()
