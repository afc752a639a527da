"""Conv Course helpers: the code the chapters import instead of pasting it.

Organised by concern, each module documented with the chapter that
introduces it:

* :mod:`helpers.data`: real MNIST digits, offline first.
* :mod:`helpers.plots`: figures drawn from real computations.
* :mod:`helpers.checks`: the exercise checks behind every test cell.
* :mod:`helpers.receptive`: receptive fields measured by backpropagation (chapter 5).

Importing ``helpers`` does nothing else: no data is loaded, nothing is
printed and torch is not imported until a submodule that needs it is.
"""

__version__ = "0.1.0"
