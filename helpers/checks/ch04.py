"""Exercise checks for chapter 4, "``nn.Conv2d`` and a first CNN".

The references are measurements of real PyTorch modules: output shapes from
running ``nn.Conv2d`` layers on zero inputs (forward hooks), parameter counts
from ``p.numel()``, multiply-adds from :func:`helpers.models.layer_summary`.
The learner's model exercise reports only plain data (shapes, counts, a flag)
from the process where it runs.
"""

from __future__ import annotations

import torch
from torch import nn

from helpers.hooks import trace, watching_ops

from .core import (
    CONVOLUTION_OPS,
    Case,
    compare_int,
    Exercise,
    quiz_case,
    randint,
)

CHAPTER = "04-conv2d-and-a-first-cnn"


def _stride2_stack(channels: list[int], ks: int = 3) -> nn.Sequential:
    """A stack of stride-2 ``nn.Conv2d`` layers padded by ``ks//2``, as ``conv()`` builds them."""
    return nn.Sequential(*[nn.Conv2d(ni, nf, ks, stride=2, padding=ks // 2)
                           for ni, nf in zip(channels[:-1], channels[1:])])


def _conv_output_shapes(model: nn.Module, x: torch.Tensor) -> list[tuple[int, ...]]:
    """Run ``model`` on ``x`` and record the shape (without the batch axis) after every ``nn.Conv2d``."""
    return trace(model, x, [m for m in model.modules() if isinstance(m, nn.Conv2d)],
                 lambda m, inputs, out: tuple(int(s) for s in out.shape[1:]))


# -- stack_params: the parameters of a stack of convolutions ------------------------

def _params_cases(g: torch.Generator, hidden: bool) -> list[Case]:
    if not hidden:
        stacks = [([1, 4, 8, 16, 32, 2], 3), ([1, 30, 1], 3)]
    else:
        stacks = [([1, 4, 8, 16, 32, 2], 3), ([3, 16, 32, 64], 3), ([2, 5, 7], 5), ([6, 9, 4, 11], 1),
                  ([1, 1], 7)]
        stacks.append(([randint(g, 2, 9) for _ in range(randint(g, 3, 5))], 3))
    return [Case((channels, ks), f"channels={channels}, ks={ks}") for channels, ks in stacks]


def _params_expected(case: Case) -> int:
    channels, ks = case.args
    return sum(p.numel() for p in _stride2_stack(channels, ks).parameters())


def _params_no_bias(case: Case) -> int:
    channels, ks = case.args
    return sum(nf * ni * ks * ks for ni, nf in zip(channels[:-1], channels[1:]))


def _params_no_inputs(case: Case) -> int:
    channels, ks = case.args
    return sum(nf * ks * ks + nf for nf in channels[1:])


def _params_ks_once(case: Case) -> int:
    channels, ks = case.args
    return sum(nf * ni * ks + nf for ni, nf in zip(channels[:-1], channels[1:]))


def _params_run(answer, case: Case):
    channels, ks = case.args
    return answer(list(channels), ks)


STACK_PARAMS = Exercise(
    key="stack_params",
    chapter=CHAPTER,
    answer="stack_params",
    title="stack_params(channels, ks)",
    points=2,
    cases=_params_cases,
    run=_params_run,
    reference=_params_expected,
    compare=compare_int,
    mistakes={
        "the biases are missing: every nn.Conv2d has one bias per output channel (nf of them).": _params_no_bias,
        "each of the nf kernels has a ks x ks slice for every one of the ni input channels: nf * ni * ks * ks "
        "weights.": _params_no_inputs,
        "a kernel is ks x ks: it has ks * ks weights per input channel, not ks.": _params_ks_once,
    },
    seed=401,
)


# -- conv_shapes: the shape after each stride-2 layer ---------------------------------

def _shapes_cases(g: torch.Generator, hidden: bool) -> list[Case]:
    if not hidden:
        specs = [((1, 28, 28), [4, 8, 16, 32, 2])]
    else:
        specs = [((1, 28, 28), [4, 8, 16, 32, 2]), ((3, 32, 20), [8, 16, 32]), ((1, 27, 13), [4, 8, 16, 32]),
                 ((2, 7, 9), [5, 5, 5]), ((1, 64, 64), [6]), ((4, 15, 30), [2, 3, 4, 5, 6])]
        h, w = randint(g, 9, 40), randint(g, 9, 40)
        specs.append(((randint(g, 1, 4), h, w), [randint(g, 1, 9) for _ in range(randint(g, 2, 5))]))
    return [Case((shape, filters), f"input {shape} and filters {filters}") for shape, filters in specs]


def _shapes_expected(case: Case) -> list[tuple[int, int, int]]:
    (c, h, w), filters = case.args
    return _conv_output_shapes(_stride2_stack([c, *filters]), torch.zeros(1, c, h, w))


def _shapes_floor(case: Case) -> list[tuple[int, int, int]]:
    (c, h, w), filters = case.args
    out = []
    for nf in filters:
        h, w = h // 2, w // 2
        out.append((nf, h, w))
    return out


def _shapes_swapped(case: Case) -> list[tuple[int, int, int]]:
    (c, h, w), filters = case.args
    return [(nf, w_, h_) for nf, h_, w_ in _shapes_expected(case)]


def _shapes_run(answer, case: Case):
    shape, filters = case.args
    return answer(tuple(shape), list(filters))


def _compare_shapes(got, expected, case: Case) -> str | None:
    if type(got) not in (list, tuple):
        return f"expected a list of (channels, height, width) tuples, got a {type(got).__name__}"
    if len(got) != len(expected):
        return f"expected {len(expected)} shapes (one after each layer), got {len(got)}: {got!r}"
    for i, (g, e) in enumerate(zip(got, expected)):
        if type(g) not in (tuple, list) or len(g) != 3:
            hint = " (leave out the batch axis)" if type(g) in (tuple, list) and len(g) == 4 else ""
            return f"item {i} should be a (channels, height, width) tuple, got {g!r}{hint}"
        if not all(type(v) is int for v in g):
            return (f"item {i} should hold whole numbers (int), got {g!r}: use // for the division, and "
                    "int() around anything from math")
        if tuple(g) != e:
            return f"after layer {i + 1} expected {e}, got {tuple(g)}; all expected: {expected}"
    return None


CONV_SHAPES = Exercise(
    key="conv_shapes",
    chapter=CHAPTER,
    answer="conv_shapes",
    title="conv_shapes(input_shape, filters)",
    points=2,
    cases=_shapes_cases,
    run=_shapes_run,
    reference=_shapes_expected,
    compare=_compare_shapes,
    mistakes={
        "a stride-2 layer does not simply halve the size: with ks=3 and padding 1 it gives "
        "(n + 2*1 - 3)//2 + 1, which rounds odd sizes *up* (7 -> 4, not 3).": _shapes_floor,
        "height and width are swapped: keep (channels, height, width) in that order.": _shapes_swapped,
    },
    error_hints={
        "must be computed by hand": "compute the sizes with the formula of chapter 3 instead of running layers.",
    },
    forbid=CONVOLUTION_OPS,
    seed=402,
)


# -- simple_cnn: the model ----------------------------------------------------------------

#: The seed's channels with two outputs, one score per class (3 or 7).
SIMPLE_CNN_CHANNELS = [1, 4, 8, 16, 32, 2]


def _cnn_cases(g: torch.Generator, hidden: bool) -> list[Case]:
    batches = [64, 1, 5, 100] if hidden else [64]
    return [Case((torch.rand(n, 1, 28, 28, generator=g),), f"a batch of {n} images of 28x28") for n in batches]


#: Operators that squash scores: none may follow the last convolution of a classifier.
_SQUASHING_OPS = frozenset({"relu", "relu_", "threshold", "clamp", "clamp_min", "hardtanh", "leaky_relu", "gelu",
                            "elu", "silu", "softplus", "sigmoid", "_softmax", "softmax", "_log_softmax",
                            "log_softmax", "tanh", "abs", "relu6"})


def _ops_after_last_conv(model: nn.Module, x: torch.Tensor) -> tuple[str, ...]:
    """Run ``model`` and return the names of the ATen operators that ran after its last convolution."""
    ops: list[str] = []
    with torch.no_grad(), watching_ops(ops.append):
        model(x)
    convs = [i for i, op in enumerate(ops) if op in ("convolution", "_convolution", "conv2d")]
    return tuple(ops[convs[-1] + 1:]) if convs else ()


def _cnn_run(model, case: Case):
    if not isinstance(model, nn.Module):
        raise TypeError(f"`simple_cnn` should be a model (an nn.Module such as nn.Sequential), "
                        f"not a {type(model).__name__}")
    if any(getattr(m, "_course_reference", False) for m in model.modules()):
        raise ValueError("this is helpers.models.simple_cnn, the course's own copy: build the model yourself "
                         "with nn.Sequential and conv()")
    x = case.args[0]
    was_training = model.training
    model.eval()  # probe as a trained model is used: batch norm and dropout accept a batch of one
    try:
        shapes = _conv_output_shapes(model, x)
        with torch.no_grad():
            out = model(x)
        after_last = _ops_after_last_conv(model, x)
    finally:
        model.train(was_training)
    n_params = sum(p.numel() for p in model.parameters())
    return tuple(out.shape), int(n_params), after_last, shapes


def _cnn_expected(case: Case):
    n = case.args[0].shape[0]
    reference = nn.Sequential(_stride2_stack(SIMPLE_CNN_CHANNELS), nn.Flatten())
    shapes = _conv_output_shapes(reference, torch.zeros(1, 1, 28, 28))
    return (n, SIMPLE_CNN_CHANNELS[-1]), sum(p.numel() for p in reference.parameters()), (), shapes


def _compare_cnn(got, expected, case: Case) -> str | None:
    (shape, n_params, after_last, shapes), (e_shape, e_params, _, e_shapes) = got, expected
    if shape != e_shape:
        hint = ""
        if len(shape) == 4 and tuple(shape[:2]) == e_shape:
            hint = ": the 1x1 axes are still there; end the model with nn.Flatten()"
        elif len(shape) == 2 and shape[1] == 1:
            hint = ": the last convolution needs 2 output channels, one score for 3 and one for 7"
        elif len(shape) >= 1 and shape[0] != e_shape[0]:
            hint = ": the batch axis must stay (nn.Flatten keeps it; squeeze would not for a batch of 1)"
        return f"expected output shape {e_shape}, got {shape}{hint}"
    if shapes != e_shapes:
        return (f"the shapes after each convolution should be {e_shapes} (28 -> 14 -> 7 -> 4 -> 2 -> 1 with "
                f"4, 8, 16, 32 and 2 filters), got {shapes}: use five conv() layers, stride 2")
    if n_params != e_params:
        return f"expected {e_params:,} parameters, got {n_params:,}: are all five layers nn.Conv2d with biases?"
    squashed = [op for op in after_last if op in _SQUASHING_OPS]
    if squashed:
        return (f"`{squashed[0]}` runs after the last convolution: the last layer must be conv(32, 2, act=False), "
                "with no ReLU (or softmax), so that its two scores are free to take any value")
    return None


SIMPLE_CNN = Exercise(
    key="simple_cnn",
    chapter=CHAPTER,
    answer="simple_cnn",
    title="the simple_cnn model",
    points=3,
    cases=_cnn_cases,
    run=_cnn_run,
    reference=_cnn_expected,
    compare=_compare_cnn,
    error_hints={
        "Expected 4D": "the model expects a batch of images [N, 1, 28, 28]; did you add a layer that flattens "
                       "too early?",
        "channels": "the channels of consecutive layers must match: conv(1, 4), conv(4, 8), conv(8, 16), ...",
    },
    seed=403,
)


# -- review quiz -------------------------------------------------------------------------

def _quiz_stride2_expected(case: Case) -> int:
    """Measured: the width a stride-2, 3x3, padding-1 convolution gives a 7x7 map."""
    layer = nn.Conv2d(1, 1, 3, stride=2, padding=1)
    return int(layer(torch.zeros(1, 1, 7, 7)).shape[-1])


QUIZ_STRIDE2 = Exercise(
    key="quiz_stride2_size",
    chapter=CHAPTER,
    answer="quiz_stride2_size",
    title="review question 1 (stride-2 size)",
    points=1,
    kind="value",
    cases=quiz_case,
    reference=_quiz_stride2_expected,
    compare=compare_int,
    mistakes={"(n + 2*pad - ks)//stride + 1 = (7 + 2 - 3)//2 + 1: the padding lets the kernel sit on the last "
              "column too.": lambda case: 3},
    seed=404,
)


def _quiz_params_expected(case: Case) -> int:
    """Counted: the parameters of the chapter's simple_cnn, rebuilt from nn.Conv2d layers."""
    return sum(p.numel() for p in _stride2_stack(SIMPLE_CNN_CHANNELS).parameters())


QUIZ_PARAMS = Exercise(
    key="quiz_cnn_params",
    chapter=CHAPTER,
    answer="quiz_cnn_params",
    title="review question 2 (parameters of simple_cnn)",
    points=1,
    kind="value",
    cases=quiz_case,
    reference=_quiz_params_expected,
    compare=compare_int,
    mistakes={
        "count the biases too: one per output channel of every layer.":
            lambda case: _params_no_bias(Case((SIMPLE_CNN_CHANNELS, 3))),
        "that is the count for a last layer of 1 channel; this course's simple_cnn ends with 2.":
            lambda case: sum(p.numel() for p in _stride2_stack([1, 4, 8, 16, 32, 1]).parameters()),
    },
    seed=405,
)


def _quiz_mult_adds_expected(case: Case) -> int:
    """Measured: multiply-adds of conv(16, 32) on a 4x4 map, from the layer summary of a real layer."""
    from helpers.models import layer_summary

    rows = layer_summary(nn.Conv2d(16, 32, 3, stride=2, padding=1), (1, 16, 4, 4))
    return sum(r.mult_adds for r in rows)


QUIZ_MULT_ADDS = Exercise(
    key="quiz_mult_adds",
    chapter=CHAPTER,
    answer="quiz_mult_adds",
    title="review question 3 (multiply-adds)",
    points=1,
    kind="value",
    cases=quiz_case,
    reference=_quiz_mult_adds_expected,
    compare=compare_int,
    mistakes={
        "the output is 2x2, not 4x4: the stride-2 layer computes one dot product per *output* position.":
            lambda case: 4 * 4 * 32 * 16 * 9,
        "each output value is a dot product over all 16 input channels: 16 * 3 * 3 multiply-adds.":
            lambda case: 2 * 2 * 32 * 9,
    },
    seed=406,
)

EXERCISES = [STACK_PARAMS, CONV_SHAPES, SIMPLE_CNN, QUIZ_STRIDE2, QUIZ_PARAMS, QUIZ_MULT_ADDS]
