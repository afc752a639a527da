"""How a batch is graded: one :class:`GradingConfig`, read by the command line and by the functions.

Each setting has its default, its description and its validation here and nowhere else. A setting
that a command offers says so (its :class:`Option`): ``python -m grader autograde``, ``check`` and
``report`` build those options from these fields, flag, type, help text and default included
(:func:`add_options`), and read them back into keyword overrides (:func:`chosen`). The commands'
other options are not settings: the files they read (``--secret``, ``--db``, ``--course``),
``--no-sandbox`` (isolation ``none``, spelled out so that it is never chosen by accident) and
``--no-gradebook``. :func:`grader.grading.autograde.autograde` and :func:`grader.check.check_notebooks`
take a config (or keyword overrides of its fields).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from ..authoring.config import CELL_TIMEOUT, ROOT
from ..errors import UsageError
from ..sandbox.process import ISOLATIONS
from ..sandbox.users import MAX_WORKERS
from ..sandbox.walls import Limits
from .similarity import THRESHOLD


@dataclass(frozen=True)
class Option:
    """A setting as the command line offers it: the commands that take it, and how its value is read.

    ``type`` ``None`` makes a switch of a ``bool`` setting: ``--NAME`` turns on a setting that is off by
    default; ``--no-NAME`` turns off one that is on, with ``off`` as its help.
    """

    commands: tuple[str, ...]
    type: type | None = None
    metavar: str | None = None
    choices: tuple[str, ...] | None = None
    off: str | None = None


def _setting(default=None, help: str = "", *, factory=None, repr: bool = True,  # noqa: A002 - argparse's word
             option: Option | None = None):
    metadata = {"help": help, "option": option}
    if factory is not None:
        return field(default_factory=factory, metadata=metadata, repr=repr)
    return field(default=default, metadata=metadata, repr=repr)


class SettingError(UsageError, ValueError):
    """A setting's value is out of its range (one line naming the setting and what it accepts)."""


@dataclass(frozen=True)
class GradingConfig:
    """The settings of one grading run (a class's batch, or a learner's check)."""

    workers: int | None = _setting(None, f"submissions graded side by side (default: the machine's cores, "
                                         f"at most {MAX_WORKERS})", option=Option(("autograde", "check"), int))
    timeout: float = _setting(900, "seconds per submission, all its cells together",
                              option=Option(("autograde", "check"), float))
    cell_timeout: float = _setting(CELL_TIMEOUT, "seconds per cell before it is interrupted (nbgrader's "
                                                 "Execute.timeout for the course, too)",
                                   option=Option(("autograde",), float))
    isolation: str = _setting("zygote", "how the sandbox is built: forked from a pre-loaded process with its own "
                                        "namespaces (zygote, faster), a fresh bubblewrap process per submission "
                                        "(bwrap), or none (only for notebooks you trust)",
                              option=Option(("autograde",), str,
                                            choices=tuple(i for i in ISOLATIONS if i != "none")))
    limits: Limits = _setting(help="resource limits of each sandbox (memory, CPU seconds, files, processes)",
                              factory=Limits)
    max_restarts: int = _setting(4, "restarts of one submission's sandbox before the rest of its cells are "
                                    "given up")
    progress: bool = _setting(True, "a progress bar with an ETA on stderr")
    scheduler: str | None = _setting(None, "grade on a Dask cluster: the scheduler's address (tcp://HOST:PORT), "
                                           "or `local` for a LocalCluster of `workers` processes on this machine "
                                           "(default: no cluster, sandboxes on this machine)",
                                   option=Option(("autograde",), str, metavar="ADDRESS"))
    similarity: bool = _setting(True, "list nearly identical answers in the class report (similar-answers.html)",
                                option=Option(("autograde", "report"), off="do not look for nearly identical "
                                              "answers (the class report's similar-answers.html)"))
    similarity_threshold: float = _setting(THRESHOLD, "the class report lists pairs of answers at least this "
                                                      "alike, 0 to 1",
                                           option=Option(("autograde", "report"), float, metavar="SHARE"))
    secret: bytes | None = _setting(None, "the course secret the instructor's hidden cases are drawn from "
                                          "(grader.grading.secret; None: the public hidden cases a learner's "
                                          "check uses); report.json records its fingerprint, never the secret",
                                    repr=False)
    secret_source: str | None = _setting(None, "where the secret came from, in words, for report.json")
    regrade: bool = _setting(False, "grade every submission again, even those already graded in OUT (by default "
                                    "a re-run keeps them: same file, same hidden cases)",
                                option=Option(("autograde",)))
    clear_stale_manual: bool = _setting(False, "remove a manual score (the formgrader's) from a gradebook cell whose "
                                               "auto score this run changes, so the new auto score counts (by "
                                               "default it is kept, and listed: a manual score outranks the auto "
                                               "one in nbgrader's totals)",
                                        option=Option(("autograde",)))
    lms_pattern: str = _setting("auto", "how a flat folder of LMS downloads names who handed in each notebook: "
                                        "canvas, moodle, auto (either), or a regular expression with nbgrader "
                                        "zip_collect's named groups (?P<student_id>...) and (?P<file_id>...), "
                                        "optionally (?P<timestamp>...)",
                                option=Option(("autograde",), str, "PATTERN"))
    roster: Path | None = _setting(None, "a CSV mapping LMS ids to learners' names and nbgrader ids (Canvas's "
                                         "gradebook export, Moodle's grading worksheet, or lms_id,name,student); "
                                         "the LMS grade files then list every learner on it",
                                   option=Option(("autograde",), Path, "CSV"))
    canvas_assignment: str | None = _setting(None, "the Canvas gradebook column of the chapter graded, "
                                                   "'Name (assignment id)' (default: the chapter's name, which "
                                                   "Canvas imports as a new assignment)",
                                             option=Option(("autograde",), str, "'NAME (ID)'"))
    root: Path = _setting(ROOT, "the course directory (solutions/ and notebooks/)")
    student: str | None = _setting(None, "grade only this student's submissions; what OUT holds of the others is "
                                         "kept as it is (default: every student)",
                                   option=Option(("autograde",), str, "ID"))
    assignment: str | None = _setting(None, "grade only this chapter's submissions, e.g. 01-convolution-by-hand; "
                                            "what OUT holds of the others is kept as it is (default: every chapter)",
                                      option=Option(("autograde",), str, "CHAPTER"))

    def __post_init__(self) -> None:
        if self.isolation not in ISOLATIONS:
            raise SettingError(f"isolation must be one of {', '.join(ISOLATIONS)}, not {self.isolation!r}")
        if not isinstance(self.clear_stale_manual, bool):
            raise SettingError(f"clear_stale_manual is true or false, not {self.clear_stale_manual!r}")
        if not 0 <= self.similarity_threshold <= 1:
            raise SettingError(f"the similarity threshold is a share from 0 to 1, not {self.similarity_threshold!r}")
        for name in ("student", "assignment"):
            value = getattr(self, name)
            if value is not None and (not value or "/" in value or value.startswith(".")):
                raise SettingError(f"{name} is one folder name of the submissions, not {value!r}")
        from .lms import pattern_problem

        problem = pattern_problem(self.lms_pattern)
        if problem:
            raise SettingError(problem)
        if self.roster is not None and not Path(self.roster).is_file():
            raise SettingError(f"the roster {self.roster} is not a file")
        if self.canvas_assignment is not None and not re.fullmatch(r".*\S.*\(\d+\)\s*", self.canvas_assignment):
            raise SettingError(f"the Canvas column {self.canvas_assignment!r} is not 'Name (assignment id)', "
                               "e.g. 'Convolution by hand (98765)'")
        if self.cell_timeout is None:  # "the course's", as the command line's --cell-timeout says
            object.__setattr__(self, "cell_timeout", CELL_TIMEOUT)

    @property
    def sandboxed(self) -> bool:
        return self.isolation != "none"

    def seeds(self, learner: str) -> dict[str, int] | None:
        """``learner``'s hidden-case seed of each exercise, drawn from ``secret`` (``None`` without one: the
        public cases)."""
        if self.secret is None:
            return None
        from helpers.checks import exercises

        from .secret import case_seed

        return {ex.key: case_seed(self.secret, ex.key, learner) for ex in exercises()}

    def hidden_cases(self) -> dict:
        """What ``report.json`` says about the hidden cases: the secret's fingerprint, never the secret."""
        if self.secret is None:
            return {"from": "public", "fingerprint": None,
                    "note": "the public hidden cases that learners can list; not an instructor's grading"}
        from .secret import DERIVATION, fingerprint

        return {"from": self.secret_source or "course secret", "fingerprint": fingerprint(self.secret),
                "seeds": DERIVATION}

    def worker_count(self) -> int:
        """``workers``, or the machine's cores; at least 1, at most :data:`MAX_WORKERS` (one sandbox uid each)."""
        return min(max(1, self.workers or os.cpu_count() or 1), MAX_WORKERS)


def describe(name: str) -> str:
    """The help text of one setting, with its default, for the command line."""
    text = next(f for f in fields(GradingConfig) if f.name == name).metadata["help"]
    default = getattr(GradingConfig(), name)
    if "default:" in text or not isinstance(default, (int, float, str)) or isinstance(default, bool):
        return text
    return f"{text} (default: {default:g})" if isinstance(default, float) else f"{text} (default: {default})"


def _options(command: str) -> list:
    """The settings ``python -m grader COMMAND`` offers, in the order of their fields."""
    return [f for f in fields(GradingConfig) if f.metadata["option"] and command in f.metadata["option"].commands]


def add_options(parser, command: str) -> None:
    """Add to ``parser`` (argparse) an option for each setting ``command`` offers (see :class:`Option`)."""
    defaults = GradingConfig()
    for f in _options(command):
        option, flag = f.metadata["option"], "--" + f.name.replace("_", "-")
        default = getattr(defaults, f.name)
        if option.type is None and default:
            parser.add_argument(f"--no-{flag[2:]}", dest=f.name, action="store_false", help=option.off)
        elif option.type is None:
            parser.add_argument(flag, dest=f.name, action="store_true", help=describe(f.name))
        else:
            parser.add_argument(flag, dest=f.name, type=option.type, default=default, metavar=option.metavar,
                                choices=option.choices, help=describe(f.name))


def chosen(args, command: str) -> dict:
    """The settings read from the command line of ``command`` (:func:`add_options`), as keyword overrides."""
    return {f.name: getattr(args, f.name) for f in _options(command)}


def resolve(config: GradingConfig | None = None, **overrides) -> GradingConfig:
    """``config`` (or the defaults) with ``overrides`` applied; an override of ``None`` keeps the setting.

    An unknown name is a ``TypeError``, a bad value (an unknown isolation) a :class:`SettingError` (a ``ValueError``).
    """
    return replace(config or GradingConfig(), **{k: v for k, v in overrides.items() if v is not None})
