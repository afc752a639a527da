"""Receptive fields measured, not computed: which input pixels feed one cell.

Introduced in chapter 5, "Receptive fields".

Everything here uses the **gradient method**: build the stack of convolutions
as real ``nn.Conv2d`` layers whose weights are all 1 (so nothing can cancel),
backpropagate from one output cell, and see which input pixels receive a
non-zero gradient. Those pixels are the ones the cell depends on. Nothing here
uses the size-and-jump recurrence the chapter teaches, so it can check it.

A stack is a list of ``(kernel, stride, padding)`` layers with square kernels,
e.g. ``[(3, 2, 1), (3, 2, 1)]`` for two stride-2 3x3 convolutions with padding 1.

Coordinates: rows and columns of the *input*, counted from 0. A field can hang
over the border of the image, onto the zeros that padding adds, so
:func:`field_box` may return negative numbers or numbers past the last row.
:func:`clipped_box` returns only the part that lies on real pixels.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

Layer = tuple[int, int, int]
"""One convolution as ``(kernel, stride, padding)``."""


@dataclass(frozen=True)
class Box:
    """A rectangle of cells, both ends included: rows ``top..bottom``, columns ``left..right``."""

    top: int
    bottom: int
    left: int
    right: int

    @classmethod
    def span(cls, top: int, left: int, height: int = 1, width: int = 1) -> "Box":
        """The box of ``height x width`` cells whose top-left cell is ``(top, left)``."""
        return cls(top, top + height - 1, left, left + width - 1)

    @property
    def height(self) -> int:
        return self.bottom - self.top + 1

    @property
    def width(self) -> int:
        return self.right - self.left + 1

    def ranges(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """``((top, bottom), (left, right))``, the form chapter 5's ``input_region`` returns."""
        return (self.top, self.bottom), (self.left, self.right)

    def clip(self, height: int, width: int) -> "Box | None":
        """The part of the box inside a ``height x width`` image, or ``None`` if there is none."""
        top, bottom = max(self.top, 0), min(self.bottom, height - 1)
        left, right = max(self.left, 0), min(self.right, width - 1)
        if top > bottom or left > right:
            return None
        return Box(top, bottom, left, right)

    def shifted(self, rows: int, cols: int) -> "Box":
        return Box(self.top + rows, self.bottom + rows, self.left + cols, self.right + cols)

    def __str__(self) -> str:
        return f"rows {self.top} to {self.bottom}, columns {self.left} to {self.right} ({self.height}x{self.width})"


def _check_layers(layers: Sequence[Layer]) -> list[Layer]:
    checked = []
    for layer in layers:
        if len(layer) != 3:
            raise ValueError(f"a layer is (kernel, stride, padding), got {layer!r}")
        k, s, p = (int(v) for v in layer)
        if k < 1 or s < 1 or p < 0:
            raise ValueError(f"kernel and stride must be at least 1 and padding at least 0, got {layer!r}")
        checked.append((k, s, p))
    if not checked:
        raise ValueError("a stack needs at least one layer")
    return checked


def conv_stack(layers: Sequence[Layer]) -> nn.Sequential:
    """Real ``nn.Conv2d`` layers for a stack, one channel each, every weight 1 and no bias.

    With positive weights every input pixel a cell depends on gets a positive
    gradient (no two paths can cancel), which is what the gradient method needs.
    """
    convs = []
    for k, s, p in _check_layers(layers):
        conv = nn.Conv2d(1, 1, kernel_size=k, stride=s, padding=p, bias=False, dtype=torch.float64)
        with torch.no_grad():
            conv.weight.fill_(1.0)
        convs.append(conv)
    return nn.Sequential(*convs)


def map_sizes(layers: Sequence[Layer], height: int, width: int) -> list[tuple[int, int]]:
    """``(height, width)`` of the input and of every layer's output, measured by running the layers.

    Raises ``ValueError`` when the image is too small for the stack.
    """
    stack = conv_stack(layers)
    x = torch.zeros(1, 1, height, width, dtype=torch.float64)
    sizes = [(height, width)]
    with torch.no_grad():
        for conv in stack:
            try:
                x = conv(x)
            except RuntimeError as exc:
                raise ValueError(f"a {height}x{width} image is too small for {list(layers)}: {exc}") from None
            sizes.append((int(x.shape[-2]), int(x.shape[-1])))
    return sizes


def gradient_maps(layers: Sequence[Layer], height: int, width: int, row: int, col: int) -> list[torch.Tensor]:
    """The gradient of one cell of the last layer with respect to the input and every earlier map.

    Returns ``[input, map 1, ..., map L-1, map L]`` as 2-D float tensors: entry ``l`` is
    the gradient of cell ``(row, col)`` of the last map with respect to map ``l``
    (the last one is 1 at the cell and 0 elsewhere). With weights of 1, each value
    counts the paths from that position to the cell: it is non-zero exactly where
    the cell depends on the position.
    """
    stack = conv_stack(layers)
    x = torch.zeros(1, 1, height, width, dtype=torch.float64, requires_grad=True)
    maps = [x]
    for conv in stack:
        out = conv(maps[-1])
        out.retain_grad()
        maps.append(out)
    last = maps[-1]
    if not (0 <= row < last.shape[-2] and 0 <= col < last.shape[-1]):
        raise IndexError(f"the last map is {last.shape[-2]}x{last.shape[-1]}; it has no cell ({row}, {col})")
    last[0, 0, row, col].backward()
    return [m.grad[0, 0].detach() for m in maps]


def box_of(mask: torch.Tensor) -> Box | None:
    """The smallest box containing every ``True`` (or non-zero) cell of a 2-D mask."""
    where = torch.nonzero(mask)
    if len(where) == 0:
        return None
    (top, left), (bottom, right) = where.min(0).values.tolist(), where.max(0).values.tolist()
    return Box(int(top), int(bottom), int(left), int(right))


def clipped_box(layers: Sequence[Layer], height: int, width: int, row: int, col: int) -> Box | None:
    """The box of real pixels of a ``height x width`` image that feed cell ``(row, col)`` of the last layer.

    Measured on the image itself, so it never leaves the image. When a stride
    is larger than its kernel some pixels are skipped, and this box can then be
    smaller than :meth:`Box.clip` of :func:`field_box`.
    """
    return box_of(gradient_maps(layers, height, width, row, col)[0] != 0)


def _margin(layers: list[Layer]) -> tuple[int, int]:
    """A whole number of last-layer cells, and the pixels it spans, wider than any field can reach.

    A crude bound, not the recurrence: every layer reaches at most ``kernel + padding``
    of its input cells, and an input cell of layer ``l`` is at most ``stride_1 * ... * stride_(l-1)``
    pixels wide.
    """
    spacing, reach = 1, 0
    for k, s, p in layers:
        reach += (k + p) * spacing
        spacing *= s
    cells = reach // spacing + 2
    return cells, reach


def _field_box(layers: tuple[Layer, ...], row: int, col: int) -> Box:
    cells, reach = _margin(list(layers))
    spacing = math.prod(s for _, s, _ in layers)
    # The same cell, moved `cells` cells down and right, on an image wide enough that its field never
    # touches a border: the measured box is then the whole field, shifted by `cells * spacing` pixels.
    shift = cells * spacing
    height = shift + row * spacing + reach + 2
    width = shift + col * spacing + reach + 2
    grad = gradient_maps(layers, height, width, row + cells, col + cells)[0]
    box = box_of(grad != 0)
    if box is None or box.top == 0 or box.left == 0 or box.bottom == height - 1 or box.right == width - 1:
        raise RuntimeError(f"the margin was too small to measure the field of {list(layers)}")
    return box.shifted(-shift, -shift)


def field_box(layers: Sequence[Layer], row: int, col: int) -> Box:
    """The whole receptive field of cell ``(row, col)`` of the last layer, in input coordinates.

    Measured by gradients on an image with a wide margin, so borders cut nothing
    off: the box may start before row 0 (on padding) and end past the image. It
    does not depend on the image size. Where a stride is larger than its kernel the
    field has holes; the box is the smallest one containing every pixel that feeds the cell.
    """
    if row < 0 or col < 0:
        raise IndexError(f"cells are counted from 0, got ({row}, {col})")
    return _field_box(tuple(_check_layers(layers)), int(row), int(col))


def field_sizes(layers: Sequence[Layer]) -> list[int]:
    """The receptive field size (side of the square box) after each layer of the stack, measured."""
    layers = _check_layers(layers)
    return [field_box(layers[:n], 0, 0).height for n in range(1, len(layers) + 1)]


def field_jumps(layers: Sequence[Layer]) -> list[int]:
    """How many input pixels apart the fields of two neighbouring cells are, after each layer, measured."""
    layers = _check_layers(layers)
    return [field_box(layers[:n], 1, 0).top - field_box(layers[:n], 0, 0).top
            for n in range(1, len(layers) + 1)]


# ---------------------------------------------------------------------------
# whole models: the gradient method on any nn.Module, and the stack of a plain sequential model


def _single(value) -> int:
    return int(value[0] if isinstance(value, tuple) else value)


def _without_max_pooling(model: nn.Module) -> nn.Module:
    """Max pooling swapped (in place) for average pooling over the same windows.

    Max pooling passes the gradient to one pixel of each window, so a field measured
    through it has holes (torchvision's AlexNet: 139 pixels wide instead of 195).
    Average pooling reads the same windows and passes the gradient to all of them.
    """
    for name, m in list(model.named_modules()):
        if isinstance(m, nn.MaxPool2d):
            if _single(m.dilation) != 1:
                raise ValueError(f"layer {name!r} is a dilated max pooling, which the gradient method does not cover")
            new: nn.Module = nn.AvgPool2d(m.kernel_size, m.stride, m.padding, ceil_mode=m.ceil_mode)
        elif isinstance(m, nn.AdaptiveMaxPool2d):
            new = nn.AdaptiveAvgPool2d(m.output_size)
        else:
            continue
        parent_name, _, child = name.rpartition(".")
        setattr(model.get_submodule(parent_name), child, new)
    return model


def positive_copy(model: nn.Module) -> nn.Module:
    """A copy of ``model`` for the gradient method: every path positive, nothing switched off.

    Every weight becomes ``1 / fan-in`` (positive, and activations stay near 1 however
    deep the model, so nothing overflows), every bias 0; batch norm forgets its running
    statistics (mean 0, variance 1), so that it cannot push a value below a ReLU's
    threshold; max pooling becomes average pooling over the same windows. With a
    positive input, a non-zero gradient then means "depends on". The model is copied
    in evaluation mode; the original is untouched.
    """
    return _make_positive(_without_max_pooling(copy.deepcopy(model).double().eval()))


def _make_positive(clone: nn.Module) -> nn.Module:
    with torch.no_grad():
        for m in clone.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.running_mean is not None:
                m.running_mean.zero_()
                m.running_var.fill_(1.0)
            for name, param in m.named_parameters(recurse=False):
                if name.endswith("bias"):
                    param.fill_(0.0)
                elif name == "weight" and isinstance(m, (nn.modules.conv._ConvNd, nn.Linear)):
                    param.fill_(1.0 / param[0].numel())
                else:
                    param.fill_(1.0)
    return clone


def _thin_copy(model: nn.Module) -> nn.Module:
    """A copy with one channel everywhere: each convolution 1 -> 1 (same kernel, stride, padding, dilation),
    weights ``1 / kernel area``, batch norm dropped, max pooling averaged.

    A receptive field is spatial: mixing channels never widens it, so a one-channel copy
    has the same field at a fraction of the cost (VGG16 on a 256x256 image: 1 channel
    instead of up to 512). Models that need their channel counts (a ``Linear``, a
    concatenation) fail to run thinned, and :func:`model_gradient` then uses the full copy.
    """
    clone = _without_max_pooling(copy.deepcopy(model).eval())
    for name, m in list(clone.named_modules()):
        if isinstance(m, nn.Conv2d):
            thin: nn.Module = nn.Conv2d(1, 1, m.kernel_size, m.stride, m.padding, m.dilation, bias=False,
                                        padding_mode=m.padding_mode, dtype=torch.float64)
        elif isinstance(m, nn.modules.batchnorm._BatchNorm):
            thin = nn.Identity()
        else:
            continue
        parent_name, _, child = name.rpartition(".")
        setattr(clone.get_submodule(parent_name), child, thin)
    return _make_positive(clone.double())


def _refuse_functional_max(name: str) -> None:
    if name in ("max_pool2d", "max_pool2d_with_indices", "adaptive_max_pool2d", "fractional_max_pool2d"):
        raise ValueError(
            "the model calls max pooling directly (F.max_pool2d or similar, not an nn.MaxPool2d layer): "
            "its gradient reaches one pixel per window, so it cannot measure a receptive field")


def _output_cell_gradient(model: nn.Module, x: torch.Tensor, row: int, col: int) -> torch.Tensor:
    from helpers.hooks import watching_ops

    x = x.clone().requires_grad_(True)
    with watching_ops(_refuse_functional_max):
        out = model(x)
    if out.dim() == 2:
        out = out[:, :, None, None]
    if out.dim() != 4 or out.shape[0] != x.shape[0]:
        raise ValueError(f"the model's output has shape {tuple(out.shape)}; the gradient method needs a map "
                         "[batch, channels, h, w] (or [batch, channels] after a Flatten of a 1x1 map)")
    if not (0 <= row < out.shape[-2] and 0 <= col < out.shape[-1]):
        raise IndexError(f"the output map is {out.shape[-2]}x{out.shape[-1]}; it has no cell ({row}, {col})")
    with watching_ops(_refuse_functional_max):
        out[0, :, row, col].sum().backward()
    return x.grad[0].sum(0).detach()


def model_gradient(model: nn.Module, height: int, width: int, row: int, col: int,
                   channels: int = 1) -> torch.Tensor:
    """Gradient of cell ``(row, col)`` of a model's output (summed over its channels) w.r.t. its input image.

    For a convolutional ``nn.Module`` whose output is ``[batch, channels, h, w]`` (or
    ``[batch, channels]`` after a ``Flatten``, read as a 1x1 map), plain or branching (residual
    blocks: the field is the union of the paths). The model is first made positive
    (:func:`positive_copy`: max pooling averaged, batch norm neutral), and run with one channel
    per layer when it allows it (:func:`_thin_copy`). Returns a ``height x width`` tensor
    summed over input channels; its non-zero pixels are the cell's receptive field inside the image.

    Raises:
        ValueError: for what the method cannot measure (max pooling called as a function, a dilated
            max pooling, an output that is not a map).
    """
    x = torch.ones(1, channels, height, width, dtype=torch.float64)
    try:
        thin = _thin_copy(model)
        return _output_cell_gradient(thin, x[:, :1], row, col)
    except (RuntimeError, ValueError, IndexError):
        pass  # needs its channel counts (or is refused: the full copy says why, in its own words)
    return _output_cell_gradient(positive_copy(model), x, row, col)


def model_field(model: nn.Module, height: int, width: int, row: int, col: int, channels: int = 1) -> Box | None:
    """The box of input pixels that cell ``(row, col)`` of the model's output depends on (:func:`model_gradient`)."""
    return box_of(model_gradient(model, height, width, row, col, channels) != 0)


_MOVES_PIXELS = (nn.modules.conv._ConvNd, nn.modules.pooling._MaxPoolNd, nn.modules.pooling._AvgPoolNd,
                 nn.modules.pooling._AdaptiveAvgPoolNd, nn.modules.pooling._AdaptiveMaxPoolNd)


def model_stack(model: nn.Sequential) -> list[list[Layer]]:
    """For each top-level layer of a plain sequential model, the ``(kernel, stride, padding)`` it applies.

    Layers that do not move pixels (ReLU, batch norm, flatten, dropout) give ``[]``; a layer
    that is itself an ``nn.Sequential`` gives its convolutions and poolings in order.

    Raises:
        ValueError: when the stack is not a plain chain: a block that branches (a residual block,
            whose shortcut is not in series with its convolutions), a dilated convolution, an adaptive
            pooling or a non-square kernel. Measure such a model with :func:`model_field` instead.
    """
    def chain(module: nn.Module, where: str) -> list[Layer]:
        if isinstance(module, nn.Sequential):
            return [op for i, m in enumerate(module) for op in chain(m, f"{where}.{i}")]
        if isinstance(module, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
            k, s, p = (getattr(module, a) for a in ("kernel_size", "stride", "padding"))
            pairs = [v if isinstance(v, tuple) else (v, v) for v in (k, s, p)]
            if any(a != b for a, b in pairs):
                raise ValueError(f"layer {where} ({type(module).__name__}) is not square: {module}")
            if _single(getattr(module, "dilation", 1)) != 1:
                raise ValueError(f"layer {where} is dilated; the (kernel, stride, padding) stack does not cover it")
            return [(int(pairs[0][0]), int(pairs[1][0]), int(pairs[2][0]))]
        if any(isinstance(m, _MOVES_PIXELS) for m in module.modules()):
            raise ValueError(
                f"layer {where} ({type(module).__name__}) is not a plain chain of convolutions and poolings "
                "(a residual block adds a shortcut, an adaptive pooling depends on the input size): "
                "measure its field with helpers.receptive.model_field instead")
        return []

    return [chain(layer, str(i + 1)) for i, layer in enumerate(model)]


def stack_box(stack: Sequence[Layer], row: int, col: int) -> Box:
    """The whole field of cell ``(row, col)`` after ``stack`` (possibly empty: the cell itself), measured."""
    if not stack:
        return Box(row, row, col, col)
    return field_box(stack, row, col)


__all__ = ["Layer", "Box", "conv_stack", "map_sizes", "gradient_maps", "box_of", "clipped_box", "field_box",
           "field_sizes", "field_jumps", "positive_copy", "model_gradient", "model_field", "model_stack",
           "stack_box"]
