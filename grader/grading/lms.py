"""What an LMS gives the instructor and takes back: its download's file names, a roster, its grade-import files.

Why: a class on Canvas or Moodle hands in through the LMS, and its grades go back there. The LMS's
"Download submissions" gives one flat folder of notebooks whose names carry who handed each one in;
its gradebook import takes one documented CSV. Between the two the course's grader must know who is who,
so that no learner's grade lands on another's line and no learner is left out.

* **Download names**, read as nbgrader's ``zip_collect`` reads them: a regular expression with named groups
  applied to each file name by nbgrader's own :class:`~nbgrader.plugins.zipcollect.FileNameCollectorPlugin`
  (``student_id`` and ``file_id`` required; ``timestamp``, ``first_name``, ``last_name`` optional; ``name``
  and ``late`` read here too). :data:`PATTERNS` holds Canvas's and Moodle's:

  - Canvas (its ``ContentZipper``): ``<sortable name, word characters only, lower case>[_late]_<user id>_<file
    id>_<file name>``, e.g. ``smithjohn_late_12345_6789012_01-convolution-by-hand.ipynb`` (the name is left
    out under anonymous grading; older Canvas wrote ``LATE``);
  - Moodle (``assign`` download): ``<Full Name>_<participant id>_assignsubmission_file_<file name>``, the
    participant id being the number of the grading worksheet's ``Participant 12345``.

* **A roster** (:class:`Roster`): a CSV mapping each LMS id to the learner's name and nbgrader id.
  Canvas's own gradebook export (``Student, ID, SIS User ID, SIS Login ID, Section``) and Moodle's grading
  worksheet (``Identifier, Full name, Email address``) are rosters as they are; so is a file of
  ``lms_id, name, student`` (plus ``email``, ``section``, ``timestamp``: the submission time, when the
  download's names carry none).

* **Grade files** (:func:`write_grade_files`), from the same results as ``grades.csv``, each score what
  ``nbgrader export`` calls ``score`` (points minus nbgrader's late penalty):

  - ``canvas-grades.csv``, Canvas's gradebook import: ``Student, ID, SIS User ID, SIS Login ID, Section``,
    then one column per chapter, ``<assignment name> (<Canvas assignment id>)`` when given (Canvas creates
    an assignment for a column without an id). Canvas's import takes no comments;
  - ``moodle-<chapter>.csv``, Moodle's offline grading worksheet (``Identifier``, ``Grade``,
    ``Last modified (grade)`` are the columns its import requires; ``Feedback comments`` is read when the
    assignment has feedback comments on).

  A submission that could not be read is a row with 0 and, for Moodle, the reason; a roster learner with
  no submission a row with no grade (both imports leave an empty grade unchanged). Every text field is
  spreadsheet-safe (:func:`~grader.grading.records.spreadsheet_safe`); UTF-8, quoted by the csv module.
"""

from __future__ import annotations

import csv
import datetime
import html
import io
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UsageError
from .records import atomic_write, spreadsheet_safe

#: The file-name patterns of LMS downloads, by name (``GradingConfig.lms_pattern`` accepts these names).
PATTERNS = {  # ``auto`` tries them in this order: Moodle's, with its literal word, before Canvas's numbers
    "moodle": r"^(?P<name>.+)_(?P<student_id>\d+)_assignsubmission_file_(?P<file_id>.+)$",
    "canvas": r"^(?:(?P<name>\w+?)_)??(?:(?P<late>(?i:late))_)?(?P<student_id>\d+)_(?P<submission_id>\d+)_"
              r"(?P<file_id>.+)$",
}
#: ``auto``: each of :data:`PATTERNS` in turn (Moodle's, then Canvas's).
AUTO = "auto"
#: Moodle's grading worksheet writes a participant as this word, a space and the id.
MOODLE_PARTICIPANT = "Participant "
#: The grading worksheet columns Moodle's import reads (``assignfeedback_offline``).
MOODLE_COLUMNS = ("Identifier", "Full name", "Email address", "Grade", "Maximum Grade", "Last modified (grade)",
                  "Feedback comments")
CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
#: A roster's columns, each under the names Canvas's export, Moodle's worksheet or a plain file give it
#: (case-insensitive, the first one present wins).
ROSTER_COLUMNS = {
    "lms_id": ("lms_id", "id", "identifier", "participant", "user id"),
    "name": ("name", "full name", "student"),  # Canvas's "Student" is a name when there is no other
    "student": ("nbgrader_id", "nbgrader id", "student_id", "login", "student"),
    "sis_user_id": ("sis user id", "sis_user_id"),
    "sis_login_id": ("sis login id", "sis_login_id"),
    "section": ("section",),
    "email": ("email", "email address"),
    "timestamp": ("timestamp", "submitted", "submitted_at"),
}


def pattern_problem(value: str) -> str | None:
    """Why ``value`` cannot be ``lms_pattern`` (one line), or ``None``: a name of :data:`PATTERNS`, ``auto``,
    or a regular expression with nbgrader's ``student_id`` and ``file_id`` named groups."""
    if value == AUTO or value in PATTERNS:
        return None
    try:
        groups = re.compile(value).groupindex
    except re.error as exc:
        return f"the LMS file-name pattern {value!r} is not a regular expression ({exc})"
    missing = [g for g in ("student_id", "file_id") if g not in groups]
    if missing:
        return (f"the LMS file-name pattern {value!r} lacks the named group(s) {', '.join(missing)} "
                "(as nbgrader's zip_collect needs: (?P<student_id>...) and (?P<file_id>...))")
    return None


def _collector(regexp: str):
    from nbgrader.plugins.zipcollect import FileNameCollectorPlugin

    # quiet: the plugin warns of every name one pattern does not read (auto tries two), and a name no
    # pattern reads is not an error here: it is graded under its own stem, which grades.csv shows
    log = logging.getLogger("conv_course.lms")
    log.propagate = False
    log.setLevel(logging.ERROR)
    if not log.handlers:
        log.addHandler(logging.NullHandler())
    return FileNameCollectorPlugin(named_regexp=regexp, log=log)


@dataclass(frozen=True)
class Identity:
    """Who handed in a file, as its LMS says: the LMS id, the name, the nbgrader id, when, marked late."""

    lms_id: str
    student: str
    name: str = ""
    timestamp: str | None = None
    late: bool = False
    lms: str = ""  # which pattern matched: canvas, moodle or custom
    email: str = ""

    def names(self) -> tuple[str, str]:
        """``(first name, last name)`` as nbgrader's gradebook keeps them: Canvas's ``Last, First``, or the last word
        of a full name; a name of one word (Canvas's ``smithjohn``) is a last name only."""
        if "," in self.name:
            last, first = self.name.split(",", 1)
            return first.strip(), last.strip()
        parts = self.name.split()
        return (" ".join(parts[:-1]), parts[-1]) if parts else ("", "")


@dataclass(frozen=True)
class Learner:
    """One roster line."""

    lms_id: str
    name: str = ""
    student: str = ""
    sis_user_id: str = ""
    sis_login_id: str = ""
    section: str = ""
    email: str = ""
    timestamp: str = ""


@dataclass
class Roster:
    """LMS ids mapped to learners (:func:`read_roster`); empty without a roster file."""

    learners: dict[str, Learner] = field(default_factory=dict)
    path: Path | None = None

    def by_student(self) -> dict[str, Learner]:
        return {learner.student: learner for learner in self.learners.values()}


def _lms_id(value: str) -> str:
    value = value.strip()
    return value[len(MOODLE_PARTICIPANT):].strip() if value.startswith(MOODLE_PARTICIPANT) else value


def read_roster(path: Path | None) -> Roster:
    """The roster at ``path`` (``None``: an empty one); a file that cannot be used is a :class:`UsageError` of one
    line."""
    if path is None:
        return Roster()
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise UsageError(f"the roster {path} cannot be read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise UsageError(f"the roster {path} is not UTF-8 text: save it as CSV UTF-8") from None
    reader = csv.DictReader(io.StringIO(text))
    headers = {(h or "").strip().lower(): h for h in reader.fieldnames or []}
    columns: dict[str, str | None] = {}
    for key, aliases in ROSTER_COLUMNS.items():  # each header read once, by the first key that wants it
        columns[key] = next((headers[a] for a in aliases if a in headers and headers[a] not in columns.values()), None)
    if columns["lms_id"] is None:
        raise UsageError(f"the roster {path} has no column of LMS ids (lms_id, Canvas's ID or Moodle's Identifier); "
                         f"its columns are {', '.join(reader.fieldnames or []) or 'none'}")
    from .gradebook import student_id_problem

    learners: dict[str, Learner] = {}
    for line, row in enumerate(reader, start=2):
        values = {key: (row.get(col) or "").strip() if col else "" for key, col in columns.items()}
        lms_id = _lms_id(values.pop("lms_id"))
        if not lms_id:  # e.g. Canvas's "Points Possible" line
            continue
        if lms_id in learners:
            raise UsageError(f"the roster {path} lists LMS id {lms_id} twice (line {line}): keep one line per learner")
        values["student"] = values["student"] or values["sis_login_id"] or lms_id
        why = student_id_problem(values["student"])
        if why:
            raise UsageError(f"the roster {path}, line {line}: nbgrader id {values['student']!r} cannot be used: {why}")
        learners[lms_id] = Learner(lms_id, **values)
    taken: dict[str, str] = {}
    for learner in learners.values():
        if learner.student in taken:
            raise UsageError(f"the roster {path} gives nbgrader id {learner.student!r} to LMS ids "
                             f"{taken[learner.student]} and {learner.lms_id}: give each learner their own")
        taken[learner.student] = learner.lms_id
    return Roster(learners, path)


class Names:
    """Reads who handed in each file of a flat LMS download: the pattern (``auto``: Moodle's, then Canvas's), then
    the roster."""

    def __init__(self, pattern: str = AUTO, roster: Roster | None = None) -> None:
        problem = pattern_problem(pattern)
        if problem:
            raise UsageError(problem)
        self.pattern = pattern
        self.roster = roster or Roster()
        self._collectors: list | None = None

    @property
    def collectors(self) -> list:
        """nbgrader's plugin per pattern, made on the first flat file (importing nbgrader, hence nbformat, costs
        a second that a folder of student folders, or the class report, never pays)."""
        if self._collectors is None:
            pattern = self.pattern
            names = list(PATTERNS) if pattern == AUTO else [pattern] if pattern in PATTERNS else []
            self._collectors = [(name, _collector(PATTERNS[name])) for name in names] or \
                [("custom", _collector(pattern))]
        return self._collectors

    def described(self) -> str:
        """What the pattern looks for, in words (for the message of a run that finds nothing)."""
        if self.pattern == AUTO:
            return "Canvas's or Moodle's download names (e.g. smithjohn_12345_6789012_<notebook>.ipynb)"
        return f"{self.pattern} download names" if self.pattern in PATTERNS else f"names matching {self.pattern!r}"

    def identify(self, filename: str) -> Identity | None:
        """Who handed in ``filename`` (its name only), or ``None`` when no pattern matches it."""
        for lms, collector in self.collectors:
            found = collector.collect(filename)
            if not found or not found.get("student_id") or not found.get("file_id"):
                continue
            lms_id = str(found["student_id"])
            learner = self.roster.learners.get(lms_id)
            name = " ".join(p for p in (found.get("first_name"), found.get("last_name")) if p) \
                or found.get("name") or ""
            return Identity(lms_id, learner.student if learner else lms_id, (learner.name if learner and learner.name
                                                                             else name or ""),
                            found.get("timestamp") or (learner.timestamp if learner else "") or None,
                            bool(found.get("late")), lms, learner.email if learner else found.get("email") or "")
        return None


# ---------------------------------------------------------------------------
# grade files


def _score(result) -> float:
    return max(0.0, float(result.score) - float(result.late_penalty))


def _comment(result) -> str:
    """The learner's line in Moodle's ``Feedback comments`` (plain text, HTML-escaped: Moodle shows it as HTML)."""
    from .results import SubmissionStatus

    if result.status == SubmissionStatus.GRADED:
        text = f"{result.score:g} of {result.max_score:g} points"
        if result.late_penalty:
            text += f"; late penalty {result.late_penalty:g}, {_score(result):g} counted"
    else:
        text = f"0 points: {result.status}: {result.reason}"
    return html.escape(text, quote=False)


def graded_per_learner(results) -> dict[tuple[str, str | None], object]:
    """The result that counts for each (student, chapter): graded first, then the rest (duplicates never count)."""
    from .results import SubmissionStatus

    chosen: dict[tuple[str, str | None], object] = {}
    for r in results:
        if r.status == SubmissionStatus.DUPLICATE:
            continue
        key = (r.student, r.assignment)
        if key not in chosen or (chosen[key].status != SubmissionStatus.GRADED and r.status == SubmissionStatus.GRADED):
            chosen[key] = r
    return chosen


def _cell(chosen: dict, student: str, chapter: str) -> str:
    """A learner's grade for ``chapter``: points minus penalty; 0 for a file no chapter could be read from
    (it still counts as handed in: never no line); empty when nothing was handed in."""
    from .results import SubmissionStatus

    r = chosen.get((student, chapter))
    if r is not None:  # the grader's own failure is no grade: left for the instructor, never a 0 sent to the LMS
        return "" if r.status == SubmissionStatus.GRADING_FAILED else f"{_score(r):g}"
    return "0" if (student, None) in chosen else ""


def _csv(rows: list[dict], columns: tuple[str, ...]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: spreadsheet_safe(v) for k, v in row.items()})
    return buffer.getvalue()


def write_grade_files(results, out: Path, assignments: dict, identities: dict[str, Identity], roster: Roster,
                      canvas_assignment: str | None = None, now: datetime.datetime | None = None) -> list[Path]:
    """``canvas-grades.csv`` and ``moodle-<chapter>.csv`` in ``out`` (see the module's docstring); returns their paths.

    ``identities``: each student's LMS identity from the download's names (nbgrader id -> :class:`Identity`);
    ``assignments``: the chapters graded (their maximum points); ``canvas_assignment``: Canvas's column name,
    ``Name (id)``, of the one chapter graded.
    """
    chosen = graded_per_learner(results)
    chapters = sorted({ch for _, ch in chosen if ch} | set(assignments))
    if canvas_assignment and len(chapters) > 1:
        raise UsageError(f"--canvas-assignment names one Canvas column, but this run graded {len(chapters)} chapters "
                         f"({', '.join(chapters)}): grade one chapter per run")
    learners = dict(roster.by_student())
    people: dict[str, Learner] = {}
    for student, who in identities.items():
        known = learners.get(student)
        people[student] = known or Learner(who.lms_id, who.name, student)
    for student, known in learners.items():
        people.setdefault(student, known)
    for student, _ in chosen:
        people.setdefault(student, Learner("", "", student))
    stamp = (now or datetime.datetime.now(datetime.timezone.utc)).strftime("%Y-%m-%d %H:%M:%S UTC")
    header = {ch: (canvas_assignment or ch) for ch in chapters}
    canvas_rows, written = [], []
    for student in sorted(people, key=lambda s: (people[s].name.lower(), s)):
        who = people[student]
        row = {"Student": who.name or student, "ID": who.lms_id, "SIS User ID": who.sis_user_id,
               "SIS Login ID": who.sis_login_id, "Section": who.section}
        for ch in chapters:
            row[header[ch]] = _cell(chosen, student, ch)
        canvas_rows.append(row)
    path = out / "canvas-grades.csv"
    atomic_write(path, _csv(canvas_rows, CANVAS_COLUMNS + tuple(header[ch] for ch in chapters)))
    written.append(path)
    for ch in chapters:
        maximum = sum(t.points for t in assignments[ch].tests.values()) if ch in assignments else ""
        rows = []
        for student in sorted(people, key=lambda s: (people[s].name.lower(), s)):
            who = people[student]
            r = chosen.get((student, ch)) or chosen.get((student, None))
            rows.append({"Identifier": f"{MOODLE_PARTICIPANT}{who.lms_id}" if who.lms_id else student,
                         "Full name": who.name or student, "Email address": who.email,
                         "Grade": _cell(chosen, student, ch),
                         "Maximum Grade": f"{maximum:g}" if maximum != "" else "",
                         "Last modified (grade)": stamp if r is not None else "",
                         "Feedback comments": "" if r is None else _comment(r)})
        path = out / f"moodle-{ch}.csv"
        atomic_write(path, _csv(rows, MOODLE_COLUMNS))
        written.append(path)
    return written
