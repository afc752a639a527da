"""Chapter 7, "Colour images and training that stays stable": a layer's activations through training.

The state is read from a recorded run (:class:`helpers.stability.Run`, whose
:class:`~helpers.stability.ActivationStats` hold one histogram and three
statistics per ReLU and training step). The picture is fastai's "colourful
dimension" of the chosen layer (histogram per step, as a small PNG, with the
chosen step outlined), the histogram at that step as bars, and its numbers.
The PNG depends only on the run and the layer, so it is encoded once and a
step slider only moves the outline and redraws the bars.
"""

from __future__ import annotations

import html

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from .kit import note, png_data_uri, row_of

__all__ = ["ActivationStep", "activation_state", "activation_html", "colourful_rgb"]


@dataclass(frozen=True)
class ActivationStep:
    """One ReLU of one run at one training step.

    Attributes:
        label: the run's label, e.g. ``"lr 0.06"``.
        layer: which ReLU (0 is the first), ``layers``: how many the run recorded.
        step: the training step (0 is the first), ``steps``: how many were recorded.
        hist: the histogram at that step (counts per bin), ``hist_max``: its upper edge.
        mean, std, near_zero: the recorded statistics at that step.
        loss: the training loss of that step.
    """

    label: str
    layer: int
    layers: int
    step: int
    steps: int
    hist: torch.Tensor
    hist_max: float
    mean: float
    std: float
    near_zero: float
    loss: float


def activation_state(run, layer: int = -1, step: int = 0) -> ActivationStep:
    """The recorded state of ReLU ``layer`` of ``run`` at training ``step`` (both clipped to what exists)."""
    from helpers.stability import HIST_MAX

    layers = run.stats.layers
    layer = min(max(layer if layer >= 0 else len(layers) + layer, 0), len(layers) - 1)
    stats = layers[layer]
    steps = len(stats.mean)
    if steps == 0:
        raise ValueError(f"the run {run.label!r} recorded no training step")
    step = min(max(step, 0), steps - 1)
    losses = run.history.step_loss
    return ActivationStep(run.label, layer, len(layers), step, steps, stats.hist[step], HIST_MAX,
                          stats.mean[step], stats.std[step], stats.near_zero[step],
                          float(losses[step]) if step < len(losses) else float("nan"))


def colourful_rgb(hist: torch.Tensor) -> np.ndarray:
    """Histograms ``[steps, bins]`` as an RGB picture ``[bins, steps, 3]``: 0 at the bottom, log(1 + count)."""
    values = np.log1p(np.asarray(hist, dtype=float)).T[::-1]
    top = values.max() or 1.0
    return _viridis()[np.clip((values / top * 255).round(), 0, 255).astype(np.int64)]


@lru_cache(maxsize=1)
def _viridis() -> np.ndarray:
    from matplotlib import colormaps

    return (colormaps["viridis"](np.linspace(0, 1, 256))[:, :3] * 255).round().astype(np.uint8)


#: Encoded pictures by (run, layer): the run is kept with its picture, so a new run never gets an old one.
_PICTURES: dict[tuple[int, int], tuple[object, str]] = {}


def _picture_of(run, layer: int) -> str:
    cached = _PICTURES.get((id(run), layer))
    if cached is None or cached[0] is not run:
        cached = (run, png_data_uri(colourful_rgb(run.stats.layers[layer].histograms())))
        _PICTURES[(id(run), layer)] = cached
    return cached[1]


def _bars(state: ActivationStep, width: int = 260, height: int = 150) -> str:
    """The histogram at one step as HTML bars (log scale), with its axis labels."""
    counts = np.log1p(np.asarray(state.hist, dtype=float))
    top = counts.max() or 1.0
    bar = width / len(counts)
    divs = "".join(
        f'<div style="position:absolute;bottom:0;left:{i * bar:.1f}px;width:{max(bar - 1, 1):.1f}px;'
        f'height:{c / top * height:.1f}px;background:#3b528b;"></div>' for i, c in enumerate(counts))
    return (f'<figure style="margin:4px 10px 4px 0;"><figcaption style="font-size:12px;text-align:center;">'
            f'histogram at step {state.step + 1} (log scale)</figcaption>'
            f'<div class="cc-bars" style="position:relative;width:{width}px;height:{height}px;'
            f'border-left:1px solid #888;border-bottom:1px solid #888;">{divs}</div>'
            f'<figcaption style="font-size:11px;color:#555;display:flex;justify-content:space-between;'
            f'width:{width}px;"><span>0</span><span>activation value</span><span>{state.hist_max:g}+</span>'
            f'</figcaption></figure>')


def activation_html(run, state: ActivationStep, size: int = 320) -> str:
    """The colourful picture with the step outlined, the histogram at the step, and its numbers."""
    from helpers.stability import NEAR_ZERO

    scale_x = size / state.steps
    alt = (f"{html.escape(state.label)}: the histogram of ReLU {state.layer + 1}'s activations at each of the "
           f"{state.steps} training steps, side by side, bright where many values fall, value 0 at the bottom; "
           f"step {state.step + 1} outlined, {100 * state.near_zero:.1f}% of its activations near zero")
    left = state.step * scale_x
    picture = (
        f'<figure style="margin:4px 10px 4px 0;"><figcaption style="font-size:12px;text-align:center;">'
        f'{state.label}: ReLU {state.layer + 1} of {state.layers}, every step</figcaption>'
        f'<div style="position:relative;width:{size}px;height:150px;outline:1px solid #bbb;">'
        f'<img src="{_picture_of(run, state.layer)}" width="{size}" height="150" '
        f'style="image-rendering:pixelated;display:block;max-width:none;" alt="{alt}">'
        f'<div class="cc-step-mark" style="position:absolute;top:0;left:{left:.1f}px;width:{max(scale_x, 2):.1f}px;'
        f'height:150px;box-sizing:border-box;border:2px solid #ff7f0e;"></div></div>'
        f'<figcaption style="font-size:11px;color:#555;text-align:center;">training step 1 to {state.steps} '
        f'&rarr;; value 0 at the bottom</figcaption></figure>')
    numbers = [
        f'{html.escape(state.label)}, ReLU {state.layer + 1}, step <b class="cc-step">{state.step + 1}</b> of '
        f'{state.steps}: training loss '
        f'<b class="cc-loss">{state.loss:.3f}</b>',
        f'mean <b class="cc-mean">{state.mean:.3f}</b>, standard deviation <b class="cc-std">{state.std:.3f}</b>, '
        f'near zero (|a| &lt; {NEAR_ZERO}) <b class="cc-zero">{100 * state.near_zero:.1f}%</b>',
    ]
    if state.near_zero > 0.99:
        numbers.append("almost every activation is zero: this layer is dead, and passes back no gradient")
    return row_of(picture, _bars(state)) + "".join(note(t, cls="cc-activations") for t in numbers)
