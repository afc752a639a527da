"""Control groups: one per worker slot, bounding a sandbox as a whole (CPU share, memory, processes).

Resource limits (``setrlimit``, :mod:`grader.sandbox.walls`) are per process; a fork bomb multiplies
them. Where the host allows it, each slot's sandbox joins a group of its own (:func:`join_cgroups`,
in the sandbox's first process, before it runs anything).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .walls import Limits

CGROUP_ROOT = Path("/sys/fs/cgroup")


class Cgroups:
    """One control group per worker slot (cgroup v1: cpu, memory, pids), when the host allows it.

    Resource limits (``setrlimit``) are per process; a fork bomb multiplies them. A group
    per slot bounds the sandbox as a whole: its processes share one slot's CPU (two slots
    get equal shares however many processes each runs), one memory limit and one
    process count. Where cgroups cannot be created (no v1 hierarchy, read-only
    ``/sys/fs/cgroup``) ``self.missing`` says so and only the per-process limits apply.
    """

    CONTROLLERS = ("cpu", "memory", "pids")

    def __init__(self, slots: int, limits: Limits) -> None:
        self.paths: dict[int, list[Path]] = {}
        self.missing: str | None = None
        tag = f"conv-course-grader-{os.getpid()}"
        try:
            for slot in range(slots):
                groups = []
                for controller in self.CONTROLLERS:
                    path = CGROUP_ROOT / controller / tag / f"slot{slot}"
                    path.mkdir(parents=True, exist_ok=True)
                    groups.append(path)
                (CGROUP_ROOT / "memory" / tag / f"slot{slot}" / "memory.limit_in_bytes").write_text(
                    str(limits.memory_bytes))
                (CGROUP_ROOT / "pids" / tag / f"slot{slot}" / "pids.max").write_text(str(limits.processes))
                self.paths[slot] = groups
        except OSError as exc:
            self.missing = f"no control groups ({exc.strerror}: {exc.filename}); per-process limits only"
            self.close()
            self.paths = {}

    def procs_files(self, slot: int) -> list[str]:
        return [str(p / "cgroup.procs") for p in self.paths.get(slot, [])]

    def close(self) -> None:
        for groups in self.paths.values():
            for path in groups:
                for _ in range(50):  # the kernel empties a group a moment after its last process ends
                    try:
                        path.rmdir()
                        break
                    except FileNotFoundError:
                        break
                    except OSError:
                        time.sleep(0.1)
        for controller in self.CONTROLLERS:
            try:
                (CGROUP_ROOT / controller / f"conv-course-grader-{os.getpid()}").rmdir()
            except OSError:
                pass


def join_cgroups(files: list[str]) -> None:
    """Move the calling process into the given groups (children follow)."""
    for name in files:
        with open(name, "w") as handle:
            handle.write(str(os.getpid()))
