"""A sandbox or zygote ended from outside is the host's fault, never the learner's.

Killed mid-run by something outside the submission (here: this test, as the host's out-of-memory killer or an
administrator would, with SIGKILL), the sandbox is started again and the cell run again: the learner keeps
every point and no cell of theirs is blamed. Killed every time, the submission is ``grading-failed`` with words
that blame none of its cells. A kill the sandbox's own limits make (its CPU seconds used up), or one its own code
sends (possible without a PID namespace), is still that cell's doing."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import nbformat
import pytest

from grader.sandbox.process import available
from grader.sandbox.users import MAX_WORKERS, uid_base
from tests.support import hand_in, student_notebook

CH1 = "01-convolution-by-hand"

pytestmark = [pytest.mark.slow, pytest.mark.skipif(os.geteuid() != 0 or available("zygote") is not None,
                                                   reason="needs root and the zygote sandbox")]


def _slow(nb, seconds: float = 4.0):
    nb.cells.insert(0, nbformat.v4.new_code_cell(f"import time\ntime.sleep({seconds})"))
    return nb


def _harnesses() -> list[int]:
    """This test process's sandboxes (its block of sandbox uids): PID 1 of each sandbox's namespace."""
    base = uid_base()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = dict(line.split(":", 1) for line in (entry / "status").read_text().splitlines() if ":" in line)
        except OSError:
            continue
        if base <= int(fields["Uid"].split()[0]) < base + MAX_WORKERS and fields.get("NSpid", "").split()[-1:] == ["1"]:
            found.append(int(entry.name))
    return found


class Killer(threading.Thread):
    """Kills from outside: ``plan`` is a list of (what, when) steps run in order: ("harness", n) kills the next
    n sandboxes, each 1.5 s after it appeared; ("zygote", 1) kills the zygote while a sandbox runs;
    ("wait", student) waits until the checkpointed report.json lists that student."""

    def __init__(self, plan, out: Path) -> None:
        super().__init__(daemon=True)
        self.plan, self.out, self.done, self.killed = plan, out, threading.Event(), []

    def _next_harness(self, after: set[int]) -> int | None:
        while not self.done.is_set():
            fresh = [p for p in _harnesses() if p not in after]
            if fresh:
                time.sleep(1.5)
                return fresh[0]
            time.sleep(0.05)
        return None

    def run(self) -> None:
        seen: set[int] = set()
        for what, arg in self.plan:
            if what == "wait":
                while not self.done.is_set():
                    try:
                        if arg in {s["student"] for s in json.loads((self.out / "report.json").read_text())["submissions"]}:
                            break
                    except (OSError, ValueError, KeyError):
                        pass
                    time.sleep(0.1)
                continue
            for _ in range(arg):
                pid = self._next_harness(seen)
                if pid is None:
                    return
                seen.add(pid)
                targets = [pid] if what == "harness" else [p for p in _all_zygotes()]
                for target in targets:
                    try:
                        os.kill(target, signal.SIGKILL)
                        self.killed.append((what, target))
                    except ProcessLookupError:
                        pass


def _all_zygotes() -> list[int]:
    """The zygote this test process started (a child of it running grader.sandbox.zygote)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = (entry / "stat").read_text().rsplit(")", 1)[1].split()[1]
            if ppid == str(os.getpid()) and b"grader.sandbox.zygote" in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except (OSError, IndexError):
            continue
    return found


def _grade(subs: Path, out: Path, plan, **options) -> tuple[dict, list]:
    from grader.grading.autograde import autograde

    killer = Killer(plan, out)
    killer.start()
    try:
        results = autograde(subs, out, workers=1, progress=False, similarity=False, cell_timeout=60, **options)
    finally:
        killer.done.set()
        killer.join(10)
    return {r.student: r for r in results}, killer.killed


def test_a_sandbox_killed_once_from_outside_is_retried_and_its_cpu_limit_is_still_the_cells(tmp_path):
    from grader.sandbox.walls import Limits

    subs = tmp_path / "subs"
    hand_in(subs, "alice", _slow(student_notebook(CH1)), f"{CH1}.ipynb")
    eve = student_notebook(CH1)
    eve.cells.append(nbformat.v4.new_code_cell("x = 0\nwhile True:\n    x += 1"))  # SIGKILL at the CPU limit
    hand_in(subs, "eve", eve, f"{CH1}.ipynb")
    by, killed = _grade(subs, tmp_path / "out", [("harness", 1)], limits=Limits(cpu_seconds=8))
    assert [w for w, _ in killed] == ["harness"], killed
    alice = by["alice"]
    assert alice.status == "graded" and alice.score == alice.max_score, (alice.reason, alice.cells)
    assert alice.cells == [], "a kill from outside is no cell's doing"
    assert len(alice.retried) == 1 and "ended from outside" in alice.retried[0], alice.retried
    eve = by["eve"]
    assert eve.status == "graded" and eve.score == eve.max_score and eve.retried == []
    causes = [c["cause"] for c in eve.cells]
    assert len(causes) == 1 and "killed by SIGKILL when it had used the sandbox's 8 CPU seconds" in causes[0], causes
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert {s["student"]: s["retried"] for s in report["submissions"]}["alice"] == alice.retried


def test_a_zygote_killed_is_started_again_and_a_sandbox_killed_every_time_fails_without_blame(tmp_path):
    subs = tmp_path / "subs"
    hand_in(subs, "carl", _slow(student_notebook(CH1)), f"{CH1}.ipynb")
    hand_in(subs, "dora", _slow(student_notebook(CH1), 30), f"{CH1}.ipynb")
    by, killed = _grade(subs, tmp_path / "out", [("zygote", 1), ("wait", "carl"), ("harness", 3)])
    assert [w for w, _ in killed] == ["zygote", "harness", "harness", "harness"], (killed, by)
    carl = by["carl"]
    assert carl.status == "graded" and carl.score == carl.max_score and carl.cells == [], (carl.reason, carl.cells)
    assert len(carl.retried) == 1 and "its process vanished" in carl.retried[0], carl.retried
    dora = by["dora"]
    assert dora.status == "grading-failed", dora
    assert "ended from outside 3 times" in dora.reason and "grade it again" in dora.reason, dora.reason
    assert "cell" not in dora.reason and "its process ended" not in dora.reason, dora.reason


def test_without_a_pid_namespace_a_cell_that_kills_its_own_process_is_still_blamed(tmp_path):
    """--isolation none: a process can SIGKILL itself; the harness says its code sent a signal, so it is no outside
    kill (in a sandbox, PID 1 of its namespace cannot: the kernel ignores it)."""
    subs = tmp_path / "subs"
    nb = student_notebook(CH1)
    nb.cells.append(nbformat.v4.new_code_cell("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"))
    nb.cells.append(nbformat.v4.new_code_cell("import signal\nsignal.raise_signal(signal.SIGKILL)"))
    hand_in(subs, "eve", nb, f"{CH1}.ipynb")
    by, killed = _grade(subs, tmp_path / "out", [], isolation="none")
    eve = by["eve"]
    assert eve.status == "graded" and eve.score == eve.max_score and eve.retried == [], (eve.reason, eve.retried)
    causes = [c["cause"] for c in eve.cells]
    assert len(causes) == 2 and all(c == "its process was killed by SIGKILL" for c in causes), causes
