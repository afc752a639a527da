"""Chapter 3's exercise definitions against right answers, plausible wrong ones and shortcuts."""

import math

import pytest
import torch
import torch.nn.functional as F

from helpers.checks import exercise
from helpers.checks.ch03 import measured_size


def verdict(key, answer, hidden=True):
    return exercise(key).verdict(answer, hidden=hidden)


# -- right answers, written differently from the solution notebook --------------

def output_size_counting(n, ks, pad=0, stride=1):
    """Count the starting points 0, stride, 2*stride, ... at which the kernel still fits."""
    return len(range(0, n + 2 * pad - ks + 1, stride))


def same_padding_math(ks):
    if ks % 2 != 1:
        raise ValueError("even kernel")
    return int((ks - 1) / 2)


def conv2d_padded_subsample(img, kernel, pad=0, stride=1):
    """Stride-1 convolution of a zero-bordered copy, then keep every stride-th row and column."""
    kh, kw = kernel.shape
    h, w = img.shape
    big = torch.zeros(h + 2 * pad, w + 2 * pad)
    big[pad:pad + h, pad:pad + w] = img
    H, W = big.shape
    full = sum(kernel[u, v] * big[u:u + H - kh + 1, v:v + W - kw + 1] for u in range(kh) for v in range(kw))
    return full[::stride, ::stride]


@pytest.mark.parametrize("hidden", [False, True])
def test_right_answers_pass(hidden):
    for key, answer in [("output_size", output_size_counting), ("same_padding", same_padding_math),
                        ("conv2d_padded", conv2d_padded_subsample), ("quiz_stride_shape", (1, 8, 8, 10)),
                        ("quiz_even_padding", 3), ("quiz_unused_columns", 1)]:
        v = verdict(key, answer, hidden)
        assert v.passed, f"{key}: {v.explain()}"
        assert v.points == v.max_points > 0


def test_measured_size_is_what_a_layer_returns():
    torch.manual_seed(0)
    for n, ks, pad, stride in [(28, 3, 1, 2), (7, 3, 1, 2), (10, 4, 0, 3), (5, 5, 2, 1)]:
        layer = torch.nn.Conv2d(2, 3, ks, stride=stride, padding=pad)
        assert measured_size(n, ks, pad, stride) == layer(torch.rand(1, 2, n, n)).shape[-1]


def test_output_size_cases_catch_the_usual_mistakes():
    for hidden in (False, True):
        cases = [c.args for c in exercise("output_size").make_cases(hidden)]
        assert any((n + pad - ks) // s != (n + 2 * pad - ks) // s for n, ks, pad, s in cases)
        assert any((n + 2 * pad - ks) % s for n, ks, pad, s in cases), "a case where the floor matters"
        assert any(s > 2 for n, ks, pad, s in cases) and any(ks % 2 == 0 for n, ks, pad, s in cases)


# -- wrong answers ------------------------------------------------------------------

@pytest.mark.parametrize("wrong, hint", [
    (lambda n, ks, pad=0, stride=1: (n + pad - ks) // stride + 1, "both sides"),
    (lambda n, ks, pad=0, stride=1: (n + 2 * pad - ks) / stride + 1, "floor division"),
    (lambda n, ks, pad=0, stride=1: (n + 2 * pad - ks) // stride, "+ 1"),
    (lambda n, ks, pad=0, stride=1: math.ceil((n + 2 * pad - ks) / stride) + 1, "round down"),
    (lambda n, ks, pad=0, stride=1: n + 2 * pad - ks + 1, "stride is missing"),
    (lambda n, ks, pad=0, stride=1: (n + 2 * pad - ks + 1) // stride, "before dividing"),
])
def test_output_size_mistakes_are_named(wrong, hint):
    for hidden in (False, True):
        v = verdict("output_size", wrong, hidden)
        assert not v.passed and hint in (v.hint or ""), v.explain()


def test_output_size_rounding_is_not_enough():
    v = verdict("output_size", lambda n, ks, pad=0, stride=1: round((n + 2 * pad - ks) / stride) + 1)
    assert not v.passed
    v = verdict("output_size", lambda n, ks, pad=0, stride=1: float((n + 2 * pad - ks) // stride + 1))
    assert not v.passed and "int" in v.message


def test_same_padding_mistakes():
    v = verdict("same_padding", lambda ks: ks // 2)
    assert not v.passed and "Raise ValueError" in v.hint and "even kernel" in v.message
    assert "//" in verdict("same_padding", lambda ks: ks / 2).hint
    assert "both sides together" in verdict("same_padding", lambda ks: ks - 1).hint
    assert "one pixel too many" in verdict("same_padding", lambda ks: (ks + 1) // 2).hint

    def always_raises(ks):
        raise ValueError("no")
    v = verdict("same_padding", always_raises)
    assert not v.passed and "odd kernel" in v.message

    def wrong_error(ks):
        if ks % 2 == 0:
            raise TypeError("even")
        return ks // 2
    v = verdict("same_padding", wrong_error)
    assert not v.passed and "TypeError" in v.message


def test_conv2d_padded_mistakes_are_named():
    def no_padding(img, kernel, pad=0, stride=1):
        return conv2d_padded_subsample(img, kernel, 0, stride)
    assert "padding is missing" in verdict("conv2d_padded", no_padding).hint

    def no_stride(img, kernel, pad=0, stride=1):
        return conv2d_padded_subsample(img, kernel, pad, 1)
    assert "stride is missing" in verdict("conv2d_padded", no_stride).hint

    def zeros_after(img, kernel, pad=0, stride=1):
        return conv2d_padded_subsample(F.pad(img, (0, 2 * pad, 0, 2 * pad)), kernel, 0, stride)
    assert "below and to the right" in verdict("conv2d_padded", zeros_after).hint

    def flipped(img, kernel, pad=0, stride=1):
        return conv2d_padded_subsample(img, kernel.flip(0, 1), pad, stride)
    assert "flipped" in verdict("conv2d_padded", flipped).hint


def test_conv2d_padded_square_only_and_ceil_fail_hidden():
    def square_only(img, kernel, pad=0, stride=1):
        n, k = img.shape[0], kernel.shape[0]
        big = F.pad(img, (pad,) * 4)
        m = (n + 2 * pad - k) // stride + 1
        out = torch.zeros(m, m)
        for i in range(m):
            for j in range(m):
                out[i, j] = (big[i * stride:i * stride + k, j * stride:j * stride + k] * kernel).sum()
        return out
    assert not verdict("conv2d_padded", square_only, hidden=False).passed   # a visible case is 6x9
    assert not verdict("conv2d_padded", square_only, hidden=True).passed

    def ceil_size(img, kernel, pad=0, stride=1):
        kh, kw = kernel.shape
        big = F.pad(img, (pad,) * 4)
        rows = -(-(big.shape[0] - kh) // stride) + 1
        cols = -(-(big.shape[1] - kw) // stride) + 1
        out = torch.zeros(rows, cols)
        for i in range(rows):
            for j in range(cols):
                out[i, j] = (big[i * stride:i * stride + kh, j * stride:j * stride + kw] * kernel).sum()
        return out
    v = verdict("conv2d_padded", ceil_size)
    assert not v.passed and "(n + 2*pad - ks)//stride + 1" in (v.hint or ""), v.explain()


@pytest.mark.parametrize("name", ["F.conv2d", "nn.Conv2d", "unfold"])
def test_conv2d_padded_shortcuts_are_refused(name):
    def shortcut(img, kernel, pad=0, stride=1):
        x, k = img[None, None], kernel[None, None]
        if name == "F.conv2d":
            return F.conv2d(x, k, padding=pad, stride=stride)[0, 0]
        if name == "nn.Conv2d":
            layer = torch.nn.Conv2d(1, 1, tuple(kernel.shape), stride=stride, padding=pad, bias=False)
            with torch.no_grad():
                layer.weight.copy_(k)
                return layer(x)[0, 0]
        cols = F.unfold(x, tuple(kernel.shape), padding=pad, stride=stride)
        rows = (img.shape[0] + 2 * pad - kernel.shape[0]) // stride + 1
        return (kernel.reshape(1, -1) @ cols).reshape(rows, -1)
    v = verdict("conv2d_padded", shortcut)
    assert not v.passed and "by hand" in v.message, v.explain()


def test_quiz_wrong_answers():
    assert "every side" in verdict("quiz_stride_shape", (1, 8, 7, 9)).hint
    assert "counts twice" in verdict("quiz_stride_shape", (1, 8, 7, 10)).hint
    assert "round down" in verdict("quiz_stride_shape", (1, 8, 8, 11)).hint
    assert "one output map per kernel" in verdict("quiz_stride_shape", (1, 3, 8, 10)).hint
    assert not verdict("quiz_stride_shape", (8, 8, 10)).passed
    assert "one too many" in verdict("quiz_even_padding", 4).hint
    assert "one too few" in verdict("quiz_even_padding", 2).hint
    assert not verdict("quiz_even_padding", 1.5).passed
    assert "column 6 does not exist" in verdict("quiz_unused_columns", 0).hint
    assert not verdict("quiz_unused_columns", 2).passed


def test_references_do_not_touch_the_global_random_state():
    state = torch.get_rng_state()
    for key, answer in [("output_size", output_size_counting), ("same_padding", same_padding_math),
                        ("quiz_stride_shape", (1, 8, 8, 10))]:
        verdict(key, answer)
    assert torch.equal(state, torch.get_rng_state())
