"""Chapter 8's exercise definitions against right answers, the named mistakes and shortcuts."""


import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from helpers.checks import exercise, exercises
from tests.support import solution_code

CHAPTER = "08-conv-arithmetic-and-backward"


def verdict(key, answer, hidden=True):
    return exercise(key).verdict(answer, hidden=hidden)


@pytest.fixture(scope="module")
def solution():
    """The chapter's own answers, run from the solution notebook's answer cells."""
    namespace = {}
    exec("import torch\nimport torch.nn.functional as F\nfrom torch import nn\n", namespace)
    for code in solution_code(CHAPTER).values():
        exec(code, namespace)
    return namespace


def test_the_solution_passes_every_check(solution):
    keys = [ex.key for ex in exercises(CHAPTER)]
    assert len([k for k in keys if not k.startswith("quiz_")]) >= 6
    for ex in exercises(CHAPTER):
        for hidden in (False, True):
            v = ex.verdict(solution[ex.answer], hidden=hidden)
            assert v.passed, f"{ex.key} (hidden={hidden}): {v.explain()}"
            assert v.points == v.max_points > 0


# -- right answers, written differently from the solution notebook ------------------------------

def dilated_size_loop(n, ks, pad=0, stride=1, dilation=1):
    """Count the positions one by one."""
    span, count, start = dilation * (ks - 1) + 1, 0, 0
    while start + span <= n + 2 * pad:
        count, start = count + 1, start + stride
    return count


def transposed_size_stamps(n, ks, stride=1, pad=0, output_padding=0, dilation=1):
    """Where the last stamp ends, minus the cropped border."""
    last_start = (n - 1) * stride
    return last_start + dilation * (ks - 1) + 1 - 2 * pad + output_padding


def conv_transpose_numpy(x, weight, stride=1, pad=0):
    """Scatter each input pixel's stamp in NumPy, one output channel at a time."""
    a, k = x.numpy().astype(np.float64), weight.numpy().astype(np.float64)
    c_in, h, w = a.shape
    _, c_out, kh, kw = k.shape
    out = np.zeros((c_out, (h - 1) * stride + kh, (w - 1) * stride + kw))
    for o in range(c_out):
        for c in range(c_in):
            for i in range(h):
                for j in range(w):
                    out[o, i * stride:i * stride + kh, j * stride:j * stride + kw] += a[c, i, j] * k[c, o]
    return torch.from_numpy(out[:, pad:out.shape[1] - pad, pad:out.shape[2] - pad]).float()


def grouped_params_per_group(c_in, c_out, ks, groups=1, bias=True):
    per_group = (c_in // groups) * (c_out // groups) * ks * ks
    return groups * per_group + c_out * int(bias)


def im2col_indices(x, ks, stride=1, pad=0):
    """Gather with index arithmetic instead of slicing windows."""
    c, h, w = x.shape
    xp = F.pad(x, (pad, pad, pad, pad))
    h_out, w_out = (h + 2 * pad - ks) // stride + 1, (w + 2 * pad - ks) // stride + 1
    rows = []
    for ch in range(c):
        for di in range(ks):
            for dj in range(ks):
                r = torch.arange(h_out)[:, None] * stride + di
                q = torch.arange(w_out)[None, :] * stride + dj
                rows.append(xp[ch][r, q].reshape(-1))
    return torch.stack(rows)


def conv_backward_numpy(dout, x, weight, stride=1, pad=0):
    """Loops over every output value in NumPy, CS231n's naive way."""
    d, a, k = (t.numpy().astype(np.float64) for t in (dout, x, weight))
    n, c, h, w = a.shape
    f, _, kh, kw = k.shape
    ap = np.pad(a, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dap, dk = np.zeros_like(ap), np.zeros_like(k)
    for b in range(n):
        for o in range(f):
            for i in range(d.shape[2]):
                for j in range(d.shape[3]):
                    window = ap[b, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                    dk[o] += d[b, o, i, j] * window
                    dap[b, :, i * stride:i * stride + kh, j * stride:j * stride + kw] += d[b, o, i, j] * k[o]
    dx = dap[:, :, pad:pad + h, pad:pad + w]
    return (torch.from_numpy(np.ascontiguousarray(dx)).float(), torch.from_numpy(dk).float(),
            torch.from_numpy(d.sum(axis=(0, 2, 3))).float())


def maxpool_backward_argmax(dout, x, size, stride, ceil_mode=False):
    """Route each window's gradient through the flat index of its maximum."""
    dx = torch.zeros_like(x)
    n, c = x.shape[:2]
    for i in range(dout.shape[-2]):
        for j in range(dout.shape[-1]):
            window = x[:, :, i * stride:i * stride + size, j * stride:j * stride + size]
            best = window.reshape(n, c, -1).argmax(-1)
            r, q = best // window.shape[-1] + i * stride, best % window.shape[-1] + j * stride
            for a in range(n):
                for b in range(c):
                    dx[a, b, r[a, b], q[a, b]] += dout[a, b, i, j]
    return dx


RIGHT = [("dilated_size", dilated_size_loop), ("transposed_size", transposed_size_stamps),
         ("conv_transpose", conv_transpose_numpy), ("grouped_params", grouped_params_per_group),
         ("im2col", im2col_indices), ("conv_backward", conv_backward_numpy),
         ("maxpool_backward", maxpool_backward_argmax),
         ("quiz_1x1_params", 2080), ("quiz_dilated_field", 31), ("quiz_transposed_shape", (2, 8, 10, 12))]


@pytest.mark.parametrize("hidden", [False, True])
@pytest.mark.parametrize("key,answer", RIGHT, ids=[k for k, _ in RIGHT])
def test_right_answers_written_differently_pass(key, answer, hidden):
    v = verdict(key, answer, hidden)
    assert v.passed, v.explain()


# -- the named mistakes: each fails and gets its hint --------------------------------------------

def _dilated(span, divide=lambda a, s: a // s, stride_times_dilation=False):
    def size(n, ks, pad=0, stride=1, dilation=1):
        s = stride * dilation if stride_times_dilation else stride
        return divide(n + 2 * pad - span(ks, dilation), s) + 1
    return size


@pytest.mark.parametrize("wrong,words", [
    (_dilated(lambda k, d: k, stride_times_dilation=True), "not the steps"),
    (_dilated(lambda k, d: d * k), "not dilation*ks"),
    (_dilated(lambda k, d: k), "replace ks by dilation*(ks - 1) + 1"),
    (_dilated(lambda k, d: d * (k - 1) + 1, divide=lambda a, s: a / s), "//"),
])
def test_dilated_size_mistakes(wrong, words):
    for hidden in (False, True):  # the visible check already catches them: it has dilation and stride together
        v = verdict("dilated_size", wrong, hidden)
        assert not v.passed and words in (v.hint or ""), v.explain()


@pytest.mark.parametrize("wrong,words", [
    (lambda n, ks, stride=1, pad=0, output_padding=0, dilation=1: (n - 1) * stride - 2 * pad + dilation * (ks - 1) + 1,
     "add output_padding"),
    (lambda n, ks, stride=1, pad=0, output_padding=0, dilation=1:
     (n - 1) * stride - pad + dilation * (ks - 1) + output_padding + 1, "counts twice"),
    (lambda n, ks, stride=1, pad=0, output_padding=0, dilation=1:
     n * stride - 2 * pad + dilation * (ks - 1) + output_padding + 1, "(n - 1)*stride"),
    (lambda n, ks, stride=1, pad=0, output_padding=0, dilation=1:
     (n - 1) * stride - 2 * pad + (ks - 1) + output_padding + 1, "dilated kernel"),
    (lambda n, ks, stride=1, pad=0, output_padding=0, dilation=1:
     (n + 2 * pad - dilation * (ks - 1) - 1) // stride + 1, "size of a convolution"),
])
def test_transposed_size_mistakes(wrong, words):
    for hidden in (False, True):
        v = verdict("transposed_size", wrong, hidden)
        assert not v.passed and words in (v.hint or ""), v.explain()


def _scatter(*, crop="both", flip=False, swap=False):
    def conv_transpose(x, weight, stride=1, pad=0):
        if swap:
            weight = weight.transpose(0, 1)
        if flip:
            weight = weight.flip(-1, -2)
        c_in, h, w = x.shape
        _, c_out, kh, kw = weight.shape
        out = torch.zeros(c_out, (h - 1) * stride + kh, (w - 1) * stride + kw)
        for i in range(h):
            for j in range(w):
                out[:, i * stride:i * stride + kh, j * stride:j * stride + kw] += \
                    (x[:, i, j, None, None, None] * weight).sum(0)
        if crop == "none":
            return out
        if crop == "once":
            return out[:, pad:, pad:]
        return out[:, pad:out.shape[1] - pad, pad:out.shape[2] - pad]
    return conv_transpose


def test_conv_transpose_mistakes():
    v = verdict("conv_transpose", _scatter(crop="none"), hidden=False)
    assert not v.passed and "cropped" in v.hint
    v = verdict("conv_transpose", _scatter(crop="once"), hidden=False)
    assert not v.passed and "both ends" in v.hint
    v = verdict("conv_transpose", _scatter(flip=True), hidden=False)
    assert not v.passed and "do not flip" in v.hint
    # a swapped [out, in] layout: an error on most cases, a wrong value when in == out
    v = verdict("conv_transpose", _scatter(swap=True))
    assert not v.passed and "[in, out, kh, kw]" in v.hint
    assert verdict("conv_transpose", _scatter(swap=True), hidden=False).passed is False


@pytest.mark.parametrize("wrong,words", [
    (lambda c_in, c_out, ks, groups=1, bias=True: c_out * c_in * ks * ks + c_out * bias, "c_in // groups input"),
    (lambda c_in, c_out, ks, groups=1, bias=True: (c_out // groups) * (c_in // groups) * ks * ks + c_out * bias,
     "divide once"),
    (lambda c_in, c_out, ks, groups=1, bias=True: c_out * (c_in // groups) * ks * ks + (c_out // groups) * bias,
     "one bias per output channel"),
    (lambda c_in, c_out, ks, groups=1, bias=True: c_out * (c_in // groups) * ks * ks + c_out * (not bias),
     "bias=False none"),
    (lambda c_in, c_out, ks, groups=1, bias=True: c_out * (c_in / groups) * ks * ks + c_out * bias, "//"),
])
def test_grouped_params_mistakes(wrong, words):
    for hidden in (False, True):
        v = verdict("grouped_params", wrong, hidden)
        assert not v.passed and words in (v.hint or ""), v.explain()


def _im2col(*, transposed=False, channels_last=False, column_major=False, no_pad=False):
    def im2col(x, ks, stride=1, pad=0):
        pad_used = 0 if no_pad else pad
        xp = F.pad(x, (pad_used,) * 4)
        c = x.shape[0]
        h_out = (xp.shape[1] - ks) // stride + 1
        w_out = (xp.shape[2] - ks) // stride + 1
        columns = []
        order = [(i, j) for j in range(w_out) for i in range(h_out)] if column_major else \
            [(i, j) for i in range(h_out) for j in range(w_out)]
        for i, j in order:
            window = xp[:, i * stride:i * stride + ks, j * stride:j * stride + ks]
            columns.append(window.permute(1, 2, 0).reshape(-1) if channels_last else window.reshape(-1))
        cols = torch.stack(columns, dim=1)
        return cols.T if transposed else cols
    return im2col


def test_im2col_mistakes():
    v = verdict("im2col", _im2col(transposed=True), hidden=False)
    assert not v.passed and "one column per window" in v.hint
    v = verdict("im2col", _im2col(channels_last=True), hidden=False)
    assert not v.passed and "channel first" in v.hint
    v = verdict("im2col", _im2col(column_major=True), hidden=False)
    assert not v.passed and "row after row" in v.hint
    v = verdict("im2col", _im2col(no_pad=True), hidden=False)
    assert not v.passed and "pad the input" in v.hint


def _conv_backward(*, db="right", crop=True, first_image_only=False, unpadded_dw=False):
    def conv_backward(dout, x, weight, stride=1, pad=0):
        n, c, h, w = x.shape
        _, _, kh, kw = weight.shape
        xp = F.pad(x, (pad,) * 4)
        dxp, dw = torch.zeros_like(xp), torch.zeros_like(weight)
        source = x if unpadded_dw else xp
        for i in range(dout.shape[2]):
            for j in range(dout.shape[3]):
                rows, cols = slice(i * stride, i * stride + kh), slice(j * stride, j * stride + kw)
                g = dout[:, :, i, j]
                batch = slice(0, 1) if first_image_only else slice(None)
                dw += torch.einsum("nf,nckl->fckl", g[batch], source[batch, :, rows, cols])
                dxp[:, :, rows, cols] += torch.einsum("nf,fckl->nckl", g, weight)
        dx = dxp[:, :, pad:pad + h, pad:pad + w] if crop else dxp
        grads = {"right": dout.sum(dim=(0, 2, 3)), "positions": dout.sum(dim=(2, 3)),
                 "first": dout[0].sum(dim=(1, 2))}
        return dx, dw, grads[db]
    return conv_backward


def test_conv_backward_mistakes():
    v = verdict("conv_backward", _conv_backward(db="positions"), hidden=False)
    assert not v.passed and "db:" in v.message and "dout.sum(dim=(0, 2, 3))" in v.hint
    v = verdict("conv_backward", _conv_backward(db="first"), hidden=False)
    assert not v.passed and "over the batch" in v.hint
    v = verdict("conv_backward", _conv_backward(crop=False), hidden=False)
    assert not v.passed and v.message.startswith("for x of shape") and "dx:" in v.message and "crop" in v.hint
    v = verdict("conv_backward", _conv_backward(first_image_only=True), hidden=False)
    assert not v.passed and "dw:" in v.message and "every image" in v.hint
    v = verdict("conv_backward", _conv_backward(unpadded_dw=True), hidden=False)
    assert not v.passed and "padded input" in (v.hint or v.message)


def test_conv_backward_returns_three_tensors():
    v = verdict("conv_backward", lambda dout, x, weight, stride=1, pad=0: torch.zeros_like(x), hidden=False)
    assert not v.passed and "tuple of 3 tensors" in v.message
    v = verdict("conv_backward", lambda dout, x, weight, stride=1, pad=0: [torch.zeros_like(x)] * 3, hidden=False)
    assert not v.passed and "tuple of 3 tensors" in v.message


def _maxpool_backward(*, spread=None, overwrite=False, floor_only=False):
    def maxpool_backward(dout, x, size, stride, ceil_mode=False):
        dx = torch.zeros_like(x)
        h_out, w_out = dout.shape[-2:]
        if floor_only:
            h_out, w_out = (x.shape[-2] - size) // stride + 1, (x.shape[-1] - size) // stride + 1
        for i in range(h_out):
            for j in range(w_out):
                rows, cols = slice(i * stride, i * stride + size), slice(j * stride, j * stride + size)
                window = x[..., rows, cols]
                g = dout[..., i, j, None, None]
                if spread == "all":
                    dx[..., rows, cols] += g
                elif spread == "mean":
                    dx[..., rows, cols] += g / (size * size)
                else:
                    winner = window == window.amax(dim=(-2, -1), keepdim=True)
                    if overwrite:
                        dx[..., rows, cols] = torch.where(winner, g, dx[..., rows, cols])
                    else:
                        dx[..., rows, cols] += winner * g
        return dx
    return maxpool_backward


def test_maxpool_backward_mistakes():
    v = verdict("maxpool_backward", _maxpool_backward(spread="all"), hidden=False)
    assert not v.passed and "only the maximum gets its gradient" in v.hint
    v = verdict("maxpool_backward", _maxpool_backward(spread="mean"), hidden=False)
    assert not v.passed and "average pooling" in v.hint
    v = verdict("maxpool_backward", _maxpool_backward(overwrite=True), hidden=False)
    assert not v.passed and "+=" in v.hint
    v = verdict("maxpool_backward", _maxpool_backward(floor_only=True), hidden=False)
    assert not v.passed and "ceil_mode" in v.hint


def test_maxpool_backward_all_negative_windows_and_ties_of_routing():
    """A gradient started from a maximum of 0 routes nothing when a window is all negative."""
    def from_zero(dout, x, size, stride, ceil_mode=False):
        dx = torch.zeros_like(x)
        for i in range(dout.shape[-2]):
            for j in range(dout.shape[-1]):
                rows, cols = slice(i * stride, i * stride + size), slice(j * stride, j * stride + size)
                window = x[..., rows, cols]
                best = window.amax(dim=(-2, -1), keepdim=True).clamp(min=0)
                dx[..., rows, cols] += (window == best) * dout[..., i, j, None, None]
        return dx
    assert not verdict("maxpool_backward", from_zero).passed


@pytest.mark.parametrize("key,answer,words", [
    ("quiz_1x1_params", 2048, "biases"), ("quiz_1x1_params", 96, "mixes"),
    ("quiz_dilated_field", 30, "start from"), ("quiz_dilated_field", 9, "dilation widens"),
    ("quiz_transposed_shape", (2, 8, 9, 11), "output_padding"), ("quiz_transposed_shape", (2, 8, 11, 13), "- 2*1"),
    ("quiz_transposed_shape", (2, 8, 3, 3), "goes up"), ("quiz_transposed_shape", (1, 8, 10, 12), "batch"),
])
def test_quiz_mistakes(key, answer, words):
    v = verdict(key, answer, hidden=False)
    assert not v.passed and words in v.hint


def test_quiz_types_are_exact():
    assert not verdict("quiz_1x1_params", 2080.0).passed
    assert not verdict("quiz_transposed_shape", [2, 8, 10, 12]).passed


def test_sizes_must_be_whole_numbers():
    v = verdict("dilated_size", lambda n, ks, pad=0, stride=1, dilation=1: float(dilated_size_loop(n, ks, pad, stride,
                                                                                                     dilation)))
    assert not v.passed and "int" in v.message


# -- shortcuts: by hand means no convolution, unfold, pooling or autograd ------------------------

def test_conv_transpose_shortcuts_are_refused():
    shortcuts = [
        lambda x, w, stride=1, pad=0: F.conv_transpose2d(x[None], w, stride=stride, padding=pad)[0],
        lambda x, w, stride=1, pad=0: nn.ConvTranspose2d(w.shape[0], w.shape[1], w.shape[-2:], stride, pad,
                                                         bias=False).requires_grad_(False)(x[None])[0],
        _transpose_by_autograd,
    ]
    for shortcut in shortcuts:
        v = verdict("conv_transpose", shortcut, hidden=False)
        assert not v.passed and "by hand" in v.message, v.explain()


def _transpose_by_autograd(x, weight, stride=1, pad=0):
    """The gradient of a hand-written loop convolution, by autograd: still not by hand."""
    c_in, h, w = x.shape
    _, c_out, kh, kw = weight.shape
    big = torch.zeros(c_out, (h - 1) * stride + kh, (w - 1) * stride + kw, requires_grad=True)
    out = torch.stack([torch.stack([(big[:, i * stride:i * stride + kh, j * stride:j * stride + kw][None]
                                     * weight).sum((1, 2, 3)) for j in range(w)], -1) for i in range(h)], -2)
    (grad,) = torch.autograd.grad(out, big, x)
    return grad[:, pad:grad.shape[1] - pad, pad:grad.shape[2] - pad]


def test_im2col_shortcuts_are_refused():
    for shortcut in (lambda x, ks, stride=1, pad=0: F.unfold(x[None], ks, padding=pad, stride=stride)[0],
                     lambda x, ks, stride=1, pad=0: F.pad(x, (pad,) * 4).unfold(1, ks, stride).unfold(2, ks, stride)
                     .permute(0, 3, 4, 1, 2).reshape(x.shape[0] * ks * ks, -1)):
        v = verdict("im2col", shortcut, hidden=False)
        assert not v.passed and "by hand" in v.message, v.explain()


def _conv_backward_autograd(dout, x, weight, stride=1, pad=0):
    x, weight = x.clone().requires_grad_(), weight.clone().requires_grad_()
    bias = torch.zeros(weight.shape[0], requires_grad=True)
    out = F.conv2d(x, weight, bias, stride=stride, padding=pad)
    out.backward(dout)
    return x.grad, weight.grad, bias.grad


def _conv_backward_loop_autograd(dout, x, weight, stride=1, pad=0):
    """A hand-written forward loop, differentiated by autograd: refused all the same."""
    x, weight = x.clone().requires_grad_(), weight.clone().requires_grad_()
    bias = torch.zeros(weight.shape[0], requires_grad=True)
    xp = F.pad(x, (pad,) * 4)
    kh, kw = weight.shape[-2:]
    total = 0
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            window = xp[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
            value = torch.einsum("nckl,fckl->nf", window, weight) + bias
            total = total + (value * dout[:, :, i, j]).sum()
    total.backward()
    return x.grad, weight.grad, bias.grad


def _conv_backward_func_vjp(dout, x, weight, stride=1, pad=0):
    _, vjp = torch.func.vjp(lambda a, b: F.conv2d(a, b, stride=stride, padding=pad), x, weight)
    dx, dw = vjp(dout)
    return dx, dw, dout.sum((0, 2, 3))


@pytest.mark.parametrize("shortcut", [_conv_backward_autograd, _conv_backward_loop_autograd,
                                      _conv_backward_func_vjp])
def test_conv_backward_shortcuts_are_refused(shortcut):
    v = verdict("conv_backward", shortcut, hidden=False)
    assert not v.passed and ("by hand" in v.message or "autograd" in v.message), v.explain()


def test_conv_backward_by_convolutions_is_refused():
    """dx as a transposed convolution and dw as a convolution: right, but not by hand."""
    def by_convolutions(dout, x, weight, stride=1, pad=0):
        dx = torch.nn.grad.conv2d_input(x.shape, weight, dout, stride=stride, padding=pad)
        dw = torch.nn.grad.conv2d_weight(x, weight.shape, dout, stride=stride, padding=pad)
        return dx, dw, dout.sum((0, 2, 3))
    v = verdict("conv_backward", by_convolutions, hidden=False)
    assert not v.passed and "by hand" in v.message, v.explain()


def test_maxpool_backward_shortcuts_are_refused():
    def autograd(dout, x, size, stride, ceil_mode=False):
        x = x.clone().requires_grad_()
        F.max_pool2d(x, size, stride, ceil_mode=ceil_mode).backward(dout)
        return x.grad

    def indices(dout, x, size, stride, ceil_mode=False):
        _, idx = F.max_pool2d(x, size, stride, ceil_mode=ceil_mode, return_indices=True)
        return torch.zeros_like(x).flatten(2).scatter_add(2, idx.flatten(2), dout.flatten(2)).reshape(x.shape)

    for shortcut in (autograd, indices):
        v = verdict("maxpool_backward", shortcut, hidden=False)
        assert not v.passed and ("by hand" in v.message), v.explain()


def test_by_hand_rule_leaves_autograd_working_afterwards():
    verdict("conv_backward", _conv_backward_autograd, hidden=False)
    x = torch.ones(3, requires_grad=True)
    (x * x).sum().backward()
    assert torch.equal(x.grad, torch.full((3,), 2.0))


def test_references_agree_with_the_formulas():
    """The measured references agree with the chapter's formulas on many random settings."""
    from helpers.checks.ch08 import measured_dilated_size, measured_params, measured_transposed_size

    g = torch.Generator().manual_seed(8)
    for _ in range(50):
        n, ks, pad, stride, d = (int(torch.randint(lo, hi, (1,), generator=g))
                                 for lo, hi in ((1, 30), (1, 6), (0, 4), (1, 5), (1, 4)))
        if n + 2 * pad >= d * (ks - 1) + 1:
            assert measured_dilated_size(n, ks, pad, stride, d) == (n + 2 * pad - d * (ks - 1) - 1) // stride + 1
        op = int(torch.randint(0, max(stride, d), (1,), generator=g))
        if (n - 1) * stride - 2 * pad + d * (ks - 1) + op + 1 >= 1:
            assert measured_transposed_size(n, ks, stride, pad, op, d) == \
                (n - 1) * stride - 2 * pad + d * (ks - 1) + op + 1
    assert measured_params(32, 64, 3, 32, True) == 64 * 1 * 9 + 64


# -- the named mistakes, as a learner writes them, through check() in a notebook-like namespace ------

LEARNER_MISTAKES = [
    ("dilated_size", "def dilated_size(n, ks, pad=0, stride=1, dilation=1):\n"
     "    return (n + 2 * pad - ks) // (stride * dilation) + 1", "not the steps", "dilation applied to the stride"),
    ("transposed_size", "def transposed_size(n, ks, stride=1, pad=0, output_padding=0, dilation=1):\n"
     "    return (n - 1) * stride - 2 * pad + dilation * (ks - 1) + 1", "add output_padding",
     "transposed size off by the output padding"),
    ("maxpool_backward", "def maxpool_backward(dout, x, size, stride, ceil_mode=False):\n"
     "    dx = torch.zeros_like(x)\n"
     "    for i in range(dout.shape[-2]):\n        for j in range(dout.shape[-1]):\n"
     "            dx[..., i*stride:i*stride+size, j*stride:j*stride+size] += dout[..., i, j, None, None]\n"
     "    return dx", "only the maximum gets its gradient", "gradient routed to every pixel of a window"),
    ("conv_backward", "def conv_backward(dout, x, weight, stride=1, pad=0):\n"
     "    n, c, h, w = x.shape\n    kh, kw = weight.shape[-2:]\n"
     "    xp = torch.zeros(n, c, h + 2 * pad, w + 2 * pad)\n    xp[:, :, pad:pad + h, pad:pad + w] = x\n"
     "    dxp, dw = torch.zeros_like(xp), torch.zeros_like(weight)\n"
     "    for i in range(dout.shape[2]):\n        for j in range(dout.shape[3]):\n"
     "            win = (slice(None), slice(None), slice(i*stride, i*stride+kh), slice(j*stride, j*stride+kw))\n"
     "            dw += torch.einsum('nf,nckl->fckl', dout[:, :, i, j], xp[win])\n"
     "            dxp[win] += torch.einsum('nf,fckl->nckl', dout[:, :, i, j], weight)\n"
     "    return dxp[:, :, pad:pad + h, pad:pad + w], dw, dout.sum(dim=(2, 3))",
     "sums dout over the batch", "bias gradient not summed over the batch"),
]


@pytest.mark.parametrize("key, code, hint, mistake", LEARNER_MISTAKES, ids=[m[3] for m in LEARNER_MISTAKES])
def test_the_named_mistakes_get_their_hint_under_the_visible_test_cell(key, code, hint, mistake):
    from helpers.checks import CheckFailed, check

    namespace = {"__name__": "__main__", "torch": torch, "F": F}
    exec(code, namespace)
    with pytest.raises(CheckFailed) as failed:
        exec(f'check("{key}")', {**namespace, "check": check})
    text = str(failed.value)
    assert text.startswith(f"{failed.value.verdict.title}: ") and "\nHint: " in text and hint in text, text
    assert "Traceback" not in "\n".join(failed.value._render_traceback_())


def test_square_kernels_only_fail_the_visible_check():
    """The visible cases already hold a non-square kernel: an answer that assumes kh == kw fails there."""
    def transpose_square(x, weight, stride=1, pad=0):
        k = weight.shape[-1]
        return _scatter()(x, weight[..., :k, :k] if weight.shape[-2] >= k else weight, stride, pad)

    def backward_square(dout, x, weight, stride=1, pad=0):
        k = weight.shape[-1]
        square = weight.new_zeros(*weight.shape[:2], k, k)
        rows = min(k, weight.shape[-2])
        square[..., :rows, :] = weight[..., :rows, :]
        dx, dw, db = _conv_backward()(dout, x, square, stride, pad)
        return dx, dw[..., :weight.shape[-2], :], db

    for key, wrong in (("conv_transpose", transpose_square), ("conv_backward", backward_square)):
        assert not verdict(key, wrong, hidden=False).passed, key
