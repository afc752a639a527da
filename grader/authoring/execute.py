"""Running notebooks in fresh kernels, one torch thread each, talking over Unix sockets.

Used to refresh the stored outputs of the solution notebooks (the outputs
nbval compares), by nbgrader's own execution (``config.configure``) and by the
tests and benchmarks that run whole chapters.

Why Unix sockets: over TCP, Jupyter picks five free ports, lets go of them and
starts the kernel, which binds them a second or two later. Any other process
may take one of them in between (a CI run lost ``nbgrader validate`` to
``Address already in use`` and "Kernel didn't respond in 60 seconds"). A
socket file in the user's runtime folder named after a fresh uuid cannot be
taken by anyone else.
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from jupyter_client import AsyncKernelManager
from jupyter_core.paths import jupyter_runtime_dir
from nbformat import NotebookNode
from traitlets import default

from . import notebooks
from .config import CELL_TIMEOUT, ROOT, SOURCE_DIR

#: Environment of every kernel the course starts: one thread for torch and BLAS.
KERNEL_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
              "PYDEVD_DISABLE_FILE_VALIDATION": "1", "MPLBACKEND": "module://matplotlib_inline.backend_inline"}


def kernel_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment with the course's kernel settings (and ``extra``) applied."""
    env = dict(os.environ)
    env.update(KERNEL_ENV)
    env.update(extra or {})
    return env


#: A Unix socket's path holds at most 107 bytes; the kernel adds ``-<n>`` to the stem.
_SOCKET_PATH_MAX = 100


class IpcKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel listens on Unix sockets of its own, not on TCP ports (see above).

    Left to Jupyter, an IPC kernel started without a connection file would use ``kernel-ipc-<n>`` in the
    working folder, shared by every such kernel; each one here gets a fresh name in the runtime folder.
    Where that path would be too long for a Unix socket, the kernel uses TCP as before.
    """

    @default("transport")
    def _transport_default(self) -> str:
        return "ipc" if len(self._socket_stem()) <= _SOCKET_PATH_MAX else "tcp"

    @default("ip")
    def _ip_default(self) -> str:
        if self.transport != "ipc" or self.connection_file:
            return super()._ip_default()
        return self._socket_stem()

    def _socket_stem(self) -> str:
        if not hasattr(self, "_stem"):
            folder = Path(jupyter_runtime_dir())
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._stem = str(folder / f"kernel-{uuid.uuid4().hex}-ipc")
        return self._stem


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
