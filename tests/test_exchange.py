"""nbgrader's exchange end to end on one machine, as a real instructor (root) and a real learner
(an ordinary Unix user made for the test): release, fetch, answer, submit, collect, grade with
the course's grader, generate and release feedback, fetch the feedback and read the score.

Every step is nbgrader's own command, with a temporary exchange; only grading is the course's
``python -m grader autograde``, which records into the course's gradebook so that nbgrader's
``generate_feedback`` and ``release_feedback`` work on its results unchanged.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from pathlib import Path

import pytest

from grader.authoring.config import ROOT
from tests.courses import CH1, csv_scores, digest, grade, make_course, nbgrader
from tests.support import solution_code
from tests.unix_users import learner, run_as, why_not

pytestmark = pytest.mark.slow

#: The learner's one wrong answer: 7 of chapter 1's 8 points.
WRONG = {"quiz_edge_kernel_answer": 'quiz_edge_kernel = "right_edge"'}

_ANSWER = """import json, sys
path, answers = sys.argv[1], json.load(open(sys.argv[2]))
nb = json.load(open(path))
for cell in nb["cells"]:
    gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    if gid in answers:
        cell["source"] = answers[gid]
json.dump(nb, open(path, "w"), indent=1)
"""


@pytest.fixture
def place():
    """A folder every user can enter (pytest's own tmp folders are root's alone); removed afterwards."""
    why = why_not()
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"the exchange test needs a learner account: {why} (CI is set: .ci/run runs as root)")
        pytest.skip(f"the exchange test needs a learner account: {why}")
    folder = Path(tempfile.mkdtemp(prefix="conv-course-exchange-", dir="/tmp"))
    os.chmod(folder, 0o755)
    try:
        yield folder
    finally:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


def test_release_fetch_submit_collect_grade_feedback_as_real_users(place):
    exchange = place / "exchange"
    exchange.mkdir()
    os.chmod(exchange, 0o1777)  # as nbgrader's docs ask: everyone writes, the sticky bit protects
    course = make_course(place / "course", exchange=exchange)
    released = digest(ROOT / "notebooks")
    homes = place / "home"
    homes.mkdir()
    os.chmod(homes, 0o755)
    answers = {**solution_code(CH1), **WRONG}
    (place / "answers.json").write_text(json.dumps(answers))
    os.chmod(place / "answers.json", 0o644)
    as_learner = ["--course", "conv-course", f"--Exchange.root={exchange}"]

    with learner(homes) as user:
        def learner_runs(*argv: str):
            result = run_as(user, list(argv), cwd=user.home)
            assert result.returncode == 0, f"{argv} as {user.name} failed:\n{result.stdout}\n{result.stderr}"
            return result

        # the instructor releases chapter 1 (from notebooks/, as committed)
        nbgrader(course, "release_assignment", CH1)
        # the learner fetches, answers and submits
        learner_runs(sys.executable, "-m", "nbgrader", "fetch_assignment", CH1, *as_learner)
        fetched = user.home / CH1 / f"{CH1}.ipynb"
        assert fetched.stat().st_uid == user.uid
        learner_runs(sys.executable, "-c", _ANSWER, str(fetched), str(place / "answers.json"))
        learner_runs(sys.executable, "-m", "nbgrader", "submit", CH1, *as_learner)
        # the instructor collects and grades with the course's grader
        nbgrader(course, "collect", CH1)
        submitted = course / "submitted" / user.name / CH1
        assert (submitted / f"{CH1}.ipynb").is_file() and (submitted / "timestamp.txt").is_file()
        graded = grade(course, "--workers", "1")
        assert graded.returncode == 0, graded.stderr
        assert f"1 recorded in the gradebook sqlite:///{course / 'gradebook.db'}" in graded.stdout
        total = sum(csv_scores(course / "grading-out" / "grades.csv").values())
        assert total == 7.0
        nbgrader(course, "generate_feedback", CH1)
        nbgrader(course, "release_feedback", CH1)
        # the learner fetches the feedback and sees the score
        learner_runs(sys.executable, "-m", "nbgrader", "fetch_feedback", CH1, *as_learner)
        pages = list((user.home / CH1 / "feedback").glob(f"*/{CH1}.html"))
        assert len(pages) == 1, list((user.home / CH1).rglob("*"))
        assert pages[0].stat().st_uid == user.uid
        page = pages[0].read_text()
        assert f"{CH1} (Score: {total:.1f} / 8.0)" in page
        assert "<script" not in page.lower() and not re.search(r"""(src|href)=["']?(https?:)?//""", page)
        assert "hidden=True" not in page and "BEGIN HIDDEN TESTS" not in page
    assert digest(ROOT / "notebooks") == released, "releasing changed notebooks/"
