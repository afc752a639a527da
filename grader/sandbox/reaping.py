"""How a sandbox ends: :class:`Died` with its cause in words, and reaping what a run's users left.

A sandbox that ends before it replies becomes :class:`Died`, whose ``cause`` names how
(:func:`exit_cause`: a signal, the CPU limit, an exit code) for the student's report. At the end of a
run, whatever still runs as one of its sandbox users (:mod:`grader.sandbox.users`) is killed
(:func:`reap`), before the control groups are removed.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

class Died(Exception):
    """The sandboxed process ended (or was killed) before answering."""

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause


def exit_cause(code: int | None) -> str:
    """How the harness's process ended, in words (``code``: its exit status, negative for a signal)."""
    if code is None:
        return "its process ended"
    if code < 0:
        name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
        return f"its process was killed by {name}" + (" (CPU time limit)" if name == "SIGXCPU" else "")
    return f"it ended the Python process (exit code {code})"


def processes_of(uids: range) -> list[int]:
    """The pids of every process (zombies included) running as one of ``uids``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        uid = next((line.split()[1] for line in status.splitlines() if line.startswith("Uid:")), None)
        if uid is not None and int(uid) in uids:
            found.append(int(entry.name))
    return found


def reap(uids: range, timeout: float = 1.5) -> list[int]:
    """Kill whatever still runs as a sandbox user of this run and wait (up to ``timeout``) until it is gone.

    The sandbox users belong to this grader run alone (see :func:`grader.sandbox.users.uid_base`), so nothing
    else is touched. Returns the pids still there at the end (normally none).
    """
    deadline = time.monotonic() + timeout
    while True:
        left = processes_of(uids)
        if not left or time.monotonic() > deadline:
            return left
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.05)
