"""A sandboxed Python process for one submission: namespaces, resource limits, its own user.

Two ways to build the same sandbox (``--isolation``):

* ``zygote`` (default): a pre-loaded process (:mod:`grader.sandbox.zygote`) forks a child per
  submission, which builds the sandbox itself with the kernel calls bubblewrap makes;
  torch is imported once per batch instead of once per submission;
* ``bwrap``: a fresh Debian ``bubblewrap`` process per submission (:func:`bwrap_command`),
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
* an unprivileged user id of its own (``61000 + slot``, one per concurrent worker),
  no capabilities and ``no_new_privs``, so the limits below bite;
* resource limits (``setrlimit``, as ``prlimit`` sets them): address space (memory), CPU
  seconds, size of any file written, number of processes, open files, no core dumps.

Both need root (to create the namespaces and switch to the sandbox user);
:func:`available` says whether the chosen one can run here.
"""

from __future__ import annotations

import json
import os
import resource
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ..authoring.config import ROOT

HARNESS = Path(__file__).with_name("harness.py")
SANDBOX_HOME = "/submission"
FIRST_UID = 61000
UID_SPAN = 32 * 1024  # sandbox users are FIRST_UID ... FIRST_UID + UID_SPAN - 1


def uid_base() -> int:
    """The first sandbox uid of this grader run: concurrent runs (two instructors, CI) get disjoint users."""
    return FIRST_UID + 32 * (os.getpid() % 1024)


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed process (and its children)."""

    memory_bytes: int = 4 << 30  # address space; torch alone maps about 1.5 GiB
    file_bytes: int = 64 << 20  # any single file written
    processes: int = 64  # processes and threads of the sandbox user
    open_files: int = 512
    cpu_seconds: int = 1200


def _venv_and_python() -> list[Path]:
    """Folders that must be visible for ``sys.executable`` and its packages to work."""
    paths = {Path(sys.prefix), Path(sys.base_prefix), Path(os.path.realpath(sys.executable)).parent.parent}
    return sorted(p for p in paths if p.exists() and not str(p).startswith("/usr"))


def _data_cache() -> Path | None:
    try:
        from helpers.data import cache_dir, load_digits

        load_digits()  # parse once here (read-only inside the sandbox)
        return cache_dir() if cache_dir().is_dir() else None
    except Exception:  # noqa: BLE001 - no cache only means slower data loading in the sandbox
        return None


def _dirs_for(path: Path) -> list[str]:
    """``--dir`` arguments creating the parents of ``path`` world-readable (bwrap makes them 0700)."""
    args = []
    for parent in reversed(path.parents):
        if str(parent) not in ("/", "/tmp"):  # /tmp is the sandbox's private tmpfs (mode 1777)
            args += ["--perms", "0755", "--dir", str(parent)]
    return args


def bwrap_command(workdir: Path, slot: int, argv: list[str], *, cache: Path | None,
                  root: Path = ROOT, uid: int | None = None) -> list[str]:
    """The ``bwrap ... setpriv ... python`` command line for one sandboxed process."""
    uid = str(FIRST_UID + slot if uid is None else uid)
    cmd = ["bwrap", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
           "--die-with-parent", "--new-session", "--hostname", "grading",
           "--perms", "0755", "--tmpfs", "/",
           # The private /tmp comes first: a course checked out under /tmp is then bound on top of it.
           "--perms", "1777", "--tmpfs", "/tmp"]
    for sys_dir in ("/usr", "/etc/alternatives", "/etc/ld.so.cache", "/etc/localtime"):
        if os.path.exists(sys_dir):
            cmd += ["--ro-bind", sys_dir, sys_dir]
    for link in ("bin", "lib", "lib64", "sbin"):
        target = Path("/") / link
        if target.is_symlink():
            cmd += ["--symlink", os.readlink(target), str(target)]
        elif target.is_dir():
            cmd += ["--ro-bind", str(target), str(target)]
    for path in [*_venv_and_python(), root / "helpers"]:
        cmd += _dirs_for(path) + ["--ro-bind", str(path), str(path)]
    cmd += ["--perms", "0755", "--dir", "/opt/grader", "--ro-bind", str(HARNESS), "/opt/grader/harness.py"]
    env = sandbox_env(cache)
    if cache is not None:
        cmd += ["--perms", "0755", "--dir", "/opt/data", "--ro-bind", str(cache), "/opt/data/conv-course"]
    cmd += ["--proc", "/proc", "--dev", "/dev",
            "--bind", str(workdir), SANDBOX_HOME, "--chdir", SANDBOX_HOME, "--clearenv"]
    for key, value in env.items():
        cmd += ["--setenv", key, value]
    cmd += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--no-new-privs",
            "--inh-caps=-all", "--bounding-set=-all", "--", *argv]
    return cmd


def _die_with_parent() -> None:
    """In a child before ``exec``: SIGKILL when the grader's thread that started it ends (``kill -9`` included)."""
    import ctypes

    ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG


def _limit(limits: Limits, cgroups: list[str] = ()):
    def apply() -> None:
        _die_with_parent()
        join_cgroups(list(cgroups))
        for which, value in ((resource.RLIMIT_AS, limits.memory_bytes), (resource.RLIMIT_FSIZE, limits.file_bytes),
                             (resource.RLIMIT_NPROC, limits.processes), (resource.RLIMIT_NOFILE, limits.open_files),
                             (resource.RLIMIT_CPU, limits.cpu_seconds), (resource.RLIMIT_CORE, 0)):
            resource.setrlimit(which, (value, value))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a too-big write fails (EFBIG) instead of killing
    return apply


ISOLATIONS = ("zygote", "bwrap", "none")
CGROUP_ROOT = Path("/sys/fs/cgroup")


class Cgroups:
    """One control group per worker slot (cgroup v1: cpu, memory, pids), when the host allows it.

    Resource limits (``setrlimit``) are per process; a fork bomb multiplies them. A group
    per slot bounds the sandbox as a whole: its processes share one slot's CPU (two slots
    get equal shares however many processes each runs), one memory limit and one
    process count. Where cgroups cannot be created (no v1 hierarchy, read-only
    ``/sys/fs/cgroup``) ``self.missing`` says so and only the per-process limits apply.
    """

    CONTROLLERS = ("cpu", "memory", "pids")

    def __init__(self, slots: int, limits: Limits) -> None:
        self.paths: dict[int, list[Path]] = {}
        self.missing: str | None = None
        tag = f"conv-course-grader-{os.getpid()}"
        try:
            for slot in range(slots):
                groups = []
                for controller in self.CONTROLLERS:
                    path = CGROUP_ROOT / controller / tag / f"slot{slot}"
                    path.mkdir(parents=True, exist_ok=True)
                    groups.append(path)
                (CGROUP_ROOT / "memory" / tag / f"slot{slot}" / "memory.limit_in_bytes").write_text(
                    str(limits.memory_bytes))
                (CGROUP_ROOT / "pids" / tag / f"slot{slot}" / "pids.max").write_text(str(limits.processes))
                self.paths[slot] = groups
        except OSError as exc:
            self.missing = f"no control groups ({exc.strerror}: {exc.filename}); per-process limits only"
            self.close()
            self.paths = {}
        self.tag = tag

    def procs_files(self, slot: int) -> list[str]:
        return [str(p / "cgroup.procs") for p in self.paths.get(slot, [])]

    def close(self) -> None:
        for groups in self.paths.values():
            for path in groups:
                for _ in range(50):  # the kernel empties a group a moment after its last process ends
                    try:
                        path.rmdir()
                        break
                    except FileNotFoundError:
                        break
                    except OSError:
                        time.sleep(0.1)
        for controller in self.CONTROLLERS:
            try:
                (CGROUP_ROOT / controller / f"conv-course-grader-{os.getpid()}").rmdir()
            except OSError:
                pass


def join_cgroups(files: list[str]) -> None:
    """Move the calling process into the given groups (children follow)."""
    for name in files:
        with open(name, "w") as handle:
            handle.write(str(os.getpid()))


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

    The sandbox users belong to this grader run alone (see :func:`uid_base`), so nothing
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


def available(isolation: str = "zygote") -> str | None:
    """``None`` when sandboxed grading can run here, else why not (in words)."""
    if isolation == "none":
        return None
    if os.geteuid() != 0:
        return "the sandbox switches to a user of its own and needs to run as root"
    if isolation == "zygote":
        from .zygote import supported

        return supported()
    for tool, package in (("bwrap", "bubblewrap"), ("setpriv", "util-linux")):
        if shutil.which(tool) is None:
            return f"`{tool}` is missing (apt-get install {package})"
    probe = subprocess.run(["bwrap", "--unshare-pid", "--unshare-net", "--ro-bind", "/", "/", "--proc", "/proc",
                            "--dev", "/dev", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"bubblewrap cannot create namespaces here: {probe.stderr.strip()[:200]}"
    return None


def sandbox_env(cache: Path | None) -> dict[str, str]:
    """The whole environment of the student's process."""
    env = {"HOME": SANDBOX_HOME, "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "LANG": "C.UTF-8",
           "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MPLBACKEND": "Agg",
           "MPLCONFIGDIR": "/tmp/matplotlib", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0",
           "XDG_CACHE_HOME": "/tmp/cache", "CONV_COURSE_CACHE": "/tmp/cache/conv-course",
           # As under nbgrader: explorers build nothing and training cells use their small budget.
           "NBGRADER_EXECUTION": "autograde"}
    if cache is not None:
        env["CONV_COURSE_CACHE"] = "/opt/data/conv-course"
    return env


class Zygote:
    """The pre-loaded process that forks every sandboxed harness (see :mod:`grader.sandbox.zygote`)."""

    def __init__(self, cache: Path | None = None) -> None:
        import threading

        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        # A minimal environment: /proc/<pid>/environ of every forked sandbox shows the zygote's,
        # so nothing of the instructor's environment (tokens, paths) is handed down.
        env = {**sandbox_env(None), "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/nonexistent",
               "CONV_COURSE_CACHE": str(cache) if cache else "/nonexistent/conv-course"}
        self.proc = subprocess.Popen([sys.executable, "-I", "-m", "grader.sandbox.zygote", str(theirs.fileno())],
                                     pass_fds=(theirs.fileno(),), env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        theirs.close()
        self.sock = ours
        self.lock = threading.Lock()
        self.sock.settimeout(300)
        try:
            hello = self.sock.recv(1 << 16)
        except OSError:
            hello = b""
        if not hello:
            self.close()
            raise RuntimeError("the grader's zygote process could not start")

    def spawn(self, spec: dict, fds: tuple[int, int]) -> int:
        with self.lock:
            socket.send_fds(self.sock, [json.dumps(spec).encode()], list(fds))
            reply = self.sock.recv(1 << 16)
        if not reply:
            raise RuntimeError("the grader's zygote process ended")
        return int(json.loads(reply)["pid"])

    def close(self) -> None:
        self.sock.close()
        self.proc.kill()
        self.proc.wait()


def zygote_spec(workdir: Path, slot: int, chapter: str, limits: Limits, cache: Path | None,
                root: Path = ROOT, cgroups: list[str] = (), uid: int | None = None) -> dict:
    read_only = ["/usr", *[p for p in ("/etc/alternatives", "/etc/ld.so.cache", "/etc/localtime")
                          if os.path.exists(p)], *[str(p) for p in _venv_and_python()], str(root / "helpers")]
    symlinks = {}
    for link in ("/bin", "/lib", "/lib64", "/sbin"):
        if os.path.islink(link):
            symlinks[link] = os.readlink(link)
        elif os.path.isdir(link):
            read_only.append(link)
    return {"mountpoint": str(workdir.parent / f"{workdir.name}-root"), "workdir": str(workdir),
            "home": SANDBOX_HOME, "chapter": chapter, "uid": FIRST_UID + slot if uid is None else uid,
            "read_only": read_only,
            "read_only_at": {"/opt/data/conv-course": str(cache)} if cache else {}, "symlinks": symlinks,
            "tmp_bytes": 256 << 20, "env": sandbox_env(cache), "cgroups": list(cgroups),
            "limits": {"RLIMIT_AS": limits.memory_bytes, "RLIMIT_FSIZE": limits.file_bytes,
                       "RLIMIT_NPROC": limits.processes, "RLIMIT_NOFILE": limits.open_files,
                       "RLIMIT_CPU": limits.cpu_seconds, "RLIMIT_CORE": 0}}


_NO_SEED = object()


class Died(Exception):
    """The sandboxed process ended (or was killed) before answering."""

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause


def _exit_cause(code: int | None) -> str:
    if code is None:
        return "its process ended"
    if code < 0:
        name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
        return f"its process was killed by {name}" + (" (CPU time limit)" if name == "SIGXCPU" else "")
    return f"it ended the Python process (exit code {code})"


class Sandbox:
    """One sandboxed harness process for one submission; restartable.

    ``isolation``: ``"zygote"`` (default; forked from :class:`Zygote`, sandbox built by
    :mod:`grader.sandbox.zygote`), ``"bwrap"`` (a fresh ``bwrap`` process, see :func:`bwrap_command`)
    or ``"none"`` (a plain subprocess: only for notebooks you trust).
    """

    def __init__(self, workdir: Path, chapter: str, slot: int, *, limits: Limits = Limits(),
                 cache: Path | None = None, isolation: str = "zygote", zygote: Zygote | None = None,
                 root: Path = ROOT, cgroups: list[str] = (), uid: int | None = None) -> None:
        self.workdir, self.chapter, self.slot, self.limits = workdir, chapter, slot, limits
        self.uid = FIRST_UID + slot if uid is None else uid
        self.cgroups = list(cgroups)
        self.cache, self.isolation, self.zygote, self.root = cache, isolation, zygote, root
        self.proc: subprocess.Popen | None = None
        self.pid1: int | None = None
        self.pid: int | None = None
        self.killed = False  # by kill(): nobody waits for how it ended
        self.startup_seconds = 0.0

    # -- lifetime ----------------------------------------------------------
    def start(self, timeout: float = 120) -> None:
        cmd_r, cmd_w = os.pipe()
        ev_r, ev_w = os.pipe()
        if self.isolation == "zygote":
            assert self.zygote is not None
            try:
                self.pid = self.zygote.spawn(zygote_spec(self.workdir, self.slot, self.chapter, self.limits,
                                                         self.cache, self.root, self.cgroups, self.uid),
                                             (cmd_r, ev_w))
            finally:
                os.close(cmd_r)
                os.close(ev_w)
        else:
            outdir = SANDBOX_HOME + "/outcomes" if self.isolation == "bwrap" else str(self.workdir / "outcomes")
            script = "/opt/grader/harness.py" if self.isolation == "bwrap" else str(HARNESS)
            argv = [sys.executable, "-I", script, self.chapter, outdir, str(cmd_r), str(ev_w)]
            if self.isolation == "bwrap":
                argv = bwrap_command(self.workdir, self.slot, argv, cache=self.cache, root=self.root, uid=self.uid)
                env, preexec = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}, _limit(self.limits, self.cgroups)
            else:
                from ..authoring.execute import kernel_env

                env, preexec = kernel_env({"MPLBACKEND": "Agg"}), _die_with_parent
            self.proc = subprocess.Popen(argv, cwd=self.workdir, env=env, pass_fds=(cmd_r, ev_w),
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL, preexec_fn=preexec, start_new_session=True)
            self.pid = self.proc.pid
            os.close(cmd_r)
            os.close(ev_w)
        self._cmd = os.fdopen(cmd_w, "w", encoding="utf-8", buffering=1)
        self._events = ev_r
        self._buffer = b""
        self._exit: int | None = None
        self.pid1: int | None = None  # zygote: PID 1 of the sandbox's namespace, as the host sees it
        hello = self._read(timeout)
        if "setup_failed" in hello:
            self.stop()
            raise Died(f"the sandbox could not be built: {hello['setup_failed']}")
        self.startup_seconds = float(hello.get("seconds", 0))

    def kill(self) -> None:
        """Kill every process of the sandbox now, from any thread; the thread running it then sees it die.

        Only signals: the pipes stay open for that thread, which stops the sandbox as usual.
        """
        self.killed = True
        proc, pid, pid1 = self.proc, self.pid, self.pid1
        targets = []
        if proc is not None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            targets.append(proc.pid)
        else:
            targets += [p for p in (pid1 if self._owned(pid1) else None, pid) if p is not None]
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
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.proc.kill()
            self.proc.wait()
        else:
            # PID 1 of the namespace first (the kernel then ends every process in it), then the
            # intermediate process (whose death would take PID 1 with it anyway: PDEATHSIG).
            for pid in (self.pid1 if self._exit is None and self._owned(self.pid1) else None, self.pid):
                if pid is not None:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
        self.proc, self.pid = None, None

    def _owned(self, pid: int | None) -> bool:
        """Whether ``pid`` is still a process of this sandbox's user (never signal a reused pid)."""
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except (OSError, TypeError):
            return False
        uids = next((line.split()[1:] for line in status.splitlines() if line.startswith("Uid:")), [])
        return str(self.uid) in uids

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
        seed = command.pop("seed", _NO_SEED)
        if seed is not _NO_SEED:
            command["sealed"] = True
        try:
            self._cmd.write(json.dumps({**command, "timeout": timeout}) + "\n")
            self._cmd.flush()
        except (BrokenPipeError, OSError, ValueError):
            raise self._dead() from None
        return self._read(timeout + grace, seed)

    def _read(self, timeout: float, seed: object = _NO_SEED) -> dict:
        deadline = time.monotonic() + timeout
        pending = [seed] if seed is not _NO_SEED else []
        while True:
            message = self._read_one(deadline, timeout)
            if "pid1" in message and self.isolation == "zygote" and self.pid1 is None:
                self.pid1 = message["pid1"] if isinstance(message["pid1"], int) else None
                continue
            if "need_seed" in message:
                if pending:  # once per command: a second request (or one nobody should make) gets nothing
                    try:
                        self._cmd.write(json.dumps({"seed": pending.pop()}) + "\n")
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
        if "exit" in message and self.isolation == "zygote":
            self._exit = message["exit"] if isinstance(message["exit"], int) else None
            raise self._dead()
        return message

    def _dead(self) -> Died:
        code = self._exit
        if self.proc is not None:
            try:
                code = self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                code = None
        elif code is None and self.isolation == "zygote" and not self.killed:
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
                    if isinstance(message, dict) and isinstance(message.get("exit"), int):
                        code = message["exit"]
                except ValueError:
                    continue
        self.stop()
        return Died(_exit_cause(code))
