"""Chapter 4, "nn.Conv2d and a first CNN": every map of one layer of a CNN, for one digit.
"""

from __future__ import annotations

import html

import torch
from torch import nn

from .kit import as_array, fmt_number, limits_of, note, panel, row_of, value_table

__all__ = ["layer_names", "layer_activations", "feature_maps_html"]


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
        limits = limits_of(as_array(act), signed)
        maps = [panel(act[c], f"map {c}", size=tile, signed=signed, limits=limits) for c in range(act.shape[0])]
        shape = f"{act.shape[0]} maps of {act.shape[1]}x{act.shape[2]}"
        scale = (f"all maps share one colour scale from {fmt_number(limits[0])} to {fmt_number(limits[1])}"
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
