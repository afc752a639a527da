"""Recording graded submissions in nbgrader's gradebook, through nbgrader's own API.

Why: an instructor who runs the course with nbgrader reviews grades in the
formgrader, exports them with ``nbgrader export`` and returns them with
``generate_feedback``/``release_feedback``. All of those read nbgrader's gradebook
(:class:`nbgrader.api.Gradebook`) and the graded notebooks in
``autograded/<student>/<assignment>/``. The course's grader computes its verdicts
elsewhere (:mod:`grader.grading.autograde`), so this module puts them where nbgrader looks:

* the assignment is created in the gradebook the way ``generate_assignment`` does it
  (nbgrader's ``SaveCells`` on ``solutions/``), once, when it is missing or its test
  cells changed and nothing was graded yet;
* each graded submission becomes nbgrader's submission, student created as needed,
  each test cell's *auto* score the course grader's points. Manual scores, comments,
  extra credit and the "needs manual grade" flag of a reviewed cell are never
  touched, so a re-run after a fix changes only auto scores; but a manual score outranks the auto
  score in nbgrader's totals, so every cell where one now hides a *changed* auto score is listed
  (:attr:`Recorded.stale_manual`, printed by every run), each result says which score the gradebook
  counts per cell (``Result.manual_scores``, ``grades.csv``'s ``gradebook_score``), and
  ``clear_stale_manual`` (``--clear-stale-manual``) removes those manual scores instead;
* a late submission (``timestamp.txt`` after the assignment's due date plus the student's
  extension, both the gradebook's) gets the penalty nbgrader's configured late-submission plugin
  gives it (:mod:`grader.grading.late`), in the same transaction, so the formgrader, feedback and
  ``nbgrader export`` show stock ``nbgrader autograde``'s numbers;
* the graded notebook (the student's cells, the test cells as released, every output
  replaced by the grader's verdict as plain text) lands in
  ``autograded/<student>/<assignment>/<assignment>.ipynb`` before the database row is
  committed, and one submission is one database transaction: a grader killed at any
  moment leaves each submission either recorded completely or not at all.

The gradebook is any URL nbgrader accepts (``sqlite:///...``, ``postgresql://...``);
by default the course's ``CourseDirectory.db_url``, i.e. ``gradebook.db`` at the root of
the nbgrader course directory. Every problem with it (older nbgrader schema, locked
SQLite file, PostgreSQL down or refusing the login, a student id nbgrader would
reject) is a :class:`GradebookError` with one line saying what to do.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from helpers.protocol import wrapped

from .. import cells as cell_meta
from ..errors import SetupError
from ..authoring import notebooks
from ..authoring.config import RELEASE_DIR, ROOT, configure
from .late import LatePolicy, LatePolicyError
from .records import hand_over, make_dirs, spreadsheet_safe
from .results import SubmissionStatus

if TYPE_CHECKING:  # nbformat (with jsonschema, ~1 s) is imported only when a gradebook is written to
    import nbformat

#: Seconds a SQLite writer waits for another one (another grader, the formgrader saving a score).
SQLITE_BUSY_SECONDS = 30.0
#: nbgrader's ``Student.id`` column holds this many characters.
MAX_STUDENT_ID = 128
#: The files nbgrader's exchange leaves beside a submitted notebook that its later steps need:
#: ``generate_feedback`` copies them to ``feedback/`` and ``release_feedback`` names the page by the secret.
EXCHANGE_FILES = ("timestamp.txt", "submission_secret.txt")
#: Attempts at one submission's transaction when a concurrent writer created the same rows first.
ATTEMPTS = 5


class GradebookError(SetupError):
    """The gradebook cannot be used; the message is one line saying what to do."""


# ---------------------------------------------------------------------------
# where the gradebook is


def course_db_url(course: Path) -> str:
    """The gradebook URL nbgrader uses for ``course``: its ``nbgrader_config.py`` if it sets one,
    else nbgrader's default, ``sqlite:///<course>/gradebook.db``."""
    from nbgrader.coursedir import CourseDirectory

    return CourseDirectory(config=course_config(course)).db_url


def course_id(course: Path) -> str:
    """The course id of ``course``'s gradebook, as nbgrader's apps and the formgrader there read it: its
    ``nbgrader_config.py``'s ``CourseDirectory.course_id`` (on a hub, written from ``hub/class.toml``), else
    the course's own (:data:`grader.authoring.config.COURSE_ID`)."""
    return str(course_config(course).CourseDirectory.course_id)


def course_config(course: Path):
    """nbgrader's configuration for ``course``, as its apps see it run there: the course's settings
    (:func:`grader.authoring.config.configure`), then its ``nbgrader_config.py``, the root the folder given."""
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    config = Config()
    configure(config, course)
    if (course / "nbgrader_config.py").is_file():
        try:
            loaded = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
        except Exception as exc:  # noqa: BLE001 - a broken config file is the instructor's to fix
            raise GradebookError(f"{course / 'nbgrader_config.py'} cannot be read ({type(exc).__name__}: "
                                 f"{str(exc).splitlines()[0] if str(exc) else ''}): fix it or pass --db URL") from None
        config.merge(loaded)
    config.CourseDirectory.root = str(course)  # the folder given, whatever the file says
    return config


def shown(url: str) -> str:
    """A gradebook URL as printed: no password."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparsable URL is shown as given, minus anything after '@'
        return re.sub(r"//[^@/]*@", "//***@", url)


def _with_busy_timeout(url: str, seconds: float) -> str:
    if url.startswith("sqlite") and "timeout=" not in url:
        return f"{url}{'&' if '?' in url else '?'}timeout={seconds:g}"
    return url


def explain(exc: BaseException, url: str) -> str:
    """One line saying what went wrong with the gradebook at ``url`` and what to do."""
    from sqlalchemy.engine import make_url

    text = str(getattr(exc, "orig", None) or exc)
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    where = shown(url)
    try:
        parsed = make_url(url)
        server = f"{parsed.host or 'localhost'}:{parsed.port or 5432}"
        user, database = parsed.username or "(none)", parsed.database
    except Exception:  # noqa: BLE001
        server, user, database = "?", "?", "?"
    low = text.lower()
    if "database is locked" in low or "database table is locked" in low:
        return (f"the gradebook {where} is locked by another program (a formgrader or grader writing, an open "
                "sqlite3 shell): close it or wait for it, then grade again")
    if "unable to open database file" in low:
        return f"cannot open the SQLite gradebook {where}: does its folder exist and can this user write there?"
    if "no such column" in low or "no such table" in low or ("column" in low and "does not exist" in low):
        return (f"the gradebook {where} has an older nbgrader schema ({first}): back it up, then run "
                "`nbgrader db upgrade` with the course's .venv/bin on PATH")
    if "password authentication failed" in low or ("role" in low and "does not exist" in low) \
            or "no password supplied" in low or "no pg_hba.conf entry" in low:
        return (f"PostgreSQL at {server} refused the login of user {user}: check the user and password in the "
                "gradebook URL (--db or CourseDirectory.db_url)")
    if "database" in low and "does not exist" in low:
        return f"PostgreSQL at {server} has no database {database!r}: create it (createdb {database}) or fix --db"
    if "connection refused" in low or "could not connect" in low or "connection failed" in low \
            or "timeout expired" in low or "name or service not known" in low:
        return (f"no PostgreSQL server answers at {server}: start it (e.g. `pg_ctlcluster 15 main start`) or fix "
                "the gradebook URL (--db or CourseDirectory.db_url)")
    if isinstance(exc, ModuleNotFoundError) or "no module named" in low:
        return f"the database driver for {where} is not installed ({first}): pip install -r requirements.txt"
    return f"the gradebook {where} failed: {type(exc).__name__}: {first}"[:400]


def student_id_problem(student: str) -> str | None:
    """Why nbgrader would reject ``student`` as a student id, in words; None when it is fine."""
    if not student:
        return "it is empty"
    if student != student.strip():
        return "it begins or ends with white space, which nbgrader strips (so its folders would not match)"
    if "+" in student:
        return "it contains '+', which nbgrader's exchange uses to separate student, assignment and time"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in student):
        return "it contains a control character"
    if len(student) > MAX_STUDENT_ID:
        return f"it is longer than the {MAX_STUDENT_ID} characters nbgrader's gradebook stores"
    if student.startswith("."):
        return "it begins with '.', a hidden folder nbgrader skips"
    return None


# ---------------------------------------------------------------------------
# the graded notebook nbgrader reads


@dataclass
class _Chapter:
    """What recording needs to know about one chapter's release."""

    name: str
    cells: dict[str, dict]  # grade id -> the released cell (source and nbgrader metadata)
    order: list[str]  # grade ids in release order
    tests: set[str]
    answers: set[str]
    prose: set[str] = field(default_factory=set)  # the release's markdown and raw cells, as written by the course


def _released(chapter: str, root: Path) -> _Chapter:
    nb = notebooks.read(notebooks.notebook_path(chapter, RELEASE_DIR, root))
    cells, order, tests, answers = {}, [], set(), set()
    prose = {cell.source for cell in nb.cells if cell.cell_type != "code"}
    for cell in nb.cells:
        gid = cell_meta.grade_id(cell)
        if not gid:
            continue
        cells[gid] = {"cell_type": cell.cell_type, "source": cell.source, "nbgrader": dict(cell_meta.nbgrader(cell))}
        order.append(gid)
        if cell_meta.is_grade(cell) and not cell_meta.is_solution(cell):
            tests.add(gid)
        elif cell_meta.is_solution(cell):
            answers.add(gid)
    return _Chapter(chapter, cells, order, tests, answers, prose)


def _sanitize(text: str) -> str:
    """A learner's markdown or raw text with every tag or attribute that could run code escaped
    (nbconvert's own sanitizer, bleach): ``<script>`` shows as text, ``onerror=`` goes."""
    from nbconvert.preprocessors.sanitize import SanitizeHTML

    return SanitizeHTML().sanitize_html_tags(text)


def _verdict_text(row: dict) -> str:
    """One test cell's verdict as its output shows it, wrapped at the width learners' checks use: the
    formgrader and ``generate_feedback``'s page show a stream output in a ``<pre>`` that never breaks a line."""
    text = f"{row['status']}: {row['score']:g} of {row['max_score']:g} points"
    if row.get("message"):
        text += f"\n{row['message']}"
    if row.get("hint"):
        text += f"\nHint: {row['hint']}"
    return "\n".join(wrapped(text)) + "\n"


def graded_notebook(data: dict | None, chapter: _Chapter, rows: dict[str, dict], note: str = "") -> nbformat.NotebookNode:
    """The notebook nbgrader's formgrader and ``generate_feedback`` read for one submission.

    The student's cells in the student's order; each test cell as released (never the hidden
    tests), once, put back after its answer when deleted; nbgrader metadata only on the
    release's own cells; no student output at all (every output is replaced: a test cell
    shows the grader's verdict as plain text); markdown or raw text the learner wrote sanitized.
    """
    import nbformat

    cells_in = data.get("cells") if isinstance(data, dict) and isinstance(data.get("cells"), list) else []
    out: list[nbformat.NotebookNode] = []
    placed: dict[str, int] = {}
    for cell in cells_in:
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            continue
        source = cell.get("source")
        source = "".join(source) if isinstance(source, list) and all(isinstance(s, str) for s in source) \
            else source if isinstance(source, str) else ""
        gid = cell_meta.grade_id(cell)
        kind = cell["cell_type"]
        if kind != "code" and source not in chapter.prose:
            source = _sanitize(source)  # the learner's own text: no live HTML for the formgrader or feedback
        if gid in chapter.cells and gid not in placed and chapter.cells[gid]["cell_type"] == kind:
            released = chapter.cells[gid]
            if gid in chapter.tests:
                source = released["source"]
            new = _new_cell(kind, source)
            new.metadata["nbgrader"] = dict(released["nbgrader"])
            placed[gid] = len(out)
        else:
            new = _new_cell(kind, source)
        out.append(new)
    # test cells the student deleted: after the cell of the grade id before them in the release
    for gid in chapter.order:
        if gid in placed or gid not in chapter.tests:
            continue
        before = chapter.order[:chapter.order.index(gid)]
        anchor = max((placed[g] for g in before if g in placed), default=-1)
        released = chapter.cells[gid]
        new = _new_cell(released["cell_type"], released["source"])
        new.metadata["nbgrader"] = dict(released["nbgrader"])
        out.insert(anchor + 1, new)
        placed = {g: (i + 1 if i > anchor else i) for g, i in placed.items()}
        placed[gid] = anchor + 1
    for cell in out:
        gid = cell_meta.grade_id(cell)
        if cell.cell_type == "code" and gid in chapter.tests:
            text = _verdict_text(rows[gid]) if gid in rows else \
                "\n".join(wrapped(f"not graded: {note or 'no verdict'}")) + "\n"
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
    nb = nbformat.v4.new_notebook(cells=out)
    nb.metadata = {"kernelspec": dict(notebooks.KERNELSPEC), "language_info": dict(notebooks.LANGUAGE_INFO)}
    return nb


def _new_cell(kind: str, source: str) -> nbformat.NotebookNode:
    """A cell as nbformat 4.5 wants it (validated once, when the notebook is written, not cell by cell)."""
    import nbformat

    cell = {"cell_type": kind, "id": uuid.uuid4().hex[:8], "metadata": {}, "source": source}
    if kind == "code":
        cell.update(outputs=[], execution_count=None)
    return nbformat.from_dict(cell)


def _replace_dir(staged: Path, target: Path) -> None:
    """Put ``staged`` at ``target`` by renames: a reader sees the old folder or the new one."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        old = target.parent / f".{target.name}.old-{os.getpid()}-{threading.get_ident()}"
        os.rename(target, old)
        os.rename(staged, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(staged, target)


# ---------------------------------------------------------------------------
# the recorder


@dataclass
class Recorded:
    """What recording did in one batch (for report.json and the summary line)."""

    url: str
    course: str
    recorded: list[str] = field(default_factory=list)  # "student/assignment"
    problems: list[dict] = field(default_factory=list)  # {"student", "assignment", "reason"}
    seconds: float = 0.0  # time spent recording the submissions (the benchmark's numerator)
    setup_seconds: float = 0.0  # once per batch: opening the gradebook (nbgrader's import, schema), the assignments
    late_policy: str = ""  # nbgrader's late-submission plugin the course configured (:class:`.late.LatePolicy`)
    #: cells whose manual score hides an auto score this run changed: {"student", "assignment", "cell",
    #: "manual_score", "auto_before", "auto_now", "cleared"} (cleared: the manual score was removed, as asked)
    stale_manual: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"url": shown(self.url), "course": self.course, "late_policy": self.late_policy,
                "recorded": len(self.recorded), "stale_manual": self.stale_manual,
                "not_recorded": self.problems, "seconds": round(self.seconds, 3),
                "setup_seconds": round(self.setup_seconds, 3)}


class Recorder:
    """Records one batch's graded submissions in one gradebook (thread-safe).

    ``course``: the nbgrader course directory whose ``autograded/`` receives the graded
    notebooks. ``url``: the gradebook (default: that course's ``db_url``).
    """

    def __init__(self, course: Path, url: str | None = None, *, root: Path = ROOT,
                 busy_timeout: float = SQLITE_BUSY_SECONDS) -> None:
        from nbgrader.coursedir import CourseDirectory

        self.course = Path(course).resolve()
        config = course_config(self.course)
        self.url = url or CourseDirectory(config=config).db_url
        #: the gradebook's course (nbgrader's ``CourseDirectory.course_id`` of ``course``)
        self.course_id = str(config.CourseDirectory.course_id)
        try:  # before the gradebook is opened: a plugin that cannot load stops the run before any grading
            self.late = LatePolicy(config, self.course)
        except LatePolicyError as exc:
            raise GradebookError(str(exc)) from None
        self.root = root
        self.summary = Recorded(self.url, str(self.course), late_policy=self.late.name)
        self._engine_url = _with_busy_timeout(self.url, busy_timeout)
        self._lock = threading.Lock()
        self._chapters: dict[str, _Chapter] = {}
        #: remove a manual score that hides a changed auto score (GradingConfig.clear_stale_manual), set by prepare()
        self.clear_stale_manual = False
        start = time.perf_counter()
        self.gb = self._open()
        self.summary.setup_seconds += time.perf_counter() - start

    # -- opening -----------------------------------------------------------

    def _open(self):
        from nbgrader.api import Gradebook
        from sqlalchemy import create_engine, inspect, text

        from ..authoring.release import ensure_tools_on_path

        ensure_tools_on_path()  # nbgrader's own apps (generate_assignment below) may run `alembic` by name
        if self.url.startswith("sqlite:///") and not Path(self.url[len("sqlite:///"):]).parent.is_dir():
            raise GradebookError(f"cannot open the SQLite gradebook {shown(self.url)}: its folder does not exist")
        try:
            engine = create_engine(self._engine_url)
            try:
                with engine.connect() as connection:
                    tables = set(inspect(connection).get_table_names())
                    version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar() \
                        if "alembic_version" in tables else None
            finally:
                engine.dispose()
        except GradebookError:
            raise
        except Exception as exc:  # noqa: BLE001 - every driver error becomes one line
            raise GradebookError(explain(exc, self.url)) from None
        head = _schema_head()
        if not tables:
            self._create_schema(head)
            if self.url.startswith("sqlite:///"):  # a new SQLite gradebook: the formgrader (the instructor) writes it
                try:
                    hand_over(Path(self.url[len("sqlite:///"):].split("?")[0]))
                except OSError:
                    pass
        elif version != head:
            raise GradebookError(
                f"the gradebook {shown(self.url)} has nbgrader schema {version or 'from before nbgrader 0.6'}, this "
                f"nbgrader needs {head}: back it up, then run `nbgrader db upgrade` (with .venv/bin on PATH)")
        # Gradebook() adds the course row when it is missing: a second grader opening the same new
        # gradebook at that moment loses the insert race, and finds the row next time
        return self._retried(lambda: Gradebook(self._engine_url, self.course_id))

    def _retried(self, action, undo=None):
        """``action()``, tried again (up to :data:`ATTEMPTS`) when a concurrent writer got there first;
        ``undo`` runs after each failure (a rollback). Any other failure is one line: a GradebookError."""
        for attempt in range(ATTEMPTS):
            try:
                return action()
            except GradebookError:
                if undo is not None:
                    undo()
                raise
            except Exception as exc:  # noqa: BLE001
                if undo is not None:
                    undo()
                if attempt == ATTEMPTS - 1 or not _transient(exc):
                    raise GradebookError(explain(exc, self.url)) from None
                time.sleep(0.05 * (attempt + 1))

    def _create_schema(self, head: str) -> None:
        """nbgrader's tables and its schema revision in an empty database, in one transaction.

        What ``Gradebook()`` does for a new database, without the ``alembic heads`` subprocess it
        runs for the revision (seconds on a busy machine, and a failure when ``alembic`` is not on PATH).
        """
        from nbgrader.api import Base
        from sqlalchemy import create_engine, inspect, text

        engine = create_engine(self._engine_url)
        try:
            with engine.begin() as connection:
                Base.metadata.create_all(bind=connection)
                if "alembic_version" not in inspect(connection).get_table_names():
                    connection.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
                    connection.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": head})
        except Exception as exc:  # noqa: BLE001 - a concurrent grader may have created it first: checked below
            if not _stamped(engine):
                raise GradebookError(explain(exc, self.url)) from None
        finally:
            engine.dispose()

    def close(self) -> None:
        self.gb.close()

    def __enter__(self) -> "Recorder":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- assignments ---------------------------------------------------------

    def prepare(self, chapters: list[str], *, clear_stale_manual: bool | None = None) -> None:
        """Make sure every chapter is an assignment of the gradebook with the source's test cells;
        ``clear_stale_manual`` (when given): whether this batch removes manual scores that hide a changed auto score."""
        if clear_stale_manual is not None:
            self.clear_stale_manual = bool(clear_stale_manual)
        start = time.perf_counter()
        try:
            self._prepare(chapters)
        finally:
            self.summary.setup_seconds += time.perf_counter() - start

    def _prepare(self, chapters: list[str]) -> None:
        for chapter in chapters:
            self._chapters[chapter] = _released(chapter, self.root)
            for attempt in range(ATTEMPTS):
                state = self._assignment_state(chapter)
                if state == "ok":
                    break
                if state == "graded-differently":
                    raise GradebookError(
                        f"the gradebook {shown(self.url)} holds {chapter} with other test cells than solutions/ and "
                        "submissions already recorded: grade into a new gradebook (--db) or remove the assignment "
                        "in the formgrader first")
                try:
                    self._generate(chapter)
                except GradebookError:
                    if attempt == ATTEMPTS - 1:
                        raise
                    time.sleep(0.2 * (attempt + 1))  # another grader may be creating it right now

    def _assignment_state(self, chapter: str) -> str:
        from nbgrader.api import MissingEntry

        info = self._chapters[chapter]
        want = {gid: float(info.cells[gid]["nbgrader"].get("points", 0)) for gid in info.tests}
        with self._lock:
            try:
                self.gb.db.rollback()
                nb = self.gb.find_notebook(chapter, chapter)
                have = {c.name: float(c.max_score) for c in nb.grade_cells}
                answers = {c.name for c in nb.solution_cells}
                submitted = len(nb.submissions) > 0
            except MissingEntry:
                return "missing"
            except Exception as exc:  # noqa: BLE001
                raise GradebookError(explain(exc, self.url)) from None
            finally:
                self.gb.db.rollback()  # no read transaction left open: SQLite writers would wait for it
        if have == want and answers == info.answers:
            return "ok"
        return "graded-differently" if submitted else "changed"

    def _generate(self, chapter: str) -> None:
        """``generate_assignment`` into a scratch release folder: nbgrader's SaveCells fills the gradebook."""
        from nbgrader.apps import NbGraderAPI
        from traitlets.config import Config

        with tempfile.TemporaryDirectory(prefix="conv-course-gradebook-") as tmp:
            c = Config()
            configure(c, self.root)
            c.CourseDirectory.db_url = self._engine_url
            c.CourseDirectory.course_id = self.course_id
            c.CourseDirectory.release_directory = str(Path(tmp) / "release")
            c.Application.log_level = "ERROR"
            result = NbGraderAPI(config=c).generate_assignment(chapter, force=True, create=True)
        if not result.get("success"):
            detail = (result.get("error") or result.get("log") or "").strip().splitlines()
            raise GradebookError(f"nbgrader could not add {chapter} to the gradebook {shown(self.url)}: "
                                 f"{detail[-1] if detail else 'no reason given'}")

    # -- submissions ---------------------------------------------------------

    def record(self, result, submission_path: Path | None, lms=None) -> str | None:
        """Record one result of :func:`grader.grading.autograde.autograde`; returns why it was not recorded, or None.

        Graded results get every test cell's auto score; a submission the grader failed on gets
        no auto score (nbgrader then shows it as needing a manual grade); an unreadable file of a known
        chapter gets 0 in every test cell, the reason as each cell's verdict, so ``nbgrader export`` lists
        its learner. Unknown chapters and superseded duplicates have nothing to record.

        ``lms``: who handed it in, as a flat LMS download names it (:class:`grader.grading.lms.Identity`):
        its time is the name's or the roster's, never a ``timestamp.txt`` of the shared folder.
        """
        if result.status not in (SubmissionStatus.GRADED, SubmissionStatus.GRADING_FAILED,
                                 SubmissionStatus.UNREADABLE) or result.assignment not in self._chapters:
            return None
        start = time.perf_counter()
        try:
            why = student_id_problem(result.student)
            if why:
                raise GradebookError(f"student id {result.student!r} cannot go into nbgrader's gradebook: {why}; "
                                     "rename the student's folder")
            self._record(result, submission_path, lms)
        except GradebookError as exc:
            reason = str(exc)
        except Exception as exc:  # noqa: BLE001 - one submission never stops the batch
            reason = explain(exc, self.url)
        else:
            with self._lock:
                self.summary.recorded.append(f"{result.student}/{result.assignment}")
                self.summary.seconds += time.perf_counter() - start
            return None
        with self._lock:
            self.summary.problems.append({"student": result.student, "assignment": result.assignment,
                                          "reason": reason})
            self.summary.seconds += time.perf_counter() - start
        return reason

    def _record(self, result, submission_path: Path | None, lms=None) -> None:
        import nbformat  # here, not at the top: a grading run without a gradebook never pays its import
        from nbgrader.utils import parse_utc

        chapter = self._chapters[result.assignment]
        data = None
        if submission_path is not None and result.status != SubmissionStatus.UNREADABLE:
            try:
                data = json.loads(Path(submission_path).read_text(encoding="utf-8", errors="replace"))
            except (OSError, ValueError, RecursionError):
                data = None
        rows = {row["exercise"]: row for row in result.exercises} if result.status == "graded" else {}
        if result.status == SubmissionStatus.UNREADABLE:
            rows = {gid: {"exercise": gid, "score": 0.0, "status": "error", "message": result.reason,
                          "max_score": float(chapter.cells[gid]["nbgrader"].get("points", 0))} for gid in chapter.tests}
        if lms is not None:  # a flat LMS download: the time its name or the roster gives, no exchange files
            timestamp = _parsed(lms.timestamp, parse_utc, submission_path)
            exchange_dir = None
        else:
            timestamp = _timestamp(Path(submission_path).parent / "timestamp.txt" if submission_path else None,
                                   parse_utc)
            exchange_dir = Path(submission_path).parent if submission_path else None

        # 1. the graded notebook, staged next to autograded/<student>/<assignment>/
        target = self.course / "autograded" / result.student / result.assignment
        make_dirs(target.parent)  # under sudo, the instructor's, as nbgrader's own folders would be
        staged = Path(tempfile.mkdtemp(prefix=f".{result.assignment}.", dir=target.parent))
        try:
            nb = graded_notebook(data, chapter, rows, note=result.reason)
            nbformat.write(nb, str(staged / f"{result.assignment}.ipynb"))
            for name in EXCHANGE_FILES:  # nbgrader's own files, never the student's other files
                found = exchange_dir / name if exchange_dir else None
                if found and found.is_file() and not found.is_symlink():
                    shutil.copyfile(found, staged / name)
            for written in staged.iterdir():
                hand_over(written)
            hand_over(staged, directory=True)
            # 2. one transaction: student, submission, auto scores; 3. then the notebook renamed into place
            released_answers = {gid: chapter.cells[gid]["source"] for gid in chapter.answers}
            answered = _answers(data, chapter)
            with self._lock:
                result.seconds_late, result.late_penalty, result.manual_scores, stale = self._retried(
                    lambda: self._transaction(result, rows, timestamp, released_answers, answered, lms),
                    undo=self.gb.db.rollback)
                _replace_dir(staged, target)
                self.summary.stale_manual.extend(stale)
        except BaseException:
            shutil.rmtree(staged, ignore_errors=True)
            if not any(target.parent.iterdir()):
                target.parent.rmdir()
            raise

    def _transaction(self, result, rows, timestamp, released_answers, answered, lms=None
                     ) -> tuple[float, float, dict[str, float], list[dict]]:
        """One submission's rows, committed together; returns ``(seconds late, late penalty)`` as nbgrader computes
        them (:class:`.late.LatePolicy`: the due date and the student's extension are the gradebook's), the manual
        scores the gradebook counts instead of the auto ones (cell -> score), and the cells where a manual score
        hides an auto score this transaction changed (:attr:`Recorded.stale_manual`).

        A learner known from an LMS (``lms``) gets nbgrader's ``lms_user_id``, and their name and email where the
        gradebook has none (the formgrader and ``nbgrader export`` show them; an instructor's own are kept)."""
        from nbgrader.api import (Assignment, Comment, Grade, Student, SubmittedAssignment, SubmittedNotebook)

        db = self.gb.db
        db.rollback()
        assignment = db.query(Assignment).filter(Assignment.name == result.assignment,
                                                 Assignment.course_id == self.course_id).one_or_none()
        if assignment is None:
            raise GradebookError(f"assignment {result.assignment} is missing from the gradebook {shown(self.url)} "
                                 "(removed while grading?): grade again to create it")
        student = db.get(Student, result.student)
        if student is None:
            student = Student(id=result.student)
            db.add(student)
        if lms is not None:
            first, last = lms.names()
            student.lms_user_id = lms.lms_id[:MAX_STUDENT_ID]
            if not (student.first_name or student.last_name):  # as text: nbgrader's export writes them as they are
                student.first_name = spreadsheet_safe(first)[:MAX_STUDENT_ID] or None
                student.last_name = spreadsheet_safe(last)[:MAX_STUDENT_ID] or None
            student.email = student.email or spreadsheet_safe(lms.email)[:MAX_STUDENT_ID] or None
        submission = db.query(SubmittedAssignment).filter(SubmittedAssignment.assignment == assignment,
                                                          SubmittedAssignment.student == student).one_or_none()
        if submission is None:  # nbgrader's Gradebook.add_submission, without its commit
            with db.no_autoflush:
                submission = SubmittedAssignment(assignment=assignment, student=student)
                rows_to_add = [submission]
                for notebook in assignment.notebooks:
                    nb = SubmittedNotebook(notebook=notebook, assignment=submission)
                    rows_to_add.append(nb)
                    for cell in [*notebook.grade_cells, *notebook.task_cells]:
                        rows_to_add.append(Grade(cell_id=cell.id, notebook=nb))
                    for cell in [*notebook.solution_cells, *notebook.task_cells]:
                        rows_to_add.append(Comment(cell_id=cell.id, notebook=nb))
                db.add_all(rows_to_add)
        submission.timestamp = timestamp
        db.flush()
        names = {cell.id: cell.name for notebook in assignment.notebooks
                 for cell in [*notebook.grade_cells, *notebook.solution_cells, *notebook.task_cells]}
        manual: dict[str, float] = {}
        stale: list[dict] = []
        for nb in submission.notebooks:
            for grade in nb.grades:
                name = names.get(grade.cell_id)
                row = rows.get(name)
                before = grade.auto_score
                grade.auto_score = float(row["score"]) if row else None
                if grade.manual_score is not None and before != grade.auto_score:
                    stale.append({"student": result.student, "assignment": result.assignment, "cell": name,
                                  "manual_score": float(grade.manual_score), "auto_before": before,
                                  "auto_now": grade.auto_score, "cleared": self.clear_stale_manual})
                    if self.clear_stale_manual:
                        grade.manual_score = None
                if grade.manual_score is None:  # a reviewed cell keeps its reviewer's flag
                    grade.needs_manual_grade = grade.auto_score is None
                else:
                    manual[name] = float(grade.manual_score)
            for comment in nb.comments:
                name = names.get(comment.cell_id)
                if name in released_answers:
                    unchanged = answered.get(name) is None or answered[name].strip() == released_answers[name].strip()
                    comment.auto_comment = "No response." if unchanged else None
        # nbgrader's AssignLatePenalties, per notebook, on the score the gradebook now holds (manual ones included)
        seconds_late = float(submission.total_seconds_late)
        db.flush()
        total = 0.0
        for nb in submission.notebooks:
            db.expire(nb, ["score"])  # a column property: read again, with the auto scores just set
            try:
                nb.late_submission_penalty = self.late.penalty(result.student, nb, seconds_late)
            except LatePolicyError as exc:
                raise GradebookError(str(exc)) from None
            total += nb.late_submission_penalty or 0.0
        db.commit()
        return seconds_late, total, manual, stale


def _timestamp(path: Path | None, parse_utc):
    """When the submission was handed in, from nbgrader's ``timestamp.txt`` as ``nbgrader autograde`` reads it:
    no file or an empty one, no time (on time); a time nbgrader cannot read, a :class:`GradebookError`."""
    if path is None or not path.is_file():
        return None
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError as exc:
        raise GradebookError(f"{path} cannot be read ({exc.strerror}): the submission time is unknown") from None
    if not text:
        return None
    try:
        return parse_utc(text)
    except (ValueError, OverflowError):
        raise GradebookError(f"{path} holds {text[:60]!r}, not a time nbgrader can read (e.g. "
                             "'2026-11-30 08:00:00.000000 UTC'): fix or remove it, then grade again") from None


def _parsed(text: str | None, parse_utc, path: Path | None):
    """A submission time given as text (an LMS file name's ``timestamp`` group, a roster's column), as
    nbgrader reads ``timestamp.txt``; a time it cannot read, a :class:`GradebookError`."""
    if not text or not text.strip():
        return None
    try:
        return parse_utc(text.strip())
    except (ValueError, OverflowError):
        raise GradebookError(f"the submission time {text[:60]!r} of {Path(path).name if path else 'a submission'} is "
                             "not a time nbgrader can read (e.g. '2026-11-30 08:00:00 UTC'): fix the roster's "
                             "timestamp column or the pattern's timestamp group") from None


def _answers(data: dict | None, chapter: _Chapter) -> dict[str, str]:
    found: dict[str, str] = {}
    for cell in (data or {}).get("cells", []) if isinstance(data, dict) else []:
        if not isinstance(cell, dict):
            continue
        gid = cell_meta.grade_id(cell)
        source = cell.get("source")
        if gid in chapter.answers and gid not in found:
            found[gid] = "".join(source) if isinstance(source, list) else source if isinstance(source, str) else ""
    return found


def _transient(exc: BaseException) -> bool:
    """A unique-key race with another writer, a deadlock or a busy SQLite file: worth another attempt.

    nbgrader's own API raises its ``InvalidEntry`` from inside the handler of the database's error:
    the error it wraps is what is judged.
    """
    from nbgrader.api import InvalidEntry
    from sqlalchemy.exc import IntegrityError, OperationalError

    if isinstance(exc, InvalidEntry) and exc.__context__ is not None:
        exc = exc.__context__
    text = str(getattr(exc, "orig", exc)).lower()
    return isinstance(exc, IntegrityError) or (isinstance(exc, OperationalError) and (
        "locked" in text or "deadlock" in text or "could not serialize" in text))


def _stamped(engine) -> bool:
    from sqlalchemy import inspect, text

    try:
        with engine.connect() as connection:
            return "alembic_version" in inspect(connection).get_table_names() and \
                connection.execute(text("SELECT count(*) FROM alembic_version")).scalar() > 0
    except Exception:  # noqa: BLE001
        return False


def _schema_head() -> str:
    """The alembic revision of the gradebook schema this nbgrader writes (read from its migrations)."""
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory
    from nbgrader.dbutil import ALEMBIC_DIR

    config = AlembicConfig()
    config.set_main_option("script_location", ALEMBIC_DIR)
    return ScriptDirectory.from_config(config).get_current_head()


def course_of(submissions: Path) -> Path | None:
    """The nbgrader course directory of a folder in nbgrader's layout (``<course>/submitted``), else None."""
    submissions = Path(submissions).resolve()
    if submissions.name == "submitted":
        return submissions.parent
    if (submissions / "submitted").is_dir():
        return submissions
    return None


def recorder_for(submissions: Path, *, course: Path | None = None, db: str | None = None,
                 root: Path = ROOT) -> Recorder | None:
    """The recorder ``python -m grader autograde`` uses, or None when nothing is to be recorded.

    nbgrader's layout (``<course>/submitted/<student>/<assignment>/``) is recorded into that course
    (its ``db_url``, by default ``<course>/gradebook.db``); an LMS export only when ``course`` or
    ``db`` says where (its autograded notebooks then go to ``course``, by default the repository root).
    """
    course = course or course_of(submissions) or (root if db else None)
    if course is None:
        return None
    if not Path(course).is_dir():
        raise GradebookError(f"the course directory {course} does not exist")
    return Recorder(Path(course), db, root=root)
