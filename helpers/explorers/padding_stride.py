"""Chapter 3, "Padding and strides": every kernel position on the padded grid, and the output size.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import numpy as np

from .kit import CHOSEN, ORANGE, note, row_of

__all__ = ["output_size", "kernel_positions", "PaddingStride", "padding_stride_state", "padding_stride_html"]


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
            style = CHOSEN if i == selected else "background:#eef3fb;"
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
