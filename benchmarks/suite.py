"""Where the test suite's time goes: CPU seconds by kind of process, and the floor they set.

``make test`` on two cores is CPU-bound (both cores busy about 95% of the run), so its wall time
is the suite's CPU work divided by the cores, whatever the order of the tests. This benchmark runs
the suite as the Makefile does (or with the pytest arguments given after ``--``), reads ``/proc``
every 0.25 s, and prints:

* the wall time, the machine's busy CPU seconds over the run and the utilisation of its cores;
* CPU seconds per kind of process: notebook runs in the grader's zygote (autograde and
  ``grader check``), Jupyter kernels (nbval, ``nbgrader validate``, JupyterLab), Chromium,
  the grader's and nbgrader's commands, the pytest workers (and the tests that run in them), Dask,
  JupyterLab servers, PostgreSQL; what sampling missed (processes shorter than a tick) is the
  remainder;
* the floor: busy CPU seconds / cores, the shortest wall time this machine could reach with the
  same work perfectly spread.

Only processes started during the run count in full; those already running count by what they
used during it.

    .venv/bin/python -m benchmarks.suite                 # the whole suite, as `make test`
    .venv/bin/python -m benchmarks.suite -- -n 3 --dist loadfile tests/test_check.py
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

from benchmarks.common import save, table

ROOT = Path(__file__).resolve().parent.parent
TICK = os.sysconf("SC_CLK_TCK")
MAKEFILE_ARGS = ["-n", "auto", "--dist", "loadfile", "--no-loadscope-reorder"]

#: (kind, pattern on the command line), first match wins.
KINDS = (
    ("notebook runs in the grader's zygote", r"grader\.sandbox\.zygote"),
    ("Jupyter kernels (nbval, nbgrader validate, JupyterLab)", r"ipykernel"),
    ("Chromium", r"chrom|headless_shell"),
    ("grader commands (python -m grader)", r"-m grader\b"),
    ("nbgrader commands (and their alembic)", r"nbgrader|alembic"),
    ("JupyterLab servers", r"jupyter[- ]lab|jupyter_server|jupyter-server"),
    ("Dask scheduler and workers", r"dask|distributed|multiprocessing"),
    ("pytest workers and the tests run in them", r"pytest|sys\.stdin\.readline"),
    ("Playwright's driver", r"playwright|node\b"),
    ("PostgreSQL", r"postgres"),
)


def _busy() -> float:
    """CPU seconds the whole machine has spent busy since boot (user, nice, system, irq, softirq)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (fields[0] + fields[1] + fields[2] + fields[5] + fields[6]) / TICK


def _processes() -> dict[tuple[int, int], tuple[float, int]]:
    """``{(pid, start tick): (CPU seconds, parent pid)}`` of every process now."""
    found = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            rest = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[(int(entry.name), int(rest[19]))] = ((int(rest[11]) + int(rest[12])) / TICK, int(rest[1]))
    return found


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


class Sampler(threading.Thread):
    """Reads ``/proc`` every ``interval`` s until stopped; keeps each process's last CPU figure."""

    def __init__(self, interval: float = 0.25):
        super().__init__(daemon=True)
        self.interval, self.stopping = interval, threading.Event()
        self.before = _processes()  # already running: only what they use from now on counts
        self.cpu: dict[tuple[int, int], float] = {}
        self.commands: dict[tuple[int, int], str] = {}
        self.parents: dict[tuple[int, int], int] = {}
        self.latest: dict[int, tuple[int, int]] = {}  # pid -> its newest process (pids are reused)

    def run(self) -> None:
        while not self.stopping.is_set():
            self.sample()
            self.stopping.wait(self.interval)
        self.sample()

    def sample(self) -> None:
        for key, (cpu, parent) in _processes().items():
            if key not in self.commands:
                self.commands[key] = _command(key[0])
                self.parents[key] = parent
                self.latest[key[0]] = key
            self.cpu[key] = cpu - self.before.get(key, (0.0, 0))[0]

    def kind(self, key: tuple[int, int]) -> str:
        """The kind of a process: its own command line's, else its nearest known ancestor's."""
        seen = 0
        while key is not None and seen < 50:
            command = self.commands.get(key, "")
            for name, pattern in KINDS:
                if re.search(pattern, command):
                    return name
            parent = self.parents.get(key)
            key = self.latest.get(parent) if parent else None
            seen += 1
        return "other"


def main(argv: list[str] | None = None) -> dict:
    args = list(sys.argv[1:] if argv is None else argv)
    pytest_args = args[args.index("--") + 1:] if "--" in args else MAKEFILE_ARGS
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    sampler = Sampler()
    busy, start = _busy(), time.monotonic()
    sampler.start()
    run = subprocess.run([sys.executable, "-m", "pytest", *pytest_args, "-q"], cwd=ROOT, env=env,
                         capture_output=True, text=True)
    wall = time.monotonic() - start
    sampler.stopping.set()
    sampler.join()
    busy = _busy() - busy
    cores = os.cpu_count() or 1
    by_kind: dict[str, list] = {}
    for key, cpu in sampler.cpu.items():
        if cpu <= 0:
            continue
        kind = sampler.kind(key) if key not in sampler.before else "already running (system, other work)"
        entry = by_kind.setdefault(kind, [0, 0.0])
        entry[0] += 1
        entry[1] += cpu
    attributed = sum(cpu for _, cpu in by_kind.values())
    by_kind["not seen (processes shorter than a sample)"] = [0, max(0.0, busy - attributed)]
    rows = [[kind, n or "-", round(cpu, 1), round(cpu / busy, 3)]
            for kind, (n, cpu) in sorted(by_kind.items(), key=lambda item: -item[1][1])]
    summary = (run.stdout.strip().splitlines() or ["(no output)"])[-1]
    print(f"pytest {' '.join(pytest_args)}: {summary} (exit {run.returncode})")
    print(table(["kind of process", "processes", "CPU s", "share"], rows))
    floor = busy / cores
    print(f"\nwall {wall:.0f} s; busy CPU {busy:.0f} s on {cores} cores ({busy / (wall * cores):.0%} of them); "
          f"floor with this work perfectly spread: {floor:.0f} s ({floor / 60:.1f} min)")
    figures = {"pytest_args": pytest_args, "exit": run.returncode, "summary": summary, "wall_seconds": round(wall, 1),
               "busy_cpu_seconds": round(busy, 1), "cores": cores, "utilisation": round(busy / (wall * cores), 3),
               "floor_seconds": round(floor, 1), "by_kind": {kind: {"processes": n, "cpu_seconds": round(cpu, 1)}
                                                              for kind, (n, cpu) in by_kind.items()}}
    print(f"written to {save('suite', figures)}")
    return figures


if __name__ == "__main__":
    main()
