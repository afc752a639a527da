"""The kernel manager of every kernel the course starts: Unix sockets of its own, not TCP ports.

Over TCP, Jupyter picks five free ports, lets go of them and starts the kernel,
which binds them a second or two later; any other process may take one of them
in between (a CI run lost ``nbgrader validate`` to ``Address already in use`` and
"Kernel didn't respond in 60 seconds"). A socket file in the user's runtime
folder named after a fresh uuid cannot be taken by anyone else.

Used by :func:`.execute.execute`, by nbgrader's own runs (``config.configure``
sets ``Execute.kernel_manager_class``) and by the website's chapter runs.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from jupyter_client import AsyncKernelManager
from jupyter_core.paths import jupyter_runtime_dir
from traitlets import default

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
