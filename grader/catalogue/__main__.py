"""``make mistakes``: how the checks treat the catalogue, chapter by chapter.

Prints, per chapter: wrong answers tried, caught by the visible check, caught only at grading,
passing both (holes), hinted (the hint names the mistake), and correct alternatives refused; then
each hole, unhinted mistake and refused alternative by name. Add ``--quick`` to skip the exercises
that train a model. Exits 1 when any entry is not proven (see ``grader.catalogue.problems``).
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("OMP_NUM_THREADS", "1")


def main(argv: list[str] | None = None) -> int:
    from helpers.checks import exercise

    from . import Right, Wrong, chapters, is_hard, problems, run

    parser = argparse.ArgumentParser(prog="python -m grader.catalogue", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip exercises that train a model")
    parser.add_argument("chapters", nargs="*", help="chapter modules (ch01 ...), default all")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    header = f"{'chapter':<8} {'wrong':>6} {'visible':>8} {'grading':>8} {'holes':>6} {'hinted':>7} " \
             f"{'right':>6} {'refused':>8}"
    print(header)
    print("-" * len(header))
    totals = [0] * 7
    notes: list[str] = []
    for ch in chapters():
        if args.chapters and ch.module not in args.chapters:
            continue
        counts = [0] * 7
        for entry in [*ch.wrong, *ch.right]:
            if args.quick and is_hard(exercise(entry.key)) and not exercise(entry.key).forbid:
                continue
            result = run(entry)
            issues = problems(result)
            notes += [f"{ch.module} {entry.key}: {p}" for p in issues]
            if isinstance(entry, Wrong):
                counts[0] += 1
                counts[1] += result.caught_visibly
                counts[2] += (not result.caught_visibly) and not result.hidden.passed
                counts[3] += result.hole
                counts[4] += result.hinted
            elif isinstance(entry, Right):
                counts[5] += 1
                counts[6] += bool(issues)
        totals = [a + b for a, b in zip(totals, counts)]
        print(f"{ch.module:<8} {counts[0]:>6} {counts[1]:>8} {counts[2]:>8} {counts[3]:>6} {counts[4]:>7} "
              f"{counts[5]:>6} {counts[6]:>8}")
    print("-" * len(header))
    print(f"{'all':<8} {totals[0]:>6} {totals[1]:>8} {totals[2]:>8} {totals[3]:>6} {totals[4]:>7} "
          f"{totals[5]:>6} {totals[6]:>8}")
    for note in notes:
        print(note)
    return 1 if notes else 0


if __name__ == "__main__":
    sys.exit(main())
