"""Grading: a folder of submissions in, grades, a report and feedback out.

* :mod:`.submissions`: finding the notebooks and telling their chapter;
* :mod:`.sanitize`: the grading plan of one notebook, outside any kernel;
* :mod:`.autograde`: the batch: what is to be graded (``select``), then the engine on a backend;
* :mod:`.batch`: the batch engine (``run_batch``): one loop for both backends, each result recorded and
  checkpointed as it comes, Ctrl-C keeping what was graded, the outputs; the progress bar and errors;
* :mod:`.pool`: the local backend, sandboxes on this machine (one zygote, ``workers`` at a time);
* :mod:`.place`: the grading place both backends run sandboxes in (zygote, data cache, control groups,
  sandbox uids, slots, folder): the pool's one, and each Dask worker's;
* :mod:`.run`: one submission's run through its plan in a sandbox, with restarts;
* :mod:`.cluster`: the Dask backend: the same runs on Dask workers (``--scheduler``), judged here;
* :mod:`.judge`: verdicts from the collected outcomes, where no student code ran;
* :mod:`.report`: ``grades.csv``, ``report.json`` and the feedback;
* :mod:`.gradebook`: each graded submission recorded in nbgrader's gradebook and ``autograded/``;
* :mod:`.late`: due dates, extensions and late penalties, by nbgrader's own ``AssignLatePenalties``;
* :mod:`.lms`: an LMS's flat download (Canvas's and Moodle's file names), the roster, Canvas's and Moodle's
  grade imports;
* :mod:`.classreport` and :mod:`.similarity`: what the class got wrong, and nearly identical answers;
* :mod:`.config` (one ``GradingConfig``) and :mod:`.results` (``Result``, ``SubmissionStatus``).
"""
