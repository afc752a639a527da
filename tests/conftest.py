import os
import signal
import tempfile

import pytest

# The tests press Ctrl-C on graders they start (SIGINT). A shell that runs pytest in the background
# without job control (`(make test &)`) starts it with SIGINT ignored, and every child would inherit
# that: the grader would never see the Ctrl-C and the interrupt tests would fail for a reason outside
# the grader. A handler of our own is reset to the default in each child when it starts.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

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


#: A blank chapter run in JupyterLab in Chromium, and the same chapter run in a bare kernel.
IN_BROWSER = "test_a_blank_chapter_run_cell_by_cell_in_jupyterlab_shows_no_traceback"
IN_KERNEL = "test_a_blank_chapter_run_cell_by_cell_shows_no_traceback"


#: Test files, slowest first: worker-seconds measured in one ``make test`` run on 2 cores (2026-11-30).
#: With ``--no-loadscope-reorder`` (the Makefile) pytest-xdist hands out files in this order, so the
#: long ones start first and the two workers finish together instead of one waiting on a late long file.
SLOWEST_FIRST = ("test_hub.py",                    # 300-570 s: a week of a class on JupyterHub in Chromium
                 "test_check.py",                  # 206 s: 24 notebooks checked and autograded
                 "test_browser_blank_chapters.py",  # 197 s: 8 chapters in JupyterLab in Chromium
                 "test_site.py",                    # ~130 s: 41 s, and axe-core on its 11 pages ~90 s
                 "test_notebooks.py",               # 118 s: nbgrader validate of 16 notebooks, release drift
                 "test_cluster.py",                 # 114 s: Dask scheduler and workers
                 "test_gradebook.py",               # 95 s
                 "test_grader_hostile.py",          # 84 s: one hostile batch
                 "test_blank_chapter.py",           # 81 s when Chromium is missing, else a few
                 "test_grader_interrupts.py",       # 58 s
                 "test_gradebook_postgres.py",      # 50 s
                 "test_grader.py")                  # 48 s


@pytest.hookimpl(trylast=True)  # after -m and -k have deselected
def pytest_collection_modifyitems(config, items):
    _slowest_files_first(items)
    _blank_chapters_once(items)


def _slowest_files_first(items) -> None:
    rank = {name: number for number, name in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the rest keep their order


def _blank_chapters_once(items) -> None:
    """The browser run of a blank chapter makes every assertion of its bare-kernel run
    (``tests.support.assert_blank_run``) and more; when both are selected and the browser is here,
    the bare-kernel run of that chapter is skipped rather than run twice."""
    from tests.lab import browser_missing

    def chapter(item, name):
        return item.callspec.params.get("chapter") if getattr(item, "originalname", None) == name else None

    in_browser = {chapter(item, IN_BROWSER) for item in items} - {None}
    if not in_browser or browser_missing():
        return
    for item in items:
        if chapter(item, IN_KERNEL) in in_browser:
            item.add_marker(pytest.mark.skip(reason="this chapter runs cell by cell in JupyterLab in Chromium "
                                                    "in this session, with the same assertions and more"))
