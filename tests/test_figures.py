"""Figures a learner can read: numbers contrast with their cell, maps meant to be compared share a scale."""

from __future__ import annotations

import numpy as np
import torch

from helpers import plots

torch.set_num_threads(1)


def _luminance(rgba) -> float:
    red, green, blue = rgba[:3]
    return 0.299 * red + 0.587 * green + 0.114 * blue


def _texts_contrast(ax) -> int:
    image = ax.images[-1]
    values = image.get_array()
    checked = 0
    for text in ax.texts:
        c, r = (int(round(v)) for v in text.get_position())
        cell = _luminance(image.to_rgba(values[r, c]))
        ink = _luminance(np.array(plt_colour(text.get_color())))
        assert abs(cell - ink) > 0.35, f"{text.get_text()!r} at ({r}, {c}) is hard to read on its cell"
        checked += 1
    return checked


def plt_colour(name):
    from matplotlib.colors import to_rgba

    return to_rgba(name)


def test_every_number_of_the_pooling_figure_contrasts_with_its_cell():
    small = torch.randint(0, 10, (5, 7), generator=torch.Generator().manual_seed(6)).float()
    fig = plots.show_pooling(small, size=3, stride=2, row=1, col=2, mode="max")
    assert sum(_texts_contrast(ax) for ax in fig.axes if ax.images) == 5 * 7 + 2 * 3


def test_kernel_numbers_contrast_and_never_read_minus_zero():
    x = torch.rand(2, 8, 8)
    weight = torch.tensor([[[[-0.001, 0.5, -0.2]] * 3] * 2]).reshape(1, 2, 3, 3)
    fig = plots.show_channel_sums(x, weight)
    kernels = [ax for ax in fig.axes if ax.get_title().startswith("weight[")]
    assert kernels and all(_texts_contrast(ax) == 9 for ax in kernels)
    assert not any(t.get_text() == "-0.00" for ax in kernels for t in ax.texts)


def test_maps_named_as_shared_use_one_colour_scale():
    dead, live = torch.zeros(6, 6), torch.rand(6, 6) * 3
    fig = plots.show_maps({"digit": torch.rand(28, 28), "map 0": dead, "map 1": live}, signed=False,
                          shared=["map 0", "map 1"])
    digit_ax, dead_ax, live_ax = fig.axes[:3]
    assert dead_ax.images[0].get_clim() == live_ax.images[0].get_clim() == (0.0, float(live.max()))
    assert digit_ax.images[0].get_clim() != live_ax.images[0].get_clim()
    assert len(fig.axes) == 3 + 2  # a colour bar for the digit, one for the shared maps


def test_conv_steps_keep_three_positions_a_row():
    five = torch.arange(25.0).reshape(5, 5)
    fig = plots.show_conv_steps(five, torch.ones(3, 3), pad=1, stride=2,
                                positions=[(0, 0), (0, 1), (0, 2), (1, 0), (2, 2)])
    width, _ = fig.get_size_inches()
    assert width <= 10.5  # about a notebook's width at 100 dpi: the numbers stay their real size


def test_a_long_title_is_not_clipped_in_the_notebook_picture():
    import io

    from PIL import Image

    fig = plots.show_maps({"the 7, padded with zeros": torch.rand(30, 30), "its top edges": torch.randn(28, 28)},
                          suptitle="1 pixel of zero padding: a 3x3 kernel gives a 28x28 map of a 28x28 image")
    width, _ = Image.open(io.BytesIO(fig._repr_png_())).size
    fig.canvas.draw()
    title = fig._suptitle.get_window_extent()  # pixels at the figure's dpi, 100 as in the PNG
    assert fig.dpi == 100 and title.width <= width, (title.width, width)
    assert title.width > fig.get_size_inches()[0] * fig.dpi  # the case that used to be cut off
