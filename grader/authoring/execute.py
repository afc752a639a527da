"""Running notebooks in fresh kernels, one torch thread each, on Unix sockets (:mod:`.kernels`).

Used to refresh the stored outputs of the solution notebooks (the outputs
nbval compares) and by the tests and benchmarks that run whole chapters.
:func:`kernel_env` is also the unsandboxed grader's environment, so this module
imports neither ``nbformat`` nor ``jupyter_client`` until a notebook is run.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from . import notebooks
from .config import CELL_TIMEOUT, ROOT, SOURCE_DIR

if TYPE_CHECKING:
    from nbformat import NotebookNode

#: Environment of every kernel the course starts: one thread for torch and BLAS.
KERNEL_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
              "PYDEVD_DISABLE_FILE_VALIDATION": "1", "MPLBACKEND": "module://matplotlib_inline.backend_inline"}


def kernel_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment with the course's kernel settings (and ``extra``) applied."""
    env = dict(os.environ)
    env.update(KERNEL_ENV)
    env.update(extra or {})
    return env


@dataclass
class Timing:
    """How long each cell of an executed notebook took, in seconds."""

    total: float = 0.0
    cells: list[tuple[str, float]] = field(default_factory=list)


def execute(nb: NotebookNode, cwd: Path, *, timeout: int = CELL_TIMEOUT,
            env: dict[str, str] | None = None, allow_errors: bool = False) -> Timing:
    """Execute ``nb`` in place in a fresh ``python3`` kernel started in ``cwd``; raises on a cell error
    unless ``allow_errors`` (then every cell runs, as "run all cells" does, errors kept in the outputs)."""
    from nbclient import NotebookClient

    from .kernels import IpcKernelManager

    timing = Timing()
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(cwd)}},
                            record_timing=True, allow_errors=allow_errors, kernel_manager_class=IpcKernelManager)
    start = time.perf_counter()
    client.execute(env=kernel_env(env))
    timing.total = time.perf_counter() - start
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("execution", {})
        if cell.cell_type == "code" and "iopub.execute_input" in meta and "shell.execute_reply" in meta:
            from datetime import datetime

            begin = datetime.fromisoformat(meta["iopub.execute_input"].replace("Z", "+00:00"))
            end = datetime.fromisoformat(meta["shell.execute_reply"].replace("Z", "+00:00"))
            timing.cells.append((cell.get("id", "?"), (end - begin).total_seconds()))
    return timing


def refresh_outputs(chapter: str, root: Path = ROOT) -> Timing:
    """Run a solution notebook and store the outputs of its ``nbval-check-output`` cells."""
    path = notebooks.notebook_path(chapter, SOURCE_DIR, root)
    nb = notebooks.read(path)
    timing = execute(nb, path.parent)
    notebooks.write(notebooks.normalize(nb), path)
    return timing
