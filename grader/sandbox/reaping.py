"""How a sandbox ends: :class:`Died` with its cause in words, and reaping what a run's users left.

A sandbox that ends before it replies becomes :class:`Died`, whose ``cause`` names how
(:func:`exit_cause`: a signal, the CPU or memory limit, an exit code) for the student's report, and
whether it was ended **from outside** (:func:`ended_from_outside`): killed by a signal that none of its
own limits sends (no out-of-memory kill counted in its control group, its CPU seconds not used up)
while its code had used no way to send a signal or start a process (the harness says when it does), or
its process gone without a word (the zygote's child killed, the zygote itself ended). Such a death is
the host's (its out-of-memory killer, an administrator's ``kill``), never the learner's: the submission
is run again (:func:`grader.grading.run.run_plan`), not blamed. At the end of a
run, whatever still runs as one of its sandbox users (:mod:`grader.sandbox.users`) is killed
(:func:`reap`), before the control groups are removed.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

class Died(Exception):
    """The sandboxed process ended (or was killed) before answering; ``outside``: by the host, not by
    the submission or its limits (:func:`ended_from_outside`)."""

    def __init__(self, cause: str, outside: bool = False) -> None:
        super().__init__(cause)
        self.cause = cause
        self.outside = outside


#: Signals a sandbox's own limits never send: the host's out-of-memory killer and ``kill`` send SIGKILL,
#: an administrator or a shutdown SIGTERM, a lost terminal SIGHUP.
OUTSIDE_SIGNALS = (signal.SIGKILL, signal.SIGTERM, signal.SIGHUP)


def ended_from_outside(code: int | None, *, signalled: bool, oom_killed: bool, cpu_seconds: float | None,
                       cpu_limit: float) -> bool:
    """Whether a sandbox's end (``code``: its exit status, negative for a signal, ``None`` when no process reported
    it) came from outside: not its own code (``signalled``: the learner's code used a way to send a signal or
    start a process), not its memory limit (``oom_killed``: its control group counted an out-of-memory kill),
    not its CPU limit (``cpu_seconds`` used, of ``cpu_limit``)."""
    if signalled or oom_killed:
        return False
    if code is None:
        return True
    if code >= 0 or -code not in OUTSIDE_SIGNALS:
        return False
    return not (-code == signal.SIGKILL and cpu_seconds is not None and cpu_seconds >= cpu_limit - 1)


OUTSIDE_CAUSE = ("the grading process was ended from outside the submission ({how}): not by its code nor by "
                 "any of its limits, but by the host (its out-of-memory killer, an administrator)")


def exit_cause(code: int | None, *, oom_killed: bool = False, cpu_limit: float | None = None,
               outside: bool = False) -> str:
    """How the harness's process ended, in words (``code``: its exit status, negative for a signal)."""
    if outside:
        how = "its process vanished" if code is None else f"{_name(-code) if code < 0 else code}"
        return OUTSIDE_CAUSE.format(how=how)
    if oom_killed:
        return "its processes together used more memory than the sandbox allows, and were killed (memory limit)"
    if code is not None and code == -signal.SIGKILL and cpu_limit is not None:
        return f"its process was killed by SIGKILL when it had used the sandbox's {cpu_limit:.0f} CPU seconds"
    if code is None:
        return "its process ended"
    if code < 0:
        name = _name(-code)
        return f"its process was killed by {name}" + (" (CPU time limit)" if name == "SIGXCPU" else "")
    return f"it ended the Python process (exit code {code})"


def _name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


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
