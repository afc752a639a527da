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
* an unprivileged user id of its own (one per concurrent worker, from a block of
  :data:`MAX_WORKERS` uids that each grader run takes, see :func:`uid_base`),
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

from helpers.protocol import NEED_SEED, OUTCOMES_DIR, SEALED, SEED, TIMEOUT
from helpers.grading import AUTOGRADE, NBGRADER_EXECUTION

from ..authoring.config import ROOT

HARNESS = Path(__file__).with_name("harness.py")
SANDBOX_HOME = "/submission"
FIRST_UID = 61000
#: Sandboxes of one grader run at once (workers); each has a uid of its own, so it is also the size of
#: the block of uids a run takes: block ``b`` is FIRST_UID + MAX_WORKERS * b onwards.
MAX_WORKERS = 32
#: Blocks of sandbox uids (FIRST_UID up to FIRST_UID + MAX_WORKERS * UID_BLOCKS - 1).
UID_BLOCKS = 1024
#: Where a grader run as root claims its block: a lock file per block, held while the process lives.
UID_LOCKS = Path("/run/conv-course-uids")
_block: tuple[int, int] | None = None  # (pid, block): a forked child claims a block of its own
_held: list[int] = []  # the claimed block's lock, open for the life of this process


def uid_base() -> int:
    """The first sandbox uid of this grader run: concurrent runs (two instructors, CI) get disjoint users.

    As root, the block of :data:`MAX_WORKERS` uids is claimed, from the one this process's pid picks
    (``pid % UID_BLOCKS``) onwards: a ``flock`` on its file in :data:`UID_LOCKS`, held until the process
    ends (however it ends). Two runs whose pids agree modulo 1024 therefore never share sandbox users,
    where one run's clean-up would end the other's sandboxes. Without root the sandbox users live in
    user namespaces of their own (their host uid is the grader's own user), so the pid's block is used.
    """
    global _block
    if _block is None or _block[0] != os.getpid():
        _block = (os.getpid(), _claim_block() if os.geteuid() == 0 else pid_block(os.getpid()))
    return block_base(_block[1])


def pid_block(pid: int) -> int:
    """The block of sandbox uids a grader process with this pid tries first."""
    return pid % UID_BLOCKS


def block_base(block: int) -> int:
    """The first sandbox uid of a block."""
    return FIRST_UID + MAX_WORKERS * block


def _claim_block() -> int:
    import fcntl

    UID_LOCKS.mkdir(mode=0o755, exist_ok=True)
    first = pid_block(os.getpid())
    for step in range(UID_BLOCKS):
        block = (first + step) % UID_BLOCKS
        lock = os.open(UID_LOCKS / f"{block}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # another grader run holds this block
            os.close(lock)
            continue
        _held.append(lock)
        return block
    raise RuntimeError(f"all {UID_BLOCKS} blocks of sandbox users are held by other grader runs ({UID_LOCKS})")


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed process (and its children)."""

    memory_bytes: int = 4 << 30  # address space; torch alone maps about 1.5 GiB
    file_bytes: int = 64 << 20  # any single file written
    processes: int = 64  # processes and threads of the sandbox user
    open_files: int = 512
    cpu_seconds: int = 1200

    def rlimits(self) -> dict[str, int]:
        """The limits as ``setrlimit`` takes them (``RLIMIT_*`` name: value), written once for both launchers."""
        return {"RLIMIT_AS": self.memory_bytes, "RLIMIT_FSIZE": self.file_bytes, "RLIMIT_NPROC": self.processes,
                "RLIMIT_NOFILE": self.open_files, "RLIMIT_CPU": self.cpu_seconds, "RLIMIT_CORE": 0}


@dataclass(frozen=True)
class MountPlan:
    """What the sandbox's fresh root holds, written once and rendered for bwrap or for the zygote.

    Read-only at their usual paths: ``system`` (``/usr`` and the few files of ``/etc`` Python
    needs), the top-level ``links`` (``/bin -> usr/bin``; a real directory is bound instead:
    ``None``), then ``course`` (the Python install, the virtualenv, ``helpers/``); ``data`` maps
    a path in the sandbox to a host folder bound read-only there. The submission's folder is
    the only writable one, at :data:`SANDBOX_HOME`, with a private ``/tmp``.
    """

    system: tuple[str, ...]
    links: dict[str, str | None]
    course: tuple[str, ...]
    data: dict[str, str]


def mount_plan(root: Path, cache: Path | None) -> MountPlan:
    system = tuple(p for p in ("/usr", "/etc/alternatives", "/etc/ld.so.cache", "/etc/localtime")
                   if os.path.exists(p))
    links = {link: os.readlink(link) if os.path.islink(link) else None
             for link in ("/bin", "/lib", "/lib64", "/sbin") if os.path.islink(link) or os.path.isdir(link)}
    course = (*(str(p) for p in _venv_and_python()), str(root / "helpers"))
    return MountPlan(system, links, course, {"/opt/data/conv-course": str(cache)} if cache else {})


def _venv_and_python() -> list[Path]:
    """Folders that must be visible for ``sys.executable`` and its packages to work."""
    paths = {Path(sys.prefix), Path(sys.base_prefix), Path(os.path.realpath(sys.executable)).parent.parent}
    return sorted(p for p in paths if p.exists() and not str(p).startswith("/usr"))


def _data_cache_dir() -> Path:
    """Where the course's data cache is (it may not exist yet)."""
    from helpers.data import cache_dir

    return cache_dir()


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
    plan = mount_plan(root, cache)
    for path in plan.system:
        cmd += ["--ro-bind", path, path]
    for link, target in plan.links.items():
        cmd += ["--symlink", target, link] if target is not None else ["--ro-bind", link, link]
    for path in plan.course:
        cmd += _dirs_for(Path(path)) + ["--ro-bind", path, path]
    cmd += ["--perms", "0755", "--dir", "/opt/grader", "--ro-bind", str(HARNESS), "/opt/grader/harness.py"]
    env = sandbox_env(cache)
    for inside, host in plan.data.items():
        cmd += ["--perms", "0755", "--dir", str(Path(inside).parent), "--ro-bind", host, inside]
    cmd += ["--proc", "/proc", "--dev", "/dev",
            "--bind", str(workdir), SANDBOX_HOME, "--chdir", SANDBOX_HOME, "--clearenv"]
    for key, value in env.items():
        cmd += ["--setenv", key, value]
    if os.geteuid() != 0:  # a user namespace whose one user is the grader's own, shown as ``uid``; no capabilities
        return cmd[:1] + ["--unshare-user", "--uid", uid, "--gid", uid, "--cap-drop", "ALL"] + cmd[1:] + argv
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
        for name, value in limits.rlimits().items():
            resource.setrlimit(getattr(resource, name), (value, value))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a too-big write fails (EFBIG) instead of killing
    return apply


#: How the sandbox is built (see :class:`Sandbox`); "none" is no sandbox at all.
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
    if isolation == "zygote":
        from .zygote import supported

        return supported()
    from .zygote import _userns_problem, rootless

    why = _userns_problem() if rootless() else None
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


def unsandboxed_env() -> dict[str, str]:
    """The environment of an unsandboxed harness: the grader's own, with the course's kernel settings.

    It is graded as in the sandbox: ``NBGRADER_EXECUTION`` is set there too, so a notebook that
    behaves differently under grading gets the same points from ``grader check`` as from the
    instructor's sandboxed grading.
    """
    from ..authoring.execute import kernel_env

    return kernel_env({"MPLBACKEND": "Agg", NBGRADER_EXECUTION: AUTOGRADE})


def sandbox_env(cache: Path | None) -> dict[str, str]:
    """The whole environment of the student's process."""
    env = {"HOME": SANDBOX_HOME, "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "LANG": "C.UTF-8",
           "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MPLBACKEND": "Agg",
           "MPLCONFIGDIR": "/tmp/matplotlib", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0",
           "XDG_CACHE_HOME": "/tmp/cache", "CONV_COURSE_CACHE": "/tmp/cache/conv-course",
           # As under nbgrader: explorers build nothing and training cells use their small budget.
           NBGRADER_EXECUTION: AUTOGRADE}
    if cache is not None:
        env["CONV_COURSE_CACHE"] = "/opt/data/conv-course"
    return env


#: Seconds the zygote may take to import torch and the course before it is given up.
ZYGOTE_START_TIMEOUT = 300


class Zygote:
    """The pre-loaded process that forks every harness (see :mod:`grader.sandbox.zygote`).

    Started at once, without waiting: it imports torch and the course while the grader
    reads the submissions. :meth:`wait` (or the first :meth:`spawn`) waits until it is ready.
    ``sandboxed=False`` serves unsandboxed harnesses (``--no-sandbox``, ``grader check``) with
    the grader's own environment and the course's kernel settings.
    """

    def __init__(self, cache: Path | None = None, *, sandboxed: bool = True) -> None:
        import threading

        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        if sandboxed:
            # A minimal environment: /proc/<pid>/environ of every forked sandbox shows the zygote's,
            # so nothing of the instructor's environment (tokens, paths) is handed down.
            env = {**sandbox_env(None), "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/nonexistent",
                   "CONV_COURSE_CACHE": str(cache) if cache else "/nonexistent/conv-course"}
        else:
            env = unsandboxed_env()
        self.sandboxed = sandboxed
        self.proc = subprocess.Popen([sys.executable, "-I", "-m", "grader.sandbox.zygote", str(theirs.fileno())],
                                     pass_fds=(theirs.fileno(),), env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        theirs.close()
        self.sock = ours
        self.lock = threading.Lock()
        self.ready = False

    def wait(self, timeout: float = ZYGOTE_START_TIMEOUT) -> None:
        """Wait until the zygote has loaded everything; ``RuntimeError`` if it could not start."""
        with self.lock:
            self._wait(timeout)

    def _wait(self, timeout: float) -> None:
        if self.ready:
            return
        self.sock.settimeout(timeout)
        try:
            hello = self.sock.recv(1 << 16)
        except OSError:
            hello = b""
        if not hello:
            self.close()
            raise RuntimeError("the grader's zygote process could not start")
        self.ready = True

    def spawn(self, spec: dict, fds: tuple[int, int]) -> int:
        with self.lock:
            self._wait(ZYGOTE_START_TIMEOUT)
            socket.send_fds(self.sock, [json.dumps(spec).encode()], list(fds))
            reply = self.sock.recv(1 << 16)
        if not reply:
            raise RuntimeError("the grader's zygote process ended")
        return int(json.loads(reply)["pid"])

    def close(self) -> None:
        self.sock.close()
        self.proc.kill()
        self.proc.wait()


def plain_spec(workdir: Path, chapter: str) -> dict:
    """What the zygote needs for an unsandboxed harness: its folder and chapter (no walls, no limits)."""
    return {"isolate": False, "workdir": str(workdir), "home": str(workdir), "outcomes": OUTCOMES_DIR,
            "chapter": chapter}


def zygote_spec(workdir: Path, slot: int, chapter: str, limits: Limits, cache: Path | None,
                root: Path = ROOT, cgroups: list[str] = (), uid: int | None = None) -> dict:
    plan = mount_plan(root, cache)
    read_only = [*plan.system, *plan.course, *(link for link, target in plan.links.items() if target is None)]
    symlinks = {link: target for link, target in plan.links.items() if target is not None}
    return {"mountpoint": str(workdir.parent / f"{workdir.name}-root"), "workdir": str(workdir),
            "home": SANDBOX_HOME, "outcomes": OUTCOMES_DIR, "chapter": chapter, "uid": FIRST_UID + slot if uid is None else uid,
            "read_only": read_only,
            "read_only_at": plan.data, "symlinks": symlinks,
            "tmp_bytes": 256 << 20, "env": sandbox_env(cache), "cgroups": list(cgroups),
            "limits": limits.rlimits()}


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
    or ``"none"`` (no sandbox, only for notebooks you trust: forked from an unsandboxed
    :class:`Zygote` when one is given, else a plain subprocess).
    """

    def __init__(self, workdir: Path, chapter: str, slot: int, *, limits: Limits = Limits(),
                 cache: Path | None = None, isolation: str = "zygote", zygote: Zygote | None = None,
                 root: Path = ROOT, cgroups: list[str] = (), uid: int | None = None) -> None:
        self.workdir, self.chapter, self.slot, self.limits = workdir, chapter, slot, limits
        self.uid = os.geteuid() if isolation == "none" else FIRST_UID + slot if uid is None else uid
        #: the sandbox user as the host sees it: without root, the grader's own user (see zygote.rootless)
        self.host_uid = self.uid if os.geteuid() == 0 else os.geteuid()
        self.cgroups = list(cgroups)
        self.cache, self.isolation, self.zygote, self.root = cache, isolation, zygote, root
        self.proc: subprocess.Popen | None = None
        self.pid1: int | None = None
        self.pid: int | None = None
        self.killed = False  # by kill(): nobody waits for how it ended

    # -- lifetime ----------------------------------------------------------
    def start(self, timeout: float = 120) -> None:
        cmd_r, cmd_w = os.pipe()
        ev_r, ev_w = os.pipe()
        if self.zygote is not None:
            spec = zygote_spec(self.workdir, self.slot, self.chapter, self.limits, self.cache, self.root,
                               self.cgroups, self.uid) if self.isolation == "zygote" \
                else plain_spec(self.workdir, self.chapter)
            try:
                self.pid = self.zygote.spawn(spec, (cmd_r, ev_w))
            finally:
                os.close(cmd_r)
                os.close(ev_w)
        else:
            outdir = f"{SANDBOX_HOME}/{OUTCOMES_DIR}" if self.isolation == "bwrap" else str(self.workdir / OUTCOMES_DIR)
            script = "/opt/grader/harness.py" if self.isolation == "bwrap" else str(HARNESS)
            argv = [sys.executable, "-I", script, self.chapter, outdir, str(cmd_r), str(ev_w)]
            if self.isolation == "bwrap":
                argv = bwrap_command(self.workdir, self.slot, argv, cache=self.cache, root=self.root, uid=self.uid)
                env, preexec = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}, _limit(self.limits, self.cgroups)
            else:
                env, preexec = unsandboxed_env(), _die_with_parent
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
            # Unsandboxed, there is no namespace: the harness's session is ended as a group.
            pid1 = self.pid1 if self._exit is None and self._owned(self.pid1) else None
            if pid1 is not None and self.isolation == "none":
                try:
                    os.killpg(pid1, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            for pid in (pid1, self.pid):
                if pid is not None:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
        self.proc, self.pid = None, None

    def _owned(self, pid: int | None) -> bool:
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
            if "pid1" in message and self.zygote is not None and self.pid1 is None:
                self.pid1 = message["pid1"] if isinstance(message["pid1"], int) else None
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
        if "exit" in message and self.zygote is not None:
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
        elif code is None and self.zygote is not None and not self.killed:
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
