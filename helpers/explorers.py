"""The computations and pictures behind the course's interactive explorers.

Every function here is pure: it takes tensors and numbers and returns data (a
small dataclass, a tensor, or an HTML string), with no widget, no printing and
no matplotlib figure. The sliders live in :mod:`helpers.widgets`, which calls
these functions on every move; tests call them directly, without a browser.

Why HTML and not a matplotlib figure? A slider redraw must feel instant (under
50 ms), and a multi-panel matplotlib figure with its numbers written in takes
longer than that just to render text. Here a map is encoded as a tiny PNG at
its real resolution (a 28x28 digit is a 28x28 image) that the browser scales
up with sharp pixels, outlines are CSS boxes over it, and numbers are HTML
tables, which the browser draws for free.

Explorers, by chapter:

* chapter 1, "Convolution by hand": :func:`kernel_walk_state`, :func:`kernel_walk_html`;
* chapter 2, channels: :func:`channel_state`, :func:`channel_html`;
* chapter 3, padding and stride: :func:`output_size`, :func:`kernel_positions`,
  :func:`padding_stride_state`, :func:`padding_stride_html`;
* chapter 4, feature maps of a CNN: :func:`layer_activations`, :func:`feature_maps_html`;
* chapter 5, receptive fields: :func:`layer_geometry`, :func:`receptive_box`,
  :func:`gradient_map`, :func:`receptive_field_state`, :func:`receptive_field_html`;
* chapter 6, pooling: :func:`pool_state`, :func:`pool_html`.
"""

from __future__ import annotations

import base64
import copy
import html
import io
import re
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "KERNELS", "parse_kernel", "KernelWalk", "kernel_walk_state", "kernel_walk_html",
    "edge_maps", "channel_example", "Channels", "channel_state", "channel_html",
    "output_size", "kernel_positions", "PaddingStride", "padding_stride_state", "padding_stride_html",
    "layer_activations", "layer_names", "feature_maps_html",
    "layer_geometry", "receptive_box", "gradient_map", "architecture_gradient", "support_box",
    "ReceptiveField", "receptive_field_state", "receptive_field_html", "default_cnn",
    "feature_map", "Pooling", "pool_state", "pool_html",
]

# ---------------------------------------------------------------------------
# drawing as HTML: maps as small PNGs, outlines as CSS boxes, numbers as tables

#: Colours of the outlines, as in the course's figures.
ORANGE, GREEN, PURPLE, RED = "#ff7f0e", "#2ca02c", "#9467bd", "#d62728"
_MISSING_RGB = (235, 235, 235)  # cells not computed yet (or not covered)


@lru_cache(maxsize=4)
def _lut(name: str) -> np.ndarray:
    """A 256-entry RGB lookup table of a matplotlib colour map (read once)."""
    from matplotlib import colormaps

    return (colormaps[name](np.linspace(0, 1, 256))[:, :3] * 255).round().astype(np.uint8)


def _array(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().double().numpy()
    return np.asarray(x, dtype=float)


def _limits(values: np.ndarray, signed: bool) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return (-1.0, 1.0) if signed else (0.0, 1.0)
    if signed:
        limit = float(np.abs(finite).max()) or 1.0
        return -limit, limit
    low, high = float(finite.min()), float(finite.max())
    return (low, high) if high > low else (low, low + 1.0)


def colourise(values, *, signed: bool = False, limits: tuple[float, float] | None = None) -> np.ndarray:
    """A 2-D map as ``uint8`` RGB: grey scale, or blue-white-red centred on zero if ``signed``.

    Missing values (NaN) are light grey.
    """
    arr = _array(values)
    low, high = limits or _limits(arr, signed)
    lut = _lut("RdBu_r" if signed else "gray")
    scaled = np.clip((np.nan_to_num(arr, nan=low) - low) / (high - low), 0.0, 1.0)
    rgb = lut[(scaled * 255).round().astype(np.int64)]
    rgb[~np.isfinite(arr)] = _MISSING_RGB
    return rgb


def png_data_uri(rgb: np.ndarray) -> str:
    """Encode an RGB array as a ``data:`` URI holding a PNG of exactly that many pixels."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8)).save(buffer, format="png", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


@dataclass(frozen=True)
class Box:
    """An outline over a map: cells ``top .. top+height-1`` by ``left .. left+width-1``."""

    top: float
    left: float
    height: float
    width: float
    colour: str = ORANGE
    dashed: bool = False


def panel(values, title: str, *, size: int = 196, signed: bool = False, boxes: tuple[Box, ...] = (),
          limits: tuple[float, float] | None = None, caption: str = "") -> str:
    """One map as an HTML figure: its pixels scaled up sharply, outlines on top, a title and its size.

    Box coordinates are in cells of ``values``; ``limits`` fixes the colour scale (to compare maps).
    """
    arr = _array(values)
    if arr.ndim == 1:
        arr = arr[None, :]
    h, w = arr.shape
    scale = size / max(h, w)
    width, height = round(w * scale), round(h * scale)
    outlines = []
    for b in boxes:
        style = "dashed" if b.dashed else "solid"
        outlines.append(
            f'<div style="position:absolute;box-sizing:border-box;left:{b.left * scale:.1f}px;'
            f'top:{b.top * scale:.1f}px;width:{b.width * scale:.1f}px;height:{b.height * scale:.1f}px;'
            f'border:2px {style} {b.colour};"></div>')
    img = (f'<img src="{png_data_uri(colourise(arr, signed=signed, limits=limits))}" width="{width}" '
           f'height="{height}" style="image-rendering:pixelated;display:block;max-width:none;" alt="{html.escape(title)}">')
    return (f'<figure style="margin:4px 10px 4px 0;"><figcaption style="font-size:12px;text-align:center;">'
            f'{title}</figcaption><div style="position:relative;width:{width}px;height:{height}px;'
            f'outline:1px solid #bbb;">{img}{"".join(outlines)}</div>'
            f'<figcaption style="font-size:11px;color:#555;text-align:center;">{caption or f"{h}x{w}"}'
            f'</figcaption></figure>')


def value_table(values, *, fmt: str = "{:.2f}", signed: bool = True, title: str = "",
                cell: int = 40, marks: np.ndarray | None = None) -> str:
    """A small grid of numbers as an HTML table, each cell coloured by its value."""
    arr = _array(values)
    if arr.ndim == 1:
        arr = arr[None, :]
    rgb = colourise(arr, signed=signed)
    rows = []
    for r in range(arr.shape[0]):
        tds = []
        for c in range(arr.shape[1]):
            red, green, blue = (int(v) for v in rgb[r, c])
            dark = 0.299 * red + 0.587 * green + 0.114 * blue < 128
            text = "" if not np.isfinite(arr[r, c]) else fmt.format(arr[r, c] + 0.0)
            text = text[1:] if re.fullmatch(r"-0(\.0*)?", text) else text  # no "-0.00"
            border = f"2px solid {ORANGE}" if marks is not None and marks[r, c] else "1px solid #ccc"
            tds.append(f'<td style="width:{cell}px;height:{cell * 0.7:.0f}px;text-align:center;padding:1px;'
                       f'font:11px monospace;border:{border};background:rgb({red},{green},{blue});'
                       f'color:{"white" if dark else "black"};">{text}</td>')
        rows.append(f"<tr>{''.join(tds)}</tr>")
    return (f'<figure style="margin:4px 10px 4px 0;"><figcaption style="font-size:12px;text-align:center;">'
            f'{title}</figcaption><table style="border-collapse:collapse;">{"".join(rows)}</table></figure>')


def row_of(*parts: str) -> str:
    """Panels side by side, wrapping on narrow screens."""
    return f'<div style="display:flex;flex-wrap:wrap;align-items:flex-start;">{"".join(parts)}</div>'


def note(text: str, *, cls: str = "cc-note") -> str:
    """A line of explanation under the pictures (``cls`` lets tests and the browser find it)."""
    return f'<div class="{cls}" style="font-size:13px;margin:4px 0;">{text}</div>'


def _fmt(x: float) -> str:
    """Two decimals, a real minus sign, and no "-0.00"."""
    text = f"{x:.2f}"
    return "0.00" if text == "-0.00" else text.replace("-", "\u2212")


# ---------------------------------------------------------------------------
# chapter 1: the kernel walk

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
    window = Box(s.row - kh // 2, s.col - kw // 2, kh, kw)
    limit = float(s.output.abs().max()) or 1.0
    here = Box(s.out_row, s.out_col, 1, 1)
    pictures = row_of(
        panel(s.image, f"the image, block centred on ({s.row}, {s.col})", boxes=(window,)),
        value_table(s.block, title="block", signed=False),
        '<div style="align-self:center;font-size:20px;">&times;</div>',
        value_table(s.kernel, title=html.escape(kernel_name), fmt="{:.2g}"),
        '<div style="align-self:center;font-size:20px;">=</div>',
        value_table(s.products, title="nine products"),
        panel(s.filled, f"output map, filled up to ({s.out_row}, {s.out_col})", signed=True,
              limits=(-limit, limit), boxes=(here,)),
    )
    terms = " + ".join(_fmt(float(v)) if v >= 0 else f"({_fmt(float(v))})" for v in s.products.flatten())
    return pictures + note(
        f'sum of the nine products = {terms} = <b class="cc-sum">{_fmt(s.total)}</b>, '
        f"the output value at row {s.out_row}, column {s.out_col} "
        f"(the output is {s.output.shape[0]}x{s.output.shape[1]}: the centre cannot sit on the border)",
        cls="cc-kernel-walk")


# ---------------------------------------------------------------------------
# chapter 2: several input channels


def edge_maps(image: torch.Tensor) -> torch.Tensor:
    """The stack of chapter 2: a digit's top-edge and left-edge maps, shape ``(2, H-2, W-2)``."""
    image = torch.as_tensor(image, dtype=torch.float32)
    edges = torch.stack([KERNELS["top edge"], KERNELS["left edge"]])[:, None]
    return F.conv2d(image[None, None], edges)[0]


def channel_example(image: torch.Tensor, out_channels: int = 3, seed: int = 2) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A two-channel input and a small layer to explore channels with (chapter 2).

    The two input maps are the top-edge and left-edge maps of ``image`` (:func:`edge_maps`);
    the layer has ``out_channels`` kernels of shape ``2x3x3`` with weights drawn with a fixed
    seed and rounded to one decimal so they can be read.

    Returns:
        ``(inputs, weight, bias)`` of shapes ``(2, H-2, W-2)``, ``(out_channels, 2, 3, 3)``, ``(out_channels,)``.
    """
    generator = torch.Generator().manual_seed(seed)
    weight = (torch.randn(out_channels, 2, 3, 3, generator=generator) * 0.5).round(decimals=1)
    bias = (torch.randn(out_channels, generator=generator) * 0.2).round(decimals=1)
    return edge_maps(image), weight, bias


@dataclass(frozen=True)
class Channels:
    """One output map of a convolution over several input maps, taken apart.

    Attributes:
        per_channel: ``(C, H', W')``: input map ``c`` convolved with kernel slice ``weight[out, c]``.
        output: ``per_channel.sum(0) + bias[out]``, equal to ``F.conv2d(...)[out]``.
    """

    inputs: torch.Tensor
    weight: torch.Tensor
    bias: torch.Tensor
    out: int
    per_channel: torch.Tensor
    output: torch.Tensor


def channel_state(inputs: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, out: int) -> Channels:
    """Output map ``out`` of a convolution, as one convolution per input channel plus their sum (chapter 2)."""
    c_in = inputs.shape[0]
    if not 0 <= out < weight.shape[0]:
        raise ValueError(f"this layer has {weight.shape[0]} output maps; {out} is not one of them")
    bias = torch.zeros(weight.shape[0]) if bias is None else bias
    per_channel = torch.stack([F.conv2d(inputs[c][None, None], weight[out, c][None, None])[0, 0]
                               for c in range(c_in)])
    return Channels(inputs, weight, bias, out, per_channel, per_channel.sum(0) + bias[out])


def channel_html(state: Channels, input_names: tuple[str, ...] = ()) -> str:
    """Each input map, its kernel slice and its result in a row; then their sum plus bias, the output map."""
    s = state
    names = input_names or tuple(f"input map {c}" for c in range(s.inputs.shape[0]))
    limit = max(float(s.per_channel.abs().max()), float(s.output.abs().max())) or 1.0
    rows = []
    for c, name in enumerate(names):
        rows.append(row_of(
            panel(s.inputs[c], f"{html.escape(name)} (channel {c})", size=150,
                  signed=bool((s.inputs[c] < 0).any())),
            '<div style="align-self:center;font-size:20px;">&lowast;</div>',
            value_table(s.weight[s.out, c], title=f"kernel slice weight[{s.out}, {c}]", fmt="{:.2g}", cell=34),
            '<div style="align-self:center;font-size:20px;">=</div>',
            panel(s.per_channel[c], f"channel {c}'s part", size=150, signed=True, limits=(-limit, limit)),
        ))
    total = row_of(
        panel(s.output, f"output map {s.out} = sum of the parts + bias", size=150, signed=True,
              limits=(-limit, limit)),
    )
    return "".join(rows) + total + note(
        f"output map {s.out} = " + " + ".join(f"channel {c}'s part" for c in range(len(names)))
        + f' + bias ({_fmt(float(s.bias[s.out]))}); its value at the centre is '
        f'<b class="cc-centre">{_fmt(float(s.output[s.output.shape[0] // 2, s.output.shape[1] // 2]))}</b>. '
        f"One kernel of shape {tuple(s.weight.shape[1:])} per output map: "
        f"the layer's weight is {tuple(s.weight.shape)}.", cls="cc-channels")


# ---------------------------------------------------------------------------
# chapter 3: padding and stride


def output_size(n: int, ks: int, pad: int = 0, stride: int = 1) -> int:
    """Output size along one side: ``(n + 2*pad - ks) // stride + 1`` (chapter 3).

    Returns 0 when the kernel does not fit even once (PyTorch raises an error then).
    """
    if n + 2 * pad < ks:
        return 0
    return (n + 2 * pad - ks) // stride + 1


def kernel_positions(n: int, ks: int, pad: int = 0, stride: int = 1) -> list[tuple[int, int]]:
    """Top-left corners ``(row, col)`` of every kernel position, in padded coordinates, row by row.

    Padded coordinates count from the top-left of the padded grid, so the image itself
    spans ``pad .. pad+n-1``. For ``n=7, ks=3, pad=1, stride=2`` they are the 4x4 grid
    ``(0, 0), (0, 2), (0, 4), (0, 6), (2, 0), ...``.
    """
    m = output_size(n, ks, pad, stride)
    starts = [i * stride for i in range(m)]
    return [(r, c) for r in starts for c in starts]


@dataclass(frozen=True)
class PaddingStride:
    """Everything the padding-and-stride explorer shows, for a square ``n x n`` image.

    Attributes:
        out: output size per side (0 if the kernel does not fit: PyTorch raises then).
        positions: top-left corners of the kernel positions, padded coordinates.
        covered: ``(n+2*pad, n+2*pad)`` boolean, True where at least one position covers the cell.
        leftover: rows (and columns) at the bottom (right) of the padded grid no position reaches.
        formula: the output-size formula with the numbers filled in.
        remarks: what is special about these settings, in words.
    """

    n: int
    ks: int
    pad: int
    stride: int
    out: int
    positions: list[tuple[int, int]]
    covered: np.ndarray
    leftover: int
    formula: str
    remarks: tuple[str, ...] = field(default_factory=tuple)


def padding_stride_state(n: int, ks: int, pad: int, stride: int) -> PaddingStride:
    """The kernel positions, output size and the honest remarks for these settings (chapter 3)."""
    if min(n, ks, stride) < 1 or pad < 0:
        raise ValueError("image size, kernel size and stride must be at least 1, padding at least 0")
    size = n + 2 * pad
    out = output_size(n, ks, pad, stride)
    positions = kernel_positions(n, ks, pad, stride)
    covered = np.zeros((size, size), dtype=bool)
    for r, c in positions:
        covered[r:r + ks, c:c + ks] = True
    reach = (out - 1) * stride + ks if out else 0
    leftover = size - reach if out else size
    if out:
        formula = (f"({n} + 2\u00d7{pad} \u2212 {ks}) // {stride} + 1 = {size - ks} // {stride} + 1 = "
                   f"{(size - ks) // stride} + 1 = {out}")
    else:
        formula = f"({n} + 2\u00d7{pad} \u2212 {ks}) = {size - ks} < 0: the kernel does not fit at all"
    remarks = []
    if not out:
        remarks.append(f"The {ks}x{ks} kernel is larger than the {size}x{size} padded image: PyTorch raises "
                       "an error (\u201ckernel size can't be greater than actual input size\u201d).")
    if out and (size - ks) % stride:
        remarks.append(f"{size - ks} is not a multiple of {stride}: the division is floored, so the last "
                       f"{leftover} row(s) and column(s) of the padded image (hatched red) are never reached "
                       "by the kernel and are simply dropped. PyTorch floors; it does not complain.")
    if ks % 2 == 0:
        remarks.append(f"An even kernel ({ks}x{ks}) has no centre pixel. Padding {ks // 2} on every side "
                       f"(ks//2) gives {output_size(n, ks, ks // 2, 1)} outputs at stride 1, not {n}: keeping "
                       "the size would need one more pixel of padding on one side than the other, which "
                       "nn.Conv2d's single padding number cannot express.")
    elif out and stride == 1 and pad == ks // 2:
        remarks.append(f"Padding ks//2 = {ks // 2} with stride 1 keeps the size: {out} = {n}.")
    if pad >= ks:
        remarks.append(f"With padding {pad} \u2265 kernel size {ks}, some positions see only zeros of the padding.")
    return PaddingStride(n, ks, pad, stride, out, positions, covered, leftover, formula, tuple(remarks))


def padding_stride_html(state: PaddingStride, selected: int = 0, cell: int = 20) -> str:
    """The padded grid with every kernel position, the chosen one outlined, the output grid and the formula.

    In the padded grid, image cells are white and padding cells grey with a 0; the number in a
    cell is the output index of the kernel position whose top-left corner is there; cells no
    position reaches are hatched red.
    """
    s = state
    size = s.n + 2 * s.pad
    corner_of = {pos: i for i, pos in enumerate(s.positions)}
    selected = min(max(selected, 0), max(len(s.positions) - 1, 0))
    sel = s.positions[selected] if s.positions else None
    rows = []
    for r in range(size):
        tds = []
        for c in range(size):
            is_pad = not (s.pad <= r < s.pad + s.n and s.pad <= c < s.pad + s.n)
            background = "#d9d9d9" if is_pad else "#ffffff"
            if not s.covered[r, c]:
                background = ("repeating-linear-gradient(45deg,#f4c7c7,#f4c7c7 3px,"
                              f"{background} 3px,{background} 6px)")
            label = str(corner_of[(r, c)]) if (r, c) in corner_of else ""
            shadow = ""
            if sel is not None and sel[0] <= r < sel[0] + s.ks and sel[1] <= c < sel[1] + s.ks:
                # the chosen window's outline: a thick edge on its border cells only
                edges = [(r == sel[0], f"0 3px 0 0 {ORANGE}"), (r == sel[0] + s.ks - 1, f"0 -3px 0 0 {ORANGE}"),
                         (c == sel[1], f"3px 0 0 0 {ORANGE}"), (c == sel[1] + s.ks - 1, f"-3px 0 0 0 {ORANGE}")]
                shadow = "box-shadow:" + ",".join(f"inset {e}" for on, e in edges if on) + ";" \
                    if any(on for on, _ in edges) else ""
                background = "#ffe3c7" if background == "#ffffff" else ("#f2c9a0" if background == "#d9d9d9"
                                                                         else background)
            tds.append(f'<td style="width:{cell}px;height:{cell}px;padding:0;text-align:center;'
                       f'font:9px monospace;color:#1f4e9c;border:1px solid #bbb;background:{background};'
                       f'{shadow}">{label}</td>')
        rows.append(f"<tr>{''.join(tds)}</tr>")
    grid = (f'<figure style="margin:4px 14px 4px 0;"><figcaption style="font-size:12px;text-align:center;">'
            f"padded input {size}x{size}: image {s.n}x{s.n} (white), zero padding {s.pad} (grey)<br>"
            "a number marks the top-left corner of that kernel position; orange: the chosen one"
            f'</figcaption><table style="border-collapse:collapse;">{"".join(rows)}</table></figure>')
    out_rows = []
    for r in range(s.out):
        tds = []
        for c in range(s.out):
            i = r * s.out + c
            style = f"background:{ORANGE};color:white;" if i == selected else "background:#eef3fb;"
            tds.append(f'<td style="width:{cell}px;height:{cell}px;padding:0;text-align:center;'
                       f'font:9px monospace;border:1px solid #bbb;{style}">{i}</td>')
        out_rows.append(f"<tr>{''.join(tds)}</tr>")
    output = (f'<figure style="margin:4px 10px 4px 0;"><figcaption style="font-size:12px;text-align:center;">'
              f"output {s.out}x{s.out}</figcaption>"
              f'<table style="border-collapse:collapse;">{"".join(out_rows)}</table></figure>')
    where = (f"position {selected} of {len(s.positions)}: top-left corner at row {sel[0]}, column {sel[1]} of "
             f"the padded grid, giving output cell ({selected // s.out}, {selected % s.out})"
             if sel is not None else "no position")
    text = (note(f'output size = (n + 2\u00d7pad \u2212 ks) // stride + 1 = <b class="cc-formula">'
                 f"{html.escape(s.formula)}</b>", cls="cc-padding-stride")
            + note(where, cls="cc-position")
            + "".join(note(html.escape(r), cls="cc-remark") for r in s.remarks))
    return row_of(grid, output) + text


# ---------------------------------------------------------------------------
# chapter 4: feature maps of a CNN


def _describe(module: nn.Module) -> str:
    parts = []
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            parts.append(f"Conv2d({m.in_channels}, {m.out_channels}, ks={m.kernel_size[0]}, stride={m.stride[0]})")
        elif isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
            parts.append(f"{type(m).__name__}({m.kernel_size})")
        elif not list(m.children()):
            parts.append(type(m).__name__)
    return " + ".join(parts) or type(module).__name__


def layer_names(model: nn.Sequential) -> list[str]:
    """``"1: Conv2d(1, 4, ks=3, stride=2) + ReLU"`` for each top-level layer of a sequential model."""
    return [f"{i + 1}: {_describe(layer)}" for i, layer in enumerate(model)]


@torch.no_grad()
def layer_activations(model: nn.Sequential, image: torch.Tensor) -> list[torch.Tensor]:
    """The output of every top-level layer of ``model`` for one ``(H, W)`` image, batch axis dropped (chapter 4).

    A convolutional layer gives ``(channels, h, w)``, at its real resolution; a flattened
    output gives a 1-D tensor. The model is put in evaluation mode for the pass and then
    back in the mode it was in.
    """
    was_training = model.training
    model.eval()
    try:
        x = torch.as_tensor(image, dtype=torch.float32).reshape(1, 1, *image.shape[-2:])
        outputs = []
        for layer in model:
            x = layer(x)
            outputs.append(x[0].detach().clone())
        return outputs
    finally:
        model.train(was_training)


def feature_maps_html(image: torch.Tensor, activation: torch.Tensor, layer_name: str, label: int | None = None,
                      tile: int = 84) -> str:
    """A digit and every map of one layer, at the layer's real resolution, on one shared colour scale."""
    act = activation
    digit_title = "the digit" if label is None else f"the digit ({label})"
    first = panel(image, digit_title, size=tile + 28, caption=f"{image.shape[-2]}x{image.shape[-1]} input")
    if act.ndim == 3:
        signed = bool((act < 0).any())
        limits = _limits(_array(act), signed)
        maps = [panel(act[c], f"map {c}", size=tile, signed=signed, limits=limits) for c in range(act.shape[0])]
        shape = f"{act.shape[0]} maps of {act.shape[1]}x{act.shape[2]}"
        scale = (f"all maps share one colour scale from {_fmt(limits[0])} to {_fmt(limits[1])}"
                 + (" (blue negative, red positive)" if signed else " (black low, white high)"))
    else:
        flat = act.reshape(-1)
        maps = [value_table(flat, title="outputs", fmt="{:.2f}")]
        shape = f"{flat.numel()} numbers (flattened)"
        scale = "a flattened layer has no spatial layout left"
    return row_of(first, *maps) + note(
        f'layer {html.escape(layer_name)}: <b class="cc-layer-shape">{shape}</b>; {scale}. '
        "Each map is one learned kernel's response; a bright cell means that kernel found its pattern there.",
        cls="cc-feature-maps")


# ---------------------------------------------------------------------------
# chapter 5: receptive fields


def default_cnn() -> nn.Sequential:
    """The course's ``simple_cnn`` architecture (chapter 4), if :mod:`helpers.models` is missing.

    Five stride-2, 3x3 convolutions (28 -> 14 -> 7 -> 4 -> 2 -> 1), ReLU after all but the last,
    then a flatten; weights drawn with a fixed seed.
    """
    try:
        from helpers.models import simple_cnn  # the chapter-4 definition, when present
    except ImportError:
        simple_cnn = None

    def conv(ni: int, nf: int, act: bool = True) -> nn.Module:
        layer = nn.Conv2d(ni, nf, kernel_size=3, stride=2, padding=1)
        return nn.Sequential(layer, nn.ReLU()) if act else layer

    generator_state = torch.random.get_rng_state()  # leave the learner's random numbers alone
    torch.manual_seed(0)
    try:
        if simple_cnn is not None:
            return simple_cnn()
        return nn.Sequential(conv(1, 4), conv(4, 8), conv(8, 16), conv(16, 32), conv(32, 1, act=False),
                             nn.Flatten())
    finally:
        torch.random.set_rng_state(generator_state)


def layer_geometry(model: nn.Sequential) -> list[list[tuple[int, int, int]]]:
    """For each top-level layer, the ``(kernel_size, stride, padding)`` of its convolutions and poolings.

    Layers that do not move pixels (ReLU, batch norm, flatten) contribute nothing.
    """
    found = []
    for layer in model:
        ops = []
        for m in layer.modules():
            if isinstance(m, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
                k, s, p = (getattr(m, a) for a in ("kernel_size", "stride", "padding"))
                k, s, p = (v[0] if isinstance(v, tuple) else v for v in (k, s, p))
                dilation = getattr(m, "dilation", 1)
                if (dilation[0] if isinstance(dilation, tuple) else dilation) != 1:
                    raise ValueError("dilated convolutions are not covered by this explorer")
                ops.append((int(k), int(s), int(p)))
        found.append(ops)
    return found


def receptive_box(geometry: list[list[tuple[int, int, int]]], layer: int, row: int, col: int
                  ) -> tuple[int, int, int, int]:
    """The input cells feeding cell ``(row, col)`` of layer ``layer`` (0-based), by the formula (chapter 5).

    Walking back through each convolution of size ``k``, stride ``s`` and padding ``p``, output
    cells ``a..b`` read input cells ``a*s - p .. b*s - p + k - 1``.

    Returns:
        ``(top, left, bottom, right)``, inclusive, in input coordinates; it may reach outside the
        image (into the padding), so clip it to the image to see what is really read.
    """
    top, bottom, left, right = row, row, col, col
    for ops in reversed(geometry[:layer + 1]):
        for k, s, p in reversed(ops):
            top, bottom = top * s - p, bottom * s - p + k - 1
            left, right = left * s - p, right * s - p + k - 1
    return top, left, bottom, right


def _truncated(model: nn.Sequential, layer: int) -> nn.Sequential:
    return nn.Sequential(*list(model)[:layer + 1])


_ACTIVATIONS = (nn.ReLU, nn.LeakyReLU, nn.GELU, nn.SiLU, nn.Sigmoid, nn.Tanh)


def _before_activation(model: nn.Sequential, layer: int) -> nn.Sequential:
    """Layers ``0..layer``, leaving out the activation that ends the last one (if it ends with one)."""
    last = model[layer]
    if isinstance(last, nn.Sequential) and len(last) > 1 and isinstance(last[-1], _ACTIVATIONS):
        last = nn.Sequential(*list(last)[:-1])
    elif isinstance(last, _ACTIVATIONS):
        return _truncated(model, layer - 1) if layer else nn.Sequential()
    return nn.Sequential(*list(model)[:layer], last)


def gradient_map(model: nn.Sequential, image: torch.Tensor, layer: int, row: int, col: int) -> torch.Tensor:
    """``|d cell / d image|`` for cell ``(row, col)`` of layer ``layer``, summed over its channels.

    Which input pixels move that cell, for this model and this image. The cell is taken
    before the layer's own ReLU (so a cell that is off still shows what it looks at), but
    the ReLUs of earlier layers that are off for this image block their paths: the region
    can be smaller than the formula's, never larger.
    """
    part = _before_activation(model, layer)
    was_training = part.training
    part.eval()
    try:
        x = torch.as_tensor(image, dtype=torch.float32).reshape(1, 1, *image.shape[-2:]).clone().requires_grad_(True)
        out = part(x)
        out[0, :, row, col].sum().backward()
        return x.grad[0, 0].abs()
    finally:
        part.train(was_training)


def architecture_gradient(model: nn.Sequential, layer: int, row: int, col: int,
                          shape: tuple[int, int] = (28, 28)) -> torch.Tensor:
    """The same gradient for the bare architecture: every weight 1, biases 0, on an all-ones image.

    Nothing is switched off and nothing cancels, so the non-zero cells are exactly the
    formula's receptive field (clipped to the image): the check that the formula is right.
    The gradient method is chapter 5's :func:`helpers.receptive.model_gradient`; max pooling
    (which passes the gradient to one pixel only) is measured as average pooling of the same shape.
    """
    from helpers.receptive import model_gradient

    bare = copy.deepcopy(_truncated(model, layer))
    for name, m in list(bare.named_modules()):
        if isinstance(m, nn.MaxPool2d):
            parent = bare.get_submodule(name.rsplit(".", 1)[0]) if "." in name else bare
            setattr(parent, name.rsplit(".", 1)[-1], nn.AvgPool2d(m.kernel_size, m.stride, m.padding))
    return model_gradient(bare, shape[0], shape[1], row, col).float()


def support_box(grad: torch.Tensor) -> tuple[int, int, int, int] | None:
    """``(top, left, bottom, right)`` of the non-zero cells of a gradient map, or None if all zero."""
    nonzero = torch.nonzero(grad > 0)
    if not len(nonzero):
        return None
    (top, left), (bottom, right) = nonzero.min(0).values.tolist(), nonzero.max(0).values.tolist()
    return int(top), int(left), int(bottom), int(right)


@dataclass(frozen=True)
class ReceptiveField:
    """The receptive field of one cell, by the formula and by gradients.

    Attributes:
        formula_box: from :func:`receptive_box`, may reach into the padding.
        clipped_box: the part of it inside the image.
        architecture_grad: gradient of the bare architecture (its support is ``clipped_box``).
        model_grad: gradient of the model on this image (its support is inside ``clipped_box``).
        layer_shape: ``(h, w)`` of the layer's output.
    """

    layer: int
    row: int
    col: int
    formula_box: tuple[int, int, int, int]
    clipped_box: tuple[int, int, int, int]
    architecture_grad: torch.Tensor
    model_grad: torch.Tensor
    layer_shape: tuple[int, int]


@lru_cache(maxsize=32)
def _layer_shapes(model: nn.Sequential, shape: tuple[int, int]) -> tuple[tuple[int, ...], ...]:
    return tuple(tuple(a.shape) for a in layer_activations(model, torch.zeros(shape)))


def layer_shapes(model: nn.Sequential, shape: tuple[int, int] = (28, 28)) -> list[tuple[int, ...]]:
    """The output shape (without batch axis) of every top-level layer for an input of ``shape``."""
    return list(_layer_shapes(model, tuple(shape)))


def receptive_field_state(model: nn.Sequential, image: torch.Tensor, layer: int, row: int, col: int
                          ) -> ReceptiveField:
    """Cell ``(row, col)`` of layer ``layer`` (0-based): its receptive field by formula and by gradients (chapter 5)."""
    shapes = layer_shapes(model, tuple(image.shape[-2:]))
    if len(shapes[layer]) != 3:
        raise ValueError(f"layer {layer + 1} has no spatial layout (shape {shapes[layer]})")
    h, w = shapes[layer][1:]
    if not (0 <= row < h and 0 <= col < w):
        raise ValueError(f"layer {layer + 1} is {h}x{w}; ({row}, {col}) is outside it")
    box = receptive_box(layer_geometry(model), layer, row, col)
    H, W = image.shape[-2:]
    clipped = (max(box[0], 0), max(box[1], 0), min(box[2], H - 1), min(box[3], W - 1))
    return ReceptiveField(layer, row, col, box, clipped,
                          architecture_gradient(model, layer, row, col, (H, W)),
                          gradient_map(model, image, layer, row, col), (h, w))


def _as_box(box: tuple[int, int, int, int], colour: str, dashed: bool = False) -> Box:
    top, left, bottom, right = box
    return Box(top, left, bottom - top + 1, right - left + 1, colour, dashed)


def receptive_field_html(state: ReceptiveField, image: torch.Tensor, layer_name: str = "") -> str:
    """The digit with the formula's box, and the two gradient maps with the box of their non-zero cells."""
    s = state
    top, left, bottom, right = s.formula_box
    formula = _as_box(s.clipped_box, ORANGE)
    arch = support_box(s.architecture_grad)
    model = support_box(s.model_grad)
    h, w = s.layer_shape
    layer_map = np.full((h, w), np.nan)
    layer_map[s.row, s.col] = 1.0
    pictures = row_of(
        panel(layer_map, f"layer {s.layer + 1}: cell ({s.row}, {s.col})", size=112,
              boxes=(Box(s.row, s.col, 1, 1, ORANGE),), limits=(0.0, 1.0), caption=f"{h}x{w} layer"),
        panel(image, "formula: the input region", boxes=(formula,)),
        panel(s.architecture_grad, "gradient, bare architecture",
              boxes=((formula, _as_box(arch, GREEN, dashed=True)) if arch else (formula,))),
        panel(s.model_grad, "gradient of the model, this digit",
              boxes=((formula, _as_box(model, PURPLE, dashed=True)) if model else (formula,))),
    )
    size = f"{bottom - top + 1}x{right - left + 1}"
    clip_h, clip_w = s.clipped_box[2] - s.clipped_box[0] + 1, s.clipped_box[3] - s.clipped_box[1] + 1
    parts = [f'formula: rows {top} to {bottom}, columns {left} to {right}: <b class="cc-rf">{size}</b>'
             + (f", of which {clip_h}x{clip_w} inside the image (the rest is padding)"
                if (clip_h, clip_w) != (bottom - top + 1, right - left + 1) else "")]
    parts.append("bare-architecture gradient: non-zero on " + (
        f"rows {arch[0]} to {arch[2]}, columns {arch[1]} to {arch[3]}"
        + (" (the same box)" if arch == s.clipped_box else " (differs from the formula!)") if arch else "no cell"))
    parts.append("model gradient (the cell before its own ReLU): " + (
        f"non-zero on rows {model[0]} to {model[2]}, columns {model[1]} to {model[3]}, inside the box; "
        "where it is dark inside the box, a ReLU of an earlier layer is off for this digit"
        if model else "zero everywhere: every path to this cell goes through a ReLU that is off for this digit"))
    return pictures + "".join(note(p, cls="cc-receptive") for p in parts) + (
        note(html.escape(layer_name), cls="cc-layer") if layer_name else "")


# ---------------------------------------------------------------------------
# chapter 6: pooling


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
        panel(s.fmap, html.escape(map_name), boxes=(Box(s.out_row * s.stride, s.out_col * s.stride,
                                                          s.size, s.size),), limits=limits),
        value_table(s.window, title=f"window {s.size}x{s.size}", signed=False, marks=marks, cell=34),
        '<div style="align-self:center;font-size:14px;">&rarr; ' + s.mode + "</div>",
        panel(s.output, f"{s.mode} pooled", boxes=(Box(s.out_row, s.out_col, 1, 1),), limits=limits),
    )
    out = s.output.shape[0]
    dropped = (h - s.size) % s.stride
    text = [f'output cell ({s.out_row}, {s.out_col}) = {s.mode} of the window = <b class="cc-pool">{_fmt(s.value)}</b>',
            f"output size = ({h} \u2212 {s.size}) // {s.stride} + 1 = {out}"
            + (f"; the last {dropped} row(s) and column(s) are never pooled (floored)" if dropped else ""),
            f"{h}x{h} = {h * h} values become {out}x{out} = {out * out}"
            + (": windows overlap (stride < size), so one value can win several windows"
               if s.stride < s.size else "")]
    return pictures + "".join(note(t, cls="cc-pooling") for t in text)
