"""The grading place: what one machine needs to run sandboxes, for either backend of a batch.

A place is a zygote (when the isolation forks from one), the warmed data cache, a control group and
a sandbox uid per slot, the slots themselves and a folder of its own for the submissions' folders.
The local pool (:class:`grader.grading.pool.LocalPool`) makes one for its batch; a Dask worker
(:mod:`grader.grading.cluster`) makes one on its first job and keeps it for its life. Both run a
submission the same way, :func:`grader.grading.run.run_plan` with :meth:`GradingPlace.sandboxes`.

Why its parts are made in steps: the local pool starts the zygote first (:meth:`start_zygote`,
seconds of imports) and makes the rest (:meth:`prepare`, :meth:`make_folder`) while it reads the
chapters, so that the start-ups overlap; a worker makes everything at once.
"""

from __future__ import annotations

import atexit
import os
import queue
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..authoring.execute import kernel_env
from ..sandbox.cgroups import Cgroups
from ..sandbox.client import Zygote
from ..sandbox.data import data_cache_dir, warm_data_cache
from ..sandbox.users import uid_base
from .config import GradingConfig

#: The isolations whose sandboxes are forked by a zygote.
ZYGOTE_ISOLATIONS = ("zygote", "none")


class GradingPlace:
    """``slots`` sandboxes side by side on this machine, each with its uid and control group."""

    def __init__(self, config: GradingConfig, slots: int) -> None:
        self.config, self.count = config, slots
        self.uids = uid_base()  # slot ``s`` runs as uid ``uids + s``
        self.zygote: Zygote | None = None
        self.cache: Path | None = None
        self.cgroups: Cgroups | None = None
        self.tmp: Path | None = None
        self.prepared = False
        self.free: queue.Queue[int] = queue.Queue()
        for slot in range(slots):
            self.free.put(slot)

    def start_zygote(self, *, own_thread: bool = False) -> None:
        """Start the zygote, if the isolation forks from one, without waiting for its imports.

        ``own_thread``: start it from a thread of its own that never ends. The zygote dies with the
        thread that started it (``PDEATHSIG``), so on a Dask worker not with a pool thread that Dask
        may retire, but with the worker process; the call then waits until the zygote is loaded.
        """
        config = self.config
        if config.isolation not in ZYGOTE_ISOLATIONS or self.zygote is not None:
            return

        def make() -> Zygote:
            return Zygote(data_cache_dir() if config.sandboxed else None, sandboxed=config.sandboxed,
                          env=kernel_env())

        if not own_thread:
            self.zygote = make()
            return
        made: queue.Queue = queue.Queue()

        def keeper() -> None:
            try:
                made.put(make())
            except BaseException as exc:  # noqa: BLE001 - handed to the job that asked
                made.put(exc)
            threading.Event().wait()

        threading.Thread(target=keeper, name="conv-course-zygote", daemon=True).start()
        zygote = made.get()
        if isinstance(zygote, BaseException):
            raise zygote
        zygote.wait()
        self.zygote = zygote

    def prepare(self) -> None:
        """The data cache warmed and a control group per slot (both only for sandboxes)."""
        config = self.config
        self.cache = warm_data_cache() if config.sandboxed else None
        self.cgroups = Cgroups(self.count, config.limits) if config.sandboxed else None
        self.prepared = True

    def make_folder(self, prefix: str) -> Path:
        """The place's folder, where each submission gets one of its own; sandbox users reach only theirs."""
        self.tmp = Path(tempfile.mkdtemp(prefix=prefix))
        os.chmod(self.tmp, 0o711)
        return self.tmp

    def wait(self) -> None:
        """Until the zygote (if any) has loaded torch and the course."""
        if self.zygote is not None:
            self.zygote.wait()

    @contextmanager
    def slot(self) -> Iterator[int]:
        """A free slot for one submission, given back when it is done."""
        slot = self.free.get()
        try:
            yield slot
        finally:
            self.free.put(slot)

    def uid(self, slot: int) -> int | None:
        """The sandbox user of ``slot`` (``None`` unsandboxed: the grader's own)."""
        return self.uids + slot if self.config.sandboxed else None

    def uid_range(self) -> range:
        return range(self.uids, self.uids + self.count)

    def sandboxes(self) -> dict:
        """The place's part of :func:`grader.grading.run.run_plan`'s keywords."""
        return dict(config=self.config, zygote=self.zygote, cache=self.cache, cgroups=self.cgroups, uids=self.uids)

    def keep_until_exit(self) -> None:
        """Closed when the process exits (a Dask worker's place lives as long as the worker)."""
        atexit.register(self.close)

    def close(self) -> None:
        """The zygote, the control groups and the folder gone (it may be called twice)."""
        if self.zygote is not None:
            self.zygote.close()
            self.zygote = None
        if self.cgroups is not None:
            self.cgroups.close()
            self.cgroups = None
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None
