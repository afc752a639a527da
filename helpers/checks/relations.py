"""Hints for mistakes nobody listed: the relation between a learner's output and the expected one.

An exercise's catalogued mistakes (``Exercise.mistakes``) name the errors its author foresaw. A learner
makes others, and many of them leave a trace that can be read from the output alone: the map is the
expected one transposed, mirrored, moved by a row, one row short, scaled, offset by a constant, wrong
only on its border, or the right numbers along the wrong axes. This module reads that trace.

A relation is named only when it holds **exactly** (to the comparison's tolerance) on **every** failing
case, so a hint never names a mistake the answer did not make; when several hold, the first in
:data:`RELATIONS` wins. It is used only for function exercises, whose inputs are random: for a single
answer (a review question) a relation such as "twice the expected value" would give the answer away.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import torch

ATOL = RTOL = 1e-4


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape == b.shape and bool(torch.allclose(a.double(), b.double(), atol=ATOL, rtol=RTOL))


def _tensors(got: Any, expected: Any) -> tuple[torch.Tensor, torch.Tensor] | None:
    if type(got) is torch.Tensor and type(expected) is torch.Tensor and got.dim() == expected.dim() >= 1:
        if got.dtype.is_floating_point or not expected.dtype.is_floating_point:
            return got, expected
    return None


def _varied(t: torch.Tensor) -> bool:
    """A relation read off a constant map would be a coincidence."""
    return t.numel() > 1 and float(t.double().std()) > 1e-6


# -- the relations: each returns True only when it holds exactly for this (got, expected) ------------

def _transposed(got: Any, expected: Any) -> bool:
    pair = _tensors(got, expected)
    if not pair or pair[1].dim() < 2:
        return False
    g, e = pair
    t = e.transpose(-2, -1)
    return _varied(e) and not _close(t, e) and _close(g, t)


def _mirrored(axes: tuple[int, ...]) -> Callable[[Any, Any], bool]:
    def holds(got: Any, expected: Any) -> bool:
        pair = _tensors(got, expected)
        if not pair or pair[1].dim() < len(axes):
            return False
        g, e = pair
        f = e.flip(axes)
        return _varied(e) and not _close(f, e) and _close(g, f)
    return holds


def _shifted(got: Any, expected: Any) -> bool:
    """Same shape, and the learner's map is the expected one moved by one row or column (edges aside)."""
    pair = _tensors(got, expected)
    if not pair or pair[1].dim() < 2 or pair[0].shape != pair[1].shape:
        return False
    g, e = pair
    if min(e.shape[-2:]) < 3 or not _varied(e) or _close(g, e):
        return False
    for dr, dc in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        ge = g[..., max(dr, 0):g.shape[-2] + min(dr, 0), max(dc, 0):g.shape[-1] + min(dc, 0)]
        ee = e[..., max(-dr, 0):e.shape[-2] + min(-dr, 0), max(-dc, 0):e.shape[-1] + min(-dc, 0)]
        if _close(ge, ee):
            return True
    return False


def _cropped(got: Any, expected: Any) -> bool:
    """One row or column short (or long), the values that are there being right: a size off by one."""
    pair = _tensors(got, expected)
    if not pair or pair[1].dim() < 2 or pair[0].shape == pair[1].shape:
        return False
    g, e = pair
    if g.shape[:-2] != e.shape[:-2]:
        return False
    dh, dw = g.shape[-2] - e.shape[-2], g.shape[-1] - e.shape[-1]
    if not (abs(dh) <= 1 and abs(dw) <= 1):
        return False
    small, big = (g, e) if dh <= 0 and dw <= 0 else (e, g) if dh >= 0 and dw >= 0 else (None, None)
    if small is None or small.numel() == 0:
        return False
    h, w = small.shape[-2:]
    return _close(small, big[..., :h, :w]) or _close(small, big[..., big.shape[-2] - h:, big.shape[-1] - w:])


def _scale(got: Any, expected: Any) -> float | None:
    pair = _tensors(got, expected)
    if not pair or pair[0].shape != pair[1].shape or not _varied(pair[1]):
        return None
    g, e = pair[0].double(), pair[1].double()
    k = int(e.abs().argmax())
    if abs(float(e.flatten()[k])) < 1e-6:
        return None
    c = float(g.flatten()[k] / e.flatten()[k])
    return c if abs(c - 1) > 1e-3 and abs(c) > 1e-6 and _close(g, c * e) else None


def _scaled(got: Any, expected: Any) -> bool:
    return _scale(got, expected) is not None


def _offset(got: Any, expected: Any) -> bool:
    pair = _tensors(got, expected)
    if not pair or pair[0].shape != pair[1].shape or pair[1].numel() < 2:
        return False
    g, e = pair[0].double(), pair[1].double()
    c = float((g - e).flatten()[0])
    return abs(c) > 1e-3 and _close(g, e + c)


def _border_only(got: Any, expected: Any) -> bool:
    """Right inside, wrong somewhere on the outermost rows or columns only: the edges were handled wrong."""
    pair = _tensors(got, expected)
    if not pair or pair[1].dim() < 2 or pair[0].shape != pair[1].shape or min(pair[1].shape[-2:]) < 3:
        return False
    g, e = pair[0].double(), pair[1].double()
    bad = ~torch.isclose(g, e, atol=ATOL, rtol=RTOL)
    inner = bad[..., 1:-1, 1:-1]
    return bool(bad.any()) and not bool(inner.any())


def _permuted(got: Any, expected: Any) -> bool:
    """The right numbers along the wrong axes (e.g. [in, out] for [out, in], channels last)."""
    pair = _tensors(got, expected)
    if not pair or pair[1].dim() < 2 or pair[1].dim() > 5:
        return False
    g, e = pair
    if g.shape == e.shape and _close(g, e):
        return False
    for perm in itertools.permutations(range(e.dim())):
        if perm != tuple(range(e.dim())) and tuple(e.shape[p] for p in perm) == tuple(g.shape):
            p = e.permute(perm)
            if not _close(p, e) and _close(g, p):
                return True
    return False


def _rounded(got: Any, expected: Any) -> bool:
    """An integer tensor whose values are the expected ones rounded: the result lost its fractions."""
    if type(got) is not torch.Tensor or type(expected) is not torch.Tensor:
        return False
    if got.dtype.is_floating_point or not expected.dtype.is_floating_point or got.shape != expected.shape:
        return False
    e = expected.double()
    if torch.equal(e, e.round()):
        return False
    g = got.double()
    return bool(torch.equal(g, e.trunc()) or torch.equal(g, e.round()) or torch.equal(g, e.floor()))


def _int_off_by_one(got: Any, expected: Any) -> bool:
    return type(got) is int and type(expected) is int and abs(got - expected) == 1


def _int_twice(got: Any, expected: Any) -> bool:
    return type(got) is int and type(expected) is int and expected != 0 and (got == 2 * expected or
                                                                            2 * got == expected)


#: ``(name, holds(got, expected), hint)``: the first whose relation holds on every failing case is named.
RELATIONS: tuple[tuple[str, Callable[[Any, Any], bool], str], ...] = (
    ("rounded", _rounded,
     "your result holds whole numbers where fractions were expected: it was made an integer tensor "
     "(e.g. torch.zeros(..., dtype=torch.long) or .int()); keep floating point."),
    ("transposed", _transposed,
     "your result is the expected one transposed (rows and columns swapped): check which index is the "
     "row and which the column."),
    ("mirrored left-right", _mirrored((-1,)),
     "your result is the expected one mirrored left to right: a column index runs the wrong way."),
    ("mirrored upside down", _mirrored((-2,)),
     "your result is the expected one upside down: a row index runs the wrong way."),
    ("rotated", _mirrored((-2, -1)),
     "your result is the expected one turned by 180 degrees: both indices run the wrong way (a flipped "
     "kernel flips the output too)."),
    ("axes", _permuted,
     "your result holds the right numbers along the wrong axes: check the order of the dimensions "
     "(for example [out, in] against [in, out], or channels first)."),
    ("size off by one", _cropped,
     "the values you computed are right, but your result has one row or column too many or too few: "
     "check the output size (the + 1, or where the last window starts)."),
    ("shifted", _shifted,
     "your result is the expected one moved by one row or column: an index starts one too early or "
     "too late."),
    ("border only", _border_only,
     "your result is right inside but wrong on its outer rows or columns: check how the edges are "
     "handled (padding, or windows that run past the border)."),
    ("scaled", _scaled,
     "your result is the expected one times a constant: a factor is missing or extra (a mean for a sum, "
     "a division by the wrong count)."),
    ("offset", _offset,
     "every value of your result is off by the same constant: something is added to every value that "
     "should not be, or left out (a bias, an offset)."),
    ("off by one", _int_off_by_one,
     "your number is off by one: check a + 1 or - 1, or whether an end is included."),
    ("twice or half", _int_twice,
     "your number is twice or half the expected one: something counted twice, or only one side of two."),
)


def diagnose(pairs: list[tuple[Any, Any]]) -> str | None:
    """The hint of the first relation that holds on every ``(got, expected)`` pair, or ``None``."""
    if not pairs:
        return None
    for _name, holds, hint in RELATIONS:
        try:
            if all(holds(got, expected) for got, expected in pairs):
                return hint
        except Exception:  # noqa: BLE001 - a relation that cannot be tested on these values does not hold
            continue
    return None


def name_of(pairs: list[tuple[Any, Any]]) -> str | None:
    """The name of the relation :func:`diagnose` would name (for tests and the class report)."""
    hint = diagnose(pairs)
    return next((name for name, _, h in RELATIONS if h == hint), None)
