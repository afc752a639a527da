"""Exercise checks for chapter 5, "Receptive fields".

The learner computes receptive fields with the size-and-jump recurrence; every
reference here *measures* them instead, with the gradient method of
:mod:`helpers.receptive`: real ``nn.Conv2d`` layers with weights of 1,
backpropagation from one output cell, and the box of input pixels whose
gradient is not zero. The two only agree if the recurrence is right.

The random stacks of the hidden checks have 1 to 5 layers, kernels 1 to 7 (even
ones included), strides 1 to 3 and paddings 0 to 3, and each is a stack that
really runs on some image between 12 and 48 pixels a side; the cells asked
about include the corners of the last map, where fields hang over the padding.
"""

from __future__ import annotations

from functools import lru_cache

import torch
from torch import nn

from helpers import receptive

from .core import CONVOLUTION_OPS, Case, Exercise, compare_equal, compare_int, quiz_case, randint

CHAPTER = "05-receptive-fields"

#: The chapter's running example: two stride-2 3x3 convolutions with padding 1 on an MNIST digit.
TWO_STRIDE_2 = [(3, 2, 1), (3, 2, 1)]


# -- random stacks -------------------------------------------------------------

def random_stack(g: torch.Generator) -> tuple[list[tuple[int, int, int]], int, int, tuple[int, int]]:
    """A random stack that runs on a random image: ``(layers, height, width, last map size)``.

    Drawn until PyTorch accepts it (the image must not vanish before the last layer).
    """
    while True:
        depth = randint(g, 1, 5)
        layers = [(randint(g, 1, 7), randint(g, 1, 3), randint(g, 0, 3)) for _ in range(depth)]
        height, width = randint(g, 12, 48), randint(g, 12, 48)
        try:
            sizes = receptive.map_sizes(layers, height, width)
        except ValueError:
            continue
        if min(sizes[-1]) >= 1:
            return layers, height, width, sizes[-1]


#: Stacks every hidden check includes, whatever the random draw: an even kernel, a stride larger
#: than its kernel (a field with holes), stride 3, padding 3, five layers.
FIXED_STACKS = [
    [(2, 2, 0), (4, 1, 1), (3, 2, 1)],
    [(1, 2, 0), (3, 1, 1)],
    [(7, 3, 3), (3, 1, 0), (5, 2, 2)],
    [(3, 2, 1)] * 5,
    [(6, 1, 3), (2, 3, 0), (3, 1, 2)],
]


# -- mistake models (wrong recurrences a learner plausibly writes) -------------------

def _wrong_sizes(layers, mistake: str) -> list[int]:
    size, jump, sizes = 1, 1, []
    if mistake == "start_at_zero":
        size = 0
    for k, s, p in layers:
        before = size
        if mistake == "current_stride":
            size += (k - 1) * s
        elif mistake == "jump_first":
            jump *= s
            size += (k - 1) * jump
        elif mistake == "whole_kernel":
            size += k * jump
        elif mistake == "padding_grows":
            size += (k - 1 + 2 * p) * jump
        else:
            size += (k - 1) * jump
        if mistake not in ("jump_first", "no_jump"):
            jump *= s
        sizes.append({"jumps": jump, "size_before": before}.get(mistake, size))
    return sizes


def _wrong_region(layers, row: int, col: int, mistake: str):
    size, jump, start = 1, 1, 0
    for k, s, p in layers:
        size += (k - 1) * (s if mistake == "current_stride" else jump)
        if mistake == "unscaled_padding":
            start -= p
        elif mistake == "padding_after_jump":
            start -= p * jump * s
        elif mistake != "no_padding":
            start -= p * jump
        jump *= s
    if mistake == "last_stride":
        jump = layers[-1][1]
    if mistake == "swapped":
        row, col = col, row
    extra = 0 if mistake == "exclusive" else -1

    def span(i):
        top = start + i * (0 if mistake == "cell_ignored" else jump)
        if mistake == "clipped":
            return max(top, 0), top + size + extra
        if mistake == "from_centre":  # centre = top + (size - 1) // 2, then size // 2 either side
            centre = top + (size - 1) // 2
            return centre - size // 2, centre + size // 2
        return top, top + size + extra
    return span(row), span(col)


_ERROR_HINTS = {
    "unpack": "each layer is a tuple (kernel, stride, padding): loop with `for k, s, p in layers:`.",
    "by hand": "compute the field with the recurrence, in plain integers; running convolutions (or the "
               "gradient method of helpers.receptive) is how the check measures it, not how to answer.",
}


# -- receptive_fields ------------------------------------------------------------------

VISIBLE_STACKS = [TWO_STRIDE_2, [(3, 1, 1)] * 3, [(5, 2, 2), (3, 2, 1), (3, 1, 1)], [(2, 2, 0)] * 3]


def _fields_cases(g: torch.Generator, hidden: bool) -> list[Case]:
    stacks = [list(s) for s in VISIBLE_STACKS]
    if hidden:
        stacks = [list(s) for s in FIXED_STACKS] + [random_stack(g)[0] for _ in range(20)]
    return [Case((layers,), f"the layers {layers}") for layers in stacks]


def _fields_expected(case: Case) -> list[int]:
    """Measured: the side of the box of input pixels with a non-zero gradient, for each prefix of the stack."""
    layers = tuple(map(tuple, case.args[0]))
    return [_measured_region(layers[:n], 0, 0)[0][1] - _measured_region(layers[:n], 0, 0)[0][0] + 1
            for n in range(1, len(layers) + 1)]


def _copy_layers(answer, case: Case):
    layers, *rest = case.args
    return _numbers(answer([tuple(layer) for layer in layers], *rest))


def _numbers(value):
    """NumPy scalars as the Python numbers they are (``np.int64(7)`` is the whole number 7), inside lists and tuples.

    Runs on the learner's side, before the result is copied into plain data: a size computed with
    ``np.prod`` or ``np.cumprod`` is a right answer, while a float stays a float (and gets its hint).
    """
    import numpy as np

    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if type(value) in (list, tuple):
        return type(value)(_numbers(v) for v in value)
    return value


_FLOAT_HINT = ("the numbers are right but some are floats (3.0 instead of 3): sizes and rows are whole numbers, so "
               "return ints (use // rather than / if you divide, or int()).")
_QUIZ_INT_HINT = "a count of pixels is a whole number: give it as an int, without a decimal point (// rather than /)."
_STRIDE_HINT = ("each layer's kernel spans (kernel - 1) steps of the *jump so far* (the product of the strides of the "
                "layers before it, in input pixels), not of its own stride: update the size with the old jump, then "
                "multiply the jump by the stride.")

RECEPTIVE_FIELDS = Exercise(
    key="receptive_fields",
    chapter=CHAPTER,
    answer="receptive_fields",
    title="receptive_fields(layers)",
    points=2,
    cases=_fields_cases,
    reference=_fields_expected,
    run=_copy_layers,
    compare=compare_equal,
    mistakes={
        _FLOAT_HINT: _fields_expected,
        _STRIDE_HINT: lambda case: _wrong_sizes(case.args[0], "current_stride"),
        "you multiplied the jump by this layer's stride before using it: a layer's kernel steps over cells of "
        "its *input*, which are (jump before this layer) pixels apart; update the size first, then the jump.":
            lambda case: _wrong_sizes(case.args[0], "jump_first"),
        "off by one: a k-wide kernel adds k - 1 cells to the field (its first cell is already counted), "
        "so r_out = r_in + (k - 1) * j_in.": lambda case: _wrong_sizes(case.args[0], "whole_kernel"),
        "off by one: before any layer a cell sees exactly one pixel, itself; start from size 1, not 0.":
            lambda case: _wrong_sizes(case.args[0], "start_at_zero"),
        "padding does not make a field bigger: it only moves where the field starts (it adds zeros around the "
        "input; the kernel still covers k cells).": lambda case: _wrong_sizes(case.args[0], "padding_grows"),
        "the stride is ignored: after a layer with stride s, neighbouring cells are s times further apart in the "
        "input, so keep a jump (the product of the strides so far) and grow the size by (k - 1) * jump.":
            lambda case: _wrong_sizes(case.args[0], "no_jump"),
        "these are the jumps (how far apart neighbouring fields are), not the sizes of the fields: append the "
        "size.": lambda case: _wrong_sizes(case.args[0], "jumps"),
        "each size is appended before its layer is applied: the list holds the field *after* each layer, so "
        "update the size first, then append it.": lambda case: _wrong_sizes(case.args[0], "size_before"),
        "return a list with one size per layer (the field after each layer), not only the last one.":
            lambda case: _fields_expected(case)[-1],
        "return a list (square brackets), not a tuple: one size per layer.":
            lambda case: tuple(_fields_expected(case)),
    },
    error_hints=_ERROR_HINTS,
    forbid=CONVOLUTION_OPS,
    seed=501,
    untested="random stacks of 1 to 5 layers (kernels 1 to 7, strides 1 to 3, paddings 0 to 3)",
)


# -- input_region ------------------------------------------------------------------------

def _region_cases(g: torch.Generator, hidden: bool) -> list[Case]:
    if not hidden:
        picks = [(TWO_STRIDE_2, 28, 28, [(3, 3), (0, 0), (6, 2)]),
                 ([(5, 1, 2), (3, 2, 0)], 20, 24, [(2, 4), (0, 10)]),
                 ([(2, 2, 0), (3, 1, 1)], 21, 17, [(0, 0), (7, 4)])]  # a field of even size (6): no centre pixel
    else:
        stacks = [(list(s), 28, 24) for s in FIXED_STACKS[:3]]
        stacks += [random_stack(g)[:3] for _ in range(9)]
        picks = []
        for layers, height, width in stacks:
            rows, cols = receptive.map_sizes(layers, height, width)[-1]
            cells = {(0, 0), (rows - 1, cols - 1), (0, cols - 1),
                     (randint(g, 0, rows - 1), randint(g, 0, cols - 1))}
            picks.append((layers, height, width, sorted(cells)))
    cases = []
    for layers, height, width, cells in picks:
        rows, cols = receptive.map_sizes(layers, height, width)[-1]
        for row, col in cells:
            cases.append(Case((list(layers), row, col),
                              f"cell ({row}, {col}) of the last layer of {list(layers)} "
                              f"(a {rows}x{cols} map on a {height}x{width} image)"))
    return cases


def _region_expected(case: Case):
    """Measured: the box of input pixels whose gradient is not zero, on an image wide enough to cut nothing."""
    layers, row, col = case.args
    return _measured_region(tuple(map(tuple, layers)), row, col)


@lru_cache(maxsize=1024)
def _measured_region(layers: tuple, row: int, col: int):
    """The checker's own cache of measured regions (learner code calling helpers.receptive never hits it)."""
    return receptive.field_box(list(layers), row, col).ranges()


def _region_mistake(name: str):
    return lambda case: _wrong_region(*case.args, name)


INPUT_REGION = Exercise(
    key="input_region",
    chapter=CHAPTER,
    answer="input_region",
    title="input_region(layers, row, col)",
    points=3,
    cases=_region_cases,
    reference=_region_expected,
    run=_copy_layers,
    compare=compare_equal,
    mistakes={
        _FLOAT_HINT: _region_expected,
        "you left out the padding: a padded layer's window for cell 0 begins p cells before the first real cell "
        "of its input, so the field starts p * (jump before that layer) pixels earlier, for every padded layer: "
        "start_out = start_in - p * j_in.": _region_mistake("no_padding"),
        "each layer's padding counts cells of *its* input, which are (jump before that layer) pixels apart: "
        "subtract p * j_in, not p.": _region_mistake("unscaled_padding"),
        "off by one: both ends are included, so a field of size r starting at top ends at top + r - 1.":
            _region_mistake("exclusive"),
        "neighbouring cells of the last layer are (product of all strides) input pixels apart, not the last "
        "layer's stride: use the jump of the whole stack.": _region_mistake("last_stride"),
        "rows and columns are swapped: the first pair is the rows (from `row`), the second the columns.":
            _region_mistake("swapped"),
        "the region asked for is unclipped: a negative top or left says the field hangs over the padding; "
        "keep it rather than cutting it at 0.": _region_mistake("clipped"),
        "the size is wrong: " + _STRIDE_HINT: _region_mistake("current_stride"),
        "a field of even size has no centre pixel, so counting size // 2 either side of a centre is off by one: "
        "start from the first row, top = start + row * jump, and end at top + size - 1.":
            _region_mistake("from_centre"),
        "the padding of each layer is scaled by the jump *before* that layer (its input's cells are that many "
        "pixels apart): subtract p * j_in before multiplying the jump by the stride.":
            _region_mistake("padding_after_jump"),
        "every cell got the region of cell (0, 0): cell i of the last layer starts i * jump pixels after cell 0 "
        "(jump = the product of all strides).": _region_mistake("cell_ignored"),
        "return a tuple of two tuples, ((top, bottom), (left, right)), not lists.":
            lambda case: [list(pair) for pair in _region_expected(case)],
        "return both ranges, ((top, bottom), (left, right)): the rows first, then the columns.":
            lambda case: _region_expected(case)[0],
    },
    error_hints=_ERROR_HINTS,
    forbid=CONVOLUTION_OPS,
    seed=502,
    untested="more cells of random stacks (corners included), each measured by backpropagation",
)


# -- review quiz ----------------------------------------------------------------------------

def simple_cnn_like(ks: int = 3) -> nn.Sequential:
    """The stride-2 CNN of chapter 4 (its ``conv(ni, nf, ks)`` blocks), rebuilt so the quiz depends on no answer."""
    def block(ni, nf, act=True):
        layer = nn.Conv2d(ni, nf, kernel_size=ks, stride=2, padding=ks // 2)
        return nn.Sequential(layer, nn.ReLU()) if act else layer
    return nn.Sequential(block(1, 4), block(4, 8), block(8, 16), block(16, 32), block(32, 2, act=False),
                         nn.Flatten())


def _measured_box(model: nn.Module, size: int, row: int, col: int) -> receptive.Box:
    """The box of input pixels with a non-zero gradient for one output cell, checked to touch no border."""
    box = receptive.box_of(receptive.model_gradient(model, size, size, row, col) != 0)
    assert box.top > 0 and box.left > 0 and box.bottom < size - 1 and box.right < size - 1, \
        "the measured cell must not touch the border"
    return box


def _simple_cnn5_field(case: Case) -> int:
    """Measured: simple_cnn with 5x5 kernels on a 192x192 image (a 6x6 output), a middle cell's gradient box."""
    body = simple_cnn_like(ks=5)[:-1]
    return _measured_box(body, 192, 2, 2).height


QUIZ_SIMPLE_CNN_FIELD = Exercise(
    key="quiz_simple_cnn_field",
    chapter=CHAPTER,
    answer="quiz_simple_cnn_field",
    title="review question 1 (simple_cnn with 5x5 kernels)",
    points=1,
    kind="value",
    cases=quiz_case,
    reference=_simple_cnn5_field,
    compare=compare_int,
    mistakes={
        _QUIZ_INT_HINT: _simple_cnn5_field,
        "28 is the part of the field inside a 28x28 digit; the field itself is larger than the image and hangs "
        "over the padding. Follow the recurrence through all five layers.": lambda case: 28,
        "63 is the field with 3x3 kernels; with 5x5 kernels each layer adds (5 - 1) steps of its jump.":
            lambda case: 63,
        "that is how far apart the fields of neighbouring cells are (the jump, the product of the strides), "
        "not the size of one field.": lambda case: 32,
        "off by one: before any layer a cell sees one pixel, itself; start the recurrence from size 1, not 0.":
            lambda case: 124,
        "off by one per layer: a 5-wide kernel adds (5 - 1) steps of the jump, its first cell is already counted.":
            lambda case: 156,
        "each layer's kernel spans (k - 1) steps of the jump so far (the product of the strides before it), "
        "not of its own stride.": lambda case: 41,
    },
    seed=503,
)


def _edge_pixels(case: Case) -> int:
    """Measured: pixels of a 28x28 image with a non-zero gradient for cell (0, 3) of conv2."""
    grad = receptive.gradient_maps(TWO_STRIDE_2, 28, 28, 0, 3)[0]
    return int((grad != 0).sum())


QUIZ_EDGE_PIXELS = Exercise(
    key="quiz_edge_pixels",
    chapter=CHAPTER,
    answer="quiz_edge_pixels",
    title="review question 2 (a border cell's real pixels)",
    points=1,
    kind="value",
    cases=quiz_case,
    reference=_edge_pixels,
    compare=compare_int,
    mistakes={
        _QUIZ_INT_HINT: _edge_pixels,
        "49 is the whole 7x7 field, but for a cell in the top row part of it lies above the image, on "
        "padding: count only the rows from 0 on.": lambda case: 49,
        "16 is the corner cell (0, 0), cut on two sides; cell (0, 3) is cut only at the top.": lambda case: 16,
        "9 is what conv2 itself reads (3x3 conv1 cells); count input pixels.": lambda case: 9,
        "off by one: the rows from row 0 to the field's last row, both ends included, are one more than their "
        "difference.": lambda case: 21,
        "row -1 is padding, not a pixel of the digit: count only the rows from 0 on.": lambda case: 35,
        "the field of cell (0, 3) is cut only at the top; its columns all lie inside the image, so count them "
        "all.": lambda case: 24,
    },
    seed=504,
)


def _simple_cnn5_jump(case: Case) -> int:
    """Measured: how far apart the gradient boxes of two neighbouring output cells start."""
    body = simple_cnn_like(ks=5)[:-1]
    return _measured_box(body, 192, 2, 3).left - _measured_box(body, 192, 2, 2).left


QUIZ_JUMP = Exercise(
    key="quiz_jump",
    chapter=CHAPTER,
    answer="quiz_jump",
    title="review question 3 (the jump)",
    points=1,
    kind="value",
    cases=quiz_case,
    reference=_simple_cnn5_jump,
    compare=compare_int,
    mistakes={
        _QUIZ_INT_HINT: _simple_cnn5_jump,
        "2 is the last layer's own stride, counted in cells of its input; in input pixels every stride before "
        "it multiplies the step too.": lambda case: 2,
        "that is the size of one field; neighbouring fields overlap, so they start much closer than that.":
            lambda case: 125,
        "that is the jump *before* the last layer: the last layer's own stride multiplies it once more.":
            lambda case: 16,
        "that counts one stride too many: the jump is the product of the five layers' strides.":
            lambda case: 64,
        "strides multiply, they do not add: each stride-2 layer doubles the distance between fields.":
            lambda case: 10,
        "that is the jump of the chapter's two-layer example; this stack has five stride-2 layers.":
            lambda case: 4,
    },
    seed=505,
)

EXERCISES = [RECEPTIVE_FIELDS, INPUT_REGION, QUIZ_SIMPLE_CNN_FIELD, QUIZ_EDGE_PIXELS, QUIZ_JUMP]
