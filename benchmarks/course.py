"""Whole course: every solution notebook top to bottom, each in a fresh kernel.

Prints seconds per notebook, each as a share of the slowest chapter, the slowest cell of each, the
slowest check cell of each (a cell that calls ``check(``: in a solution notebook it runs the visible and
the hidden cases, so it costs more than the learner's), and the total. Targets, on the idle two-core
machine: the whole course in at most 90 s, no cell over 15 s, no check cell over 5 s.

    .venv/bin/python -m benchmarks.course [CHAPTER ...]

With chapter folders named (``09-deeper-networks``), only those run: their figures are saved as
``course-part``, so that a partial run never replaces the whole course's.
"""

from __future__ import annotations

import os
import argparse
import tempfile
from pathlib import Path

from benchmarks.common import one_thread, save, table


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.course", description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="*", help="chapter folders (default: every chapter)")
    args = parser.parse_args(argv)
    one_thread()
    from grader.authoring import notebooks
    from grader.authoring.execute import execute

    rows, figures = [], {}
    for chapter in notebooks.chapters():
        if args.chapters and chapter not in args.chapters:
            continue
        nb = notebooks.read(notebooks.notebook_path(chapter))
        with tempfile.TemporaryDirectory() as tmp:
            timing = execute(nb, Path(tmp))
        slowest = max(timing.cells, key=lambda c: c[1], default=("-", 0.0))
        checks = {cell.get("id") for cell in nb.cells if cell.cell_type == "code" and "check(" in cell.source}
        slowest_check = max((c for c in timing.cells if c[0] in checks), key=lambda c: c[1], default=("-", 0.0))
        figures[chapter] = {"seconds": round(timing.total, 2), "slowest_cell": slowest[0],
                            "slowest_cell_seconds": round(slowest[1], 2), "slowest_check": slowest_check[0],
                            "slowest_check_seconds": round(slowest_check[1], 2)}
    worst = max(f["seconds"] for f in figures.values())
    for chapter, f in figures.items():
        f["share_of_slowest"] = round(f["seconds"] / worst, 3)
        rows.append([chapter, f["seconds"], f["share_of_slowest"], f["slowest_cell"], f["slowest_cell_seconds"],
                     f["slowest_check"], f["slowest_check_seconds"]])
    total = round(sum(f["seconds"] for f in figures.values()), 1)
    max_cell = max(f["slowest_cell_seconds"] for f in figures.values())
    max_check = max(f["slowest_check_seconds"] for f in figures.values())
    print(table(["notebook", "seconds", "share of slowest", "slowest cell", "cell seconds", "slowest check",
                 "check seconds"], rows))
    print(f"\nwhole course: {total} s (target <= 90 s); slowest cell {max_cell} s (target < 15 s); "
          f"slowest check cell {max_check} s (target <= 5 s); load average {os.getloadavg()[0]:.1f}")
    result = {"chapters": figures, "total_seconds": total, "max_cell_seconds": max_cell,
              "max_check_seconds": max_check, "load_average": round(os.getloadavg()[0], 2),
              "targets": {"total_seconds": 90, "max_cell_seconds": 15, "max_check_seconds": 5}}
    print(f"written to {save('course-part' if args.chapters else 'course', result)}")
    return result


if __name__ == "__main__":
    main()
