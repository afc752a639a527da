"""Late submissions as nbgrader judges them: its due dates, extensions and ``LateSubmissionPlugin``.

Why nbgrader's own classes and not arithmetic of ours: an instructor configures late penalties once, in
the course's ``nbgrader_config.py`` (``LateSubmissionPlugin.penalty_method = "zero"``, or their own
plugin with ``AssignLatePenalties.plugin_class = "late.SubMarks"``), sets the due date with
``nbgrader db assignment add ... --duedate`` and gives extensions in the gradebook. The course's grader
must then give the numbers stock ``nbgrader autograde`` gives, so every part of the rule is nbgrader's:

* how late: :attr:`nbgrader.api.SubmittedAssignment.total_seconds_late` (the ``timestamp.txt`` time
  against the assignment's due date plus the student's extension; no timestamp or no due date: on time);
* the penalty: nbgrader's ``AssignLatePenalties`` preprocessor's plugin (``plugin_class``, configured
  as for stock nbgrader), called with the notebook's score in the gradebook (manual scores included);
* the bounds: that preprocessor's own clamp (a penalty is never below 0 or above the score).

The plugin's module is imported with the course directory first on ``sys.path``, as nbgrader's apps
import it from the directory they run in.
"""

from __future__ import annotations

import logging
import sys
from contextlib import contextmanager
from pathlib import Path

from helpers.protocol import one_line

from ..errors import SetupError


class LatePolicyError(SetupError):
    """The course's late-submission plugin cannot be loaded; one line saying what to fix."""


@contextmanager
def _importable_from(folder: Path):
    added = str(folder) not in sys.path
    if added:
        sys.path.insert(0, str(folder))
    try:
        yield
    finally:
        if added and str(folder) in sys.path:
            sys.path.remove(str(folder))


def _quiet_log() -> logging.Logger:
    """nbgrader's plugins log every penalty; the grader's summary and report.json say it instead."""
    log = logging.getLogger("conv_course.late")
    log.propagate = False
    if not log.handlers:
        log.addHandler(logging.NullHandler())
    return log


class LatePolicy:
    """The course's late-submission rule: nbgrader's ``AssignLatePenalties`` with its configured plugin."""

    def __init__(self, config, course: Path) -> None:
        from nbgrader.preprocessors import AssignLatePenalties

        try:
            with _importable_from(Path(course)):
                self._assigner = AssignLatePenalties(config=config, log=_quiet_log())
                self._assigner.init_plugin()
        except Exception as exc:  # noqa: BLE001 - the instructor's plugin or config: one line
            wanted = config.get("AssignLatePenalties", {}).get("plugin_class", "LateSubmissionPlugin")
            raise LatePolicyError(f"the late-submission plugin {wanted} of {Path(course) / 'nbgrader_config.py'} "
                                  f"cannot be loaded ({one_line(exc, type(exc).__name__)}): fix "
                                  "AssignLatePenalties.plugin_class or LateSubmissionPlugin.penalty_method") from None

    @property
    def name(self) -> str:
        """The rule in words, for report.json: the plugin class, and its method when it is nbgrader's."""
        plugin = self._assigner.plugin_inst
        method = getattr(plugin, "penalty_method", None)
        kind = type(plugin)
        return f"{kind.__module__}.{kind.__qualname__}" + (f" (penalty_method {method!r})" if method else "")

    def penalty(self, student: str, notebook, seconds_late: float) -> float | None:
        """nbgrader's penalty for ``notebook`` (a :class:`nbgrader.api.SubmittedNotebook` whose ``score`` is
        current) handed in ``seconds_late`` seconds late; ``None`` when on time or the plugin gives none."""
        if not seconds_late > 0:
            return None
        try:
            penalty = self._assigner.plugin_inst.late_submission_penalty(student, notebook.score, seconds_late)
            return None if penalty is None else float(self._assigner._check_late_penalty(notebook, penalty))
        except Exception as exc:  # noqa: BLE001 - the instructor's plugin: this submission's reason, not a crash
            raise LatePolicyError(f"the late-submission plugin {self.name} failed on this submission "
                                  f"({one_line(exc, type(exc).__name__)})") from None
