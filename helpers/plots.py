"""Figures drawn from real computations.

Every function here is pure: it takes tensors, draws one labelled figure and
returns the ``matplotlib`` figure, without touching global state (no
``plt.show`` and no figure left registered with pyplot). Notebooks display the
figure; tests and the interactive explorers call the same functions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

#: Colour map for images: ink bright on a dark background, as the numbers are stored.
IMAGE_CMAP = "gray"
#: Colour map for signed maps (kernels, feature maps): blue negative, red positive, white zero.
SIGNED_CMAP = "RdBu_r"


class CourseFigure(Figure):
    """A matplotlib figure that shows itself in a notebook without pyplot.

    It is never registered with pyplot, so drawing one leaves no open figure
    behind, and it displays as a PNG wherever IPython shows a value.
    """

    def _repr_png_(self) -> bytes:
        import io

        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=100)
        return buffer.getvalue()


def new_figure(width: float, height: float) -> CourseFigure:
    """A figure not registered with pyplot, so nothing accumulates between redraws."""
    return CourseFigure(figsize=(width, height), layout="constrained")


def _array(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().double().numpy()
    return np.asarray(x, dtype=float)


def _signed_limits(values: np.ndarray) -> float:
    limit = float(np.abs(values).max()) if values.size else 1.0
    return limit if limit > 0 else 1.0


def draw_image(ax, img, *, title: str = "", cmap: str = IMAGE_CMAP, signed: bool = False,
               colorbar: bool = False, ticks: bool = False):
    """Draw a 2-D tensor on ``ax``; ``signed`` centres the colours on zero."""
    values = _array(img)
    if signed:
        limit = _signed_limits(values)
        shown = ax.imshow(values, cmap=SIGNED_CMAP, vmin=-limit, vmax=limit)
    else:
        shown = ax.imshow(values, cmap=cmap)
    ax.set_title(title, fontsize=10)
    if not ticks:
        ax.set_xticks([])
        ax.set_yticks([])
    else:
        ax.set_xlabel("column")
        ax.set_ylabel("row")
    if colorbar:
        ax.figure.colorbar(shown, ax=ax, shrink=0.8)
    return shown


def annotate_values(ax, values, *, fmt: str = "{:.2f}", fontsize: int = 9, signed: bool = True) -> None:
    """Write each value in its cell, dark or light so it stays readable.

    ``signed`` cells (drawn with :data:`SIGNED_CMAP`) are dark far from zero; unsigned
    image cells (drawn with :data:`IMAGE_CMAP`) are dark near zero.
    """
    arr = _array(values)
    limit = _signed_limits(arr)
    for (r, c), v in np.ndenumerate(arr):
        dark = abs(v) > 0.6 * limit if signed else v < 0.5 * max(1.0, float(arr.max()))
        ax.text(c, r, fmt.format(v + 0.0), ha="center", va="center", fontsize=fontsize,
                color="white" if dark else "black")


def show_image(img, title: str = "", *, size: float = 3.0, ticks: bool = True) -> Figure:
    """One image, with row and column numbers so positions can be read off."""
    fig = new_figure(size, size)
    draw_image(fig.add_subplot(), img, title=title, ticks=ticks)
    return fig


def show_kernel(kernel, title: str = "kernel") -> Figure:
    """A kernel as a grid of its weights, negative blue and positive red."""
    kernel = _array(kernel)
    fig = new_figure(1.0 + 0.6 * kernel.shape[1], 0.8 + 0.6 * kernel.shape[0])
    ax = fig.add_subplot()
    draw_image(ax, kernel, title=title, signed=True)
    annotate_values(ax, kernel, fmt="{:g}")
    return fig


def show_window(img, row: int, col: int, size: int = 3, title: str = "") -> Figure:
    """An image with the ``size x size`` window centred on ``(row, col)`` outlined."""
    fig = new_figure(3.2, 3.2)
    ax = fig.add_subplot()
    draw_image(ax, img, title=title or f"window centred on row {row}, column {col}", ticks=True)
    outline_window(ax, row - size // 2, col - size // 2, size, size)
    return fig


def outline_window(ax, top: int, left: int, height: int, width: int, *, colour: str = "tab:orange",
                   linewidth: float = 2.0) -> Rectangle:
    """Outline the cells from ``(top, left)`` spanning ``height x width`` on an image axis."""
    patch = Rectangle((left - 0.5, top - 0.5), width, height, fill=False, edgecolor=colour,
                      linewidth=linewidth)
    ax.add_patch(patch)
    return patch


def show_window_product(img, row: int, col: int, kernel) -> Figure:
    """The seed's missing ``basic_conv.png``, computed: window x kernel = products, and their sum.

    Draws the 3x3 block of ``img`` centred on ``(row, col)``, the kernel, their
    element-wise products, and titles the last panel with the sum: the value of
    the output map at that position.
    """
    img = torch.as_tensor(img, dtype=torch.float32)
    kernel = torch.as_tensor(kernel, dtype=torch.float32)
    kh, kw = kernel.shape
    block = img[row - kh // 2: row - kh // 2 + kh, col - kw // 2: col - kw // 2 + kw]
    products = block * kernel
    fig = new_figure(9.5, 3.0)
    axes = fig.subplots(1, 3)
    draw_image(axes[0], block, title=f"image block around ({row}, {col})")
    axes[0].images[0].set_clim(0.0, max(1.0, float(block.max())))
    annotate_values(axes[0], block, signed=False)
    draw_image(axes[1], kernel, title="kernel", signed=True)
    annotate_values(axes[1], kernel, fmt="{:g}")
    draw_image(axes[2], products, title=f"products; sum = {float(products.sum()):.2f}", signed=True)
    annotate_values(axes[2], products)
    fig.suptitle("one output value = sum of (block x kernel)", fontsize=11)
    return fig


def show_maps(maps: Mapping[str, torch.Tensor] | Sequence[tuple[str, torch.Tensor]], *,
              signed: bool = True, size: float = 2.6, suptitle: str = "", colorbar: bool = True) -> Figure:
    """Several maps side by side, each titled, on its own colour scale with a colour bar.

    Use it for an image and its feature maps: ``show_maps({"digit": img, "top edges": out})``.
    """
    items = list(maps.items()) if isinstance(maps, Mapping) else list(maps)
    fig = new_figure(size * len(items) + 0.4, size + 0.5)
    axes = np.atleast_1d(fig.subplots(1, len(items)))
    for ax, (title, values) in zip(axes, items):
        arr = _array(values)
        draw_image(ax, arr, title=f"{title}\n{arr.shape[0]}x{arr.shape[1]}",
                   signed=signed and bool((arr < 0).any()), colorbar=colorbar)
    if suptitle:
        fig.suptitle(suptitle, fontsize=11)
    return fig
