"""A pre-loaded parent for sandboxed harness processes: torch is imported once per batch.

Importing torch, IPython, matplotlib and the course helpers takes 3-5 s, more than running
a chapter's notebook. The zygote (a trusted process that never runs student code) imports
them once; for each submission it forks a child that *then* builds its sandbox, with the
same isolation as :func:`grader.sandbox.walls.bwrap_command`, by the same kernel calls bubblewrap
makes (:func:`_enter`):

* new mount, PID, network, IPC and UTS namespaces (``unshare``);
* a fresh tmpfs root holding read-only binds of ``/usr``, the Python install, the
  virtualenv, ``helpers/`` and the data cache; ``/dev/{null,zero,random,urandom}``; a new
  ``/proc`` of its own PID namespace; a private ``/tmp`` (tmpfs, size-limited); the
  submission's folder at ``/submission``; then ``pivot_root`` and the host's tree detached;
* resource limits, then an unprivileged uid of its own (the one the grader chose for the slot), no groups, no
  capabilities, ``no_new_privs``;
* PID 1 of the namespace is the harness's warden (:mod:`helpers.freezing`, forked by the harness
  before any student code; the harness is its child); killing the intermediate process (what the
  grader holds) kills PID 1 (``PDEATHSIG``), and with it every process in the namespace.

Unsandboxed grading (``--no-sandbox``, and ``python -m grader check`` on a learner's own
machine) uses the same zygote without the walls: a spec with ``"isolate": false`` gets a
harness forked into a session of its own, in the submission's folder, with the zygote's
environment (the instructor's own, with the course's kernel settings). Forking a pre-loaded
process instead of starting Python and torch again is what makes it no slower than the
sandbox.

Protocol: a ``SOCK_SEQPACKET`` socket; each request is a JSON spec plus two file
descriptors (the harness's command pipe and event pipe); the reply is the child's pid.
When the harness ends, its warden (PID 1) writes ``{"exit": code}`` on the event pipe, and so does the
intermediate process when PID 1 ends (the first one read counts).
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

from helpers.protocol import CPU, EXIT, PID, PID1, READY, SETUP_FAILED

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWPID, CLONE_NEWNET = 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS, PR_SET_CHILD_SUBREAPER = 1, 38, 36
PR_CAPBSET_DROP, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 24, 47, 4
CLONE_NEWUSER = 0x10000000
MS_NOATIME, MS_NODIRATIME, MS_RELATIME = 1024, 2048, 1 << 21
_LINUX_CAPABILITY_VERSION_3 = 0x20080522
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
    _mount(None, target, None, flags | _kept_flags(target))


def _kept_flags(path: str) -> int:
    """The flags a bind must keep: in a user namespace the kernel refuses to clear a mount's noexec,
    atime or read-only flags (and a read-only mount stays read-only anyway), as bubblewrap does."""
    have = os.statvfs(path).f_flag
    flags = MS_NOEXEC if have & os.ST_NOEXEC else 0
    flags |= MS_RDONLY if have & os.ST_RDONLY else 0
    flags |= MS_NOATIME if have & os.ST_NOATIME else 0
    flags |= MS_NODIRATIME if have & os.ST_NODIRATIME else 0
    flags |= MS_RELATIME if have & os.ST_RELATIME else 0
    return flags


def rootless() -> bool:
    """Whether the sandbox is built inside a user namespace of its own (the grader is not root)."""
    return os.geteuid() != 0


def userns_problem() -> str | None:
    """Why an unprivileged user namespace cannot be created here, in words with the fix; ``None`` if it can."""
    try:
        if int(open("/proc/sys/user/max_user_namespaces").read()) == 0:
            return ("unprivileged user namespaces are off (user.max_user_namespaces = 0): "
                    "`sysctl -w user.max_user_namespaces=15000` as root, or grade as root")
    except (OSError, ValueError):
        pass
    try:
        if open("/proc/sys/kernel/unprivileged_userns_clone").read().strip() == "0":
            return ("unprivileged user namespaces are off (kernel.unprivileged_userns_clone = 0): "
                    "`sysctl -w kernel.unprivileged_userns_clone=1` as root, or grade as root")
    except OSError:
        pass
    try:
        if open("/proc/sys/kernel/apparmor_restrict_unprivileged_userns").read().strip() == "1":
            return ("AppArmor forbids unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns = "
                    "1): allow them for this Python with an AppArmor profile, or grade as root")
    except OSError:
        pass
    return None


def _enter_userns(uid: int) -> None:
    """Not root: a user namespace of our own in which ``uid`` is the grader's own user (one uid mapped).

    The new namespace's capabilities are what builds the mounts below; :func:`_drop_capabilities`
    then gives them all up, as the switch from root to a user does when the grader is root.
    """
    outer_uid, outer_gid = os.geteuid(), os.getegid()
    _check(_libc.unshare(CLONE_NEWUSER), "unshare(CLONE_NEWUSER)")
    with open("/proc/self/setgroups", "w") as handle:
        handle.write("deny")
    with open("/proc/self/uid_map", "w") as handle:
        handle.write(f"{uid} {outer_uid} 1")
    with open("/proc/self/gid_map", "w") as handle:
        handle.write(f"{uid} {outer_gid} 1")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _drop_capabilities() -> None:
    """Every capability gone: bounding set, ambient set, then effective, permitted and inheritable."""
    for cap in range(64):
        if _libc.prctl(PR_CAPBSET_DROP, ctypes.c_ulong(cap), 0, 0, 0) != 0:
            break  # past the last capability this kernel knows
    _libc.prctl(PR_CAP_AMBIENT, ctypes.c_ulong(PR_CAP_AMBIENT_CLEAR_ALL), 0, 0, 0)
    header, data = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0), (_CapData * 2)()
    _check(_libc.capset(ctypes.byref(header), data), "capset")


def supported() -> str | None:
    """``None`` if this machine can build the sandbox, else why not."""
    if SYS_PIVOT_ROOT is None:
        return f"unsupported architecture {platform.machine()}"
    if rootless():
        why = userns_problem()
        if why:
            return why
    pid = os.fork()
    if pid == 0:
        try:
            if rootless():
                _enter_userns(os.geteuid())
            _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS),
                   "unshare")
            _mount(None, "/", None, MS_REC | MS_PRIVATE)
            os._exit(0)
        except BaseException:  # noqa: BLE001
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) == 0:
        return None
    if rootless():
        return ("this kernel refuses an unprivileged user namespace with mount, PID and network namespaces here "
                "(a container's seccomp profile, or a sysctl): grade as root, or allow user namespaces")
    return "this kernel refuses new namespaces here"


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
    if rootless():  # already the namespace's one user; its capabilities go by hand
        _drop_capabilities()
    else:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)  # from root to a user: every capability is dropped
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # a change of uid cleared it: set it again
    _prctl(PR_SET_NO_NEW_PRIVS, 1)
    os.chdir(spec["home"])
    os.environ.clear()
    os.environ.update(spec["env"])


def _plain(spec: dict) -> None:
    """The unsandboxed harness: a session of its own (the grader ends it as a group), in the submission's folder."""
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    os.setsid()
    os.chdir(spec["workdir"])


def _child(spec: dict, cmd_fd: int, event_fd: int) -> None:
    """The forked child: unshare, fork PID 1 (the harness), report how it ended. Never returns."""
    isolate = spec.get("isolate", True)
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # the zygote gone: this goes too
        for name in spec.get("cgroups", []):  # the slot's cpu, memory and pids groups; children follow
            with open(name, "w") as handle:
                handle.write(str(os.getpid()))
        if isolate:
            if rootless():
                _enter_userns(spec["uid"])
            _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS),
                   "unshare")
        pid = os.fork()
        if pid == 0:
            try:
                _enter(spec) if isolate else _plain(spec)
            except BaseException as exc:  # noqa: BLE001 - no student code runs in a half-built sandbox
                os.write(event_fd, (json.dumps({SETUP_FAILED: f"{type(exc).__name__}: {exc}"}) + "\n").encode())
                os._exit(71)
            from grader.sandbox.harness import serve  # already imported by the zygote

            serve(spec["chapter"], f"{spec['home']}/{spec['outcomes']}", cmd_fd, event_fd)
            os._exit(0)
        os.close(cmd_fd)
        os.write(event_fd, (json.dumps({PID1: pid}) + "\n").encode())  # so the grader can kill it directly
        _, status, usage = os.wait4(pid, 0)  # with the CPU seconds it used: was it the CPU limit's SIGKILL?
        os.write(event_fd, (json.dumps({EXIT: os.waitstatus_to_exitcode(status),
                                        CPU: round(usage.ru_utime + usage.ru_stime, 2)}) + "\n").encode())
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
        import helpers.checks.byhand  # noqa: F401 - its allowlist and the native lock's homes, read once here

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
    sock.sendall(json.dumps({READY: True}).encode())
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
        sock.sendall(json.dumps({PID: pid}).encode())


if __name__ == "__main__":
    main()
