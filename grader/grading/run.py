"""One submission's run through its plan, in a sandbox that is restarted when it dies.

:func:`grade_one` copies the submission into its own folder, runs the plan
(:mod:`grader.grading.sanitize`) step by step in a :class:`~grader.sandbox.process.Sandbox`
(a cell past its time is interrupted; a cell that ends the sandbox is recorded, the sandbox
restarted and brought back to the same point by re-running the earlier cells, not that one; a sandbox
ended from outside, by the host and not by the submission or its limits (``Died.outside``), costs the
learner nothing: the same cell is run again in a new sandbox, up to :data:`OUTSIDE_RETRIES` times, and
only then is the submission ``grading-failed``, in words that blame no cell of it),
moves each test's outcome files out of the student's reach, and judges them
(:mod:`grader.grading.judge`) into one row per exercise. The first error of each cell of
student code is kept on the result (``Result.raised``).
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from helpers.protocol import (ERROR, OUTCOMES_DIR, STATUS, ExerciseStatus, Op, Reply, answer_id, make_reply, one_line,
                              outcome_file, run_command, test_command)

from ..authoring.execute import kernel_env
from ..sandbox.cgroups import Cgroups
from ..sandbox.client import Zygote, ZygoteGone
from ..sandbox.process import Sandbox
from ..sandbox.reaping import Died
from ..sandbox.walls import root_mountpoint
from .config import GradingConfig
from .records import file_digest
from .results import Result, SubmissionStatus
from .sanitize import Assignment, Plan, plan, read_json
from .submissions import Submission


#: Times one submission's sandbox may be ended from outside (the host's out-of-memory killer, an administrator)
#: and its cell run again before the submission is given up as ``grading-failed``.
OUTSIDE_RETRIES = 2


@dataclass
class RunState:
    """The state of one submission's run through its plan."""

    plan: Plan
    replies: dict[str, dict] = field(default_factory=dict)  # test grade id -> reply
    fatal: set[int] = field(default_factory=set)  # steps that ended the sandbox
    cells: list[dict] = field(default_factory=list)
    restarts: int = 0
    answer_problems: dict[str, str] = field(default_factory=dict)  # answer grade id -> what happened to it
    raised: dict[int, str] = field(default_factory=dict)  # step of student code -> the first error it raised
    judged: Path | None = None  # the outcome files, moved out of the sandbox's folder
    outside: list[str] = field(default_factory=list)  # each end of the sandbox from outside, in words

    def problem(self, step, cause: str) -> None:
        self.cells.append({"cell": step.label, "cause": cause})
        if step.kind == "code" and step.grade_id:
            self.answer_problems.setdefault(step.grade_id, f"{step.label}: {cause}")

    def replied(self, index: int, reply: dict) -> None:
        """Keep the first error of each cell of student code (a cell re-run after a restart raises again)."""
        if self.plan.steps[index].kind == "code" and reply.get(STATUS) in (Reply.ERROR, Reply.TIMEOUT):
            self.raised.setdefault(index, str(reply.get(ERROR, "")))

    def raised_cells(self) -> list[dict]:
        steps = self.plan.steps
        return [{"cell": steps[i].label, "number": steps[i].cell_number, "error": error}
                for i, error in sorted(self.raised.items())]


def _command(step, exercises: dict, seeds: dict[str, int] | None = None) -> dict:
    if step.kind == "code":
        return run_command(Op.CODE, step.source)
    if step.grade_id in exercises:  # a hidden seed is handed to the sandbox only when asked for (Sandbox.run)
        return test_command(step.grade_id, step.hidden, (seeds or {}).get(step.grade_id))
    return run_command(Op.CELL, step.source)


def run_plan(sub: Submission, assignment: Assignment, workdir: Path, slot: int, *, config: GradingConfig,
              zygote: Zygote | None, cache: Path | None, cgroups: Cgroups | None, uids: int,
              planned: Plan | None = None, seeds: dict[str, int] | None = None, live: "Live | None" = None) -> RunState:
    """Run the submission's plan (``planned``, or made here from ``sub.path``) in its sandbox.

    ``seeds``: the learner's hidden-case seed of each exercise (:meth:`GradingConfig.seeds`; ``None``: the public cases).
    ``live``: the batch's running sandboxes (:class:`Live`), so that Ctrl-C ends this one too.
    """
    from helpers.checks import exercises as course_exercises

    known = {ex.key: ex for ex in course_exercises(assignment.chapter)}
    if planned is None:
        try:
            data, _ = read_json(sub.path)
            planned = plan(data or {"cells": []}, assignment)
        except Exception as exc:  # noqa: BLE001 - a notebook nothing can plan is this student's error row
            raise GradingFailed(one_line(exc, "the notebook could not be planned")) from None
    state = RunState(planned)
    steps = state.plan.steps
    outcomes, judged = workdir / OUTCOMES_DIR, judged_dir(workdir)
    judged.mkdir()
    timeout, cell_timeout = config.timeout, config.cell_timeout
    deadline = time.monotonic() + timeout
    box = Sandbox(workdir, assignment.chapter, slot, root=config.root, limits=config.limits, cache=cache,
                  isolation=config.isolation, zygote=zygote, cgroups=cgroups.procs_files(slot) if cgroups else [],
                  uid=uids + slot, env=kernel_env())
    live = live or Live()
    live.add(box)

    def start() -> None:
        for attempt in range(2):
            live.check()
            try:
                box.start()
                return
            except Died as exc:
                live.check()
                if attempt:
                    raise GradingFailed(f"the grading process could not start: {exc.cause}") from None
            except ZygoteGone as exc:
                live.check()
                raise EndedFromOutside(f"the grading process could not be started: {exc}; this is not the "
                                       "submission's doing: grade it again") from None

    def outside(exc: Died, index: int) -> None:
        """The sandbox was ended from outside while it ran step ``index``: nobody's fault of the learner's; the
        step is run again (after a restart), or the submission given up when that happened too often."""
        state.outside.append(f"{steps[index].label}: {exc.cause}")
        if len(state.outside) > OUTSIDE_RETRIES:
            raise EndedFromOutside(
                f"the grading process was ended from outside {len(state.outside)} times (by the host: its "
                "out-of-memory killer or an administrator; not by this submission's code nor by any of its "
                f"limits), the last time as: {exc.cause.split(' (')[-1].rstrip(')')}; grade it again")

    def died(index: int, cause: str, replaying: bool = False) -> None:
        state.fatal.add(index)
        step = steps[index]
        state.problem(step, cause + (" (while re-running the cells before a restart)" if replaying else ""))
        if step.kind == "test":
            state.replies[step.grade_id] = make_reply(Reply.DIED, cause)
        state.restarts += 1

    def restart(upto: int) -> bool:
        """A new sandbox brought to the state before step ``upto``; False if that is impossible."""
        while state.restarts <= config.max_restarts:
            start()
            for j in range(upto):
                if j in state.fatal or steps[j].kind != "code":
                    continue
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                try:
                    live.check()
                    state.replied(j, box.run(_command(steps[j], known, seeds), min(cell_timeout, left)))
                except Died as exc:
                    live.check()
                    if exc.outside:
                        outside(exc, j)
                    else:
                        died(j, exc.cause, replaying=True)
                    break
            else:
                return True
        return False

    try:
        start()
        i = 0
        while i < len(steps):
            step = steps[i]
            left = deadline - time.monotonic()
            if left <= 1:
                state.cells.append({"cell": step.label, "cause": f"not run: the submission's {timeout:.0f} s "
                                    "were used up (this and every later cell)"})
                break
            try:
                live.check()
                reply = box.run(_command(step, known, seeds), min(cell_timeout, left))
            except Died as exc:
                live.check()
                if exc.outside:  # the same step again, in a new sandbox brought to where this one was
                    outside(exc, i)
                else:
                    died(i, exc.cause)
                try:
                    restarted = state.restarts <= config.max_restarts and restart(i)
                except EndedFromOutside:
                    raise
                except GradingFailed:  # keep what was earned before
                    restarted = False
                if not restarted:
                    state.cells.append({"cell": step.label, "cause": "the cells after this one were not run: the "
                                        "grading process could not be brought back (restarted too often, or "
                                        "no time left)"})
                    break
                if not exc.outside:
                    i += 1
                continue
            state.replied(i, reply)
            status = reply.get(STATUS)
            if status == Reply.TIMEOUT:
                state.problem(step, f"ran past the {min(cell_timeout, left):.0f} s limit and was interrupted")
            if step.kind == "test":
                state.replies[step.grade_id] = reply
                for part in (False, True):
                    produced = outcomes / outcome_file(step.grade_id, part)
                    if produced.exists() or produced.is_symlink():
                        os.replace(produced, judged / produced.name)  # out of the student's reach
            i += 1
    finally:
        live.discard(box)
        box.stop()
    state.judged = judged
    return state


class GradingFailed(Exception):
    """The submission's sandbox could not be started at all (or its notebook could not be planned)."""


class EndedFromOutside(GradingFailed):
    """The submission's sandbox (or the zygote) was ended from outside more often than :data:`OUTSIDE_RETRIES`."""


class Interrupted(Exception):
    """The batch was stopped (Ctrl-C) while this submission was being graded: it is graded next time."""


class Live:
    """The sandboxes running now, so that an interrupt ends them all at once, from the main thread."""

    def __init__(self) -> None:
        import threading

        self.lock = threading.Lock()
        self.boxes: set[Sandbox] = set()
        self.stop = threading.Event()

    def add(self, box: Sandbox) -> None:
        with self.lock:
            self.boxes.add(box)
        if self.stop.is_set():
            box.kill()

    def discard(self, box: Sandbox) -> None:
        with self.lock:
            self.boxes.discard(box)

    def check(self) -> None:
        if self.stop.is_set():
            raise Interrupted()

    def halt(self) -> None:
        """Stop the batch: every running sandbox is killed (its worker then sees it die and gives up)."""
        self.stop.set()
        with self.lock:
            boxes = list(self.boxes)
        for box in boxes:
            box.kill()


def _judge(state: RunState, assignment: Assignment, seeds: dict[str, int] | None = None) -> list[dict]:
    from helpers.checks import exercises as course_exercises

    from .judge import judge_exercise

    known = {ex.key: ex for ex in course_exercises(assignment.chapter)}
    rows = []
    for gid, test in assignment.tests.items():
        reply = state.replies.get(gid)
        ex = known.get(gid)
        title = ex.title if ex else gid
        row = {"exercise": gid, "title": title, "score": 0.0, "max_score": test.points, "status": ExerciseStatus.FAILED,
               "message": "", "hint": None}
        status, error = (reply.get(STATUS), reply.get(ERROR, "")) if reply is not None else (None, "")
        if reply is None:
            row.update(status=ExerciseStatus.ERROR, message="the test was not run (see the cells that could not run)")
        elif status == Reply.MISSING and answer_id(gid) in state.answer_problems:
            row.update(status=ExerciseStatus.ERROR, message=f"`{ex.answer}` is not defined: "
                                                            f"{state.answer_problems[answer_id(gid)]}")
        elif status == Reply.MISSING:
            row.update(status=ExerciseStatus.NOT_ATTEMPTED, message=f"`{ex.answer}` is not defined: its cell was not "
                                                                    "run or did not define it")
        elif status == Reply.DIED:
            row.update(status=ExerciseStatus.ERROR, message=f"checking the answer ended the grading process: {error}")
        elif status == Reply.TIMEOUT:
            row.update(status=ExerciseStatus.FAILED, message=f"checking the answer ran past the time limit: {error}")
        elif ex is None:  # a test cell without an exercise definition: nbgrader's rule
            ok = status == Reply.OK
            row.update(status=ExerciseStatus.PASSED if ok else ExerciseStatus.FAILED, score=test.points if ok else 0.0,
                       message="" if ok else f"the test cell raised {reply.get(ERROR, 'an error')}")
        elif status != Reply.OK:
            row.update(status=ExerciseStatus.FAILED, message=f"checking the answer failed: {error}")
        else:
            verdict = judge_exercise(ex, state.judged, hidden=test.hidden, secret_seed=(seeds or {}).get(gid))
            row.update(status=verdict.status, score=test.points if verdict.passed else 0.0,
                       message=verdict.message, hint=verdict.hint)
        rows.append(row)
    return rows


#: The sandbox's copy of the submission, in its folder (the grader never touches the original).
SUBMISSION_FILE = "submission.ipynb"


def prepare_workdir(workdir: Path, notebook: Path | bytes, uid: int | None) -> Path:
    """A submission's folder, as every sandbox gets it: a copy of the notebook (from a file, or its bytes from
    the instructor's process) and the outcomes folder, owned by the sandbox user ``uid`` when the grader runs
    as root (without root the sandbox's user is our own); beside it, the empty folder the zygote's child
    mounts its root on. Returns the copy."""
    (workdir / OUTCOMES_DIR).mkdir(parents=True)
    root_mountpoint(workdir).mkdir()
    copy = workdir / SUBMISSION_FILE
    if isinstance(notebook, bytes):
        copy.write_bytes(notebook)
    else:
        shutil.copyfile(notebook, copy)
    if uid is not None and os.geteuid() == 0:
        for path in (workdir, workdir / OUTCOMES_DIR, copy):
            os.chown(path, uid, uid)
    return copy


def judged_dir(workdir: Path) -> Path:
    """Where a submission's outcome files are moved, out of its sandbox's reach, to be judged."""
    return workdir.parent / f"{workdir.name}-judged"


def remove_workdir(workdir: Path) -> None:
    """A submission's folder and the two beside it, gone."""
    for path in (workdir, judged_dir(workdir), root_mountpoint(workdir)):
        shutil.rmtree(path, ignore_errors=True)


def grade_one(sub: Submission, assignment: Assignment, tmp: Path, number: int, slot: int, **options) -> Result:
    """Grade one submission in folder ``tmp/<number>`` with sandbox slot ``slot`` (``options``: see ``autograde``)."""
    workdir = tmp / f"{number:04d}"
    copy = prepare_workdir(workdir, sub.path, options["uids"] + slot if options["config"].sandboxed else None)
    digest = file_digest(copy)
    try:
        state = run_plan(sub, assignment, workdir, slot, **options)
    except GradingFailed as exc:
        return Result(sub.student, sub.path.name, assignment.chapter, SubmissionStatus.GRADING_FAILED, str(exc),
                      sha256=digest)
    try:
        return graded_result(sub, assignment, state, options.get("seeds"), digest)
    except Exception as exc:  # noqa: BLE001 - one submission's judging never stops the batch
        return Result(sub.student, sub.path.name, assignment.chapter, SubmissionStatus.GRADING_FAILED,
                      one_line(exc, "judging the answers failed"), sha256=digest)
    finally:
        remove_workdir(workdir)


def graded_result(sub: Submission, assignment: Assignment, state: RunState, seeds: dict[str, int] | None = None,
                  digest: str = "") -> Result:
    """Judge a finished run (its outcome files in ``state.judged``) into the submission's result.

    ``seeds``: the hidden cases' seeds the run collected with; ``digest``: the graded file's SHA-256.
    """
    rows = _judge(state, assignment, seeds)
    return Result(sub.student, sub.path.name, assignment.chapter, SubmissionStatus.GRADED, "",
                  sum(r["score"] for r in rows), assignment.max_score, rows,
                  state.plan.tampering, state.cells, state.raised_cells(), digest, retried=list(state.outside))
