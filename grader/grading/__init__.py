"""Grading: a folder of submissions in, grades, a report and feedback out.

* :mod:`.submissions`: finding the notebooks and telling their chapter;
* :mod:`.sanitize`: the grading plan of one notebook, outside any kernel;
* :mod:`.autograde`: the batch (one zygote, the workers, the outputs);
* :mod:`.batch`: what every batch shares, on this machine or a cluster: errors, the progress bar,
  Ctrl-C, recording and checkpointing each result, the final outputs;
* :mod:`.run`: one submission's run through its plan in a sandbox, with restarts;
* :mod:`.cluster`: the same runs on Dask workers (``--scheduler``), judged here;
* :mod:`.judge`: verdicts from the collected outcomes, where no student code ran;
* :mod:`.report`: ``grades.csv``, ``report.json`` and the feedback;
* :mod:`.gradebook`: each graded submission recorded in nbgrader's gradebook and ``autograded/``;
* :mod:`.classreport` and :mod:`.similarity`: what the class got wrong, and nearly identical answers;
* :mod:`.config` (one ``GradingConfig``) and :mod:`.results` (``Result``, ``SubmissionStatus``).
"""
