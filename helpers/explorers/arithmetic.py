"""Chapter 8, "The rest of convolution arithmetic": stride, padding and dilation on a small grid, and the
transposed convolution that goes back.

The left half is the forward convolution: the padded input grid, the taps one output cell reads (a
dilated kernel leaves holes), and the output grid. The right half is the transposed convolution with the
same kernel size, stride, padding and dilation, from the output grid back to a grid of the input's size:
each of its cells counts how many stamps cover it, which is also how many times the convolution read
that input pixel. Uneven counts are the checkerboard of upsampling layers.

Everything is computed with plain loops over a few dozen cells (NumPy), independently of PyTorch; the
tests compare it with ``nn.Conv2d`` and ``F.conv_transpose2d``.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

import numpy as np

from helpers.colours import AA_TEXT, contrast_ratio, ink_for

from .kit import CHOSEN, ORANGE, note, row_of

__all__ = ["conv_size", "transposed_size", "Arithmetic", "arithmetic_state", "arithmetic_html"]


def conv_size(n: int, ks: int, pad: int = 0, stride: int = 1, dilation: int = 1) -> int:
    """Output size of a convolution along one side; 0 when the dilated kernel does not fit."""
    span = dilation * (ks - 1) + 1
    if n + 2 * pad < span:
        return 0
    return (n + 2 * pad - span) // stride + 1


def transposed_size(n: int, ks: int, stride: int = 1, pad: int = 0, output_padding: int = 0,
                    dilation: int = 1) -> int:
    """Output size of a transposed convolution along one side."""
    return (n - 1) * stride - 2 * pad + dilation * (ks - 1) + output_padding + 1


@dataclass(frozen=True)
class Arithmetic:
    """Everything the explorer shows, for a square ``n x n`` input.

    Attributes:
        out: output size per side of the convolution (0 if the kernel does not fit).
        cell: the chosen output cell ``(row, col)``, or None when there is no output.
        taps: padded coordinates ``(row, col)`` the chosen output cell reads.
        reads: ``(n+2*pad, n+2*pad)``: how many times the convolution reads each padded cell.
        back: the transposed convolution's size per side without output_padding.
        output_padding: what makes the way back reach ``n`` again (None if nothing allowed does).
        coverage: ``(n, n)`` stamp counts of the transposed convolution (with that output_padding), or
            of its natural size when no output_padding works.
        stamp: cells of ``coverage`` the chosen output cell stamps.
        remarks: what is special about these settings, in words.
    """

    n: int
    ks: int
    stride: int
    pad: int
    dilation: int
    out: int
    cell: tuple[int, int] | None
    taps: list[tuple[int, int]]
    reads: np.ndarray
    back: int
    output_padding: int | None
    coverage: np.ndarray
    stamp: list[tuple[int, int]]
    remarks: tuple[str, ...] = field(default_factory=tuple)


def arithmetic_state(n: int, ks: int, stride: int, pad: int, dilation: int, index: int = 0) -> Arithmetic:
    """The forward taps, the reads per pixel, and the transposed convolution going back (chapter 8)."""
    if min(n, ks, stride, dilation) < 1 or pad < 0:
        raise ValueError("input size, kernel size, stride and dilation must be at least 1, padding at least 0")
    size = n + 2 * pad
    span = dilation * (ks - 1) + 1
    out = conv_size(n, ks, pad, stride, dilation)
    offsets = [a * dilation for a in range(ks)]
    reads = np.zeros((size, size), dtype=int)
    for i in range(out):
        for j in range(out):
            for a in offsets:
                for b in offsets:
                    reads[i * stride + a, j * stride + b] += 1
    cell = None
    taps: list[tuple[int, int]] = []
    if out:
        index = min(max(index, 0), out * out - 1)
        cell = divmod(index, out)
        taps = [(cell[0] * stride + a, cell[1] * stride + b) for a in offsets for b in offsets]
    back = transposed_size(out, ks, stride, pad, 0, dilation) if out else 0
    needed = n - back
    output_padding = needed if out and 0 <= needed < max(stride, dilation) else None
    side = n if output_padding is not None else max(back, 0)
    coverage = np.zeros((side, side), dtype=int)
    for i in range(out):
        for j in range(out):
            for a in offsets:
                for b in offsets:
                    r, c = i * stride + a - pad, j * stride + b - pad
                    if 0 <= r < side and 0 <= c < side:
                        coverage[r, c] += 1
    stamp = [(r - pad, c - pad) for r, c in taps if 0 <= r - pad < side and 0 <= c - pad < side]

    remarks = []
    if not out:
        remarks.append(f"The dilated kernel spans {span} pixels, more than the {size} of the padded input: "
                       "PyTorch raises an error.")
    else:
        if dilation > 1:
            remarks.append(f"Dilation {dilation}: the {ks}x{ks} kernel spans {span}x{span} pixels with "
                           f"{dilation - 1} skipped between taps; still {ks * ks} weights.")
        unread = int(((reads == 0)[pad:pad + n, pad:pad + n]).sum())
        if unread:
            remarks.append(f"{unread} input pixel(s) are never read (hatched red): the stride skips them or the "
                           "floor drops them. Their gradient is 0, and the way back leaves them at 0.")
        if output_padding is None:
            remarks.append(f"No output_padding below max(stride, dilation) = {max(stride, dilation)} brings the "
                           f"{out}x{out} output back to {n}x{n}: the way back gives {back}x{back}.")
        elif output_padding:
            remarks.append(f"Going back from {out}x{out} gives {back}x{back}: output_padding={output_padding} adds "
                           f"the missing row(s) and column(s) to reach {n}x{n} (the floor of the forward size "
                           "made the way back ambiguous).")
        counts = coverage[coverage > 0]
        if counts.size and counts.min() != counts.max():
            remarks.append(f"Stamps overlap unevenly: pixels are covered {counts.min()} to {counts.max()} times. "
                           "Learned upsampling with these settings starts with this checkerboard pattern.")
        if all(not (pad <= r < pad + n and pad <= c < pad + n) for r, c in taps):
            remarks.append("Every tap of the chosen output cell lands on padding: its value is the bias alone.")
    return Arithmetic(n, ks, stride, pad, dilation, out, cell, taps, reads, back, output_padding, coverage,
                      stamp, tuple(remarks))


_HATCH = "repeating-linear-gradient(45deg,#f4c7c7,#f4c7c7 3px,{bg} 3px,{bg} 6px)"


def _td(text: str, background: str, cell: int, extra: str = "") -> str:
    """One cell; its number in blue where that reaches 4.5:1 on the background, else black or white."""
    ink = "#1f4e9c"
    if not background.startswith("repeating"):
        plain = tuple(int(v) for v in re.findall(r"\d+", background)) if background.startswith("rgb") else background
        if contrast_ratio(ink, plain) < AA_TEXT:
            ink = ink_for(plain)
    return (f'<td style="width:{cell}px;height:{cell}px;padding:0;text-align:center;font:9px monospace;'
            f'color:{ink};border:1px solid #bbb;background:{background};{extra}">{text}</td>')


def _figure(caption: str, rows: list[str], cls: str) -> str:
    return (f'<figure class="{cls}" style="margin:4px 14px 4px 0;"><figcaption style="font-size:12px;'
            f'text-align:center;">{caption}</figcaption><table style="border-collapse:collapse;">'
            f'{"".join(rows)}</table></figure>')


def arithmetic_html(state: Arithmetic, cell: int = 18) -> str:
    """Padded input with the chosen cell's taps, the output grid, and the transposed convolution's stamp counts."""
    s = state
    size = s.n + 2 * s.pad
    taps = set(s.taps)
    rows = []
    for r in range(size):
        tds = []
        for c in range(size):
            inside = s.pad <= r < s.pad + s.n and s.pad <= c < s.pad + s.n
            bg = "#ffffff" if inside else "#d9d9d9"
            if (r, c) in taps:
                bg = ORANGE
            elif inside and s.out and s.reads[r, c] == 0:
                bg = _HATCH.format(bg=bg)
            tds.append(_td("" if inside else "0", bg, cell))
        rows.append(f"<tr>{''.join(tds)}</tr>")
    forward = _figure(f"input {s.n}x{s.n}, padding {s.pad} (grey)<br>orange: the {s.ks}x{s.ks} taps of the "
                      "chosen output cell", rows, "cc-arith-input")
    out_rows = []
    for r in range(s.out):
        tds = [_td(str(r * s.out + c), ORANGE if (r, c) == s.cell else "#eef3fb", cell,
                   CHOSEN if (r, c) == s.cell else "") for c in range(s.out)]
        out_rows.append(f"<tr>{''.join(tds)}</tr>")
    output = _figure(f"output {s.out}x{s.out}<br>stride {s.stride}, dilation {s.dilation}", out_rows,
                     "cc-arith-output")
    stamp = set(s.stamp)
    top = int(s.coverage.max()) if s.coverage.size else 0
    back_rows = []
    for r in range(s.coverage.shape[0]):
        tds = []
        for c in range(s.coverage.shape[1]):
            count = int(s.coverage[r, c])
            shade = 255 - int(120 * count / top) if top else 255
            bg = ORANGE if (r, c) in stamp else f"rgb({shade},{shade},255)"
            tds.append(_td(str(count), bg, cell, CHOSEN if (r, c) in stamp else ""))
        back_rows.append(f"<tr>{''.join(tds)}</tr>")
    side = s.coverage.shape[0]
    back = _figure(f"transposed convolution back: {side}x{side}<br>stamps covering each pixel; orange: the "
                   "chosen cell's stamp", back_rows, "cc-arith-back")
    span = s.dilation * (s.ks - 1) + 1
    if s.out:
        forward_formula = (f"({s.n} + 2\u00d7{s.pad} \u2212 {span}) // {s.stride} + 1 = {s.out}"
                           f"  (dilated span {s.dilation}\u00d7({s.ks} \u2212 1) + 1 = {span})")
        op = s.output_padding or 0
        back_formula = (f"({s.out} \u2212 1)\u00d7{s.stride} \u2212 2\u00d7{s.pad} + {s.dilation}\u00d7({s.ks} "
                        f"\u2212 1) + {op} + 1 = {s.back + op}" + (f"  (output_padding={op})" if op else ""))
    else:
        forward_formula, back_formula = "the kernel does not fit", "nothing to go back from"
    where = (f"output cell {s.cell[0] * s.out + s.cell[1]} = row {s.cell[0]}, column {s.cell[1]}: reads padded "
             f"rows {s.taps[0][0]}..{s.taps[-1][0]} and columns {s.taps[0][1]}..{s.taps[-1][1]}"
             if s.cell is not None else "no output cell")
    text = (note(f'convolution: <b class="cc-arith-forward">{html.escape(forward_formula)}</b>')
            + note(f'transposed: <b class="cc-arith-transposed">{html.escape(back_formula)}</b>')
            + note(html.escape(where), cls="cc-arith-cell")
            + "".join(note(html.escape(r), cls="cc-remark") for r in s.remarks))
    return row_of(forward, output, back) + text
