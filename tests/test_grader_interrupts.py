"""Stopping a batch: Ctrl-C, ``kill -9`` of the grader, and the run that resumes it.

One folder of three chapter-1 submissions (one quick, two whose first answer cell sleeps
25 s) is graded by the real command line, in real sandboxes, four times in a row:

1. Ctrl-C (SIGINT) once the quick one is graded: the grader ends within 3 s, no sandbox
   process is left, and ``grades.csv`` and ``report.json`` hold exactly what was graded;
2. the same command again, ``kill -9`` while its sandboxes run: none of them outlives it;
3. the same command again: it keeps the quick one (same file, same hidden cases) and
   grades the other two in full;
4. once more: nothing is left to grade, everything is kept.
"""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time

import pytest

from grader.authoring.config import ROOT
from grader.sandbox.process import available
from grader.sandbox.users import FIRST_UID, UID_BLOCKS, block_base, pid_block
from tests.support import (graded_in, hand_in, sandbox_processes, sandbox_processes_left, student_notebook,
                           wait_for)

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(available() is not None, reason=f"no sandbox here: {available()}")]

CH1 = "01-convolution-by-hand"
WORKERS = 2


def _sandbox_uids(grader_pid: int) -> range:
    # grader.sandbox.users.uid_base of that process (the block its pid picks, free unless another run holds it)
    base = block_base(pid_block(grader_pid))
    return range(base, base + WORKERS)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("interrupts")
    subs, out = tmp / "submissions", tmp / "out"
    hand_in(subs, "quick", student_notebook(CH1), f"{CH1}.ipynb")
    for name in ("slow1", "slow2"):
        nb = student_notebook(CH1)
        cell = next(c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id")
                    == "top_edge_answer")
        cell.source = "import time\ntime.sleep(25)\n" + cell.source
        hand_in(subs, name, nb, f"{CH1}.ipynb")
    command = [sys.executable, "-m", "grader", "autograde", str(subs), "--out", str(out), "--workers", str(WORKERS),
               "--cell-timeout", "60"]

    logs = iter(range(1, 100))

    def start() -> subprocess.Popen:
        # stderr to a file, not a pipe: a wait that times out can say what the grader printed so far
        log = tmp / f"grader-{next(logs)}.err"
        with open(log, "w") as handle:
            grader = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=handle)
        grader.log = log
        return grader

    def printed(grader: subprocess.Popen) -> str:
        return grader.log.read_text()

    def waiting(grader: subprocess.Popen, ready, what: str) -> None:
        """Wait for ``ready`` while the grader runs; if it ends early or never gets there, say what it printed
        and which sandbox users have processes (the test's uids are worked out from the grader's pid)."""
        try:
            wait_for(ready, 240, what, process=grader, printed=lambda: printed(grader))
        except AssertionError as exc:
            others = sandbox_processes(range(FIRST_UID, block_base(UID_BLOCKS)))
            raise AssertionError(f"{exc}; expected sandbox uids {_sandbox_uids(grader.pid)}, processes of any "
                                 f"sandbox uid: {others[:10]}") from None

    found = {}
    # 1. Ctrl-C once the quick one is graded (report.json is rewritten after every submission)
    grader = start()
    uids = _sandbox_uids(grader.pid)
    waiting(grader, lambda: "quick" in graded_in(out), "the quick submission to be graded")
    assert sandbox_processes(uids), "the slow submissions' sandboxes should be running"
    began = time.monotonic()
    grader.send_signal(signal.SIGINT)
    grader.wait(timeout=60)
    found["sigint"] = {"seconds": time.monotonic() - began, "code": grader.returncode, "stderr": printed(grader),
                       "left": sandbox_processes(uids), "graded": graded_in(out),
                       "rows": list(csv.DictReader(open(out / "grades.csv")))}
    # 2. kill -9 of the grader while sandboxes run
    grader = start()
    uids = _sandbox_uids(grader.pid)
    waiting(grader, lambda: sandbox_processes(uids), "sandboxes of the second run")
    time.sleep(2)
    grader.kill()
    grader.wait()
    time.sleep(0.5)
    found["kill9"] = {"left": sandbox_processes_left(uids, 5)}
    # 3. the run that resumes, and 4. one with nothing left to do
    for step in ("resume", "again"):
        began = time.monotonic()
        grader = start()
        grader.wait(timeout=600)
        found[step] = {"code": grader.returncode, "stderr": printed(grader), "seconds": time.monotonic() - began,
                       "report": json.loads((out / "report.json").read_text()),
                       "rows": list(csv.DictReader(open(out / "grades.csv")))}
    return found


def test_ctrl_c_stops_the_batch_within_3_s_and_ends_every_sandbox(runs):
    sigint = runs["sigint"]
    assert sigint["code"] == 130, sigint["stderr"][-2000:]
    assert sigint["seconds"] < 3.0, sigint["seconds"]
    assert sigint["left"] == [], "sandbox processes outlived the interrupted grader"
    assert "interrupted" in sigint["stderr"] and "Run the same command again" in sigint["stderr"]


def test_an_interrupted_batch_writes_what_was_graded_and_nothing_else(runs):
    sigint = runs["sigint"]
    assert set(sigint["graded"]) == {"quick"}
    assert sigint["graded"]["quick"]["score"] == 8.0
    assert {r["student"] for r in sigint["rows"]} == {"quick"}
    assert sum(float(r["score"]) for r in sigint["rows"]) == 8.0


def test_kill_9_of_the_grader_leaves_no_sandbox_running(runs):
    assert runs["kill9"]["left"] == []


def test_the_next_run_resumes_and_loses_nothing(runs):
    resume = runs["resume"]
    assert resume["code"] == 0, resume["stderr"][-2000:]
    by_student = {s["student"]: s for s in resume["report"]["submissions"]}
    assert {k: v["status"] for k, v in by_student.items()} == {"quick": "graded", "slow1": "graded",
                                                               "slow2": "graded"}
    assert all(v["score"] == 8.0 for v in by_student.values())
    assert "1 submission(s) already graded" in resume["report"]["hidden_cases"]["resume"]
    assert len(resume["rows"]) == 15


def test_a_finished_batch_run_again_keeps_everything(runs):
    again = runs["again"]
    assert again["code"] == 0
    assert "3 submission(s) already graded" in again["report"]["hidden_cases"]["resume"]
    assert again["rows"] == runs["resume"]["rows"]
    assert again["seconds"] < runs["resume"]["seconds"]
