"""Grading: a folder of submissions in, grades, a report and feedback out.

* :mod:`.submissions`: finding the notebooks and telling their chapter;
* :mod:`.sanitize`: the grading plan of one notebook, outside any kernel;
* :mod:`.autograde`: the batch, each submission's run through its plan in a sandbox, the writers;
* :mod:`.judge`: verdicts from the collected outcomes, where no student code ran.
"""
