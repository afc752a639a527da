"""The HTML kit every explorer draws with: maps as small PNGs, outlines as CSS boxes, numbers as tables.

Why HTML and not a matplotlib figure? A slider redraw must feel instant (under
50 ms), and a multi-panel matplotlib figure with its numbers written in takes
longer than that just to render text. Here a map is encoded as a tiny PNG at
its real resolution (a 28x28 digit is a 28x28 image) that the browser scales
up with sharp pixels, outlines are CSS boxes over it, and numbers are HTML
tables, which the browser draws for free.

An outline is a :class:`helpers.receptive.Box` (the course's one rectangle of
cells, both ends included) with a colour: :class:`Outline`.
"""

from __future__ import annotations

import base64
import html
import io
import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from helpers.colours import ink_for
from helpers.receptive import Box

__all__ = ["CHOSEN", "ORANGE", "GREEN", "PURPLE", "RED", "Box", "Outline", "colourise", "png_data_uri", "panel",
           "value_table", "row_of", "note", "symbol", "fmt_number"]

#: Colours of the outlines, as in the course's figures.
ORANGE, GREEN, PURPLE, RED = "#ff7f0e", "#2ca02c", "#9467bd", "#d62728"
#: How a chosen cell of a table is marked: its colour, the ink that contrasts with it (by WCAG's ratio, not
#: luma: black on this orange is 8.4:1, white 2.5:1), and a second cue, a bold number in a black frame.
CHOSEN = f"background:{ORANGE};color:{ink_for(ORANGE)};font-weight:bold;outline:2px solid #000;outline-offset:-2px;"
_MISSING_RGB = (235, 235, 235)  # cells not computed yet (or not covered)


@lru_cache(maxsize=4)
def _lut(name: str) -> np.ndarray:
    """A 256-entry RGB lookup table of a matplotlib colour map (read once)."""
    from matplotlib import colormaps

    return (colormaps[name](np.linspace(0, 1, 256))[:, :3] * 255).round().astype(np.uint8)


def as_array(x) -> np.ndarray:
    """A tensor or array-like as a float NumPy array (detached, on the CPU)."""
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().double().numpy()
    return np.asarray(x, dtype=float)


def limits_of(values: np.ndarray, signed: bool) -> tuple[float, float]:
    """The colour scale of ``values``: symmetric around 0 if ``signed``, else min to max."""
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
    arr = as_array(values)
    low, high = limits or limits_of(arr, signed)
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
class Outline:
    """A :class:`Box` drawn over a map, in the map's cells: its colour, and whether it is dashed."""

    box: Box
    colour: str = ORANGE
    dashed: bool = False


def panel(values, title: str, *, size: int = 196, signed: bool = False, outlines: tuple[Outline, ...] = (),
          limits: tuple[float, float] | None = None, caption: str = "") -> str:
    """One map as an HTML figure: its pixels scaled up sharply, outlines on top, a title and its size.

    Outlines are in cells of ``values``; ``limits`` fixes the colour scale (to compare maps).
    The picture's ``alt`` is the title and the map in words (:func:`helpers.plots.describe_map`).
    """
    from helpers.plots import describe_map

    arr = as_array(values)
    if arr.ndim == 1:
        arr = arr[None, :]
    h, w = arr.shape
    scale = size / max(h, w)
    width, height = round(w * scale), round(h * scale)
    plain_title = re.sub(r"<[^>]+>", " ", html.unescape(title))
    alt = describe_map(arr, signed=signed, name=" ".join(plain_title.split()))
    alt += "".join(f"; outlined{' (dashed)' if o.dashed else ''}: rows {o.box.top} to {o.box.bottom}, columns "
                   f"{o.box.left} to {o.box.right}" for o in outlines)
    drawn = []
    for o in outlines:
        b, style = o.box, "dashed" if o.dashed else "solid"
        drawn.append(
            f'<div style="position:absolute;box-sizing:border-box;left:{b.left * scale:.1f}px;'
            f'top:{b.top * scale:.1f}px;width:{b.width * scale:.1f}px;height:{b.height * scale:.1f}px;'
            f'border:2px {style} {o.colour};"></div>')
    img = (f'<img src="{png_data_uri(colourise(arr, signed=signed, limits=limits))}" width="{width}" '
           f'height="{height}" style="image-rendering:pixelated;display:block;max-width:none;" alt="{html.escape(alt)}">')
    return (f'<figure style="margin:4px 10px 4px 0;"><figcaption style="font-size:12px;text-align:center;">'
            f'{title}</figcaption><div style="position:relative;width:{width}px;height:{height}px;'
            f'outline:1px solid #bbb;">{img}{"".join(drawn)}</div>'
            f'<figcaption style="font-size:11px;color:#555;text-align:center;">{caption or f"{h}x{w}"}'
            f'</figcaption></figure>')


def value_table(values, *, fmt: str = "{:.2f}", signed: bool = True, title: str = "",
                cell: int = 40, marks: np.ndarray | None = None) -> str:
    """A small grid of numbers as an HTML table, each cell coloured by its value.

    The text is black or white, whichever contrasts more with the cell (WCAG's ratio, at least 4.5:1).
    """
    arr = as_array(values)
    if arr.ndim == 1:
        arr = arr[None, :]
    rgb = colourise(arr, signed=signed)
    rows = []
    for r in range(arr.shape[0]):
        tds = []
        for c in range(arr.shape[1]):
            red, green, blue = (int(v) for v in rgb[r, c])
            text = "" if not np.isfinite(arr[r, c]) else fmt.format(arr[r, c] + 0.0)
            text = text[1:] if re.fullmatch(r"-0(\.0*)?", text) else text  # no "-0.00"
            border = f"2px solid {ORANGE}" if marks is not None and marks[r, c] else "1px solid #ccc"
            tds.append(f'<td style="width:{cell}px;height:{cell * 0.7:.0f}px;text-align:center;padding:1px;'
                       f'font:11px monospace;border:{border};background:rgb({red},{green},{blue});'
                       f'color:{ink_for((red, green, blue))};">{text}</td>')
        rows.append(f"<tr>{''.join(tds)}</tr>")
    return (f'<figure style="margin:4px 10px 4px 0;"><figcaption style="font-size:12px;text-align:center;">'
            f'{title}</figcaption><table style="border-collapse:collapse;">{"".join(rows)}</table></figure>')


def row_of(*parts: str) -> str:
    """Panels side by side, wrapping on narrow screens."""
    return f'<div style="display:flex;flex-wrap:wrap;align-items:flex-start;">{"".join(parts)}</div>'


def symbol(text: str, size: int = 20) -> str:
    """An operator between two panels (``&times;``, ``=``, an arrow), centred on their height."""
    return (f'<div style="align-self:center;flex:none;white-space:nowrap;font-size:{size}px;margin:0 6px;">'
            f"{text}</div>")


def note(text: str, *, cls: str = "cc-note") -> str:
    """A line of explanation under the pictures (``cls`` lets tests and the browser find it).

    ``data-cc-note`` marks it as a result to be said in words (:func:`helpers.widgets.spoken`).
    """
    return f'<div class="{cls}" data-cc-note style="font-size:13px;margin:4px 0;">{text}</div>'


def fmt_number(x: float) -> str:
    """Two decimals, a real minus sign, and no "-0.00"."""
    text = f"{x:.2f}"
    return "0.00" if text == "-0.00" else text.replace("-", "\u2212")
