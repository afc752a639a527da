"""Grading a class: stock ``nbgrader autograde`` against the project's grader, in one run.

The same 40 chapter-1 submissions (correct, partly wrong and blank) are graded

* by stock nbgrader as an instructor runs it: one ``nbgrader autograde <assignment>`` over
  every student, serially, then ``nbgrader generate_feedback``, in a temporary course
  with the course's configuration;
* by ``python -m grader autograde`` (its Python API): sandbox on, ``--workers`` = cores.

Prints submissions per minute for both and the ratio, checks that both gave every
student the same total, and writes ``benchmarks/results/grading.json``.

``--before CHECKOUT`` compares two versions of the project's grader instead (no stock run): the
real command line of each checkout, with its own ``.venv``, grades the same submissions,
alternated ``--repeat`` times, wall and CPU seconds (the command and every process it started,
sandboxes included, from a cgroup v1 ``cpuacct`` group of its own where the host has one); the best of each and their ratio are printed, and both must give
every student the same total. A change that adds work to every collection is measured so.

    .venv/bin/python -m benchmarks.grading [--students 40]
    .venv/bin/python -m benchmarks.grading --before /path/to/other/checkout [--repeat 2]
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import one_thread, save, table

CHAPTER = "01-convolution-by-hand"
PARTIAL = [  # answers that lose some points, cycled through the partial submissions
    {"convolve_answer": "def convolve(img, kernel):\n    return torch.zeros(img.shape[0] - 2, img.shape[1] - 2)"},
    {"quiz_edge_kernel_answer": 'quiz_edge_kernel = "right_edge"', "quiz_output_size_answer": "quiz_output_size = (28, 28)"},
    {"apply_kernel_answer": "def apply_kernel(img, row, col, kernel):\n"
                            "    return (img[row:row + 3, col:col + 3] * kernel).sum()"},
    {"top_edge_answer": "top_edge = torch.tensor([[1., 1, 1], [0, 0, 0], [-1, -1, -1]])"},
]


def make_submissions(folder: Path, n: int) -> dict[str, str]:
    """``n`` LMS-style submissions: 40% correct, 40% partial, 20% blank. Returns ``{student: kind}``."""
    from tests.support import hand_in, student_notebook

    kinds = {}
    for i in range(n):
        student = f"student{i:02d}"
        if i % 5 in (0, 1):
            nb, kind = student_notebook(CHAPTER), "correct"
        elif i % 5 in (2, 3):
            nb, kind = student_notebook(CHAPTER, PARTIAL[i % len(PARTIAL)]), "partial"
        else:
            nb, kind = student_notebook(CHAPTER, "blank"), "blank"
        hand_in(folder, student, nb, f"{CHAPTER}.ipynb")
        kinds[student] = kind
    return kinds


def stock(submissions: Path, work: Path) -> tuple[float, float, dict[str, float]]:
    """Seconds for stock ``nbgrader autograde`` and ``generate_feedback``, and each student's total."""
    from grader.authoring.config import ROOT, SOURCE_DIR
    from grader.authoring.release import ensure_tools_on_path

    ensure_tools_on_path()
    course = work / "course"
    (course / "source" / CHAPTER).mkdir(parents=True)
    shutil.copy2(ROOT / SOURCE_DIR / CHAPTER / f"{CHAPTER}.ipynb", course / "source" / CHAPTER)
    (course / "nbgrader_config.py").write_text(
        "from grader.authoring.config import configure\n"
        f"configure(get_config(), {str(course)!r})\n"
        "get_config().CourseDirectory.source_directory = 'source'\n"
        "get_config().CourseDirectory.release_directory = 'release'\n")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    nbgrader = [sys.executable, "-m", "nbgrader"]
    subprocess.run([*nbgrader, "generate_assignment", CHAPTER, "--force"], cwd=course, env=env, check=True,
                   capture_output=True)
    for student_dir in sorted(submissions.iterdir()):
        target = course / "submitted" / student_dir.name / CHAPTER
        target.mkdir(parents=True)
        shutil.copy2(student_dir / f"{CHAPTER}.ipynb", target / f"{CHAPTER}.ipynb")
    start = time.perf_counter()
    subprocess.run([*nbgrader, "autograde", CHAPTER, "--force"], cwd=course, env=env, check=True,
                   capture_output=True)
    autograde_s = time.perf_counter() - start
    start = time.perf_counter()
    subprocess.run([*nbgrader, "generate_feedback", CHAPTER, "--force"], cwd=course, env=env, check=True,
                   capture_output=True)
    feedback_s = time.perf_counter() - start

    from nbgrader.api import Gradebook

    totals = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "conv-course") as gb:
        for student_dir in sorted(submissions.iterdir()):
            nb = gb.find_submission_notebook(CHAPTER, CHAPTER, student_dir.name)
            totals[student_dir.name] = float(sum(g.score for g in nb.grades if g.cell_type == "code"))
    return autograde_s, feedback_s, totals


def ours(submissions: Path, work: Path, workers: int) -> tuple[float, dict[str, float]]:
    from grader.grading.autograde import autograde

    start = time.perf_counter()
    autograde(submissions, work / "out", workers=workers, progress=False)
    seconds = time.perf_counter() - start
    totals: dict[str, float] = {}
    with open(work / "out" / "grades.csv") as handle:
        for row in csv.DictReader(handle):
            totals[row["student"]] = totals.get(row["student"], 0.0) + float(row["score"])
    return seconds, totals


#: cgroup v1's CPU accounting: a group of the benchmark's own holds the grader and every process it starts
#: (its sandboxes join groups of other controllers only), so their CPU time is counted even when no one
#: waits for them (``RUSAGE_CHILDREN`` counts only waited-for descendants).
CPUACCT = Path("/sys/fs/cgroup/cpuacct")


def command(checkout: Path, submissions: Path, out: Path, workers: int) -> tuple[float, float, dict[str, float]]:
    """Wall and CPU seconds of ``checkout``'s ``python -m grader autograde``, and each student's total."""
    python = checkout / ".venv" / "bin" / "python"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    group = CPUACCT / f"bench-grading-{os.getpid()}-{out.name}"
    try:
        group.mkdir()
    except OSError:
        group = None  # no cgroup v1 CPU accounting here: waited-for descendants only

    def join() -> None:
        if group is not None:
            (group / "cgroup.procs").write_text(str(os.getpid()))

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([str(python), "-m", "grader", "autograde", str(submissions), "--out", str(out),
                    "--workers", str(workers)], cwd=checkout, env=env, check=True, capture_output=True,
                   preexec_fn=join)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if group is not None:
        cpu = int((group / "cpuacct.usage").read_text()) / 1e9
        for _ in range(50):  # the kernel empties a group a moment after its last process ends
            try:
                group.rmdir()
                break
            except OSError:
                time.sleep(0.1)
    totals: dict[str, float] = {}
    with open(out / "grades.csv") as handle:
        for row in csv.DictReader(handle):
            totals[row["student"]] = totals.get(row["student"], 0.0) + float(row["score"])
    return wall, cpu, totals


def compare(before: Path, students: int, workers: int, repeat: int) -> dict:
    """The project's grader of ``before`` against this checkout's, alternated, on the same submissions."""
    checkouts = {"before": before.resolve(), "this": Path(__file__).resolve().parent.parent}
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in checkouts}
    totals: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        tmp = Path(tmp)
        make_submissions(tmp / "submissions", students)
        load = os.getloadavg()[0]
        for r in range(repeat):
            for name, checkout in checkouts.items():
                wall, cpu, totals[name] = command(checkout, tmp / "submissions", tmp / f"{name}-{r}", workers)
                runs[name].append((wall, cpu))
                print(f"{name} ({checkout}): {wall:.1f} s wall, {cpu:.1f} s CPU", flush=True)
        load_after = os.getloadavg()[0]
    best = {name: (min(w for w, _ in r), min(c for _, c in r)) for name, r in runs.items()}
    rows = [[f"{name} ({checkouts[name]})", round(best[name][0], 1), round(best[name][1], 1)] for name in checkouts]
    print(table(["grader", "wall s (best)", "CPU s (best)"], rows))
    wall_ratio, cpu_ratio = best["this"][0] / best["before"][0], best["this"][1] / best["before"][1]
    same = totals["before"] == totals["this"]
    print(f"this / before: wall {wall_ratio:.3f}, CPU {cpu_ratio:.3f}; load average {load:.1f} -> {load_after:.1f}; "
          + ("the same totals for every student" if same else "TOTALS DIFFER"))
    figures = {"submissions": students, "workers": workers, "repeat": repeat, "runs": runs,
               "before": str(checkouts["before"]), "wall_ratio": round(wall_ratio, 3),
               "cpu_ratio": round(cpu_ratio, 3), "load": [load, load_after], "same_totals": same}
    print(f"wrote {save('grading-compare', figures)}")
    return figures


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--before", type=Path, default=None, metavar="CHECKOUT",
                        help="compare the project's grader of another checkout (its own .venv) with this one's")
    parser.add_argument("--repeat", type=int, default=2, help="alternated runs of each grader with --before")
    args = parser.parse_args(argv)
    one_thread()
    if args.before:
        return compare(args.before, args.students, args.workers, args.repeat)
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        tmp = Path(tmp)
        kinds = make_submissions(tmp / "submissions", args.students)
        print(f"grading {args.students} submissions of {CHAPTER} "
              f"({sum(k == 'correct' for k in kinds.values())} correct, "
              f"{sum(k == 'partial' for k in kinds.values())} partial, "
              f"{sum(k == 'blank' for k in kinds.values())} blank)", flush=True)
        stock_s, feedback_s, stock_totals = stock(tmp / "submissions", tmp / "stock")
        print(f"stock nbgrader: autograde {stock_s:.1f} s, generate_feedback {feedback_s:.1f} s", flush=True)
        ours_s, our_totals = ours(tmp / "submissions", tmp / "ours", args.workers)
        print(f"project grader: {ours_s:.1f} s", flush=True)

    n = args.students
    stock_rate = n / (stock_s + feedback_s) * 60
    stock_rate_autograde_only = n / stock_s * 60
    ours_rate = n / ours_s * 60
    disagree = sorted(s for s in kinds if stock_totals.get(s) != our_totals.get(s))
    rows = [["stock nbgrader (autograde + feedback, serial)", round(stock_s + feedback_s, 1), round(stock_rate, 1)],
            ["stock nbgrader (autograde only)", round(stock_s, 1), round(stock_rate_autograde_only, 1)],
            [f"project grader (sandbox, {args.workers} workers, feedback)", round(ours_s, 1), round(ours_rate, 1)]]
    print(table(["grader", "seconds", "submissions/min"], rows))
    ratio = ours_rate / stock_rate
    print(f"ratio: {ratio:.2f}x stock (autograde + feedback), {ours_rate / stock_rate_autograde_only:.2f}x "
          f"stock autograde alone; target >= 2x, goal 3x")
    print("totals agree for every student" if not disagree else f"totals differ for {disagree}: "
          f"stock {[stock_totals.get(s) for s in disagree]}, ours {[our_totals.get(s) for s in disagree]}")
    figures = {"submissions": n, "workers": args.workers,
               "stock_autograde_seconds": round(stock_s, 2), "stock_feedback_seconds": round(feedback_s, 2),
               "ours_seconds": round(ours_s, 2), "stock_per_minute": round(stock_rate, 2),
               "stock_autograde_only_per_minute": round(stock_rate_autograde_only, 2),
               "ours_per_minute": round(ours_rate, 2), "ratio": round(ratio, 2),
               "ratio_vs_autograde_only": round(ours_rate / stock_rate_autograde_only, 2),
               "totals_disagree": disagree}
    path = save("grading", figures)
    print(f"wrote {path}")
    return figures


if __name__ == "__main__":
    main()
