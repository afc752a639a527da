"""Chapter 1's exercise definitions: what the catalogue (grader/catalogue/ch01.py) does not prove.

The right answers, the wrong ones and the shortcuts of every exercise live in the catalogue,
run by tests/test_catalogue.py; here: look-alike results, the design of the cases, and the
notebook's ``check()``.
"""

import pytest
import torch

from helpers.checks import CheckFailed, check, exercise


def verdict(key, answer, hidden=True):
    return exercise(key).verdict(answer, hidden=hidden)


def apply_kernel_numpy(img, row, col, kernel):
    block = img[row - 1:row + 2, col - 1:col + 2]
    return float((block * kernel).sum())


def convolve_vectorised(img, kernel):
    kh, kw = kernel.shape
    h, w = img.shape
    windows = torch.stack([img[i:i + h - kh + 1, j:j + w - kw + 1] for i in range(kh) for j in range(kw)])
    return (windows * kernel.reshape(-1, 1, 1)).sum(0)


def test_convolve_look_alike_results_are_refused():
    class EqualsEverything(torch.Tensor):
        def __eq__(self, other):
            return True
    def sneaky(img, kernel):
        return convolve_vectorised(img, kernel).as_subclass(EqualsEverything) * 0
    v = verdict("convolve", sneaky)
    assert not v.passed and "plain data" in v.message


def test_the_visible_cases_of_convolve_have_a_kernel_that_is_not_square():
    """A square kernel assumed is caught where the learner can still fix it, not only at grading."""
    shapes = [tuple(c.args[1].shape) for c in exercise("convolve").make_cases(hidden=False)]
    assert any(kh != kw for kh, kw in shapes), shapes
    images = [tuple(c.args[0].shape) for c in exercise("convolve").make_cases(hidden=False)]
    assert any(h != w for h, w in images), images


def test_the_quiz_kernel_name_is_read_as_a_learner_writes_it():
    for written in ("left_edge", " 'left_edge'\n", "Left edge", "LEFT-EDGE"):
        assert verdict("quiz_edge_kernel", written).passed, written


def test_check_finds_the_answer_by_name_and_raises_in_words(capsys):
    """A test cell's globals are the notebook's: check() reads the answer from there."""
    notebook = {"check": check, "apply_kernel": apply_kernel_numpy}
    exec('check("apply_kernel")', notebook)
    assert "visible checks passed; grading runs more cases" in capsys.readouterr().out
    with pytest.raises(CheckFailed, match="not defined yet"):
        exec('check("convolve")', notebook)
    exec("def convolve(img, kernel):\n    raise NotImplementedError()", notebook)
    with pytest.raises(CheckFailed, match="NotImplementedError"):
        exec('check("convolve")', notebook)
