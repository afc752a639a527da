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


@pytest.mark.slow
def test_make_lab_serves_chapter_one(tmp_path):
    port, token = free_port(), secrets.token_hex(16)
    args = f"--no-browser --ServerApp.ip=127.0.0.1 --port={port} --ServerApp.port_retries=0 " \
           f"--IdentityProvider.token={token}"
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))
    log = open(tmp_path / "lab.log", "w")
    server = subprocess.Popen(["make", "--no-print-directory", "lab", f"LAB_ARGS={args}"], cwd=ROOT, env=env,
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        url = f"http://127.0.0.1:{port}/api/contents/{FIRST}?token={token}&content=1"
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5) as reply:
                    model = json.load(reply)
                break
            except OSError:
                assert server.poll() is None, (tmp_path / "lab.log").read_text()[-3000:]
                assert time.monotonic() < deadline, "JupyterLab did not answer within 120 s"
                time.sleep(1)
        assert model["type"] == "notebook" and model["path"] == FIRST
        assert any("apply_kernel" in "".join(c["source"]) for c in model["content"]["cells"])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/lab/tree/{FIRST}?token={token}", timeout=10) as page:
            assert page.status == 200 and b"JupyterLab" in page.read()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        log.close()
