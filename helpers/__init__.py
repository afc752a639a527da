"""Conv Course helpers: the code the chapters import instead of pasting it.

Organised by concern, each module documented with the chapter that
introduces it:

* :mod:`helpers.data`: real MNIST digits, offline first.
* :mod:`helpers.plots`: figures drawn from real computations.
* :mod:`helpers.checks`: the exercise checks behind every test cell.
* :mod:`helpers.receptive`: receptive fields measured by backpropagation (chapter 5), the
  course's one receptive-field engine and its one ``Box``.
* :mod:`helpers.models`: the chapter-4 CNN, layer summaries, feature maps, a trained model.
* :mod:`helpers.hooks`: watching a model run (forward hooks, ATen operators), used by
  :mod:`helpers.models` and the checks.
* :mod:`helpers.train`: the small training loop of chapters 4 and 6.
* :mod:`helpers.explorers`: the pure computations and HTML of the explorers, one module per
  chapter; :mod:`helpers.widgets`: their sliders.
* :mod:`helpers.protocol`: what the grader's sandbox and its judge agree on (checks follow it too).
* :mod:`helpers.nbgrader_env`: whether the notebook is being graded (``NBGRADER_EXECUTION``).
* :mod:`helpers.learner`: your side: the verdicts a test cell prints (``check``, ``summary``, imported
  from :mod:`helpers.checks`) and your progress, recorded on your own machine.
* :mod:`helpers.photos`, :mod:`helpers.stability`, :mod:`helpers.stability_plots`: a real colour photo,
  the ten digits, activation statistics and their figures (chapter 7).

Importing ``helpers`` does nothing else: no data is loaded, nothing is
printed and torch is not imported until a submodule that needs it is.
"""

__version__ = "0.1.0"
