"""Test support: a real, ordinary Unix user (a learner on a shared JupyterHub-style machine)
created for one test and removed afterwards, and commands run as that user.

The course's interpreter may live under a folder only root can enter (pyenv under ``/root``).
A learner on a real machine would have a Python of their own; here the command runs in a
private mount namespace in which that folder is an empty, traversable tmpfs holding only the
interpreter's tree (read-only), then drops to the learner's uid and gid with ``setpriv``.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class User:
    name: str
    uid: int
    gid: int
    home: Path


def why_not() -> str | None:
    """None when this machine can create users and run commands as them, else why not."""
    if os.geteuid() != 0:
        return "creating a learner account needs root"
    for tool in ("useradd", "userdel", "setpriv", "unshare"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not installed (Debian packages passwd and util-linux)"
    return None


@contextmanager
def learner(parent: Path):
    """A new user with its home in ``parent``; removed (with its home) afterwards."""
    name = f"ccl{uuid.uuid4().hex[:8]}"
    home = parent / name
    subprocess.run(["useradd", "--create-home", "--home-dir", str(home), "--shell", "/bin/sh",
                    "--user-group", name], check=True, capture_output=True)
    try:
        entry = pwd.getpwnam(name)
        yield User(name, entry.pw_uid, entry.pw_gid, home)
    finally:
        subprocess.run(["userdel", "--remove", name], capture_output=True)
        shutil.rmtree(home, ignore_errors=True)


def _hidden_ancestor(path: Path) -> tuple[Path, Path] | None:
    """``(blocked, child)``: the first folder on ``path`` others cannot enter, and its child on the way."""
    parts = path.resolve().parts
    for i in range(1, len(parts) - 1):
        folder = Path(*parts[:i + 1])
        if not os.stat(folder).st_mode & 0o001:
            return folder, Path(*parts[:i + 2])
    return None


_SCRIPT = """set -e
stage=$(mktemp -d /tmp/conv-course-learner-XXXXXX)
mount --bind "$CHILD" "$stage"
mount -t tmpfs -o mode=0755,size=1m tmpfs "$BLOCKED"
mkdir -p "$CHILD"
mount --bind "$stage" "$CHILD"
mount -o remount,bind,ro "$CHILD"
umount "$stage" && rmdir "$stage"
exec setpriv --reuid="$RUID" --regid="$RGID" --init-groups -- "$@"
"""


def run_as(user: User, argv: list[str], cwd: Path, timeout: float = 300, **env: str) -> subprocess.CompletedProcess:
    """Run ``argv`` as ``user`` in ``cwd`` with a plain login-like environment (plus ``env``)."""
    base = {"HOME": str(user.home), "USER": user.name, "LOGNAME": user.name, "LANG": "C.UTF-8",
            "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin", "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1", **env}
    hidden = _hidden_ancestor(Path(os.path.realpath(sys.executable))) or _hidden_ancestor(Path(sys.base_prefix))
    if hidden is None:
        command = ["setpriv", f"--reuid={user.uid}", f"--regid={user.gid}", "--init-groups", "--", *argv]
    else:
        blocked, child = hidden
        base.update(BLOCKED=str(blocked), CHILD=str(child), RUID=str(user.uid), RGID=str(user.gid))
        command = ["unshare", "--mount", "--propagation", "private", "sh", "-c", _SCRIPT, "sh", *argv]
    return subprocess.run(command, cwd=cwd, env=base, capture_output=True, text=True, timeout=timeout)
