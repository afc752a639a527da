"""Exercise checks for chapter 3, "Padding and strides".

Sizes are measured, not computed: the references run a real ``nn.Conv2d``
(or ``F.conv2d``) and read the shape it returns, so the formula the learner
writes is checked against what PyTorch does, floors included. Layers are
built on the meta device and then given uninitialised CPU storage, so no
reference draws from the notebook's random numbers.
"""

from __future__ import annotations

import math

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

CHAPTER = "03-padding-and-strides"


def whole(value):
    """A NumPy scalar as the Python number it is (``np.int64(14)`` -> ``14``, ``np.float64(14.0)`` -> ``14.0``).

    Runs where the learner's function runs, before the result is copied to plain data, so that a
    correct size computed with NumPy is accepted, and a NumPy float is judged as the float it is (a
    size must be an int) instead of being refused as an unknown type. Anything else is unchanged.
    """
    import numpy as np

    if isinstance(value, np.integer):
        return int(value)
    return float(value) if isinstance(value, np.floating) else value


def measured_size(n: int, ks: int, pad: int, stride: int) -> int:
    """The height of what a real ``nn.Conv2d(1, 1, ks, stride=stride, padding=pad)`` returns for ``n`` input rows.

    The layer is built on the meta device and given uninitialised CPU storage: its output's values
    are meaningless, but its shape is what PyTorch really computes, and no random number is drawn.
    """
    layer = torch.nn.Conv2d(1, 1, ks, stride=stride, padding=pad, bias=False, device="meta").to_empty(device="cpu")
    width = max(ks, 3)
    with torch.no_grad():
        return int(layer(torch.zeros(1, 1, n, width)).shape[-2])


# -- output_size --------------------------------------------------------------------

#: Cases every run includes: pad > 0 (so n + pad - ks is wrong), floors that matter, stride 1.
_SIZE_VISIBLE = [(28, 3, 0, 1), (28, 3, 1, 1), (28, 5, 2, 1), (28, 3, 1, 2), (7, 3, 1, 2), (6, 3, 0, 2),
                 (10, 4, 0, 3), (14, 3, 1, 2)]
_SIZE_HIDDEN = [(5, 5, 0, 1), (1, 3, 1, 1), (9, 2, 1, 2), (17, 7, 3, 4), (64, 3, 1, 2), (31, 4, 1, 3),
                (4, 3, 1, 2), (2, 3, 1, 1), (100, 11, 5, 4), (8, 1, 0, 3), (13, 5, 0, 5)]


def _size_cases(g: torch.Generator, hidden: bool) -> list[Case]:
    fixed = _SIZE_HIDDEN + _SIZE_VISIBLE if hidden else _SIZE_VISIBLE
    drawn = []
    while len(drawn) < (40 if hidden else 4):
        ks, pad, stride = randint(g, 1, 7), randint(g, 0, 3), randint(g, 1, 4)
        n = randint(g, 1, 40)
        if n + 2 * pad >= ks:
            drawn.append((n, ks, pad, stride))
    return [Case((n, ks, pad, stride), f"n={n}, ks={ks}, pad={pad}, stride={stride}")
            for n, ks, pad, stride in fixed + drawn]


def _size_expected(case: Case) -> int:
    return measured_size(*case.args)


def _size_run(answer, case: Case):
    return whole(answer(*case.args))


def _size_formula(numerator, stride_divide, plus_one=1):
    def model(case: Case):
        n, ks, pad, stride = case.args
        return stride_divide(numerator(n, ks, pad), stride) + plus_one
    return model


_SIZE_HINTS = {
    "padding is added on both sides, so it counts twice: n + 2*pad - ks, not n + pad - ks.":
        _size_formula(lambda n, k, p: n + p - k, lambda a, s: a // s),
    "the number of positions is a whole number: use // (floor division), not /.":
        _size_formula(lambda n, k, p: n + 2 * p - k, lambda a, s: a / s),
    "you are missing the + 1 (or added it before dividing): (n + 2*pad - ks) // stride counts the steps, "
    "and the + 1 after it counts the first position; with n + 2*pad == ks the kernel still fits once.":
        _size_formula(lambda n, k, p: n + 2 * p - k, lambda a, s: a // s, plus_one=0),
    "round() rounds to the nearest whole number (and halves to even): the count of positions rounds "
    "down, use // (floor division).": _size_formula(lambda n, k, p: n + 2 * p - k, lambda a, s: round(a / s)),
    "round down, not up: a last step that would run past the (padded) input is not taken, so the "
    "formula floors: (n + 2*pad - ks) // stride + 1.":
        _size_formula(lambda n, k, p: n + 2 * p - k, lambda a, s: math.ceil(a / s)),
    "the stride is missing: the kernel moves stride pixels at a time, so divide (n + 2*pad - ks) by it.":
        _size_formula(lambda n, k, p: n + 2 * p - k, lambda a, s: a),
    "the padding is missing: pad zeros on each side make the input n + 2*pad pixels long before the "
    "kernel slides.": _size_formula(lambda n, k, p: n - k, lambda a, s: a // s),
    "the right numbers, but as floats (14.0): a size is an int; math.floor and // give ints, "
    "np.floor and / give floats.": lambda case: float(measured_size(*case.args)),
    "brackets: // binds tighter than + and -, so n + 2*pad - ks // stride divides only ks; write "
    "(n + 2*pad - ks) // stride + 1.": lambda case: (lambda n, k, p, s: n + 2 * p - k // s + 1)(*case.args),
}

OUTPUT_SIZE = Exercise(
    key="output_size",
    chapter=CHAPTER,
    answer="output_size",
    title="output_size(n, ks, pad, stride)",
    points=2,
    cases=_size_cases,
    reference=_size_expected,
    run=_size_run,
    compare=compare_int,
    mistakes=_SIZE_HINTS,
    seed=301,
)


# -- same_padding --------------------------------------------------------------------------

RAISES = "raises ValueError"


def _same_cases(g: torch.Generator, hidden: bool) -> list[Case]:
    # ks=2 and ks=4 visibly: an answer that refuses only some even kernels (ks >= 4, say) must not pass
    sizes = [3, 9, 11, 1, 13, 2, 6, 15, 8, 4] if hidden else [1, 3, 5, 7, 2, 4]
    return [Case((ks,), f"ks={ks}") for ks in sizes]


def _run_same(answer, case: Case):
    """Call the learner's function; a ValueError is an answer here (for even kernels).

    For an even kernel any other exception, or an exception returned instead of raised, is recorded
    by its name ("raises AssertionError"), so the verdict can say which error the exercise asks for.
    The stub's ``NotImplementedError`` stays an error: the exercise is then not attempted.
    """
    (ks,) = case.args
    try:
        got = answer(ks)
    except ValueError:
        return RAISES
    except NotImplementedError:
        raise
    except Exception as exc:  # noqa: BLE001 - the wrong error is the learner's answer for an even kernel
        if ks % 2 == 0:
            return f"raises {type(exc).__name__}"
        raise
    if isinstance(got, BaseException):
        return f"returns {type(got).__name__}"
    return whole(got)


def _same_expected(case: Case):
    """The symmetric padding that keeps two sizes through a real layer, or RAISES if none does."""
    (ks,) = case.args
    keeps = [p for p in range(ks + 1) if all(measured_size(n, ks, p, 1) == n for n in (ks + 3, 2 * ks + 10))]
    return keeps[0] if keeps else RAISES


def _compare_same(got, expected, case: Case) -> str | None:
    (ks,) = case.args
    if expected == RAISES:
        if got == RAISES:
            return None
        if isinstance(got, str) and got.startswith("raises "):
            return (f"no symmetric padding keeps the size for an even kernel (ks={ks}), so same_padding should "
                    f"raise a ValueError; it raised {got.split()[1]}")
        if isinstance(got, str) and got.startswith("returns "):
            return (f"no symmetric padding keeps the size for an even kernel (ks={ks}), so same_padding should "
                    f"raise a ValueError; it returned a {got.split()[1]} object instead of raising it")
        return (f"no symmetric padding keeps the size for an even kernel (ks={ks}), so same_padding should "
                f"raise a ValueError; it returned {got!r}")
    if got == RAISES:
        return f"raised ValueError for an odd kernel (ks={ks}); an odd kernel has a padding that keeps the size"
    return compare_int(got, expected, case)


def _same_model(odd, even=lambda ks: RAISES):
    """A wrong same_padding: ``odd(ks)`` for odd kernels, ``even(ks)`` for even ones."""
    return lambda case: odd(case.args[0]) if case.args[0] % 2 else even(case.args[0])


SAME_PADDING = Exercise(
    key="same_padding",
    chapter=CHAPTER,
    answer="same_padding",
    title="same_padding(ks)",
    points=1,
    cases=_same_cases,
    reference=_same_expected,
    run=_run_same,
    compare=_compare_same,
    mistakes={
        # First: floats for odd kernels and a ValueError for even ones; then the same without the ValueError.
        "the numbers are right but they are floats (1.0 instead of 1): use // (floor division), not /; "
        "a padding is a whole number of pixels.": _same_model(lambda ks: (ks - 1) / 2),
        "(ks - 1) / 2 is a float (use //, a padding is a whole number of pixels), and for an even ks no "
        "whole padding keeps the size: raise ValueError when ks % 2 == 0.":
            _same_model(lambda ks: (ks - 1) / 2, lambda ks: (ks - 1) / 2),
        "for an even ks there is no answer: ks//2 on each side adds ks rows in all, one more than the "
        "ks - 1 that keep the size. Raise ValueError when ks % 2 == 0.": lambda case: case.args[0] // 2,
        "for an even ks there is no answer: (ks - 1)//2 on each side adds ks - 2 rows in all, one fewer than "
        "the ks - 1 that keep the size. Raise ValueError when ks % 2 == 0.":
            lambda case: (case.args[0] - 1) // 2,
        "use // (floor division): a padding is a whole number of pixels.": lambda case: case.args[0] / 2,
        "ks - 1 is the padding of both sides together; each side gets half of it.":
            lambda case: case.args[0] - 1,
        "one pixel too many: (ks + 1)//2 on each side makes the output 2 pixels larger than the input.":
            lambda case: (case.args[0] + 1) // 2,
        "only even kernels have no answer: an odd ks has a padding that keeps the size; raise ValueError "
        "only when ks % 2 == 0.": lambda case: RAISES,
        "the test is inverted: an odd ks has a padding that keeps the size and an even ks has none; raise "
        "ValueError only when ks % 2 == 0.": _same_model(lambda ks: RAISES, lambda ks: ks // 2),
        "for an even ks the function returned None: print() or a bare return does not stop the caller; "
        "write raise ValueError(\"...\").": _same_model(lambda ks: ks // 2, lambda ks: None),
        "assert raises an AssertionError (and is skipped under python -O); the exercise asks for "
        "raise ValueError(\"...\") for an even ks.":
            _same_model(lambda ks: ks // 2, lambda ks: "raises AssertionError"),
        "a TypeError is for an argument of the wrong type; an even ks is an int with a value that has no "
        "answer: raise ValueError(\"...\").": _same_model(lambda ks: ks // 2, lambda ks: "raises TypeError"),
        "`return ValueError(...)` hands the error back as a value; `raise ValueError(...)` stops the "
        "function with it.": _same_model(lambda ks: ks // 2, lambda ks: "returns ValueError"),
    },
    seed=302,
)


# -- conv2d_padded ------------------------------------------------------------------------------

def _padded_cases(g: torch.Generator, hidden: bool) -> list[Case]:
    # (h, w, kh, kw, pad, stride)
    if hidden:
        shapes = [(9, 14, 3, 3, 1, 2), (12, 7, 2, 4, 1, 1), (10, 13, 5, 3, 2, 3), (6, 6, 3, 3, 0, 1),
                  (11, 8, 4, 4, 2, 2), (7, 9, 1, 3, 0, 2), (5, 5, 5, 5, 2, 1), (8, 11, 3, 2, 3, 4)]
    else:
        shapes = [(8, 8, 3, 3, 1, 1), (9, 9, 3, 3, 1, 2), (6, 9, 3, 3, 0, 2), (7, 10, 2, 4, 1, 2)]
    cases = []
    for h, w, kh, kw, pad, stride in shapes:
        cases.append(Case((random_image(g, h, w), torch.randn(kh, kw, generator=g), pad, stride),
                          f"a {h}x{w} image, a {kh}x{kw} kernel, pad={pad}, stride={stride}"))
    return cases


def _conv(img, kernel, pad=0, stride=1) -> torch.Tensor:
    return F.conv2d(img[None, None].double(), kernel[None, None].double(), stride=stride, padding=pad)[0, 0].float()


def _padded_expected(case: Case) -> torch.Tensor:
    return _conv(*case.args)


def _one_sided(case: Case) -> torch.Tensor:
    img, kernel, pad, stride = case.args
    return _conv(F.pad(img, (0, 2 * pad, 0, 2 * pad)), kernel, 0, stride)


def _columns_only(case: Case) -> torch.Tensor:
    """``F.pad(img, (pad, pad))``: a 2-tuple pads only the last axis, the columns."""
    img, kernel, pad, stride = case.args
    return _conv(F.pad(img, (pad, pad)), kernel, 0, stride)


def _replicated(case: Case) -> torch.Tensor:
    """The border pixels repeated instead of zeros (``mode="replicate"``)."""
    img, kernel, pad, stride = case.args
    return _conv(F.pad(img[None, None], (pad,) * 4, mode="replicate")[0, 0], kernel, 0, stride)


def _windows_step_one(case: Case) -> torch.Tensor:
    """The right number of outputs, but the window of output [i, j] starts at (i, j), not (i*stride, j*stride)."""
    rows, cols = _padded_expected(case).shape
    return _conv(*case.args[:3], 1)[:rows, :cols]


def _size_without_padding(case: Case) -> torch.Tensor:
    """Windows from the padded image, but only (h - kh)//stride + 1 rows (and columns likewise)."""
    img, kernel, pad, stride = case.args
    rows = (img.shape[0] - kernel.shape[0]) // stride + 1
    cols = (img.shape[1] - kernel.shape[1]) // stride + 1
    return _padded_expected(case)[:rows, :cols]


CONV2D_PADDED = Exercise(
    key="conv2d_padded",
    chapter=CHAPTER,
    answer="conv2d_padded",
    title="conv2d_padded(img, kernel, pad, stride)",
    points=3,
    cases=_padded_cases,
    reference=_padded_expected,
    compare=compare_tensor,
    mistakes={
        "the padding is missing: surround the image with pad rows and columns of zeros on every side before "
        "sliding the kernel.": lambda case: _conv(case.args[0], case.args[1], 0, case.args[3]),
        "the stride is missing: output [i, j] uses the window whose top-left corner is at "
        "(i*stride, j*stride) of the padded image.": lambda case: _conv(*case.args[:3], 1),
        "the zeros all went below and to the right: put the image at [pad:pad+h, pad:pad+w] of the padded "
        "array, with pad zeros on each side.": _one_sided,
        "you flipped the kernel (the mathematicians' convolution); PyTorch and this course compute the "
        "cross-correlation: multiply each weight with the pixel in the same position of the window.":
            lambda case: _conv(case.args[0], case.args[1].flip(0, 1), *case.args[2:]),
        "F.pad(img, (pad, pad)) pads only the columns: its tuple lists (left, right, top, bottom), so pad "
        "the rows too with (pad, pad, pad, pad).": _columns_only,
        "the padding must be zeros: repeating the border pixels (mode='replicate') changes every output "
        "whose window reaches the border.": _replicated,
        "the number of outputs is right but the windows do not move by stride: output [i, j] uses the "
        "window whose top-left corner is at (i*stride, j*stride), not (i, j).": _windows_step_one,
        "too few outputs: count the positions on the padded image, (h + 2*pad - kh)//stride + 1 rows and "
        "(w + 2*pad - kw)//stride + 1 columns; the padding adds positions too.": _size_without_padding,
    },
    error_hints={
        "must be computed by hand": "write the two loops over the output rows and columns yourself: slice "
                                    "each window of the padded image, multiply it by the kernel element by "
                                    "element, and sum.",
        "cannot be multiplied": "@ is the matrix product; a window and the kernel are multiplied element by "
                                "element with *, then summed.",
        "got a numpy": "return a torch.Tensor (create the output with torch.zeros), not a NumPy array.",
        "must match the size": "a window ran past the padded image: there are (n + 2*pad - ks)//stride + 1 "
                               "positions along each axis, computed separately for rows (h, kh) and "
                               "columns (w, kw).",
        "out of bounds": "an index ran past the output or the image: count the positions along each axis "
                         "with (n + 2*pad - ks)//stride + 1, rows and columns separately.",
    },
    forbid=CONVOLUTION_OPS,
    seed=303,
)


# -- review quiz ------------------------------------------------------------------------------------

def _quiz_layer_expected(case: Case) -> tuple[int, ...]:
    """Measured: a real stride-2 layer on a non-square batch."""
    layer = torch.nn.Conv2d(3, 8, kernel_size=3, stride=2, padding=1, device="meta").to_empty(device="cpu")
    with torch.no_grad():
        return tuple(int(s) for s in layer(torch.zeros(1, 3, 15, 20)).shape)


QUIZ_STRIDE_SHAPE = Exercise(
    key="quiz_stride_shape",
    chapter=CHAPTER,
    answer="quiz_stride_shape",
    title="review question 1 (a stride-2 layer)",
    points=1,
    kind="value",
    cases=quiz_case,
    reference=_quiz_layer_expected,
    compare=compare_equal,
    mistakes={
        "the padding is missing: padding=1 adds a row and a column of zeros on every side before the kernel "
        "slides, n + 2*pad - ks.": lambda case: (1, 8, 7, 9),
        "the padding counts twice (once on each side): n + 2*pad - ks.": lambda case: (1, 8, 7, 10),
        "round down: a last step that would run past the padded input is not taken, so the count of steps "
        "is floored (//) before the + 1.": lambda case: (1, 8, 8, 11),
        "the channel axis of the output holds one map per kernel: out_channels, not in_channels.":
            lambda case: (1, 3, 8, 10),
        "the batch axis stays: a layer's output is [N, C, H, W], batch first.": lambda case: (8, 8, 10),
        "a shape is a tuple: write it in round brackets (or tuple(...)), not as a list.":
            lambda case: list(_quiz_layer_expected(case)),
        "the stride is missing: at stride 2 the kernel moves two pixels at a time, so the map shrinks.":
            lambda case: (1, 8, 15, 20),
        "height comes before width: [N, C, H, W], and the input is 15 rows by 20 columns.":
            lambda case: (1, 8, 10, 8),
        "use floor division: a size is a whole number of positions, (n + 2*pad - ks)//stride + 1.":
            lambda case: (1, 8, 8.0, 10.5),
    },
    seed=304,
)


def _quiz_even_expected(case: Case) -> int:
    """Searched: the total number of zero rows (split as evenly as possible) that keeps a height of 12 under a
    6x6 kernel."""
    kernel = torch.zeros(1, 1, 6, 6)
    for total in range(12):
        top = total // 2
        x = F.pad(torch.zeros(1, 1, 12, 12), (0, 0, top, total - top))
        if F.conv2d(x, kernel).shape[-2] == 12:
            return total
    raise AssertionError("no padding keeps the size")


QUIZ_EVEN_PADDING = Exercise(
    key="quiz_even_padding",
    chapter=CHAPTER,
    answer="quiz_even_padding",
    title="review question 2 (an even kernel)",
    points=1,
    kind="value",
    cases=quiz_case,
    reference=_quiz_even_expected,
    compare=compare_int,
    mistakes={
        "ks//2 rows on each side keeps the size only for an odd kernel: count the rows your total gives, "
        "n + total - ks + 1, and it is more than 12.": lambda case: 6,
        "(ks - 1)//2 rows on each side is too little for an even kernel: count the rows it gives, "
        "n + total - ks + 1, and it is fewer than 12. Top and bottom need not get the same number of rows.":
            lambda case: 4,
        "that is the padding of one side, rounded down; the question asks for top plus bottom, and the two "
        "need not be equal.": lambda case: 2,
        "a padding per side of a fraction of a pixel does not exist; the question asks for the total number "
        "of whole rows, top plus bottom.": lambda case: 2.5,
        "without padding the output has n - ks + 1 rows, fewer than 12: some rows of zeros are needed, "
        "split unevenly between top and bottom.": lambda case: 0,
        "ks - 1 rows on each side is the padding that lets the kernel reach every pixel with a single cell "
        "(a 'full' convolution) and makes the output larger; count the rows with n + total - ks + 1.":
            lambda case: 10,
        "a number of rows is an int: write it without a decimal point.":
            lambda case: float(_quiz_even_expected(case)),
    },
    seed=305,
)


def _quiz_unused_expected(case: Case) -> int:
    """Measured by gradients: columns of a 6x6 input that no stride-2 3x3 window touches."""
    x = torch.ones(1, 1, 6, 6, requires_grad=True)
    F.conv2d(x, torch.ones(1, 1, 3, 3), stride=2).sum().backward()
    return int((x.grad[0, 0].abs().sum(0) == 0).sum())


QUIZ_UNUSED = Exercise(
    key="quiz_unused_columns",
    chapter=CHAPTER,
    answer="quiz_unused_columns",
    title="review question 3 (what the floor drops)",
    points=1,
    kind="value",
    cases=quiz_case,
    reference=_quiz_unused_expected,
    compare=compare_int,
    mistakes={
        "list the columns each position covers: a window starts at 0, 2, 4, ... only while all 3 of its "
        "columns exist in an image of 6 columns (0 to 5); the last step is not taken if it would run past.":
            lambda case: 0,
        "that is the number of positions of the kernel; the question asks how many columns no position "
        "covers: list the columns each position covers.": lambda case: 2,
        "n - ks is where the last window could start, not a count of columns: list the columns each "
        "position covers.": lambda case: 3,
        "a window covers all 3 of its columns, not only the column where it starts.": lambda case: 4,
        "a number of columns is an int: write it without a decimal point.":
            lambda case: float(_quiz_unused_expected(case)),
        "the question asks how many columns (an int), not which ones (a list).":
            lambda case: [5],
    },
    seed=306,
)

EXERCISES = [SAME_PADDING, OUTPUT_SIZE, CONV2D_PADDED, QUIZ_STRIDE_SHAPE, QUIZ_EVEN_PADDING, QUIZ_UNUSED]  # notebook order
