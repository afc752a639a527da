"""Chapter 9, "Deeper networks that still train": what depth and the initial scale do to a stack.

A stack of ``depth`` 3x3 convolutions (16 channels, no bias) runs once forward and once backward on a
fixed batch of noise. Each layer's weights are Kaiming's normal draw times ``scale`` (1 is Kaiming's
variance 2 / fan_in). The plain stack computes ``h = relu(conv(h))``; the residual one adds its input
back, ``h = h + conv(relu(h))`` (a pre-activation block without batch norm, so that only the shortcut
differs). Per layer it records the root mean square of the activations and of the gradient of the loss
with respect to them, and says in words what happened: vanished, exploded or steady.

The same numbers are what the chapter's figure plots; the sliders only pick depth, scale and the kind.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from functools import lru_cache

import torch
import torch.nn.functional as F

from .kit import note

__all__ = ["DepthStats", "depth_stats", "depth_html", "verdict_in_words"]

#: Channels and side of the probe batch: small, so that a redraw takes milliseconds.
CHANNELS, SIDE, BATCH = 16, 12, 8
#: A root mean square outside [1/BAND, BAND] times the input's counts as vanished or exploded.
BAND = 100.0


@dataclass(frozen=True)
class DepthStats:
    """Per-layer statistics of one forward and backward pass.

    Attributes:
        depth, scale, residual: the settings.
        activation_rms: root mean square of each layer's output, layer 1 first.
        gradient_rms: root mean square of the loss's gradient with respect to each layer's output.
    """

    depth: int
    scale: float
    residual: bool
    activation_rms: tuple[float, ...]
    gradient_rms: tuple[float, ...]


def _weights(depth: int, scale: float, seed: int) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    std = scale * math.sqrt(2 / (CHANNELS * 9))
    return [torch.randn(CHANNELS, CHANNELS, 3, 3, generator=g, ) * std for _ in range(depth)]


@lru_cache(maxsize=256)
def depth_stats(depth: int, scale: float, residual: bool, seed: int = 0) -> DepthStats:
    """Run the stack once and measure every layer (cached: a slider moving back is free)."""
    if depth < 1:
        raise ValueError(f"depth must be at least 1, got {depth}")
    if not scale > 0:
        raise ValueError(f"the scale must be positive, got {scale}")
    g = torch.Generator().manual_seed(seed + 1)
    x = torch.randn(BATCH, CHANNELS, SIDE, SIDE, generator=g)
    probe = torch.randn(BATCH, CHANNELS, SIDE, SIDE, generator=g)
    return _measure(depth, scale, residual, x, probe, seed)


def _measure(depth, scale, residual, x, probe, seed) -> DepthStats:
    weights = [w.requires_grad_() for w in _weights(depth, scale, seed)]
    hs = []
    h = x
    with torch.enable_grad():
        for w in weights:
            h = h + F.conv2d(F.relu(h), w, padding=1) if residual else F.relu(F.conv2d(h, w, padding=1))
            h.retain_grad()
            hs.append(h)
        loss = (h * probe).sum() / BATCH
        loss.backward()
    rms = lambda t: float(t.detach().pow(2).mean().sqrt())
    return DepthStats(depth, float(scale), residual, tuple(rms(h) for h in hs),
                      tuple(rms(h.grad) if h.grad is not None else 0.0 for h in hs))


def verdict_in_words(stats: DepthStats) -> str:
    """One sentence: what happened to the signal going forward and to the gradient going back."""
    first, last = stats.activation_rms[0], stats.activation_rms[-1]
    g_first, g_last = stats.gradient_rms[0], stats.gradient_rms[-1]
    kind = "residual" if stats.residual else "plain"

    def word(ratio: float) -> str:
        if not math.isfinite(ratio) or ratio > BAND:
            return "exploded"
        if ratio < 1 / BAND:
            return "vanished"
        return "stayed within a factor of 100"

    forward = last / first if first > 0 else float("inf")
    backward = g_first / g_last if g_last > 0 else float("inf")
    return (f"{stats.depth} {kind} layers at {stats.scale:g} x Kaiming: the activations {word(forward)} "
            f"(last layer / first: {forward:.3g}), the gradient reaching layer 1 {word(backward)} "
            f"(layer 1 / last layer: {backward:.3g}).")


def _bars(values: tuple[float, ...], title: str, colour: str, width: int = 300, height: int = 120) -> str:
    logs = [math.log10(v) if v > 0 and math.isfinite(v) else -12.0 for v in values]
    low, high = min(min(logs), -1.0), max(max(logs), 1.0)
    bar = width / len(values)
    zero = (0 - low) / (high - low) * height
    divs = "".join(
        f'<div style="position:absolute;bottom:0;left:{i * bar:.1f}px;width:{max(bar - 1, 1):.1f}px;'
        f'height:{(v - low) / (high - low) * height:.1f}px;background:{colour};" '
        f'title="layer {i + 1}: {values[i]:.3g}"></div>' for i, v in enumerate(logs))
    line = (f'<div style="position:absolute;left:0;bottom:{zero:.1f}px;width:{width}px;border-top:1px dashed #555;">'
            f'</div>')
    return (f'<figure style="margin:4px 10px 4px 0;"><figcaption style="font-size:12px;text-align:center;">'
            f'{html.escape(title)}</figcaption>'
            f'<div class="cc-depth-bars" role="img" aria-label="{html.escape(title)}, layer 1 to {len(values)}: '
            f'from {values[0]:.3g} to {values[-1]:.3g}" style="position:relative;width:{width}px;height:{height}px;'
            f'border-left:1px solid #888;border-bottom:1px solid #888;">{divs}{line}</div>'
            f'<figcaption style="font-size:11px;color:#555;display:flex;justify-content:space-between;'
            f'width:{width}px;"><span>layer 1</span><span>log scale, dashed line = 1</span>'
            f'<span>layer {len(values)}</span></figcaption></figure>')


def depth_html(plain: DepthStats, residual: DepthStats) -> str:
    """Both stacks side by side: activation and gradient sizes per layer, and a line in words for each."""
    rows = []
    for stats in (plain, residual):
        kind = "residual" if stats.residual else "plain"
        rows.append('<div style="display:flex;flex-wrap:wrap;">'
                    + _bars(stats.activation_rms, f"{kind}: activation size (rms) per layer", "#3b528b")
                    + _bars(stats.gradient_rms, f"{kind}: gradient size (rms) per layer", "#d62728") + "</div>"
                    + note(verdict_in_words(stats), cls="cc-depth"))
    return "".join(rows)
