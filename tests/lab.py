"""One real JupyterLab server for the browser tests, and what they share to drive it in Chromium.

``jupyter lab`` runs on 127.0.0.1 with a token, ``port_retries=0`` (started again on another port
if that one was taken meanwhile), ``--allow-root`` when needed and kernels on Unix sockets, its
settings and runtime files in folders of the test's own; on the way out it ends
only what it started: the server's process group and the kernels it launched (they run in
sessions of their own, so ``killpg`` misses them). Chromium is Debian's; without it the tests
are skipped, unless ``CI`` is set: then they fail, since CI installs it (``.ci/run``).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
#: The learner's JupyterLab settings, as ``make lab`` uses them (no nbgrader instructor panels, no news).
LEARNER_CONFIG = Path(__file__).resolve().parent.parent / "jupyter" / "learner"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]


def missing(reason: str):
    """Skip for ``reason``, or fail when ``CI`` is set (CI installs everything the browser tests need)."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so the browser test must run)")
    pytest.skip(reason)


def browser_missing() -> str | None:
    """Why the browser tests cannot run here (Chromium or Playwright missing), or ``None``."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed"
    return None


def need_browser() -> None:
    """Skip (or, in CI, fail) when Chromium or Playwright is missing."""
    reason = browser_missing()
    if reason:
        missing(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stat(pid: int) -> tuple[str, int]:
    """A process's state letter (``R``, ``S``, ``Z``...) and parent pid, from ``/proc/<pid>/stat``
    (``OSError`` once it is gone)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return fields[0], int(fields[1])


def descendants(pid: int) -> set[int]:
    """Every process below ``pid``."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                _, ppid = stat(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def serve(launch, log_path: Path, timeout: float = 90) -> tuple[subprocess.Popen, str, str]:
    """A Jupyter server on 127.0.0.1: ``(server, url, token)`` once its ``/api/status`` answers.

    ``launch(port, token)`` starts it (a ``Popen`` in a session of its own, its output in ``log_path``)
    on a port free a moment ago, with ``port_retries=0``; when another process took that port before
    the server bound it, it is started again on another one, three times in all.
    """
    tries = 3
    while True:
        tries -= 1
        port, token = free_port(), secrets.token_hex(16)
        server = launch(port, token)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        while server.poll() is None:
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2) as answer:
                    if answer.status == 200:
                        return server, url, token
            except OSError:
                pass
            if time.monotonic() > deadline:
                stop(server)
                raise AssertionError(f"the Jupyter server did not answer within {timeout:.0f} s:\n"
                                     f"{log_path.read_text()[-3000:]}")
            time.sleep(0.5)
        printed = log_path.read_text()
        if "already in use" not in printed or not tries:
            raise AssertionError(f"the Jupyter server exited:\n{printed[-3000:]}")
        # the port was taken meanwhile: another one


def stop(server: subprocess.Popen) -> None:
    """End the server's process group, then the kernels it launched (in sessions of their own)."""
    started = descendants(server.pid)
    try:
        os.killpg(server.pid, signal.SIGTERM)  # the server's group: itself and what shares it
    except ProcessLookupError:
        pass
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=5)
    for pid in started:  # kernels it launched in their own sessions, if still there
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@contextmanager
def jupyter_lab(root: Path, state: Path, env: dict[str, str] | None = None,
                learner: bool = False) -> Iterator[tuple[str, str]]:
    """``jupyter lab`` serving ``root``, its own files in ``state``; yields ``(url, token)``.

    ``env`` is the server's whole environment (default: this process's); the Jupyter folders and
    one torch thread are set on top of it, and ``NBGRADER_EXECUTION`` is removed. ``learner``: with
    the learner's settings of ``make lab`` (:data:`LEARNER_CONFIG`). The runtime folder
    (connection files, kernels' sockets) is a short one in /tmp: a Unix socket's path holds 107 bytes.
    """
    state.mkdir(parents=True, exist_ok=True)
    runtime = tempfile.mkdtemp(prefix="lab-")
    server_env = {**(os.environ if env is None else env), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                  "JUPYTER_CONFIG_DIR": str(state / ".config"), "JUPYTER_RUNTIME_DIR": runtime,
                  "JUPYTERLAB_SETTINGS_DIR": str(state / ".settings"),
                  "JUPYTERLAB_WORKSPACES_DIR": str(state / ".workspaces")}
    server_env.pop("NBGRADER_EXECUTION", None)
    if learner:
        server_env["JUPYTER_CONFIG_PATH"] = str(LEARNER_CONFIG)
    log_path = state / "lab.log"

    def launch(port: int, token: str) -> subprocess.Popen:
        command = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
                   "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
                   "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
                   # kernels on Unix sockets: a TCP port picked for a kernel can be taken before it binds it
                   "--KernelManager.transport=ipc"]
        if os.geteuid() == 0:
            command.append("--allow-root")
        with log_path.open("w") as log:
            return subprocess.Popen(command, cwd=root, env=server_env, stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)

    try:
        server, url, token = serve(launch, log_path)
        try:
            yield url, token
        finally:
            stop(server)
    finally:
        shutil.rmtree(runtime, ignore_errors=True)


@contextmanager
def chromium(profile: Path, width: int = 1400, height: int = 1000):
    """Debian's Chromium, headless, driven by Playwright with a profile of the test's own; yields the context."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
            viewport={"width": width, "height": height})
        try:
            yield context
        finally:
            context.close()


#: Where a failing browser test leaves a screenshot of its page.
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def screenshot(tab, name: str) -> None:
    """A full-page screenshot in ``test-artifacts/<name>.png``: a help for a failure, never one itself."""
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        tab.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    except Exception:  # noqa: BLE001 - a screenshot helps; it is not the failure
        pass


def kernel_ready(tab, url: str, token: str, timeout_ms: int = 90_000) -> None:
    """Wait until the open notebook's kernel is idle and connected, accepting JupyterLab's kernel
    dialog if it asks.

    A notebook that names its kernel starts it without asking; one that does not gets a dialog
    with the preselected kernel, which is accepted whenever it shows: no fixed wait for a dialog
    that may never come. The page's idle indicator alone is not enough (it reads idle before any
    kernel exists, and until the page's websocket reaches the kernel JupyterLab quietly skips a
    cell run with Shift+Enter: its prompt stays ``[ ]:``), so the server is asked until the kernel
    it started is idle with a connection.
    """
    select = tab.locator(".jp-Dialog").get_by_role("button", name="Select")
    deadline = time.monotonic() + timeout_ms / 1000
    kernels: list | str = []
    while True:
        if select.is_visible():  # the page asks which kernel: take the one it preselected
            select.click()
        try:
            with urllib.request.urlopen(f"{url}/api/kernels?token={token}", timeout=10) as answer:
                kernels = json.loads(answer.read())
        except urllib.error.HTTPError as exc:  # jupyter_server answers 500 while a kernel is half-started
            kernels = f"HTTP {exc.code}"
        if isinstance(kernels, list) and any(k["execution_state"] == "idle" and k.get("connections", 0) > 0
                                             for k in kernels):
            break
        if time.monotonic() > deadline:
            raise AssertionError(f"no kernel became idle with a connection: {kernels}")
        time.sleep(0.2)
    tab.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(timeout=timeout_ms)
