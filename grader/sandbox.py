"""A sandboxed Python process for one submission: bubblewrap, resource limits, its own user.

What the student's code gets (see :func:`bwrap_command`):

* a fresh, read-only root (a tmpfs) holding only ``/usr``, the Python install, the
  course's virtualenv and ``helpers/`` (read-only, at their usual paths, so imports work),
  the data cache (read-only) and the harness script; **not** the course root, its
  ``solutions/``, ``notebooks/``, ``.git`` or anything the grader writes;
* one writable folder, ``/submission``, holding only that student's copy and the
  outcome files, plus a private ``/tmp``;
* new PID, network, IPC and UTS namespaces: no network at all (not even the host's
  loopback), no view of other processes, and when the sandbox ends every process in
  it ends too (``--die-with-parent``, and PID 1 of the namespace taking the rest with it);
* an unprivileged user id of its own (``61000 + slot``, one per concurrent worker),
  all capabilities dropped and ``no_new_privs``, so the limits below bite;
* resource limits (``setrlimit``, as ``prlimit`` would set them): address space
  (memory), CPU seconds, size of any file written, number of processes, open files.

Needs ``bwrap`` (Debian's ``bubblewrap``) and ``setpriv`` (util-linux) and must run as
root (to switch to the sandbox user). :func:`available` says whether it can run here.
"""

from __future__ import annotations

import json
import os
import resource
import select
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .config import ROOT

HARNESS = Path(__file__).with_name("harness.py")
SANDBOX_HOME = "/submission"
FIRST_UID = 61000


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
        if str(parent) != "/":
            args += ["--perms", "0755", "--dir", str(parent)]
    return args


def bwrap_command(workdir: Path, slot: int, argv: list[str], *, cache: Path | None,
                  root: Path = ROOT) -> list[str]:
    """The ``bwrap ... setpriv ... python`` command line for one sandboxed process."""
    uid = str(FIRST_UID + slot)
    cmd = ["bwrap", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
           "--die-with-parent", "--new-session", "--hostname", "grading",
           "--perms", "0755", "--tmpfs", "/"]
    for sys_dir in ("/usr", "/etc/alternatives", "/etc/ld.so.cache", "/etc/localtime"):
        if os.path.exists(sys_dir):
            cmd += ["--ro-bind", sys_dir, sys_dir]
    for link in ("bin", "lib", "lib64", "sbin"):
        target = Path("/") / link
        if target.is_symlink():
            cmd += ["--symlink", os.readlink(target), str(target)]
        elif target.is_dir():
            cmd += ["--ro-bind", str(target), str(target)]
    mounted: list[Path] = []
    for path in [*_venv_and_python(), root / "helpers"]:
        cmd += _dirs_for(path) + ["--ro-bind", str(path), str(path)]
        mounted.append(path)
    cmd += ["--perms", "0755", "--dir", "/opt/grader", "--ro-bind", str(HARNESS), "/opt/grader/harness.py"]
    env = {"HOME": SANDBOX_HOME, "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "LANG": "C.UTF-8",
           "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MPLBACKEND": "Agg",
           "MPLCONFIGDIR": "/tmp/matplotlib", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0",
           "XDG_CACHE_HOME": "/tmp/cache", "CONV_COURSE_CACHE": "/tmp/cache/conv-course"}
    if cache is not None:
        cmd += ["--perms", "0755", "--dir", "/opt/data", "--ro-bind", str(cache), "/opt/data/conv-course"]
        env["CONV_COURSE_CACHE"] = "/opt/data/conv-course"
    cmd += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--tmpfs", "/tmp",
            "--bind", str(workdir), SANDBOX_HOME, "--chdir", SANDBOX_HOME, "--clearenv"]
    for key, value in env.items():
        cmd += ["--setenv", key, value]
    cmd += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--no-new-privs",
            "--inh-caps=-all", "--bounding-set=-all", "--", *argv]
    return cmd


def _limit(limits: Limits):
    def apply() -> None:
        for which, value in ((resource.RLIMIT_AS, limits.memory_bytes), (resource.RLIMIT_FSIZE, limits.file_bytes),
                             (resource.RLIMIT_NPROC, limits.processes), (resource.RLIMIT_NOFILE, limits.open_files),
                             (resource.RLIMIT_CPU, limits.cpu_seconds), (resource.RLIMIT_CORE, 0)):
            resource.setrlimit(which, (value, value))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a too-big write fails (EFBIG) instead of killing
    return apply


def available() -> str | None:
    """``None`` when sandboxed grading can run here, else why not (in words)."""
    if os.geteuid() != 0:
        return "the sandbox switches to a user of its own and needs to run as root"
    for tool, package in (("bwrap", "bubblewrap"), ("setpriv", "util-linux")):
        if shutil.which(tool) is None:
            return f"`{tool}` is missing (apt-get install {package})"
    probe = subprocess.run(["bwrap", "--unshare-pid", "--unshare-net", "--ro-bind", "/", "/", "--proc", "/proc",
                            "--dev", "/dev", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"bubblewrap cannot create namespaces here: {probe.stderr.strip()[:200]}"
    return None


class Died(Exception):
    """The sandboxed process ended (or was killed) before answering."""

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause


class Sandbox:
    """One sandboxed harness process for one submission; restartable."""

    def __init__(self, workdir: Path, chapter: str, slot: int, *, limits: Limits = Limits(),
                 cache: Path | None = None, sandboxed: bool = True, root: Path = ROOT) -> None:
        self.workdir, self.chapter, self.slot, self.limits = workdir, chapter, slot, limits
        self.cache, self.sandboxed, self.root = cache, sandboxed, root
        self.proc: subprocess.Popen | None = None
        self.startup_seconds = 0.0

    # -- lifetime ----------------------------------------------------------
    def start(self, timeout: float = 120) -> None:
        cmd_r, cmd_w = os.pipe()
        ev_r, ev_w = os.pipe()
        outdir = SANDBOX_HOME + "/outcomes" if self.sandboxed else str(self.workdir / "outcomes")
        script = "/opt/grader/harness.py" if self.sandboxed else str(HARNESS)
        argv = [sys.executable, "-I", script, self.chapter, outdir, str(cmd_r), str(ev_w)]
        if self.sandboxed:
            argv = bwrap_command(self.workdir, self.slot, argv, cache=self.cache, root=self.root)
            env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
            preexec = _limit(self.limits)
        else:
            from .execute import kernel_env

            env, preexec = kernel_env({"MPLBACKEND": "Agg"}), None
        self.proc = subprocess.Popen(argv, cwd=self.workdir, env=env, pass_fds=(cmd_r, ev_w),
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE if not self.sandboxed else subprocess.DEVNULL,
                                     preexec_fn=preexec, start_new_session=True)
        os.close(cmd_r)
        os.close(ev_w)
        self._cmd = os.fdopen(cmd_w, "w", encoding="utf-8", buffering=1)
        self._events = ev_r
        self._buffer = b""
        hello = self._read(timeout)
        self.startup_seconds = float(hello.get("seconds", 0))

    def stop(self) -> None:
        """End the sandbox and every process in it."""
        if self.proc is None:
            return
        for closer in (self._cmd.close, lambda: os.close(self._events)):
            try:
                closer()
            except OSError:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.kill()
        except ProcessLookupError:
            pass
        self.proc.wait()
        self.proc = None

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- commands ----------------------------------------------------------
    def run(self, command: dict, timeout: float, grace: float = 5.0) -> dict:
        """Send one command; the reply, or :class:`Died` (the process is then stopped)."""
        assert self.proc is not None
        try:
            self._cmd.write(json.dumps({**command, "timeout": timeout}) + "\n")
            self._cmd.flush()
        except (BrokenPipeError, OSError):
            raise self._dead("it had already ended") from None
        return self._read(timeout + grace)

    def _read(self, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                self.stop()
                raise Died(f"it ran past its {timeout:.0f} s limit and did not stop when interrupted; "
                           "it was killed")
            ready, _, _ = select.select([self._events], [], [], min(left, 1.0))
            if not ready:
                if self.proc.poll() is not None:
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
            return message
        except ValueError:
            self.stop()
            raise Died("it wrote garbage on the grader's channel") from None

    def _dead(self, how: str = "") -> Died:
        proc = self.proc
        code = proc.wait(timeout=5) if proc is not None else None
        stderr = ""
        if proc is not None and proc.stderr is not None:
            stderr = proc.stderr.read().decode(errors="replace")[-300:]
        self.stop()
        if code is None:
            cause = "its process ended"
        elif code < 0:
            name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
            cause = f"its process was killed by {name}"
            if name == "SIGXCPU":
                cause += " (CPU time limit)"
        elif code == 0:
            cause = "it ended the Python process (exit code 0)"
        else:
            cause = f"it ended the Python process (exit code {code})"
        if stderr and not self.sandboxed:
            cause += f": {stderr.strip().splitlines()[-1][:200]}"
        return Died(how or cause)
