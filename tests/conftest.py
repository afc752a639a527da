import os
import tempfile

import pytest

# Kernels and nbgrader processes started by the tests inherit one torch thread.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
# ... and keep the checks they run out of the developer's own progress file (nbval kernels included).
os.environ["CONV_COURSE_PROGRESS"] = os.path.join(tempfile.mkdtemp(prefix="conv-course-tests-"), "progress.json")
# ... and grade with a course secret of their own, never the instructor's (grader.grading.secret).
os.environ["CONV_COURSE_SECRET"] = os.path.join(tempfile.mkdtemp(prefix="conv-course-tests-"), "grading-secret")


@pytest.fixture(autouse=True)
def _private_progress(tmp_path, monkeypatch):
    """Checks run by the tests record progress in a temporary file, never in the user's own."""
    monkeypatch.setenv("CONV_COURSE_PROGRESS", str(tmp_path / "progress.json"))


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    import torch

    torch.set_num_threads(1)
