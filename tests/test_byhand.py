"""The by-hand guard itself (:mod:`helpers.checks.byhand`), without a sandbox: each layer, each route.

These call :func:`helpers.checks.byhand.collect` as the harness does (a forked, guarded child
per collection) on chapter 1's ``convolve`` with answers that take a shortcut, and check that
each shortcut is refused with a message saying which, that the guard notices being switched
off, and that a right answer passes untouched. The same routes are graded end to end, in the
sandbox, by ``tests/test_grader_hostile.py``.
"""

from __future__ import annotations

import importlib
import threading

import pytest
import torch
import torch.nn.functional as F

import helpers.checks.byhand as byhand
from helpers.checks import exercise, exercises
from helpers.checks.core import Exercise, Outcome
from tests.support import by_hand_convolve

CONVOLVE = exercise("convolve")


def _collect(answer, tmp_path, snap=None) -> tuple[str | None, list]:
    path = tmp_path / "outcomes.pt"
    problem = byhand.collect(CONVOLVE, answer, runs=((True, str(path)),), forbid=CONVOLVE.forbid, save=torch.save,
                             run_one=Exercise._run_one, make_cases=Exercise.make_cases,
                             snap=snap or byhand.snapshot({ex.key: ex for ex in exercises()}),
                             events_fd=None, commands_fd=None)
    return problem, (torch.load(path, weights_only=True) if path.exists() else [])


_by_hand = by_hand_convolve


def _errors(outcomes) -> list[str]:
    return [o["error"] for o in outcomes]


def test_a_right_answer_is_collected_untouched(tmp_path):
    problem, outcomes = _collect(_by_hand, tmp_path)
    assert problem is None and _errors(outcomes) == [None] * len(CONVOLVE.make_cases(True))
    assert CONVOLVE.judge([Outcome(**o) for o in outcomes], hidden=True).passed


def test_the_public_and_hidden_cases_are_collected_in_one_child(tmp_path):
    """As grading does: one fork and one arming for both runs, each saved at its own path."""
    paths = {hidden: tmp_path / f"{hidden}.pt" for hidden in (False, True)}
    problem = byhand.collect(CONVOLVE, _by_hand, runs=tuple((h, str(p)) for h, p in paths.items()),
                             forbid=CONVOLVE.forbid, save=torch.save, run_one=Exercise._run_one,
                             make_cases=Exercise.make_cases, snap=byhand.snapshot({ex.key: ex for ex in exercises()}),
                             events_fd=None, commands_fd=None)
    assert problem is None
    for hidden, path in paths.items():
        outcomes = [Outcome(**o) for o in torch.load(path, weights_only=True)]
        assert len(outcomes) == len(CONVOLVE.make_cases(hidden)) and CONVOLVE.judge(outcomes, hidden=hidden).passed


@pytest.mark.parametrize("name, answer, words", [
    ("F.conv2d", lambda img, k: F.conv2d(img[None, None], k[None, None])[0, 0], "torch's built-in"),
    ("modes popped and pushed back", None, "torch's built-in"),
    ("caught and computed anyway", None, "torch's built-in"),
    ("a thread", None, "tried to start a thread"),
    ("a process", None, "tried to start a process"),
    ("SciPy saved before", None, "scipy.signal.correlate2d"),
    ("the tensor's NumPy bridge", lambda img, k: torch.from_numpy(img.numpy()), "`Tensor.numpy`"),
    ("NumPy's array protocol", lambda img, k: torch.tensor(img.__array__()), "`Tensor.__array__`"),
])
def test_each_shortcut_is_refused_and_named(tmp_path, name, answer, words):
    if name == "modes popped and pushed back":
        from torch.utils._python_dispatch import _disable_current_modes

        def answer(img, k):
            with _disable_current_modes():
                return F.conv2d(img[None, None], k[None, None])[0, 0]
    elif name == "caught and computed anyway":
        def answer(img, k):
            try:
                return F.conv2d(img[None, None], k[None, None])[0, 0]
            except Exception:  # noqa: BLE001
                return _by_hand(img, k)
    elif name == "a thread":
        def answer(img, k):
            out = []
            worker = threading.Thread(target=lambda: out.append(F.conv2d(img[None, None], k[None, None])[0, 0]))
            worker.start()
            worker.join()
            return out[0]
    elif name == "a process":
        import os

        def answer(img, k):
            if os.fork() == 0:
                os._exit(0)
            return _by_hand(img, k)
    elif name == "SciPy saved before":
        from scipy.signal import correlate2d

        def answer(img, k):
            return torch.tensor(correlate2d(img.tolist(), k.tolist(), mode="valid"), dtype=torch.float32)
    problem, outcomes = _collect(answer, tmp_path)
    assert problem is None
    assert outcomes and all(e and words in e for e in _errors(outcomes)), _errors(outcomes)


# Routes into other libraries' compiled code that no list of Python functions names: each is refused
# by the native lock, the collecting child ending on the first locked instruction, and the learner is
# told which line of theirs ran it.
def _numpy_strided_view(img, k):
    import numpy as np

    a = np.array(img.tolist(), dtype=np.float32)
    (h, w), (kh, kw) = a.shape, k.shape
    windows = np.ndarray((h - kh + 1, w - kw + 1, kh, kw), a.dtype, buffer=a, strides=a.strides * 2)
    return torch.tensor((windows * np.array(k.tolist(), dtype=np.float32)).sum((2, 3)).tolist())


def _numpy_array_interface(img, k):
    import numpy as np

    class Windows:  # NumPy reads any object's __array_interface__: shape and strides of the learner's choosing
        pass

    a = np.array(img.tolist(), dtype=np.float32)
    (h, w), (kh, kw) = a.shape, k.shape
    Windows.__array_interface__ = dict(a.__array_interface__, shape=(h - kh + 1, w - kw + 1, kh, kw),
                                       strides=a.strides * 2)
    return torch.tensor((np.asarray(Windows()) * np.array(k.tolist(), dtype=np.float32)).sum((2, 3)).tolist())


def _scipy_private_routine(img, k, _sigtools=importlib.import_module("scipy.signal._sigtools")):
    # compiled, private, and no Python function to refuse (imported before: imports read frames)
    return torch.tensor(_sigtools._convolve2d(img.tolist(), k.flip(0, 1).tolist(), 1, 0, 0, 0).tolist())


_LOCKED_ROUTES = [(_numpy_strided_view, "np.array(img.tolist()"), (_numpy_array_interface, "np.array(img.tolist()"),
                  (_scipy_private_routine, "_sigtools._convolve2d(")]


@pytest.mark.parametrize("answer, line", _LOCKED_ROUTES, ids=lambda v: getattr(v, "__name__", "")[1:] or None)
def test_other_libraries_compiled_code_is_refused_with_the_line_that_ran_it(tmp_path, answer, line):
    problem, _ = _collect(answer, tmp_path)
    assert problem and "must be computed by hand, but it ran compiled code of a library other than torch" in problem
    assert line in problem and "(line " in problem, problem


def test_numpy_stays_open_to_answers_given_no_tensors(tmp_path):
    """``receptive_fields`` is given plain numbers: NumPy is the learner's to use there, and is not locked."""
    import numpy as np

    def receptive_fields(layers):
        jumps = np.cumprod([1] + [stride for _, stride, _ in layers[:-1]])
        return list(1 + np.cumsum([(kernel - 1) * jump for (kernel, _, _), jump in zip(layers, jumps)]))

    ex = exercise("receptive_fields")
    path = tmp_path / "outcomes.pt"
    problem = byhand.collect(ex, receptive_fields, runs=((True, str(path)),), forbid=ex.forbid, save=torch.save,
                             run_one=Exercise._run_one, make_cases=Exercise.make_cases,
                             snap=byhand.snapshot({e.key: e for e in exercises()}), events_fd=None, commands_fd=None)
    assert problem is None
    verdict = ex.judge([Outcome(**o) for o in torch.load(path, weights_only=True)], hidden=True)
    assert verdict.passed, verdict.message


def _gc_walk(img, k):  # finds the guard's torch.library registrations and removes them for good
    import gc

    for obj in gc.get_objects():
        if isinstance(obj, torch.library.Library):
            obj._destroy()
    return F.conv2d(img[None, None], k[None, None])[0, 0]


def _frames(img, k):  # climbs from a traceback to the collecting code's frames, to reset the trip-wire
    try:
        raise ValueError
    except ValueError as exc:
        frame = exc.__traceback__.tb_frame
    while frame is not None:
        frame.f_locals.get("guard", None) and setattr(frame.f_locals["guard"], "tripped", None)
        frame = frame.f_back
    return _by_hand(img, k)


def _getframe(img, k):
    import sys

    sys._getframe(1)
    return _by_hand(img, k)


def _referrers(img, k):
    import gc

    gc.get_referrers(torch.library.Library)
    return _by_hand(img, k)


def _ctypes(img, k):
    import ctypes

    ctypes.CDLL(None)  # the door to every C symbol, torch's kernels included
    return _by_hand(img, k)


def _caught_then_again(img, k):
    import gc

    try:
        gc.get_objects()
    except Exception:  # noqa: BLE001 - caught: the second try must be refused too
        pass
    return _gc_walk(img, k)


def _set_storage(img, k):  # overlapping windows by Tensor.set_ with the image's storage, no refused view
    kh, kw = k.shape
    h, w = img.shape[0] - kh + 1, img.shape[1] - kw + 1
    windows = torch.empty(0).set_(img.untyped_storage(), 0, (h, w, kh, kw), (img.shape[1], 1, img.shape[1], 1))
    return (windows * k).sum((2, 3))


@pytest.mark.parametrize("answer, words", [
    (_gc_walk, "gc.get_objects"), (_frames, "object.__getattr__"), (_getframe, "sys._getframe"),
    (_referrers, "gc.get_referrers"), (_ctypes, "ctypes."), (_caught_then_again, "gc.get_objects"),
    (_set_storage, "`set_`"),
], ids=lambda v: getattr(v, "__name__", "")[1:] if callable(v) else None)
def test_reaching_for_the_guard_or_strided_storage_is_refused_and_named(tmp_path, answer, words):
    problem, outcomes = _collect(answer, tmp_path)
    assert problem is None
    assert outcomes and all(e and "must be computed by hand" in e and words in e for e in _errors(outcomes)), \
        _errors(outcomes)


def test_the_visible_check_refuses_strided_storage_too():
    verdict = CONVOLVE.verdict(_set_storage, hidden=False)
    assert not verdict.passed and "`set_`" in verdict.message


def test_restoring_a_refused_function_inside_the_answer_is_refused(tmp_path):
    from scipy.signal import correlate2d

    saved = correlate2d.__code__  # an earlier cell keeps the real code

    def answer(img, k):
        correlate2d.__code__ = saved
        return torch.tensor(correlate2d(img.numpy(), k.numpy(), mode="valid"), dtype=torch.float32)

    problem, outcomes = _collect(answer, tmp_path)
    assert problem is None and all(e and "object.__setattr__" in e for e in _errors(outcomes)), _errors(outcomes)


def test_a_checker_patched_before_the_call_costs_the_exercise(tmp_path):
    snap = byhand.snapshot({ex.key: ex for ex in exercises()})
    saved = CONVOLVE.forbid
    try:
        CONVOLVE.forbid = frozenset()  # what an earlier cell can do
        problem, _ = _collect(_by_hand, tmp_path, snap)
    finally:
        CONVOLVE.forbid = saved
    assert problem and "changed by an earlier cell" in problem and "`forbid` of exercise `convolve`" in problem


def test_a_hanging_answer_is_killed_with_its_child(tmp_path):
    import signal
    import time

    class Timeout(BaseException):
        pass

    def alarm(*_):
        raise Timeout()

    before = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, 1.0)
    began = time.monotonic()
    try:
        with pytest.raises(Timeout):
            _collect(lambda img, k: time.sleep(60), tmp_path)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, before)
    assert time.monotonic() - began < 10


def test_an_allowlist_widened_before_the_call_costs_the_exercise(tmp_path):
    import helpers.checks.allowed_ops as allowed_ops

    snap = byhand.snapshot({ex.key: ex for ex in exercises()})
    saved = allowed_ops.ALLOWED
    try:
        allowed_ops.ALLOWED = frozenset(allowed_ops.all_aten_ops())  # what an earlier cell can do
        problem, _ = _collect(lambda img, k: F.conv2d(img[None, None], k[None, None])[0, 0], tmp_path, snap)
    finally:
        allowed_ops.ALLOWED = saved
    assert problem and "changed by an earlier cell" in problem and "allowed_ops.ALLOWED` was replaced" in problem
    with pytest.raises(TypeError):
        allowed_ops.PYTHON_SHORTCUTS["scipy.signal"] = ()  # read-only: it cannot be emptied in place


def test_an_answer_that_prints_a_lot_is_collected_untouched(tmp_path):
    def answer(img, k):
        print("x" * 100_000)  # more than any buffer: written, to nowhere
        return _by_hand(img, k)

    problem, outcomes = _collect(answer, tmp_path)
    assert problem is None and _errors(outcomes) == [None] * len(CONVOLVE.make_cases(True))
