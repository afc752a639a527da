"""Conv Course helpers: the code the chapters import instead of pasting it.

Organised by concern, each module documented with the chapter that
introduces it:

* :mod:`helpers.data`: real MNIST digits, offline first.
* :mod:`helpers.plots`: figures drawn from real computations.
* :mod:`helpers.models`: small CNNs and the tools to look inside them (chapter 4 on).
* :mod:`helpers.train`: a small training loop with a budget that shrinks under grading (chapter 4).
* :mod:`helpers.receptive`: receptive fields measured by backpropagation (chapter 5).
* :mod:`helpers.explorers`: the pure computations behind the interactive explorers.
* :mod:`helpers.widgets`: the explorers' sliders and menus over those computations.
* :mod:`helpers.checks`: the exercise checks behind every test cell.
* :mod:`helpers.protocol`: what the grader's sandbox and its judge agree on (checks follow it too).
* :mod:`helpers.progress`: the learner's progress, kept on their own machine.
* :mod:`helpers.grading`: whether the notebook is being graded (``NBGRADER_EXECUTION``).

Importing ``helpers`` does nothing else: no data is loaded, nothing is
printed and torch is not imported until a submodule that needs it is.
"""

__version__ = "0.1.0"
