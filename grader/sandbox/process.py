"""A sandboxed Python process for one submission: namespaces, resource limits, its own user.

This module is the :class:`Sandbox` (one harness process, its command channel, its restarts) and
its launchers, one per isolation; the walls it is built with are :mod:`grader.sandbox.walls`, its
users :mod:`grader.sandbox.users`, its control groups :mod:`grader.sandbox.cgroups`, how it ends
:mod:`grader.sandbox.reaping`, the zygote it is forked from :mod:`grader.sandbox.client`.

Two ways to build the same sandbox (``--isolation``):

* ``zygote`` (default): a pre-loaded process (:mod:`grader.sandbox.zygote`) forks a child per
  submission, which builds the sandbox itself with the kernel calls bubblewrap makes;
  torch is imported once per batch instead of once per submission;
* ``bwrap``: a fresh Debian ``bubblewrap`` process per submission (:func:`grader.sandbox.walls.bwrap_command`),
  dropping to the sandbox user with util-linux ``setpriv``; slower, no code of ours
  between the student and the kernel's namespaces.

What the student's code gets either way:

* a fresh, read-only root (a tmpfs) holding only ``/usr``, the Python install, the
  course's virtualenv and ``helpers/`` (read-only, at their usual paths, so imports work),
  the data cache (read-only) and the harness; **not** the course root, its ``solutions/``,
  ``notebooks/``, ``.git``, the submissions folder or anything the grader writes;
* one writable folder, ``/submission``, holding only that student's copy and the
  outcome files, plus a private ``/tmp``;
* new PID, network, IPC and UTS namespaces: no network at all (not even the host's
  loopback), no view of other processes, and when the sandbox ends every process in
  it ends too (PID 1 of the namespace taking the rest with it);
* an unprivileged user id of its own (one per concurrent worker, from a block of
  :data:`MAX_WORKERS` uids that each grader run takes, see :func:`grader.sandbox.users.uid_base`),
  no capabilities and ``no_new_privs``, so the limits below bite;
* resource limits (``setrlimit``, as ``prlimit`` sets them): address space (memory), CPU
  seconds, size of any file written, number of processes, open files, no core dumps.

As root, the sandbox user is a real uid of its own. Without root, both build the same walls
inside an unprivileged user namespace (``bwrap --unshare-user``; the zygote's child calls
``unshare(CLONE_NEWUSER)``), where the sandbox's uid is the grader's own user mapped to one
id, with every capability dropped; what is missing then (user namespaces off, a control
group per slot) is said by :func:`available` and in the report. :func:`available` says
whether the chosen one can run here, and if not, how to fix it.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from helpers.protocol import CPU, EXIT, NEED_SEED, OUTCOMES_DIR, PID1, SEALED, SEED, SETUP_FAILED, SIGNALS, TIMEOUT

from .client import Zygote
from .reaping import Died, ended_from_outside, exit_cause
from .users import FIRST_UID
from .walls import (HARNESS, SANDBOX_HOME, Limits, bwrap_command, die_with_parent, limited, plain_spec,
                    unsandboxed_env, zygote_spec)

#: How the sandbox is built (see :class:`Sandbox`); "none" is no sandbox at all.
ISOLATIONS = ("zygote", "bwrap", "none")


def available(isolation: str = "zygote") -> str | None:
    """``None`` when sandboxed grading can run here, else why not (in words)."""
    if isolation == "none":
        return None
    if isolation == "zygote":
        from .zygote import supported

        return supported()
    from .zygote import rootless, userns_problem

    why = userns_problem() if rootless() else None
    if why:
        return why
    for tool, package in (("bwrap", "bubblewrap"), ("setpriv", "util-linux"))[:1 if rootless() else 2]:
        if shutil.which(tool) is None:
            return f"`{tool}` is missing (apt-get install {package})"
    probe = subprocess.run(["bwrap", *(["--unshare-user"] if rootless() else []), "--unshare-pid", "--unshare-net",
                            "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "true"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        return f"bubblewrap cannot create namespaces here: {probe.stderr.strip()[:200]}"
    return None


#: The packages a sandbox's interpreter imports from the course (the harness and checks; the zygote).
COURSE_PACKAGES = ("helpers", "grader")


def course_import_problem(root: Path, python: str | None = None) -> str | None:
    """``None`` when ``python -I`` (as every sandbox and zygote starts) imports the course from ``root``.

    Otherwise why not, in words, naming the interpreter and the checkout it imports instead: the
    virtualenv's editable install of another checkout (``pip install -e`` run there) would make every
    submission fail with a grading process that cannot start, or grade with that checkout's exercises.
    """
    python = python or sys.executable
    code = "; ".join(f"import {name}; print({name}.__file__)" for name in COURSE_PACKAGES)
    try:
        probe = subprocess.run([python, "-I", "-c", code], capture_output=True, text=True, timeout=120,
                               stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"the interpreter {python} could not be run to import the course ({type(exc).__name__})"
    fix = f"run `{python} -m pip install -e {root}` (the course's setup does) so that it imports this checkout"
    if probe.returncode != 0:
        said = [line.strip() for line in probe.stderr.splitlines() if line.strip()]
        return (f"the interpreter {python} cannot import the course ({said[-1] if said else 'no reason given'}): "
                f"{fix}")
    found = [Path(line.strip()).resolve().parent for line in probe.stdout.splitlines() if line.strip()]
    for name, where in zip(COURSE_PACKAGES, found):
        if where != (root / name).resolve():
            return (f"the interpreter {python} imports the course from another checkout, {where.parent}, not from "
                    f"{root}, the one being graded (its virtualenv's editable install points there): {fix}, "
                    f"or grade from {where.parent}")
    return None


_NO_SEED = object()


class Launcher:
    """How one isolation starts a sandbox's harness process and ends it; the :class:`Sandbox` keeps the rest.

    ``walled``: the harness runs behind the walls, as a sandbox user of its own (else as the grader's
    user); ``forked``: forked by the zygote (the box holds its pid, and PID 1 of its namespace once
    the harness reports it), else a subprocess of the grader (the box holds its ``Popen``).
    """

    walled = True
    forked = False

    def launch(self, box: "Sandbox", cmd_r: int, ev_w: int) -> None:
        raise NotImplementedError

    def targets(self, box: "Sandbox") -> list[int]:
        """The pids to SIGKILL to end the sandbox now, from any thread (:meth:`Sandbox.kill`)."""
        raise NotImplementedError

    def end(self, box: "Sandbox") -> None:
        """End every process of the sandbox (:meth:`Sandbox.stop`, its channel already closed)."""
        raise NotImplementedError


class Forked(Launcher):
    """A harness the zygote forks (:class:`~grader.sandbox.client.Zygote`), from the spec of :meth:`spec`."""

    forked = True

    def spec(self, box: "Sandbox") -> dict:
        raise NotImplementedError

    def launch(self, box: "Sandbox", cmd_r: int, ev_w: int) -> None:
        box.pid = box.zygote.spawn(self.spec(box), (cmd_r, ev_w))

    def targets(self, box: "Sandbox") -> list[int]:
        pid, pid1 = box.pid, box.pid1
        return [p for p in (pid1 if box.owned(pid1) else None, pid) if p is not None]

    def end(self, box: "Sandbox") -> None:
        # PID 1 of the namespace first (the kernel then ends every process in it), then the
        # intermediate process (whose death would take PID 1 with it anyway: PDEATHSIG).
        pid1 = box.pid1 if box._exit is None and box.owned(box.pid1) else None
        self.end_group(pid1)
        for pid in (pid1, box.pid):
            if pid is not None:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def end_group(self, pid1: int | None) -> None:
        """Behind the walls, the namespace ends with its PID 1: nothing more to do."""


class ZygoteLauncher(Forked):
    """``--isolation zygote``: the zygote's child builds the walls itself (:func:`~.walls.zygote_spec`)."""

    def spec(self, box: "Sandbox") -> dict:
        return zygote_spec(box.workdir, box.slot, box.chapter, box.limits, box.cache, box.root, box.cgroups, box.uid)


class ForkedPlain(Forked):
    """``--isolation none`` with a zygote: no walls (:func:`~.walls.plain_spec`); no namespace either, so
    the harness's session is ended as a group."""

    walled = False

    def spec(self, box: "Sandbox") -> dict:
        return plain_spec(box.workdir, box.chapter)

    def end_group(self, pid1: int | None) -> None:
        if pid1 is not None:
            try:
                os.killpg(pid1, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


class Spawned(Launcher):
    """A harness started as a subprocess of the grader, in a session of its own."""

    def argv(self, box: "Sandbox", cmd_r: int, ev_w: int) -> list[str]:
        raise NotImplementedError

    def environment(self, box: "Sandbox") -> dict[str, str]:
        raise NotImplementedError

    def preexec(self, box: "Sandbox"):
        raise NotImplementedError

    def launch(self, box: "Sandbox", cmd_r: int, ev_w: int) -> None:
        box.proc = subprocess.Popen(self.argv(box, cmd_r, ev_w), cwd=box.workdir, env=self.environment(box),
                                    pass_fds=(cmd_r, ev_w), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, preexec_fn=self.preexec(box), start_new_session=True)
        box.pid = box.proc.pid

    def targets(self, box: "Sandbox") -> list[int]:
        proc = box.proc
        if proc is None:
            return []
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        return [proc.pid]

    def end(self, box: "Sandbox") -> None:
        try:
            os.killpg(box.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        box.proc.kill()
        box.proc.wait()


class BwrapLauncher(Spawned):
    """``--isolation bwrap``: a fresh bubblewrap process per sandbox (:func:`~.walls.bwrap_command`)."""

    def argv(self, box: "Sandbox", cmd_r: int, ev_w: int) -> list[str]:
        harness = [sys.executable, "-I", "/opt/grader/harness.py", box.chapter, f"{SANDBOX_HOME}/{OUTCOMES_DIR}",
                   str(cmd_r), str(ev_w)]
        return bwrap_command(box.workdir, box.slot, harness, cache=box.cache, root=box.root, uid=box.uid)

    def environment(self, box: "Sandbox") -> dict[str, str]:
        return {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}

    def preexec(self, box: "Sandbox"):
        return limited(box.limits, box.cgroups)


class PlainLauncher(Spawned):
    """``--isolation none`` without a zygote: the harness as a plain subprocess, in the grader's environment."""

    walled = False

    def argv(self, box: "Sandbox", cmd_r: int, ev_w: int) -> list[str]:
        return [sys.executable, "-I", str(HARNESS), box.chapter, str(box.workdir / OUTCOMES_DIR), str(cmd_r), str(ev_w)]

    def environment(self, box: "Sandbox") -> dict[str, str]:
        return unsandboxed_env(os.environ if box.env is None else box.env)

    def preexec(self, box: "Sandbox"):
        return die_with_parent


#: The launcher of each isolation: forked by a zygote when the batch has one, else spawned.
FORKED = {"zygote": ZygoteLauncher, "none": ForkedPlain}
SPAWNED = {"bwrap": BwrapLauncher, "none": PlainLauncher}


def launcher(isolation: str, zygote: Zygote | None) -> Launcher:
    """The :class:`Launcher` of ``isolation``: forked by ``zygote`` when one is given, else spawned."""
    kinds = FORKED if zygote is not None else SPAWNED
    if isolation not in kinds:
        raise ValueError(f"isolation {isolation!r} cannot be started {'by' if zygote else 'without'} a zygote")
    return kinds[isolation]()


class Sandbox:
    """One sandboxed harness process for one submission; restartable.

    ``isolation``: ``"zygote"`` (default; forked from :class:`~grader.sandbox.client.Zygote`, sandbox
    built by :mod:`grader.sandbox.zygote`), ``"bwrap"`` (a fresh ``bwrap`` process, see
    :func:`~grader.sandbox.walls.bwrap_command`) or ``"none"`` (no sandbox, only for notebooks you
    trust: forked from an unsandboxed zygote when one is given, else a plain subprocess); the
    :class:`Launcher` of that isolation starts and ends the process. ``root``: the course root
    (its ``helpers/`` is what the sandbox sees); ``env``: the environment of an unsandboxed harness
    started without a zygote (the grader's own, with the course's kernel settings).
    """

    def __init__(self, workdir: Path, chapter: str, slot: int, *, root: Path, limits: Limits = Limits(),
                 cache: Path | None = None, isolation: str = "zygote", zygote: Zygote | None = None,
                 cgroups: list[str] = (), uid: int | None = None, env: Mapping[str, str] | None = None) -> None:
        self.workdir, self.chapter, self.slot, self.limits = workdir, chapter, slot, limits
        self.launcher = launcher(isolation, zygote)
        self.uid = (FIRST_UID + slot if uid is None else uid) if self.launcher.walled else os.geteuid()
        #: the sandbox user as the host sees it: without root, the grader's own user (see zygote.rootless)
        self.host_uid = self.uid if os.geteuid() == 0 else os.geteuid()
        self.cgroups = list(cgroups)
        self.cache, self.isolation, self.zygote, self.root, self.env = cache, isolation, zygote, root, env
        self.proc: subprocess.Popen | None = None
        self.pid1: int | None = None
        self.pid: int | None = None
        self.killed = False  # by kill(): nobody waits for how it ended
        #: the learner's code used a way to send a signal or start a process (the harness says so, SIGNALS)
        self.signalled = False

    # -- lifetime ----------------------------------------------------------
    def start(self, timeout: float = 120) -> None:
        cmd_r, cmd_w = os.pipe()
        ev_r, ev_w = os.pipe()
        try:
            self.launcher.launch(self, cmd_r, ev_w)
        finally:
            os.close(cmd_r)
            os.close(ev_w)
        self._cmd = os.fdopen(cmd_w, "w", encoding="utf-8", buffering=1)
        self._events = ev_r
        self._buffer = b""
        self._exit: int | None = None
        self._cpu: float | None = None  # CPU seconds PID 1 used, as the zygote's child reports its end
        self.signalled = False
        self._oom_before = self._oom_kills()
        self.pid1: int | None = None  # zygote: PID 1 of the sandbox's namespace, as the host sees it
        hello = self._read(timeout)
        if SETUP_FAILED in hello:
            self.stop()
            raise Died(f"the sandbox could not be built: {hello[SETUP_FAILED]}")

    def kill(self) -> None:
        """Kill every process of the sandbox now, from any thread; the thread running it then sees it die.

        Only signals: the pipes stay open for that thread, which stops the sandbox as usual.
        """
        self.killed = True
        targets = self.launcher.targets(self)
        for target in targets:
            try:
                os.kill(target, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def stop(self) -> None:
        """End the sandbox and every process in it."""
        if self.pid is None:
            return
        for closer in (self._cmd.close, lambda: os.close(self._events)):
            try:
                closer()
            except OSError:
                pass
        self.launcher.end(self)
        self.proc, self.pid = None, None

    def owned(self, pid: int | None) -> bool:
        """Whether ``pid`` is still this sandbox's harness: its user, and a child of the process the zygote
        forked for it (never signal a reused pid)."""
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except (OSError, TypeError):
            return False
        fields = {line.split(":", 1)[0]: line.split()[1:] for line in status.splitlines() if ":" in line}
        return str(self.host_uid) in fields.get("Uid", []) and fields.get("PPid", [None])[0] == str(self.pid)

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- commands ----------------------------------------------------------
    def run(self, command: dict, timeout: float, grace: float = 5.0) -> dict:
        """Send one command; the reply, or :class:`Died` (the process is then stopped).

        A ``"seed"`` in a test command (the hidden cases' seed, from the course secret) is not
        sent with it: the sandbox gets it once, on request (``{"need_seed": true}``), so only the
        guarded process that draws the hidden cases ever holds it.
        """
        command = dict(command)
        seed = command.pop(SEED, _NO_SEED)
        if seed is not _NO_SEED:
            command[SEALED] = True
        try:
            self._cmd.write(json.dumps({**command, TIMEOUT: timeout}) + "\n")
            self._cmd.flush()
        except (BrokenPipeError, OSError, ValueError):
            raise self._dead() from None
        return self._read(timeout + grace, seed)

    def _read(self, timeout: float, seed: object = _NO_SEED) -> dict:
        deadline = time.monotonic() + timeout
        pending = [seed] if seed is not _NO_SEED else []
        while True:
            message = self._read_one(deadline, timeout)
            if PID1 in message and self.launcher.forked and self.pid1 is None:
                self.pid1 = message[PID1] if isinstance(message[PID1], int) else None
                continue
            if SIGNALS in message:
                self.signalled = True
                continue
            if NEED_SEED in message:
                if pending:  # once per command: a second request (or one nobody should make) gets nothing
                    try:
                        self._cmd.write(json.dumps({SEED: pending.pop()}) + "\n")
                        self._cmd.flush()
                    except (BrokenPipeError, OSError, ValueError):
                        raise self._dead() from None
                continue
            return message

    def _read_one(self, deadline: float, timeout: float) -> dict:
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                self.stop()
                raise Died(f"it ran past its {timeout:.0f} s limit and did not stop when interrupted; "
                           "it was killed")
            ready, _, _ = select.select([self._events], [], [], min(left, 1.0))
            if not ready:
                if self.proc is not None and self.proc.poll() is not None:
                    raise self._dead()
                continue
            chunk = os.read(self._events, 65536)
            if not chunk:
                raise self._dead()
            self._buffer += chunk
            if len(self._buffer) > 1 << 20:
                self.stop()
                raise Died("it wrote garbage on the grader's channel")
        line, self._buffer = self._buffer.split(b"\n", 1)
        try:
            message = json.loads(line)
            if not isinstance(message, dict):
                raise ValueError
        except ValueError:
            self.stop()
            raise Died("it wrote garbage on the grader's channel") from None
        if EXIT in message and self.launcher.forked:
            self._ended(message)
            raise self._dead()
        return message

    def _ended(self, message: dict) -> None:
        """The report of the harness's end (by the warden, PID 1, or else the zygote's child): its exit status and
        the CPU seconds it used."""
        self._exit = message[EXIT] if isinstance(message[EXIT], int) else None
        cpu = message.get(CPU)
        self._cpu = float(cpu) if isinstance(cpu, (int, float)) else None

    def _oom_kills(self) -> int | None:
        """Out-of-memory kills counted so far in this slot's memory control group (``None``: no such group)."""
        for procs in self.cgroups:
            if "/memory/" not in procs:
                continue
            try:
                for line in (Path(procs).parent / "memory.oom_control").read_text().splitlines():
                    if line.startswith("oom_kill "):
                        return int(line.split()[1])
            except (OSError, ValueError):
                return None
        return None

    def _dead(self) -> Died:
        code = self._exit
        if self.proc is not None:
            try:
                code = self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                code = None
        elif code is None and self.launcher.forked and not self.killed:
            # the intermediate process reports PID 1's end; wait briefly for it
            deadline = time.monotonic() + 3
            while b"\n" not in self._buffer and time.monotonic() < deadline:
                ready, _, _ = select.select([self._events], [], [], 0.2)
                if ready:
                    chunk = os.read(self._events, 65536)
                    if not chunk:
                        break
                    self._buffer += chunk
            for line in self._buffer.split(b"\n"):
                try:
                    message = json.loads(line)
                except ValueError:
                    continue
                if isinstance(message, dict) and SIGNALS in message:
                    self.signalled = True
                if isinstance(message, dict) and isinstance(message.get(EXIT), int):
                    self._ended(message)
                    code = self._exit
        self.stop()
        oom_after = self._oom_kills()
        oom = None not in (oom_after, self._oom_before) and oom_after > self._oom_before
        cpu_limit = self.limits.cpu_seconds
        outside = not self.killed and ended_from_outside(
            code, signalled=self.signalled, oom_killed=oom, cpu_seconds=self._cpu, cpu_limit=cpu_limit)
        used_cpu = self._cpu is not None and self._cpu >= cpu_limit - 1
        return Died(exit_cause(code, oom_killed=oom, cpu_limit=cpu_limit if used_cpu else None, outside=outside),
                    outside=outside)
