"""What the grader writes for the instructor is theirs to read, under the README's ``sudo`` too.

Run as root with ``sudo``'s ``SUDO_UID``/``SUDO_GID`` (here: the real user ``conv-course-ci``), every file and
folder in ``grading-out/`` and ``autograded/`` belongs to that user; without ``sudo`` they carry the umask's mode
(``0644``, not ``mkstemp``'s root-only ``0600``), so another real account reads them. ``nbgrader export``'s
``grades.csv`` at the course root is git-ignored."""

from __future__ import annotations

import os
import pwd
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

from grader.authoring.config import ROOT
from tests.courses import CH1

USER = "conv-course-ci"


def _account():
    if os.geteuid() != 0:
        pytest.skip("needs root (sudo is what is simulated)")
    try:
        return pwd.getpwnam(USER)
    except KeyError:
        pytest.skip(f"the Unix user {USER} does not exist")


@pytest.fixture
def course(monkeypatch):
    """A course folder other users may enter (pytest's own tmp_path is root-only), with umask 022."""
    folder = Path(tempfile.mkdtemp(prefix="conv-course-owner-"))
    os.chmod(folder, 0o755)
    before = os.umask(0o022)
    yield folder
    os.umask(before)
    subprocess.run(["rm", "-rf", str(folder)], check=False)


def _write_everything(course: Path) -> None:
    """What a graded batch writes: the gradebook and autograded/, grades, report, feedback, class report."""
    from grader.grading.batch import write_all
    from grader.grading.config import GradingConfig
    from grader.grading.gradebook import Recorder
    from grader.grading.records import make_dirs
    from grader.grading.results import Result

    rows = [{"exercise": "top_edge", "title": "", "score": 1.0, "max_score": 1.0, "status": "passed",
             "message": "", "hint": None}]
    result = Result("ann", f"{CH1}.ipynb", CH1, "graded", "", 1.0, 8.0, rows)
    with Recorder(course, f"sqlite:///{course / 'gradebook.db'}") as recorder:
        recorder.prepare([CH1])
        assert recorder.record(result, None) is None
        out = make_dirs(course / "grading-out")
        write_all([result], out, {}, None, course, GradingConfig(similarity=False), recorder, None)


def _tree(course: Path) -> list[Path]:
    return [p for top in ("grading-out", "autograded") for p in [course / top, *(course / top).rglob("*")]]


def _as_user(account, *command: str) -> subprocess.CompletedProcess:
    return subprocess.run(["setpriv", f"--reuid={account.pw_uid}", f"--regid={account.pw_gid}", "--clear-groups",
                           *command], capture_output=True, text=True, timeout=60)


def test_under_sudo_every_output_belongs_to_the_user_who_ran_it(course, monkeypatch):
    account = _account()
    monkeypatch.setenv("SUDO_UID", str(account.pw_uid))
    monkeypatch.setenv("SUDO_GID", str(account.pw_gid))
    _write_everything(course)
    tree = _tree(course)
    names = {p.name for p in tree}
    assert {"grades.csv", "report.json", "class-report.html", "class-report.csv", f"{CH1}.html",
            f"{CH1}.ipynb", "ann", CH1} <= names, names
    wrong = [(str(p), p.stat().st_uid, oct(p.stat().st_mode)) for p in tree
             if (p.stat().st_uid, p.stat().st_gid) != (account.pw_uid, account.pw_gid)
             or stat.S_IMODE(p.stat().st_mode) != (0o755 if p.is_dir() else 0o644)]
    assert not wrong, f"not the invoking user's, or not the umask's mode: {wrong}"
    assert (course / "gradebook.db").stat().st_uid == account.pw_uid, "the formgrader (the instructor) writes it"
    # the instructor, as themselves: reads every file, and may replace them (a later run without sudo)
    files = [str(p) for p in tree if p.is_file()]
    assert _as_user(account, "cat", *files).returncode == 0
    removed = _as_user(account, "rm", "-r", str(course / "grading-out" / "feedback"),
                       str(course / "grading-out" / "grades.csv"), str(course / "autograded" / "ann"))
    assert removed.returncode == 0, removed.stderr


def test_without_sudo_outputs_carry_the_umasks_mode(course, monkeypatch):
    account = _account()
    monkeypatch.delenv("SUDO_UID", raising=False)
    monkeypatch.delenv("SUDO_GID", raising=False)
    _write_everything(course)
    tree = _tree(course)
    assert {p.stat().st_uid for p in tree} == {0}, "no sudo: the files are the user's who ran it"
    modes = {str(p): oct(stat.S_IMODE(p.stat().st_mode)) for p in tree}
    assert all(mode == ("0o755" if Path(p).is_dir() else "0o644") for p, mode in modes.items()), modes
    read = _as_user(account, "cat", str(course / "grading-out" / "grades.csv"),
                    str(course / "grading-out" / "class-report.html"),
                    str(course / "autograded" / "ann" / CH1 / f"{CH1}.ipynb"))
    assert read.returncode == 0 and "student,assignment" in read.stdout, read.stderr


def test_a_sudo_without_a_user_changes_no_owner(monkeypatch):
    from grader.grading.records import invoker

    monkeypatch.setenv("SUDO_UID", "0")
    assert invoker() is None
    monkeypatch.setenv("SUDO_UID", "not a number")
    assert invoker() is None
    monkeypatch.delenv("SUDO_UID")
    assert invoker() is None


def test_nbgrader_exports_grades_csv_is_git_ignored():
    for path in ("grades.csv", "gradebook.db", "autograded/ann/x.ipynb"):
        found = subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT)
        assert found.returncode == 0, f"{path} is not git-ignored"
    assert subprocess.run(["git", "check-ignore", "-q", "solutions/grades.csv"], cwd=ROOT).returncode == 1
