"""Sandbox users: each grader run's block of unprivileged uids, claimed so that runs never share one.

Every sandbox runs as a uid of its own (one per worker slot). A grader run takes a block of
:data:`MAX_WORKERS` uids (:func:`uid_base`); as root the block is claimed with a lock held for the
process's life, so two concurrent runs (two instructors, CI) never share sandbox users, where one run's
clean-up (:func:`grader.sandbox.reaping.reap`) would end the other's sandboxes.
"""

from __future__ import annotations

import os
from pathlib import Path

FIRST_UID = 61000
#: Sandboxes of one grader run at once (workers); each has a uid of its own, so it is also the size of
#: the block of uids a run takes: block ``b`` is FIRST_UID + MAX_WORKERS * b onwards.
MAX_WORKERS = 32
#: Blocks of sandbox uids (FIRST_UID up to FIRST_UID + MAX_WORKERS * UID_BLOCKS - 1).
UID_BLOCKS = 1024
#: Where a grader run as root claims its block: a lock file per block, held while the process lives.
UID_LOCKS = Path("/run/conv-course-uids")
_block: tuple[int, int] | None = None  # (pid, block): a forked child claims a block of its own
_held: list[int] = []  # the claimed block's lock, open for the life of this process


def uid_base() -> int:
    """The first sandbox uid of this grader run: concurrent runs (two instructors, CI) get disjoint users.

    As root, the block of :data:`MAX_WORKERS` uids is claimed, from the one this process's pid picks
    (``pid % UID_BLOCKS``) onwards: a ``flock`` on its file in :data:`UID_LOCKS`, held until the process
    ends (however it ends). Two runs whose pids agree modulo 1024 therefore never share sandbox users,
    where one run's clean-up would end the other's sandboxes. Without root the sandbox users live in
    user namespaces of their own (their host uid is the grader's own user), so the pid's block is used.
    """
    global _block
    if _block is None or _block[0] != os.getpid():
        _block = (os.getpid(), _claim_block() if os.geteuid() == 0 else pid_block(os.getpid()))
    return block_base(_block[1])


def pid_block(pid: int) -> int:
    """The block of sandbox uids a grader process with this pid tries first."""
    return pid % UID_BLOCKS


def block_base(block: int) -> int:
    """The first sandbox uid of a block."""
    return FIRST_UID + MAX_WORKERS * block


def _claim_block() -> int:
    import fcntl

    UID_LOCKS.mkdir(mode=0o755, exist_ok=True)
    first = pid_block(os.getpid())
    for step in range(UID_BLOCKS):
        block = (first + step) % UID_BLOCKS
        lock = os.open(UID_LOCKS / f"{block}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # another grader run holds this block
            os.close(lock)
            continue
        _held.append(lock)
        return block
    raise RuntimeError(f"all {UID_BLOCKS} blocks of sandbox users are held by other grader runs ({UID_LOCKS})")
