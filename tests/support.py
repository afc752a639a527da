"""Test support: student notebooks built from the release, answered as a test needs."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nbformat import NotebookNode

from grader import cells
from grader.authoring import notebooks
from grader.authoring.config import ROOT

DASK = str(Path(sys.executable).with_name("dask"))

_MARKERS = re.compile(r"^[ \t]*### (BEGIN|END) (SOLUTION|HIDDEN TESTS)[ \t]*\n?", re.MULTILINE)


def solution_code(chapter: str) -> dict[str, str]:
    """``{grade_id: code}`` of every answer cell of a chapter's source, markers removed."""
    nb = notebooks.read(notebooks.notebook_path(chapter, "solutions"))
    return {cells.grade_id(cell): _MARKERS.sub("", cell.source) for cell in nb.cells if cells.is_solution(cell)}


def solution_namespace(chapter: str) -> dict:
    """The chapter's answer cells run in one namespace, as the notebook would define them."""
    import math

    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    namespace = {"torch": torch, "F": F, "nn": nn, "math": math, "np": np}
    for code in solution_code(chapter).values():
        try:
            exec(code, namespace)
        except Exception:  # noqa: BLE001 - an answer that needs earlier cells: not used here
            continue
    return namespace


def student_notebook(chapter: str, answers: str | dict[str, str] = "solution") -> NotebookNode:
    """The released notebook of ``chapter`` as a student would hand it in.

    ``answers`` is ``"solution"`` (every answer right), ``"blank"`` (untouched release) or
    ``{grade_id: code}``: those answer cells get that code, the others the solution.
    """
    nb = notebooks.read(notebooks.notebook_path(chapter, "notebooks"))
    if answers == "blank":
        return nb
    code = solution_code(chapter)
    if isinstance(answers, dict):
        unknown = set(answers) - set(code)
        assert not unknown, f"no answer cells {unknown} in {chapter}"
        code.update(answers)
    for cell in nb.cells:
        if cells.is_solution(cell) and cells.grade_id(cell) in code:
            cell.source = code[cells.grade_id(cell)]
    return nb


def hand_in(folder: Path, student: str, nb: NotebookNode, name: str | None = None) -> Path:
    """Write ``nb`` as ``folder/<student>/<name>`` (an LMS-style export)."""
    path = folder / student / (name or "notebook.ipynb")
    notebooks.write(nb, path)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LoopbackCluster:
    """``dask scheduler`` and ``dask worker`` processes on 127.0.0.1, each a session of its own, stopped by pid.

    ``allowed_failures``: dead workers a task may cost before the scheduler gives it up.
    """

    def __init__(self, workers: int, *, allowed_failures: int = 3, cwd: Path = ROOT,
                 worker_env: dict | None = None) -> None:
        env = {**os.environ, "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": str(allowed_failures)}
        # The scheduler picks its own port and writes its address to a file: a port found free here
        # could be taken by another process before the scheduler bound it.
        self._folder = Path(tempfile.mkdtemp(prefix="cluster-"))
        written = self._folder / "scheduler.json"
        self.procs = [self._start([DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                   "--scheduler-file", str(written)], env, ROOT)]
        try:
            self.address = wait_for(lambda: _address_in(written), 120, "the Dask scheduler's address")
        except AssertionError:
            self.stop()
            raise
        for _ in range(workers):
            self.add_worker(cwd=cwd, env=worker_env)

    def _start(self, argv, env, cwd) -> subprocess.Popen:
        return subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)

    def add_worker(self, *, cwd: Path = ROOT, env: dict | None = None) -> None:
        self.procs.append(self._start([DASK, "worker", self.address, "--nthreads", "1", "--no-dashboard",
                                       "--host", "127.0.0.1"], {**os.environ, **(env or {})}, cwd))

    def client(self, workers: int):
        from distributed import Client

        client = Client(self.address, timeout=60)
        client.wait_for_workers(workers, timeout=120)
        return client

    def stop(self) -> None:
        stop_process_groups(self.procs)
        shutil.rmtree(self._folder, ignore_errors=True)


def _address_in(scheduler_file: Path) -> str | None:
    """The address a Dask scheduler wrote to its ``--scheduler-file``, once it is there in full."""
    try:
        return json.loads(scheduler_file.read_text())["address"]
    except (OSError, ValueError, KeyError):
        return None


def wait_for(predicate, timeout: float, what: str, *, process=None, printed=None):
    """Poll ``predicate`` until it returns something true (returned), or fail after ``timeout`` s.

    With ``process`` (the ``Popen`` whose work is awaited), fail as soon as it has ended without
    ``predicate`` coming true, with its exit code and what it printed: ``printed()``, or else its
    captured stderr. A timeout shows ``printed()`` too, when given.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ended = process is not None and process.poll() is not None
        value = predicate()  # after the poll: what the process did before ending is seen
        if value:
            return value
        if ended:
            shown = printed() if printed else (process.communicate()[1] or "")
            raise AssertionError(f"the process ended with exit code {process.returncode} before {what}; "
                                 f"it printed: {shown[-2000:]}")
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}" + (f"; it printed: {printed()[-2000:]}" if printed else ""))


def graded_in(out: Path) -> dict[str, dict]:
    """The graded submissions of a grading run's ``out/report.json`` so far, by student ({} before it exists)."""
    try:
        report = json.loads((out / "report.json").read_text())
    except (OSError, ValueError):
        return {}
    return {s["student"]: s for s in report["submissions"] if s["status"] == "graded"}


def sandbox_processes(uids: range) -> list[str]:
    """Processes running as one of ``uids`` (``"pid: cmdline"``), read from ``/proc`` by the test itself,
    so that "no sandbox process outlives grading" is checked independently of the grader's own scan."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            uid = int(next(line.split()[1] for line in status.splitlines() if line.startswith("Uid:")))
            if uid in uids:
                found.append(f"{entry.name}: {(entry / 'cmdline').read_bytes()[:80]!r}")
        except OSError:  # ended meanwhile
            continue
    return found


def sandboxes_below(pid: int) -> list[int]:
    """The live sandbox processes below process ``pid`` (a grader or a Dask worker): forks of the grader's
    zygote and theirs, found by the test itself in ``/proc`` (the zygote, a child of ``pid``, is not one)."""
    from tests.lab import descendants, stat

    def zygote(p: int) -> bool:
        return b"grader.sandbox.zygote" in Path(f"/proc/{p}/cmdline").read_bytes()

    found = []
    for child in descendants(pid):
        try:
            state, parent = stat(child)
            if state not in "ZX" and zygote(child) and zygote(parent):
                found.append(child)
        except (OSError, ValueError, IndexError):  # ended meanwhile
            continue
    return found


def sandbox_processes_left(uids: range, wait: float = 5.0) -> list[str]:
    """:func:`sandbox_processes` still alive ``wait`` seconds on (ending them is asynchronous)."""
    deadline = time.monotonic() + wait
    while True:
        found = sandbox_processes(uids)
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def assert_blank_run(chapter: str, ran: list, shown: list[str] | None = None) -> None:
    """What a learner must see after running a blank ``chapter`` cell by cell: ``ran`` is its cells with their
    outputs (a notebook's cells, as saved or as executed); ``shown``, when it ran in JupyterLab, each cell's
    outputs as the page shows them.

    Every error is one line, never a traceback: a test cell says "Not attempted yet: ...", any other cell
    "Not done yet: ..." or "This cell needs `answer` ...", naming one of the chapter's exercises; at least
    one cell stops like that. In JupyterLab, which tells the kernel each cell's id, an answer cell's line
    names its own exercise, and the page shows each line as it is.
    """
    from helpers.checks.catalog import entries

    listed = entries(chapter)
    answers = [e.answer for e in listed]
    title_of = {f"{e.key}_answer": e.title for e in listed}
    stopped = 0
    for number, cell in enumerate(ran, start=1):
        if cell["cell_type"] != "code":
            continue
        page = shown[number - 1] if shown is not None else ""
        assert "Traceback" not in page and "----> " not in page, f"{chapter} cell {number} shows:\n{page}"
        nbgrader = cell.get("metadata", {}).get("nbgrader", {})
        for output in cell.get("outputs", []):
            if output["output_type"] != "error":
                continue
            lines = [_ANSI.sub("", line) for line in output["traceback"]]
            line = "\n".join(lines).strip()
            assert len(lines) == 1 and "\n" not in line and "Traceback" not in line, \
                f"{chapter} cell {number}: a traceback of {len(lines)} lines:\n" + "\n".join(lines)
            if nbgrader.get("grade"):
                assert line.startswith("Not attempted yet: "), f"{chapter} cell {number}: {line}"
            else:
                stopped += 1
                assert line.startswith(("This cell needs `", "Not done yet: ")), f"{chapter} cell {number}: {line}"
                assert line.startswith("Not done yet") or any(f"`{a}`" in line for a in answers), line
                if nbgrader.get("solution") and shown is not None:
                    assert line.startswith(f"Not done yet: {title_of[cell['id']]} is still"), line
            if shown is not None:
                assert line in page, f"{chapter} cell {number}: the page does not show {line!r}"
    assert stopped, f"{chapter}: a blank chapter has cells that need its answers"


#: A right by-hand ``convolve`` (loops and elementwise arithmetic only), as a cell's source: what the by-hand
#: guard must let through, in tests that run it in a sandbox or in this process (:func:`by_hand_convolve`).
BY_HAND_CONVOLVE = """
def convolve(img, kernel):
    h, w = img.shape[0] - kernel.shape[0] + 1, img.shape[1] - kernel.shape[1] + 1
    out = torch.zeros(h, w)
    for i in range(h):
        for j in range(w):
            out[i, j] = (img[i:i + kernel.shape[0], j:j + kernel.shape[1]] * kernel).sum()
    return out
"""


def _by_hand_function():
    import torch

    namespace = {"torch": torch}
    exec(BY_HAND_CONVOLVE, namespace)  # noqa: S102 - the course's own test code
    return namespace["convolve"]


#: :data:`BY_HAND_CONVOLVE` as a function of this process.
by_hand_convolve = _by_hand_function()


def stop_process_groups(procs) -> None:
    """SIGTERM each process's group, newest first, then SIGKILL what has not ended within 15 s."""
    for proc in reversed(list(procs)):
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
