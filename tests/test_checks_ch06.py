"""Chapter 6's exercise definitions against right answers, plausible wrong ones and shortcuts."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from helpers.checks import exercise
from helpers.models import conv, pooling_layers


def verdict(key, answer, hidden=True):
    return exercise(key).verdict(answer, hidden=hidden)


# -- right answers, written differently from the solution notebook --------------

def _windows(x, size, stride):
    """Every window as a new pair of trailing axes, built from slices (no unfold)."""
    h, w = x.shape[-2:]
    rows = [x[..., i:i + size, :] for i in range(0, h - size + 1, stride)]
    grid = [[r[..., j:j + size] for j in range(0, w - size + 1, stride)] for r in rows]
    return torch.stack([torch.stack(row, dim=-3) for row in grid], dim=-4)


def max_pool_stacked(x, size, stride):
    return _windows(x, size, stride).flatten(-2).max(dim=-1).values


def avg_pool_numpy(x, size, stride):
    a = x.numpy()
    h, w = a.shape[-2:]
    out = np.zeros(a.shape[:-2] + ((h - size) // stride + 1, (w - size) // stride + 1), dtype=a.dtype)
    for i in range(out.shape[-2]):
        for j in range(out.shape[-1]):
            out[..., i, j] = a[..., i * stride:i * stride + size, j * stride:j * stride + size].sum((-1, -2))
    return torch.from_numpy(out / (size * size))


def pool_cnn_small():
    """A different design from the solution's: stride-2 convolutions around one max pooling, ending 2x2."""
    return nn.Sequential(conv(1, 8), nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         conv(16, 32), conv(32, 2, act=False), nn.AdaptiveAvgPool2d(1), nn.Flatten())


@pytest.mark.parametrize("hidden", [False, True])
def test_right_answers_pass(hidden):
    for key, answer in [("max_pool", max_pool_stacked), ("avg_pool", avg_pool_numpy),
                        ("quiz_pool_size", (6, 4)), ("quiz_pool_params", 0), ("quiz_gap_shape", (64, 32, 1, 1))]:
        v = verdict(key, answer, hidden)
        assert v.passed, f"{key}: {v.explain()}"
        assert v.points == v.max_points > 0


def test_a_cnn_with_pooling_trains_and_passes():
    v = verdict("pool_cnn", pool_cnn_small, hidden=True)
    assert v.passed, v.explain()
    assert pooling_layers(pool_cnn_small()) == ("MaxPool2d", "AdaptiveAvgPool2d")


# -- wrong answers ------------------------------------------------------------------

def _loop(reduce, *, ceil=False, stride_is_size=False, start_at_zero=False):
    def pool(x, size, stride):
        stride = size if stride_is_size else stride
        h, w = x.shape[-2:]
        count = (lambda n: -(-(n - size) // stride) + 1) if ceil else (lambda n: (n - size) // stride + 1)
        out = torch.zeros(*x.shape[:-2], count(h), count(w))
        for i in range(count(h)):
            for j in range(count(w)):
                window = x[..., i * stride:i * stride + size, j * stride:j * stride + size]
                value = reduce(window)
                out[..., i, j] = torch.clamp(value, min=0) if start_at_zero else value
        return out
    return pool


amax = lambda win: win.amax(dim=(-2, -1))
mean = lambda win: win.mean(dim=(-2, -1))


def test_max_pool_wrong_answers_are_named():
    v = verdict("max_pool", _loop(amax, ceil=True))
    assert not v.passed and "dropped" in v.hint
    v = verdict("max_pool", _loop(amax, stride_is_size=True))
    assert not v.passed and "`stride`" in v.hint
    v = verdict("max_pool", _loop(amax, start_at_zero=True))
    assert not v.passed and "negative" in v.hint
    # the visible cases tell all three apart too
    for wrong in (_loop(amax, ceil=True), _loop(amax, stride_is_size=True), _loop(amax, start_at_zero=True)):
        assert not verdict("max_pool", wrong, hidden=False).passed


def test_max_pool_square_or_2d_only_fails():
    def square(x, size, stride):
        n = x.shape[-1]
        return _loop(amax)(x[..., :n, :n] if x.shape[-2] >= n else x, size, stride)
    assert not verdict("max_pool", square, hidden=False).passed
    assert not verdict("max_pool", square).passed

    def two_d_only(x, size, stride):
        h, w = x.shape
        return _loop(amax)(x, size, stride)
    v = verdict("max_pool", two_d_only, hidden=False)
    assert not v.passed and "last two axes" in v.hint


def test_avg_pool_wrong_answers_are_named():
    v = verdict("avg_pool", _loop(lambda win: win.sum(dim=(-2, -1))))
    assert not v.passed and "size * size" in v.hint
    assert "dropped" in verdict("avg_pool", _loop(mean, ceil=True)).hint
    assert "`stride`" in verdict("avg_pool", _loop(mean, stride_is_size=True)).hint
    v = verdict("avg_pool", _loop(amax), hidden=False)
    assert not v.passed


@pytest.mark.parametrize("key", ["max_pool", "avg_pool"])
@pytest.mark.parametrize("name", ["F", "nn", "unfold", "adaptive", "numpy windows"])
def test_pooling_shortcuts_are_refused(key, name):
    fn = {"max_pool": F.max_pool2d, "avg_pool": F.avg_pool2d}[key]

    def shortcut(x, size, stride):
        flat = x.reshape(-1, 1, *x.shape[-2:])
        if name == "F":
            out = fn(flat, size, stride)
        elif name == "nn":
            out = (nn.MaxPool2d if key == "max_pool" else nn.AvgPool2d)(size, stride)(flat)
        elif name == "unfold":
            win = x.unfold(-2, size, stride).unfold(-2, size, stride)
            return win.amax((-1, -2)) if key == "max_pool" else win.mean((-1, -2))
        elif name == "adaptive":  # equals pooling whenever the windows tile the map
            n_out = ((x.shape[-2] - size) // stride + 1, (x.shape[-1] - size) // stride + 1)
            out = F.adaptive_max_pool2d(flat, n_out) if key == "max_pool" else F.adaptive_avg_pool2d(flat, n_out)
        else:
            from numpy.lib.stride_tricks import sliding_window_view
            win = sliding_window_view(x.numpy(), (size, size), axis=(-2, -1))[..., ::stride, ::stride, :, :]
            return torch.from_numpy(win.max((-1, -2)) if key == "max_pool" else win.mean((-1, -2)))
        return out.reshape(*x.shape[:-2], *out.shape[-2:])
    v = verdict(key, shortcut)
    assert not v.passed and "by hand" in v.message, v.explain()


def test_pool_cnn_refuses_models_without_real_pooling():
    def no_pool():
        return nn.Sequential(conv(1, 4), conv(4, 8), conv(8, 16), conv(16, 32), conv(32, 2, act=False),
                             nn.Flatten())
    assert "no pooling layer" in verdict("pool_cnn", no_pool, hidden=False).message

    def pool_on_1x1():
        return nn.Sequential(*no_pool()[:-1], nn.AdaptiveAvgPool2d(1), nn.Flatten())
    assert "do not shrink anything" in verdict("pool_cnn", pool_on_1x1, hidden=False).message

    def pooling_only():
        return nn.Sequential(nn.MaxPool2d(2), nn.Flatten(), nn.Linear(196, 2))
    assert "no nn.Conv2d" in verdict("pool_cnn", pooling_only, hidden=False).message


def test_pool_cnn_wrong_shapes_and_kinds():
    def one_score():
        return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(784, 1))
    assert "expected (64, 2)" in verdict("pool_cnn", one_score, hidden=False).message

    def squeezed():
        class Squeeze(nn.Module):
            def forward(self, x):
                return x.squeeze()
        return nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.AdaptiveAvgPool2d(1), Squeeze())
    v = verdict("pool_cnn", squeezed, hidden=True)
    assert not v.passed and "batch of 1" in v.message

    v = verdict("pool_cnn", pool_cnn_small(), hidden=False)
    assert not v.passed and "function that returns a new model" in v.message
    v = verdict("pool_cnn", lambda: "a model", hidden=False)
    assert not v.passed and "nn.Module" in v.message

    def huge():
        return nn.Sequential(nn.Conv2d(1, 64, 3, padding=1), nn.MaxPool2d(2), nn.Flatten(),
                             nn.Linear(64 * 196, 64), nn.Linear(64, 2))
    assert "parameters" in verdict("pool_cnn", huge, hidden=False).message


def test_pool_cnn_that_cannot_learn_fails_on_accuracy():
    class Blind(nn.Module):
        """Throws the image away: only the last layer's biases can learn (the majority class)."""

        def forward(self, x):
            return x * 0

    def blind():
        return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.MaxPool2d(4), Blind(), nn.Flatten(),
                             nn.Linear(4 * 49, 2))
    v = verdict("pool_cnn", blind, hidden=False)
    assert not v.passed and "validation accuracy" in v.message and "90%" in v.message, v.explain()


def test_quiz_wrong_answers():
    assert "dropped" in verdict("quiz_pool_size", (6, 5)).hint
    assert "moves by 2" in verdict("quiz_pool_size", (4, 3)).hint
    assert not verdict("quiz_pool_size", [6, 4]).passed
    assert "no weights" in verdict("quiz_pool_params", 8).hint
    assert "does not flatten" in verdict("quiz_gap_shape", (64, 32)).hint
    assert "32 channels stay" in verdict("quiz_gap_shape", (64, 1, 1, 1)).hint


def test_pool_cnn_with_batch_norm_is_probed_in_eval_mode():
    """A batch of one must not trip BatchNorm1d while the check measures shapes."""
    def with_norm():
        return nn.Sequential(*pool_cnn_small()[:-1], nn.Flatten(), nn.BatchNorm1d(2))
    v = verdict("pool_cnn", with_norm, hidden=True)
    assert v.passed, v.explain()
