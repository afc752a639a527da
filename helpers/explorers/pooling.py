"""Chapter 6, "Pooling": max or average pooling of a real feature map, one window at a time.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .kernel_walk import KERNELS
from .kit import Box, Outline, fmt_number, note, panel, row_of, symbol, value_table

__all__ = ["feature_map", "Pooling", "pool_state", "pool_html"]


def feature_map(image: torch.Tensor, kernel: str = "top edge") -> torch.Tensor:
    """A real feature map to pool: a digit through one of :data:`KERNELS`, then ReLU (chapter 6)."""
    image = torch.as_tensor(image, dtype=torch.float32)
    return F.relu(F.conv2d(image[None, None], KERNELS[kernel][None, None]))[0, 0]


@dataclass(frozen=True)
class Pooling:
    """Pooling a map with a ``size x size`` window moved by ``stride``; one output cell picked.

    Attributes:
        output: ``F.max_pool2d`` or ``F.avg_pool2d`` of the map.
        window: the input cells of the picked output cell.
        value: the picked output value (the max or the mean of ``window``).
    """

    fmap: torch.Tensor
    size: int
    stride: int
    mode: str
    output: torch.Tensor
    index: int
    out_row: int
    out_col: int
    window: torch.Tensor
    value: float


def pool_state(fmap: torch.Tensor, size: int, stride: int, mode: str = "max", index: int = 0) -> Pooling:
    """Pool ``fmap`` (2-D) and look at output cell number ``index`` (row by row) (chapter 6)."""
    if mode not in ("max", "average"):
        raise ValueError(f"mode is 'max' or 'average', not {mode!r}")
    pool = F.max_pool2d if mode == "max" else F.avg_pool2d
    output = pool(fmap[None, None], kernel_size=size, stride=stride)[0, 0]
    out_h, out_w = output.shape
    index = min(max(index, 0), out_h * out_w - 1)
    r, c = divmod(index, out_w)
    window = fmap[r * stride:r * stride + size, c * stride:c * stride + size]
    return Pooling(fmap, size, stride, mode, output, index, r, c, window, float(output[r, c]))


def pool_html(state: Pooling, map_name: str = "feature map") -> str:
    """The map with the picked window, the window's values, and the pooled map with the picked cell."""
    s = state
    h = s.fmap.shape[0]
    limits = (0.0, float(s.fmap.max()) or 1.0)
    marks = None
    if s.mode == "max":
        marks = (s.window == s.window.max()).numpy()
    pictures = row_of(
        panel(s.fmap, html.escape(map_name), limits=limits,
              outlines=(Outline(Box.span(s.out_row * s.stride, s.out_col * s.stride, s.size, s.size)),)),
        value_table(s.window, title=f"window {s.size}x{s.size}", signed=False, marks=marks, cell=34),
        symbol(f"&rarr; {s.mode}", size=14),
        panel(s.output, f"{s.mode} pooled", outlines=(Outline(Box.span(s.out_row, s.out_col)),), limits=limits),
    )
    out = s.output.shape[0]
    dropped = (h - s.size) % s.stride
    text = [f'output cell ({s.out_row}, {s.out_col}) = {s.mode} of the window = <b class="cc-pool">{fmt_number(s.value)}</b>',
            f"output size = ({h} \u2212 {s.size}) // {s.stride} + 1 = {out}"
            + (f"; the last {dropped} row(s) and column(s) are never pooled (floored)" if dropped else ""),
            f"{h}x{h} = {h * h} values become {out}x{out} = {out * out}"
            + (": windows overlap (stride < size), so one value can win several windows"
               if s.stride < s.size else "")]
    return pictures + "".join(note(t, cls="cc-pooling") for t in text)
