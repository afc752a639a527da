"""Visible checks never claim what grading may not give.

Every wrong answer below was found passing a visible check while scoring 0 at
grading. Each visible check now has at least one hard case that fails it, and a
visible pass says "visible checks passed; grading runs more cases" instead of
claiming points.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from helpers.checks import exercise
from helpers.models import conv

torch.set_num_threads(1)


def _convolve_square(img, kernel):
    n, k = img.shape[0], kernel.shape[0]
    out = torch.zeros(n - k + 1, n - k + 1)
    for i in range(n - k + 1):
        for j in range(n - k + 1):
            out[i, j] = (img[i:i + k, j:j + k] * kernel).sum()
    return out


def _conv_shapes_round(input_shape, filters):
    c, h, w = input_shape
    shapes = []
    for nf in filters:
        h, w = round(h / 2), round(w / 2)
        shapes.append((nf, h, w))
    return shapes


def _simple_cnn_squeezed():
    class Squeeze(nn.Module):
        def forward(self, x):
            return x.squeeze()
    return nn.Sequential(conv(1, 4), conv(4, 8), conv(8, 16), conv(16, 32), conv(32, 2, act=False), Squeeze())


WRONG = {
    "simple_cnn ending in squeeze()": ("simple_cnn", _simple_cnn_squeezed()),
    "conv_shapes with round(h/2)": ("conv_shapes", _conv_shapes_round),
    "convolve assuming square inputs": ("convolve", _convolve_square),
    "output_size as ceil(n/stride)": ("output_size", lambda n, ks, pad=0, stride=1: math.ceil(n / stride)),
}


@pytest.mark.parametrize("name", WRONG)
def test_each_listed_wrong_answer_fails_the_visible_check(name):
    key, answer = WRONG[name]
    visible = exercise(key).verdict(answer, hidden=False)
    assert not visible.passed and visible.points == 0, f"{name}: {visible.explain()}"
    assert not exercise(key).verdict(answer, hidden=True).passed, name


def test_a_visible_pass_claims_no_points():
    v = exercise("output_size").verdict(lambda n, ks, pad=0, stride=1: (n + 2 * pad - ks) // stride + 1)
    assert v.passed
    text = v.explain()
    assert "visible checks passed; grading runs more cases" in text
    assert "points)" not in text and "of 2" not in text, text
    graded = exercise("output_size").verdict(lambda n, ks, pad=0, stride=1: (n + 2 * pad - ks) // stride + 1,
                                             hidden=True)
    assert "2 of 2 points" in graded.explain()  # grading itself does give the points


# -- square-only answers of chapters 2 and 3 fail the visible check too ---------------------------

def _conv2d_square(img, kernel):
    n, k = img.shape[0], kernel.shape[0]
    return torch.stack([torch.stack([(img[i:i + k, j:j + k] * kernel).sum() for j in range(n - k + 1)])
                        for i in range(n - k + 1)])


def _multi_in_square(x, kernel):
    return sum(_conv2d_square(x[c], kernel[c]) for c in range(x.shape[0]))


def _channels_square(x, weight, bias):
    return torch.stack([_multi_in_square(x, weight[o]) + bias[o] for o in range(weight.shape[0])])


def _padded_square(img, kernel, pad=0, stride=1):
    padded = torch.nn.functional.pad(img, (pad, pad, pad, pad))
    n, k = padded.shape[0], kernel.shape[0]
    m = (n - k) // stride + 1
    return torch.stack([torch.stack([(padded[i * stride:i * stride + k, j * stride:j * stride + k] * kernel).sum()
                                     for j in range(m)]) for i in range(m)])


@pytest.mark.parametrize("key,answer", [("conv_multi_in", _multi_in_square), ("conv_channels", _channels_square),
                                        ("conv2d_padded", _padded_square)])
def test_square_only_answers_fail_the_visible_check(key, answer):
    v = exercise(key).verdict(answer, hidden=False)
    assert not v.passed, v.explain()
