"""The class report and the similar-answers pass for a class of a thousand, against grading it.

In one run:

1. eight kinds of chapter-3 submission (right, the usual mistakes, an independent right answer,
   blank) are graded by ``python -m grader autograde``'s Python API (sandbox on when this
   machine allows it, workers = cores): once one submission alone (the fixed start-up), once all
   eight; the difference gives the cost per submission;
2. 1,000 submissions are made from those eight kinds, every name in the answers renamed per
   student (renaming changes no grade), and written to disk as an LMS export;
3. the class report and the similarity pass (:func:`grader.grading.classreport.write_report`) run over
   the 1,000, with each one's grading result taken from its kind's real result.

Prints the seconds of each part and the report's share of the projected grading time of the
same 1,000 (target: at most 10%), and writes ``benchmarks/results/class_report.json``.

    .venv/bin/python -m benchmarks.class_report [--students 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from benchmarks.common import one_thread, save, table

CHAPTER = "03-padding-and-strides"
ONCE = "def output_size(n, ks, pad=0, stride=1):\n    return (n + pad - ks) // stride + 1\n"
SLASH = "def output_size(n, ks, pad=0, stride=1):\n    return (n + 2 * pad - ks) / stride + 1\n"
NO_STRIDE = '''def conv2d_padded(img, kernel, pad=0, stride=1):
    kh, kw = kernel.shape
    padded = F.pad(img, (pad, pad, pad, pad))
    out = torch.zeros(padded.shape[0] - kh + 1, padded.shape[1] - kw + 1)
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = (padded[i:i + kh, j:j + kw] * kernel).sum()
    return out
'''
KINDS = {  # kind -> answers (the rest are the solution's)
    "right": {},
    "padding once": {"output_size_answer": ONCE},
    "slash": {"output_size_answer": SLASH},
    "stride ignored": {"conv2d_padded_answer": NO_STRIDE},
    "independent": {"conv2d_padded_answer": None},  # filled from the tests' independent answer
    "two mistakes": {"output_size_answer": ONCE, "conv2d_padded_answer": NO_STRIDE},
    "blank": "blank",
    "quiz wrong": {"quiz_even_padding_answer": "quiz_even_padding = 2"},
}
_NAME = re.compile(r"\b(kh|kw|padded|out|rows|cols|r|c|i|j|grid|answer|total|height|width)\b")


def _kinds():
    from tests.test_classreport import CONV_OTHER

    kinds = dict(KINDS)
    kinds["independent"] = {"conv2d_padded_answer": CONV_OTHER}
    return kinds


def make_class(folder: Path, n: int) -> dict[str, str]:
    """``n`` submissions cycling through the kinds, names renamed per student. Returns ``{student: kind}``."""
    from tests.support import solution_code, student_notebook

    solution = solution_code(CHAPTER)
    who = {}
    for k, (kind, answers) in enumerate(_kinds().items()):
        nb = student_notebook(CHAPTER, answers)
        template = json.dumps(nb)
        for i in range(k, n, len(KINDS)):
            student = f"student{i:04d}"
            suffix = f"_{i}"
            text = template
            if answers != "blank":
                code = {**solution, **answers}["conv2d_padded_answer"]
                text = text.replace(json.dumps(code)[1:-1], json.dumps(_NAME.sub(rf"\1{suffix}", code))[1:-1])
            path = folder / student / f"{CHAPTER}.ipynb"
            path.parent.mkdir(parents=True)
            path.write_text(text)
            who[student] = kind
    return who


def grade(folder: Path, out: Path, sandbox: bool) -> tuple[float, list]:
    from grader.grading.autograde import autograde

    start = time.perf_counter()
    results = autograde(folder, out, progress=False, isolation="zygote" if sandbox else "none", similarity=False)
    return time.perf_counter() - start, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=1000)
    args = parser.parse_args()
    one_thread()
    from grader.grading.classreport import write_report
    from grader.sandbox.process import available

    sandbox = os.geteuid() == 0 and not available("zygote")
    with tempfile.TemporaryDirectory(prefix="conv-course-bench-") as tmp:
        tmp = Path(tmp)
        sample = tmp / "sample"
        kinds = make_class(sample, len(KINDS))
        one = tmp / "one"
        first = sorted(sample.iterdir())[0]
        shutil.copytree(first, one / first.name)
        t_one, _ = grade(one, tmp / "out-one", sandbox)
        t_all, results = grade(sample, tmp / "out-sample", sandbox)
        per_sub = (t_all - t_one) / (len(KINDS) - 1)
        by_kind = {kinds[r.student]: asdict(r) for r in results}

        big = tmp / "class"
        start = time.perf_counter()
        who = make_class(big, args.students)
        t_make = time.perf_counter() - start
        subs = [{**by_kind[kind], "student": student} for student, kind in sorted(who.items())]
        out = tmp / "out-class"
        out.mkdir()
        start = time.perf_counter()
        summary = write_report(out, subs, submissions_dir=None, root=Path.cwd(), similarity=False)
        t_report = time.perf_counter() - start
        start = time.perf_counter()
        write_report(out, subs, submissions_dir=big, root=Path.cwd(), similarity=True)
        t_both = time.perf_counter() - start
        pairs = sum(1 for line in (out / "class-report.csv").read_text().splitlines() if ",similar" in line)

    projected = t_one + per_sub * args.students
    rows = [["grading: fixed start-up (1 submission)", t_one],
            [f"grading: per submission ({len(KINDS)} graded, workers = cores)", per_sub],
            [f"grading {args.students}, projected", projected],
            [f"making {args.students} submissions (not counted)", t_make],
            [f"class report of {args.students} (no similarity)", t_report],
            [f"class report + similarity of {args.students}", t_both]]
    print(table(["step", "seconds"], rows))
    share = t_both / projected
    print(f"\nreport + similarity = {100 * share:.2f}% of the grading time of the same {args.students} "
          f"(target at most 10%); sandbox {'on' if sandbox else 'off'}; "
          f"{summary.chapters[CHAPTER].graded} graded, {pairs} similar pair(s) listed")
    save("class_report", {"students": args.students, "sandbox": sandbox, "grade_one_s": t_one,
                          "per_submission_s": per_sub, "grading_projected_s": projected, "report_s": t_report,
                          "report_and_similarity_s": t_both, "share": share, "pairs": pairs})


if __name__ == "__main__":
    main()
