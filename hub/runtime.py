"""The Python every user of the hub runs: the course's own virtualenv when every account can run it,
else a copy of it around a system interpreter of the same version.

A learner's server and the instructor's grader run as the learner's and the instructor's Unix
accounts. The course's ``.venv`` is usually built from a Python those accounts can run (the
system's, or one under ``/opt``); then that is what they run. When its interpreter lives in a
folder others cannot enter (pyenv under ``/root``), ``hub/.python`` is made instead: a virtualenv
of a world-usable interpreter of the same major.minor version (so the compiled wheels fit) whose
``lib/``, ``etc/`` and ``share/`` are hard links to the course's: the packages installed once,
not twice, and inside the virtualenv itself, so the grader's sandbox (which binds ``sys.prefix``)
sees them. ``make hub`` rebuilds it whenever ``.venv`` changes.
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
#: Where a world-usable interpreter of the course's version is looked for, in this order.
CANDIDATES = ("/usr/bin/python{v}", "/usr/local/bin/python{v}")


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


def build(venv: Path = VENV, copy: Path = COPY) -> Path:
    """Make :func:`python_for_users` ready; returns it. Rebuilds ``copy`` when ``venv`` is newer."""
    if course_python_usable(venv):
        shutil.rmtree(copy, ignore_errors=True)
        return venv_python(venv)
    version = subprocess.run([str(venv_python(venv)), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    system = next((Path(c.format(v=version)) for c in CANDIDATES
                   if Path(c.format(v=version)).exists() and usable_by_all(Path(c.format(v=version)))), None)
    if system is None:
        raise SystemExit(f"the course's Python ({os.path.realpath(venv_python(venv))}) is in a folder other accounts "
                         f"cannot enter, and no python{version} they can run was found ({', '.join(CANDIDATES)}): "
                         f"install python{version} (e.g. apt-get install python{version}-venv) or rebuild .venv "
                         f"with PYTHON=/usr/bin/python{version}")
    stamp = copy / ".built-from"
    # the course's and the hub's install stamps (Makefile): a new install means a new copy
    marker = " ".join(str(p.stat().st_mtime_ns) for p in sorted(venv.glob(".conv-course*-installed"))) or "unknown"
    if stamp.exists() and stamp.read_text() == marker:
        return venv_python(copy)
    subprocess.run(["rm", "-rf", str(copy)], check=True)  # 70,000 files: rm is far faster than rmtree
    subprocess.run([str(system), "-m", "venv", "--without-pip", str(copy)], check=True)
    for part in ("lib", "etc", "share"):
        if (venv / part).is_dir():
            subprocess.run(["rm", "-rf", str(copy / part)], check=True)
            subprocess.run(["cp", "-al", str(venv / part), str(copy / part)], check=True)
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
