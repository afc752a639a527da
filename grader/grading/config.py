"""How a batch is graded: one :class:`GradingConfig`, read by the command line and by the functions.

Each setting has its default and its description here and nowhere else: ``python -m grader
autograde`` and ``python -m grader check`` build their options from these fields (help text
included), and :func:`grader.grading.autograde.autograde` and
:func:`grader.check.check_notebooks` take a config (or keyword overrides of its fields).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from ..authoring.config import CELL_TIMEOUT, ROOT
from ..errors import UsageError
from ..sandbox.process import ISOLATIONS
from ..sandbox.users import MAX_WORKERS
from ..sandbox.walls import Limits
from .similarity import THRESHOLD


def _setting(default=None, help: str = "", *, factory=None, repr: bool = True):  # noqa: A002 - argparse's word
    if factory is not None:
        return field(default_factory=factory, metadata={"help": help}, repr=repr)
    return field(default=default, metadata={"help": help}, repr=repr)


class SettingError(UsageError, ValueError):
    """A setting's value is out of its range (one line naming the setting and what it accepts)."""


@dataclass(frozen=True)
class GradingConfig:
    """The settings of one grading run (a class's batch, or a learner's check)."""

    workers: int | None = _setting(None, f"submissions graded side by side (default: the machine's cores, "
                                         f"at most {MAX_WORKERS})")
    timeout: float = _setting(900, "seconds per submission, all its cells together")
    cell_timeout: float = _setting(CELL_TIMEOUT, "seconds per cell before it is interrupted (nbgrader's "
                                                        "Execute.timeout for the course, too)")
    isolation: str = _setting("zygote", "how the sandbox is built: forked from a pre-loaded process with its own "
                                        "namespaces (zygote, faster), a fresh bubblewrap process per submission "
                                        "(bwrap), or none (only for notebooks you trust)")
    limits: Limits = _setting(help="resource limits of each sandbox (memory, CPU seconds, files, processes)",
                              factory=Limits)
    max_restarts: int = _setting(4, "restarts of one submission's sandbox before the rest of its cells are "
                                    "given up")
    progress: bool = _setting(True, "a progress bar with an ETA on stderr")
    scheduler: str | None = _setting(None, "grade on a Dask cluster: the scheduler's address (tcp://HOST:PORT), "
                                           "or `local` for a LocalCluster of `workers` processes on this machine "
                                           "(default: no cluster, sandboxes on this machine)")
    similarity: bool = _setting(True, "list nearly identical answers in the class report (similar-answers.html)")
    similarity_threshold: float = _setting(THRESHOLD, "the class report lists pairs of answers at least this "
                                                      "alike, 0 to 1")
    secret: bytes | None = _setting(None, "the course secret the instructor's hidden cases are drawn from "
                                          "(grader.grading.secret; None: the public hidden cases a learner's "
                                          "check uses); report.json records its fingerprint, never the secret",
                                    repr=False)
    secret_source: str | None = _setting(None, "where the secret came from, in words, for report.json")
    regrade: bool = _setting(False, "grade every submission again, even those already graded in OUT (by default "
                                    "a re-run keeps them: same file, same hidden cases)")
    root: Path = _setting(ROOT, "the course directory (solutions/ and notebooks/)")

    def __post_init__(self) -> None:
        if self.isolation not in ISOLATIONS:
            raise SettingError(f"isolation must be one of {', '.join(ISOLATIONS)}, not {self.isolation!r}")
        if not 0 <= self.similarity_threshold <= 1:
            raise SettingError(f"the similarity threshold is a share from 0 to 1, not {self.similarity_threshold!r}")
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


def resolve(config: GradingConfig | None = None, **overrides) -> GradingConfig:
    """``config`` (or the defaults) with ``overrides`` applied; an override of ``None`` keeps the setting.

    An unknown name is a ``TypeError``, a bad value (an unknown isolation) a :class:`SettingError` (a ``ValueError``).
    """
    return replace(config or GradingConfig(), **{k: v for k, v in overrides.items() if v is not None})
