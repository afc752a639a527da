"""Whole course: every solution notebook top to bottom, each in a fresh kernel.

Prints seconds per notebook, each as a share of the slowest chapter, the slowest cell of each,
and the total. Targets: the whole course under 90 s on a two-core machine, no cell over 15 s.

    .venv/bin/python -m benchmarks.course [CHAPTER ...]

With chapter folders named (``09-deeper-networks``), only those run: their figures are saved as
``course-part``, so that a partial run never replaces the whole course's.
"""

from __future__ import annotations

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
        figures[chapter] = {"seconds": round(timing.total, 2), "slowest_cell": slowest[0],
                            "slowest_cell_seconds": round(slowest[1], 2)}
    worst = max(f["seconds"] for f in figures.values())
    for chapter, f in figures.items():
        f["share_of_slowest"] = round(f["seconds"] / worst, 3)
        rows.append([chapter, f["seconds"], f["share_of_slowest"], f["slowest_cell"], f["slowest_cell_seconds"]])
    total = round(sum(f["seconds"] for f in figures.values()), 1)
    max_cell = max(f["slowest_cell_seconds"] for f in figures.values())
    print(table(["notebook", "seconds", "share of slowest", "slowest cell", "cell seconds"], rows))
    print(f"\nwhole course: {total} s (target < 90 s); slowest cell {max_cell} s (target < 15 s)")
    result = {"chapters": figures, "total_seconds": total, "max_cell_seconds": max_cell,
              "targets": {"total_seconds": 90, "max_cell_seconds": 15}}
    print(f"written to {save('course-part' if args.chapters else 'course', result)}")
    return result


if __name__ == "__main__":
    main()
