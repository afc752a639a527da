"""Chapter 2, "Feature maps and channels": one output map of a layer over several input maps.

Each input map is convolved with its own slice of the kernel; the output map is
the sum of those parts plus the bias.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .kernel_walk import KERNELS
from .kit import fmt_number, note, panel, row_of, symbol, value_table

__all__ = ["edge_maps", "channel_example", "Channels", "channel_state", "channel_html"]


def edge_maps(image: torch.Tensor) -> torch.Tensor:
    """The stack of chapter 2: a digit's top-edge and left-edge maps, shape ``(2, H-2, W-2)``."""
    image = torch.as_tensor(image, dtype=torch.float32)
    edges = torch.stack([KERNELS["top edge"], KERNELS["left edge"]])[:, None]
    return F.conv2d(image[None, None], edges)[0]


def channel_example(image: torch.Tensor, out_channels: int = 3, seed: int = 2) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A two-channel input and a small layer to explore channels with (chapter 2).

    The two input maps are the top-edge and left-edge maps of ``image`` (:func:`edge_maps`);
    the layer has ``out_channels`` kernels of shape ``2x3x3`` with weights drawn with a fixed
    seed and rounded to one decimal so they can be read.

    Returns:
        ``(inputs, weight, bias)`` of shapes ``(2, H-2, W-2)``, ``(out_channels, 2, 3, 3)``, ``(out_channels,)``.
    """
    generator = torch.Generator().manual_seed(seed)
    weight = (torch.randn(out_channels, 2, 3, 3, generator=generator) * 0.5).round(decimals=1)
    bias = (torch.randn(out_channels, generator=generator) * 0.2).round(decimals=1)
    return edge_maps(image), weight, bias


@dataclass(frozen=True)
class Channels:
    """One output map of a convolution over several input maps, taken apart.

    Attributes:
        per_channel: ``(C, H', W')``: input map ``c`` convolved with kernel slice ``weight[out, c]``.
        output: ``per_channel.sum(0) + bias[out]``, equal to ``F.conv2d(...)[out]``.
    """

    inputs: torch.Tensor
    weight: torch.Tensor
    bias: torch.Tensor
    out: int
    per_channel: torch.Tensor
    output: torch.Tensor


def channel_state(inputs: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, out: int) -> Channels:
    """Output map ``out`` of a convolution, as one convolution per input channel plus their sum (chapter 2)."""
    c_in = inputs.shape[0]
    if not 0 <= out < weight.shape[0]:
        raise ValueError(f"this layer has {weight.shape[0]} output maps; {out} is not one of them")
    bias = torch.zeros(weight.shape[0]) if bias is None else bias
    per_channel = torch.stack([F.conv2d(inputs[c][None, None], weight[out, c][None, None])[0, 0]
                               for c in range(c_in)])
    return Channels(inputs, weight, bias, out, per_channel, per_channel.sum(0) + bias[out])


def channel_html(state: Channels, input_names: tuple[str, ...] = ()) -> str:
    """Each input map, its kernel slice and its result in a row; then their sum plus bias, the output map."""
    s = state
    names = input_names or tuple(f"input map {c}" for c in range(s.inputs.shape[0]))
    limit = max(float(s.per_channel.abs().max()), float(s.output.abs().max())) or 1.0
    rows = []
    for c, name in enumerate(names):
        rows.append(row_of(
            panel(s.inputs[c], f"{html.escape(name)} (channel {c})", size=150,
                  signed=bool((s.inputs[c] < 0).any())),
            symbol("&lowast;"),
            value_table(s.weight[s.out, c], title=f"kernel slice weight[{s.out}, {c}]", fmt="{:.2g}", cell=34),
            symbol("="),
            panel(s.per_channel[c], f"channel {c}'s part", size=150, signed=True, limits=(-limit, limit)),
        ))
    total = row_of(
        panel(s.output, f"output map {s.out} = sum of the parts + bias", size=150, signed=True,
              limits=(-limit, limit)),
    )
    return "".join(rows) + total + note(
        f"output map {s.out} = " + " + ".join(f"channel {c}'s part" for c in range(len(names)))
        + f' + bias ({fmt_number(float(s.bias[s.out]))}); its value at the centre is '
        f'<b class="cc-centre">{fmt_number(float(s.output[s.output.shape[0] // 2, s.output.shape[1] // 2]))}</b>. '
        f"One kernel of shape {tuple(s.weight.shape[1:])} per output map: "
        f"the layer's weight is {tuple(s.weight.shape)}.", cls="cc-channels")
