"""The gradebook on a real PostgreSQL server: two graders writing one gradebook side by side
lose nothing, a grader killed with SIGKILL mid-batch leaves no half-recorded submission and a
re-run completes the batch, and a refused login is one clear line.

The server is the one ``.ci/run`` starts (Debian's postgresql on loopback); its URL comes
from ``CONV_COURSE_PG_URL`` (a role allowed to create databases). Each test gets a database
of its own, dropped afterwards.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

import pytest

from tests.courses import (CH1, WRONG_CONVOLVE, csv_scores, digest, env, gradebook_scores, make_course, submit)
from tests.support import student_notebook

pytestmark = pytest.mark.slow

PG_URL = os.environ.get("CONV_COURSE_PG_URL", "postgresql://conv_course:conv_course@127.0.0.1:5432/conv_course")


def _connect(url: str, **kwargs):
    import psycopg
    from sqlalchemy.engine import make_url

    u = make_url(url)
    return psycopg.connect(host=u.host, port=u.port or 5432, user=u.username, password=u.password,
                           dbname=u.database, connect_timeout=3, **kwargs)


@pytest.fixture
def pg_db():
    """A fresh, empty database on the test server: its URL."""
    try:
        admin = _connect(PG_URL, autocommit=True)
    except Exception as exc:  # noqa: BLE001 - any failure to reach the server is a reason to skip
        reason = (f"no PostgreSQL server reachable at CONV_COURSE_PG_URL ({PG_URL.rsplit('@', 1)[-1]}): "
                  f"{str(exc).strip().splitlines()[0]}. Start it as .ci/run does (pg_ctlcluster 15 main start, "
                  "role conv_course with CREATEDB)")
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI is set, and .ci/run always starts the server)")
        pytest.skip(reason)
    name = f"conv_course_test_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    from sqlalchemy.engine import make_url

    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _grade_cmd(course, url, workers=1, out="grading-out"):
    return [sys.executable, "-m", "grader", "autograde", str(course / "submitted"), "--out", str(course / out),
            "--db", url, "--workers", str(workers)]


def _complete(url: str) -> dict[str, int]:
    """Per submission: how many of its grade cells have no auto score (0 = completely recorded)."""
    from nbgrader.api import Gradebook
    from sqlalchemy import create_engine, inspect

    engine = create_engine(url)
    try:
        with engine.connect() as connection:  # never create nbgrader's tables under the grader's feet
            if "alembic_version" not in inspect(connection).get_table_names():
                return {}
    finally:
        engine.dispose()
    with Gradebook(url, "conv-course") as gb:
        return {s.student.id: sum(g.auto_score is None for nb in s.notebooks for g in nb.grades) +
                sum(len(n.grade_cells) for n in a.notebooks) - sum(len(nb.grades) for nb in s.notebooks)
                for a in gb.assignments for s in a.submissions}


def test_two_graders_side_by_side_into_one_postgres_gradebook(tmp_path, pg_db):
    """Two batches at once (two processes, two workers each), both creating the assignment and
    their students in the same database: every submission and every score arrives."""
    answers = ["solution", "blank", WRONG_CONVOLVE]
    courses = []
    for batch in range(2):
        course = make_course(tmp_path / f"section{batch}")
        for i in range(3):
            submit(course, f"s{batch}{i}", student_notebook(CH1, answers[i]))
        courses.append(course)
    procs = [subprocess.Popen(_grade_cmd(c, pg_db, workers=2), cwd=c, env=env(), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for c in courses]
    outputs = [p.communicate(timeout=900) for p in procs]
    for p, (out, err) in zip(procs, outputs):
        assert p.returncode == 0, err
        assert "3 recorded in the gradebook postgresql://conv_course:***@" in out, out
    expected = {**csv_scores(courses[0] / "grading-out" / "grades.csv"),
                **csv_scores(courses[1] / "grading-out" / "grades.csv")}
    assert len(expected) == 6 * 5
    assert gradebook_scores(pg_db) == expected
    for course in courses:
        assert len(list((course / "autograded").glob(f"*/{CH1}/{CH1}.ipynb"))) == 3


def test_kill_9_mid_batch_leaves_nothing_half_recorded_and_a_rerun_completes(tmp_path, pg_db):
    course = make_course(tmp_path / "course")
    students = [f"k{i}" for i in range(4)]
    for i, student in enumerate(students):
        submit(course, student, student_notebook(CH1, ["solution", WRONG_CONVOLVE, "blank"][i % 3]))
    before = digest(course / "submitted")
    log = (tmp_path / "killed.log").open("w")
    proc = subprocess.Popen(_grade_cmd(course, pg_db, workers=1), cwd=course, env=env(), stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 600
    recorded = {}
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                recorded = _complete(pg_db)
            except Exception:  # noqa: BLE001 - the schema may not exist yet
                recorded = {}
            if len(recorded) >= 2:
                break
            time.sleep(0.2)
        assert proc.poll() is None, f"the batch ended before it could be killed:\n{(tmp_path / 'killed.log').read_text()}"
        os.kill(proc.pid, signal.SIGKILL)  # the grader itself, as a crash or an OOM kill would
        proc.wait()
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # and what it left behind (its sandboxes)
        except ProcessLookupError:
            pass
        log.close()
    after_kill = _complete(pg_db)
    assert 2 <= len(after_kill) < len(students), after_kill
    assert all(missing == 0 for missing in after_kill.values()), f"half-recorded submissions: {after_kill}"
    for student in after_kill:  # each recorded submission has its graded notebook
        assert (course / "autograded" / student / CH1 / f"{CH1}.ipynb").is_file()
    assert digest(course / "submitted") == before

    rerun = subprocess.run(_grade_cmd(course, pg_db, workers=2, out="rerun"), cwd=course, env=env(),
                           capture_output=True, text=True, timeout=900)
    assert rerun.returncode == 0, rerun.stderr
    assert _complete(pg_db) == {s: 0 for s in students}
    assert gradebook_scores(pg_db) == csv_scores(course / "rerun" / "grades.csv")
    assert digest(course / "submitted") == before


def test_postgres_refusing_the_login_is_one_line(tmp_path, pg_db):
    from sqlalchemy.engine import make_url

    course = make_course(tmp_path / "course")
    submit(course, "ann", student_notebook(CH1))
    before = digest(course / "submitted")
    wrong = make_url(pg_db).set(password="not-the-password").render_as_string(hide_password=False)
    result = subprocess.run(_grade_cmd(course, wrong), cwd=course, env=env(), capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 3
    line = result.stderr.strip()
    assert "\n" not in line and "refused the login of user conv_course" in line, line
    assert "not-the-password" not in line
    assert digest(course / "submitted") == before and not (course / "autograded").exists()


def test_graders_opening_a_new_postgres_gradebook_at_once_all_get_in(tmp_path, pg_db):
    """Eight graders open one empty gradebook at the same instant: nbgrader's tables, its schema
    stamp and its course row are created once, and no grader loses the race to create them."""
    import threading

    from nbgrader.api import Course, Gradebook

    from grader.grading.gradebook import Recorder

    course = make_course(tmp_path)
    start = threading.Barrier(8)
    failures: list[str] = []

    def open_one() -> None:
        start.wait()
        try:
            Recorder(course, pg_db).close()
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            failures.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=open_one) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    with Gradebook(pg_db, "conv-course") as gb:
        assert [c.id for c in gb.db.query(Course).all()] == ["conv-course"]
