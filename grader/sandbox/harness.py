"""The process that runs one student's notebook, inside the sandbox.

Started by :mod:`grader.sandbox.process` as ``python harness.py CHAPTER OUTDIR CMD_FD EVENT_FD``
(a plain script: it must not need the ``grader`` package, which stays out of the sandbox;
what it shares with the judge is :mod:`helpers.protocol`). It never decides a grade. It

1. imports torch, IPython and the chapter's exercise definitions once, before any
   student code, then sends ``{"ready": ...}``;
2. reads one JSON command per line from ``CMD_FD`` (:class:`~helpers.protocol.Op`):
   ``{"op": "code", "source": ...}`` runs a cell in an IPython shell;
   ``{"op": "test", "key": ..., "hidden": ...}`` *collects* the exercise's outcomes from the
   learner's namespace (it runs the learner's function on the exercise's inputs) and writes
   them as plain data with ``torch.save`` to ``OUTDIR/``:func:`~helpers.protocol.outcome_file`;
   ``{"op": "cell", "source": ...}`` runs a test cell that has no exercise definition
   (nbgrader's meaning: it passes if it raises nothing); a by-hand exercise (one with ``forbid``)
   is collected in a guarded child process (:mod:`helpers.checks.byhand`), with every other process
   of the sandbox frozen by the warden this process forks first (:mod:`helpers.freezing`); the seed of the
   hidden cases is asked for (``{"need_seed": true}`` on ``EVENT_FD``, answered by a
   ``{"seed": ...}`` line on ``CMD_FD``) only when it is needed, by the process that uses it;
3. answers each command with one JSON line on ``EVENT_FD``
   (:class:`~helpers.protocol.Reply`);
4. says once (``{"signals": ...}``, :data:`~helpers.protocol.SIGNALS`) when the learner's code first uses a way
   to send a signal or start a process, so that the parent can tell a kill of its own making from one that came
   from outside the sandbox (the host's out-of-memory killer, an administrator): only the latter is retried.

The learner's stdin, stdout and stderr are ``/dev/null``: printed output costs time,
never memory, and cannot forge an answer on the command channel. A cell that runs past
its time gets ``SIGALRM`` (an exception in the cell); one that ignores it is killed by
the parent, which owns the deadline. Whatever this process writes is distrusted by the
parent: outcomes are loaded with ``weights_only=True``, checked for exact types, and
judged in the parent with the exercise definitions.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time


class CellTimeout(BaseException):
    """Raised in a cell that ran past its time."""


def _on_alarm(signum, frame):  # noqa: ARG001
    raise CellTimeout("the cell ran past its time limit and was interrupted")


def watch_signalling(event_fd: int) -> None:
    """From now on, the first use of a way to send a signal or start a process is said on ``event_fd``.

    An audit hook (it cannot be removed) for the audited ways, and wrappers, in ``signal`` and ``_signal``, for
    the functions that raise no audit event. One ``os.write`` of one short line: atomic on a pipe, whatever
    thread or forked child (which inherits the hook) writes it."""
    import _signal

    from helpers.protocol import SIGNALLING_EVENTS, SIGNALS, UNAUDITED_SIGNALLERS

    said = []

    def say(what: str) -> None:
        if not said:
            said.append(what)
            try:
                os.write(event_fd, (json.dumps({SIGNALS: what}) + "\n").encode())
            except OSError:
                pass

    def audit(event: str, args) -> None:
        # no frame is inspected here: sys._getframe is itself an audit event, which the by-hand guard refuses
        if event in SIGNALLING_EVENTS and not (event == "os.kill" and len(args) > 1 and args[1] == 0):
            say(event)

    sys.addaudithook(audit)
    for name in UNAUDITED_SIGNALLERS:
        original = getattr(_signal, name, None)
        if original is None:
            continue

        def wrapper(*args, _original=original, _name=name, **kwargs):
            say(f"signal.{_name}")
            return _original(*args, **kwargs)

        for module in (signal, _signal):
            setattr(module, name, wrapper)


def main() -> None:
    serve(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))


def serve(chapter: str, outdir: str, cmd_fd: int, event_fd: int) -> None:
    """Answer commands until the command channel closes (see the module's docstring)."""
    commands = os.fdopen(cmd_fd, "r", encoding="utf-8")
    events = os.fdopen(event_fd, "w", encoding="utf-8", buffering=1)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    from helpers import freezing

    # Before any student code: the parent becomes the warden that freezes the sandbox's other processes
    # while a by-hand answer runs (helpers.freezing); this process, its child, serves the commands.
    warden = freezing.start(event_fd, close=(cmd_fd,))

    def send(message: dict) -> None:
        events.write(json.dumps(message) + "\n")
        events.flush()

    start = time.monotonic()
    import matplotlib

    matplotlib.use("Agg")
    import torch

    torch.set_num_threads(1)
    from IPython.core.interactiveshell import InteractiveShell

    import helpers.checks as checks
    from helpers.protocol import (CELL_TIMEOUT, HIDDEN, KEY, NEED_SEED, OP, READY, SEALED, SECONDS, SEED, SOURCE,
                                  TIMEOUT, Op, Reply, describe_error, make_reply, outcome_file, outcome_record)

    def describe(exc: BaseException | None) -> str:
        return describe_error(exc, line=False)
    import helpers.checks.byhand as byhand

    registry = {ex.key: ex for ex in checks.exercises(chapter)}
    # Kept before any student code runs: patching them later (``Exercise.collect = ...``,
    # ``ex.forbid = frozenset()``, ``torch.save = ...``) does not change what is collected
    # or how it is written; for by-hand exercises a patch is also noticed and costs the points.
    save = torch.save
    collect = checks.Exercise.collect
    run_one = checks.Exercise._run_one
    make_cases = checks.Exercise.make_cases
    forbidden = {key: frozenset(ex.forbid) for key, ex in registry.items()}
    byhand_collect = byhand.collect
    snap = byhand.snapshot(registry)
    loads = json.loads

    def ask_seed():
        send({NEED_SEED: True})
        try:
            answer = loads(commands.readline())
        except ValueError:
            return None
        seed = answer.get(SEED) if isinstance(answer, dict) else None
        return seed if type(seed) is int else None
    shell = InteractiveShell.instance()
    shell.user_ns["__name__"] = "__main__"
    # What a cell displays reaches no one here: only plain text is formatted. A course figure's rich
    # display (its PNG and text alternative) took most of a chapter-1 submission's grading time.
    shell.display_formatter.active_types = ["text/plain"]
    shell.display_formatter.mimebundle_formatter.enabled = False
    if warden is not None:  # and the threads this process has before any student code (IPython's own)
        warden = (*warden, frozenset(os.listdir("/proc/self/task")))
    signal.signal(signal.SIGALRM, _on_alarm)
    watch_signalling(event_fd)
    send({READY: True, SECONDS: round(time.monotonic() - start, 2)})

    missing = object()
    me = os.getpid()
    for line in commands:
        try:
            cmd = loads(line)
        except ValueError:
            continue  # a stray line (a seed nobody asked for, a half-read one): not a command
        if not isinstance(cmd, dict) or OP not in cmd:
            continue
        timeout = float(cmd.get(TIMEOUT, CELL_TIMEOUT))
        reply = make_reply(Reply.OK)
        began = time.monotonic()
        signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            if cmd[OP] in (Op.CODE, Op.CELL):
                result = shell.run_cell(cmd[SOURCE], store_history=False, silent=False)
                signal.setitimer(signal.ITIMER_REAL, 0)
                error = result.error_before_exec or result.error_in_exec
                if error is not None:
                    reply = make_reply(Reply.TIMEOUT if isinstance(error, CellTimeout) else Reply.ERROR,
                                       describe(error))
            elif cmd[OP] == Op.TEST:
                ex = registry[cmd[KEY]]
                answer = shell.user_ns.get(ex.answer, missing)
                sealed = bool(cmd.get(HIDDEN) and cmd.get(SEALED))
                if answer is missing:
                    signal.setitimer(signal.ITIMER_REAL, 0)
                    reply = make_reply(Reply.MISSING)
                else:
                    runs = tuple((hidden, os.path.join(outdir, outcome_file(cmd[KEY], hidden)))
                                 for hidden in ((False, True) if cmd.get(HIDDEN) else (False,)))
                    if forbidden[ex.key]:  # the public and hidden cases in one guarded child
                        problem = byhand_collect(
                            ex, answer, runs=runs, forbid=forbidden[ex.key], save=save, run_one=run_one,
                            make_cases=make_cases, snap=snap, events_fd=event_fd if sealed else None,
                            commands_fd=cmd_fd if sealed else None, warden=warden)
                        if problem:
                            reply = make_reply(Reply.ERROR, problem)
                    else:
                        for hidden, path in runs:
                            seed = ask_seed() if hidden and sealed else None
                            outcomes = collect(ex, answer, hidden=hidden, secret_seed=seed)
                            save([outcome_record(o.value, o.error) for o in outcomes], path)
                    signal.setitimer(signal.ITIMER_REAL, 0)
        except CellTimeout as exc:
            reply = make_reply(Reply.TIMEOUT, describe(exc))
        except BaseException as exc:  # noqa: BLE001 - the learner's error is a result, not a crash
            signal.setitimer(signal.ITIMER_REAL, 0)
            reply = make_reply(Reply.ERROR, describe(exc))
        signal.setitimer(signal.ITIMER_REAL, 0)
        if os.getpid() != me:  # a copy made by os.fork() in student code: never a second harness
            os._exit(0)
        reply[SECONDS] = round(time.monotonic() - began, 3)
        send(reply)
        # The next command is read only after this reply, so a cell's stray threads
        # or exit handlers can at most end this process: the parent then restarts it.


if __name__ == "__main__":
    main()
