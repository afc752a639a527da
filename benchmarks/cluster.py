"""Grading on a Dask cluster against the local grader, and what 1,000 submissions would take.

In one run, on the same chapter-1 submissions (correct, partial, blank):

* the local grader with one worker, then a real ``dask scheduler`` with one ``dask worker``
  (separate processes on loopback): the cluster's overhead (goal: under 10%);
* the same cluster with a second worker: the speed-up of two workers over one (goal: 1.8x,
  reachable only with two idle cores);
* memory per worker: the worker process and its zygote (resident set, after grading);
* the scheduler's per-task overhead (a thousand empty tasks), and the measured per-submission
  task times; a simulation replays those times for 1,000 submissions on 10 and 50 workers
  (each task to the first free worker, plus the overhead; the scheduler dispatches one
  task at a time) and prints the projected wall time.

Writes ``benchmarks/results/cluster.json``.

    .venv/bin/python -m benchmarks.cluster [--students 6]
"""

from __future__ import annotations

import argparse
import heapq
import os
import random
import tempfile
import time
from pathlib import Path

from benchmarks.common import one_thread, save, table
from benchmarks.grading import make_submissions


def _grade(subs: Path, out: Path, **options) -> float:
    from grader.grading.autograde import autograde

    start = time.perf_counter()
    results = autograde(subs, out, progress=False, **options)
    assert all(r.status == "graded" for r in results), [r.reason for r in results if r.status != "graded"]
    return time.perf_counter() - start


def _memory(client) -> list[float]:
    """MiB resident per worker: the worker process plus its children (the zygote and any sandbox left)."""
    def rss() -> int:
        import psutil

        me = psutil.Process()
        return me.memory_info().rss + sum(c.memory_info().rss for c in me.children(recursive=True))

    return [v / 2**20 for v in client.run(rss).values()]


def _task_times(client, run) -> list[float]:
    from distributed import get_task_stream

    with get_task_stream(client) as stream:
        run()
    return [sum(s["stop"] - s["start"] for s in t["startstops"] if s["action"] == "compute")
            for t in stream.data if str(t["key"]).startswith("grade-")]


def _overhead(client, n: int = 1000) -> float:
    """Seconds of scheduling per task: a thousand empty tasks, submitted and gathered."""
    start = time.perf_counter()
    client.gather(client.map(_noop, range(n), pure=False))
    return (time.perf_counter() - start) / n


def _noop(x):
    return x


def simulate(times: list[float], overhead: float, workers: int, n: int = 1000, seed: int = 0) -> float:
    """Projected wall time of ``n`` submissions drawn from ``times`` on ``workers`` workers."""
    rng = random.Random(seed)
    free = [0.0] * workers
    dispatch = 0.0
    for _ in range(n):
        dispatch += overhead  # the scheduler hands out one task at a time
        start = max(heapq.heappop(free), dispatch)
        heapq.heappush(free, start + rng.choice(times) + overhead)
    return max(free)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=6)
    args = parser.parse_args()
    one_thread()
    from grader.sandbox.process import available
    from tests.support import LoopbackCluster

    isolation = "zygote" if available() is None else "none"
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        make_submissions(tmp / "subs", args.students)
        local = _grade(tmp / "subs", tmp / "local", workers=1, isolation=isolation)
        cluster = LoopbackCluster(1)
        try:
            client = cluster.client(1)
            times: list[float] = []
            one = [0.0]

            def run_one() -> None:
                one[0] = _grade(tmp / "subs", tmp / "dask1", scheduler=cluster.address, isolation=isolation)

            times += _task_times(client, run_one)
            memory = _memory(client)
            cluster.add_worker()
            client.wait_for_workers(2, timeout=120)
            two = [0.0]

            def run_two() -> None:
                two[0] = _grade(tmp / "subs", tmp / "dask2", scheduler=cluster.address, isolation=isolation)

            times += _task_times(client, run_two)
            memory = _memory(client)
            overhead = _overhead(client)
            client.close()
        finally:
            cluster.stop()
        same = all((tmp / d / "grades.csv").read_bytes() == (tmp / "local" / "grades.csv").read_bytes()
                   for d in ("dask1", "dask2"))
    n = args.students
    rows = [["local grader, 1 worker", local, n / local * 60, 1.0],
            ["Dask, 1 worker", one[0], n / one[0] * 60, one[0] / local],
            ["Dask, 2 workers", two[0], n / two[0] * 60, two[0] / local]]
    print(f"{n} chapter-1 submissions, isolation {isolation}, {os.cpu_count()} cores (shared)")
    print(table(["run", "seconds", "per minute", "time vs local"], rows))
    print(f"Dask overhead over the local grader: {(one[0] / local - 1) * 100:+.0f}% (goal: under 10%)")
    print(f"two workers against one: {one[0] / two[0]:.2f}x (goal: 1.8x; this machine has {os.cpu_count()} "
          "cores shared with other jobs)")
    print(f"memory per worker (worker + zygote, MiB): {', '.join(f'{m:.0f}' for m in memory)}")
    print(f"scheduler overhead per task: {overhead * 1000:.2f} ms; submission task times: "
          f"median {sorted(times)[len(times) // 2]:.1f} s, max {max(times):.1f} s over {len(times)} tasks")
    projected = {w: simulate(times, overhead, w) for w in (10, 50)}
    print(table(["1,000 submissions on", "projected minutes", "per minute"],
                [[f"{w} workers", t / 60, 1000 / t * 60] for w, t in projected.items()]))
    print(f"grades identical to the local grader's: {same}")
    path = save("cluster", {"students": n, "isolation": isolation, "local_s": local, "dask1_s": one[0],
                            "dask2_s": two[0], "overhead_ratio": one[0] / local, "speedup_2_over_1": one[0] / two[0],
                            "worker_mib": memory, "task_overhead_s": overhead, "task_times_s": times,
                            "projected_1000_s": projected, "same_grades": same})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
