"""Autograding a folder of submissions into grades, a report and feedback.

For every submitted notebook, side by side up to ``workers``:

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
* ``report.json``: per submission, ``graded`` or an error kind with a one-line reason,
  the tampering noticed and the cells that could not run, with the cause;
* ``feedback/<student>/<chapter>.html``: each exercise's name, verdict, message and hint,
  escaped (no student output or script is ever copied into it; no test code either).
"""

from __future__ import annotations

import csv
import html
import io
import json
import os
import queue
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed, wait
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from ..authoring.config import CELL_TIMEOUT, ROOT
from ..sandbox.process import (ISOLATIONS, Cgroups, Died, Limits, Sandbox, Zygote, _data_cache, available, reap,
                               uid_base)
from .sanitize import Assignment, Plan, load_assignment, plan, read_json
from .records import atomic_write, file_digest, previous, spreadsheet_safe
from .submissions import Submission, discover, one_line

CSV_COLUMNS = ("student", "assignment", "exercise", "score", "max_score", "status")
#: Restarts of one submission's sandbox before the rest of its cells are given up.
MAX_RESTARTS = 4


class GraderError(RuntimeError):
    """The grader itself cannot run (not a problem of any one submission)."""


@dataclass
class Result:
    """What happened to one submission."""

    student: str
    file: str
    assignment: str | None
    status: str  # "graded" or an error kind: "unreadable", "unknown-chapter", "duplicate", "grading-failed"
    reason: str = ""
    score: float = 0.0
    max_score: float = 0.0
    exercises: list[dict] = field(default_factory=list)
    tampering: list[str] = field(default_factory=list)
    cells: list[dict] = field(default_factory=list)  # cells that could not run: {"cell", "cause"}
    sha256: str = ""  # of the file graded: a resumed batch keeps this result only for the same content


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
# one submission


@dataclass
class _Run:
    """The state of one submission's run through its plan."""

    plan: Plan
    replies: dict[str, dict] = field(default_factory=dict)  # test grade id -> reply
    fatal: set[int] = field(default_factory=set)  # steps that ended the sandbox
    cells: list[dict] = field(default_factory=list)
    restarts: int = 0
    answer_problems: dict[str, str] = field(default_factory=dict)  # answer grade id -> what happened to it
    judged: Path | None = None  # the outcome files, moved out of the sandbox's folder

    def problem(self, step, cause: str) -> None:
        self.cells.append({"cell": step.label, "cause": cause})
        if step.kind == "code" and step.grade_id:
            self.answer_problems.setdefault(step.grade_id, f"{step.label}: {cause}")


def _command(step, exercises: dict, seeds: dict[str, int] | None = None) -> dict:
    if step.kind == "code":
        return {"op": "code", "source": step.source}
    if step.grade_id in exercises:
        hidden = "hidden=True" in step.source
        command = {"op": "test", "key": step.grade_id, "hidden": hidden}
        if hidden:  # handed to the sandbox only when asked for (see Sandbox.run)
            command["seed"] = (seeds or {}).get(step.grade_id)
        return command
    return {"op": "cell", "source": step.source}


def _run_plan(sub: Submission, assignment: Assignment, workdir: Path, slot: int, *, timeout: float,
              cell_timeout: float, isolation: str, zygote: Zygote | None, limits: Limits,
              cache: Path | None, root: Path, cgroups: Cgroups | None, uids: int,
              seeds: dict[str, int] | None = None, live: "_Live | None" = None) -> _Run:
    from helpers.checks import exercises as course_exercises

    known = {ex.key: ex for ex in course_exercises(assignment.chapter)}
    try:
        data, _ = read_json(sub.path)
        state = _Run(plan(data or {"cells": []}, assignment))
    except Exception as exc:  # noqa: BLE001 - a notebook nothing can plan is this student's error row
        raise GradingFailed(one_line(exc, "the notebook could not be planned")) from None
    steps = state.plan.steps
    outcomes, judged = workdir / "outcomes", workdir.parent / f"{workdir.name}-judged"
    judged.mkdir()
    deadline = time.monotonic() + timeout
    box = Sandbox(workdir, assignment.chapter, slot, limits=limits, cache=cache, isolation=isolation,
                  zygote=zygote, root=root, cgroups=cgroups.procs_files(slot) if cgroups else [], uid=uids + slot)
    live = live or _Live()
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

    def died(index: int, cause: str, replaying: bool = False) -> None:
        state.fatal.add(index)
        step = steps[index]
        state.problem(step, cause + (" (while re-running the cells before a restart)" if replaying else ""))
        if step.kind == "test":
            state.replies[step.grade_id] = {"status": "died", "error": cause}
        state.restarts += 1

    def restart(upto: int) -> bool:
        """A new sandbox brought to the state before step ``upto``; False if that is impossible."""
        while state.restarts <= MAX_RESTARTS:
            start()
            for j in range(upto):
                if j in state.fatal or steps[j].kind != "code":
                    continue
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                try:
                    live.check()
                    box.run(_command(steps[j], known, seeds), min(cell_timeout, left))
                except Died as exc:
                    live.check()
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
                died(i, exc.cause)
                try:
                    restarted = state.restarts <= MAX_RESTARTS and restart(i)
                except GradingFailed:  # keep what was earned before
                    restarted = False
                if not restarted:
                    state.cells.append({"cell": step.label, "cause": "the cells after this one were not run: the "
                                        "grading process could not be brought back (restarted too often, or "
                                        "no time left)"})
                    break
                i += 1
                continue
            status = reply.get("status")
            if status == "timeout":
                state.problem(step, f"ran past the {min(cell_timeout, left):.0f} s limit and was interrupted")
            if step.kind == "test":
                state.replies[step.grade_id] = reply
                for part in ("visible", "hidden"):
                    produced = outcomes / f"{step.grade_id}.{part}.pt"
                    if produced.exists() or produced.is_symlink():
                        os.replace(produced, judged / produced.name)  # out of the student's reach
            i += 1
    finally:
        live.discard(box)
        box.stop()
    state.judged = judged
    return state


class Interrupted(Exception):
    """The batch was stopped (Ctrl-C) while this submission was being graded: it is graded next time."""


class _Live:
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


class GradingFailed(Exception):
    pass


def _judge(state: _Run, assignment: Assignment, seeds: dict[str, int] | None = None) -> list[dict]:
    from helpers.checks import exercises as course_exercises

    from .judge import judge_exercise

    known = {ex.key: ex for ex in course_exercises(assignment.chapter)}
    rows = []
    for gid, test in assignment.tests.items():
        reply = state.replies.get(gid)
        ex = known.get(gid)
        title = ex.title if ex else gid
        row = {"exercise": gid, "title": title, "score": 0.0, "max_score": test.points, "status": "failed",
               "message": "", "hint": None}
        if reply is None:
            row.update(status="error", message="the test was not run (see the cells that could not run)")
        elif reply.get("status") == "missing" and f"{gid}_answer" in state.answer_problems:
            row.update(status="error", message=f"`{ex.answer}` is not defined: "
                                               f"{state.answer_problems[gid + '_answer']}")
        elif reply.get("status") == "missing":
            row.update(status="not attempted", message=f"`{ex.answer}` is not defined: its cell was not run "
                                                       "or did not define it")
        elif reply.get("status") == "died":
            row.update(status="error", message=f"checking the answer ended the grading process: {reply['error']}")
        elif reply.get("status") == "timeout":
            row.update(status="failed", message=f"checking the answer ran past the time limit: {reply['error']}")
        elif ex is None:  # a test cell without an exercise definition: nbgrader's rule
            ok = reply.get("status") == "ok"
            row.update(status="passed" if ok else "failed", score=test.points if ok else 0.0,
                       message="" if ok else f"the test cell raised {reply.get('error', 'an error')}")
        elif reply.get("status") != "ok":
            row.update(status="failed", message=f"checking the answer failed: {reply.get('error', '')}")
        else:
            verdict = judge_exercise(ex, state.judged, hidden="hidden=True" in test.source,
                                     secret_seed=(seeds or {}).get(gid))
            row.update(status=verdict.status, score=test.points if verdict.passed else 0.0,
                       message=verdict.message, hint=verdict.hint)
        rows.append(row)
    return rows


def _grade_one(sub: Submission, assignment: Assignment, tmp: Path, number: int, slot: int, **options) -> Result:
    workdir = tmp / f"{number:04d}"
    (workdir / "outcomes").mkdir(parents=True)
    (tmp / f"{number:04d}-root").mkdir()  # where the zygote's child mounts its root
    shutil.copyfile(sub.path, workdir / "submission.ipynb")
    if options["isolation"] != "none":
        uid = options["uids"] + slot
        for path in (workdir, workdir / "outcomes", workdir / "submission.ipynb"):
            os.chown(path, uid, uid)
    digest = file_digest(workdir / "submission.ipynb")
    try:
        state = _run_plan(sub, assignment, workdir, slot, **options)
    except GradingFailed as exc:
        return Result(sub.student, sub.path.name, assignment.chapter, "grading-failed", str(exc), sha256=digest)
    try:
        rows = _judge(state, assignment, options.get("seeds"))
    except Exception as exc:  # noqa: BLE001 - one submission's judging never stops the batch
        return Result(sub.student, sub.path.name, assignment.chapter, "grading-failed",
                      one_line(exc, "judging the answers failed"), sha256=digest)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        shutil.rmtree(workdir.parent / f"{workdir.name}-judged", ignore_errors=True)
    return Result(sub.student, sub.path.name, assignment.chapter, "graded", "",
                  sum(r["score"] for r in rows), assignment.max_score, rows,
                  state.plan.tampering, state.cells, digest)


# ---------------------------------------------------------------------------
# a batch


def autograde(submissions_dir: Path, out: Path, *, workers: int | None = None, timeout: float = 900,
              cell_timeout: float | None = None, root: Path = ROOT, progress: bool = True,
              isolation: str = "zygote", limits: Limits = Limits(), secret: bytes | None = None,
              secret_source: str | None = None, regrade: bool = False) -> list[Result]:
    """Grade every notebook under ``submissions_dir``; write grades, report and feedback to ``out``.

    ``isolation``: ``"zygote"`` (default), ``"bwrap"`` or ``"none"``; see :class:`grader.sandbox.process.Sandbox`.
    ``secret``: the course secret the hidden cases are drawn from (:mod:`grader.grading.secret`); ``None``
    grades with the public hidden cases (what a learner's ``grader check`` does).

    A submission already graded in ``out/report.json`` (same file content, same hidden cases)
    is kept, not graded again, unless ``regrade``. ``grades.csv`` and ``report.json`` are
    rewritten (atomically) after every submission. Ctrl-C ends every sandbox at once, writes
    both files for what was graded and raises :class:`BatchInterrupted`.
    """
    if isolation not in ISOLATIONS:
        raise GraderError(f"isolation must be one of {', '.join(ISOLATIONS)}, not {isolation!r}")
    if isolation != "none":
        why = available(isolation)
        if why:
            raise GraderError(f"cannot grade in a sandbox here: {why}. (Use --no-sandbox only for "
                              "notebooks you trust.)")
    workers = min(max(1, workers or os.cpu_count() or 1), 32)  # one sandbox uid per worker
    cell_timeout = cell_timeout or CELL_TIMEOUT
    hidden = hidden_cases(secret, secret_source)
    kept, hidden["resume"] = ({}, "--regrade: every submission graded again") if regrade else \
        previous(out, hidden["fingerprint"])
    found = discover(submissions_dir, root)
    results: list[Result] = []
    to_grade: dict[tuple[str, str], Submission] = {}
    for sub in found:
        if sub.problem:
            kind = "unreadable" if any(w in sub.problem for w in ("not a notebook", "empty", "could not be read",
                                                                    "not a Jupyter", "too large", "old-format",
                                                                    "could not be identified")) \
                else "unknown-chapter"
            results.append(Result(sub.student, sub.path.name, None, kind, sub.problem))
            continue
        key = (sub.student, sub.chapter)
        if key in to_grade:
            try:
                older, newer = sorted([to_grade[key], sub], key=lambda s: (s.path.stat().st_mtime, s.path.name))
            except OSError:  # removed meanwhile: the one still there is graded
                older, newer = (to_grade[key], sub) if sub.path.exists() else (sub, to_grade[key])
            results.append(Result(older.student, older.path.name, older.chapter, "duplicate",
                                  f"{newer.path.name} is a later notebook for the same chapter; it was graded"))
            to_grade[key] = newer
        else:
            to_grade[key] = sub

    pending: list[tuple[int, Submission]] = []
    for number, (_, sub) in enumerate(sorted(to_grade.items())):
        try:
            entry = kept.get((sub.student, sub.path.name, file_digest(sub.path)))
        except OSError as exc:
            results.append(Result(sub.student, sub.path.name, sub.chapter, "unreadable",
                                  one_line(exc, "the file could not be read")))
            continue
        if entry is not None:
            results.append(_result_from(entry))
        else:
            pending.append((number, sub))
    if kept and not regrade:
        hidden["resume"] = (f"{len(to_grade) - len(pending)} submission(s) already graded in this folder were kept "
                            "(same file, same hidden cases); --regrade grades them again")

    assignments = {ch: load_assignment(ch, root) for ch in sorted({sub.chapter for _, sub in to_grade.items()})}
    out.mkdir(parents=True, exist_ok=True)
    sandbox = {"isolation": isolation, "workers": workers,
               "uids": None, "cell_timeout": cell_timeout, "timeout": timeout,
               "limits": asdict(limits) if isolation != "none" else None, "cgroups": None}
    if not pending:
        _write_outputs(results, out, assignments, sandbox, hidden)
        return results
    cache = _data_cache() if isolation != "none" else None
    bar = Progress(len(pending)) if progress else None
    slots: queue.Queue[int] = queue.Queue()
    for slot in range(workers):
        slots.put(slot)
    from helpers.checks import exercises as course_exercises

    from .secret import case_seed

    seeds = {ex.key: case_seed(secret, ex.key) for ex in course_exercises()} if secret is not None else None
    live = _Live()
    interrupted = False
    zygote = cgroups = None
    first_uid = uid_base()
    tmp = tempfile.mkdtemp(prefix="conv-course-grade-")
    try:
        zygote = Zygote(cache) if isolation == "zygote" else None
        cgroups = Cgroups(workers, limits) if isolation != "none" else None
        options = dict(timeout=timeout, cell_timeout=cell_timeout, isolation=isolation, zygote=zygote,
                       limits=limits, cache=cache, root=root, cgroups=cgroups, uids=first_uid, seeds=seeds, live=live)
        sandbox.update(uids=[options["uids"], options["uids"] + workers - 1] if isolation != "none" else None,
                       cgroups=(cgroups.missing or "cpu, memory and pids groups per worker") if cgroups else None)
        os.chmod(tmp, 0o711)  # sandbox users reach only their own folder inside

        def job(item: tuple[int, Submission]) -> Result | None:
            number, sub = item
            slot = slots.get()
            try:
                if live.stop.is_set():
                    return None
                return _grade_one(sub, assignments[sub.chapter], Path(tmp), number, slot, **options)
            except Interrupted:
                return None
            except Exception as exc:  # noqa: BLE001 - one submission never stops the batch
                if live.stop.is_set():
                    return None
                return Result(sub.student, sub.path.name, sub.chapter, "grading-failed",
                              one_line(exc, "the grader failed on this notebook"))
            finally:
                slots.put(slot)

        pool = ThreadPoolExecutor(max_workers=workers)
        futures = {pool.submit(job, item): item for item in pending}
        try:
            for future in as_completed(futures):
                result = future.result()
                if result is not None:
                    results.append(result)
                    _record(result, results, out, assignments, sandbox, hidden)
                if bar:
                    bar.step(futures[future][1].label)
        except KeyboardInterrupt:
            interrupted = True
            restore = _ignore_interrupts()
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
            _write_outputs(results, out, assignments, sandbox, hidden)
        if isolation != "none":  # whatever a sandbox left, killed before its control groups are removed
            reap(range(first_uid, first_uid + workers))
        _close(zygote, cgroups)
        shutil.rmtree(tmp, ignore_errors=True)
        if interrupted:
            restore()
    if interrupted:
        raise BatchInterrupted(_sorted(results))
    _write_outputs(results, out, assignments, sandbox, hidden)
    return _sorted(results)


class BatchInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped the batch; ``results`` were written, the rest is graded by the next run."""

    def __init__(self, results: list[Result]) -> None:
        super().__init__("the batch was interrupted")
        self.results = results


def _sorted(results: list[Result]) -> list[Result]:
    return sorted(results, key=lambda r: (r.student, r.assignment or "", r.file))


def _result_from(entry: dict) -> Result:
    """A :class:`Result` back from its ``report.json`` entry (fields this version does not know are dropped)."""
    names = {f.name for f in fields(Result)}
    return Result(**{k: v for k, v in entry.items() if k in names})


def _record(result: Result, results: list[Result], out: Path, assignments, sandbox, hidden) -> None:
    """One submission finished: its feedback, then grades and report as they stand (atomically).

    A checkpoint that cannot be written (a full disk) does not stop the batch: the files are
    written again after the next submission and at the end.
    """
    _write_feedback(result, out)
    try:
        _write_outputs(results, out, assignments, sandbox, hidden, feedback=False)
    except OSError:
        pass


def _ignore_interrupts():
    """A second Ctrl-C while the batch winds down would only lose what the first one saves; returns the undo."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    return lambda: signal.signal(signal.SIGINT, before)


def hidden_cases(secret: bytes | None, source: str | None = None) -> dict:
    """What ``report.json`` says about the hidden cases: the secret's fingerprint, never the secret."""
    from .secret import fingerprint

    if secret is None:
        return {"from": "public", "fingerprint": None,
                "note": "the public hidden cases that learners can list; not an instructor's grading"}
    return {"from": source or "course secret", "fingerprint": fingerprint(secret)}


def _close(zygote: Zygote | None, cgroups: Cgroups | None) -> None:
    if zygote is not None:
        zygote.close()
    if cgroups is not None:
        cgroups.close()


# ---------------------------------------------------------------------------
# outputs


def _write_outputs(results: list[Result], out: Path, assignments: dict[str, Assignment],
                   sandbox: dict | None = None, hidden: dict | None = None, *, feedback: bool = True) -> None:
    """``grades.csv`` (spreadsheet-safe) and ``report.json`` (raw names), each replaced atomically; feedback."""
    results = _sorted(results)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    for r in results:
        if r.status == "graded":
            rows = [{"student": r.student, "assignment": r.assignment,
                     **{k: e[k] for k in ("exercise", "score", "max_score", "status")}} for e in r.exercises]
        elif r.assignment and r.status != "duplicate":
            assignment = assignments.get(r.assignment)
            rows = [{"student": r.student, "assignment": r.assignment, "exercise": gid,
                     "score": 0.0, "max_score": test.points, "status": "error"}
                    for gid, test in (assignment.tests.items() if assignment else [])]
        else:
            rows = []
        for row in rows:
            try:
                writer.writerow({k: spreadsheet_safe(v) for k, v in row.items()})
            except Exception as exc:  # noqa: BLE001 - one student's row never costs the others theirs
                writer.writerow({"student": spreadsheet_safe(repr(r.student)), "assignment": r.assignment,
                                 "exercise": spreadsheet_safe(str(row.get("exercise"))), "score": 0.0,
                                 "max_score": row.get("max_score", 0.0), "status": "error"})
                r.reason = one_line(exc, "a row of this submission could not be written")
    atomic_write(out / "grades.csv", buffer.getvalue())
    report = {"sandbox": sandbox, "hidden_cases": hidden, "submissions": [_entry(r) for r in results]}
    atomic_write(out / "report.json", json.dumps(report, indent=2) + "\n")
    if feedback:
        for r in results:
            _write_feedback(r, out)


def _entry(r: Result) -> dict:
    """``r`` as a ``report.json`` entry; one that cannot be serialised becomes an error entry, not a crash."""
    entry = asdict(r)
    try:
        json.dumps(entry)
        return entry
    except Exception as exc:  # noqa: BLE001
        return {"student": repr(r.student), "file": repr(r.file), "assignment": r.assignment,
                "status": "grading-failed", "reason": one_line(exc, "its result could not be recorded")}


def _write_feedback(r: Result, out: Path) -> None:
    """``feedback/<student>/<chapter>.html`` of a graded submission; a failure is noted in its reason, never raised."""
    if r.status != "graded":
        return
    try:
        dest = out / "feedback" / r.student / f"{r.assignment}.html"
        dest.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(dest, feedback_html(r).encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
    except Exception as exc:  # noqa: BLE001 - the grades stand; the feedback is what is missing
        r.reason = one_line(exc, "the feedback file could not be written")


_CSS = """body{font-family:system-ui,sans-serif;max-width:60em;margin:2em auto;padding:0 1em}
table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:.4em;vertical-align:top;text-align:left}
.passed{color:#176f2c}.failed,.error{color:#a4141b}.notattempted{color:#666}"""


def feedback_html(result: Result) -> str:
    """A student's feedback: every value escaped, no student output, no test code."""
    e = html.escape
    rows = []
    for ex in result.exercises:
        text = e(ex["message"] or "")
        if ex.get("hint"):
            text += f"<br><b>Hint:</b> {e(ex['hint'])}"
        rows.append(f"<tr><td><code>{e(ex['exercise'])}</code><br>{e(ex['title'])}</td>"
                    f"<td class=\"{e(ex['status'].replace(' ', ''))}\">{e(ex['status'])}</td>"
                    f"<td>{ex['score']:g} / {ex['max_score']:g}</td><td>{text}</td></tr>")
    notes = "".join(f"<li>{e(c['cell'])}: {e(c['cause'])}</li>" for c in result.cells)
    tamper = "".join(f"<li>{e(t)}</li>" for t in result.tampering)
    parts = [f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Feedback: {e(result.assignment or '')}"
             f"</title><style>{_CSS}</style></head><body>",
             f"<h1>{e(result.assignment or '')}</h1>",
             f"<p>{e(result.student)}, <code>{e(result.file)}</code>: <b>{result.score:g} of "
             f"{result.max_score:g} points</b></p>",
             "<table><tr><th>exercise</th><th>verdict</th><th>points</th><th>message</th></tr>",
             *rows, "</table>"]
    if notes:
        parts.append(f"<h2>Cells that could not run</h2><ul>{notes}</ul>")
    if tamper:
        parts.append(f"<h2>Changes the grader undid</h2><ul>{tamper}</ul>")
    parts.append("</body></html>\n")
    return "\n".join(parts)
