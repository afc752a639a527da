"""Nothing started earlier computes for a by-hand answer: the sandbox's other processes are frozen while it runs.

The guarded child of :mod:`helpers.checks.byhand` refuses threads, processes and torch's
kernels, but a process, a thread or a server started by an *earlier* cell (in the harness or
beside it) was not refused anything: the answer could hand it the image over a pipe, a file, a
socket or shared memory and read back a convolution computed by torch. So while the guarded
call runs, every other process of the sandbox is stopped (``SIGSTOP``: no handler can catch it),
and the answer's own process is the only one that computes.

Who stops them is the **warden** (:func:`warden`), forked by the harness before any student code
ran, so no earlier cell's patch, hook or thread lives in it. Under the zygote it is PID 1 of the
sandbox's namespace (which no process inside can signal), and the harness is its child; it is a
child subreaper, so a process an earlier cell started and orphaned stays below it. The guarded
child asks it (``freeze``, on a socket pair made before any student code; the kernel stamps each
message with the sender's pid, so the warden knows whom to spare); the warden stops every process
below it but the asker (the harness included, with every thread an earlier cell started), checks
that each one is stopped, answers, and resumes them all when the asker ends (a ``pidfd``), or
kills the asker at its deadline (the cell's time limit, which the stopped harness cannot enforce).
The guarded child does not take the answer on trust: it reads ``/proc`` itself (:func:`running`)
and gives no points if anything else below the warden still runs.

The warden also stands in for the harness as the sandbox's first process: it reaps orphans and,
when the harness ends, ends with the same status.
"""

from __future__ import annotations

import ctypes
import json
import os
import select
import signal
import socket
import struct
import time

from .protocol import CPU, EXIT

#: The request of a guarded child, followed by its deadline in seconds (``0``: none).
FREEZE = b"freeze"
FROZEN, FAILED = b"frozen", b"failed"
#: Process states that compute nothing: stopped, traced, zombie, dead.
STILL = frozenset("TtZXx")
_PR_SET_CHILD_SUBREAPER, _PR_SET_DUMPABLE = 36, 4

# Kept at import, before any student code: what the warden and the check call.
_kill, _listdir, _open, _read, _close, _getpid = os.kill, os.listdir, os.open, os.read, os.close, os.getpid


def _proc(path: str) -> str | None:
    try:
        fd = _open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        return _read(fd, 4096).decode("ascii", "replace")
    except OSError:
        return None
    finally:
        _close(fd)


def command(pid: int) -> str:
    """The process's command name (``/proc/<pid>/comm``), for a message; ``"?"`` when gone."""
    return (_proc(f"/proc/{pid}/comm") or "?").strip()


def _state(text: str | None) -> tuple[int, str] | None:
    """``(ppid, state)`` from a ``/proc/.../stat`` line (the name may hold spaces and parentheses)."""
    if not text or ")" not in text:
        return None
    fields = text[text.rfind(")") + 2:].split()
    return (int(fields[1]), fields[0]) if len(fields) > 1 else None


def below(root: int) -> list[int]:
    """Every process whose chain of parents reaches ``root`` (``root`` excluded)."""
    parents: dict[int, list[int]] = {}
    for name in _listdir("/proc"):
        if name.isdigit():
            found = _state(_proc(f"/proc/{name}/stat"))
            if found:
                parents.setdefault(found[0], []).append(int(name))
    out, todo = [], [root]
    while todo:
        for child in parents.get(todo.pop(), ()):
            if child not in out:
                out.append(child)
                todo.append(child)
    return out


def _computing(pid: int) -> bool:
    """Whether any thread of ``pid`` may run (a process whose main thread ended can still have others)."""
    try:
        tasks = _listdir(f"/proc/{pid}/task")
    except OSError:
        return False  # gone
    for task in tasks:
        found = _state(_proc(f"/proc/{pid}/task/{task}/stat"))
        if found and found[1] not in STILL:
            return True
    return False


def running(root: int, spared: set[int]) -> list[int]:
    """The processes below ``root``, other than ``spared``, that are not stopped."""
    return [pid for pid in below(root) if pid not in spared and _computing(pid)]


def freeze(root: int, spared: set[int], patience: float = 3.0) -> tuple[set[int], bool]:
    """Stop every process below ``root`` but ``spared``; ``(stopped, all_stopped)``.

    Repeated until a pass finds nothing still running: a process that forked while the last
    pass ran is found by the next one (a stopped process forks nothing).
    """
    stopped: set[int] = set()
    deadline = time.monotonic() + patience
    while True:
        left = running(root, spared)
        if not left:
            return stopped, True
        if time.monotonic() > deadline:
            return stopped, False
        for pid in left:
            try:
                _kill(pid, signal.SIGSTOP)
                stopped.add(pid)
            except OSError:
                pass
        time.sleep(0.002)


def thaw(stopped: set[int]) -> None:
    for pid in stopped:
        try:
            _kill(pid, signal.SIGCONT)
        except OSError:
            pass


def _credentials(ancillary) -> int | None:
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS and len(data) >= 12:
            return struct.unpack("iII", data[:12])[0]
    return None


def ask(channel: int, deadline: float, timeout: float = 15.0) -> bool:
    """In the guarded child: ask the warden on ``channel`` to freeze everything else; whether it says it did."""
    sock = socket.socket(fileno=os.dup(channel))
    try:
        sock.sendall(FREEZE + b" " + str(round(max(deadline, 0.0), 3)).encode())
        ready, _, _ = select.select([sock], [], [], timeout)
        return bool(ready) and sock.recv(64) == FROZEN
    except OSError:
        return False
    finally:
        sock.close()


def warden(child: int, channel: socket.socket, event_fd: int | None) -> None:
    """The loop of the warden (see the module's docstring); ends the process when ``child`` (the harness) ends."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)  # no ptrace, no /proc/<pid>/mem of the warden by the sandbox user
    channel.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    me = _getpid()
    holder: tuple[int, int, float | None] | None = None  # (pid, pidfd, deadline)
    stopped: set[int] = set()
    open_channel = True

    def release() -> None:
        nonlocal holder, stopped
        if holder is not None:
            _close(holder[1])
        holder = None
        thaw(stopped)
        stopped = set()

    while True:
        watched = ([channel] if open_channel else []) + ([holder[1]] if holder else [])
        try:
            ready, _, _ = select.select(watched, [], [], 0.2)
        except InterruptedError:
            ready = []
        while True:  # reap: the harness, and orphans whose parent ended (this process is their subreaper)
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                pid = 0
            if pid == 0:
                break
            if pid == child:
                release()
                code = os.waitstatus_to_exitcode(status)
                if me == 1 and event_fd is not None:  # the zygote's intermediate process reads this first
                    try:  # with the CPU seconds the harness used: was its SIGKILL the CPU limit's?
                        os.write(event_fd, (json.dumps({EXIT: code, CPU: round(usage.ru_utime + usage.ru_stime, 2)})
                                            + "\n").encode())
                    except OSError:
                        pass
                if code < 0:  # end as the harness ended (SIGKILL and SIGSTOP have no handler to reset)
                    try:
                        signal.signal(-code, signal.SIG_DFL)
                    except (OSError, ValueError):
                        pass
                    _kill(me, -code)
                os._exit(code if code >= 0 else 128 - code)
        if holder is not None and (holder[1] in ready or (holder[2] and time.monotonic() > holder[2])):
            if holder[1] not in ready:  # past its cell's time: the stopped harness cannot end it, so this does
                try:
                    _kill(holder[0], signal.SIGKILL)
                except OSError:
                    pass
            release()
        if open_channel and channel in ready:
            try:
                message, ancillary, _, _ = channel.recvmsg(64, socket.CMSG_SPACE(12))
            except OSError:
                message, ancillary = b"", []
            if not message:
                open_channel = False
                continue
            asker = _credentials(ancillary)
            if not message.startswith(FREEZE) or asker is None or asker == me:
                continue
            release()
            try:
                seconds = float(message[len(FREEZE):].strip() or 0)
                pidfd = os.pidfd_open(asker)
            except (ValueError, OSError):
                channel.send(FAILED)
                continue
            holder = (asker, pidfd, time.monotonic() + seconds if seconds > 0 else None)
            stopped, done = freeze(me, {asker})
            channel.send(FROZEN if done else FAILED)


def start(event_fd: int, close: tuple[int, ...] = ()) -> tuple[int, int] | None:
    """In the harness, before any student code: fork; the parent becomes the warden and never returns.

    Returns ``(channel_fd, warden_pid)`` in the child (the harness), or ``None`` where no warden can run
    (no ``/proc``). The warden closes ``close`` (the command channel: it reads no command) and writes the
    harness's end on ``event_fd`` when it is PID 1 of the sandbox (see :func:`warden`).
    """
    if not os.path.isdir("/proc/self/task"):
        return None
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    warden_pid = _getpid()
    pid = os.fork()
    if pid == 0:
        ours.close()
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG: the warden gone, the harness goes too
        if os.getppid() != warden_pid:
            os._exit(70)
        return theirs.detach(), warden_pid
    try:
        theirs.close()
        for fd in close:
            os.close(fd)
        warden(pid, ours, event_fd)
    finally:
        os._exit(70)
