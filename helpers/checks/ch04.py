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

from .ch03 import whole
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
    """A stack of stride-2 ``nn.Conv2d`` layers padded by ``ks//2``, as ``conv()`` builds them.

    Built on the meta device and given empty CPU storage: shapes and parameter counts are real, the
    values meaningless, and no reference draws from the notebook's random numbers.
    """
    return nn.Sequential(*[nn.Conv2d(ni, nf, ks, stride=2, padding=ks // 2, device="meta").to_empty(device="cpu")
                           for ni, nf in zip(channels[:-1], channels[1:])])


def _conv_output_shapes(model: nn.Module, x: torch.Tensor) -> list[tuple[int, ...]]:
    """Run ``model`` on ``x`` and record the shape (without the batch axis) after every ``nn.Conv2d``."""
    return trace(model, x, [m for m in model.modules() if isinstance(m, nn.Conv2d)],
                 lambda m, inputs, out: tuple(int(s) for s in out.shape[1:]))


# -- stack_params: the parameters of a stack of convolutions ------------------------

def _params_cases(g: torch.Generator, hidden: bool) -> list[Case]:
    if not hidden:
        stacks = [([1, 4, 8, 16, 32, 2], 3), ([1, 30, 1], 3), ([2, 5, 7], 5)]  # a 5x5 stack: ks is not always 3
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


def _params_bias_per_input(case: Case) -> int:
    channels, ks = case.args
    return sum(nf * ni * ks * ks + ni for ni, nf in zip(channels[:-1], channels[1:]))


def _params_wrapped(case: Case) -> int:
    """``for i in range(len(channels))`` with ``channels[i - 1]``: one more layer, from the last count to the first."""
    channels, ks = case.args
    ni, nf = channels[-1], channels[0]
    return _params_expected(case) + nf * ni * ks * ks + nf


def _params_last_missing(case: Case) -> int:
    channels, ks = case.args
    return _params_expected(Case((channels[:-1], ks)))


def _params_run(answer, case: Case):
    channels, ks = case.args
    return whole(answer(list(channels), ks))


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
        "a parameter count is an int: the right numbers as floats come from / or float arithmetic; use "
        "// or whole-number arithmetic.": lambda case: float(_params_expected(case)),
        "one bias per *output* channel: a layer from ni to nf channels has nf biases, not ni.":
            _params_bias_per_input,
        "one layer too many: channels[i - 1] with i = 0 is the last count, so the loop adds a layer from the "
        "last channels back to the first; k channel counts make k - 1 layers (zip(channels, channels[1:])).":
            _params_wrapped,
        "the last layer is missing: k channel counts make k - 1 layers, the last one from channels[-2] to "
        "channels[-1].": _params_last_missing,
        "the kernel size is fixed at 3: use the ks argument (ks * ks weights per input channel).":
            lambda case: _params_expected(Case((case.args[0], 3))),
    },
    seed=401,
)


# -- conv_shapes: the shape after each stride-2 layer ---------------------------------

def _shapes_cases(g: torch.Generator, hidden: bool) -> list[Case]:
    if not hidden:
        specs = [((1, 28, 28), [4, 8, 16, 32, 2]), ((3, 32, 20), [8, 16, 32])]  # 5 -> 3: not round(5/2)
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


def _shapes_model(size):
    """A wrong conv_shapes: ``size(n)`` for the side after each layer."""
    def model(case: Case):
        (_, h, w), filters = case.args
        out = []
        for nf in filters:
            h, w = size(h), size(w)
            out.append((nf, h, w))
        return out
    return model


def _shapes_received(case: Case) -> list[tuple[int, int, int]]:
    """The channels each layer receives (the input's, then the previous layer's filters) instead of its own."""
    (c, _, _), _ = case.args
    expected = _shapes_expected(case)
    received = [c] + [nf for nf, _, _ in expected[:-1]]
    return [(ni, h, w) for ni, (_, h, w) in zip(received, expected)]


def _shapes_square(case: Case) -> list[tuple[int, int, int]]:
    """The height used for both sides."""
    return [(nf, h, h) for nf, h, _ in _shapes_expected(case)]


def _shapes_with_input(case: Case) -> list[tuple[int, int, int]]:
    return [tuple(case.args[0]), *_shapes_expected(case)]


def _shapes_with_batch(case: Case) -> list[tuple[int, int, int, int]]:
    return [(1, *t) for t in _shapes_expected(case)]


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
        "round() rounds halves to the even neighbour (round(2.5) == 2): the size of a stride-2 layer is "
        "(n + 2*1 - 3)//2 + 1, which rounds every odd size up.": _shapes_model(lambda n: round(n / 2)),
        "a stride-2 layer does not simply halve the size: with ks=3 and padding 1 it gives "
        "(n + 2*1 - 3)//2 + 1, which rounds odd sizes *up* (7 -> 4, not 3).": _shapes_floor,
        "height and width are swapped: keep (channels, height, width) in that order.": _shapes_swapped,
        "height and width need not be equal: compute each from its own size with the same formula.":
            _shapes_square,
        "leave out the batch axis: each item is (channels, height, width).": _shapes_with_batch,
        "one shape after each layer: the input's own shape is not in the list.": _shapes_with_input,
        "one shape after each layer: the list holds as many shapes as there are filters, the last layer's "
        "included.": lambda case: _shapes_expected(case)[:-1],
        "use // (floor division): / gives a float, and a size is a whole number of positions.":
            _shapes_model(lambda n: (n + 2 * 1 - 3) / 2 + 1),
        "the size does not change: each conv() has stride 2, so it takes every other position.":
            _shapes_model(lambda n: n),
        "conv() pads by ks//2 = 1 on each side: (n + 2*1 - 3)//2 + 1, not (n - 3)//2 + 1.":
            _shapes_model(lambda n: (n - 3) // 2 + 1),
        "the channels after a layer are its number of filters: the shape after layer i has filters[i] "
        "channels, not the channels it received.": _shapes_received,
    },
    error_hints={
        "must be computed by hand": "compute the sizes with the formula of chapter 3 instead of running layers.",
        "got a numpy": "return a list of tuples of ints, not a NumPy array.",
    },
    forbid=CONVOLUTION_OPS,
    seed=402,
)


# -- simple_cnn: the model ----------------------------------------------------------------

#: The chapter's channels with two outputs, one score per class (3 or 7).
SIMPLE_CNN_CHANNELS = [1, 4, 8, 16, 32, 2]


def _cnn_cases(g: torch.Generator, hidden: bool) -> list[Case]:
    batches = [64, 1, 5, 100] if hidden else [64, 1]  # a batch of 1: squeeze() would drop its batch axis
    return [Case((torch.rand(n, 1, 28, 28, generator=g),), f"a batch of {n} images of 28x28") for n in batches]


#: Operators that squash scores: none may follow the last layer with weights of a classifier.
SQUASHING_OPS = frozenset({"relu", "relu_", "threshold", "clamp", "clamp_min", "hardtanh", "leaky_relu", "gelu",
                            "elu", "silu", "softplus", "sigmoid", "_softmax", "softmax", "_log_softmax",
                            "log_softmax", "tanh", "abs", "relu6"})


#: The ATen operators of a layer with weights (a convolution or a linear layer).
WEIGHTED_OPS = frozenset({"convolution", "_convolution", "conv2d", "addmm", "mm", "linear", "matmul", "bmm"})


def ops_after_last_layer(model: nn.Module, x: torch.Tensor) -> tuple[str, ...]:
    """Run ``model`` and return the names of the ATen operators that ran after its last layer with weights."""
    ops: list[str] = []
    with torch.no_grad(), watching_ops(ops.append):
        model(x)
    weighted = [i for i, op in enumerate(ops) if op in WEIGHTED_OPS]
    return tuple(ops[weighted[-1] + 1:]) if weighted else ()


def _probe_inputs() -> tuple[torch.Tensor, torch.Tensor]:
    """The inputs of the linearity probe: two fixed batches with values of both signs, so that a ReLU
    network's units switch on for some and off for others (drawn from a private generator)."""
    g = torch.Generator().manual_seed(4030)
    return torch.randn(2, 1, 28, 28, generator=g), torch.randn(2, 1, 28, 28, generator=g)


def is_affine(model: nn.Module) -> bool:
    """Whether ``model`` (in eval mode) is an affine map on the probe inputs: f(a) + f(b) - f(0) == f(a + b).

    True of a stack of convolutions (and batch norms in eval mode) with no non-linearity between them,
    which computes no more than a single convolution; false for any ReLU network whose units change
    state between the probes. A constant model (every unit dead) is not called affine: its fault is
    another one. Deterministic: fixed inputs, float32 rounding far below the tolerance.
    """
    a, b = _probe_inputs()
    with torch.no_grad():
        fa, fb, f0, fab = (model(v).double() for v in (a, b, torch.zeros_like(a), a + b))
    scale = max(float(t.abs().max()) for t in (fa, fb, f0, fab)) + 1e-12
    moves = float((fa - f0).abs().max()) > 1e-3 * scale
    return moves and float((fa + fb - f0 - fab).abs().max()) <= 1e-4 * scale


def _measure(model: nn.Module, x: torch.Tensor) -> tuple:
    """What the check compares, measured on a model in eval mode: output shape, parameter count, the
    squashing operators after the last layer with weights, the shape after each convolution, affine."""
    shapes = _conv_output_shapes(model, x)
    with torch.no_grad():
        out = model(x)
    squashed = tuple(op for op in ops_after_last_layer(model, x) if op in SQUASHING_OPS)
    n_params = sum(p.numel() for p in model.parameters())
    return tuple(out.shape), int(n_params), squashed, shapes, is_affine(model)


def _cnn_run(model, case: Case):
    if not isinstance(model, nn.Module):
        raise TypeError(f"`simple_cnn` should be a model (an nn.Module such as nn.Sequential), "
                        f"not a {type(model).__name__}")
    if any(getattr(m, "_course_reference", False) for m in model.modules()):
        raise ValueError("this is helpers.models.simple_cnn, the course's own copy: build the model yourself "
                         "with nn.Sequential and conv()")
    was_training = model.training
    model.eval()  # probe as a trained model is used: batch norm and dropout accept a batch of one
    try:
        return _measure(model, case.args[0])
    finally:
        model.train(was_training)


def _stack(channels: list[int], last_act: bool = False, act: bool = True) -> list[nn.Module]:
    """The layers of a stride-2 stack on the meta device given empty CPU storage: shapes and counts are
    real, values meaningless, and no random number is drawn."""
    layers: list[nn.Module] = []
    for i, (ni, nf) in enumerate(zip(channels[:-1], channels[1:])):
        layers.append(nn.Conv2d(ni, nf, 3, stride=2, padding=1, device="meta").to_empty(device="cpu"))
        if (act and i < len(channels) - 2) or (last_act and i == len(channels) - 2):
            layers.append(nn.ReLU())
    return layers


def _profile(case: Case, channels=SIMPLE_CNN_CHANNELS, *, flatten: bool = True, last_act: bool = False,
             linear: bool = False, squeeze: bool = False, end: tuple[str, ...] = ()) -> tuple:
    """What :func:`_measure` gives for the model these settings describe, for the case's batch size."""
    n = case.args[0].shape[0]
    body = nn.Sequential(*_stack(list(channels), last_act=last_act, act=not linear))
    shapes = _conv_output_shapes(body, torch.zeros(1, 1, 28, 28))
    out = (n, channels[-1]) if flatten else (n, channels[-1], 1, 1)
    if squeeze:
        out = tuple(s for s in (n, channels[-1], 1, 1) if s != 1)
    squashed = (("relu",) if last_act else ()) + end
    return out, sum(p.numel() for p in body.parameters()), squashed, shapes, linear


def _cnn_expected(case: Case):
    return _profile(case)


def _compare_cnn(got, expected, case: Case) -> str | None:
    (shape, n_params, squashed, shapes, affine), (e_shape, e_params, _, e_shapes, _) = got, expected
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
    if squashed:
        return (f"`{squashed[0]}` runs after the last convolution: the last layer must be conv(32, 2, act=False), "
                "with no ReLU (or softmax), so that its two scores are free to take any value")
    if affine:
        return ("the model is linear: on random inputs f(a) + f(b) - f(0) equals f(a + b), so its five "
                "convolutions compute no more than one convolution would")
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
    mistakes={
        "the ReLUs are missing: without a non-linearity between them, stacked convolutions are one linear "
        "map. conv(ni, nf) adds a ReLU after its nn.Conv2d; only the last layer has act=False.":
            lambda case: _profile(case, linear=True),
        "end the model with nn.Flatten(): it turns [N, 2, 1, 1] into the [N, 2] scores.":
            lambda case: _profile(case, flatten=False),
        "two output channels, one score per class (3 and 7): the last layer is conv(32, 2, act=False).":
            lambda case: _profile(case, [1, 4, 8, 16, 32, 1]),
        "the last layer has act=False: a ReLU after it would make every negative score 0.":
            lambda case: _profile(case, last_act=True),
        "no softmax in the model: the loss (cross-entropy) applies it to the raw scores itself.":
            lambda case: _profile(case, end=("_softmax",)),
        "squeeze() removes every axis of size 1, the batch axis too when the batch holds one image; "
        "nn.Flatten() keeps it.": lambda case: _profile(case, squeeze=True),
        "the filters double at each stride-2 layer: 1 -> 4 -> 8 -> 16 -> 32 -> 2 channels.":
            lambda case: _profile(case, [1, 4, 4, 4, 4, 2]),
        "simple_cnn is a convolutional network: five conv() layers and nn.Flatten(), no nn.Linear on the "
        "flattened image.": lambda case: ((case.args[0].shape[0], 2), 28 * 28 * 2 + 2, (), [], True),
    },
    error_hints={
        "Expected 4D": "the model expects a batch of images [N, 1, 28, 28]; did you add a layer that flattens "
                       "too early?",
        "channels": "the channels of consecutive layers must match: conv(1, 4), conv(4, 8), conv(8, 16), ...",
        "not a function": "simple_cnn is the model itself, built once in the cell: simple_cnn = "
                          "nn.Sequential(...), not a function that builds one.",
        "not a type": "simple_cnn is a model object: create one from your class with brackets, "
                      "simple_cnn = MyCNN(), not the class itself.",
        "course's own copy": "write the nn.Sequential of conv() layers in your cell; helpers.models.simple_cnn "
                             "is there for the chapters that follow.",
    },
    seed=403,
)


# -- review quiz -------------------------------------------------------------------------

def _quiz_stride2_expected(case: Case) -> int:
    """Measured: the width a stride-2, 3x3, padding-1 convolution gives a 9x9 map."""
    layer = nn.Conv2d(1, 1, 3, stride=2, padding=1, device="meta").to_empty(device="cpu")
    with torch.no_grad():
        return int(layer(torch.zeros(1, 1, 9, 9)).shape[-1])


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
    mistakes={
        "a stride-2 layer with padding does not simply halve the size: count the positions with "
        "(n + 2*pad - ks)//stride + 1; the padding lets the kernel sit on the last column too.": lambda case: 4,
        "a number of columns is an int: write it without a decimal point.":
            lambda case: float(_quiz_stride2_expected(case)),
        "the stride is missing: padding 1 alone keeps the size of a 3x3 convolution, and stride 2 takes "
        "every other position.": lambda case: 9,
        "16 is the number of output channels (feature maps); the question asks for the columns of each map.":
            lambda case: 16,
        "8 is the number of input channels; the question asks for the columns of the output map.":
            lambda case: 8,
        "a stride of 2 shrinks a map; it does not enlarge it.": lambda case: 18,
    },
    seed=404,
)


def _stack_params(channels: list[int]) -> int:
    """Counted: the parameters of a stack of 3x3 stride-2 nn.Conv2d layers (built without drawing random numbers)."""
    return sum(p.numel() for m in _stack(channels) for p in m.parameters())


def _quiz_params_expected(case: Case) -> int:
    """Counted: the parameters of the chapter's simple_cnn, rebuilt from nn.Conv2d layers."""
    return _stack_params(SIMPLE_CNN_CHANNELS)


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
            lambda case: _stack_params(SIMPLE_CNN_CHANNELS[:-1] + [1]),
        "each kernel has a 3x3 slice for every input channel: nf * ni * 3 * 3 weights per layer.":
            lambda case: _params_no_inputs(Case((SIMPLE_CNN_CHANNELS, 3))),
        "a 3x3 kernel has 3 * 3 weights per input channel, not 3.":
            lambda case: _params_ks_once(Case((SIMPLE_CNN_CHANNELS, 3))),
        "the last layer, from 32 channels to 2, has parameters too.":
            lambda case: _stack_params(SIMPLE_CNN_CHANNELS[:-1]),
        "that is the linear network simple_nn; the question asks about the CNN.":
            lambda case: 784 * 30 + 30 + 30 + 1,
        "a number of parameters is an int: write it without a decimal point.":
            lambda case: float(_quiz_params_expected(case)),
    },
    seed=405,
)


def _quiz_mult_adds_expected(case: Case) -> int:
    """Measured: multiply-adds of conv(16, 32) on a 4x4 map, from the layer summary of a real layer."""
    from helpers.models import layer_summary

    layer = nn.Conv2d(16, 32, 3, stride=2, padding=1, device="meta").to_empty(device="cpu")
    rows = layer_summary(layer, (1, 16, 4, 4))
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
        "the stride-2 layer computes one dot product per *output* position, and its output is smaller than "
        "its 4x4 input.": lambda case: 4 * 4 * 32 * 16 * 9,
        "each output value is a dot product over all 16 input channels, each with a 3x3 slice of the kernel.":
            lambda case: 2 * 2 * 32 * 9,
        "a 3x3 kernel slice has 3 * 3 weights: the dot product has ni * ks * ks terms, not ni * ks.":
            lambda case: 2 * 2 * 32 * 16 * 3,
        "that is the layer's number of parameters; multiply-adds count the work of every output value.":
            lambda case: 32 * 16 * 9 + 32,
        "there is one output map per filter (32 of them), and every value of each is a dot product.":
            lambda case: 2 * 2 * 16 * 9,
        "the bias is an addition without a multiplication: this course counts the ni * ks * ks "
        "multiply-adds of each dot product only.": lambda case: 2 * 2 * 32 * (16 * 9 + 1),
        "a number of multiply-adds is an int: write it without a decimal point.":
            lambda case: float(_quiz_mult_adds_expected(case)),
    },
    seed=406,
)

EXERCISES = [STACK_PARAMS, CONV_SHAPES, SIMPLE_CNN, QUIZ_STRIDE2, QUIZ_PARAMS, QUIZ_MULT_ADDS]
