"""The class a hub serves, read from one TOML file (``hub/class.toml``), and what the hub needs on
disk before it starts: the exchange, each course's directory, its roster in the gradebook.

One file says who is in which course; the JupyterHub configuration (groups, who gets the
formgrader), the course directories and the gradebooks' rosters are all derived from it, so
adding a learner is one line there and ``make hub`` again. Accounts are the machine's own Unix
accounts: the hub never creates one (``useradd`` does, and ``passwd`` sets the password they log in with).
"""

from __future__ import annotations

import os
import pwd
import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
#: The class ``make hub`` serves unless ``HUB_CLASS`` names another file.
DEFAULT_CLASS = HERE / "class.toml"
#: The environment variable naming the class file (set by ``make hub HUB_CLASS=...``).
CLASS_VARIABLE = "CONV_COURSE_HUB_CLASS"
#: A course id nbgrader and JupyterHub's group names accept (``nbgrader-<id>``, ``formgrade-<id>``).
COURSE_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
#: A Unix account name as ``useradd`` accepts it by default.
ACCOUNT = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")


class ClassError(SystemExit):
    """The class file is wrong, or the machine is not ready for it; the message is one line."""


@dataclass(frozen=True)
class Learner:
    id: str
    first_name: str | None = None
    last_name: str | None = None


@dataclass(frozen=True)
class Course:
    id: str
    instructors: tuple[str, ...]
    learners: tuple[Learner, ...]

    @property
    def directory(self) -> Path:
        """The nbgrader course directory: ``~<first instructor>/<id>`` (the formgrader needs it
        inside the instructor's server's root, their home)."""
        return Path(pwd.getpwnam(self.instructors[0]).pw_dir) / self.id


@dataclass(frozen=True)
class Class:
    ip: str
    port: int
    state: Path
    exchange: Path
    courses: tuple[Course, ...]

    def accounts(self) -> set[str]:
        return {name for c in self.courses for name in (*c.instructors, *(l.id for l in c.learners))}

    def instructor_of(self, user: str) -> Course | None:
        """The course ``user`` teaches (an instructor teaches one course on a hub), or None."""
        return next((c for c in self.courses if user in c.instructors), None)


def class_file() -> Path:
    return Path(os.environ.get(CLASS_VARIABLE) or DEFAULT_CLASS)


def load(path: Path | None = None) -> Class:
    """The class in ``path`` (default :func:`class_file`), checked; a ClassError names the first problem."""
    path = Path(path or class_file())
    try:
        data = tomllib.loads(path.read_text())
    except OSError as exc:
        raise ClassError(f"cannot read the class file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ClassError(f"{path} is not valid TOML: {exc}") from None

    def need(table: dict, key: str, kind: type, where: str):
        value = table.get(key)
        if not isinstance(value, kind):
            raise ClassError(f"{path}: {where}{key} must be a {kind.__name__}, got {value!r}")
        return value

    ip, port = data.get("ip", "127.0.0.1"), data.get("port", 8000)
    if not isinstance(port, int) or not 0 < port < 65536:
        raise ClassError(f"{path}: port must be a number from 1 to 65535, got {port!r}")
    courses, seen = [], {}
    for i, table in enumerate(need(data, "course", list, "")):
        where = f"course {i + 1}: "
        cid = need(table, "id", str, where)
        if not COURSE_ID.match(cid):
            raise ClassError(f"{path}: {where}id {cid!r} must be lower-case letters, digits, '-' or '_'")
        instructors = tuple(need(table, "instructors", list, where))
        if not instructors:
            raise ClassError(f"{path}: course {cid} has no instructor")
        learners = []
        for entry in table.get("learners", []):
            entry = {"id": entry} if isinstance(entry, str) else entry
            if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
                raise ClassError(f"{path}: course {cid}: a learner must be a name or {{ id = \"name\", ... }}, "
                                 f"got {entry!r}")
            learners.append(Learner(entry["id"], entry.get("first_name"), entry.get("last_name")))
        for name in (*instructors, *(l.id for l in learners)):
            if not isinstance(name, str) or not ACCOUNT.match(name):
                raise ClassError(f"{path}: course {cid}: {name!r} is not a Unix account name")
        for name in instructors:
            if name in seen:
                raise ClassError(f"{path}: {name} teaches both {seen[name]} and {cid}: one course per instructor")
            seen[name] = cid
        courses.append(Course(cid, instructors, tuple(learners)))
    if len({c.id for c in courses}) != len(courses):
        raise ClassError(f"{path}: two courses have the same id")
    return Class(str(ip), port, Path(data.get("state", "/srv/conv-course-hub")),
                 Path(data.get("exchange", "/srv/nbgrader/exchange")), tuple(courses))


# ---------------------------------------------------------------------------
# what the hub needs on disk


def course_config(course: Course, cls: Class, directory: Path | None = None) -> str:
    """The course directory's ``nbgrader_config.py``: the course's settings, this course's id and exchange,
    the chapters as installed (read-only: the release is the course's, never regenerated here).

    The course id is the class file's, and only there: nbgrader's apps, the formgrader and the course's
    grader (:func:`grader.grading.gradebook.course_id`) all read it from this file. ``directory``: where the
    course directory is (default: :attr:`Course.directory`)."""
    return "\n".join([
        f'"""nbgrader settings of the course {course.id}, written by `make hub` from {class_file()}."""',
        "from grader.authoring.config import ROOT, SOURCE_DIR, RELEASE_DIR, configure",
        "",
        "c = get_config()  # noqa: F821 - nbgrader provides get_config",
        f"configure(c, {str(directory or course.directory)!r})",
        f"c.CourseDirectory.course_id = {course.id!r}",
        "c.CourseDirectory.source_directory = str(ROOT / SOURCE_DIR)",
        "c.CourseDirectory.release_directory = str(ROOT / RELEASE_DIR)",
        f"c.Exchange.root = {str(cls.exchange)!r}",
        "c.Exchange.path_includes_course = True",
        "",
    ])


def account(name: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        raise ClassError(f"the account {name!r} of {class_file()} does not exist: create it with "
                         f"`useradd --create-home {name}` and set its password with `passwd {name}`") from None


def prepare(cls: Class) -> None:
    """Make the machine ready for ``cls`` (as root): idempotent, so ``make hub`` may run it every time."""
    if os.geteuid() != 0:
        raise ClassError("the hub runs as root (it starts each user's server as that user): run make hub as root")
    for name in sorted(cls.accounts()):
        account(name)
    cls.state.mkdir(parents=True, exist_ok=True)
    os.chmod(cls.state, 0o700)
    # nbgrader's exchange: everyone may create in it, the sticky bit keeps each course's folder its owner's
    cls.exchange.mkdir(parents=True, exist_ok=True)
    os.chown(cls.exchange, 0, 0)
    os.chmod(cls.exchange, 0o1777)
    for course in cls.courses:
        owner = account(course.instructors[0])
        folder = course.directory
        folder.mkdir(exist_ok=True)
        os.chown(folder, owner.pw_uid, owner.pw_gid)
        config = folder / "nbgrader_config.py"
        config.write_text(course_config(course, cls))
        os.chown(config, owner.pw_uid, owner.pw_gid)
        enrol(course, folder / "gradebook.db")
        for path in folder.glob("gradebook.db*"):
            os.chown(path, owner.pw_uid, owner.pw_gid)


def enrol(course: Course, db: Path) -> None:
    """The course's roster in its gradebook: each learner with their name (the formgrader lists names, not
    "None, None"); names already there are updated, no one is removed (their grades stay)."""
    from nbgrader.api import Gradebook

    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"  # alembic
    with Gradebook(f"sqlite:///{db}", course.id) as gb:
        for learner in course.learners:
            gb.update_or_create_student(learner.id, first_name=learner.first_name, last_name=learner.last_name)

