"""A pre-loaded parent for sandboxed harness processes: torch is imported once per batch.

Importing torch, IPython, matplotlib and the course helpers takes 3-5 s, more than running
a chapter's notebook. The zygote (a trusted process that never runs student code) imports
them once; for each submission it forks a child that *then* builds its sandbox, with the
same isolation as :func:`grader.sandbox.process.bwrap_command`, by the same kernel calls bubblewrap
makes (:func:`_enter`):

* new mount, PID, network, IPC and UTS namespaces (``unshare``);
* a fresh tmpfs root holding read-only binds of ``/usr``, the Python install, the
  virtualenv, ``helpers/`` and the data cache; ``/dev/{null,zero,random,urandom}``; a new
  ``/proc`` of its own PID namespace; a private ``/tmp`` (tmpfs, size-limited); the
  submission's folder at ``/submission``; then ``pivot_root`` and the host's tree detached;
* resource limits, then an unprivileged uid of its own (``61000 + slot``), no groups, no
  capabilities, ``no_new_privs``;
* PID 1 of the namespace is the harness; killing the intermediate process (what the
  grader holds) kills PID 1 (``PDEATHSIG``), and with it every process in the namespace.

Protocol: a ``SOCK_SEQPACKET`` socket; each request is a JSON spec plus two file
descriptors (the harness's command pipe and event pipe); the reply is the child's pid.
When the harness's PID 1 ends, the intermediate process writes ``{"exit": code}`` on the
event pipe.
"""

from __future__ import annotations

import ctypes
import json
import os
import platform
import resource
import signal
import socket
import sys

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWPID, CLONE_NEWNET = 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS, PR_SET_CHILD_SUBREAPER = 1, 38, 36
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}.get(platform.machine())

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    enc = lambda s: s.encode() if s is not None else None  # noqa: E731
    _check(_libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)),
           f"mount {target}")


def _prctl(option: int, value: int) -> None:
    _check(_libc.prctl(option, ctypes.c_ulong(value), 0, 0, 0), "prctl")


def _bind(source: str, target: str, *, read_only: bool = True, device: bool = False) -> None:
    if os.path.isdir(source):
        os.makedirs(target, mode=0o755, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), mode=0o755, exist_ok=True)
        open(target, "a").close()
    _mount(source, target, None, MS_BIND | MS_REC)
    flags = MS_BIND | MS_REMOUNT | MS_NOSUID | (0 if device else MS_NODEV) | (MS_RDONLY if read_only else 0)
    _mount(None, target, None, flags)


def supported() -> str | None:
    """``None`` if this machine can build the sandbox, else why not."""
    if os.geteuid() != 0:
        return "the sandbox needs root (to create namespaces and switch to a user of its own)"
    if SYS_PIVOT_ROOT is None:
        return f"unsupported architecture {platform.machine()}"
    pid = os.fork()
    if pid == 0:
        try:
            _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS),
                   "unshare")
            _mount(None, "/", None, MS_REC | MS_PRIVATE)
            os._exit(0)
        except BaseException:  # noqa: BLE001
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    return None if os.waitstatus_to_exitcode(status) == 0 else "this kernel refuses new namespaces here"


def _enter(spec: dict) -> None:
    """In PID 1 of the new namespaces, still root: build the root, drop to the sandbox user."""
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    new = spec["mountpoint"]
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    _mount("tmpfs", new, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=16m")
    # The private /tmp comes first: a course checked out under /tmp is then bound on top of it.
    os.makedirs(new + "/tmp", mode=0o755)
    _mount("tmpfs", new + "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"mode=1777,size={spec['tmp_bytes']}")
    for path in spec["read_only"]:
        _bind(path, new + path)
    for target, source in spec.get("read_only_at", {}).items():
        _bind(source, new + target)
    for link, target in spec["symlinks"].items():
        os.symlink(target, new + link)
    for name in ("null", "zero", "random", "urandom", "full"):
        _bind(f"/dev/{name}", f"{new}/dev/{name}", read_only=False, device=True)
    os.makedirs(new + "/proc", mode=0o755)
    _mount("proc", new + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    _bind(spec["workdir"], new + spec["home"], read_only=False)
    os.chdir(new)
    os.mkdir(".old")
    _check(_libc.syscall(SYS_PIVOT_ROOT, b".", b".old"), "pivot_root")
    os.chdir("/")
    _check(_libc.umount2(b"/.old", MNT_DETACH), "umount old root")
    os.rmdir("/.old")
    _mount(None, "/", None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    socket.sethostname("grading")
    limits = spec["limits"]
    for name, value in limits.items():
        resource.setrlimit(getattr(resource, name), (value, value))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a too-big write fails (EFBIG) instead of killing
    uid = spec["uid"]
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)  # from root to a user: every capability is dropped
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # a change of uid cleared it: set it again
    _prctl(PR_SET_NO_NEW_PRIVS, 1)
    os.chdir(spec["home"])
    os.environ.clear()
    os.environ.update(spec["env"])


def _child(spec: dict, cmd_fd: int, event_fd: int) -> None:
    """The forked child: unshare, fork PID 1 (the harness), report how it ended. Never returns."""
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # the zygote gone: this goes too
        for name in spec.get("cgroups", []):  # the slot's cpu, memory and pids groups; children follow
            with open(name, "w") as handle:
                handle.write(str(os.getpid()))
        _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS), "unshare")
        pid = os.fork()
        if pid == 0:
            try:
                _enter(spec)
            except BaseException as exc:  # noqa: BLE001 - no student code runs in a half-built sandbox
                os.write(event_fd, (json.dumps({"setup_failed": f"{type(exc).__name__}: {exc}"}) + "\n").encode())
                os._exit(71)
            from grader.sandbox.harness import serve  # already imported by the zygote

            serve(spec["chapter"], spec["home"] + "/outcomes", cmd_fd, event_fd)
            os._exit(0)
        os.close(cmd_fd)
        os.write(event_fd, (json.dumps({"pid1": pid}) + "\n").encode())  # so the grader can kill it directly
        _, status = os.waitpid(pid, 0)
        os.write(event_fd, (json.dumps({"exit": os.waitstatus_to_exitcode(status)}) + "\n").encode())
    finally:
        os._exit(0)


def _preload() -> None:
    """Import what every notebook of the course imports (once, before any fork)."""
    import importlib
    import pkgutil

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401
    import torch  # noqa: F401
    import torch.nn.functional  # noqa: F401
    import torch.utils._python_dispatch  # noqa: F401
    from IPython.core.interactiveshell import InteractiveShell  # noqa: F401

    import grader.sandbox.harness  # noqa: F401
    import helpers

    for module in pkgutil.iter_modules(helpers.__path__):
        try:
            importlib.import_module(f"helpers.{module.name}")
        except Exception:  # noqa: BLE001 - a module that cannot load here loads (or fails) in the notebook
            pass
    try:
        import helpers.checks

        helpers.checks.exercises()
        from helpers.data import load_digits

        load_digits()
    except Exception:  # noqa: BLE001
        pass


def main() -> None:
    sock = socket.socket(fileno=int(sys.argv[1]))
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    # A sandbox whose intermediate process was killed first leaves its PID 1 to this process, not to
    # the host's init (which may never reap it): with SIGCHLD ignored below, the kernel reaps it at once.
    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    _preload()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    sock.sendall(b'{"ready": true}')
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(sock, 1 << 16, 2)
        except OSError:
            break
        if not message:
            break
        spec = json.loads(message)
        pid = os.fork()
        if pid == 0:
            sock.close()
            _child(spec, fds[0], fds[1])
        for fd in fds:
            os.close(fd)
        sock.sendall(json.dumps({"pid": pid}).encode())


if __name__ == "__main__":
    main()
