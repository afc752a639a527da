"""The Python every user of the hub runs: the course's own virtualenv when every account can run it,
else a copy of it that every account can run.

A learner's server and the instructor's grader run as the learner's and the instructor's Unix
accounts. When the course's ``.venv`` was built from a Python those accounts can run (the
system's, one under ``/opt``), that is what they run. When its interpreter lives in a folder
others cannot enter (pyenv under ``/root``), two folders are made next to this file, of hard
links where the file system allows (the packages installed once, not twice):

* ``.python-base``: the interpreter's install, its program given a run path relative to itself
  (``$ORIGIN/../lib``, set with patchelf) instead of the folder others cannot enter;
* ``.python``: a virtualenv of that interpreter whose ``lib/``, ``etc/`` and ``share/`` are the
  course's, inside the virtualenv itself, so the grader's sandbox (which binds ``sys.prefix`` and
  ``sys.base_prefix``) sees them.

Another interpreter of the same version, such as the system's, is not enough: the packages were
installed for this one (soupsieve, which renders the formgrader's pages, fails on Python 3.11.2's
``re``). ``make hub`` rebuilds both whenever ``.venv`` changes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENV = ROOT / ".venv"
COPY = HERE / ".python"
BASE = HERE / ".python-base"


def usable_by_all(path: Path) -> bool:
    """Whether any account can run the program at ``path`` (every folder above it enterable by others)."""
    real = Path(os.path.realpath(path))
    folders = [Path(*real.parts[:i]) for i in range(1, len(real.parts))]
    return all(os.stat(f).st_mode & 0o001 for f in folders) and bool(os.stat(real).st_mode & 0o001)


def venv_python(venv: Path = VENV) -> Path:
    return venv / "bin" / "python"


def course_python_usable(venv: Path = VENV) -> bool:
    """Whether the course's virtualenv works for every account: its interpreter and its base install."""
    base = Path(subprocess.run([str(venv_python(venv)), "-c", "import sys; print(sys.base_prefix)"],
                               capture_output=True, text=True, check=True).stdout.strip())
    return usable_by_all(venv_python(venv)) and usable_by_all(base / "lib")


def python_for_users(venv: Path = VENV) -> Path:
    """The interpreter the hub starts users' servers with (``build`` must have run)."""
    return venv_python(venv) if course_python_usable(venv) else venv_python(COPY)


def _linked_copy(source: Path, target: Path) -> None:
    """``target``, a copy of ``source`` made of hard links (a plain copy across file systems)."""
    subprocess.run(["rm", "-rf", str(target)], check=True)  # 70,000 files: rm is far faster than rmtree
    if subprocess.run(["cp", "-al", str(source), str(target)], capture_output=True).returncode != 0:
        subprocess.run(["rm", "-rf", str(target)], check=True)
        subprocess.run(["cp", "-a", str(source), str(target)], check=True)


def _relocate(program: Path) -> None:
    """Give ``program`` (a hard link into the original install) a run path relative to itself, on a copy of its own."""
    patchelf = str(Path(sys.executable).parent / "patchelf")
    found = subprocess.run([patchelf, "--print-rpath", str(program)], capture_output=True, text=True)
    if found.returncode != 0 or not found.stdout.strip():
        return  # not dynamically linked to libpython: nothing to relocate
    private = program.with_name(program.name + ".copy")
    shutil.copy2(program, private)
    private.replace(program)  # its own inode now: patching it leaves the original install alone
    subprocess.run([patchelf, "--set-rpath", "$ORIGIN/../lib", str(program)], check=True)


def build(venv: Path = VENV, copy: Path = COPY, base_copy: Path = BASE) -> Path:
    """Make :func:`python_for_users` ready; returns it. Rebuilds the copies when ``venv`` is newer."""
    if course_python_usable(venv):
        for folder in (copy, base_copy):
            subprocess.run(["rm", "-rf", str(folder)], check=True)
        return venv_python(venv)
    stamp = copy / ".built-from"
    # the course's and the hub's install stamps (Makefile): a new install means a new copy
    marker = " ".join(str(p.stat().st_mtime_ns) for p in sorted(venv.glob(".conv-course*-installed"))) or "unknown"
    if stamp.exists() and stamp.read_text() == marker:
        return venv_python(copy)
    info = subprocess.run([str(venv_python(venv)), "-c", "import os, sys; print(sys.base_prefix); "
                           "print(os.path.realpath(sys.executable))"], capture_output=True, text=True, check=True)
    base, program = (Path(line) for line in info.stdout.split())
    _linked_copy(base, base_copy)
    os.chmod(base_copy, 0o755)
    interpreter = base_copy / program.relative_to(base)
    _relocate(interpreter)
    subprocess.run(["rm", "-rf", str(copy)], check=True)
    subprocess.run([str(interpreter), "-m", "venv", "--without-pip", str(copy)], check=True)
    for part in ("lib", "etc", "share"):
        if (venv / part).is_dir():
            _linked_copy(venv / part, copy / part)
    # the console scripts nbgrader runs by name (alembic), pointed at this interpreter
    for script in ("alembic", "jupyter", "nbgrader"):
        source = venv / "bin" / script
        if source.exists():
            lines = source.read_text().splitlines(keepends=True)
            lines[0] = f"#!{venv_python(copy)}\n"
            target = copy / "bin" / script
            target.write_text("".join(lines))
            target.chmod(0o755)
    os.chmod(copy, 0o755)
    stamp.write_text(marker)
    return venv_python(copy)


if __name__ == "__main__":
    print(build())
