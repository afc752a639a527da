"""Recording overhead: the same batch graded without a gradebook, into SQLite and into PostgreSQL.

``--students`` chapter-1 submissions (40% right, 40% partly wrong, 20% blank) in nbgrader's layout
(``submitted/<student>/<chapter>/``) are graded three times by ``python -m grader autograde``'s
Python API, sandbox on, ``--workers`` = cores:

* without a gradebook;
* into nbgrader's default SQLite ``gradebook.db`` (a new one: the assignment is created too);
* into PostgreSQL (``CONV_COURSE_PG_URL``, a fresh database dropped afterwards); skipped with a
  line saying why when no server answers.

For each it prints the batch's seconds, the seconds spent recording (opening the gradebook,
creating the assignment, every submission's notebook and transaction, measured inside the
recorder) and their share of the batch, and the wall-clock ratio to the run without a gradebook.
The share is the figure to trust on a shared machine; the wall-clock ratio also carries the noise
of whatever else runs. Goal: recording under 5% of grading time. Writes
``benchmarks/results/gradebook.json``.

    sudo .venv/bin/python -m benchmarks.gradebook [--students 12]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from pathlib import Path

from benchmarks.common import one_thread, save, table

CHAPTER = "01-convolution-by-hand"


def make_course(course: Path, n: int) -> None:
    from benchmarks.grading import make_submissions
    from tests.courses import submit
    from grader.authoring import notebooks

    lms = course.parent / "lms"
    make_submissions(lms, n)
    for student_dir in sorted(lms.iterdir()):
        submit(course, student_dir.name, notebooks.read(student_dir / f"{CHAPTER}.ipynb"))


def run(course: Path, out: Path, workers: int, url: str | None) -> tuple[float, float]:
    """Seconds for the whole batch (gradebook opened inside the timing) and seconds spent recording."""
    from grader.grading.autograde import autograde
    from grader.grading.gradebook import Recorder

    start = time.perf_counter()
    opened = time.perf_counter()
    recorder = Recorder(course, url) if url else None
    opening = time.perf_counter() - opened
    try:
        autograde(course / "submitted", out, workers=workers, progress=False, gradebook=recorder)
    finally:
        if recorder is not None:
            recorder.close()
    seconds = time.perf_counter() - start
    recording = opening + recorder.summary.seconds if recorder else 0.0
    if recorder is not None:
        assert len(recorder.summary.recorded) == len(list((course / "submitted").iterdir())), recorder.summary.problems
    return seconds, recording


def postgres() -> tuple[str | None, str, object]:
    """A fresh PostgreSQL database: (its URL or None, why not, a function dropping it)."""
    url = os.environ.get("CONV_COURSE_PG_URL", "postgresql://conv_course:conv_course@127.0.0.1:5432/conv_course")
    try:
        import psycopg
        from sqlalchemy.engine import make_url

        u = make_url(url)
        admin = psycopg.connect(host=u.host, port=u.port or 5432, user=u.username, password=u.password,
                                dbname=u.database, connect_timeout=3, autocommit=True)
    except Exception as exc:  # noqa: BLE001
        return None, f"no PostgreSQL server at CONV_COURSE_PG_URL: {str(exc).strip().splitlines()[0]}", lambda: None
    name = f"conv_course_bench_{uuid.uuid4().hex[:10]}"
    admin.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()

    return u.set(database=name).render_as_string(hide_password=False), "", drop


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=12)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    one_thread()
    rows, figures = [], {"submissions": args.students, "workers": args.workers, "runs": {}}
    with tempfile.TemporaryDirectory(prefix="bench-gradebook-") as tmp:
        tmp = Path(tmp)
        pg_url, why, drop = postgres()
        try:
            runs = [("none", None), ("sqlite", f"sqlite:///{tmp / 'sqlite' / 'course' / 'gradebook.db'}"),
                    ("postgresql", pg_url)]
            baseline = None
            for name, url in runs:
                if name == "postgresql" and url is None:
                    print(f"postgresql: skipped ({why})")
                    continue
                course = tmp / name / "course"
                make_course(course, args.students)
                seconds, recording = run(course, tmp / name / "out", args.workers, url)
                baseline = baseline or seconds
                share = recording / seconds
                print(f"{name}: {seconds:.1f} s, recording {recording:.2f} s ({share:.1%})", flush=True)
                rows.append([name, round(seconds, 1), round(recording, 2), f"{share:.1%}", f"{seconds / baseline:.3f}"])
                figures["runs"][name] = {"seconds": round(seconds, 2), "recording_seconds": round(recording, 3),
                                         "recording_share": round(share, 4), "ratio_to_none": round(seconds / baseline, 3)}
        finally:
            drop()
    print(table(["gradebook", "batch seconds", "recording seconds", "share of batch", "wall-clock vs none"], rows))
    worst = max((r["recording_share"] for k, r in figures["runs"].items() if k != "none"), default=0.0)
    print(f"recording costs at most {worst:.1%} of grading time (goal: under 5%)")
    path = save("gradebook", figures)
    print(f"wrote {path}")
    return figures


if __name__ == "__main__":
    main()
