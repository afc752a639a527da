"""The learner's side of the course: the verdicts a notebook prints, and the record kept of them.

* :mod:`helpers.learner.verdicts`: ``check`` (a test cell's verdict in words) and ``summary`` (a
  chapter's table); notebooks import both from :mod:`helpers.checks`, the name every released
  notebook has used, which hands them over from here;
* :mod:`helpers.learner.progress`: the learner's progress, kept on their own machine
  (``python -m grader progress`` shows it).

Why a room of its own: the exercise definitions (:mod:`helpers.checks`) serve the grader as much as
the learner, while printing a verdict and keeping a record are the learner's alone, and never happen
while a notebook is graded (:func:`helpers.nbgrader_env.under_grading`).
"""
