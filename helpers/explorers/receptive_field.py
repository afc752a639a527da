"""Chapter 5, "Receptive fields": the input region that feeds one cell of a layer, three ways.

1. the field of the architecture (what the size-and-jump recurrence of the chapter gives),
   which may hang over the image onto the padding;
2. the gradient of the bare architecture (every weight positive) on an image of the digit's
   size: non-zero exactly on the part of (1) inside the image;
3. the gradient of the real, trained model for this digit: inside (2), with holes where a
   ReLU of an earlier layer is off.

All three come from the course's one receptive-field engine, :mod:`helpers.receptive`:
(1) is :func:`helpers.receptive.stack_box` of :func:`helpers.receptive.model_stack`,
(2) is :func:`helpers.receptive.model_gradient`. The explorer covers plain sequential
models (stacks of convolutions and poolings); :func:`layer_geometry` refuses a model with
branches (a residual block), naming the layer.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from torch import nn

from helpers.receptive import Box, Layer, box_of, model_gradient, model_stack, stack_box

from .feature_maps import layer_activations
from .kit import GREEN, ORANGE, PURPLE, Outline, note, panel, row_of

__all__ = ["default_cnn", "layer_geometry", "receptive_box", "gradient_map", "architecture_gradient",
           "support_box", "ReceptiveField", "layer_shapes", "receptive_field_state", "receptive_field_html"]


def default_cnn() -> nn.Sequential:
    """The course's ``simple_cnn`` architecture (chapter 4) with weights drawn from a fixed random seed.

    Five stride-2, 3x3 convolutions (28 -> 14 -> 7 -> 4 -> 2 -> 1), ReLU after all but the last,
    then a flatten. The learner's own random numbers are left as they were.
    """
    from helpers.models import simple_cnn

    generator_state = torch.random.get_rng_state()
    torch.manual_seed(0)
    try:
        return simple_cnn()
    finally:
        torch.random.set_rng_state(generator_state)


def layer_geometry(model: nn.Sequential) -> list[list[Layer]]:
    """For each top-level layer, the ``(kernel_size, stride, padding)`` of its convolutions and poolings.

    Layers that do not move pixels (ReLU, batch norm, flatten) contribute nothing. A layer that
    branches (a residual block) raises ``ValueError`` naming it: see :func:`helpers.receptive.model_stack`.
    """
    return model_stack(model)


def receptive_box(geometry: list[list[Layer]], layer: int, row: int, col: int) -> Box:
    """The input cells feeding cell ``(row, col)`` of layer ``layer`` (0-based).

    The same box as the recurrence of chapter 5 (walking back through a convolution of size
    ``k``, stride ``s`` and padding ``p``, output cells ``a..b`` read input cells
    ``a*s - p .. b*s - p + k - 1``), measured by :func:`helpers.receptive.stack_box`. It may
    reach outside the image (into the padding): :meth:`Box.clip` it to see what is really read.
    """
    return stack_box([op for ops in geometry[:layer + 1] for op in ops], row, col)


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
    can be smaller than the architecture's, never larger.
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
    """The same gradient for the bare architecture (:func:`helpers.receptive.model_gradient`).

    Every weight positive, biases 0, max pooling read as average pooling of the same windows,
    on an all-ones image: nothing is switched off and nothing cancels, so the non-zero cells are
    exactly the receptive field clipped to the image.
    """
    return model_gradient(_truncated(model, layer), shape[0], shape[1], row, col).float()


def support_box(grad: torch.Tensor) -> Box | None:
    """The box of the non-zero cells of a gradient map, or None if all are zero."""
    return box_of(grad > 0)


@dataclass(frozen=True)
class ReceptiveField:
    """The receptive field of one cell, by the architecture and by gradients.

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
    formula_box: Box
    clipped_box: Box
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
    """Cell ``(row, col)`` of layer ``layer`` (0-based): its receptive field by formula and by gradients."""
    shapes = layer_shapes(model, tuple(image.shape[-2:]))
    if len(shapes[layer]) != 3:
        raise ValueError(f"layer {layer + 1} has no spatial layout (shape {shapes[layer]})")
    h, w = shapes[layer][1:]
    if not (0 <= row < h and 0 <= col < w):
        raise ValueError(f"layer {layer + 1} is {h}x{w}; ({row}, {col}) is outside it")
    box = receptive_box(layer_geometry(model), layer, row, col)
    height, width = image.shape[-2:]
    clipped = box.clip(height, width)
    if clipped is None:
        raise ValueError(f"cell ({row}, {col}) of layer {layer + 1} reads only padding, no pixel of the image")
    return ReceptiveField(layer, row, col, box, clipped,
                          architecture_gradient(model, layer, row, col, (height, width)),
                          gradient_map(model, image, layer, row, col), (h, w))


def receptive_field_html(state: ReceptiveField, image: torch.Tensor, layer_name: str = "",
                         digit: int | None = None) -> str:
    """The digit with the field's box, and the two gradient maps with the box of their non-zero cells.

    ``digit``, the label of the image, is said in the model gradient's note with how many pixels it reaches,
    so a learner who changes the digit hears what changed (the formula's box does not depend on it)."""
    s = state
    box = s.formula_box
    formula = Outline(s.clipped_box, ORANGE)
    arch = support_box(s.architecture_grad)
    model = support_box(s.model_grad)
    h, w = s.layer_shape
    layer_map = np.full((h, w), np.nan)
    layer_map[s.row, s.col] = 1.0
    pictures = row_of(
        panel(layer_map, f"layer {s.layer + 1}: cell ({s.row}, {s.col})", size=112,
              outlines=(Outline(Box.span(s.row, s.col), ORANGE),), limits=(0.0, 1.0), caption=f"{h}x{w} layer"),
        panel(image, "formula: the input region", outlines=(formula,)),
        panel(s.architecture_grad, "gradient, bare architecture",
              outlines=((formula, Outline(arch, GREEN, dashed=True)) if arch else (formula,))),
        panel(s.model_grad, "gradient of the model, this digit",
              outlines=((formula, Outline(model, PURPLE, dashed=True)) if model else (formula,))),
    )
    clip = s.clipped_box
    parts = [f'formula: rows {box.top} to {box.bottom}, columns {box.left} to {box.right}: '
             f'<b class="cc-rf">{box.height}x{box.width}</b>'
             + (f", of which {clip.height}x{clip.width} inside the image (the rest is padding)"
                if clip != box else "")]
    parts.append("bare-architecture gradient: non-zero on " + (
        f"rows {arch.top} to {arch.bottom}, columns {arch.left} to {arch.right}"
        + (" (the same box)" if arch == clip else " (differs from the formula!)") if arch else "no cell"))
    reached = int((s.model_grad != 0).sum())
    parts.append(f"model gradient{f' on the {digit}' if digit is not None else ''} (the cell before its own ReLU): "
                 + (f"non-zero on {reached} pixels, in rows {model.top} to {model.bottom}, columns {model.left} to "
                    f"{model.right}, inside the box; "
        "where it is dark inside the box, a ReLU of an earlier layer is off for this digit"
        if model else "zero everywhere: every path to this cell goes through a ReLU that is off for this digit"))
    return pictures + "".join(note(p, cls="cc-receptive") for p in parts) + (
        note(html.escape(layer_name), cls="cc-layer") if layer_name else "")
