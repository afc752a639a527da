"""Exercise checks for chapter 8, "The rest of convolution arithmetic, and the backward pass by hand".

Sizes and parameter counts are measured on real layers (``nn.Conv2d`` with
``dilation`` and ``groups``, ``nn.ConvTranspose2d``), built on the meta device so
that no reference draws from the notebook's random numbers. Tensors are checked
against PyTorch itself: ``F.conv_transpose2d`` for the scatter-add, ``F.unfold`` for
im2col, and **autograd** through ``F.conv2d`` and ``F.max_pool2d`` for the
gradients, all in double precision. Max pooling's reference is therefore PyTorch's own rule for a
window whose maximum is tied: the whole gradient goes to the first maximum in reading order (the index
``return_indices`` gives), and the cases hold such windows, as a ReLU map does.

The mistake models are written as the learner's slip (a stride left out, ``=`` for ``+=``, a tie sent
to every maximum ...) applied to a loop version of the computation, so that a hint is given only when
the answer's output is exactly what that slip produces. The quizzes use their own comparison, which
says what is wrong about the value given and never prints the one expected.

The by-hand exercises run with every convolution, unfold and pooling operator
switched off (their backward operators too), and with autograd refused: a
learner's function that asks PyTorch to record a graph for ``backward()`` fails
with a one-line message, so the gradients really are written by hand.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..protocol import BY_HAND_REFUSAL
from .core import (
    CONVOLUTION_OPS,
    POOLING_OPS,
    Case,
    Exercise,
    compare_int,
    compare_tensor,
    quiz_case,
    randint,
    type_name,
    without_autograd,
)

CHAPTER = "08-conv-arithmetic-and-backward"

#: Operators a by-hand answer may not reach: convolutions, windows, pooling and their backward passes.
BY_HAND_OPS = POOLING_OPS | frozenset({
    "convolution_backward", "convolution_backward_overrideable", "_convolution_double_backward",
    "max_pool2d_with_indices_backward", "max_pool2d_backward", "avg_pool2d_backward", "unfold_backward",
    "im2col_backward", "col2im_backward", "max_unpool2d", "_slow_conv2d_backward", "slow_conv_transpose2d",
    "conv_transpose1d", "conv_transpose3d", "conv_tbc",
})



def _whole_number(answer, case: Case):
    """Call the answer; a NumPy number (``np.int64(14)``, from NumPy arithmetic) is the Python number it holds,
    so that an integer passes and a float is named as the float it is."""
    result = answer(*case.args)
    if type(result).__module__ == "numpy" and isinstance(result, numbers.Integral):
        return int(result)
    if type(result).__module__ == "numpy" and isinstance(result, numbers.Real):
        return float(result)
    return result


def _as_float(reference):
    """The mistake of the right size as a float (np.floor, float(...), a float in the arithmetic)."""
    return lambda case: float(reference(case))


_FLOAT_SIZE = ("a size is a whole number: return an int. np.floor, math.ceil of a float or a float in the "
               "arithmetic give a float; use // (and int() if you must convert).")


def _meta(layer_type, *args, **kwargs) -> nn.Module:
    """A real layer without drawing random numbers: built on the meta device, given empty CPU storage."""
    return layer_type(*args, device="meta", **kwargs).to_empty(device="cpu")


# -- dilated_size -------------------------------------------------------------------------------


def measured_dilated_size(n: int, ks: int, pad: int, stride: int, dilation: int) -> int:
    """The height of what a real ``nn.Conv2d(..., dilation=dilation)`` returns for ``n`` rows."""
    layer = _meta(nn.Conv2d, 1, 1, ks, stride=stride, padding=pad, dilation=dilation, bias=False)
    with torch.no_grad():
        return int(layer(torch.zeros(1, 1, n, dilation * (ks - 1) + 1)).shape[-2])


_DILATED_VISIBLE = [(28, 3, 0, 1, 2), (28, 3, 2, 1, 2), (9, 3, 0, 1, 3), (28, 3, 1, 2, 2), (20, 5, 4, 3, 2)]
_DILATED_HIDDEN = [(7, 3, 0, 1, 3), (10, 2, 1, 2, 4), (64, 3, 4, 1, 4), (33, 5, 2, 4, 3), (5, 1, 0, 2, 5),
                   (17, 4, 3, 3, 2), (100, 7, 9, 2, 3), (12, 3, 0, 5, 2)]


def _dilated_cases(g: torch.Generator, hidden: bool) -> list[Case]:
    fixed = _DILATED_HIDDEN + _DILATED_VISIBLE if hidden else _DILATED_VISIBLE
    drawn = []
    while len(drawn) < (30 if hidden else 4):
        ks, pad, stride, dilation = randint(g, 1, 5), randint(g, 0, 4), randint(g, 1, 4), randint(g, 1, 4)
        n = randint(g, 1, 40)
        if n + 2 * pad >= dilation * (ks - 1) + 1:
            drawn.append((n, ks, pad, stride, dilation))
    return [Case(args, "n={}, ks={}, pad={}, stride={}, dilation={}".format(*args)) for args in fixed + drawn]


def _dilated_expected(case: Case) -> int:
    return measured_dilated_size(*case.args)


def _dilated_model(span, divide=lambda a, s: a // s, stride_factor=lambda s, d: s, pad_factor=2):
    def model(case: Case):
        n, ks, pad, stride, dilation = case.args
        return divide(n + pad_factor * pad - span(ks, dilation), stride_factor(stride, dilation)) + 1
    return model


DILATED_SIZE = Exercise(
    key="dilated_size",
    chapter=CHAPTER,
    answer="dilated_size",
    run=_whole_number,
    title="dilated_size(n, ks, pad, stride, dilation)",
    points=2,
    cases=_dilated_cases,
    reference=_dilated_expected,
    compare=compare_int,
    mistakes={
        "dilation spreads the kernel, not the steps: a dilated kernel spans dilation*(ks - 1) + 1 pixels, and the "
        "stride is unchanged.": _dilated_model(lambda k, d: k, stride_factor=lambda s, d: s * d),
        "a dilated kernel spans dilation*(ks - 1) + 1 pixels, not dilation*ks: there are ks - 1 gaps between ks taps.":
            _dilated_model(lambda k, d: d * k),
        "the dilated kernel is larger than ks: replace ks by dilation*(ks - 1) + 1 in chapter 3's formula.":
            _dilated_model(lambda k, d: k),
        "the number of positions is a whole number: use // (floor division), not /.":
            _dilated_model(lambda k, d: d * (k - 1) + 1, divide=lambda a, s: a / s),
        _FLOAT_SIZE: _as_float(_dilated_expected),
        "padding adds `pad` zeros on each side: the padded axis has n + 2*pad pixels.":
            _dilated_model(lambda k, d: d * (k - 1) + 1, pad_factor=1),
        "count the first position too: chapter 3's formula ends with + 1.":
            lambda case: _dilated_model(lambda k, d: d * (k - 1) + 1)(case) - 1,
        "a position where the kernel does not fit is dropped: round down (//), not up.":
            _dilated_model(lambda k, d: d * (k - 1) + 1, divide=lambda a, s: -(-a // s)),
        "a dilated kernel spans dilation*(ks - 1) + 1 pixels: the + 1 is its first tap.":
            _dilated_model(lambda k, d: d * (k - 1)),
    },
    error_hints={"unexpected keyword": "the function takes n, ks, pad=0, stride=1, dilation=1 (these names)."},
    seed=801,
)


# -- transposed_size ----------------------------------------------------------------------------


def measured_transposed_size(n: int, ks: int, stride: int, pad: int, output_padding: int, dilation: int) -> int:
    """The height of what a real ``nn.ConvTranspose2d`` returns for ``n`` input rows."""
    layer = _meta(nn.ConvTranspose2d, 1, 1, ks, stride=stride, padding=pad, output_padding=output_padding,
                  dilation=dilation, bias=False)
    with torch.no_grad():
        return int(layer(torch.zeros(1, 1, n, n)).shape[-2])


def _valid_transposed(n, ks, stride, pad, output_padding, dilation) -> bool:
    return (output_padding < max(stride, dilation)
            and (n - 1) * stride - 2 * pad + dilation * (ks - 1) + output_padding + 1 >= 1)


_TRANSPOSED_VISIBLE = [(7, 4, 2, 1, 0, 1), (7, 3, 2, 1, 1, 1), (5, 3, 1, 0, 0, 1), (14, 3, 2, 1, 1, 2),
                       (6, 5, 3, 2, 2, 1)]
_TRANSPOSED_HIDDEN = [(1, 3, 1, 0, 0, 1), (4, 2, 2, 0, 0, 1), (9, 3, 3, 1, 2, 1), (16, 4, 2, 1, 0, 3),
                      (3, 1, 4, 0, 3, 1), (12, 5, 2, 2, 1, 2), (10, 7, 1, 3, 0, 1), (8, 3, 2, 0, 1, 1)]


def _transposed_cases(g: torch.Generator, hidden: bool) -> list[Case]:
    fixed = _TRANSPOSED_HIDDEN + _TRANSPOSED_VISIBLE if hidden else _TRANSPOSED_VISIBLE
    drawn = []
    while len(drawn) < (30 if hidden else 4):
        args = (randint(g, 1, 20), randint(g, 1, 5), randint(g, 1, 4), randint(g, 0, 3), randint(g, 0, 3),
                randint(g, 1, 3))
        if _valid_transposed(*args):
            drawn.append(args)
    return [Case(args, "n={}, ks={}, stride={}, pad={}, output_padding={}, dilation={}".format(*args))
            for args in fixed + drawn]


def _transposed_expected(case: Case) -> int:
    return measured_transposed_size(*case.args)


def _transposed_model(formula):
    def model(case: Case):
        return formula(*case.args)
    return model


TRANSPOSED_SIZE = Exercise(
    key="transposed_size",
    chapter=CHAPTER,
    answer="transposed_size",
    run=_whole_number,
    title="transposed_size(n, ks, stride, pad, output_padding, dilation)",
    points=2,
    cases=_transposed_cases,
    reference=_transposed_expected,
    compare=compare_int,
    mistakes={
        "add output_padding: it puts extra rows at the bottom (and columns on the right) that a stride > 1 "
        "leaves ambiguous.": _transposed_model(lambda n, k, s, p, op, d: (n - 1) * s - 2 * p + d * (k - 1) + 1),
        "padding is removed from both sides of the output, so it counts twice: - 2*pad.":
            _transposed_model(lambda n, k, s, p, op, d: (n - 1) * s - p + d * (k - 1) + op + 1),
        "the kernel is stamped at n positions, stride apart: the last stamp starts at (n - 1)*stride, not n*stride.":
            _transposed_model(lambda n, k, s, p, op, d: n * s - 2 * p + d * (k - 1) + op + 1),
        "a dilated kernel spans dilation*(ks - 1) + 1 pixels: the stamp is that wide.":
            _transposed_model(lambda n, k, s, p, op, d: (n - 1) * s - 2 * p + (k - 1) + op + 1),
        "that is the size of a convolution; a transposed convolution goes the other way: the output reaches "
        "to the end of the last stamp.":
            _transposed_model(lambda n, k, s, p, op, d: (n + 2 * p - d * (k - 1) - 1) // s + 1),
        "the stamps start at 0, stride, ..., (n - 1)*stride: the last one starts at (n - 1)*stride and then spans "
        "the whole dilated kernel.":
            _transposed_model(lambda n, k, s, p, op, d: n * s - 2 * p + d * (k - 1) + op),
        "a transposed convolution does not just multiply the size by the stride: the last stamp starts at "
        "(n - 1)*stride and spans the dilated kernel, padding crops, output_padding adds.":
            _transposed_model(lambda n, k, s, p, op, d: n * s),
        _FLOAT_SIZE: _as_float(_transposed_expected),
        "in a transposed convolution padding crops the output: subtract it (from both sides), do not add it.":
            _transposed_model(lambda n, k, s, p, op, d: (n - 1) * s + 2 * p + d * (k - 1) + op + 1),
        "output_padding adds rows at one end only (the bottom), not at both.":
            _transposed_model(lambda n, k, s, p, op, d: (n - 1) * s - 2 * p + d * (k - 1) + 2 * op + 1),
    },
    error_hints={"unexpected keyword": "the function takes n, ks, stride=1, pad=0, output_padding=0, dilation=1."},
    seed=802,
)


# -- conv_transpose: the scatter-add -------------------------------------------------------------

#: (in, out, h, w, kh, kw, stride, pad): visible includes a strided, padded case where nothing is square.
_CT_VISIBLE = [(1, 1, 3, 3, 3, 3, 1, 0), (2, 3, 4, 5, 3, 2, 2, 1)]
_CT_HIDDEN = [(1, 1, 3, 3, 3, 3, 1, 0),
              (2, 3, 4, 5, 3, 2, 2, 1),    # strided, padded, nothing square
              (3, 2, 5, 3, 2, 4, 2, 0),    # non-square kernel, stride 2
              (2, 2, 6, 4, 4, 4, 2, 1),    # in == out: a swapped weight layout still has the right shape
              (1, 4, 3, 7, 3, 2, 3, 1),    # stride larger than the kernel: gaps
              (4, 1, 2, 2, 5, 5, 1, 2),    # padding crops most of the output
              (3, 3, 7, 5, 3, 3, 1, 1)]    # stride 1: the gradient of a 'same' convolution


def _ct_cases(g: torch.Generator, hidden: bool) -> list[Case]:
    cases = []
    for c_in, c_out, h, w, kh, kw, stride, pad in (_CT_HIDDEN if hidden else _CT_VISIBLE):
        x = torch.randn(c_in, h, w, generator=g)
        weight = torch.randn(c_in, c_out, kh, kw, generator=g)
        cases.append(Case((x, weight, stride, pad),
                          f"x of shape {(c_in, h, w)}, weight {(c_in, c_out, kh, kw)}, stride={stride}, pad={pad}"))
    return cases


def _ct_reference(x, weight, stride, pad) -> torch.Tensor:
    return F.conv_transpose2d(x[None].double(), weight.double(), stride=stride, padding=pad)[0].float()


def _ct_expected(case: Case) -> torch.Tensor:
    return _ct_reference(*case.args)


def _ct_uncropped(case: Case) -> torch.Tensor:
    x, weight, stride, _ = case.args
    return _ct_reference(x, weight, stride, 0)


def _ct_cropped_once(case: Case) -> torch.Tensor:
    x, weight, stride, pad = case.args
    full = _ct_reference(x, weight, stride, 0)
    return full[:, pad:, pad:]


def _ct_flipped(case: Case) -> torch.Tensor:
    x, weight, stride, pad = case.args
    return _ct_reference(x, weight.flip(-1, -2), stride, pad)


def _ct_swapped(case: Case) -> torch.Tensor:
    x, weight, stride, pad = case.args
    if weight.shape[0] != weight.shape[1]:
        raise ValueError("only a square channel layout can be swapped")
    return _ct_reference(x, weight.transpose(0, 1), stride, pad)


def _ct_loop(case: Case, *, stride_used: bool = True, add: bool = True) -> torch.Tensor:
    """The scatter-add by loops in float64, with the stamps not moved by the stride or written with ``=``."""
    x, weight, stride, pad = case.args
    x, weight = x.double(), weight.double()
    (c_in, h, w), (kh, kw) = x.shape, weight.shape[-2:]
    out = torch.zeros(weight.shape[1], (h - 1) * stride + kh, (w - 1) * stride + kw, dtype=torch.float64)
    step = stride if stride_used else 1
    for i in range(h):
        for j in range(w):
            stamp = (x[:, i, j, None, None, None] * weight).sum(0)
            block = (slice(None), slice(i * step, i * step + kh), slice(j * step, j * step + kw))
            if add:
                out[block] += stamp
            else:
                out[block] = stamp
    return out[:, pad:out.shape[1] - pad, pad:out.shape[2] - pad].float()


def _ct_empty_crop(case: Case) -> torch.Tensor:
    """``out[:, pad:-pad, pad:-pad]``: with pad = 0 the slice 0:-0 is empty."""
    right = _ct_expected(case)
    return right[:, 0:0, 0:0] if case.args[3] == 0 else right


def _ct_padded(case: Case) -> torch.Tensor:
    x, weight, stride, pad = case.args
    return F.pad(_ct_reference(x, weight, stride, 0), (pad,) * 4)


_CT_LAYOUT_HINT = ("a transposed convolution's weight is [in, out, kh, kw] (nn.ConvTranspose2d's layout, the "
                   "reverse of nn.Conv2d's): input channel c stamps weight[c], one kernel per output channel.")

_CT_SIZE_HINT = ("a stamp did not fit: the full output is (h - 1)*stride + kh rows by (w - 1)*stride + kw columns, "
                 "before `pad` is cropped from each side.")

_CT_SHAPE_HINT = ("two shapes did not line up. Check both: the weight is [in, out, kh, kw] (input channel c stamps "
                  "weight[c]), and the full output is (h - 1)*stride + kh rows by (w - 1)*stride + kw columns.")

CONV_TRANSPOSE = Exercise(
    key="conv_transpose",
    chapter=CHAPTER,
    answer="conv_transpose",
    title="conv_transpose(x, weight, stride, pad) by scatter-add",
    points=3,
    cases=_ct_cases,
    reference=_ct_expected,
    run=without_autograd("conv_transpose"),
    compare=compare_tensor,
    mistakes={
        "padding is cropped from the full stamped output: remove `pad` rows and columns on every side.": _ct_uncropped,
        "crop `pad` from both ends of each axis, not only from the top and the left.": _ct_cropped_once,
        "do not flip the kernel: each input pixel stamps weight[c] as it is, scaled by the pixel's value.":
            _ct_flipped,
        _CT_LAYOUT_HINT: _ct_swapped,
        "stamp (i, j) starts at row i*stride and column j*stride of the output: multiply by the stride.":
            lambda case: _ct_loop(case, stride_used=False),
        "stamps overlap when the stride is smaller than the kernel: add (+=) each stamp, do not overwrite what is "
        "there.": lambda case: _ct_loop(case, add=False),
        "with pad = 0, out[:, pad:-pad] is empty (-0 is 0): crop with pad:out.shape[1] - pad.": _ct_empty_crop,
        "in a transposed convolution `pad` crops the output, it does not add zeros around it: remove `pad` rows "
        "and columns on every side.": _ct_padded,
    },
    error_hints={BY_HAND_REFUSAL: "write the scatter-add yourself: two loops over the input pixels, each "
                                             "adding its stamp; PyTorch's transposed convolutions and autograd are "
                                             "switched off here.",
                 "at non-singleton dimension 0": _CT_LAYOUT_HINT,
                 "doesn't match the broadcast shape": "the stamp added to out[:, rows, cols] is [out, kh, kw]: sum "
                                                      "(x[:, i, j, None, None, None] * weight) over the input "
                                                      "channels (dim=0).",
                 "must match the size": _CT_SHAPE_HINT,
                 "out of bounds": _CT_SIZE_HINT},
    forbid=BY_HAND_OPS,
    seed=803,
)


# -- grouped_params ------------------------------------------------------------------------------


def measured_params(c_in: int, c_out: int, ks: int, groups: int, bias: bool) -> int:
    layer = _meta(nn.Conv2d, c_in, c_out, ks, groups=groups, bias=bias)
    return sum(p.numel() for p in layer.parameters())


_GROUPED_VISIBLE = [(8, 16, 3, 1, True), (8, 16, 3, 4, True), (32, 32, 3, 32, False), (12, 6, 5, 3, True)]
_GROUPED_HIDDEN = [(3, 6, 3, 3, True), (64, 128, 1, 8, True), (16, 16, 7, 16, True), (6, 9, 2, 3, False),
                   (1, 5, 3, 1, True), (48, 24, 3, 2, False), (10, 20, 4, 10, True)]


def _grouped_cases(g: torch.Generator, hidden: bool) -> list[Case]:
    fixed = _GROUPED_HIDDEN + _GROUPED_VISIBLE if hidden else _GROUPED_VISIBLE
    drawn = []
    while len(drawn) < (20 if hidden else 3):
        groups = randint(g, 2, 6)
        c_in, c_out = groups * randint(g, 1, 8), groups * randint(g, 1, 8)
        drawn.append((c_in, c_out, randint(g, 1, 5), groups, bool(randint(g, 0, 1))))
    return [Case(args, "c_in={}, c_out={}, ks={}, groups={}, bias={}".format(*args)) for args in fixed + drawn]


def _grouped_expected(case: Case) -> int:
    return measured_params(*case.args)


def _grouped_model(weights, biases):
    def model(case: Case):
        c_in, c_out, ks, groups, bias = case.args
        return weights(c_in, c_out, ks, groups) + (biases(c_out, groups) if bias else 0)
    return model


GROUPED_PARAMS = Exercise(
    key="grouped_params",
    chapter=CHAPTER,
    answer="grouped_params",
    run=_whole_number,
    title="grouped_params(c_in, c_out, ks, groups, bias)",
    points=2,
    cases=_grouped_cases,
    reference=_grouped_expected,
    compare=compare_int,
    mistakes={
        "each output channel sees only c_in // groups input channels: the weight is [c_out, c_in // groups, ks, ks].":
            _grouped_model(lambda i, o, k, g: o * i * k * k, lambda o, g: o),
        "divide once: the weight is [c_out, c_in // groups, ks, ks] (c_out is the total over all groups).":
            _grouped_model(lambda i, o, k, g: (o // g) * (i // g) * k * k, lambda o, g: o),
        "there is one bias per output channel (c_out of them), however many groups there are.":
            _grouped_model(lambda i, o, k, g: o * (i // g) * k * k, lambda o, g: o // g),
        "with bias=True each output channel adds one bias; with bias=False none.":
            lambda case: _grouped_model(lambda i, o, k, g: o * (i // g) * k * k, lambda o, g: o)(
                Case(case.args[:4] + (not case.args[4],))),
        "a count of parameters is a whole number (an int), but a float crept into the arithmetic: use // to "
        "divide the channels into groups, and no float() or /.": _as_float(_grouped_expected),
        "a kernel of size ks is ks x ks: it has ks*ks weights per input channel it sees.":
            _grouped_model(lambda i, o, k, g: o * (i // g) * k, lambda o, g: o),
    },
    error_hints={"unexpected keyword": "the function takes c_in, c_out, ks, groups=1, bias=True."},
    seed=804,
)


# -- im2col by hand ------------------------------------------------------------------------------

#: (channels, h, w, ks, stride, pad)
_IM2COL_VISIBLE = [(1, 4, 4, 3, 1, 0),
                   (2, 5, 7, 3, 2, 1),
                   (2, 6, 5, 3, 2, 1)]   # (6 + 2 - 3) / 2 = 2.5: the floor drops a last row of windows
_IM2COL_HIDDEN = [*_IM2COL_VISIBLE,
                  (3, 6, 4, 2, 1, 0),    # even kernel, non-square
                  (2, 9, 6, 3, 3, 1),    # stride 3: the floor drops a row
                  (4, 3, 3, 1, 1, 0),    # 1x1: one column per pixel, one row per channel
                  (1, 8, 5, 5, 2, 2),    # padding wider than the stride
                  (3, 7, 7, 3, 2, 0)]


def _im2col_cases(g: torch.Generator, hidden: bool) -> list[Case]:
    cases = []
    for c, h, w, ks, stride, pad in (_IM2COL_HIDDEN if hidden else _IM2COL_VISIBLE):
        x = torch.randn(c, h, w, generator=g)
        cases.append(Case((x, ks, stride, pad), f"x of shape {(c, h, w)}, ks={ks}, stride={stride}, pad={pad}"))
    return cases


def _im2col_reference(x, ks, stride, pad) -> torch.Tensor:
    return F.unfold(x[None].double(), ks, padding=pad, stride=stride)[0].float()


def _im2col_expected(case: Case) -> torch.Tensor:
    return _im2col_reference(*case.args)


def _im2col_transposed(case: Case) -> torch.Tensor:
    return _im2col_expected(case).T


def _im2col_channels_last(case: Case) -> torch.Tensor:
    x, ks, stride, pad = case.args
    cols = _im2col_expected(case)
    c = x.shape[0]
    return cols.reshape(c, ks * ks, -1).transpose(0, 1).reshape(c * ks * ks, -1)


def _im2col_column_major(case: Case) -> torch.Tensor:
    x, ks, stride, pad = case.args
    cols = _im2col_expected(case)
    h_out = (x.shape[1] + 2 * pad - ks) // stride + 1
    w_out = (x.shape[2] + 2 * pad - ks) // stride + 1
    return cols.reshape(-1, h_out, w_out).transpose(1, 2).reshape(cols.shape[0], -1)


def _im2col_unpadded(case: Case) -> torch.Tensor:
    x, ks, stride, _ = case.args
    return _im2col_reference(x, ks, stride, 0)


def _im2col_windows(case: Case) -> torch.Tensor:
    """The reference columns as a grid of windows, [c*ks*ks, h_out, w_out]."""
    x, ks, stride, pad = case.args
    h_out = (x.shape[1] + 2 * pad - ks) // stride + 1
    return _im2col_expected(case).reshape(x.shape[0] * ks * ks, h_out, -1)


def _im2col_first_windows(case: Case, h_out: int, w_out: int, stride: int) -> torch.Tensor:
    """The first h_out x w_out windows of the padded input, moved by ``stride``."""
    x, ks, _, pad = case.args
    grid = F.unfold(x[None].double(), ks, padding=pad, stride=stride)[0]
    full_w = (x.shape[2] + 2 * pad - ks) // stride + 1
    grid = grid.reshape(grid.shape[0], -1, full_w)
    if h_out > grid.shape[1] or w_out > grid.shape[2] or h_out < 1 or w_out < 1:
        raise ValueError("more windows than fit")
    return grid[:, :h_out, :w_out].reshape(grid.shape[0], -1).float()


def _im2col_no_stride(case: Case) -> torch.Tensor:
    x, ks, stride, pad = case.args
    h_out, w_out = (x.shape[1] + 2 * pad - ks) // stride + 1, (x.shape[2] + 2 * pad - ks) // stride + 1
    return _im2col_first_windows(case, h_out, w_out, 1)


def _im2col_count(rows_of) -> object:
    def model(case: Case) -> torch.Tensor:
        x, ks, stride, pad = case.args
        return _im2col_first_windows(case, rows_of(x.shape[1], ks, stride, pad),
                                     rows_of(x.shape[2], ks, stride, pad), stride)
    return model


def _im2col_kernel_columns_first(case: Case) -> torch.Tensor:
    x, ks, _, _ = case.args
    cols = _im2col_expected(case)
    return cols.reshape(x.shape[0], ks, ks, -1).transpose(1, 2).reshape(cols.shape)


_IM2COL_FIT = ("a window came out smaller than c*ks*ks values: it reached past the edge. Pad the input first, and "
               "count only the windows that fit inside it, with floor division: (h + 2*pad - ks) // stride + 1.")

_IM2COL_ORDER = ("order the rows as F.unfold does: channel first, then kernel row, then kernel column "
                 "(window.reshape(-1) of a [c, ks, ks] window gives exactly that).")

IM2COL = Exercise(
    key="im2col",
    chapter=CHAPTER,
    answer="im2col",
    title="im2col(x, ks, stride, pad) by hand",
    points=3,
    cases=_im2col_cases,
    reference=_im2col_expected,
    run=without_autograd("im2col"),
    compare=compare_tensor,
    mistakes={
        "one column per window: the result is [c*ks*ks, number of windows], not [windows, c*ks*ks].":
            _im2col_transposed,
        _IM2COL_ORDER: _im2col_channels_last,
        "windows go left to right along a row, then row after row (the order of the output pixels), "
        "not column after column.": _im2col_column_major,
        "pad the input with `pad` zeros on every side before cutting windows.": _im2col_unpadded,
        "window (i, j) starts at row i*stride and column j*stride of the padded input: multiply by the stride.":
            _im2col_no_stride,
        "count the windows as chapter 3 does: (h + 2*pad - ks) // stride + 1 along the rows; the + 1 counts the "
        "first window.": _im2col_count(lambda n, k, s, p: (n + 2 * p - k) // s),
        "the padded input has h + 2*pad rows (pad on each side): count the windows in that.":
            _im2col_count(lambda n, k, s, p: (n + p - k) // s + 1),
        "read each window row by row (kernel row first, then kernel column), as window.reshape(-1) does; not "
        "column by column.": _im2col_kernel_columns_first,
        "return one 2-D matrix, [c*ks*ks, number of windows]: flatten each window's channels and pixels into "
        "one column.": lambda case: _im2col_windows(case).reshape(case.args[0].shape[0], case.args[1] ** 2, -1),
    },
    error_hints={BY_HAND_REFUSAL: "copy each window with slicing and loops: F.unfold, Tensor.unfold and "
                                             "strided views are switched off here.",
                 "stack expects each tensor to be equal size": _IM2COL_FIT,
                 "must match the existing size": _IM2COL_FIT},
    forbid=BY_HAND_OPS,
    seed=805,
)


# -- conv_backward -------------------------------------------------------------------------------

#: (batch, in, out, h, w, kh, kw, stride, pad); visible includes a strided, padded batch, nothing square.
_CB_VISIBLE = [(1, 1, 1, 5, 5, 3, 3, 1, 0),
               (2, 2, 3, 6, 7, 3, 2, 2, 1),   # a batch, strided, padded, nothing square
               (2, 2, 2, 8, 7, 3, 2, 3, 0)]   # stride 3: the last rows and columns of x are never read
_CB_HIDDEN = [*_CB_VISIBLE,
              (3, 3, 2, 7, 5, 2, 4, 1, 1),   # non-square kernel
              (2, 1, 4, 8, 8, 3, 3, 3, 0),   # stride 3: the last rows and columns are never read
              (4, 2, 2, 5, 6, 1, 1, 2, 0),   # 1x1 kernel, stride 2
              (1, 3, 3, 6, 4, 5, 5, 1, 2),   # 'same' 5x5
              (3, 2, 5, 9, 7, 3, 3, 2, 2)]   # padding wider than 1


def _cb_cases(g: torch.Generator, hidden: bool) -> list[Case]:
    cases = []
    for n, c_in, c_out, h, w, kh, kw, stride, pad in (_CB_HIDDEN if hidden else _CB_VISIBLE):
        x = torch.randn(n, c_in, h, w, generator=g)
        weight = torch.randn(c_out, c_in, kh, kw, generator=g)
        h_out, w_out = (h + 2 * pad - kh) // stride + 1, (w + 2 * pad - kw) // stride + 1
        dout = torch.randn(n, c_out, h_out, w_out, generator=g)
        cases.append(Case((dout, x, weight, stride, pad),
                          f"x of shape {(n, c_in, h, w)}, weight {(c_out, c_in, kh, kw)}, stride={stride}, "
                          f"pad={pad}"))
    return cases


def conv_gradients(dout, x, weight, stride, pad):
    """``(dx, dw, db)`` of ``(F.conv2d(x, weight, bias, stride, pad) * dout).sum()``, by autograd in float64."""
    xd = x.double().requires_grad_()
    wd = weight.double().requires_grad_()
    bd = torch.zeros(weight.shape[0], dtype=torch.float64, requires_grad=True)
    out = F.conv2d(xd, wd, bd, stride=stride, padding=pad)
    dx, dw, db = torch.autograd.grad(out, (xd, wd, bd), dout.double())
    return dx.float(), dw.float(), db.float()


def _cb_expected(case: Case):
    return conv_gradients(*case.args)


def _compare_grads(names: tuple[str, ...]):
    def compare(got, expected, case: Case) -> str | None:
        if type(got) is not tuple or len(got) != len(expected):
            return (f"expected a tuple of {len(expected)} tensors ({', '.join(names)}), got "
                    f"{type(got).__name__ if type(got) is not torch.Tensor else 'one tensor'}"
                    + (f" of length {len(got)}" if type(got) in (tuple, list) else ""))
        for name, g, e in zip(names, got, expected):
            problem = compare_tensor(g, e, case)
            if problem:
                return f"{name}: {problem}"
        return None
    return compare


def _cb_wrong(which: int, fn):
    def model(case: Case):
        right = list(_cb_expected(case))
        right[which] = fn(case, right)
        return tuple(right)
    return model


def _cb_loop(case: Case, *, stride_used: bool = True, flip: bool = False, dw_add: bool = True,
             dx_add: bool = True, dx_per_image: bool = True, stamp_extent: bool = False):
    """``(dx, dw, db)`` by the chapter's loops in float64, with one of the usual slips switched on: windows
    not moved by the stride, the kernel flipped in ``dx``, ``=`` for ``+=``, one ``dx`` for the whole batch,
    or the padded ``dx`` sized by where the stamps reach instead of by the padded input."""
    dout, x, weight, stride, pad = (a.double() if type(a) is torch.Tensor else a for a in case.args)
    n, c, h, w = x.shape
    kh, kw = weight.shape[-2:]
    step = stride if stride_used else 1
    padded = F.pad(x, (pad,) * 4)
    if stamp_extent:
        dpadded = torch.zeros(n, c, (dout.shape[2] - 1) * stride + kh, (dout.shape[3] - 1) * stride + kw,
                              dtype=torch.float64)
    else:
        dpadded = torch.zeros_like(padded)
    dw = torch.zeros_like(weight)
    stamped = weight.flip(-2, -1) if flip else weight
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            rows, cols = slice(i * step, i * step + kh), slice(j * step, j * step + kw)
            g = dout[:, :, i, j]
            part = torch.einsum("nf,nckl->fckl", g, padded[:, :, rows, cols])
            dw = dw + part if dw_add else part
            back = torch.einsum("nf,fckl->nckl", g, stamped)
            if not dx_per_image:
                back = back.sum(0, keepdim=True).expand_as(back)
            if dx_add:
                dpadded[:, :, rows, cols] += back
            else:
                dpadded[:, :, rows, cols] = back
    dx = dpadded[:, :, pad:pad + h, pad:pad + w]
    return dx.float(), dw.float(), dout.sum(dim=(0, 2, 3)).float()


def _cb_slip(**slip):
    def model(case: Case):
        return _cb_loop(case, **slip)
    return model


def _cb_empty_crop(case: Case):
    """``dpadded[:, :, pad:-pad, pad:-pad]``: with pad = 0 the slice 0:-0 is empty."""
    dx, dw, db = _cb_expected(case)
    return (dx[:, :, 0:0, 0:0] if case.args[4] == 0 else dx), dw, db


_DB_HINT = ("the bias is added at every position of every image, so its gradient sums dout over the batch "
            "and both spatial axes: dout.sum(dim=(0, 2, 3)).")

CONV_BACKWARD = Exercise(
    key="conv_backward",
    chapter=CHAPTER,
    answer="conv_backward",
    title="conv_backward(dout, x, weight, stride, pad) -> (dx, dw, db)",
    points=4,
    cases=_cb_cases,
    reference=_cb_expected,
    run=without_autograd("conv_backward"),
    compare=_compare_grads(("dx", "dw", "db")),
    mistakes={
        _DB_HINT: _cb_wrong(2, lambda case, r: case.args[0].sum(dim=(2, 3))),
        "db sums over the batch too, every image and not only the first: dout.sum(dim=(0, 2, 3)).":
            _cb_wrong(2, lambda case, r: case.args[0][0].sum((1, 2))),
        "crop the padding from dx: the gradient of the padded input has `pad` extra rows and columns on each side.":
            _cb_wrong(0, lambda case, r: conv_gradients(case.args[0], F.pad(case.args[1], (case.args[4],) * 4),
                                                       case.args[2], case.args[3], 0)[0]),
        "dw sums over every image of the batch, not only the first one.":
            _cb_wrong(1, lambda case, r: conv_gradients(case.args[0][:1], case.args[1][:1], case.args[2],
                                                       case.args[3], case.args[4])[1]),
        "window (i, j) starts at row i*stride and column j*stride of the padded input: multiply by the stride, "
        "in dw and in dx.": _cb_slip(stride_used=False),
        "dx stamps the weights as they are, w[f] onto the window of output (i, j), not flipped: the flip belongs to "
        "writing dx as a full convolution, not to the scatter-add.": _cb_slip(flip=True),
        "dw adds up the contributions of every output position: dw += ..., not dw = ... (that keeps only the "
        "last window).": _cb_slip(dw_add=False),
        "windows overlap when the stride is smaller than the kernel: add (+=) each stamp into dx, do not "
        "overwrite what the previous windows sent.": _cb_slip(dx_add=False),
        "each image's dx comes from its own dout: keep the batch axis (torch.einsum('nf,fckl->nckl', ...)), do not "
        "sum the stamps over the batch.": _cb_slip(dx_per_image=False),
        "dx has the shape of x: make the padded gradient as large as the padded input. A stride can leave the last "
        "rows and columns unread; their gradient is 0, but they are still there.": _cb_slip(stamp_extent=True),
        "with pad = 0, dpadded[:, :, pad:-pad] is empty (-0 is 0): crop with pad:pad + h and pad:pad + w.":
            _cb_empty_crop,
        "return three tensors as a tuple: return dx, dw, db (not a list).":
            lambda case: list(_cb_expected(case)),
        "return the three gradients in the order (dx, dw, db).":
            lambda case: (lambda dx, dw, db: (dw, dx, db))(*_cb_expected(case)),
        "db has one value per output channel: sum dout over the batch and both spatial axes, keep the channel "
        "axis (dout.sum(dim=(0, 2, 3))).": _cb_wrong(2, lambda case, r: case.args[0].sum()),
    },
    error_hints={"must match the size": "dout[:, :, i, j] is [batch, out]; a window of x is [batch, in, kh, kw] "
                                        "and weight is [out, in, kh, kw]: line the axes up (e.g. with torch.einsum), "
                                        "and cut the windows from the padded input so that each is kh x kw.",
                 "not enough values to unpack": "return three tensors: return dx, dw, db",
                 BY_HAND_REFUSAL: "write the gradients yourself, with loops over the output positions "
                                             "and einsum, as the plan above says: autograd and PyTorch's "
                                             "convolutions are switched off here."},
    forbid=BY_HAND_OPS,
    seed=806,
)


# -- maxpool_backward ----------------------------------------------------------------------------

#: (batch, channels, h, w, size, stride, ceil_mode, values): ``values`` says how x is drawn: "randn", "negative"
#: (randn - 2: whole windows below 0), "relu" (a rectified map with whole-number values, most windows tied, as
#: on a ReLU feature map) or "small" (whole numbers 0-2: ties between positive values).
_MB_VISIBLE = [(1, 1, 4, 6, 2, 2, False, "relu"),     # ties: all-zero windows and equal maxima
               (2, 3, 8, 6, 3, 2, True, "negative"),  # ceil_mode on both axes, overlap, negative windows
               (1, 2, 5, 7, 3, 2, False, "small")]    # overlapping windows with tied maxima
_MB_HIDDEN = [*_MB_VISIBLE,
              (1, 1, 4, 4, 2, 2, False, "randn"),
              (2, 3, 8, 5, 3, 2, True, "randn"),     # ceil_mode: a last row of windows two rows high
              (2, 2, 9, 6, 3, 2, False, "negative"),  # overlapping windows: a value can win twice
              (1, 3, 7, 7, 2, 2, True, "relu"),      # ceil_mode: a last window of one row and column, tied
              (3, 1, 8, 11, 3, 3, True, "small"),    # ceil_mode, non-square, ties
              (2, 2, 6, 5, 2, 3, False, "randn"),    # stride > size: some values are in no window
              (1, 2, 5, 8, 3, 1, False, "small"),    # stride 1: heavy overlap, ties
              (2, 4, 6, 6, 2, 2, False, "relu")]     # the chapter's case: 2x2 windows of a ReLU map


def _mb_values(g: torch.Generator, shape: tuple, how: str) -> torch.Tensor:
    if how == "negative":
        return torch.randn(shape, generator=g) - 2.0
    if how == "relu":
        return torch.randint(-4, 3, shape, generator=g).clamp(min=0).float()
    if how == "small":
        return torch.randint(0, 3, shape, generator=g).float()
    return torch.randn(shape, generator=g)


def _mb_cases(g: torch.Generator, hidden: bool) -> list[Case]:
    cases = []
    for n, c, h, w, size, stride, ceil, how in (_MB_HIDDEN if hidden else _MB_VISIBLE):
        x = _mb_values(g, (n, c, h, w), how)
        h_out = _pooled(h, size, stride, ceil)
        w_out = _pooled(w, size, stride, ceil)
        dout = torch.randn(n, c, h_out, w_out, generator=g)
        ties = ", with tied maxima" if how in ("relu", "small") else ""
        cases.append(Case((dout, x, size, stride, ceil),
                          f"x of shape {(n, c, h, w)}{ties}, size={size}, stride={stride}, ceil_mode={ceil}"))
    return cases


def _pooled(n: int, size: int, stride: int, ceil: bool) -> int:
    """Windows along an axis, as PyTorch counts them (no padding)."""
    if not ceil:
        return (n - size) // stride + 1
    out = math.ceil((n - size) / stride) + 1
    return out - 1 if (out - 1) * stride >= n else out


def maxpool_gradient(dout, x, size, stride, ceil_mode=False, reduce=F.max_pool2d):
    """The gradient of ``(pool(x) * dout).sum()`` with respect to ``x``, by autograd in float64.

    Where several values of a window tie for its maximum, PyTorch's max pooling sends the window's
    gradient to one of them, the first in reading order (row by row), as its ``return_indices`` say.
    """
    xd = x.double().requires_grad_()
    out = reduce(xd, size, stride, ceil_mode=ceil_mode)
    (dx,) = torch.autograd.grad(out, (xd,), dout.double())
    return dx.float()


def _mb_expected(case: Case) -> torch.Tensor:
    return maxpool_gradient(*case.args)


def _first(window: torch.Tensor) -> torch.Tensor:
    """1 at the first maximum (reading order) of each map's window, 0 elsewhere."""
    flat = window.flatten(-2)
    return F.one_hot(flat.argmax(-1), flat.shape[-1]).reshape(window.shape).double()


def _last(window: torch.Tensor) -> torch.Tensor:
    return _first(window.flip(-2, -1)).flip(-2, -1)


def _all_tied(window: torch.Tensor) -> torch.Tensor:
    return (window == window.amax(dim=(-2, -1), keepdim=True)).double()


def _from_zero(window: torch.Tensor) -> torch.Tensor:
    """A running maximum started at 0 with ``>``: a window whose values are all <= 0 has no winner."""
    return _first(window) * (window.amax(dim=(-2, -1), keepdim=True) > 0)


def _mb_route(case: Case, weights, *, combine: str = "add", floor: bool = False, zero_pad: bool = False,
              stride_used: bool = True) -> torch.Tensor:
    """A way of routing ``dout`` back, by loops over the windows, in float64: ``weights(window)`` is the share of
    the window's gradient each value gets; ``combine`` is "add" (+=), "block" (``dx[..., rows, cols] = ...``)
    or "assign" (``dx[..., r, c] = ...`` at each winner only)."""
    dout, x, size, stride, ceil = case.args
    xs = x.double()
    h, w = x.shape[-2:]
    h_out, w_out = dout.shape[-2:]
    if floor:
        if not ceil:
            raise ValueError("only ceil_mode cases")
        h_out, w_out = (h - size) // stride + 1, (w - size) // stride + 1
    if zero_pad:
        if not ceil:
            raise ValueError("only ceil_mode cases")
        xs = F.pad(xs, (0, (w_out - 1) * stride + size - w, 0, (h_out - 1) * stride + size - h))
    dx = torch.zeros(xs.shape, dtype=torch.float64)
    step = stride if stride_used else 1
    for i in range(h_out):
        for j in range(w_out):
            rows, cols = slice(i * step, i * step + size), slice(j * step, j * step + size)
            share = weights(xs[..., rows, cols])
            g = dout[..., i, j, None, None].double()
            if combine == "add":
                dx[..., rows, cols] += share * g
            elif combine == "block":
                dx[..., rows, cols] = share * g
            else:
                dx[..., rows, cols] = torch.where(share > 0, share * g, dx[..., rows, cols])
    return dx[..., :h, :w].float()


def _mb_model(weights, **how):
    return lambda case: _mb_route(case, weights, **how)


MAXPOOL_BACKWARD = Exercise(
    key="maxpool_backward",
    chapter=CHAPTER,
    answer="maxpool_backward",
    title="maxpool_backward(dout, x, size, stride, ceil_mode) -> dx",
    points=3,
    cases=_mb_cases,
    reference=_mb_expected,
    run=without_autograd("maxpool_backward"),
    compare=compare_tensor,
    mistakes={
        "only the maximum of a window decides its output, so only the maximum gets its gradient; the other "
        "values of the window get 0.": _mb_model(lambda win: torch.ones_like(win)),
        "that is average pooling's gradient (dout shared out over the window): max pooling sends all of "
        "dout[i, j] to the one position of the window's maximum.": 
            lambda case: _mb_route(case, lambda win: torch.ones_like(win) / case.args[2] ** 2),
        "where several values tie for a window's maximum, the output copied one of them: PyTorch sends the whole "
        "gradient to the first in reading order (row by row), not to every tied value.": _mb_model(_all_tied),
        "where several values tie for a window's maximum, PyTorch sends the gradient to the first of them in "
        "reading order (row by row), not the last: keep the first maximum you meet (argmax gives it).":
            _mb_model(_last),
        "the gradient of a tied window is not shared out: the output copied one value, and PyTorch sends the whole "
        "dout[i, j] to the first maximum in reading order.": _mb_model(lambda win: _all_tied(win) / _all_tied(win).sum(
            dim=(-2, -1), keepdim=True)),
        "a window whose values are all negative (or all 0) still has a maximum: start the running maximum from the "
        "window's first value (or -inf), not from 0.": _mb_model(_from_zero),
        "windows overlap when stride < size: `dx[..., rows, cols] = ...` wipes what the previous windows sent there; "
        "add (+=) each window's gradient instead.": _mb_model(_first, combine="block"),
        "windows overlap when stride < size, and a value can be the maximum of two windows: add (+=) the "
        "gradients, do not overwrite them.": _mb_model(_first, combine="assign"),
        "with ceil_mode=True the last window may hang over the edge; it is cut to what is inside the input, and "
        "its maximum gets its gradient too.": _mb_model(_first, floor=True),
        "a window that hangs over the edge (ceil_mode) takes the maximum of its inside part only: padding it with "
        "zeros lets a 0 that is not in x win a window of negative values.": _mb_model(_first, zero_pad=True),
        "window (i, j) starts at row i*stride and column j*stride: multiply by the stride.":
            _mb_model(_first, stride_used=False),
        "two things: `dx[..., rows, cols] = ...` wipes what overlapping windows sent before (add with +=), and a "
        "tied window sends its gradient to one value only, the first maximum in reading order.":
            _mb_model(_all_tied, combine="block"),
        "two things: a window of negative values still has a maximum (do not clamp it at 0), and a tied window "
        "sends its gradient to one value only, the first maximum in reading order.":
            _mb_model(lambda win: (win == win.amax(dim=(-2, -1), keepdim=True).clamp(min=0)).double()),
    },
    error_hints={BY_HAND_REFUSAL: "route each window's gradient yourself, with loops over the windows: "
                                             "autograd and PyTorch's pooling (its indices too) are switched off here.",
                 "out of bounds": "with ceil_mode=True the last window may hang over the edge: slice it, "
                                  "x[..., r:r + size, c:c + size] stops at the border by itself.",
                 "must match the size": "dout is [batch, channels, out_h, out_w], one value per window; "
                                        "use its shape for the loops."},
    forbid=BY_HAND_OPS,
    seed=807,
)


# -- review quiz ---------------------------------------------------------------------------------


def _compare_quiz(what: str, parts: tuple[str, ...] = ()):
    """A quiz's comparison: says what is wrong about the learner's value (its type, its length, which of its
    parts), never the value expected."""
    def compare(got: Any, expected: Any, case: Case) -> str | None:
        if isinstance(expected, tuple):
            if type(got) is not tuple or any(type(v) is not int for v in got):
                return f"expected a tuple of ints ({what}), got {type_name(got)}"
            if len(got) != len(expected):
                return f"got {len(got)} numbers: {what} has {len(expected)}"
            off = [name for name, g, e in zip(parts, got, expected) if g != e]
            return f"{got!r} is not {what}: its {' and '.join(off)} {'is' if len(off) == 1 else 'are'} wrong" \
                if off else None
        if type(got) is not type(expected):
            return f"expected an int ({what}), got {type_name(got)}"
        if got == expected:
            return None
        return f"got a negative number: {what} cannot be negative" if got < 0 else f"{got!r} is not {what}"
    return compare


def _quiz_1x1_expected(case: Case) -> int:
    return measured_params(64, 32, 1, 1, True)


QUIZ_1X1_PARAMS = Exercise(
    key="quiz_1x1_params",
    chapter=CHAPTER,
    answer="quiz_1x1_params",
    title="review question 1 (parameters of a 1x1 convolution)",
    points=1,
    kind="value",
    cases=quiz_case,
    reference=_quiz_1x1_expected,
    compare=_compare_quiz("the number of parameters of that layer"),
    mistakes={"count the biases too: one per output channel.": lambda case: 64 * 32,
              "a 1x1 convolution still mixes every input channel into every output channel: one weight for each "
              "pair of channels.": lambda case: 64 + 32,
              "the biases belong to the output channels (one each), not to the input channels.":
                  lambda case: 64 * 32 + 64,
              "there is one bias per output channel, not one for the whole layer.": lambda case: 64 * 32 + 1,
              "kernel_size=1 means 1x1 kernels: one weight per pair of channels, not 3x3 = 9.":
                  lambda case: 64 * 32 * 9 + 32,
              "a count of parameters is a whole number: write it as an int, not a float.":
                  lambda case: float(_quiz_1x1_expected(case))},
    seed=808,
)


#: The dilations of review question 2's stack of 3x3 convolutions.
QUIZ_DILATIONS = (1, 2, 4, 8)


def _quiz_field_expected(case: Case) -> int:
    """Measured: the input rows one output value of the stack sees (the stack's output of a 1-row-larger input)."""
    stack = nn.Sequential(*[_meta(nn.Conv2d, 1, 1, 3, dilation=d, bias=False) for d in QUIZ_DILATIONS])
    for n in range(1, 128):
        try:
            with torch.no_grad():
                if stack(torch.zeros(1, 1, n, n)).shape[-1] == 1:
                    return n
        except RuntimeError:
            continue
    raise AssertionError("no size found")


QUIZ_DILATED_FIELD = Exercise(
    key="quiz_dilated_field",
    chapter=CHAPTER,
    answer="quiz_dilated_field",
    title="review question 2 (receptive field of dilated convolutions)",
    points=1,
    kind="value",
    cases=quiz_case,
    reference=_quiz_field_expected,
    compare=_compare_quiz("the receptive field's width"),
    mistakes={"the field starts as the one pixel the output value sits on; each layer then widens it by "
              "dilation*(ks - 1). Did you leave out that first pixel?": lambda case: 30,
              "dilation widens each layer: a dilated 3x3 kernel spans more than 3 pixels, so the field grows by "
              "more than 2 per layer.": lambda case: 9,
              "neighbouring layers' spans overlap: start from 1 pixel and add each layer's growth, "
              "dilation*(ks - 1), rather than adding the spans.": lambda case: 3 + 5 + 9 + 17,
              "each layer widens the field by dilation*(ks - 1), not by the dilation alone.":
                  lambda case: 1 + 1 + 2 + 4 + 8,
              "every layer of the stack widens the field, not only the last one.": lambda case: 17,
              "that is the field of the chapter's stack of three layers (dilations 1, 2 and 4); this one has a "
              "fourth layer.": lambda case: 15,
              "receptive fields grow by adding each layer's reach, not by multiplying.": lambda case: 3 ** 4,
              "a width in pixels is a whole number: write it as an int, not a float.":
                  lambda case: float(_quiz_field_expected(case))},
    seed=809,
)


def _quiz_shape_expected(case: Case) -> tuple[int, ...]:
    layer = _meta(nn.ConvTranspose2d, 16, 8, 3, stride=2, padding=1, output_padding=1)
    with torch.no_grad():
        return tuple(int(s) for s in layer(torch.zeros(2, 16, 5, 6)).shape)


QUIZ_TRANSPOSED_SHAPE = Exercise(
    key="quiz_transposed_shape",
    chapter=CHAPTER,
    answer="quiz_transposed_shape",
    title="review question 3 (shape after a transposed convolution)",
    points=1,
    kind="value",
    cases=quiz_case,
    reference=_quiz_shape_expected,
    compare=_compare_quiz("the shape the layer returns", ("batch", "channels", "height", "width")),
    mistakes={"add output_padding: it puts one more row at the bottom and one more column at the right.":
              lambda case: (2, 8, 9, 11),
              "padding crops the stamped output on both sides, top and bottom (left and right): it counts twice.":
                  lambda case: (2, 8, 11, 13),
              "padding=1 crops the stamped output of a transposed convolution: do not forget it.":
                  lambda case: (2, 8, 12, 14),
              "that is the size of a stride-2 convolution; the transposed one makes the map larger.":
                  lambda case: (2, 8, 3, 3),
              "the batch size passes through a layer unchanged: (batch, channels, height, width).":
                  lambda case: (1,) + _quiz_shape_expected(case)[1:],
              "the second argument of nn.ConvTranspose2d is the number of output channels, which replace the "
              "input's.": lambda case: _quiz_shape_expected(case)[:1] + (16,) + _quiz_shape_expected(case)[2:],
              "height and width are computed separately, and the input is 5 rows by 6 columns.":
                  lambda case: _quiz_shape_expected(case)[:3] + _quiz_shape_expected(case)[2:3],
              "the shape starts with the batch: (batch, channels, height, width), four numbers.":
                  lambda case: _quiz_shape_expected(case)[1:],
              "a shape is a tuple of four ints, in round brackets, not a list.":
                  lambda case: list(_quiz_shape_expected(case))},
    seed=810,
)

EXERCISES = [DILATED_SIZE, TRANSPOSED_SIZE, CONV_TRANSPOSE, GROUPED_PARAMS, IM2COL, CONV_BACKWARD, MAXPOOL_BACKWARD,
             QUIZ_1X1_PARAMS, QUIZ_DILATED_FIELD, QUIZ_TRANSPOSED_SHAPE]
