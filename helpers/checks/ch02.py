"""Exercise checks for chapter 2, "Feature maps and channels".

The references are PyTorch's own convolution (``torch.nn.functional.conv2d``)
and the parameters of a real ``torch.nn.Conv2d``; the learner's code never
sees them, and the functions asked for "by hand" run with PyTorch's
convolutions switched off.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .core import (
    CONVOLUTION_OPS,
    Case,
    compare_equal,
    compare_int,
    compare_tensor,
    Exercise,
    quiz_case,
    randint,
    random_image,
)

CHAPTER = "02-feature-maps-and-channels"

_LAYOUT_HINT = ("the weight is laid out [out, in, kh, kw]: weight[o] is the 3-D kernel of output map o and "
                "weight[o, c] its slice for input channel c (there are weight.shape[0] output maps and "
                "x.shape[0] == weight.shape[1] input channels).")
_SHAPE_HINT = ("a window did not have the kernel's shape: take kh, kw from the kernel's last two axes and "
               "h, w from the input's last two (maps and kernels need not be square).")


def _inputs(g: torch.Generator, channels: int, h: int, w: int) -> torch.Tensor:
    return torch.stack([random_image(g, h, w) for _ in range(channels)])


# -- conv_multi_in: several input maps, one 3-D kernel ------------------------------

def _multi_in_cases(g: torch.Generator, hidden: bool) -> list[Case]:
    # (channels, h, w, kh, kw)
    if hidden:
        shapes = [(3, 9, 13, 3, 3), (1, 7, 7, 3, 3), (4, 12, 6, 2, 4), (2, 8, 11, 5, 1), (5, 6, 6, 3, 3)]
    else:
        shapes = [(2, 8, 8, 3, 3), (3, 6, 9, 3, 2)]  # maps and a kernel that are not square
    cases = []
    for c, h, w, kh, kw in shapes:
        x = _inputs(g, c, h, w)
        kernel = torch.randn(c, kh, kw, generator=g)
        cases.append(Case((x, kernel), f"{c} input maps of {h}x{w} and a {c}x{kh}x{kw} kernel"))
    return cases


def _multi_in_expected(case: Case) -> torch.Tensor:
    x, kernel = case.args
    return F.conv2d(x[None].double(), kernel[None].double())[0, 0].float()


def _per_channel(case: Case) -> torch.Tensor:
    """The per-channel maps, not summed: shape [in, h', w'] (F.conv2d with one group per channel)."""
    x, kernel = case.args
    return F.conv2d(x[None].double(), kernel[:, None].double(), groups=x.shape[0])[0].float()


def _multi_in_mean(case: Case) -> torch.Tensor:
    return _multi_in_expected(case) / case.args[0].shape[0]


def _multi_in_first(case: Case) -> torch.Tensor:
    return _per_channel(case)[0]


def _multi_in_last(case: Case) -> torch.Tensor:
    return _per_channel(case)[-1]


def _multi_in_flipped(case: Case) -> torch.Tensor:
    x, kernel = case.args
    return F.conv2d(x[None].double(), kernel.flip(-2, -1)[None].double())[0, 0].float()


def _last_zero(out: torch.Tensor) -> torch.Tensor:
    """The right shape, but loops that stop one position short: the last row and column stay 0."""
    out = out.clone()
    out[..., -1, :], out[..., :, -1] = 0, 0
    return out


_ONE_SHORT = ("the last row and column of the map stayed 0: the loops must visit h - kh + 1 positions down and "
              "w - kw + 1 across.")
_SIZE_SHORT = ("the map is one row and one column short: a kh x kw kernel fits h - kh + 1 times down h rows "
               "and w - kw + 1 times across w columns.")
_BY_HAND = ("this exercise is the sum over channels written by you (chapter 1's convolve, loops, slicing, * and "
            ".sum()); F.conv2d, nn.Conv2d, unfold and SciPy's or NumPy's sliding windows are switched off while "
            "the check runs.")
_NUMPY = "return a torch tensor (torch.from_numpy(...) turns a NumPy array into one), not a NumPy array."


CONV_MULTI_IN = Exercise(
    key="conv_multi_in",
    chapter=CHAPTER,
    answer="conv_multi_in",
    title="conv_multi_in(x, kernel)",
    points=2,
    cases=_multi_in_cases,
    reference=_multi_in_expected,
    compare=compare_tensor,
    mistakes={
        "you returned one map per channel: the per-channel results must be added together into ONE output "
        "map (sum over the channel axis).": _per_channel,
        "you averaged the per-channel results; a convolution adds them (no division by the number of "
        "channels).": _multi_in_mean,
        "only the first channel counted: loop over every input channel c, convolve x[c] with kernel[c] "
        "and add all the results.": _multi_in_first,
        "only the last channel counted: the result of each channel must be added to a running total, "
        "not replace it.": _multi_in_last,
        "you flipped the kernel, as the mathematicians' convolution does; PyTorch and this course multiply each "
        "weight with the pixel in the same position of the window (no flip).": _multi_in_flipped,
        "one map of shape [h', w'], without an axis of size 1 in front: the channels are summed away.":
            lambda case: _multi_in_expected(case)[None],
        _ONE_SHORT: lambda case: _last_zero(_multi_in_expected(case)),
        _SIZE_SHORT: lambda case: _multi_in_expected(case)[:-1, :-1],
    },
    error_hints={
        "must match the size": _SHAPE_HINT,
        "out of bounds": "an index ran past the input: with an h x w map and a kh x kw kernel there are "
                         "h - kh + 1 positions down and w - kw + 1 across, and x.shape[0] channels.",
        "numpy.ndarray": _NUMPY,
        "computed by hand": _BY_HAND,
    },
    forbid=CONVOLUTION_OPS,
    seed=201,
)


# -- conv_channels: several input maps, several kernels, a bias ---------------------

def _channels_cases(g: torch.Generator, hidden: bool) -> list[Case]:
    # (in, out, h, w, kh, kw)
    if hidden:
        shapes = [(3, 2, 9, 13, 3, 3), (1, 4, 8, 8, 3, 3), (4, 1, 7, 10, 2, 3), (2, 5, 12, 6, 3, 5),
                  (3, 3, 6, 9, 4, 1), (5, 2, 5, 5, 5, 5)]
    else:
        # in != out, then in == out with a kernel that is not square; maps that are not square, each as wide
        # as there are output maps, so that a bias added along the wrong axis gives values a hint can name
        shapes = [(2, 3, 8, 5, 3, 3), (2, 2, 7, 4, 2, 3)]
    cases = []
    for c_in, c_out, h, w, kh, kw in shapes:
        x = _inputs(g, c_in, h, w)
        weight = torch.randn(c_out, c_in, kh, kw, generator=g)
        bias = torch.randn(c_out, generator=g)
        cases.append(Case((x, weight, bias),
                          f"x of shape ({c_in}, {h}, {w}), weight ({c_out}, {c_in}, {kh}, {kw}), "
                          f"bias ({c_out},)"))
    return cases


def _channels(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    b = None if bias is None else bias.double()
    return F.conv2d(x[None].double(), weight.double(), b)[0].float()


def _channels_expected(case: Case) -> torch.Tensor:
    return _channels(*case.args)


def _channels_no_bias(case: Case) -> torch.Tensor:
    x, weight, _ = case.args
    return _channels(x, weight, None)


def _channels_swapped(case: Case) -> torch.Tensor:
    """Weight read as [in, out, kh, kw]: only computable when in == out."""
    x, weight, bias = case.args
    return _channels(x, weight.transpose(0, 1), bias)


def _channels_bias_per_input(case: Case) -> torch.Tensor:
    x, weight, bias = case.args
    return _channels(x, weight, None) + x.shape[0] * bias[:, None, None]


def _channels_one_output(case: Case) -> torch.Tensor:
    x, weight, bias = case.args
    return _channels(x, weight[:1], bias[:1])


def _channels_bias_last_axis(case: Case) -> torch.Tensor:
    """``maps + bias`` on a stack [out, h', w']: the bias runs along the columns (where w' == out)."""
    x, weight, bias = case.args
    maps = _channels(x, weight, None)
    if maps.shape[-1] != bias.shape[0]:
        raise ValueError("this mistake raises an error here")
    return maps + bias


def _channels_per_pair(case: Case) -> torch.Tensor:
    """One map per (output, input) pair, not summed over the inputs: [out, in, h', w'], bias[o] on each."""
    x, weight, bias = case.args
    n_out, n_in = weight.shape[:2]
    maps = torch.stack([torch.stack([F.conv2d(x[c][None, None].double(), weight[o, c][None, None].double())[0, 0]
                                     for c in range(n_in)]) for o in range(n_out)])
    return (maps + bias.double()[:, None, None, None]).float()


def _compare_channels(got, expected: torch.Tensor, case: Case) -> str | None:
    """As :func:`compare_tensor`, but a stack with one map per *input* channel is explained as such."""
    problem = compare_tensor(got, expected, case)
    _, weight, _ = case.args
    n_out, n_in = weight.shape[:2]
    if problem and type(got) is torch.Tensor and got.dim() == 3 and got.shape[0] == n_in != n_out:
        problem += (f": {n_in} maps is the number of input channels; there is one output map per kernel, "
                    f"{n_out} here, because {_LAYOUT_HINT}")
    return problem


CONV_CHANNELS = Exercise(
    key="conv_channels",
    chapter=CHAPTER,
    answer="conv_channels",
    title="conv_channels(x, weight, bias)",
    points=3,
    cases=_channels_cases,
    reference=_channels_expected,
    compare=_compare_channels,
    mistakes={
        "the bias is missing: add bias[o] to every value of output map o.": _channels_no_bias,
        "the bias was added once per input channel: add bias[o] once, after summing over the input "
        "channels.": _channels_bias_per_input,
        "you read the weight as [in, out, kh, kw]. " + _LAYOUT_HINT: _channels_swapped,
        "only one output map: there is one per kernel, weight.shape[0] of them, stacked into a tensor of "
        "shape [out, h', w'].": _channels_one_output,
        "the bias was added along the last axis (the columns): bias[o] belongs to output map o, so add bias[o] "
        "to map o, or bias[:, None, None] to the stack [out, h', w'].": _channels_bias_last_axis,
        "you flipped the kernels, as the mathematicians' convolution does; PyTorch and this course multiply each "
        "weight with the pixel in the same position of the window (no flip).":
            lambda case: _channels(case.args[0], case.args[1].flip(-2, -1), case.args[2]),
        "the output maps are stacked along the last axis: stack them along the first, [out, h', w'] "
        "(torch.stack(maps) or dim=0).": lambda case: _channels_expected(case).permute(1, 2, 0),
        "each output map must add up its input channels: the sum over c of x[c] convolved with weight[o, c] is "
        "ONE map, so the result is [out, h', w'], not one map per (output, input) pair.": _channels_per_pair,
        "you averaged over the input channels; a convolution adds them (no division by the number of input "
        "channels).": lambda case: _channels(case.args[0], case.args[1] / case.args[0].shape[0], case.args[2]),
        _ONE_SHORT: lambda case: _last_zero(_channels_expected(case)),
        "the bias is added, not subtracted: output map o is the sum over the input channels plus bias[o].":
            lambda case: _channels(case.args[0], case.args[1], -case.args[2]),
        "every output map got bias[0]: output map o gets its own bias, bias[o].":
            lambda case: _channels(case.args[0], case.args[1], case.args[2][:1].expand(case.args[2].shape[0])),
        "negative values were cut to 0: a convolutional layer's output is the sum plus the bias, with no "
        "ReLU (the activation is a separate layer, after it).": lambda case: _channels_expected(case).relu(),
    },
    error_hints={
        "out of bounds": _LAYOUT_HINT,
        "must match the size": "two tensors of different shapes met in one operation. If it was a window "
                               "times a kernel slice: " + _SHAPE_HINT + " If it was the weight: " + _LAYOUT_HINT +
                               " If it was the bias: bias[o] belongs to output map o (bias[:, None, None] "
                               "against a stack [out, h', w']).",
        "numpy.ndarray": _NUMPY,
        "computed by hand": _BY_HAND,
    },
    forbid=CONVOLUTION_OPS,
    seed=202,
)


# -- conv_param_count: what nn.Conv2d creates ----------------------------------------

def _params_cases(g: torch.Generator, hidden: bool) -> list[Case]:
    fixed = [(1, 4, 3), (3, 16, 5), (30, 1, 3), (8, 8, 1)] if hidden else [(2, 3, 3), (1, 30, 3)]
    extra = [(randint(g, 1, 64), randint(g, 1, 64), randint(g, 1, 7)) for _ in range(6 if hidden else 2)]
    return [Case((c_in, c_out, ks), f"in_channels={c_in}, out_channels={c_out}, ks={ks}")
            for c_in, c_out, ks in fixed + extra]


def _params_expected(case: Case) -> int:
    """Counted on a real layer (on the meta device: no memory, no random numbers drawn)."""
    c_in, c_out, ks = case.args
    layer = torch.nn.Conv2d(c_in, c_out, ks, device="meta")
    return sum(p.numel() for p in layer.parameters())


def _params_no_bias(case: Case) -> int:
    c_in, c_out, ks = case.args
    return c_out * c_in * ks * ks


PARAM_COUNT = Exercise(
    key="conv_param_count",
    chapter=CHAPTER,
    answer="conv_param_count",
    title="conv_param_count(in_channels, out_channels, ks)",
    points=1,
    cases=_params_cases,
    reference=_params_expected,
    compare=compare_int,
    mistakes={
        "the biases are missing: nn.Conv2d has one bias per output map (out_channels of them).": _params_no_bias,
        "there is one bias per output map, not per input channel.":
            lambda case: _params_no_bias(case) + case.args[0],
        "a kernel is ks x ks: count ks * ks weights per slice, not ks.":
            lambda case: case.args[1] * case.args[0] * case.args[2] + case.args[1],
        "each kernel has one ks x ks slice per input channel: multiply by in_channels too.":
            lambda case: case.args[1] * case.args[2] ** 2 + case.args[1],
        "there is one bias per output map, not one per kernel slice (per pair of input and output channels).":
            lambda case: _params_no_bias(case) + case.args[0] * case.args[1],
        "a count is a whole number: return an int (math.pow and ** with a float give floats; int(...) or "
        "ks * ks keep it whole).": lambda case: float(_params_expected(case)),
    },
    seed=203,
)


# -- review quiz ------------------------------------------------------------------------

def _quiz_weight_expected(case: Case) -> tuple[int, ...]:
    return tuple(int(s) for s in torch.nn.Conv2d(3, 16, kernel_size=5, device="meta").weight.shape)


QUIZ_WEIGHT_SHAPE = Exercise(
    key="quiz_weight_shape",
    chapter=CHAPTER,
    answer="quiz_weight_shape",
    title="review question 1 (weight shape)",
    points=1,
    kind="value",
    cases=quiz_case,
    reference=_quiz_weight_expected,
    compare=compare_equal,
    mistakes={
        "PyTorch puts the output channels first: [out, in, kh, kw].": lambda case: (3, 16, 5, 5),
        "the weight holds one 3-D kernel per output map, and each has one 5x5 slice per input "
        "channel: four axes.": lambda case: (16, 5, 5),
        "that is the order of other libraries (kernel size first, channels last); PyTorch stores "
        "[out, in, kh, kw].": lambda case: (5, 5, 3, 16),
        "a kernel slice has a height and a width: kernel_size=5 means 5x5, two axes.": lambda case: (16, 3, 5),
        "answer with a tuple, in round brackets, not a list.": lambda case: list(_quiz_weight_expected(case)),
        "sizes are whole numbers: write them as ints, not floats.":
            lambda case: tuple(float(v) for v in _quiz_weight_expected(case)),
        "the weight has no batch axis: a layer has one weight, whatever the batch.":
            lambda case: (1, *_quiz_weight_expected(case)),
    },
    seed=204,
)


def _quiz_output_expected(case: Case) -> tuple[int, ...]:
    """Measured on a real layer applied to an unbatched [3, 32, 20] input."""
    layer = torch.nn.Conv2d(3, 8, kernel_size=5, device="meta")  # meta: shapes only, no random draws
    return tuple(int(s) for s in layer(torch.zeros(3, 32, 20, device="meta")).shape)


QUIZ_OUTPUT_SHAPE = Exercise(
    key="quiz_layer_output_shape",
    chapter=CHAPTER,
    answer="quiz_layer_output_shape",
    title="review question 2 (output shape)",
    points=1,
    kind="value",
    cases=quiz_case,
    reference=_quiz_output_expected,
    compare=compare_equal,
    mistakes={
        "there is one output map per kernel (out_channels of them); the input channels are summed away.":
            lambda case: (3, 28, 16),
        "the per-channel results are summed, so the input channels leave no axis of their own.":
            lambda case: (8, 3, 28, 16),
        "a 5x5 kernel fits n - 5 + 1 times along a side of n pixels.": lambda case: (8, 27, 15),
        "an unbatched input [in, h, w] gives an unbatched output: no batch axis in front.":
            lambda case: (1, *_quiz_output_expected(case)),
        "rows come before columns: the input has 32 rows and 20 columns, and so does the order of the "
        "output's last two axes.": lambda case: (8, 16, 28),
        "without padding the maps shrink: the kernel fits only where it lies entirely inside the input.":
            lambda case: (8, 32, 20),
        "PyTorch puts the channels first: [channels, rows, columns].":
            lambda case: tuple(_quiz_output_expected(case)[1:]) + (_quiz_output_expected(case)[0],),
        "answer with a tuple, in round brackets, not a list.": lambda case: list(_quiz_output_expected(case)),
    },
    seed=205,
)

EXERCISES = [CONV_MULTI_IN, CONV_CHANNELS, PARAM_COUNT, QUIZ_WEIGHT_SHAPE, QUIZ_OUTPUT_SHAPE]
