"""Nothing started earlier computes for a by-hand answer (:mod:`helpers.freezing`), in a real sandbox.

An earlier cell starts a helper that serves convolutions computed by torch: a process holding an
inherited socket, a server on a Unix socket, a thread of the harness itself. The by-hand answer
asks it. Graded, each one fails with the reason named (every other process of the sandbox is
frozen while the answer runs, and the inherited descriptors are closed); a right answer written
with the same helpers around still passes, and the helpers run again afterwards.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
import torch

from grader.authoring.config import ROOT
from grader.sandbox.process import Sandbox, available
from helpers.checks import exercise
from helpers.checks.core import Outcome
from helpers import protocol
from tests.support import BY_HAND_CONVOLVE

pytestmark = pytest.mark.slow

CH1 = "01-convolution-by-hand"
FRAMING = r'''
import os, socket, struct, subprocess, sys, threading, time, numpy as np, torch, torch.nn.functional as F

def _serve_one(c):
    data = c.recv(1 << 20)
    if len(data) < 16:
        return
    h, w, kh, kw = struct.unpack('4i', data[:16])
    x = np.frombuffer(data[16:], dtype=np.float32)
    img, k = torch.tensor(x[:h * w].reshape(h, w)), torch.tensor(x[h * w:].reshape(kh, kw))
    c.sendall(F.conv2d(img[None, None], k[None, None])[0, 0].numpy().tobytes())

def _ask(c, img, kernel):  # torch and struct only: NumPy's code is locked while the answer runs
    c.settimeout(1)
    values = img.flatten().tolist() + kernel.flatten().tolist()
    c.sendall(struct.pack('4i', *img.shape, *kernel.shape) + struct.pack(f'{len(values)}f', *values))
    data = c.recv(1 << 20)
    out = torch.tensor(struct.unpack(f'{len(data) // 4}f', data))
    return out.reshape(img.shape[0] - kernel.shape[0] + 1, img.shape[1] - kernel.shape[1] + 1)

def _listen(path):
    s = socket.socket(socket.AF_UNIX)
    s.bind(path)
    s.listen(64)
    while True:
        c, _ = s.accept()
        try:
            _serve_one(c)
        except OSError:
            pass
        c.close()
'''
HELPERS = {
    "an inherited socket to a forked process": r'''
_a, _b = socket.socketpair()
if os.fork() == 0:
    _a.close()
    while True:
        _serve_one(_b)
_b.close()
def convolve(img, kernel):
    return _ask(_a, img, kernel)
''',
    "a server process on a Unix socket": r'''
_server = subprocess.Popen([sys.executable, '-c', 'import sys; exec(sys.stdin.read())'], stdin=subprocess.PIPE)
_server.stdin.write((FRAMING + "\n_listen('/tmp/proc.sock')\n").encode())
_server.stdin.close()
while not os.path.exists('/tmp/proc.sock'):
    time.sleep(0.05)
def convolve(img, kernel):
    c = socket.socket(socket.AF_UNIX)
    c.connect('/tmp/proc.sock')
    return _ask(c, img, kernel)
''',
    "a thread of the harness on a Unix socket": r'''
threading.Thread(target=_listen, args=('/tmp/thread.sock',), daemon=True).start()
while not os.path.exists('/tmp/thread.sock'):
    time.sleep(0.05)
def convolve(img, kernel):
    c = socket.socket(socket.AF_UNIX)
    c.connect('/tmp/thread.sock')
    return _ask(c, img, kernel)
''',
}


@pytest.fixture(scope="module")
def box():
    isolation = "zygote" if available("zygote") is None else "none"
    zygote = None
    if isolation == "zygote":
        from grader.sandbox.client import Zygote

        zygote = Zygote(None, sandboxed=True)
        zygote.wait()
    work = Path(tempfile.mkdtemp(prefix="freezing-"))
    (work.parent / f"{work.name}-root").mkdir()
    (work / "outcomes").mkdir()
    for path in (work, work / "outcomes"):
        os.chmod(path, 0o777)
    sandbox = Sandbox(work, CH1, 0, root=ROOT, isolation=isolation, zygote=zygote)
    sandbox.start()
    assert sandbox.run({"op": "code", "source": f"FRAMING = {FRAMING!r}\n" + FRAMING}, 60)["status"] == "ok"
    yield sandbox, work
    sandbox.stop()
    if zygote is not None:
        zygote.close()


def _collect(box) -> list[Outcome]:
    sandbox, work = box
    reply = sandbox.run(protocol.test_command("convolve", True, None), 120)
    assert reply["status"] == "ok", reply
    return [Outcome(**o) for o in torch.load(work / "outcomes" / "convolve.hidden.pt", weights_only=True)]


@pytest.mark.parametrize("helper", list(HELPERS))
def test_a_helper_started_by_an_earlier_cell_serves_no_by_hand_answer(box, helper):
    sandbox, _ = box
    reply = sandbox.run({"op": "code", "source": HELPERS[helper] +
                         "assert convolve(torch.ones(3, 3), torch.ones(2, 2)).sum() == 16  # it serves, unguarded"},
                        60)
    assert reply["status"] == "ok", reply
    outcomes = _collect(box)
    assert not exercise("convolve").judge(outcomes, hidden=True).passed
    assert all(o.error and "every other process of the sandbox is frozen" in o.error for o in outcomes), \
        [o.error for o in outcomes]


def test_a_right_answer_passes_with_helpers_around_and_they_run_again_after(box):
    sandbox, _ = box
    sandbox.run({"op": "code", "source": HELPERS["a server process on a Unix socket"].replace("proc.sock", "again.sock")}, 60)
    assert sandbox.run({"op": "code", "source": "_ask_again = convolve\n" + BY_HAND_CONVOLVE}, 30)["status"] == "ok"
    outcomes = _collect(box)
    assert exercise("convolve").judge(outcomes, hidden=True).passed, [o.error for o in outcomes]
    reply = sandbox.run({"op": "code", "source": "assert _ask_again(torch.ones(3, 3), torch.ones(2, 2)).sum() == 16\n"
                         "assert open(f'/proc/{_server.pid}/stat').read().rsplit(') ', 1)[1][0] != 'T'"}, 30)
    assert reply["status"] == "ok", reply
