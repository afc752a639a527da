"""The computations and pictures behind the course's interactive explorers.

Every function here is pure: it takes tensors and numbers and returns data (a
small dataclass, a tensor, or an HTML string), with no widget, no printing and
no matplotlib figure. The sliders live in :mod:`helpers.widgets`, which calls
these functions on every move; tests call them directly, without a browser.

One module per explorer, on top of one drawing kit:

* :mod:`.kit`: maps as small PNGs, outlines (a :class:`helpers.receptive.Box` with a colour)
  as CSS boxes, numbers as tables (why HTML and not matplotlib: see there);
* :mod:`.kernel_walk`, chapter 1, "Convolution by hand": :func:`kernel_walk_state`, :func:`kernel_walk_html`;
* :mod:`.channels`, chapter 2: :func:`channel_state`, :func:`channel_html`;
* :mod:`.padding_stride`, chapter 3: :func:`output_size`, :func:`kernel_positions`,
  :func:`padding_stride_state`, :func:`padding_stride_html`;
* :mod:`.feature_maps`, chapter 4: :func:`layer_activations`, :func:`feature_maps_html`;
* :mod:`.receptive_field`, chapter 5: :func:`layer_geometry`, :func:`receptive_box`,
  :func:`gradient_map`, :func:`receptive_field_state`, :func:`receptive_field_html`
  (on the course's one receptive-field engine, :mod:`helpers.receptive`);
* :mod:`.pooling`, chapter 6: :func:`pool_state`, :func:`pool_html`;
* :mod:`.activations`, chapter 7: :func:`activation_state`, :func:`activation_html`.
* :mod:`.arithmetic`, chapter 8: :func:`arithmetic_state`, :func:`arithmetic_html`.
* :mod:`.depth`, chapter 9: :func:`depth_stats`, :func:`depth_html`, :func:`verdict_in_words`.

A new chapter adds its own module here and a line below; everything is importable
from ``helpers.explorers`` itself.
"""

from __future__ import annotations

from .activations import ActivationStep, activation_html, activation_state, colourful_rgb
from .arithmetic import Arithmetic, arithmetic_html, arithmetic_state
from .depth import DepthStats, depth_html, depth_stats, verdict_in_words
from .channels import Channels, channel_example, channel_html, channel_state, edge_maps
from .feature_maps import feature_maps_html, layer_activations, layer_names
from .kernel_walk import KERNELS, KernelWalk, kernel_walk_html, kernel_walk_state, parse_kernel
from .kit import (GREEN, ORANGE, PURPLE, RED, Box, Outline, colourise, fmt_number, note, panel, png_data_uri,
                  row_of, symbol, value_table)
from .padding_stride import PaddingStride, kernel_positions, output_size, padding_stride_html, padding_stride_state
from .pooling import Pooling, feature_map, pool_html, pool_state
from .receptive_field import (ReceptiveField, architecture_gradient, default_cnn, gradient_map, layer_geometry,
                              layer_shapes, receptive_box, receptive_field_html, receptive_field_state, support_box)

__all__ = [
    "KERNELS", "parse_kernel", "KernelWalk", "kernel_walk_state", "kernel_walk_html",
    "edge_maps", "channel_example", "Channels", "channel_state", "channel_html",
    "output_size", "kernel_positions", "PaddingStride", "padding_stride_state", "padding_stride_html",
    "layer_activations", "layer_names", "feature_maps_html",
    "layer_geometry", "receptive_box", "gradient_map", "architecture_gradient", "support_box",
    "ReceptiveField", "layer_shapes", "receptive_field_state", "receptive_field_html", "default_cnn",
    "feature_map", "Pooling", "pool_state", "pool_html",
    "ActivationStep", "activation_state", "activation_html", "colourful_rgb",
    "Box", "Outline", "ORANGE", "GREEN", "PURPLE", "RED", "colourise", "png_data_uri", "panel", "value_table",
    "row_of", "symbol", "note", "fmt_number",
    "Arithmetic", "arithmetic_state", "arithmetic_html",
    "DepthStats", "depth_stats", "depth_html", "verdict_in_words",
]
