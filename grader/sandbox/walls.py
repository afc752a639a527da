"""The sandbox's walls, written once for both ways of building it: limits, mounts, environments, argv.

* :class:`Limits`: the resource limits (``setrlimit``) of each sandboxed process;
* :class:`MountPlan` (:func:`mount_plan`): what the sandbox's fresh root holds, from the course
  root it is given;
* the environments: :func:`sandbox_env` (the student's whole environment) and
  :func:`unsandboxed_env` (the grader's own, for notebooks the user trusts);
* how a harness is launched: :func:`bwrap_command` (``--isolation bwrap``), :func:`zygote_spec`
  and :func:`plain_spec` (what the zygote forks, :mod:`grader.sandbox.zygote`), and the
  ``preexec`` of a spawned process (:func:`limited`, :func:`die_with_parent`).

The course root and the course's kernel environment are given by the caller: nothing here reads the
rest of the grader.
"""

from __future__ import annotations

import os
import resource
import signal
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from helpers.nbgrader_env import AUTOGRADE, NBGRADER_EXECUTION
from helpers.protocol import OUTCOMES_DIR

from .cgroups import join_cgroups
from .users import FIRST_UID

HARNESS = Path(__file__).with_name("harness.py")
SANDBOX_HOME = "/submission"


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
    """The sandbox's root for the course at ``root`` (its ``helpers/``), with the data cache when there is one."""
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


def _dirs_for(path: Path) -> list[str]:
    """``--dir`` arguments creating the parents of ``path`` world-readable (bwrap makes them 0700)."""
    args = []
    for parent in reversed(path.parents):
        if str(parent) not in ("/", "/tmp"):  # /tmp is the sandbox's private tmpfs (mode 1777)
            args += ["--perms", "0755", "--dir", str(parent)]
    return args


def bwrap_command(workdir: Path, slot: int, argv: list[str], *, cache: Path | None,
                  root: Path, uid: int | None = None) -> list[str]:
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


def die_with_parent() -> None:
    """In a child before ``exec``: SIGKILL when the grader's thread that started it ends (``kill -9`` included)."""
    import ctypes

    ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG


def limited(limits: Limits, cgroups: list[str] = ()):
    """The ``preexec_fn`` of a spawned sandbox: die with the grader, join the slot's groups, the limits."""
    def apply() -> None:
        die_with_parent()
        join_cgroups(list(cgroups))
        for name, value in limits.rlimits().items():
            resource.setrlimit(getattr(resource, name), (value, value))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a too-big write fails (EFBIG) instead of killing
    return apply


def unsandboxed_env(base: Mapping[str, str]) -> dict[str, str]:
    """The environment of an unsandboxed harness: ``base`` (the grader's own, with the course's kernel
    settings: the caller's) graded as in the sandbox.

    ``NBGRADER_EXECUTION`` is set there too, so a notebook that behaves differently under grading gets
    the same points from ``grader check`` as from the instructor's sandboxed grading.
    """
    return {**base, "MPLBACKEND": "Agg", NBGRADER_EXECUTION: AUTOGRADE}


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


def plain_spec(workdir: Path, chapter: str) -> dict:
    """What the zygote needs for an unsandboxed harness: its folder and chapter (no walls, no limits)."""
    return {"isolate": False, "workdir": str(workdir), "home": str(workdir), "outcomes": OUTCOMES_DIR,
            "chapter": chapter}


def root_mountpoint(workdir: Path) -> Path:
    """The empty folder, beside a submission's folder, on which the zygote's child mounts the sandbox's root."""
    return workdir.parent / f"{workdir.name}-root"


def zygote_spec(workdir: Path, slot: int, chapter: str, limits: Limits, cache: Path | None,
                root: Path, cgroups: list[str] = (), uid: int | None = None) -> dict:
    """What the zygote's child needs to build the walls for one harness (the same as :func:`bwrap_command`'s)."""
    plan = mount_plan(root, cache)
    read_only = [*plan.system, *plan.course, *(link for link, target in plan.links.items() if target is None)]
    symlinks = {link: target for link, target in plan.links.items() if target is not None}
    return {"mountpoint": str(root_mountpoint(workdir)), "workdir": str(workdir),
            "home": SANDBOX_HOME, "outcomes": OUTCOMES_DIR, "chapter": chapter, "uid": FIRST_UID + slot if uid is None else uid,
            "read_only": read_only,
            "read_only_at": plan.data, "symlinks": symlinks,
            "tmp_bytes": 256 << 20, "env": sandbox_env(cache), "cgroups": list(cgroups),
            "limits": limits.rlimits()}
