"""The launch badges: Binder builds the pinned environment, Colab's set-up cell installs the course.

Binder: repo2docker itself (``--no-build``, no Docker needed) must pick the conda build from
``environment.yml`` with Python 3.11 and run ``postBuild``, which installs the course.

Colab: a chapter's set-up cell, run where the course is not installed, installs it.

The test makes a fresh virtualenv outside the repository that sees the course's installed
dependencies (torch, matplotlib...) but not the course itself, runs chapter 1's set-up cell
there from a temporary folder with ``CONV_COURSE_SOURCE`` pointing at this checkout (on Colab
it is the GitHub repository), and checks that the cell installed ``helpers`` into that
virtualenv and that its imports worked. PyPI is the only network it may use (pip's build).
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_repo2docker_builds_the_pinned_conda_environment_and_installs_the_course():
    done = subprocess.run([str(Path(sys.executable).parent / "repo2docker"), "--no-build", "--debug", str(ROOT)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    dockerfile = done.stdout + done.stderr
    assert "Building conda environment for python=3.11" in dockerfile
    assert '--file "environment.yml"' in dockerfile and "RUN ./postBuild" in dockerfile
    assert "pip install --no-deps -e ." in (ROOT / "postBuild").read_text()
    assert not (ROOT / "binder").exists() and not (ROOT / ".binder").exists(), "a binder/ folder hides the root files"


def _setup_cell(chapter: str) -> str:
    nb = nbformat.read(str(ROOT / "notebooks" / chapter / f"{chapter}.ipynb"), as_version=4)
    return next(c.source for c in nb.cells if c.cell_type == "code")


@pytest.mark.slow
def test_setup_cell_installs_the_helpers_outside_the_repository(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
    python = venv / "bin" / "python"
    target = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                 capture_output=True, text=True, check=True).stdout.strip())
    # the course's dependencies, as a Colab runtime has its own torch and friends; not the course itself
    shared = tmp_path / "deps"
    shared.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        name = entry.name.lower()
        if not (name.startswith(("conv_course", "__editable__", "_conv_course", "helpers", "grader", "pip"))
                or name.endswith(".pth")):
            (shared / entry.name).symlink_to(entry)
    (target / "course-deps.pth").write_text(f"{shared}\n")
    cell = _setup_cell("01-convolution-by-hand")
    code = cell + "\nimport helpers, helpers.checks\nprint('helpers from', helpers.__file__)\n"
    work = tmp_path / "colab"
    work.mkdir()
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path), "CONV_COURSE_SOURCE": str(ROOT),
           "OMP_NUM_THREADS": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    before = subprocess.run([str(python), "-c", "import helpers"], capture_output=True, text=True, cwd=work, env=env)
    assert before.returncode != 0, "the fresh virtualenv must not see the course before the cell runs"
    done = subprocess.run([str(python), "-c", code], capture_output=True, text=True, cwd=work, env=env, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"helpers from {target}" in done.stdout, done.stdout
    again = subprocess.run([str(python), "-c", cell], capture_output=True, text=True, cwd=work,
                           env=dict(env, CONV_COURSE_SOURCE="/nonexistent"), timeout=300)
    assert again.returncode == 0, "with helpers installed the cell must not install again: " + again.stderr


def test_every_chapter_setup_cell_has_the_same_install_guard():
    cells = [_setup_cell(p.name) for p in sorted((ROOT / "notebooks").glob("[0-9][0-9]-*/"))]
    guards = {c.split("\n\n", 1)[0] for c in cells}
    assert len(guards) == 1 and 'find_spec("helpers") is None' in guards.pop()
