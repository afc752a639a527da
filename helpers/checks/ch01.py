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
    type_name,
)

CHAPTER = "01-convolution-by-hand"


def _conv(img: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Reference: PyTorch's own convolution (a cross-correlation, no flip) of one 2-D image."""
    return F.conv2d(img[None, None].double(), kernel[None, None].double())[0, 0]


# -- top_edge -------------------------------------------------------------

def _top_edge_cases(g: torch.Generator, hidden: bool) -> list[Case]:
    sizes = [(9, 9), (6, 11), (14, 5)] if hidden else [(7, 7)]
    return [Case((random_image(g, h, w),), f"a random {h}x{w} image") for h, w in sizes]


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


def _compare_kernel(got, expected: torch.Tensor, case: Case) -> str | None:
    """A 3x3 float tensor first, then what it computes on the case's image against the expected response."""
    if type(got) is not torch.Tensor:
        return f"`top_edge` should be a torch.Tensor, it is {type_name(got)}"
    if tuple(got.shape) != (3, 3):
        return f"`top_edge` should be a 3x3 tensor, it has shape {tuple(got.shape)}"
    if not got.dtype.is_floating_point:
        return f"`top_edge` should hold floats, it has dtype {got.dtype}"
    problem = compare_tensor(_conv(case.args[0], got).float(), expected, case)
    return problem and f"its response {problem}"


def _top_edge_expected(case: Case) -> torch.Tensor:
    """A top-edge detector: (sum of the row below) minus (sum of the row above), by slicing."""
    img = case.args[0].double()
    rows = img[2:] - img[:-2]
    return (rows[:, :-2] + rows[:, 1:-1] + rows[:, 2:]).float()


#: Whole kernels some learners write instead (a hint names each only when the learner's is exactly it).
_SOBEL = torch.tensor([[-1.0, -2.0, -1.0], [0.0, 0.0, 0.0], [1.0, 2.0, 1.0]])


TOP_EDGE = Exercise(
    key="top_edge",
    chapter=CHAPTER,
    answer="top_edge",
    title="the top_edge kernel",
    points=1,
    kind="value",
    cases=_top_edge_cases,
    reference=_top_edge_expected,
    compare=_compare_kernel,
    mistakes={
        "your kernel finds bottom edges: the row of -1s belongs at the top, the row of 1s at the bottom.":
            lambda case: _named_kernel("bottom_edge"),
        "your kernel finds vertical (left) edges: put the -1s in the top row, not the left column.":
            lambda case: _named_kernel("left_edge"),
        "your kernel finds vertical (right) edges: the -1s go in the top row and the 1s in the bottom row.":
            lambda case: _named_kernel("right_edge"),
        "the numbers are right but they are integers: add .float() (or write them as -1., 0., 1.).":
            lambda case: _named_kernel("top_edge").long(),
        "that is a nested Python list: wrap it in torch.tensor(...) and make it floats.":
            lambda case: _named_kernel("top_edge").tolist(),
        "the nine numbers are in one row: a kernel is 3x3, one inner list per row of the kernel.":
            lambda case: _named_kernel("top_edge").flatten(),
        "that is the Sobel kernel, which weights the middle column twice; this exercise's kernel weighs the "
        "three columns alike.": lambda case: _SOBEL,
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


def _with_kernel(case: Case, change) -> Case:
    """The same case with its kernel (the last argument) changed."""
    return Case((*case.args[:-1], change(case.args[-1])), case.label, case.extra)


def _window(img: torch.Tensor, top: int, left: int) -> torch.Tensor | None:
    """The 3x3 block with its top-left corner at (top, left), or ``None`` where it does not fit."""
    if top < 0 or left < 0 or top + 3 > img.shape[0] or left + 3 > img.shape[1]:
        return None
    return img[top:top + 3, left:left + 3].double()


def _apply_kernel_corner(case: Case) -> float:
    img, row, col, kernel = case.args
    block = _window(img, row, col)
    return float("nan") if block is None else float((block * kernel.double()).sum())


def _apply_kernel_ending(case: Case) -> float:
    img, row, col, kernel = case.args
    block = _window(img, row - 2, col - 2)
    return float("nan") if block is None else float((block * kernel.double()).sum())


def _apply_kernel_swapped(case: Case) -> float:
    img, row, col, kernel = case.args
    block = _window(img, col - 1, row - 1)
    return float("nan") if block is None else float((block * kernel.double()).sum())


def _apply_kernel_block(case: Case) -> torch.Tensor:
    img, row, col, kernel = case.args
    return (_window(img, row - 1, col - 1) * kernel.double()).float()


def _apply_kernel_pixels(case: Case) -> float:
    img, row, col, kernel = case.args
    return float(_window(img, row - 1, col - 1).sum())


def _apply_kernel_matmul(case: Case) -> float:
    img, row, col, kernel = case.args
    return float((_window(img, row - 1, col - 1) @ kernel.double()).sum())


_CENTRED = ("the 3x3 block must be centred on (row, col): rows row-1 to row+1 and columns col-1 to col+1, "
            "that is img[row - 1:row + 2, col - 1:col + 2] (a slice's end is excluded).")
#: The hint for a forbidden shortcut, shared by the by-hand exercises of the chapter.
BY_HAND = ("this exercise is the multiply-and-add written by you, with slicing, * and .sum(); F.conv2d, "
           "nn.Conv2d, unfold and SciPy's or NumPy's sliding windows are switched off while the check runs.")


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
        "you turned the kernel upside down (its rows reversed); each weight multiplies the pixel in the same "
        "position of the block, no flip.": lambda case: _apply_kernel_expected(_with_kernel(case, lambda k: k.flip(0))),
        "you mirrored the kernel left to right (its columns reversed); each weight multiplies the pixel in the "
        "same position of the block, no flip.":
            lambda case: _apply_kernel_expected(_with_kernel(case, lambda k: k.flip(1))),
        "you transposed the kernel: kernel[u, v] multiplies the pixel u rows down and v columns across in the "
        "block (kernel[v, u] swaps them).": lambda case: _apply_kernel_expected(_with_kernel(case, lambda k: k.T)),
        "your block starts at (row, col), as a corner; " + _CENTRED: _apply_kernel_corner,
        "your block ends at (row, col), as a corner; " + _CENTRED: _apply_kernel_ending,
        "rows and columns are swapped: img[row, col] is row `row` (down) and column `col` (across), so the block "
        "is img[row - 1:row + 2, col - 1:col + 2].": _apply_kernel_swapped,
        "you returned the nine products: add them up (.sum()) into one number.": _apply_kernel_block,
        "the kernel is missing: multiply each pixel of the block by the kernel weight in the same place before "
        "adding.": _apply_kernel_pixels,
        "the nine products are the block times the kernel element by element (*), not the matrix product (@).":
            _apply_kernel_matmul,
        "you averaged the nine products; the value is their sum (no division by 9).":
            lambda case: _apply_kernel_expected(case) / 9,
    },
    error_hints={
        "must match the size": "the block you cut out is not 3x3 here; " + _CENTRED,
        "computed by hand": BY_HAND,
    },
    forbid=CONVOLUTION_OPS,
    seed=102,
)


# -- convolve ----------------------------------------------------------------

def _convolve_cases(g: torch.Generator, hidden: bool) -> list[Case]:
    if hidden:
        shapes = [((9, 14), (3, 3)), ((12, 7), (3, 3)), ((8, 10), (2, 5)), ((10, 6), (5, 1)), ((5, 5), (5, 5))]
    else:  # an image that is not square, then a kernel that is not square either
        shapes = [((8, 8), (3, 3)), ((9, 13), (3, 3)), ((7, 10), (2, 4))]
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


def _convolve_square_image(case: Case) -> torch.Tensor:
    """Width taken from the height: only the first h columns, where the image is at least as wide as tall."""
    img, kernel = case.args
    h, w = img.shape
    if h > w:
        raise ValueError("this mistake reads past the image here")
    return _conv(img[:, :h], kernel).float()


def _convolve_last_zero(case: Case) -> torch.Tensor:
    """The right shape, but the loops stop one position short: the last row and column stay 0."""
    out = _convolve_expected(case).clone()
    out[-1], out[:, -1] = 0, 0
    return out


def _convolve_image_size(case: Case) -> torch.Tensor:
    """An output the size of the image, filled from its top-left corner, zeros elsewhere."""
    img, kernel = case.args
    kh, kw = kernel.shape
    return F.pad(_convolve_expected(case), (0, kw - 1, 0, kh - 1))


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
        "you turned the kernel upside down (its rows reversed); each weight multiplies the pixel in the same "
        "position of the window, no flip.": lambda case: _convolve_expected(_with_kernel(case, lambda k: k.flip(0))),
        "you mirrored the kernel left to right (its columns reversed); each weight multiplies the pixel in the "
        "same position of the window, no flip.":
            lambda case: _convolve_expected(_with_kernel(case, lambda k: k.flip(1))),
        "you transposed the kernel: kernel[u, v] multiplies the pixel u rows down and v columns across in the "
        "window (kernel[v, u] swaps them).": lambda case: _convolve_expected(_with_kernel(case, lambda k: k.T)),
        "the image need not be square: take the number of columns from img.shape[1], not img.shape[0].":
            _convolve_square_image,
        "the last row and column of your map stayed 0: the loops must visit h - kh + 1 positions down and "
        "w - kw + 1 across (range(h - kh + 1)).": _convolve_last_zero,
        "your map is one row and one column short: a kh x kw kernel fits h - kh + 1 times down an image of h "
        "rows (and w - kw + 1 times across), not h - kh.": lambda case: _convolve_expected(case)[:-1, :-1],
        "you padded the image: this map has a value only where the whole kernel fits inside the image, "
        "(h - kh + 1) x (w - kw + 1) of them (padding comes in chapter 3).":
            lambda case: _conv(F.pad(case.args[0], (1, 1, 1, 1)), case.args[1]).float(),
        "your map has the image's size: the kernel fits only (h - kh + 1) x (w - kw + 1) times, and the map "
        "has exactly that many values.": _convolve_image_size,
        "your map holds whole numbers: create it with torch.zeros(...), which holds floats, not with an "
        "integer dtype (values written into an integer tensor are cut to whole numbers).":
            lambda case: _convolve_expected(case).trunc(),
    },
    error_hints={
        "must match the size": "a window did not have the kernel's shape: use img.shape[0] and kernel.shape[0] "
                               "for rows, img.shape[1] and kernel.shape[1] for columns (images and kernels "
                               "need not be square).",
        "out of bounds": "an index ran past the end of a tensor: there are h - kh + 1 positions down and w - kw + 1 "
                         "across, and the kernel has kernel.shape[0] rows and kernel.shape[1] columns.",
        "numpy.ndarray": "return a torch tensor (torch.from_numpy(...) turns a NumPy array into one), not a "
                         "NumPy array.",
        "computed by hand": BY_HAND,
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
    mistakes={
        "a 3x3 kernel needs a pixel on every side of its centre, so it cannot be centred on the "
        "outermost row or column.": lambda case: (28, 28),
        "a kernel of k rows fits n - k + 1 times down n rows: count the first position too.":
            lambda case: (25, 25),
        "a 3x3 kernel cannot be centred on the first row nor on the last one: the map loses a row at the top "
        "and one at the bottom (and a column on each side).": lambda case: (27, 27),
        "answer with a tuple (rows, columns), in round brackets, not a list.":
            lambda case: list(_quiz_size_expected(case)),
        "sizes are whole numbers: write them as ints, not floats.":
            lambda case: tuple(float(v) for v in _quiz_size_expected(case)),
        "the map has rows and columns: answer with both, as a tuple (rows, columns).":
            lambda case: _quiz_size_expected(case)[0],
        "only the map's rows and columns: the batch and channel axes F.conv2d adds are not part of the answer.":
            lambda case: (1, 1, *_quiz_size_expected(case)),
        "answer with a tuple of two ints, not a string.":
            lambda case: "{}x{}".format(*_quiz_size_expected(case)),
    },
    seed=104,
)


def _quiz_kernel_cases(g: torch.Generator, hidden: bool) -> list[Case]:
    img = torch.zeros(9, 9)
    img[:, 5:] = 1.0  # dark on the left, bright from column 5: a vertical stroke's left edge
    return [Case((img,), "a dark-to-bright vertical edge")]


def _strongest(case: Case, names=_EDGE_NAMES) -> str:
    img = case.args[0]
    scores = {name: float(_conv(img, _named_kernel(name)).max()) for name in names}
    return max(scores, key=scores.get)


def _probe_name(value, case: Case):
    """A name as the learner may write it ("left edge", "'Left_Edge'"); anything else as it is."""
    if type(value) is not str:
        return value
    return value.strip().strip("'\"").strip().lower().replace(" ", "_").replace("-", "_")


def _compare_name(got, expected: str, case: Case) -> str | None:
    """What is wrong with the learner's name, in words that never name the expected kernel."""
    if type(got) is not str:
        return f"answer with the kernel's name, a string, not {type_name(got)}"
    if got not in _EDGE_NAMES:
        return f"{got!r} is not one of the four kernel names the question lists"
    if got != expected:
        return f"{got!r} does not give the largest response on this image"
    return None


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
    compare=_compare_name,
    mistakes={
        "right_edge answers a change from bright to dark as you move right; this image goes from dark to "
        "bright.": lambda case: "right_edge",
        "top_edge compares the rows below a position with the rows above it; here the brightness changes "
        "across the columns, and down every column it stays the same.": lambda case: "top_edge",
        "bottom_edge compares rows, like top_edge; here the brightness changes across the columns, and down "
        "every column it stays the same.": lambda case: "bottom_edge",
        "write the kernel's full name, as the question spells it.": lambda case: _strongest(case).split("_")[0],
        "answer with the kernel's name as a string, not its position in the question's list.":
            lambda case: _EDGE_NAMES.index(_strongest(case)),
        "answer with the kernel's name as a string, not the kernel itself.":
            lambda case: _named_kernel(_strongest(case)),
    },
    seed=105,
)

EXERCISES = [TOP_EDGE, APPLY_KERNEL, CONVOLVE, QUIZ_OUTPUT_SIZE, QUIZ_LEFT_EDGE]
