"""Grading as an ordinary Unix user: the sandbox in an unprivileged user namespace, hostile notebooks included.

A throwaway user (``useradd``, removed afterwards) runs ``python -m grader autograde`` through
``.ci/as-user``: no root, no capabilities. The batch holds a correct and a blank notebook, one
that probes its walls from inside (its cell raises if it sees the course, root's home, the
network or a capability, or can write outside its folder) and one that sends SIGKILL to every
process it can reach (as the grader's own user, only the sandbox's PID namespace stops it).
"""

import csv
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import uuid
from pathlib import Path

import nbformat
import pytest

from grader.authoring.config import ROOT
from tests.support import hand_in, student_notebook

CH1 = "01-convolution-by-hand"
AS_USER = ROOT / ".ci" / "as-user"
MARK = uuid.uuid4().hex[:8]

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(os.geteuid() != 0 or not all(shutil.which(t) for t in ("useradd", "unshare", "setpriv")),
                                 reason="makes a Unix user: needs root, useradd, unshare and setpriv")]


def _under_root() -> str:
    """The course's own folder under /root, when it is checked out there (the sandbox shows it read-only)."""
    return ROOT.parts[2] if ROOT.parts[:2] == ("/", "root") and len(ROOT.parts) > 2 else ".pyenv"


def _probe(port: int, subs: Path) -> str:
    return f"""import os, socket
assert os.getuid() >= 61000, 'not the sandbox user'  # the grader's own user, mapped to one id of its own
status = open('/proc/self/status').read()
assert 'CapEff:\\t0000000000000000' in status, 'a capability is left'
assert 'NoNewPrivs:\\t1' in status
for path in {[str(ROOT / 'solutions'), str(ROOT / '.git'), str(subs), '/etc/passwd', '/home']!r}:
    assert not os.path.exists(path), path
# root's home holds at most the Python install the sandbox runs (pyenv), nothing else of it
assert set(os.listdir('/root') if os.path.isdir('/root') else []) <= {{'.pyenv', {_under_root()!r}}}, os.listdir('/root')
try:
    socket.create_connection(('127.0.0.1', {port}), timeout=2)
    raise AssertionError('the host network is reachable')
except OSError:
    pass
open('/tmp/pwned-{MARK}', 'w').write('only in the private /tmp')
for path in ('/usr/pwned-{MARK}', '{ROOT}/helpers/pwned-{MARK}'):
    try:
        open(path, 'w')
        raise AssertionError('wrote ' + path)
    except OSError:
        pass
assert min(int(p) for p in os.listdir('/proc') if p.isdigit()) == 1, 'sees the host processes'
"""


class Listener(threading.Thread):
    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port, self.accepted = self.sock.getsockname()[1], []

    def run(self) -> None:
        try:
            while True:
                self.accepted.append(self.sock.accept()[1])
        except OSError:
            pass


@pytest.fixture(scope="module")
def rootless_batch():
    user = f"ccgrade{os.getpid() % 100000}"
    subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", user], check=True)
    tmp = Path(tempfile.mkdtemp(prefix="conv-course-rootless-"))
    listener = Listener()
    listener.start()
    try:
        subs = tmp / "subs"
        hand_in(subs, "alice", student_notebook(CH1), f"{CH1}.ipynb")
        hand_in(subs, "bob", student_notebook(CH1, "blank"), "hw.ipynb")
        probe = student_notebook(CH1)
        probe.cells.insert(0, nbformat.v4.new_code_cell(_probe(listener.port, subs)))
        hand_in(subs, "mallory", probe, "probe.ipynb")
        killer = student_notebook(CH1)
        killer.cells.append(nbformat.v4.new_code_cell("import os, signal\nos.kill(-1, signal.SIGKILL)\nos.kill(-1, signal.SIGTERM)"))
        hand_in(subs, "eve", killer, "killer.ipynb")
        shutil.chown(tmp, user)
        for path in tmp.rglob("*"):
            shutil.chown(path, user)
        out = tmp / "out"
        env = ["/usr/bin/env", "OMP_NUM_THREADS=1", "MKL_NUM_THREADS=1", f"HOME={tmp}", "PYTHONDONTWRITEBYTECODE=1"]
        done = subprocess.run([str(AS_USER), user, *env, sys.executable, "-m", "grader", "autograde", str(subs),
                               "--out", str(out), "--workers", "2", "--cell-timeout", "60"],
                              cwd=ROOT, capture_output=True, text=True, timeout=900)
        report = json.loads((out / "report.json").read_text()) if (out / "report.json").exists() else {}
        rows = list(csv.DictReader(open(out / "grades.csv"))) if (out / "grades.csv").exists() else []
        yield {"done": done, "report": report, "rows": rows, "listener": listener,
               "by": {s["student"]: s for s in report.get("submissions", [])}}
    finally:
        listener.sock.close()
        subprocess.run(["userdel", user], check=False)
        shutil.rmtree(tmp, ignore_errors=True)


def test_grades_without_root(rootless_batch):
    done, by = rootless_batch["done"], rootless_batch["by"]
    assert done.returncode == 0, done.stderr[-2000:]
    assert by["alice"]["status"] == "graded" and by["alice"]["score"] == by["alice"]["max_score"] > 0
    assert by["bob"]["status"] == "graded" and by["bob"]["score"] == 0
    sandbox = rootless_batch["report"]["sandbox"]
    assert sandbox["isolation"] == "zygote" and "per-process limits only" in sandbox["cgroups"]


def test_walls_hold_as_an_ordinary_user(rootless_batch):
    mallory = rootless_batch["by"]["mallory"]
    assert mallory["raised"] == [], mallory["raised"]  # the probe saw nothing it should not
    assert mallory["score"] == mallory["max_score"]
    assert rootless_batch["listener"].accepted == []
    assert not Path(f"/tmp/pwned-{MARK}").exists() and not list(ROOT.rglob(f"pwned-{MARK}*"))


def test_kill_everything_reaches_only_its_own_sandbox(rootless_batch):
    eve, alice = rootless_batch["by"]["eve"], rootless_batch["by"]["alice"]
    assert eve["status"] == "graded" and eve["score"] == eve["max_score"]
    # PID 1 of its namespace signals nobody else: the grader, its zygote and the other sandboxes run as the
    # same Unix user and would all have died without the PID namespace
    assert alice["score"] == alice["max_score"] and rootless_batch["done"].returncode == 0
