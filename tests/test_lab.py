"""The README's course command really serves chapter 1 in JupyterLab."""

import json
import os
import subprocess
import urllib.request
from pathlib import Path

import pytest

from tests.lab import serve, stop

ROOT = Path(__file__).resolve().parent.parent
FIRST = "notebooks/01-convolution-by-hand/01-convolution-by-hand.ipynb"


def _make_lab(tmp_path: Path):
    """``make lab`` (the README's course command) on the port and token :func:`tests.lab.serve` picks."""
    def launch(port: int, token: str) -> subprocess.Popen:
        args = f"--no-browser --ServerApp.ip=127.0.0.1 --port={port} --ServerApp.port_retries=0 " \
               f"--IdentityProvider.token={token}"
        env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))
        with open(tmp_path / "lab.log", "w") as log:
            return subprocess.Popen(["make", "--no-print-directory", "lab", f"LAB_ARGS={args}"], cwd=ROOT, env=env,
                                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    return launch


@pytest.mark.slow
def test_make_lab_serves_chapter_one(tmp_path):
    server, url, token = serve(_make_lab(tmp_path), tmp_path / "lab.log", timeout=120)
    try:
        with urllib.request.urlopen(f"{url}/api/contents/{FIRST}?token={token}&content=1",
                                    timeout=10) as reply:
            model = json.load(reply)
        assert model["type"] == "notebook" and model["path"] == FIRST
        assert any("apply_kernel" in "".join(c["source"]) for c in model["content"]["cells"])
        with urllib.request.urlopen(f"{url}/lab/tree/{FIRST}?token={token}", timeout=10) as page:
            assert page.status == 200 and b"JupyterLab" in page.read()
    finally:
        stop(server)


def test_a_server_whose_port_was_taken_meanwhile_is_started_again_on_another(tmp_path):
    """:func:`tests.lab.serve`'s retry, with a stand-in server: the first finds its port in use."""
    import sys

    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "status").write_text("{}")
    ports = []

    def launch(port: int, token: str) -> subprocess.Popen:
        ports.append(port)
        code = ("import sys; print('[Errno 98] Address already in use'); sys.exit(1)" if len(ports) == 1 else
                "import functools, http.server; http.server.ThreadingHTTPServer(('127.0.0.1', %d), functools.partial("
                "http.server.SimpleHTTPRequestHandler, directory=%r)).serve_forever()" % (port, str(tmp_path)))
        with open(tmp_path / "server.log", "w") as log:
            return subprocess.Popen([sys.executable, "-c", code], stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)

    server, url, _ = serve(launch, tmp_path / "server.log", timeout=30)
    try:
        assert len(ports) == 2 and url == f"http://127.0.0.1:{ports[1]}"
    finally:
        stop(server)
    assert server.poll() is not None
