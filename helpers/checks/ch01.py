"""Exercise checks for chapter 1, "Convolution by hand".

Each check compares the learner's answer with an independent computation on
random images: ``torch.nn.functional.conv2d`` for whole convolutions, plain
slicing for what an edge kernel should respond to.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .core import (
    CONVOLUTION_OPS,
    Case,
    compare_equal,
    compare_number,
    compare_tensor,
    Exercise,
    quiz_case,
    randint,
    random_image,
)

CHAPTER = "01-convolution-by-hand"


def _conv(img: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Reference: PyTorch's own convolution (a cross-correlation, no flip) of one 2-D image."""
    return F.conv2d(img[None, None].double(), kernel[None, None].double())[0, 0]


# -- top_edge -------------------------------------------------------------

def _top_edge_cases(g: torch.Generator, hidden: bool) -> list[Case]:
    sizes = [(9, 9), (6, 11), (14, 5)] if hidden else [(7, 7)]
    return [Case((random_image(g, h, w),), f"a random {h}x{w} image") for h, w in sizes]


def _as_kernel(value, name: str) -> torch.Tensor:
    if type(value) is not torch.Tensor:
        raise TypeError(f"`{name}` should be a torch.Tensor, it is a {type(value).__name__}")
    if tuple(value.shape) != (3, 3):
        raise ValueError(f"`{name}` should have shape (3, 3), it has shape {tuple(value.shape)}")
    if not value.dtype.is_floating_point:
        raise TypeError(f"`{name}` should hold floats (add .float()), it has dtype {value.dtype}")
    return value


def _response(value, case: Case) -> torch.Tensor:
    """What the kernel computes at every position of the case's image."""
    return _conv(case.args[0], _as_kernel(value, "top_edge")).float()


def _top_edge_expected(case: Case) -> torch.Tensor:
    """A top-edge detector: (sum of the row below) minus (sum of the row above), by slicing."""
    img = case.args[0].double()
    rows = img[2:] - img[:-2]
    return (rows[:, :-2] + rows[:, 1:-1] + rows[:, 2:]).float()


def _bottom_edge_response(case: Case) -> torch.Tensor:
    return -_top_edge_expected(case)


def _left_edge_response(case: Case) -> torch.Tensor:
    img = case.args[0].double()
    cols = img[:, 2:] - img[:, :-2]
    return (cols[:-2] + cols[1:-1] + cols[2:]).float()


TOP_EDGE = Exercise(
    key="top_edge",
    chapter=CHAPTER,
    answer="top_edge",
    title="the top_edge kernel",
    points=1,
    kind="value",
    cases=_top_edge_cases,
    run=_response,
    reference=_top_edge_expected,
    compare=compare_tensor,
    mistakes={
        "your kernel finds bottom edges: the row of -1s belongs at the top, the row of 1s at the bottom.":
            _bottom_edge_response,
        "your kernel finds vertical (left) edges: put the -1s in the top row, not the left column.":
            _left_edge_response,
    },
    seed=101,
)


# -- apply_kernel -----------------------------------------------------------

def _apply_kernel_cases(g: torch.Generator, hidden: bool) -> list[Case]:
    shapes = [(6, 13), (11, 7), (9, 9), (5, 16)] if hidden else [(8, 8)]
    cases = []
    for h, w in shapes:
        img = random_image(g, h, w)
        kernel = torch.randn(3, 3, generator=g)
        positions = [(1, 1), (h - 2, w - 2)] if hidden else []
        positions += [(randint(g, 1, h - 2), randint(g, 1, w - 2)) for _ in range(6 if hidden else 4)]
        for row, col in positions:
            cases.append(Case((img, row, col, kernel),
                              f"a {h}x{w} image at row={row}, col={col}"))
    return cases


def _apply_kernel_expected(case: Case) -> float:
    img, row, col, kernel = case.args
    return float(_conv(img, kernel)[row - 1, col - 1])


def _apply_kernel_flipped(case: Case) -> float:
    img, row, col, kernel = case.args
    return float(_conv(img, kernel.flip(0, 1))[row - 1, col - 1])


def _apply_kernel_corner(case: Case) -> float:
    img, row, col, kernel = case.args
    full = _conv(img, kernel)
    if row >= full.shape[0] or col >= full.shape[1]:
        return float("nan")
    return float(full[row, col])


APPLY_KERNEL = Exercise(
    key="apply_kernel",
    chapter=CHAPTER,
    answer="apply_kernel",
    title="apply_kernel(img, row, col, kernel)",
    points=2,
    cases=_apply_kernel_cases,
    reference=_apply_kernel_expected,
    compare=compare_number,
    mistakes={
        "you flipped the kernel, as the mathematicians' convolution does. PyTorch (and this course) computes the "
        "cross-correlation: each kernel weight times the pixel in the same position of the window, no flip "
        "(see \"Convolution or cross-correlation?\" in chapter 1).": _apply_kernel_flipped,
        "the 3x3 window must be centred on (row, col): rows row-1 to row+1 and columns col-1 to col+1, "
        "not starting at (row, col).": _apply_kernel_corner,
    },
    error_hints={
        "must match the size": "the block you cut out is not 3x3 here: centre it on (row, col), taking rows "
                               "row-1 to row+1 and columns col-1 to col+1 (a slice's end is excluded).",
    },
    forbid=CONVOLUTION_OPS,
    seed=102,
)


# -- convolve ----------------------------------------------------------------

def _convolve_cases(g: torch.Generator, hidden: bool) -> list[Case]:
    if hidden:
        shapes = [((9, 14), (3, 3)), ((12, 7), (3, 3)), ((8, 10), (2, 5)), ((10, 6), (5, 1)), ((5, 5), (5, 5))]
    else:
        shapes = [((8, 8), (3, 3)), ((9, 13), (3, 3))]  # an image that is not square
    cases = []
    for (h, w), (kh, kw) in shapes:
        cases.append(Case((random_image(g, h, w), torch.randn(kh, kw, generator=g)),
                          f"a {h}x{w} image and a {kh}x{kw} kernel"))
    return cases


def _convolve_expected(case: Case) -> torch.Tensor:
    img, kernel = case.args
    return _conv(img, kernel).float()


def _convolve_flipped(case: Case) -> torch.Tensor:
    img, kernel = case.args
    return _conv(img, kernel.flip(0, 1)).float()


def _convolve_transposed(case: Case) -> torch.Tensor:
    img, kernel = case.args
    return _conv(img.T, kernel.T).float()


CONVOLVE = Exercise(
    key="convolve",
    chapter=CHAPTER,
    answer="convolve",
    title="convolve(img, kernel)",
    points=3,
    cases=_convolve_cases,
    reference=_convolve_expected,
    compare=compare_tensor,
    mistakes={
        "you flipped the kernel, as the mathematicians' convolution does; PyTorch and this course compute the "
        "cross-correlation: multiply each weight with the pixel in the same position of the window.":
            _convolve_flipped,
        "rows and columns are swapped: the output has one row per kernel position down the image "
        "(height - kernel height + 1 rows).": _convolve_transposed,
    },
    error_hints={
        "must match the size": "a window did not have the kernel's shape: use img.shape[0] and kernel.shape[0] "
                               "for rows, img.shape[1] and kernel.shape[1] for columns (images and kernels "
                               "need not be square).",
        "out of bounds": "an index ran past the image: there are h - kh + 1 positions down and w - kw + 1 across.",
    },
    forbid=CONVOLUTION_OPS,
    seed=103,
)


# -- review quiz ---------------------------------------------------------------

def _quiz_size_expected(case: Case) -> tuple[int, int]:
    """Measured, not computed: the shape PyTorch gives a 3x3 kernel on a 28x28 digit."""
    return tuple(int(s) for s in F.conv2d(torch.zeros(1, 1, 28, 28), torch.zeros(1, 1, 3, 3)).shape[-2:])


QUIZ_OUTPUT_SIZE = Exercise(
    key="quiz_output_size",
    chapter=CHAPTER,
    answer="quiz_output_size",
    title="review question 1 (output size)",
    points=1,
    kind="value",
    cases=quiz_case,
    reference=_quiz_size_expected,
    compare=compare_equal,
    mistakes={"a 3x3 kernel needs a pixel on every side of its centre, so it cannot be centred on the "
              "outermost row or column.": lambda case: (28, 28)},
    seed=104,
)

#: The edge kernels a learner can name in the quiz, derived here from first principles.
_EDGE_NAMES = ("top_edge", "bottom_edge", "left_edge", "right_edge")


def _named_kernel(name: str) -> torch.Tensor:
    """Build a named edge kernel from its description: -1s on the dark side, 1s on the bright side."""
    kernel = torch.zeros(3, 3)
    side = {"top_edge": (0, 2, "rows"), "bottom_edge": (2, 0, "rows"),
            "left_edge": (0, 2, "cols"), "right_edge": (2, 0, "cols")}[name]
    dark, bright, axis = side
    if axis == "rows":
        kernel[dark], kernel[bright] = -1, 1
    else:
        kernel[:, dark], kernel[:, bright] = -1, 1
    return kernel


def _quiz_kernel_cases(g: torch.Generator, hidden: bool) -> list[Case]:
    img = torch.zeros(9, 9)
    img[:, 5:] = 1.0  # dark on the left, bright from column 5: a vertical stroke's left edge
    return [Case((img,), "a dark-to-bright vertical edge")]


def _strongest(case: Case, names=_EDGE_NAMES) -> str:
    img = case.args[0]
    scores = {name: float(_conv(img, _named_kernel(name)).max()) for name in names}
    return max(scores, key=scores.get)


def _probe_name(value, case: Case) -> str:
    if type(value) is not str:
        raise TypeError(f"answer with one of {', '.join(map(repr, _EDGE_NAMES))} (a string)")
    return value.strip().strip("'\"")


QUIZ_LEFT_EDGE = Exercise(
    key="quiz_edge_kernel",
    chapter=CHAPTER,
    answer="quiz_edge_kernel",
    title="review question 2 (which kernel)",
    points=1,
    kind="value",
    cases=_quiz_kernel_cases,
    run=_probe_name,
    reference=_strongest,
    compare=compare_equal,
    seed=105,
)

EXERCISES = [TOP_EDGE, APPLY_KERNEL, CONVOLVE, QUIZ_OUTPUT_SIZE, QUIZ_LEFT_EDGE]
