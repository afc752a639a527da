"""The failures a user of ``python -m grader`` can cause or fix, under one base, with one path to the user.

Every such failure is a :class:`CourseError`: its message is one line that says what is wrong and
what to do, and its kind carries the command's exit code. ``grader/__main__.py`` catches them once,
in ``main()``, prints ``error: <message>`` on stderr and exits with that code, never with a
traceback. Anything else that escapes is a bug of the grader, and keeps its traceback.

The kinds (and the exit codes scripts can rely on):

* :class:`UsageError` (2): what was given cannot be used: a path that is not a notebook or not a
  folder, a setting out of range, a secret file that is unreadable, a grading run not finished;
* :class:`SetupError` (3): the grader cannot run here: no sandbox on this machine, a Dask cluster
  unreachable or of another version, a gradebook it cannot open, a virtualenv that imports another
  checkout of the course, nbgrader failing to release or nbval to run.

Why one base: each room of the grader raises its own kind (``SecretError``, ``GradebookError``...),
named where the problem is found, and the command line needs to know none of them.
"""

from __future__ import annotations


class CourseError(Exception):
    """A failure the user can fix: one line saying what to do, and the exit code of its kind."""

    exit_code = 1


class UsageError(CourseError):
    """What was given cannot be used (a path, a setting, a file): fix the command."""

    exit_code = 2


class SetupError(CourseError):
    """The grader cannot run here as set up (sandbox, cluster, gradebook, virtualenv, nbgrader): fix the setup."""

    exit_code = 3
