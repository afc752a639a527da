"""Chapter 1's exercise definitions against right answers, plausible wrong ones and shortcuts."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from helpers.checks import CheckFailed, check, exercise


def verdict(key, answer, hidden=True):
    return exercise(key).verdict(answer, hidden=hidden)


# -- right answers, written differently from the solution notebook --------------

def apply_kernel_numpy(img, row, col, kernel):
    block = img.numpy()[row - 1:row + 2, col - 1:col + 2]
    return float(np.sum(block * kernel.numpy()))


def convolve_vectorised(img, kernel):
    kh, kw = kernel.shape
    h, w = img.shape
    windows = torch.stack([img[i:i + h - kh + 1, j:j + w - kw + 1] for i in range(kh) for j in range(kw)])
    return (windows * kernel.reshape(-1, 1, 1)).sum(0)


@pytest.mark.parametrize("hidden", [False, True])
def test_right_answers_pass(hidden):
    top_edge = torch.tensor([[-1.0, -1.0, -1.0], [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    for key, answer in [("top_edge", top_edge), ("apply_kernel", apply_kernel_numpy),
                        ("convolve", convolve_vectorised), ("quiz_output_size", (26, 26)),
                        ("quiz_edge_kernel", "left_edge")]:
        v = verdict(key, answer, hidden)
        assert v.passed, f"{key}: {v.explain()}"
        assert v.points == v.max_points > 0


# -- wrong answers ------------------------------------------------------------------

def test_top_edge_wrong_answers():
    v = verdict("top_edge", torch.tensor([[1.0] * 3, [0.0] * 3, [-1.0] * 3]))
    assert not v.passed and "bottom edges" in v.hint
    v = verdict("top_edge", torch.tensor([[-1.0, 0, 1]] * 3))
    assert not v.passed and "vertical" in v.hint
    v = verdict("top_edge", torch.tensor([[-1, -1, -1], [0, 0, 0], [1, 1, 1]]))
    assert not v.passed and "floats" in v.message
    v = verdict("top_edge", [[-1.0] * 3, [0.0] * 3, [1.0] * 3])
    assert not v.passed and "torch.Tensor" in v.message


def test_apply_kernel_flipped_kernel_is_named():
    def flipped(img, row, col, kernel):
        return (img[row - 1:row + 2, col - 1:col + 2] * kernel.flip(0, 1)).sum()
    v = verdict("apply_kernel", flipped, hidden=False)
    assert not v.passed and "flipped" in v.hint


def test_apply_kernel_window_not_centred():
    def corner(img, row, col, kernel):
        return (img[row:row + 3, col:col + 3] * kernel).sum()
    assert "centre" in verdict("apply_kernel", corner, hidden=False).hint
    assert not verdict("apply_kernel", corner, hidden=True).passed


def test_apply_kernel_shortcut_is_refused():
    def shortcut(img, row, col, kernel):
        return F.conv2d(img[None, None], kernel[None, None])[0, 0, row - 1, col - 1]
    v = verdict("apply_kernel", shortcut)
    assert not v.passed and "by hand" in v.message


@pytest.mark.parametrize("name", ["F.conv2d", "nn.Conv2d", "unfold", "Tensor.unfold", "torch.conv2d alias"])
def test_convolve_shortcuts_are_refused(name):
    from torch.nn.functional import conv2d as imported_early

    def via(img, kernel):
        x, k = img[None, None], kernel[None, None]
        if name == "F.conv2d":
            return F.conv2d(x, k)[0, 0]
        if name == "torch.conv2d alias":
            return imported_early(x, k)[0, 0]
        if name == "nn.Conv2d":
            layer = torch.nn.Conv2d(1, 1, tuple(kernel.shape), bias=False)
            layer.weight.data = k
            return layer(x)[0, 0].detach()
        if name == "unfold":
            kh, kw = kernel.shape
            cols = F.unfold(x, (kh, kw))
            return (kernel.reshape(1, -1) @ cols).reshape(img.shape[0] - kh + 1, -1)
        return (img.unfold(0, kernel.shape[0], 1).unfold(1, kernel.shape[1], 1) * kernel).sum((-1, -2))
    v = verdict("convolve", via)
    assert not v.passed and "by hand" in v.message, v.explain()


def test_convolve_square_only_fails_visible_and_hidden():
    def square_only(img, kernel):
        n, k = img.shape[0], kernel.shape[0]
        out = torch.zeros(n - k + 1, n - k + 1)
        for i in range(n - k + 1):
            for j in range(n - k + 1):
                out[i, j] = (img[i:i + k, j:j + k] * kernel).sum()
        return out
    assert not verdict("convolve", square_only, hidden=False).passed
    v = verdict("convolve", square_only, hidden=True)
    assert not v.passed and "need not be square" in v.hint


def test_convolve_flipped_and_transposed_are_named():
    def flipped(img, kernel):
        return convolve_vectorised(img, kernel.flip(0, 1))
    assert "flipped" in verdict("convolve", flipped).hint

    def same_size(img, kernel):
        return convolve_vectorised(F.pad(img, (1, 1, 1, 1)), kernel)
    v = verdict("convolve", same_size)
    assert not v.passed and "expected shape" in v.message


def test_convolve_look_alike_results_are_refused():
    class EqualsEverything(torch.Tensor):
        def __eq__(self, other):
            return True
    def sneaky(img, kernel):
        return convolve_vectorised(img, kernel).as_subclass(EqualsEverything) * 0
    v = verdict("convolve", sneaky)
    assert not v.passed and "plain data" in v.message


def test_quiz_wrong_answers():
    assert "outermost" in verdict("quiz_output_size", (28, 28)).hint
    assert not verdict("quiz_output_size", [26, 26]).passed
    assert not verdict("quiz_output_size", (26.0, 26.0)).passed
    assert not verdict("quiz_edge_kernel", "right_edge").passed
    assert not verdict("quiz_edge_kernel", 2).passed


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
