"""Whether the notebook is being graded: one definition of nbgrader's ``NBGRADER_EXECUTION``.

nbgrader sets ``NBGRADER_EXECUTION`` (to ``autograde`` or ``validate``) in the kernel that
executes a notebook, and the course's own grader sets it in its sandbox as well. While it is
set, the chapters do the least that grading needs: the explorers build no widgets
(:mod:`helpers.widgets`), training cells use their small budget (:mod:`helpers.train`), and
checks are not recorded in the learner's progress (:mod:`helpers.learner.progress`).
"""

from __future__ import annotations

import os

#: The environment variable nbgrader sets while it executes a notebook.
NBGRADER_EXECUTION = "NBGRADER_EXECUTION"
#: The value the course's grader gives it, as ``nbgrader autograde`` does.
AUTOGRADE = "autograde"


def under_grading() -> bool:
    """True while nbgrader (or the course's grader) is executing the notebook."""
    return bool(os.environ.get(NBGRADER_EXECUTION))
