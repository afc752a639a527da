"""The formgrader's two buttons that run nbgrader's own converters, routed to the course's commands.

nbgrader's formgrader calls ``NbGraderAPI.autograde`` from its *Autograde* button (stock
``nbgrader autograde``: the learner's notebook in a plain kernel as the server's user, replacing
``autograded/`` and every auto score the course's grader recorded) and
``NbGraderAPI.generate_assignment`` from *Generate* (rewriting the release folder, which the course
derives from ``solutions/`` with its own release). Neither is configurable, so this server extension
answers the same two URLs first:

* **Autograde** on a student's row runs ``python -m grader autograde <course>/submitted --out
  <course>/grading-out --student <student> --assignment <assignment>``: the course's sandboxed grader
  on that one submission (the rest of the class is neither graded nor touched), which records into the
  course's gradebook and keeps every manual score; a finished submission is not graded twice, a
  resubmission is graded again. Then :mod:`hub.findings` puts what grading found (undone test-cell
  edits, cells that timed out or crashed, by-hand answers refused) at the top of the autograded
  notebooks and flags those submissions.
* **Generate** runs the course's release of that chapter (``grader.authoring.release.generate``,
  what ``python -m grader release`` runs) into a temporary folder and compares it byte for byte
  with the student version installed for everyone (read-only): it says whether they match and
  rewrites nothing.

Every other formgrader page and button is nbgrader's. The handlers are nbgrader's own API
handlers' base class, so login, XSRF and the answer's shape (``success``, ``log``, ``error``) are
the formgrader's. Tornado tries URL rules in the order extensions add them and jupyter_server loads
extensions in name order, so ``hub.formgrader`` comes before ``nbgrader.server_extensions.formgrader``;
:func:`_load_jupyter_server_extension` refuses to load after it (the stock buttons would win).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from jupyter_server.utils import url_path_join
from nbgrader.server_extensions.formgrader.base import BaseApiHandler, check_notebook_dir, check_xsrf
from tornado import web

#: Where the grader writes grades.csv, report.json and feedback/ inside the course directory.
OUT = "grading-out"
#: The stock extension whose two URLs these handlers answer first.
STOCK = "nbgrader.server_extensions.formgrader"


async def run(argv: list[str], cwd: Path, timeout: float | None = None) -> tuple[int, str]:
    """Run ``argv`` without blocking the server: ``(exit code, stdout and stderr)``."""
    bindir = str(Path(sys.executable).parent)  # nbgrader runs `alembic` by name
    env = {**os.environ, "PATH": bindir + os.pathsep + os.environ.get("PATH", ""), "PYTHONUNBUFFERED": "1"}
    process = await asyncio.create_subprocess_exec(*argv, cwd=cwd, env=env, stdout=asyncio.subprocess.PIPE,
                                                   stderr=asyncio.subprocess.STDOUT)
    try:
        output, _ = await asyncio.wait_for(process.communicate(), timeout)
    except asyncio.TimeoutError:
        process.kill()
        output, _ = await process.communicate()
        return -9, output.decode(errors="replace") + f"\nstopped after {timeout:.0f} s"
    return process.returncode, output.decode(errors="replace")


def graded_line(report: Path, student: str, assignment: str) -> str | None:
    """What ``report.json`` says of ``student``'s ``assignment`` (``graded`` or why not), or None."""
    try:
        submissions = json.loads(report.read_text()).get("submissions", [])
    except (OSError, ValueError):
        return None
    for entry in submissions:
        if entry.get("student") == student and entry.get("assignment") == assignment:
            reason = entry.get("reason") or ""
            return f"{student} {assignment}: {entry.get('status')}{': ' + reason if reason else ''}"
    return None


class CourseAutogradeHandler(BaseApiHandler):
    """POST ``/formgrader/api/submission/<assignment>/<student>/autograde``: the course's grader."""

    @web.authenticated
    @check_xsrf
    @check_notebook_dir
    async def post(self, assignment_id: str, student_id: str) -> None:
        root = Path(self.coursedir.root)
        submitted = root / self.coursedir.submitted_directory
        if not (submitted / student_id / assignment_id).is_dir():
            self.finish(json.dumps({"success": False, "error": f"{student_id} has no collected submission of "
                                    f"{assignment_id} in {submitted}: collect it first", "log": ""}))
            return
        # this row's submission only; what grading-out holds of the rest of the class stays as it is
        argv = [sys.executable, "-m", "grader", "autograde", str(submitted), "--out", str(root / OUT),
                "--student", student_id, "--assignment", assignment_id]
        self.log.info("formgrader Autograde runs the course's grader: %s", " ".join(argv))
        code, log = await run(argv, cwd=root)
        line = graded_line(root / OUT / "report.json", student_id, assignment_id)
        log = f"$ {' '.join(['python', *argv[1:]])}\n{log}" + (f"\n{line}" if line else "")
        if (root / OUT / "report.json").is_file():  # what grading found, into the notebooks the formgrader shows
            found_code, found = await run([sys.executable, "-m", "hub.findings", str(root)], cwd=root)
            log += f"\n$ python -m hub.findings {root}\n{found}"
            code = code or found_code
        answer = {"success": code == 0, "log": log}
        if code != 0:
            answer["error"] = f"the course's grader stopped (exit code {code}); its output is below"
        self.finish(json.dumps(answer))


class CourseReleaseHandler(BaseApiHandler):
    """POST ``/formgrader/api/assignment/<assignment>/assign``: the course's release, checked, never rewritten."""

    @web.authenticated
    @check_xsrf
    @check_notebook_dir
    async def post(self, assignment_id: str) -> None:
        from grader.authoring.config import ROOT

        code, log = await run([sys.executable, "-m", "hub.formgrader", assignment_id], cwd=ROOT)
        answer = {"success": code == 0, "log": log}
        if code != 0:
            answer["error"] = f"{assignment_id}: the installed student version is not the course's release"
        self.finish(json.dumps(answer))


def _jupyter_server_extension_points():
    return [{"module": "hub.formgrader"}]


def _load_jupyter_server_extension(serverapp) -> None:
    if "nbgrader_formgrader" in serverapp.web_app.settings:  # what the stock extension sets when it loads
        raise RuntimeError(f"hub.formgrader must load before {STOCK}, or the stock Autograde and Generate win")
    base = serverapp.web_app.settings["base_url"]
    serverapp.web_app.add_handlers(".*$", [
        (url_path_join(base, r"/formgrader/api/submission/([^/]+)/([^/]+)/autograde"), CourseAutogradeHandler),
        (url_path_join(base, r"/formgrader/api/assignment/([^/]+)/assign"), CourseReleaseHandler),
    ])
    serverapp.log.info("hub.formgrader: the formgrader's Autograde runs the course's grader, Generate its release check")


def check_release(chapter: str) -> int:
    """``python -m hub.formgrader CHAPTER``: whether the installed student version of ``chapter`` is
    the course's release of its solution (the release regenerated into a temporary folder, compared byte
    for byte); prints one line, exit code 0 when it is."""
    import filecmp
    import tempfile

    from grader.authoring.config import RELEASE_DIR, ROOT, SOURCE_DIR
    from grader.authoring.release import ReleaseError, generate

    installed = ROOT / RELEASE_DIR / chapter / f"{chapter}.ipynb"
    if not (ROOT / SOURCE_DIR / chapter).is_dir():
        print(f"{chapter} is not a chapter of the course (no {SOURCE_DIR}/{chapter})")
        return 1
    with tempfile.TemporaryDirectory(prefix="conv-course-generate-") as tmp:
        try:
            fresh = generate(chapter, Path(tmp))
        except ReleaseError as exc:
            print(str(exc))
            return 1
        same = installed.is_file() and filecmp.cmp(fresh, installed, shallow=False)
    if same:
        # short lines: the formgrader shows this log in a <pre> that does not wrap
        print(f"{RELEASE_DIR}/{chapter}/{chapter}.ipynb\nis the course's release of {SOURCE_DIR}/{chapter}:\n"
              "regenerated and compared, nothing rewritten.\nRelease it to the class with Release.")
        return 0
    print(f"{RELEASE_DIR}/{chapter}/{chapter}.ipynb\ndiffers from the course's release of {SOURCE_DIR}/{chapter}:\n"
          "the installed course was edited; run `python -m grader release`\nin the course's checkout and install it again.")
    return 1


if __name__ == "__main__":
    sys.exit(check_release(sys.argv[1]))
