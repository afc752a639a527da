"""The course's nbgrader configuration, in one place.

The repository root is the nbgrader course directory: ``solutions/`` is
nbgrader's *source* step and ``notebooks/`` its *release* step. The root
``nbgrader_config.py`` calls :func:`configure`, and so does every nbgrader
run the grader starts, so the settings below hold however nbgrader is run.
"""

from __future__ import annotations

from pathlib import Path

from helpers.protocol import CELL_TIMEOUT, NOT_ATTEMPTED_ERROR

#: The repository root: the nbgrader course directory.
ROOT = Path(__file__).resolve().parents[2]
SOURCE_DIR = "solutions"
RELEASE_DIR = "notebooks"


#: Stderr that only carries warnings (``UserWarning: ...``) must not fail a test cell:
#: stock nbgrader zeroes any grade cell that wrote to stderr.
WARNING_PATTERN = r"(?m)^.*\b\w*Warning: "

#: The course id every course command uses (nbgrader's ``CourseDirectory.course_id``, the gradebook's course).
COURSE_ID = "conv-course"

#: What replaces a solution in the student's version.
CODE_STUB = f"# YOUR CODE HERE\nraise {NOT_ATTEMPTED_ERROR}()"


def configure(c, root: Path | str = ROOT) -> None:
    """Apply the course settings to an nbgrader config object ``c``."""
    c.CourseDirectory.root = str(root)
    c.CourseDirectory.course_id = COURSE_ID
    c.CourseDirectory.source_directory = SOURCE_DIR
    c.CourseDirectory.release_directory = RELEASE_DIR
    # Only the notebook is released; nothing else in a chapter folder is copied.
    c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]
    c.ClearSolutions.code_stub = {"python": CODE_STUB}
    c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
    c.Execute.timeout = CELL_TIMEOUT
    c.Execute.interrupt_on_timeout = True
    # Kernels on Unix sockets: a TCP port picked for a kernel can be taken before the kernel binds it.
    from .kernels import IpcKernelManager

    c.Execute.kernel_manager_class = IpcKernelManager
    c.OverwriteCells.add_missing_cells = True
    c.IgnorePattern.pattern = WARNING_PATTERN
    c.IgnorePattern.enabled = True
    # Feedback shows each test's verdict, never the hidden tests' code, and no
    # live script from a student's outputs.
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbconvert.preprocessors.sanitize import SanitizeHTML
    from nbgrader.preprocessors import ClearHiddenTests, GetGrades

    c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, SanitizeHTML, CSSHTMLHeaderPreprocessor]
    c.HTMLExporter.sanitize_html = True
    # ... and loads nothing from a CDN (grader/authoring/templates/feedback shadows nbconvert's MathJax macro).
    from nbgrader.server_extensions.formgrader.handlers import template_path

    c.HTMLExporter.extra_template_basedirs = [str(Path(__file__).parent / "templates"), template_path]
