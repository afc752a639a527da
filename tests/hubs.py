"""Test and benchmark support for the course's JupyterHub: real Unix accounts with passwords, a
class file for them, ``make hub`` run in the background and stopped, and the steps a user takes in
Chromium (log in through the hub's page, open nbgrader's Assignments tab).

``make hub`` is the README's command, run as it is documented; the hub, its proxy and each user's
server are real processes, the accounts real accounts (``useradd``, ``chpasswd``), removed afterwards.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from grader.authoring.config import ROOT
from tests.lab import free_port


@dataclass(frozen=True)
class Account:
    name: str
    password: str
    home: Path


@contextmanager
def accounts(homes: Path, roles: list[str]) -> Iterator[dict[str, Account]]:
    """``{role: Account}``: one new account per role (its name the role plus a random tag), each with a
    password and a home in ``homes``; all removed afterwards."""
    homes.mkdir(parents=True, exist_ok=True)
    os.chmod(homes, 0o755)
    tag = secrets.token_hex(3)
    made: dict[str, Account] = {}
    try:
        for role in roles:
            name = f"{role}{tag}"
            subprocess.run(["useradd", "--create-home", "--home-dir", str(homes / name), "--shell", "/bin/sh",
                            "--user-group", name], check=True, capture_output=True)
            made[role] = Account(name, secrets.token_urlsafe(12), homes / name)
            subprocess.run(["chpasswd"], input=f"{name}:{made[role].password}\n", text=True, check=True,
                           capture_output=True)
        yield made
    finally:
        for account in made.values():
            subprocess.run(["userdel", "--remove", account.name], capture_output=True)


def class_file(place: Path, port: int, courses: list[tuple[str, Account, list[tuple[Account, str, str] | Account]]]) \
        -> Path:
    """``place/class.toml`` for ``courses``: ``(id, instructor, learners)``, a learner an account or
    ``(account, first name, last name)``; state and exchange in ``place``."""
    lines = ['ip = "127.0.0.1"', f"port = {port}", f'state = "{place / "state"}"',
             f'exchange = "{place / "exchange"}"']
    for cid, instructor, learners in courses:
        entries = [f'{{ id = "{l[0].name}", first_name = "{l[1]}", last_name = "{l[2]}" }}' if isinstance(l, tuple)
                   else f'"{l.name}"' for l in learners]
        lines += ["", "[[course]]", f'id = "{cid}"', f'instructors = ["{instructor.name}"]',
                  "learners = [", *(f"  {e}," for e in entries), "]"]
    path = place / "class.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


@contextmanager
def running_hub(place: Path, path: Path, port: int, timeout: float = 900) -> Iterator[tuple[str, float]]:
    """``make hub HUB_CLASS=path`` in the background: ``(url, seconds until the hub answered)``; stopped
    afterwards (SIGTERM: JupyterHub stops the users' servers), its log kept in ``place/hub.log``."""
    log = place / "hub.log"
    env = {**os.environ, "CONV_COURSE_HUB_API_PORT": str(free_port()), "CONV_COURSE_PROXY_API_PORT": str(free_port())}
    started = time.monotonic()
    with open(log, "w") as out:
        process = subprocess.Popen(["make", "--no-print-directory", "hub", f"HUB_CLASS={path}"], cwd=ROOT, env=env,
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout  # a fresh clone installs JupyterHub and the proxy first
        while True:
            assert process.poll() is None, f"make hub stopped:\n{log.read_text()[-4000:]}"
            try:
                with urllib.request.urlopen(f"{url}/hub/api/", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"the hub did not answer:\n{log.read_text()[-4000:]}"
            time.sleep(0.25)
        yield url, time.monotonic() - started
    finally:
        pid_file = place / "state" / "jupyterhub.pid"
        hub_pid = int(pid_file.read_text()) if pid_file.exists() else None
        os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 60
        while hub_pid and time.monotonic() < deadline:
            try:
                os.kill(hub_pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.5)
        else:
            if hub_pid:
                os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


def log_in(browser, url: str, account: Account):
    """A browser context of ``account``, logged in through the hub's login page, on its JupyterLab."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(180_000)
    page.goto(f"{url}/hub/login")
    page.fill("input#username_input", account.name)
    page.fill("input#password_input", account.password)
    page.click("input#login_submit")
    page.wait_for_url(re.compile(r".*/user/[^/]+/lab.*"))
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Nbgrader$")).wait_for()
    return page


def nbgrader_menu(page) -> list[str]:
    """The labels of JupyterLab's Nbgrader menu, left open. (A click on a menu bar that still has
    focus from an earlier menu can close instead of open: clicked again until the menu shows.)"""
    items = page.locator(".lm-Menu-content .lm-Menu-itemLabel")
    for _ in range(5):
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Nbgrader$")).click()
        try:
            items.first.wait_for(timeout=5_000)
            break
        except Exception:  # noqa: BLE001 - the menu did not open: click again
            page.keyboard.press("Escape")
    return [t.strip() for t in items.all_inner_texts()]


def assignments_tab(page):
    """nbgrader's Assignments tab (Nbgrader > Assignment List), once it has loaded."""
    nbgrader_menu(page)
    page.locator(".lm-Menu-content .lm-Menu-itemLabel", has_text="Assignment List").click()
    page.locator("#released_assignments_list").wait_for(state="attached")
    page.locator("#released_assignments_list_loading").wait_for(state="hidden")
    return page
