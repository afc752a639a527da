"""Small CNNs and the tools to look inside them.

* :func:`conv` and :func:`simple_cnn`: the stride-2 CNN of chapter 4,
  "``nn.Conv2d`` and a first CNN".
* :func:`layer_summary` / :func:`format_summary`: what each layer outputs,
  how many parameters it has and how many multiply-adds it costs per image,
  measured by running the model (chapter 4).
* :func:`activations`: every layer's output for an input, for looking at
  feature maps (chapter 4, and the explorers).
* :func:`trained_simple_cnn`: a :func:`simple_cnn` trained on 3s and 7s with
  a fixed seed, trained once per session (chapter 4).
* :func:`pooling_layers`: which pooling layers a model contains (chapter 6).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import torch
from torch import nn

from .hooks import trace


def conv(ni: int, nf: int, ks: int = 3, act: bool = True, bn: bool = False) -> nn.Module:
    """A stride-2 convolution from ``ni`` to ``nf`` channels, padded by ``ks//2``, then a ReLU.

    With ``act=False`` it is the bare ``nn.Conv2d`` (for a model's last layer,
    whose outputs are scores that must be free to be negative).
    Introduced in chapter 4. With ``bn=True`` an ``nn.BatchNorm2d`` goes between the
    convolution and the ReLU, and the convolution drops its bias, which batch norm's
    shift replaces (chapter 7).
    """
    layer = nn.Conv2d(ni, nf, kernel_size=ks, stride=2, padding=ks // 2, bias=not bn)
    layers = [layer, nn.BatchNorm2d(nf)] if bn else [layer]
    if act:
        layers.append(nn.ReLU())
    return nn.Sequential(*layers) if len(layers) > 1 else layer


def simple_cnn(n_out: int = 2, channels: tuple[int, ...] = (4, 8, 16, 32)) -> nn.Sequential:
    """The course's first CNN: stride-2 convolutions from 28x28 down to 1x1, then ``nn.Flatten``.

    Args:
        n_out: output channels of the last convolution, one score per class
            (2 for 3s against 7s).
        channels: the filters of the hidden layers; each stride-2 layer doubles them.

    With the defaults the sizes go 28 -> 14 -> 7 -> 4 -> 2 -> 1 and the model
    maps a batch ``[N, 1, 28, 28]`` to ``[N, n_out]``. Introduced in chapter 4.
    """
    widths = (1, *channels)
    layers = [conv(ni, nf) for ni, nf in zip(widths[:-1], widths[1:])]
    model = nn.Sequential(*layers, conv(widths[-1], n_out, act=False), nn.Flatten())
    # Marks the course's own copy, so that chapter 4's exercise can ask for the learner's.
    model._course_reference = True
    return model


# ---------------------------------------------------------------------------
# looking inside a model


def leaf_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The model's innermost layers (those without sub-layers) with their dotted names, in order."""
    return [(name, m) for name, m in model.named_modules() if not list(m.children())]


def activations(model: nn.Module, x: torch.Tensor) -> list[tuple[str, torch.Tensor]]:
    """Run ``model`` on ``x`` and return ``(name, output)`` of every innermost layer, in order.

    Names read ``"0.0 Conv2d"``: the layer's position in the model and its type.
    Outputs are detached copies, so they can be drawn or compared freely.

    Example:
        >>> acts = activations(simple_cnn(), torch.zeros(1, 1, 28, 28))
        >>> [(name, tuple(a.shape)) for name, a in acts][:2]
        [('0.0 Conv2d', (1, 4, 14, 14)), ('0.1 ReLU', (1, 4, 14, 14))]

    Introduced in chapter 4.
    """
    names = {layer: f"{name} {type(layer).__name__}" for name, layer in leaf_layers(model)}
    return trace(model, x, names, lambda layer, inputs, out: (names[layer], out.detach().clone()))


@dataclass(frozen=True)
class LayerRow:
    """One line of a layer summary.

    Attributes:
        name: position in the model, e.g. ``"0.0"``.
        kind: the layer's type, e.g. ``"Conv2d"``.
        output_shape: shape of its output for the summarised input, batch included.
        params: number of parameters (weights and biases) it owns.
        mult_adds: multiply-adds it performs per image (0 for layers without weights).
    """

    name: str
    kind: str
    output_shape: tuple[int, ...]
    params: int
    mult_adds: int


def _mult_adds(layer: nn.Module, output: torch.Tensor) -> int:
    """Multiply-adds per image: every output value of a weighted layer is one dot product."""
    per_image = math.prod(output.shape[1:])
    if isinstance(layer, nn.modules.conv._ConvNd):
        return per_image * (layer.in_channels // layer.groups) * math.prod(layer.kernel_size)
    if isinstance(layer, nn.Linear):
        return per_image * layer.in_features
    return 0


def layer_summary(model: nn.Module, input_shape: tuple[int, ...] = (1, 1, 28, 28)) -> list[LayerRow]:
    """Measure each innermost layer of ``model`` on a zero input of ``input_shape``.

    Output shapes come from really running the model (forward hooks), parameter
    counts from ``p.numel()`` and multiply-adds from each layer's output size times
    the length of the dot product behind one output value. Introduced in chapter 4.
    """
    names = {layer: name for name, layer in leaf_layers(model)}

    def row(layer: nn.Module, inputs, output: torch.Tensor) -> LayerRow:
        return LayerRow(names[layer], type(layer).__name__, tuple(output.shape),
                        sum(p.numel() for p in layer.parameters()), _mult_adds(layer, output))

    return trace(model, torch.zeros(input_shape), names, row)


def format_summary(rows: list[LayerRow], input_shape: tuple[int, ...] | None = None) -> str:
    """A layer summary as a text table with totals."""
    header = f"{'layer':<7} {'type':<18} {'output shape':<18} {'params':>8} {'mult-adds':>10}"
    lines = [header, "-" * len(header)]
    if input_shape is not None:
        lines.append(f"{'':<7} {'input':<18} {str(list(input_shape)):<18} {'':>8} {'':>10}")
    for r in rows:
        lines.append(f"{r.name:<7} {r.kind:<18} {str(list(r.output_shape)):<18} {r.params:>8,} {r.mult_adds:>10,}")
    lines.append("-" * len(header))
    lines.append(f"{'total':<7} {'':<18} {'':<18} {sum(r.params for r in rows):>8,} "
                 f"{sum(r.mult_adds for r in rows):>10,}")
    return "\n".join(lines)


def print_summary(model: nn.Module, input_shape: tuple[int, ...] = (1, 1, 28, 28)) -> None:
    """Print :func:`format_summary` of :func:`layer_summary` (mult-adds are per image)."""
    print(format_summary(layer_summary(model, input_shape), input_shape))


def count_params(model: nn.Module) -> int:
    """The number of parameters of a model: ``sum(p.numel() for p in model.parameters())``."""
    return sum(p.numel() for p in model.parameters())


# ---------------------------------------------------------------------------
# pooling (chapter 6)

#: The layer types that pool (chapter 6).
POOLING_TYPES = (nn.modules.pooling._MaxPoolNd, nn.modules.pooling._AvgPoolNd,
                 nn.modules.pooling._AdaptiveAvgPoolNd, nn.modules.pooling._AdaptiveMaxPoolNd,
                 nn.modules.pooling._LPPoolNd)


def pooling_layers(model: nn.Module) -> tuple[str, ...]:
    """The type names of the pooling layers inside ``model``, in order (chapter 6)."""
    return tuple(type(m).__name__ for m in model.modules() if isinstance(m, POOLING_TYPES))


# ---------------------------------------------------------------------------
# a trained model to look at


@lru_cache(maxsize=4)
def _trained_state(epochs: int, seed: int) -> dict[str, torch.Tensor]:
    from .train import fit, three_vs_seven

    torch.manual_seed(seed)
    model = simple_cnn()
    train, valid = three_vs_seven()
    fit(model, train, valid, epochs=epochs, seed=seed, progress=False)
    return {k: v.clone() for k, v in model.state_dict().items()}


def trained_simple_cnn(epochs: int = 8, seed: int = 0) -> nn.Sequential:
    """A fresh :func:`simple_cnn` trained on the offline 3s and 7s exactly as chapter 4 trains it.

    Training takes about two seconds on one core; the weights are kept for the
    rest of the session, and every call returns a new copy (in evaluation mode)
    that can be changed without affecting the next call. Class 0 is "3", class 1 is "7".
    """
    model = simple_cnn()
    model.load_state_dict(_trained_state(epochs, seed))
    return model.eval()
