"""Chapter 1, "Convolution by hand": the kernel walk.

A 3x3 kernel moved over a digit one position at a time: the block under it, the
nine products, their sum, and the output map filling up row by row.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from fractions import Fraction

import torch
import torch.nn.functional as F

from .kit import Box, Outline, fmt_number, note, panel, row_of, symbol, value_table

__all__ = ["KERNELS", "parse_kernel", "KernelWalk", "kernel_walk_state", "kernel_walk_html"]


_TOP = torch.tensor([[-1.0, -1.0, -1.0], [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]])

#: The kernels of the kernel walk (chapter 1): the four edges, a blur and a sharpen.
KERNELS: dict[str, torch.Tensor] = {
    "top edge": _TOP,
    "bottom edge": _TOP.flip(0),
    "left edge": _TOP.T.contiguous(),
    "right edge": _TOP.T.flip(1),
    "blur": torch.full((3, 3), 1.0 / 9.0),
    "sharpen": torch.tensor([[0.0, -1.0, 0.0], [-1.0, 5.0, -1.0], [0.0, -1.0, 0.0]]),
}


def parse_kernel(text: str) -> torch.Tensor:
    """A 3x3 kernel from nine numbers typed by a learner (chapter 1).

    Numbers may be separated by spaces, commas, semicolons or new lines, and may be fractions:
    ``"-1 -1 -1; 0 0 0; 1 1 1"`` or ``"1/9, 1/9, 1/9, ..."``.

    Raises:
        ValueError: with a message saying what is wrong, if there are not exactly nine numbers.
    """
    tokens = [t for t in re.split(r"[\s,;\[\]()]+", text.strip()) if t]
    try:
        numbers = [float(Fraction(t)) for t in tokens]
    except (ValueError, ZeroDivisionError):
        bad = next(t for t in tokens if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)(/\d*[1-9]\d*)?", t))
        raise ValueError(f"{bad!r} is not a number") from None
    if len(numbers) != 9:
        raise ValueError(f"a 3x3 kernel needs 9 numbers; you typed {len(numbers)}")
    return torch.tensor(numbers, dtype=torch.float32).reshape(3, 3)


@dataclass(frozen=True)
class KernelWalk:
    """The state of the kernel walk with the kernel centred on ``(row, col)`` of ``image``.

    Attributes:
        block: the 3x3 block of the image under the kernel.
        products: ``block * kernel``, the nine products.
        total: their sum, the output value at this position.
        output: the whole output map (what ``F.conv2d`` gives, no padding).
        filled: the output map with only the positions visited so far (row by row) filled in,
            the others NaN.
        out_row, out_col: where this position lands in the output map (``row - 1``, ``col - 1``).
    """

    image: torch.Tensor
    kernel: torch.Tensor
    row: int
    col: int
    block: torch.Tensor
    products: torch.Tensor
    total: float
    output: torch.Tensor
    filled: torch.Tensor
    out_row: int
    out_col: int


def kernel_walk_state(image: torch.Tensor, kernel: torch.Tensor, row: int, col: int) -> KernelWalk:
    """Apply a 3x3 ``kernel`` centred on ``(row, col)`` of a 2-D ``image`` (chapter 1).

    ``row`` and ``col`` go from 1 to the image size minus 2, where the whole block fits.
    """
    image = torch.as_tensor(image, dtype=torch.float32)
    kernel = torch.as_tensor(kernel, dtype=torch.float32)
    kh, kw = kernel.shape
    h, w = image.shape
    top, left = row - kh // 2, col - kw // 2
    if not (0 <= top <= h - kh and 0 <= left <= w - kw):
        raise ValueError(f"the {kh}x{kw} block centred on ({row}, {col}) does not fit in a {h}x{w} image")
    block = image[top:top + kh, left:left + kw]
    products = block * kernel
    output = F.conv2d(image[None, None], kernel[None, None])[0, 0]
    out_h, out_w = output.shape
    order = torch.arange(out_h * out_w).reshape(out_h, out_w)
    filled = torch.where(order <= top * out_w + left, output, torch.tensor(float("nan")))
    return KernelWalk(image, kernel, row, col, block, products, float(products.sum()), output, filled,
                      top, left)


def kernel_walk_html(state: KernelWalk, kernel_name: str = "kernel") -> str:
    """The kernel walk drawn: the digit with the block outlined, block x kernel = products, the output map."""
    s = state
    kh, kw = s.kernel.shape
    window = Outline(Box.span(s.row - kh // 2, s.col - kw // 2, kh, kw))
    limit = float(s.output.abs().max()) or 1.0
    here = Outline(Box.span(s.out_row, s.out_col))
    pictures = row_of(
        panel(s.image, f"the image, block centred on ({s.row}, {s.col})", outlines=(window,)),
        value_table(s.block, title="block", signed=False),
        symbol("&times;"),
        value_table(s.kernel, title=html.escape(kernel_name), fmt="{:.2g}"),
        symbol("="),
        value_table(s.products, title="nine products"),
        panel(s.filled, f"output map, filled up to ({s.out_row}, {s.out_col})", signed=True,
              limits=(-limit, limit), outlines=(here,)),
    )
    terms = " + ".join(fmt_number(float(v)) if v >= 0 else f"({fmt_number(float(v))})" for v in s.products.flatten())
    return pictures + note(
        f'sum of the nine products = {terms} = <b class="cc-sum">{fmt_number(s.total)}</b>, '
        f"the output value at row {s.out_row}, column {s.out_col} "
        f"(the output is {s.output.shape[0]}x{s.output.shape[1]}: the centre cannot sit on the border)",
        cls="cc-kernel-walk")
