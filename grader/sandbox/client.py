"""The grader's side of the zygote: starting it, waiting until it is loaded, asking it for a harness.

The zygote itself (:mod:`grader.sandbox.zygote`) runs as a process of its own; this client owns its
socket and hands it a spec (:func:`grader.sandbox.walls.zygote_spec` or
:func:`~grader.sandbox.walls.plain_spec`) and the harness's two pipes per sandbox.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from helpers.protocol import PID

from .walls import sandbox_env, unsandboxed_env

#: Seconds the zygote may take to import torch and the course before it is given up.
ZYGOTE_START_TIMEOUT = 300
#: Times a zygote ended from outside (the host's out-of-memory killer, an administrator) is started again.
ZYGOTE_RESTARTS = 3


class ZygoteGone(RuntimeError):
    """The zygote ended and could not be started again: no sandbox can be forked."""


class Zygote:
    """The pre-loaded process that forks every harness (see :mod:`grader.sandbox.zygote`).

    Started at once, without waiting: it imports torch and the course while the grader
    reads the submissions. :meth:`wait` (or the first :meth:`spawn`) waits until it is ready.
    ``sandboxed=False`` serves unsandboxed harnesses (``--no-sandbox``, ``grader check``) with
    ``env``: the grader's own environment with the course's kernel settings, given by the caller
    (default: this process's).
    """

    def __init__(self, cache: Path | None = None, *, sandboxed: bool = True, env: Mapping[str, str] | None = None) -> None:
        import threading

        self.lock = threading.Lock()
        self.restarts = 0
        self._launch(cache, sandboxed, env)

    def _launch(self, cache: Path | None, sandboxed: bool, env: Mapping[str, str] | None) -> None:
        self._args = (cache, sandboxed, env)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        if sandboxed:
            # A minimal environment: /proc/<pid>/environ of every forked sandbox shows the zygote's,
            # so nothing of the instructor's environment (tokens, paths) is handed down.
            env = {**sandbox_env(None), "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/nonexistent",
                   "CONV_COURSE_CACHE": str(cache) if cache else "/nonexistent/conv-course"}
        else:
            env = unsandboxed_env(os.environ if env is None else env)
        self.sandboxed = sandboxed
        self.proc = subprocess.Popen([sys.executable, "-I", "-m", "grader.sandbox.zygote", str(theirs.fileno())],
                                     pass_fds=(theirs.fileno(),), env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        theirs.close()
        self.sock = ours
        self.ready = False

    def wait(self, timeout: float = ZYGOTE_START_TIMEOUT) -> None:
        """Wait until the zygote has loaded everything; ``RuntimeError`` if it could not start."""
        with self.lock:
            self._wait(timeout)

    def _wait(self, timeout: float) -> None:
        if self.ready:
            return
        self.sock.settimeout(timeout)
        try:
            hello = self.sock.recv(1 << 16)
        except OSError:
            hello = b""
        if not hello:
            self._stop()
            raise RuntimeError("the grader's zygote process could not start")
        self.ready = True

    def spawn(self, spec: dict, fds: tuple[int, int]) -> int:
        """Fork a harness from ``spec``; a zygote ended from outside is started again (up to
        :data:`ZYGOTE_RESTARTS` times in a batch), else :class:`ZygoteGone`."""
        with self.lock:
            while True:
                reply = b""
                try:
                    self._wait(ZYGOTE_START_TIMEOUT)
                    socket.send_fds(self.sock, [json.dumps(spec).encode()], list(fds))
                    reply = self.sock.recv(1 << 16)
                except (OSError, RuntimeError):
                    pass
                if reply:
                    return int(json.loads(reply)[PID])
                if self.restarts >= ZYGOTE_RESTARTS:
                    raise ZygoteGone(f"the grader's zygote process ended {self.restarts + 1} times")
                self.restarts += 1
                self._stop()
                self._launch(*self._args)

    def close(self) -> None:
        with self.lock:
            self._stop()

    def _stop(self) -> None:
        self.sock.close()
        self.proc.kill()
        self.proc.wait()
