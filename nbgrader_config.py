"""nbgrader configuration for running nbgrader by hand from the repository root.

The settings live in ``grader/authoring/config.py``; ``python -m grader`` applies the same ones.
"""
from grader.authoring.config import configure

configure(get_config())  # noqa: F821 - nbgrader provides get_config
