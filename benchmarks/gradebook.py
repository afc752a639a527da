"""Recording overhead: the same batch graded without a gradebook, into SQLite and into PostgreSQL.

``--students`` chapter-1 submissions (40% right, 40% partly wrong, 20% blank) in nbgrader's layout
(``submitted/<student>/<chapter>/``) are graded three times by ``python -m grader autograde``'s
Python API, sandbox on, ``--workers`` = cores:

* without a gradebook;
* into nbgrader's default SQLite ``gradebook.db`` (a new one: the assignment is created too);
* into PostgreSQL (``CONV_COURSE_PG_URL``, a fresh database dropped afterwards); skipped with a
  line saying why when no server answers.

For each it prints the batch's seconds; the time spent recording the submissions (each graded
notebook and its transaction, measured inside the recorder) per submission and as a share of the
grading; the one-time set-up of a batch (importing nbgrader, the schema of a new gradebook, the
assignment), apart, with the share of the whole batch it all makes and the class size from which
that whole share is under 5%; and the wall-clock ratio to the run without a gradebook. The shares
are the figures to trust on a shared machine; the wall-clock ratio also carries the noise of
whatever else runs. Goal: recording under 5% of grading time. Writes
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


def run(course: Path, out: Path, workers: int, url: str | None) -> tuple[float, float, float]:
    """Seconds for the whole batch (gradebook opened inside the timing), seconds spent recording the
    submissions, and the batch's one-time set-up (importing nbgrader, the schema, the assignment)."""
    from grader.grading.autograde import autograde
    from grader.grading.gradebook import Recorder

    start = time.perf_counter()
    recorder = Recorder(course, url) if url else None
    try:
        autograde(course / "submitted", out, workers=workers, progress=False, gradebook=recorder)
    finally:
        if recorder is not None:
            recorder.close()
    seconds = time.perf_counter() - start
    if recorder is None:
        return seconds, 0.0, 0.0
    assert len(recorder.summary.recorded) == len(list((course / "submitted").iterdir())), recorder.summary.problems
    return seconds, recorder.summary.seconds, recorder.summary.setup_seconds


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
                seconds, recording, setup = run(course, tmp / name / "out", args.workers, url)
                baseline = baseline or seconds
                n = args.students
                # per submission: recording's seconds against the grading's (the batch without the set-up)
                per_sub = recording / n
                share = recording / max(seconds - setup - recording, 1e-9)
                whole = (recording + setup) / seconds
                # the class size at which set-up plus recording fall under 5% of the batch
                grading_per_sub = (seconds - setup - recording) / n
                breakeven = setup / (0.05 * grading_per_sub - per_sub) if 0.05 * grading_per_sub > per_sub else None
                print(f"{name}: {seconds:.1f} s; recording {recording:.2f} s ({per_sub * 1000:.0f} ms a submission, "
                      f"{share:.1%} of grading); set-up {setup:.2f} s; all of it {whole:.1%} of this batch",
                      flush=True)
                rows.append([name, round(seconds, 1), round(per_sub * 1000), f"{share:.1%}" if setup or recording else "-",
                             round(setup, 2), f"{whole:.1%}", f"{seconds / baseline:.3f}",
                             "-" if name == "none" else (f"{breakeven:.0f}" if breakeven else "never")])
                figures["runs"][name] = {"seconds": round(seconds, 2), "recording_seconds": round(recording, 3),
                                         "recording_ms_per_submission": round(per_sub * 1000, 1),
                                         "recording_share_of_grading": round(share, 4), "setup_seconds": round(setup, 3),
                                         "share_of_batch_with_setup": round(whole, 4),
                                         "ratio_to_none": round(seconds / baseline, 3),
                                         "class_size_for_5_percent_with_setup": round(breakeven) if breakeven else None}
        finally:
            drop()
    print(table(["gradebook", "batch s", "recording ms/submission", "share of grading", "set-up s (once)",
                 "share of batch incl. set-up", "wall-clock vs none", "class size for <5% incl. set-up"], rows))
    worst = max((r["recording_share_of_grading"] for k, r in figures["runs"].items() if k != "none"), default=0.0)
    print(f"recording the submissions costs at most {worst:.1%} of grading time (goal: under 5%); the one-time "
          "set-up is listed apart")
    path = save("gradebook", figures)
    print(f"wrote {path}")
    return figures


if __name__ == "__main__":
    main()
