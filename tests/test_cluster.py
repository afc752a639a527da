"""Grading on a real Dask cluster: `dask scheduler` and two `dask worker` processes on loopback.

Same grades as the local grader; a worker killed with SIGKILL mid-submission loses nothing;
a submission whose workers keep dying is an error for that learner alone; an unreachable
scheduler, a worker of another course version and a worker that cannot sandbox are clear
errors before anything is graded.
"""

import csv
import json
import os
import shutil
import signal
import tempfile
import threading
import time
from pathlib import Path

import nbformat
import pytest

from grader.__main__ import main
from grader.authoring.config import ROOT
from grader.grading.cluster import WORKER_DIR
from grader.sandbox.process import available
from tests.support import LoopbackCluster as Cluster
from tests.support import free_port, graded_in, hand_in, sandboxes_below, student_notebook, wait_for

CH1 = "01-convolution-by-hand"
#: The scheduler gives a submission up after its task was on this many + 1 dead workers.
ALLOWED_FAILURES = 1
SANDBOX = [] if available() is None else ["--no-sandbox"]


@pytest.fixture(scope="module")
def cluster():
    c = Cluster(2, allowed_failures=ALLOWED_FAILURES)
    c.client(2).close()  # both workers up
    yield c
    c.stop()


def _submissions(folder: Path) -> Path:
    hand_in(folder, "alice", student_notebook(CH1), f"{CH1}.ipynb")
    hand_in(folder, "bob", student_notebook(CH1, "blank"), "My homework (1).ipynb")
    hand_in(folder, "carol", student_notebook(CH1, {
        "convolve_answer": "def convolve(img, kernel):\n    return torch.zeros(img.shape[0] - 2, img.shape[1] - 2)",
        "quiz_edge_kernel_answer": 'quiz_edge_kernel = "right_edge"'}), "chapter1.ipynb")
    (folder / "dave").mkdir()
    (folder / "dave" / "homework.ipynb").write_text('{"cells": [')
    return folder


def _rows(out: Path) -> list[dict]:
    with open(out / "grades.csv") as handle:
        return list(csv.DictReader(handle))


def _report(out: Path) -> dict:
    return json.loads((out / "report.json").read_text())


@pytest.mark.slow
def test_two_workers_give_the_local_grades(cluster, tmp_path):
    subs = _submissions(tmp_path / "subs")
    assert main(["autograde", str(subs), "--out", str(tmp_path / "local"), "--workers", "2", *SANDBOX]) == 0
    assert main(["autograde", str(subs), "--out", str(tmp_path / "dask"), "--scheduler", cluster.address,
                 *SANDBOX]) == 0
    assert (tmp_path / "dask" / "grades.csv").read_bytes() == (tmp_path / "local" / "grades.csv").read_bytes()
    assert _report(tmp_path / "dask")["submissions"] == _report(tmp_path / "local")["submissions"]
    for html in (tmp_path / "local" / "feedback").rglob("*.html"):
        assert (tmp_path / "dask" / "feedback" / html.relative_to(tmp_path / "local" / "feedback")).read_bytes() \
            == html.read_bytes()
    scores = {r["student"]: r["status"] for r in _rows(tmp_path / "dask") if r["exercise"] == "convolve"}
    assert scores == {"alice": "passed", "bob": "not attempted", "carol": "failed"}
    assert _report(tmp_path / "dask")["sandbox"]["scheduler"] == cluster.address
    # both graded on the course secret's hidden cases: alice passing on the cluster means its workers collected
    # on the seeds the instructor's process judges with (the Job carries the seeds, never the secret)
    hidden = _report(tmp_path / "dask")["hidden_cases"]
    assert hidden["fingerprint"] and hidden == _report(tmp_path / "local")["hidden_cases"]


@pytest.mark.slow
def test_scheduler_local_starts_a_local_cluster_with_the_same_grades(tmp_path):
    import socket
    import warnings

    subs = tmp_path / "subs"
    hand_in(subs, "alice", student_notebook(CH1), f"{CH1}.ipynb")
    hand_in(subs, "bob", student_notebook(CH1, "blank"), "hw.ipynb")
    assert main(["autograde", str(subs), "--out", str(tmp_path / "local"), "--workers", "1", *SANDBOX]) == 0
    # Dask's usual dashboard port is the instructor's: the local cluster leaves it alone (taken or not)
    with socket.socket() as dashboard, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            dashboard.bind(("0.0.0.0", 8787))
            dashboard.listen()
        except OSError:
            pass  # already taken by something else: the same test
        assert main(["autograde", str(subs), "--out", str(tmp_path / "dask"), "--workers", "1", "--scheduler",
                     "local", *SANDBOX]) == 0
    assert not [str(w.message) for w in caught if "8787" in str(w.message)]
    assert (tmp_path / "dask" / "grades.csv").read_bytes() == (tmp_path / "local" / "grades.csv").read_bytes()
    report = _report(tmp_path / "dask")
    assert report["sandbox"]["scheduler"] == "local" and report["sandbox"]["workers"] == 1
    assert report["submissions"] == _report(tmp_path / "local")["submissions"]


def _slow(folder: Path, student: str, seconds: int) -> None:
    """A correct notebook whose first cell sleeps: its task is running when the worker is killed."""
    nb = student_notebook(CH1)
    nb.cells.insert(0, nbformat.v4.new_code_cell(f"import time\ntime.sleep({seconds})"))
    hand_in(folder, student, nb, f"{CH1}.ipynb")


class Killer(threading.Thread):
    """SIGKILLs the worker process executing the first submission's task, up to ``times`` times."""

    def __init__(self, cluster: Cluster, times: int) -> None:
        super().__init__(daemon=True)
        self.client = cluster.client(2)
        self.times, self.killed, self.pids, self.done = times, [], [], threading.Event()

    def run(self) -> None:
        def executing(dask_worker):
            return os.getpid(), [str(ts.key) for ts in dask_worker.state.executing]

        while not self.done.is_set() and len(self.killed) < self.times:
            try:
                states = self.client.run(executing, on_error="ignore")
            except Exception:  # noqa: BLE001 - a worker just died: ask again
                states = {}
            for address, (pid, keys) in states.items():
                if any(k.startswith("grade-00000-") for k in keys):
                    time.sleep(2)  # well inside the submission
                    os.kill(pid, signal.SIGKILL)
                    self.killed.append(address)
                    self.pids.append(pid)
                    time.sleep(3)
                    break
            time.sleep(0.5)

    def stop(self) -> None:
        self.done.set()
        self.join(30)
        self.client.close()


def _grade_while_killing(cluster: Cluster, subs: Path, out: Path, times: int) -> Killer:
    """Grade ``subs`` on the cluster while a :class:`Killer` kills the first submission's worker up to ``times`` times."""
    killer = Killer(cluster, times=times)
    killer.start()
    try:
        assert main(["autograde", str(subs), "--out", str(out), "--scheduler", cluster.address,
                     "--cell-timeout", "60", *SANDBOX]) == 0
    finally:
        killer.stop()
    return killer


@pytest.mark.slow
def test_a_worker_killed_mid_submission_loses_nothing(cluster, tmp_path):
    subs = tmp_path / "subs"
    _slow(subs, "aaron", 20)
    hand_in(subs, "bob", student_notebook(CH1, "blank"), "hw.ipynb")
    killer = _grade_while_killing(cluster, subs, tmp_path / "out", times=1)
    assert len(killer.killed) == 1
    report = {s["student"]: s for s in _report(tmp_path / "out")["submissions"]}
    assert report["aaron"]["status"] == "graded"
    assert report["aaron"]["score"] == report["aaron"]["max_score"] > 0  # re-run in full on a live worker
    assert report["bob"]["status"] == "graded"
    # the killed worker never cleaned up its grading folder: the job that ran aaron again removed it
    left = [str(p) for pid in killer.pids for p in Path(tempfile.gettempdir()).glob(f"{WORKER_DIR}{pid}-*")]
    assert left == [], {p: sorted(os.listdir(p)) for p in left}


@pytest.mark.slow
def test_a_submission_whose_workers_keep_dying_is_an_error_for_that_learner_alone(cluster, tmp_path):
    subs = tmp_path / "subs"
    _slow(subs, "aaron", 30)
    hand_in(subs, "bob", student_notebook(CH1), "hw.ipynb")
    killer = _grade_while_killing(cluster, subs, tmp_path / "out", times=ALLOWED_FAILURES + 1)
    assert len(killer.killed) == ALLOWED_FAILURES + 1
    report = {s["student"]: s for s in _report(tmp_path / "out")["submissions"]}
    assert report["aaron"]["status"] == "grading-failed"
    assert "died every time" in report["aaron"]["reason"]
    assert report["bob"]["status"] == "graded" and report["bob"]["score"] == report["bob"]["max_score"]
    assert {r["status"] for r in _rows(tmp_path / "out") if r["student"] == "aaron"} == {"error"}


@pytest.mark.slow
def test_ctrl_c_on_a_cluster_run_keeps_what_was_graded_and_the_next_run_grades_the_rest(tmp_path):
    """Ctrl-C while a slow submission runs and another waits: exit 130 within seconds, the running one's
    sandbox on the worker ends within seconds too, the quick one (judged before) is in grades.csv,
    report.json and its feedback; the same command again keeps it.

    One worker of its own, so the order is certain: Dask runs the tasks in the order they were sent
    (alice, bob, carol), so alice is graded while bob sleeps. On two workers, one of them started
    again by the tests above, a cold worker could still be starting alice's sandbox when a warm one
    had finished a slow submission (a fresh-clone run failed that way).
    """
    import subprocess
    import sys

    subs, out = tmp_path / "subs", tmp_path / "out"
    hand_in(subs, "alice", student_notebook(CH1), f"{CH1}.ipynb")
    _slow(subs, "bob", 20)
    _slow(subs, "carol", 20)
    solo = Cluster(1, allowed_failures=ALLOWED_FAILURES)
    try:
        solo.client(1).close()
        command = [sys.executable, "-m", "grader", "autograde", str(subs), "--out", str(out), "--scheduler",
                   solo.address, "--cell-timeout", "60", *SANDBOX]
        grader = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

        wait_for(lambda: "alice" in graded_in(out), 240, "alice was graded", process=grader)
        worker = solo.procs[-1].pid
        wait_for(lambda: sandboxes_below(worker), 60, "bob's sandbox ran on the worker", process=grader)
        began = time.monotonic()
        grader.send_signal(signal.SIGINT)
        _, err = grader.communicate(timeout=60)
        seconds = time.monotonic() - began
        assert grader.returncode == 130, err[-2000:]
        assert seconds < 15, seconds
        # Dask's cancel only forgets tasks: bob's sandbox would sleep on for the rest of its 20 s. The run is
        # halted on the worker too (grader.grading.cluster.halt_run).
        wait_for(lambda: not sandboxes_below(worker), 5, "bob's sandbox on the worker ended after Ctrl-C")
        assert "interrupted: the cluster's unfinished tasks were cancelled" in err and "Run the same command again" in err
        assert {r["student"] for r in _rows(out)} == {"alice"}
        assert {s["student"]: s["status"] for s in _report(out)["submissions"]} == {"alice": "graded"}
        assert list((out / "feedback").rglob("*.html")), "alice's feedback was written"
        # the learners fix nothing but the sleep; the same command keeps alice and grades bob and carol
        for student in ("bob", "carol"):
            hand_in(subs, student, student_notebook(CH1), f"{CH1}.ipynb")
        again = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
        assert again.returncode == 0, again.stderr[-2000:]
    finally:
        solo.stop()
    report = _report(out)
    assert {s["student"]: s["status"] for s in report["submissions"]} == \
        {"alice": "graded", "bob": "graded", "carol": "graded"}
    assert "1 submission(s) already graded in this folder were kept" in json.dumps(report)


def test_an_unreachable_scheduler_is_a_clear_error_within_seconds(tmp_path, capsys):
    hand_in(tmp_path / "subs", "alice", student_notebook(CH1), f"{CH1}.ipynb")
    start = time.monotonic()
    code = main(["autograde", str(tmp_path / "subs"), "--out", str(tmp_path / "out"),
                 "--scheduler", f"tcp://127.0.0.1:{free_port()}"])
    assert code == 3 and time.monotonic() - start < 15
    # (a first run in a fresh environment also notes, on a line of its own, the course secret it created)
    errors = [line for line in capsys.readouterr().err.splitlines() if not line.startswith("note: ")]
    assert len(errors) == 1 and "cannot reach the Dask scheduler" in errors[0], errors
    assert not (tmp_path / "out").exists()  # nothing graded halfway


def _course_copy(dest: Path) -> Path:
    shutil.copytree(ROOT, dest, ignore=shutil.ignore_patterns(".venv", ".git", "notebooks", "__pycache__", "*.egg-info",
                                                            ".pytest_cache"))
    return dest


@pytest.mark.slow
def test_a_worker_of_another_course_version_or_without_the_sandbox_is_refused(tmp_path, capsys):
    """Two odd workers on a scheduler of their own; each refusal names the worker and the reason."""
    hand_in(tmp_path / "subs", "alice", student_notebook(CH1), f"{CH1}.ipynb")
    other = _course_copy(tmp_path / "other")
    with open(other / "helpers" / "checks" / "__init__.py", "a") as handle:
        handle.write("\n# an exercise definition changed\n")
    odd = Cluster(1, allowed_failures=ALLOWED_FAILURES, cwd=other, worker_env={"PYTHONPATH": str(other)})
    try:
        odd.client(1).close()
        code = main(["autograde", str(tmp_path / "subs"), "--out", str(tmp_path / "out"), "--scheduler", odd.address])
        err = capsys.readouterr().err
        assert code == 3 and "runs course version" in err and "refused" in err, err
        assert not (tmp_path / "out").exists()
    finally:
        odd.stop()
    # The same course, but the worker cannot find bubblewrap: it fails before any submission is sent.
    lacking = Cluster(1, allowed_failures=ALLOWED_FAILURES, worker_env={"PATH": str(tmp_path / "empty")})
    try:
        lacking.client(1).close()
        code = main(["autograde", str(tmp_path / "subs"), "--out", str(tmp_path / "out"), "--scheduler",
                     lacking.address, "--isolation", "bwrap"])
        err = capsys.readouterr().err
        assert code == 3 and "cannot grade" in err and ("bwrap" in err or "root" in err), err
        assert not (tmp_path / "out").exists()
    finally:
        lacking.stop()


def test_only_the_outcome_files_the_plan_can_produce_come_back_from_a_worker():
    """A worker is trusted no more than a sandbox: other names, paths and oversized files are dropped."""
    from grader.grading.cluster import accepted_files
    from helpers.protocol import MAX_OUTCOME_BYTES
    from grader.grading.sanitize import load_assignment

    assignment = load_assignment(CH1, ROOT)
    gid = next(iter(assignment.tests))
    files = {f"{gid}.visible.pt": b"ok", f"{gid}.hidden.pt": b"x" * 11, f"../{gid}.visible.pt": b"escape",
             "not-an-exercise.visible.pt": b"forged", f"{gid}.visible.pt.extra": b"?", f"{gid}.HIDDEN.pt": "text"}
    assert accepted_files(files, assignment, limit=10) == {f"{gid}.visible.pt": b"ok"}
    assert accepted_files(files, assignment, limit=100) == {f"{gid}.visible.pt": b"ok", f"{gid}.hidden.pt": b"x" * 11}
    # by default, the judge's own limit: one byte more than it reads is dropped here already
    big = {f"{gid}.visible.pt": b"x" * (MAX_OUTCOME_BYTES + 1), f"{gid}.hidden.pt": b"x" * MAX_OUTCOME_BYTES}
    assert set(accepted_files(big, assignment)) == {f"{gid}.hidden.pt"}


def test_sweep_removes_only_the_folders_of_worker_processes_that_are_gone(tmp_path):
    import subprocess
    import sys

    from grader.grading.cluster import sweep_dead_workers

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # reaped: its pid names no process now
    # killed, not yet reaped (as a worker SIGKILLed a moment ago, before its nanny waits for it): a zombie
    zombie = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    os.kill(zombie.pid, signal.SIGKILL)
    wait_for(lambda: Path(f"/proc/{zombie.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z", 10,
             "the killed child to be a zombie")
    folders = {name: tmp_path / f"{WORKER_DIR}{pid}-x1" for name, pid in
               (("gone", gone.pid), ("zombie", zombie.pid), ("me", os.getpid()), ("parent", os.getppid()))}
    for folder in folders.values():
        (folder / "00001-root").mkdir(parents=True)
    (tmp_path / f"{WORKER_DIR}abc").mkdir()  # not a worker folder of this version: left alone
    try:
        assert sorted(sweep_dead_workers(tmp_path)) == sorted([folders["gone"], folders["zombie"]])
    finally:
        zombie.wait()
    assert not folders["gone"].exists() and not folders["zombie"].exists()
    assert folders["me"].is_dir() and folders["parent"].is_dir()
    assert (tmp_path / f"{WORKER_DIR}abc").is_dir()
