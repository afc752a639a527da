"""The README's deployment guide (*A class on JupyterHub*), its commands run as they are written.

Each command is read from the README itself, not copied here: only ``~ines`` (a temporary home),
``/var/backups`` (a temporary folder), the scheduler's port ``8786`` (a free one) and ``HEAD``
(127.0.0.1) are replaced, and the class of 200 is a class of 3. A last test checks that every
command of the section is one a test runs: these, or the accounts and ``make hub`` of ``tests/hubs.py``
(which ``tests/test_hub.py`` runs, with ``--home-dir`` under a temporary folder).
"""

from __future__ import annotations

import inspect
import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from grader.authoring.config import ROOT
from hub import classroom
from tests import hubs
from tests.courses import CH1, digest, env, submit
from tests.lab import free_port
from tests.support import stop_process_groups, student_notebook

SECTION = "### A class on JupyterHub"
#: The guide's commands that tests/hubs.py runs (tests/test_hub.py), each with the words hubs.py must hold.
RUN_BY_HUBS = {
    "useradd --create-home --shell /bin/sh --user-group ada": ['"useradd", "--create-home"', '"--shell", "/bin/sh"',
                                                              '"--user-group"'],
    "echo 'ada:a-password-for-ada' | chpasswd": ['["chpasswd"], input=f"{name}:{made[role].password}\\n"'],
    "make hub HUB_CLASS=/etc/conv-course/class.toml": ['"make", "--no-print-directory", "hub", f"HUB_CLASS={path}"'],
}
#: The first words of the commands this file runs.
RUN_HERE = ("sqlite3 ", "tar -C ~ines -czf", "tar -C ~ines -xzf", "cp /var/backups/", ".venv/bin/dask scheduler",
            ".venv/bin/dask worker", "cd ~ines/conv-course", "python -m grader autograde submitted",
            "python -m hub.findings .")
CLASS = """
[[course]]
id = "conv-course"
instructors = ["root"]
learners = [{ id = "ada", first_name = "Ada", last_name = "Lovelace" }, "alan", "grace"]
"""
#: alan edits a test cell (graded with the original, flagged); grace calls F.conv2d in a by-hand answer (flagged).
ANSWERS = {"ada": "solution",
           "alan": {"quiz_edge_kernel_answer": 'quiz_edge_kernel = "right_edge"'},
           "grace": {"convolve_answer": "def convolve(img, kernel):\n"
                                        "    return F.conv2d(img[None, None], kernel[None, None])[0, 0]"}}


def guide_commands() -> list[str]:
    """The ``$ `` lines of the section's bash blocks, in order, comments and all."""
    readme = (ROOT / "README.md").read_text()
    start = readme.index(SECTION)
    end = readme.index("\n### ", start + len(SECTION))
    blocks = re.findall(r"```bash\n(.*?)```", readme[start:end], re.S)
    return [line[2:] for block in blocks for line in block.splitlines() if line.startswith("$ ")]


def command(first_words: str) -> str:
    found = [c for c in guide_commands() if c.startswith(first_words)]
    assert len(found) == 1, f"the guide has {len(found)} commands starting {first_words!r}: {found}"
    return found[0]


def as_here(line: str, home: Path, backups: Path | None = None, port: int | None = None) -> str:
    line = line.replace("~ines", str(home))
    if backups is not None:
        line = line.replace("/var/backups", str(backups))
    if port is not None:
        line = line.replace("8786", str(port)).replace("HEAD", "127.0.0.1")
    return line


def bash(script: str, cwd: Path, timeout: float = 900) -> subprocess.CompletedProcess:
    result = subprocess.run(["bash", "-e", "-c", script], cwd=cwd, env=env(PYTHONPATH=str(ROOT)),
                            capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{script}\n{result.stdout}\n{result.stderr}"
    return result


def course(home: Path) -> Path:
    """``home/conv-course`` as ``make hub`` prepares it: its nbgrader_config.py and roster from a class file."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "class.toml").write_text(CLASS)
    cls = classroom.load(home / "class.toml")
    folder = home / "conv-course"
    folder.mkdir()
    (folder / "nbgrader_config.py").write_text(classroom.course_config(cls.courses[0], cls, directory=folder))
    classroom.enrol(cls.courses[0], folder / "gradebook.db")
    return folder


@pytest.mark.slow
def test_the_backup_and_restore_commands_bring_a_course_back(tmp_path):
    from nbgrader.api import Gradebook

    if shutil.which("sqlite3") is None:
        pytest.fail("sqlite3 is missing (apt-get install sqlite3): the guide's backup needs it")
    home, backups = tmp_path / "ines", tmp_path / "backups"
    backups.mkdir()
    folder = course(home)
    submit(folder, "ada", student_notebook(CH1))
    db = f"sqlite:///{folder / 'gradebook.db'}"
    with Gradebook(db, "conv-course") as gb:  # an open session of the formgrader's, reading, while the backup runs
        gb.update_or_create_student("ada", email="ada@example.org")
        for first in ("sqlite3 ", "tar -C ~ines -czf"):
            bash(as_here(command(first), home, backups), cwd=tmp_path)
    assert (backups / "conv-course-gradebook.db").is_file() and (backups / "conv-course.tar.gz").is_file()

    before = {name: sha for name, sha in digest(folder).items() if name != "gradebook.db"}  # read back above
    shutil.rmtree(folder)  # the course lost
    for first in ("tar -C ~ines -xzf", "cp /var/backups/"):
        bash(as_here(command(first), home, backups), cwd=tmp_path)
    with Gradebook(db, "conv-course") as gb:
        ada = gb.find_student("ada")
        assert (ada.first_name, ada.last_name, ada.email) == ("Ada", "Lovelace", "ada@example.org")
        assert {s.id for s in gb.students} == {"ada", "alan", "grace"}
    assert {name: sha for name, sha in digest(folder).items() if name != "gradebook.db"} == before
    assert len(before) == 3  # the submission, its timestamp, nbgrader_config.py


@pytest.mark.slow
def test_a_class_graded_on_dask_workers_with_the_guides_commands(tmp_path):
    """The class of 200's commands on a class of 3: a scheduler, two workers, the instructor's three lines."""
    from nbgrader.api import Gradebook

    home = tmp_path / "ines"
    folder = course(home)
    for learner, answers in ANSWERS.items():
        nb = student_notebook(CH1, answers)
        if learner == "alan":  # and the test cell of that answer edited to pass
            test_cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "quiz_edge_kernel")
            test_cell.source = "pass  # trust me"
        submit(folder, learner, nb)
    port = free_port()
    daemons = []

    def start(line: str) -> None:
        daemons.append(subprocess.Popen(["bash", "-c", f"exec {as_here(line, home, port=port)}"], cwd=ROOT,
                                        env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        start_new_session=True))

    try:
        start(command(".venv/bin/dask scheduler"))
        for _ in range(2):
            start(command(".venv/bin/dask worker"))
        from distributed import Client

        with Client(f"tcp://127.0.0.1:{port}", timeout=120) as client:
            client.wait_for_workers(2, timeout=120)
        instructor = [command(first) for first in ("cd ~ines/conv-course", "python -m grader autograde submitted",
                                                   "python -m hub.findings .")]
        started = time.monotonic()
        result = bash("\n".join(as_here(line, home, port=port) for line in instructor), cwd=tmp_path)
        print(f"a class of 3 graded on 2 Dask workers in {time.monotonic() - started:.1f} s")
    finally:
        stop_process_groups(daemons)
    assert "3 of 3 submissions graded" in result.stdout and "3 recorded in the gradebook" in result.stdout, result.stdout
    report = json.loads((folder / "grading-out" / "report.json").read_text())
    assert report["sandbox"]["scheduler"] == f"tcp://127.0.0.1:{port}"
    assert f"alan {CH1}: flagged, 1 finding(s)" in result.stdout and f"grace {CH1}: flagged" in result.stdout
    with Gradebook(f"sqlite:///{folder / 'gradebook.db'}", "conv-course") as gb:
        assert gb.find_submission(CH1, "ada").score == 8
        assert [gb.find_submission_notebook(CH1, CH1, s).flagged for s in ("ada", "alan", "grace")] == \
            [False, True, True]


def test_every_command_of_the_guide_is_run_by_a_test():
    commands = guide_commands()
    assert len(commands) == len(set(commands)) and len(commands) >= len(RUN_BY_HUBS) + len(RUN_HERE)
    left = [c for c in commands if c not in RUN_BY_HUBS and not c.startswith(RUN_HERE)]
    assert left == [], f"commands of the README's hub guide no test runs: {left}"
    for first in RUN_HERE:
        command(first)  # each is there, once
    source = inspect.getsource(hubs)
    for line, words in RUN_BY_HUBS.items():
        assert line in commands, f"the guide no longer says {line!r}: update RUN_BY_HUBS"
        for word in words:
            assert word in source, f"tests/hubs.py no longer runs {line!r} ({word} is not in it)"
