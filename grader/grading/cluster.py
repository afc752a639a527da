"""Grading on a Dask distributed cluster: workers run sandboxes, this process does the rest.

``python -m grader autograde SUBMISSIONS --out OUT --scheduler tcp://HOST:PORT`` (a cluster
started with ``dask scheduler`` and ``dask worker``) or ``--scheduler local`` (a
``LocalCluster`` of process workers on this machine).

Why the split is where it is: a worker is trusted no more than a sandbox. Reading the
notebooks, planning them (:func:`grader.grading.sanitize.plan`), judging the outcomes and
writing grades, report and feedback all stay in the instructor's process. A worker gets
a :class:`Job` (the notebook's bytes and its plan), runs the plan in a sandbox of its own
exactly as the local grader does (:func:`grader.grading.run.run_plan`) and returns an
:class:`JobOutcome`: the replies of the harness and the outcome files *as bytes*. Only the file
names the plan can produce are accepted back, each at most the judge's limit
(:data:`helpers.protocol.MAX_OUTCOME_BYTES`: a larger one is not even sent), and
they are read with ``torch.load(weights_only=True)`` like any other outcome file.

Nothing is lost when a worker dies: Dask re-runs a task whose worker died on another worker;
a submission whose task was on ``allowed-failures`` + 1 dead workers in a row (Dask's
``KilledWorker``) becomes a ``grading-failed`` row for that learner alone. For the scheduler
started here (``local``) that bound is :data:`ALLOWED_FAILURES`; a cluster's own scheduler
reads ``distributed.scheduler.allowed-failures`` (``DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES``).
Nor when the grader itself stops: each result goes to the caller as it is judged, which records and
checkpoints it as the local grader does, so Ctrl-C (the run's running sandboxes killed on every worker,
:func:`halt_run`, and the unfinished tasks cancelled) or a killed grader keeps what was graded, and the
same command grades the rest.

Before any submission is sent, every worker reports its course version
(:func:`course_version`, a hash of the exercise definitions and the sandbox's sources) and
whether it can build the sandbox (:func:`grader.sandbox.process.available`); a mismatch or a
missing requirement stops the run with the worker's address and the reason. A worker that
joins later is checked again by each task it runs. An unreachable scheduler is an error
within :data:`CONNECT_TIMEOUT` seconds.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from helpers.protocol import MAX_OUTCOME_BYTES, one_line, outcome_file

from ..authoring.config import ROOT
from ..errors import SetupError
from ..sandbox.process import available, course_import_problem
from .batch import Backend, Batch, GraderError, prepare_gradebook
from .config import GradingConfig, resolve
from .place import GradingPlace
from .records import file_digest
from .results import Result, SubmissionStatus
from .sanitize import Assignment, Plan, plan, read_json
from .submissions import Submission

#: Seconds to reach the scheduler, and to wait for a first worker, before giving up.
CONNECT_TIMEOUT = 5
WORKER_TIMEOUT = 30
#: Dead workers one submission may cost before it is reported as an error (the local scheduler's
#: ``allowed-failures``: Dask runs a task at most this + 1 times).
ALLOWED_FAILURES = 2
#: What a course version is made of: what the sandbox runs and the exercises it checks with.
VERSIONED = ("helpers", "grader/sandbox")


class GraderClusterError(GraderError):
    """The cluster cannot grade (unreachable, no workers, wrong version, missing requirements)."""


def course_version(root: Path = ROOT) -> str:
    """A hash of the course's exercise definitions and sandbox sources (``.py`` under :data:`VERSIONED`)."""
    digest = hashlib.sha256()
    for top in VERSIONED:
        for path in sorted((root / top).rglob("*.py")):
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def worker_report(isolation: str) -> dict:
    """What a worker says about itself before it is sent anything (run there by ``Client.run``)."""
    try:
        import helpers.checks  # noqa: F401 - the course must import there
        missing = available(isolation) or course_import_problem(ROOT)
    except Exception as exc:  # noqa: BLE001 - reported, with the worker's address
        missing = f"the course does not import: {type(exc).__name__}: {exc}"
    return {"version": course_version(), "missing": missing, "python": sys.version.split()[0],
            "pid": os.getpid(), "root": str(ROOT)}


# ---------------------------------------------------------------------------
# on a worker


@dataclass(frozen=True)
class Job:
    """One submission, as the instructor's process sends it: the notebook's bytes and its plan."""

    number: int
    student: str
    file: str
    assignment: Assignment
    notebook: bytes
    plan: Plan
    config: GradingConfig  # without the course secret: workers get only the seeds below
    version: str
    seeds: dict[str, int] | None = None  # this learner's hidden-case seed of each exercise (GradingConfig.seeds)
    run: str = ""  # the grading run it belongs to, so that Ctrl-C there ends its sandboxes here (halt_run)


@dataclass
class JobOutcome:
    """What a worker sends back: plain data, and the outcome files as bytes."""

    replies: dict
    fatal: list[int]
    cells: list[dict]
    restarts: int
    answer_problems: dict
    raised: dict
    files: dict[str, bytes]
    worker: str = ""
    seconds: float = 0.0
    failed: str = ""  # the sandbox could not be built (GradingFailed), in words
    outside: list = None  # each end of the sandbox from outside, retried (RunState.outside)


class CourseVersionError(SetupError):
    """This worker runs a different version of the course than the instructor."""


#: Each worker process's grading place (its zygote, data cache, control groups, folder, sandbox uids) per
#: isolation and limits: made on its first job and kept for the worker's life.
_PLACES: dict[tuple, GradingPlace] = {}
_PLACES_LOCK = threading.Lock()


def worker_place(config: GradingConfig) -> GradingPlace:
    """This worker's grading place for ``config``, made on the first job (a slot per Dask thread)."""
    key = (config.isolation, config.limits)
    with _PLACES_LOCK:
        if key not in _PLACES:
            try:
                from distributed import get_worker

                slots = max(1, get_worker().state.nthreads)
            except (ImportError, ValueError):
                slots = 1
            place = GradingPlace(config, slots)
            place.make_folder(f"{WORKER_DIR}{os.getpid()}-")
            place.prepare()
            place.start_zygote(own_thread=True)  # not a pool thread's: see GradingPlace.start_zygote
            place.keep_until_exit()
            _PLACES[key] = place
        return _PLACES[key]


#: A worker's grading folder is ``<tmp>/conv-course-worker-<pid>-<random>``: the pid says whose it is.
WORKER_DIR = "conv-course-worker-"


def sweep_dead_workers(tmp: Path | None = None) -> list[Path]:
    """Remove the grading folders of worker processes that are gone (a worker killed with kill -9
    never runs its clean-up); returns what was removed. A folder whose pid is alive is left alone."""
    removed = []
    for folder in Path(tmp or tempfile.gettempdir()).glob(f"{WORKER_DIR}*-*"):
        pid = folder.name[len(WORKER_DIR):].split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid() or not folder.is_dir() or folder.is_symlink():
            continue
        try:
            if folder.stat().st_uid != os.geteuid():
                continue  # another user's worker
        except OSError:
            continue
        if not _running(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _running(pid: int) -> bool:
    """Is ``pid`` a live process? A worker killed a moment ago may be a zombie its nanny has not reaped
    yet: ``kill(pid, 0)`` still succeeds on it, but it will never run its clean-up, so it counts as gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:  # unreadable: assume alive, leave its folder alone
        return True
    return stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")  # the state follows the command's ")"


def run_job(job: Job) -> JobOutcome:
    """Run one submission's plan in a sandbox on this worker (Dask calls this; no judging here)."""
    from .run import GradingFailed, prepare_workdir, remove_workdir, run_plan

    version = course_version()
    if version != job.version:
        raise CourseVersionError(f"this worker runs course version {version}, the instructor {job.version}: "
                                 f"update its checkout ({ROOT})")
    started = time.monotonic()
    live = _live(job.run)
    live.check()  # the run was halted while this task waited: nothing to start
    config = resolve(job.config, root=ROOT)  # this worker's checkout, wherever it is
    sweep_dead_workers()  # what a worker killed before left behind, found by the next job on the machine
    place = worker_place(config)
    with place.slot() as slot:
        workdir = place.tmp / f"{job.number:05d}-{os.getpid()}-{threading.get_ident()}"
        try:
            copy = prepare_workdir(workdir, job.notebook, place.uid(slot))
            sub = Submission(job.student, copy, job.assignment.chapter)
            try:
                state = run_plan(sub, job.assignment, workdir, slot, **place.sandboxes(), planned=job.plan,
                                 seeds=job.seeds, live=live)
            except GradingFailed as exc:
                return JobOutcome({}, [], [], 0, {}, {}, {}, _address(), time.monotonic() - started, str(exc))
            files = {p.name: p.read_bytes() for p in sorted(state.judged.iterdir())
                     if p.is_file() and not p.is_symlink() and p.stat().st_size <= MAX_OUTCOME_BYTES}
            return JobOutcome(state.replies, sorted(state.fatal), state.cells, state.restarts, state.answer_problems,
                              state.raised, files, _address(), time.monotonic() - started,
                              outside=list(state.outside))
        finally:
            remove_workdir(workdir)
            sweep_dead_workers()  # and again: a worker killed as this job began may have died only since


#: This worker's grading runs by run id (:class:`grader.grading.run.Live`: their running sandboxes), kept
#: for the worker's life (a small entry per run), so that a task of a halted run arriving later starts nothing.
_RUNS: dict = {}
_RUNS_LOCK = threading.Lock()


def _live(run: str):
    from .run import Live

    with _RUNS_LOCK:
        if run not in _RUNS:
            _RUNS[run] = Live()
        return _RUNS[run]


def halt_run(run: str) -> int:
    """Run on every worker (``Client.run``) when the instructor presses Ctrl-C: the run's sandboxes on
    this worker are killed at once and its tasks not yet started here start nothing. Returns how many
    sandboxes were running. (Dask's cancel only forgets tasks: a running one would go on to its end.)"""
    live = _live(run)
    running = len(live.boxes)
    live.halt()
    return running


def _address() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return ""


# ---------------------------------------------------------------------------
# in the instructor's process


def _halt(client, run: str, timeout: float = 5.0) -> None:
    """Ctrl-C: every worker kills this run's running sandboxes (:func:`halt_run`), waited for at most
    ``timeout`` s so that a worker that does not answer cannot hold the instructor's prompt."""
    if not run:
        return

    def halt() -> None:
        try:
            client.run(halt_run, run)
        except Exception:  # noqa: BLE001 - a worker gone or unreachable: its task ends with it or on its own
            pass

    halting = threading.Thread(target=halt, daemon=True)
    halting.start()
    halting.join(timeout)


def connect(scheduler: str, workers: int):
    """A ``Client`` of the scheduler (and the ``LocalCluster`` started for ``local``, else ``None``)."""
    import dask
    from distributed import Client, LocalCluster

    if scheduler == "local":
        with dask.config.set({"distributed.scheduler.allowed-failures": ALLOWED_FAILURES}):
            # no dashboard, and the scheduler's HTTP server (health checks) on a port of its own: not
            # 8787, which the instructor's own Dask dashboard may want
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None, scheduler_kwargs={"dashboard_address": ":0"},
                                   silence_logs=50)
        return Client(cluster), cluster
    try:
        return Client(scheduler, timeout=CONNECT_TIMEOUT), None
    except (OSError, TimeoutError, ValueError) as exc:
        raise GraderClusterError(f"cannot reach the Dask scheduler at {scheduler} within {CONNECT_TIMEOUT} s "
                                 f"({type(exc).__name__}); is `dask scheduler` running there?") from None


def check_workers(client, config: GradingConfig, version: str) -> dict[str, dict]:
    """Every worker's report; ``GraderClusterError`` unless all run this course version and can sandbox."""
    try:
        client.wait_for_workers(1, timeout=WORKER_TIMEOUT)
    except (TimeoutError, OSError):
        raise GraderClusterError(f"no Dask worker joined the scheduler within {WORKER_TIMEOUT} s; start one with "
                                 "`dask worker SCHEDULER` in the course's checkout and virtualenv") from None
    reports = client.run(worker_report, config.isolation if config.sandboxed else "none")
    problems = []
    for address, report in sorted(reports.items()):
        if report["version"] != version:
            problems.append(f"worker {address} runs course version {report['version']}, this checkout "
                            f"{version}: refused (update the worker's checkout {report['root']} and restart it)")
        elif report["missing"]:
            problems.append(f"worker {address} cannot grade: {report['missing']}")
    if problems:
        raise GraderClusterError("; ".join(problems))
    return reports


def accepted_files(files: dict[str, bytes], assignment: Assignment, limit: int = MAX_OUTCOME_BYTES) -> dict[str, bytes]:
    """Only the outcome files the plan can produce, each within ``limit`` (the judge's)."""
    names = {outcome_file(gid, part) for gid in assignment.tests for part in (False, True)}
    return {name: data for name, data in files.items()
            if name in names and isinstance(data, bytes) and len(data) <= limit}


def judge_outcome(sub: Submission, assignment: Assignment, planned: Plan, outcome: JobOutcome, tmp: Path,
                  seeds: dict[str, int] | None = None) -> Result:
    """The worker's outcome judged here, as the local grader judges its own run."""
    from .run import RunState, graded_result

    try:
        digest = file_digest(sub.path)
    except OSError:
        digest = ""
    if outcome.failed:
        return Result(sub.student, sub.path.name, assignment.chapter, SubmissionStatus.GRADING_FAILED, outcome.failed,
                      sha256=digest)
    state = RunState(planned, dict(outcome.replies), set(outcome.fatal), list(outcome.cells), outcome.restarts,
                 dict(outcome.answer_problems), {int(k): v for k, v in outcome.raised.items()},
                 outside=list(outcome.outside or []))
    judged = Path(tempfile.mkdtemp(prefix="judged-", dir=tmp))
    try:
        for name, data in accepted_files(outcome.files, assignment).items():
            (judged / name).write_bytes(data)
        state.judged = judged
        return graded_result(sub, assignment, state, seeds, digest)
    finally:
        shutil.rmtree(judged, ignore_errors=True)


class DaskCluster(Backend):
    """The Dask backend of a batch (:func:`grader.grading.batch.run_batch`): workers run the sandboxes,
    this process plans, judges and keeps each result as it comes back.

    On Ctrl-C every worker kills this run's running sandboxes (:func:`halt_run`), the tasks not yet
    finished are cancelled and the client is closed within seconds; a second Ctrl-C is ignored until then.
    """

    def __init__(self, config: GradingConfig) -> None:
        self.config = config
        self.client = self.cluster = None
        self.run = ""  # this run's id on the workers (halt_run)
        self.futures: dict = {}

    def open(self, batch: Batch, pending: list) -> None:
        """The gradebook ready; then, with something to grade, the cluster reached and its workers checked."""
        prepare_gradebook(batch.gradebook, batch.assignments, batch.config)
        if not pending:
            return
        config = self.config
        self.version = course_version(config.root)
        try:
            import distributed  # noqa: F401
        except ImportError:
            raise GraderClusterError("grading on a cluster needs `dask[distributed]` (pip install -r "
                                     "requirements.txt)") from None
        self.client, self.cluster = connect(config.scheduler, config.worker_count())
        reports = check_workers(self.client, config, self.version)
        batch.sandbox = {"isolation": config.isolation, "scheduler": config.scheduler, "workers": len(reports),
                         "course_version": self.version, "cell_timeout": config.cell_timeout,
                         "timeout": config.timeout, "limits": asdict(config.limits) if config.sandboxed else None}

    def grade(self, batch: Batch, pending: list):
        """Plan each notebook here and send it; judge each worker's outcome here as it comes back."""
        if not pending:
            return
        from distributed import as_completed
        from distributed.scheduler import KilledWorker

        config, client = self.config, self.client
        seeds = {}  # each learner's own hidden-case seeds (GradingConfig.seeds)
        shipped = replace(config, secret=None)  # the secret stays here; workers need only the seeds
        self.run = f"{os.getpid()}-{time.time_ns()}"
        plans = {}
        for number, ((_, chapter), sub) in enumerate(pending):
            assignment = batch.assignments[chapter]
            try:
                data, _ = read_json(sub.path)
                plans[number] = plan(data or {"cells": []}, assignment)
                notebook = sub.path.read_bytes()
            except Exception as exc:  # noqa: BLE001 - a notebook nothing can plan is this student's error row
                yield Result(sub.student, sub.path.name, assignment.chapter, SubmissionStatus.GRADING_FAILED,
                             one_line(exc, "the notebook could not be planned")), sub
                continue
            seeds[number] = config.seeds(sub.student)
            job = Job(number, sub.student, sub.path.name, assignment, notebook, plans[number],
                      shipped, self.version, seeds[number], self.run)
            future = client.submit(run_job, job, key=f"grade-{number:05d}-{os.getpid()}-{time.time_ns()}",
                                   pure=False)
            self.futures[future] = (number, sub, assignment)
        with tempfile.TemporaryDirectory(prefix="conv-course-judge-") as tmp:
            for future in as_completed(list(self.futures)):
                number, sub, assignment = self.futures.pop(future)
                try:
                    result = judge_outcome(sub, assignment, plans[number], future.result(), Path(tmp),
                                           seeds[number])
                except KilledWorker:
                    result = Result(sub.student, sub.path.name, assignment.chapter, SubmissionStatus.GRADING_FAILED,
                                    "the Dask workers grading this notebook died every time it was tried "
                                    "(the cluster's allowed-failures); not tried again")
                except Exception as exc:  # noqa: BLE001 - one submission never stops the batch
                    result = Result(sub.student, sub.path.name, assignment.chapter, SubmissionStatus.GRADING_FAILED,
                                    one_line(exc, "the grader failed on this notebook"))
                yield result, sub

    def halt(self) -> list:
        if self.client is not None:
            _halt(self.client, self.run)
            try:  # the scheduler forgets the rest
                self.client.cancel(list(self.futures), force=True)
            except Exception:  # noqa: BLE001 - the run is stopping either way
                pass
        return []

    def close(self) -> None:
        client, cluster, self.client, self.cluster = self.client, self.cluster, None, None
        if client is not None:
            try:
                client.close(timeout=5)
            finally:
                if cluster is not None:
                    cluster.close(timeout=10)


__all__ = ["CONNECT_TIMEOUT", "CourseVersionError", "GraderClusterError", "Job", "JobOutcome", "course_version",
           "DaskCluster", "halt_run", "run_job", "sweep_dead_workers", "worker_report"]
