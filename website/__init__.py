"""The course's website: every chapter as a page, built offline with Sphinx and MyST-NB.

A page shows what the learner's notebook shows before any answer is written: the
release in ``notebooks/`` (answer cells are stubs, hidden tests are gone), run in a
real kernel, with every output that depends on an exercise answer left out and each
explorer shown as a still picture. Nothing from ``solutions/`` is run or copied.

* :mod:`website.plan`: which cells depend on an answer (a pure function of the notebook);
* :mod:`website.snapshot`: an explorer's widgets turned into a still picture;
* :mod:`website.chapters`: run a chapter and keep only what the plan allows;
* :mod:`website.build`: the whole site (``make site``, ``python -m website``);
* ``website/conf.py``: the Sphinx settings (theme, offline MathJax, search).
"""
