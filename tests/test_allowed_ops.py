"""The by-hand allowlist (:mod:`helpers.checks.allowed_ops`): what it refuses, and the honest answers it lets by.

The allowlist is derived from torch's registry, so these tests walk the registry too: any
operator whose name says it convolves, pools or builds windows must be refused by the
learner's visible check and by the grader's guard. And since an allowlist that refuses an
honest answer costs a learner points, every correct alternative of the by-hand exercises'
catalogue is collected through the grader's guard (the visible check's side is
``tests/test_catalogue.py``), with the everyday operations of a hand computation beside them.
"""

from __future__ import annotations

import re

import pytest
import torch
import torch.nn.functional as F

import helpers.checks.byhand as byhand
from grader import catalogue
from helpers.checks import allowed_ops, exercise, exercises
from helpers.checks.core import Exercise

#: Names that say an operator convolves, pools or builds windows.
WINDOWED = re.compile(r"conv|pool|window|unfold|fft|im2col|col2im|as_strided")


def test_every_windowed_operator_in_the_registry_is_refused():
    """Both guards ask :func:`allowed_ops.allowed`; the routes below show each one refusing at the dispatcher."""
    windowed = [name for name in allowed_ops.all_aten_ops() if WINDOWED.search(name)]
    assert len(windowed) > 100  # the registry was read (torch 2.14 has about 150 such operators)
    assert [name for name in windowed if allowed_ops.allowed("aten", name)] == []
    assert not any(WINDOWED.search(name) for name in allowed_ops.ALLOWED)


def test_operators_of_other_namespaces_are_refused():
    assert not allowed_ops.allowed("prims", "add") and allowed_ops.allowed("aten", "add")


def test_the_kernel_layer_covers_the_compute_kernels_and_no_view():
    kernels = {op.split(".")[0] for op in allowed_ops.kernel_ops()}
    assert {"convolution", "_convolution", "max_pool2d_with_indices", "avg_pool2d", "_fft_r2c",
            "slow_conv3d_forward", "conv_tbc", "max_pool3d_with_indices"} <= kernels
    assert not kernels & allowed_ops.ALLOWED and not {"as_strided", "unfold", "view"} & kernels


def _honest(img, kernel):
    """One answer that uses every everyday operation of a hand computation, and prints on the way."""
    kh, kw = kernel.shape
    h, w = img.shape[0] - kh + 1, img.shape[1] - kw + 1
    out = torch.zeros(h, w)
    rows = []
    for i in range(h):
        row = torch.stack([(img[i:i + kh, j:j + kw] * kernel).sum() for j in range(w)])
        rows.append(row)
    stacked = torch.cat([r[None] for r in rows])
    alt = torch.einsum("ij,ij->", img[:kh, :kw], kernel)  # a contraction over one window
    assert torch.isclose(alt, stacked[0, 0], atol=1e-4)
    flipped = kernel.flip(0).flip(1).flip(0).flip(1)
    assert bool((flipped == kernel).all()) and float(kernel.max()) >= float(kernel.min())
    out += stacked
    out.add_(0.0)
    idx = torch.arange(h)
    out[idx, :] = out[idx] + 0 * (kernel.reshape(-1) @ torch.ones(kh * kw))
    out = torch.where(out > -1e9, out, torch.zeros(()))
    _ = int(out.argmax()), out.max().item(), out.double().float().clone().contiguous(), out.T.tolist()
    _ = img.unsqueeze(0).expand(2, -1, -1).permute(1, 2, 0).reshape(-1)[: 3], F.pad(img, (1, 1)), img[img > 0]
    print(out[:1, :2], end="")
    return out


def test_the_everyday_operations_pass_the_visible_check_and_the_guard(tmp_path):
    ex = exercise("convolve")
    assert ex.verdict(_honest, hidden=False).passed
    path = tmp_path / "outcomes.pt"
    problem = byhand.collect(ex, _honest, runs=((True, str(path)),), forbid=ex.forbid, save=torch.save,
                             run_one=Exercise._run_one, make_cases=Exercise.make_cases,
                             snap=byhand.snapshot({e.key: e for e in exercises()}), events_fd=None, commands_fd=None)
    assert problem is None
    assert [o["error"] for o in torch.load(path, weights_only=True)] == [None] * len(ex.make_cases(True))


RIGHT = [e for ch in catalogue.chapters() for e in ch.right if exercise(e.key).forbid]


@pytest.mark.parametrize("entry", RIGHT, ids=lambda e: f"{e.key}-{e.how}")
def test_every_correct_by_hand_answer_of_the_catalogue_passes_the_guard(entry, tmp_path):
    ex = exercise(entry.key)
    path = tmp_path / "outcomes.pt"
    problem = byhand.collect(ex, catalogue.define(entry), runs=((True, str(path)),), forbid=ex.forbid,
                             save=torch.save, run_one=Exercise._run_one, make_cases=Exercise.make_cases,
                             snap=byhand.snapshot({e.key: e for e in exercises()}), events_fd=None, commands_fd=None)
    assert problem is None
    errors = [o["error"] for o in torch.load(path, weights_only=True)]
    assert errors == [None] * len(errors), errors[0]


#: Routes the lists of refused operators missed: each computes ``convolve``'s answer with torch.
MISSED = {
    "conv_tbc": lambda img, k: torch.conv_tbc(img[:, :, None].permute(1, 0, 2).contiguous(),
                                              k.T.flip(0)[:, :, None].contiguous() * 0 + k.T[:, :, None],
                                              torch.zeros(1))[:, :, 0].T,
    "an FFT product": lambda img, k: torch.fft.irfft2(torch.fft.rfft2(img) * torch.fft.rfft2(k.flip(0, 1), img.shape),
                                                      img.shape)[k.shape[0] - 1:, k.shape[1] - 1:],
    "conv3d by aten": lambda img, k: torch.ops.aten.slow_conv3d_forward(
        img[None, None, None], k[None, None, None], [1, *k.shape], None, [1, 1, 1], [0, 0, 0])[0, 0, 0],
    "a strided view": lambda img, k: (img.as_strided((img.shape[0] - k.shape[0] + 1, img.shape[1] - k.shape[1] + 1,
                                                      *k.shape), (*img.stride(), *img.stride())) * k).sum((2, 3)),
}


@pytest.mark.parametrize("route", sorted(MISSED))
def test_routes_the_old_lists_missed_are_refused_and_named(route, tmp_path):
    ex = exercise("convolve")
    answer = MISSED[route]
    visible = ex.verdict(answer, hidden=False)
    assert not visible.passed and "must be computed by hand" in visible.message
    path = tmp_path / "outcomes.pt"
    problem = byhand.collect(ex, answer, runs=((True, str(path)),), forbid=ex.forbid, save=torch.save,
                             run_one=Exercise._run_one, make_cases=Exercise.make_cases,
                             snap=byhand.snapshot({e.key: e for e in exercises()}), events_fd=None, commands_fd=None)
    errors = [o["error"] for o in torch.load(path, weights_only=True)] if path.exists() else []
    assert problem is None and errors and all(e and "must be computed by hand" in e and "`" in e for e in errors), errors
