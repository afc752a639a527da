"""The README's course command really serves chapter 1 in JupyterLab."""

import json
import os
import secrets
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.lab import free_port

ROOT = Path(__file__).resolve().parent.parent
FIRST = "notebooks/01-convolution-by-hand/01-convolution-by-hand.ipynb"


def _serve(tmp_path: Path) -> tuple[subprocess.Popen, int, str] | None:
    """``make lab`` on a port free a moment ago; ``None`` if another process took that port first."""
    port, token = free_port(), secrets.token_hex(16)
    args = f"--no-browser --ServerApp.ip=127.0.0.1 --port={port} --ServerApp.port_retries=0 " \
           f"--IdentityProvider.token={token}"
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))
    with open(tmp_path / "lab.log", "w") as log:
        server = subprocess.Popen(["make", "--no-print-directory", "lab", f"LAB_ARGS={args}"], cwd=ROOT, env=env,
                                  stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=5):
                return server, port, token
        except OSError:
            if server.poll() is not None:
                printed = (tmp_path / "lab.log").read_text()
                if "already in use" in printed:
                    return None
                raise AssertionError(printed[-3000:])
            if time.monotonic() > deadline:
                _stop(server)
                raise AssertionError("JupyterLab did not answer within 120 s")
            time.sleep(1)


def _stop(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)


@pytest.mark.slow
def test_make_lab_serves_chapter_one(tmp_path):
    for _ in range(3):  # again on another port if the free one was taken meanwhile
        served = _serve(tmp_path)
        if served:
            break
    assert served, "the port picked for JupyterLab was taken three times"
    server, port, token = served
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/contents/{FIRST}?token={token}&content=1",
                                    timeout=10) as reply:
            model = json.load(reply)
        assert model["type"] == "notebook" and model["path"] == FIRST
        assert any("apply_kernel" in "".join(c["source"]) for c in model["content"]["cells"])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/lab/tree/{FIRST}?token={token}", timeout=10) as page:
            assert page.status == 200 and b"JupyterLab" in page.read()
    finally:
        _stop(server)
