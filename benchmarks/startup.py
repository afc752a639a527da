"""Start-up costs of grading and checking: fixed cost and per-submission cost, as separate figures.

In one run, on chapter 1 (correct answers):

* ``python -m grader autograde`` (the real command line, a fresh process each time) on 1 and
  on 4 submissions, with the sandbox (when this machine can build one) and with
  ``--no-sandbox``. Per-submission cost = (time for 4 - time for 1) / 3; fixed cost = time
  for 1 - per-submission cost. ``--workers 1`` so the two are not blurred by parallelism.
* ``python -m grader check`` on the solution notebook, against the same notebook run top to
  bottom in a fresh kernel (``nbclient``, kernel start included), the learner's alternative.
* what the grading path imports: ``import grader.grading.autograde`` and ``grader.check`` in a
  fresh interpreter, and whether ``nbformat``/``jsonschema`` (seconds to import, unused by
  grading) came with them.

Goals: fixed cost of a grading run <= 5 s; ``grader check`` <= 1.3x the notebook's own run;
unsandboxed no slower than sandboxed; nothing unused imported on the grading path.

``--before CHECKOUT`` measures another checkout of the course too (with its own ``.venv``), in
the same run, e.g. the commit before the grader was restructured; the table then shows both.

    [sudo] .venv/bin/python -m benchmarks.startup [--repeat 1] [--before /path/to/other/checkout]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import save, table

CHAPTER = "01-convolution-by-hand"
ROOT = Path(__file__).resolve().parent.parent


def _env() -> dict[str, str]:
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONDONTWRITEBYTECODE="1")
    env["CONV_COURSE_PROGRESS"] = str(Path(tempfile.gettempdir()) / "conv-course-bench-progress.json")
    return env


class Checkout:
    """A checkout of the course and its own interpreter."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.python = str(self.root / ".venv" / "bin" / "python") if root.resolve() != ROOT else sys.executable


def _timed(cmd: list[str], cwd: Path = ROOT) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return seconds


def _submissions(folder: Path, n: int) -> Path:
    from tests.support import hand_in, student_notebook

    nb = student_notebook(CHAPTER)
    for i in range(n):
        hand_in(folder, f"student{i}", nb, f"{CHAPTER}.ipynb")
    return folder


def grading(course: Checkout, work: Path, sandbox: bool, repeat: int) -> dict[str, float]:
    """Best-of-``repeat`` seconds for 1 and 4 submissions; fixed and per-submission cost."""
    times = {}
    for n in (1, 4):
        subs = work / f"subs{n}"
        if not subs.exists():
            _submissions(subs, n)
        cmd = [course.python, "-m", "grader", "autograde", str(subs), "--workers", "1"]
        if not sandbox:
            cmd.append("--no-sandbox")
        times[n] = min(_timed(cmd + ["--out", str(work / f"out{n}-{sandbox}-{r}-{id(course)}")], course.root)
                       for r in range(repeat))
    per = (times[4] - times[1]) / 3
    return {"one": times[1], "four": times[4], "per_submission": per, "fixed": times[1] - per}


def notebook_in_fresh_kernel(course: Checkout, path: Path) -> float:
    """Seconds to run ``path`` top to bottom in a fresh kernel, kernel start included (in a fresh process)."""
    code = ("import sys, time, nbformat\nfrom nbclient import NotebookClient\n"
            "nb = nbformat.read(sys.argv[1], as_version=4)\nstart = time.perf_counter()\n"
            "NotebookClient(nb, kernel_name='python3', timeout=600, allow_errors=True,\n"
            "               resources={'metadata': {'path': sys.argv[2]}}).execute()\n"
            "print(time.perf_counter() - start)\n")
    done = subprocess.run([course.python, "-c", code, str(path), str(path.parent)], cwd=course.root, env=_env(),
                          capture_output=True, text=True, check=True)
    return float(done.stdout.strip().splitlines()[-1])


def imports(course: Checkout) -> dict:
    """Seconds to import the grading path in a fresh interpreter, and what heavy unused modules came along."""
    code = ("import sys, time, importlib.util\nstart = time.perf_counter()\n"
            "if importlib.util.find_spec('grader.grading'): import grader.grading.autograde\n"
            "else: import grader.autograde\n"
            "import grader.check\n"
            "took = time.perf_counter() - start\nimport json\n"
            "print(json.dumps({'seconds': took, 'unused': sorted(m for m in ('nbformat', 'jsonschema', "
            "'rfc3987_syntax', 'nbclient', 'nbconvert', 'nbgrader', 'ipywidgets', 'matplotlib') "
            "if m in sys.modules)}))\n")
    done = subprocess.run([course.python, "-c", code], cwd=course.root, env=_env(), capture_output=True,
                          text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(course: Checkout, work: Path, sandbox: bool, repeat: int) -> dict:
    """Every figure for one checkout."""
    figures: dict = {}
    if sandbox:
        figures["sandbox"] = grading(course, work, True, repeat)
    figures["no_sandbox"] = grading(course, work, False, repeat)
    solution = course.root / "solutions" / CHAPTER / f"{CHAPTER}.ipynb"
    figures["check"] = _timed([course.python, "-m", "grader", "check", "--no-progress", str(solution)], course.root)
    figures["fresh_kernel"] = notebook_in_fresh_kernel(course, solution)
    figures["check_ratio"] = figures["check"] / figures["fresh_kernel"]
    figures["imports"] = imports(course)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="runs of each grading command; the best counts")
    parser.add_argument("--before", type=Path, default=None, metavar="CHECKOUT",
                        help="another checkout of the course (with its .venv) to measure in the same run")
    args = parser.parse_args()
    from grader.sandbox.process import available

    sandbox_why = available("zygote")
    courses = {"this": Checkout(ROOT)}
    if args.before:
        courses = {"before": Checkout(args.before), **courses}
    results: dict = {"load": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="conv-course-bench-startup-") as tmp:
        work = Path(tmp)
        os.chmod(work, 0o755)
        for name, course in courses.items():
            results[name] = measure(course, work, sandbox_why is None, args.repeat)
    results["load_after"] = os.getloadavg()

    rows = []
    for name, f in ((n, results[n]) for n in courses):
        for mode in ("sandbox", "no_sandbox"):
            if mode in f:
                g = f[mode]
                rows.append([f"{name}: {mode.replace('_', ' ')}", g["one"], g["four"], g["fixed"], g["per_submission"]])
    print(table(["grading (--workers 1)", "1 submission s", "4 submissions s", "fixed s", "per submission s"], rows))
    if sandbox_why:
        print(f"(no sandbox here: {sandbox_why}; run as root for the sandboxed figures)")
    print()
    print(table(["learner's check", "grader check s", "fresh kernel s", "ratio (goal <= 1.3)"],
                [[name, results[name]["check"], results[name]["fresh_kernel"], results[name]["check_ratio"]]
                 for name in courses]))
    print()
    for name in courses:
        imp = results[name]["imports"]
        print(f"{name}: importing the grading path takes {imp['seconds']:.2f} s; unused heavy modules imported: "
              f"{', '.join(imp['unused']) or 'none'}")
    mine = results["this"]
    goals = {"fixed cost <= 5 s": max(mine[k]["fixed"] for k in ("sandbox", "no_sandbox") if k in mine) <= 5,
             "check <= 1.3x fresh kernel": mine["check_ratio"] <= 1.3,
             "nothing unused imported": not mine["imports"]["unused"]}
    if "sandbox" in mine:
        goals["no sandbox not slower than sandbox (4 submissions)"] = \
            mine["no_sandbox"]["four"] <= mine["sandbox"]["four"] * 1.05
    print("\n" + "\n".join(f"{'met' if ok else 'NOT met'}: {goal}" for goal, ok in goals.items()))
    print(f"load average (1 min) before/after: {results['load'][0]:.1f} / {results['load_after'][0]:.1f}")
    results["goals"] = goals
    print(f"\nwritten to {save('startup', results)}")


if __name__ == "__main__":
    main()
