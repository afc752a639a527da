"""What the grader's by-hand guard costs: collecting a by-hand answer in a guarded child, against in-process.

For each by-hand exercise of chapters 1, 3 and 5 (their solutions run without the rest of the
notebook), the solution's answer is collected on the hidden cases two ways, alternated, best
of ``--repeat``:

* in-process, under the notebook's dispatch mode (``Exercise.collect``), as before the guard;
* the way grading now does it (:func:`helpers.checks.byhand.collect`): a forked child with
  seccomp, torch.library refusals, the dispatch mode, the trip-wire and the probes after
  every call, and the checker snapshot compared before and after;
* the same with the sandbox's warden (:mod:`helpers.freezing`, forked by this process first, as
  the harness does): every other process frozen while the answer runs, as in grading.

Both must collect the same outcomes. Prints seconds and the ratio; run it with
``.venv/bin/python -m benchmarks.byhand``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

from .common import one_thread, save, table

CHAPTERS = ("01-convolution-by-hand", "03-padding-and-strides", "05-receptive-fields")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.byhand", description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    one_thread()
    from helpers import freezing

    warden = freezing.start(os.open(os.devnull, os.O_WRONLY))  # this process goes on as the warden's child
    import torch

    import helpers.checks.byhand as byhand
    from helpers.checks import exercises
    from helpers.checks.core import Exercise
    from helpers.protocol import ERROR
    from tests.support import solution_namespace

    rows, figures = [], {}
    registry = {ex.key: ex for ex in exercises()}
    snap = byhand.snapshot(registry)
    with tempfile.TemporaryDirectory() as tmp:
        for chapter in CHAPTERS:
            namespace = solution_namespace(chapter)
            for ex in exercises(chapter):
                if not ex.forbid or ex.answer not in namespace:
                    continue
                answer = namespace[ex.answer]
                path = os.path.join(tmp, f"{ex.key}.pt")
                inline, guarded, frozen = [], [], []
                tasks = frozenset(os.listdir("/proc/self/task"))
                for _ in range(args.repeat):
                    start = time.perf_counter()
                    expected = ex.collect(answer, hidden=True)
                    inline.append(time.perf_counter() - start)
                    start = time.perf_counter()
                    problem = byhand.collect(ex, answer, runs=((True, path),), forbid=ex.forbid, save=torch.save,
                                             run_one=Exercise._run_one, make_cases=Exercise.make_cases, snap=snap,
                                             events_fd=None, commands_fd=None)
                    guarded.append(time.perf_counter() - start)
                    assert problem is None, problem
                    got = torch.load(path, weights_only=True)
                    assert [o.error for o in expected] == [o[ERROR] for o in got] == [None] * len(got)
                    if warden is not None:
                        start = time.perf_counter()
                        problem = byhand.collect(ex, answer, runs=((True, path),), forbid=ex.forbid,
                                                 save=torch.save, run_one=Exercise._run_one,
                                                 make_cases=Exercise.make_cases, snap=snap, events_fd=None,
                                                 commands_fd=None, warden=(*warden, tasks))
                        frozen.append(time.perf_counter() - start)
                        assert problem is None, problem
                        got = torch.load(path, weights_only=True)
                        assert [o[ERROR] for o in got] == [None] * len(got), [o[ERROR] for o in got]
                cases = len(expected)
                best_frozen = min(frozen) if frozen else float("nan")
                rows.append([ex.key, cases, min(inline), min(guarded), best_frozen, min(guarded) / min(inline)])
                figures[ex.key] = {"cases": cases, "in_process_s": min(inline), "guarded_child_s": min(guarded),
                                   "guarded_frozen_s": best_frozen}
    print(table(["exercise", "hidden cases", "in-process s", "guarded child s", "guarded, sandbox frozen s",
                 "ratio (guarded / in-process)"], rows))
    print(f"\nwritten to {save('byhand', {'exercises': figures})}")


if __name__ == "__main__":
    main()
