"""Conv Course's grader: it releases the student notebooks, grades submissions, and checks a learner's own.

nbgrader is the course's authoring tool (``solutions/`` -> ``notebooks/``, checksums, the
settings in :mod:`grader.authoring.config`); grading is done by the course's own sandboxed
grader, which keeps nbgrader's points and metadata but runs student code in a sandbox and
decides grades outside it. The rooms:

* :mod:`grader.authoring`: nbgrader's settings, the committed notebooks' stored form, the release
  and its drift check, the stored outputs nbval compares;
* :mod:`grader.grading`: submissions in, grades out (find, plan, run with restarts, judge, write),
  with :mod:`grader.grading.config` (one ``GradingConfig``) and :mod:`grader.grading.results`;
* :mod:`grader.sandbox`: where student code runs (processes, zygote, harness); it shares only
  :mod:`helpers.protocol` with the judge;
* :mod:`grader.check`: ``python -m grader check``, a learner's notebook graded as the instructor would;
* :mod:`grader.cells`: nbgrader's cell metadata, read in one place;
* :mod:`grader.errors`: :class:`~grader.errors.CourseError`, every failure a user can fix (one line and
  an exit code per kind, printed once by ``python -m grader``).

Run ``python -m grader --help`` for the commands.
"""
