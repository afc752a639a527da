"""The course's JupyterHub under a class: start-up, one learner's first minute, 30 hand-ins at once.

In one run, with real Unix accounts made for it (removed afterwards), ``make hub`` as documented:

* **hub start-up**: from ``make hub`` (JupyterHub and its proxy already installed) to the hub's API
  answering: the class file read, exchange and course directories prepared, the users' Python
  checked, JupyterHub and configurable-http-proxy started;
* **login to fetched**: one learner in Chromium, from opening the login page to chapter 1 listed as
  fetched in nbgrader's Assignments tab (their JupyterLab started by the hub on the way);
* **30 learners submitting at once**: 30 accounts, each with chapter 1 fetched, run ``nbgrader
  submit`` into the hub's exchange at the same moment (what the Assignments tab's Submit runs in
  each learner's server; 30 JupyterLab servers at once do not fit a 2-core machine); then the
  instructor collects: **submissions lost** (handed in but not collected) must be 0.

    sudo .venv/bin/python -m benchmarks.hub [--learners 30]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import save, table

CH1 = "01-convolution-by-hand"
COURSE = "conv-course"


def as_user(account, argv: list[str], cwd: Path, python: Path) -> subprocess.Popen:
    env = {"HOME": str(account.home), "USER": account.name, "LOGNAME": account.name, "LANG": "C.UTF-8",
           "PATH": f"{python.parent}:/usr/bin:/bin", "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(["setpriv", f"--reuid={account.name}", f"--regid={account.name}", "--init-groups",
                             "--", *argv], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


def finished(process: subprocess.Popen, what: str) -> str:
    output, _ = process.communicate(timeout=600)
    if process.returncode != 0:
        raise SystemExit(f"{what} failed:\n{output[-2000:]}")
    return output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=30, help="learners submitting at once (default 30)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("the hub benchmark makes Unix accounts and runs the hub: run it as root")
    from playwright.sync_api import sync_playwright

    from hub.runtime import python_for_users
    from tests.hubs import accounts, assignments_tab, class_file, log_in, running_hub
    from tests.lab import CHROMIUM, CHROMIUM_ARGS, free_port

    place = Path(tempfile.mkdtemp(prefix="conv-course-hub-bench-", dir="/tmp"))
    os.chmod(place, 0o755)
    crowd = [f"l{i:02d}" for i in range(args.learners)]
    try:
        with accounts(place / "home", ["ines", "solo", *crowd]) as made:
            port = free_port()
            path = class_file(place, port, [(COURSE, made["ines"], [made["solo"], *(made[r] for r in crowd)])])
            with running_hub(place, path, port) as (url, startup):
                python = python_for_users()
                course_dir = made["ines"].home / COURSE
                finished(as_user(made["ines"], [str(python), "-m", "nbgrader", "release_assignment", CH1],
                                 course_dir, python), "release_assignment")
                with sync_playwright() as playwright:
                    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
                    start = time.monotonic()
                    page = log_in(browser, url, made["solo"])
                    logged_in = time.monotonic() - start
                    page.keyboard.press("Escape")
                    assignments_tab(page)
                    page.locator("#released_assignments_list .list_item", has_text=CH1) \
                        .locator("button", has_text="Fetch").click()
                    page.locator("#fetched_assignments_list .list_item", has_text=CH1).first.wait_for()
                    fetched = time.monotonic() - start
                    browser.close()
                exchange = ["--course", COURSE, f"--Exchange.root={place / 'exchange'}"]
                for role in crowd:  # each learner fetches first (not timed)
                    finished(as_user(made[role], [str(python), "-m", "nbgrader", "fetch_assignment", CH1, *exchange],
                                     made[role].home, python), f"fetch_assignment as {role}")
                start = time.monotonic()
                submitting = [as_user(made[r], [str(python), "-m", "nbgrader", "submit", CH1, *exchange],
                                      made[r].home, python) for r in crowd]
                failed = 0
                for process in submitting:
                    process.communicate(timeout=600)
                    failed += process.returncode != 0
                submit_wall = time.monotonic() - start
                finished(as_user(made["ines"], [str(python), "-m", "nbgrader", "collect", CH1], course_dir, python),
                         "collect")
                collected = {r for r in crowd
                             if (course_dir / "submitted" / made[r].name / CH1 / f"{CH1}.ipynb").is_file()}
                lost = len(crowd) - failed - len(collected)
    finally:
        shutil.rmtree(place, ignore_errors=True)

    rows = [["hub start-up (make hub to API answering)", f"{startup:.1f} s"],
            ["one learner: login page to JupyterLab", f"{logged_in:.1f} s"],
            ["one learner: login page to chapter 1 fetched", f"{fetched:.1f} s"],
            [f"{len(crowd)} learners submitting at once (wall)", f"{submit_wall:.1f} s"],
            ["submissions refused (submit failed)", str(failed)],
            ["submissions lost (submitted, not collected)", str(lost)]]
    print(table(["figure", "value"], rows))
    figures = {"hub_startup_s": startup, "login_to_lab_s": logged_in, "login_to_fetched_s": fetched,
               "learners": len(crowd), "submit_wall_s": submit_wall, "submit_failed": failed,
               "submissions_lost": lost}
    print(f"written to {save('hub', figures)}")
    if lost or failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
