"""Interactive explorers: sliders and menus over the pure functions of :mod:`helpers.explorers`.

One line in a notebook builds one::

    from helpers.widgets import kernel_walk
    kernel_walk()

Each explorer is an :class:`Explorer`: its first children are the controls, in
order, then its result in words, and its last child is the view (an HTML widget).
Moving a control recomputes the state with :mod:`helpers.explorers` and redraws the
view; no matplotlib figure is made, so nothing is left open however long a learner plays.

Everyone can use them: every control has a visible label that is also its accessible
name (sliders get theirs from the course's JupyterLab plug-in,
``jupyter/labextensions/conv-course-a11y``, as ipywidgets ties a slider's label to
nothing) and a description (its tooltip); each new result is said in words in a live
region (:attr:`Explorer.status`, the view's notes as plain text), which a screen reader
reads out after every move; and everything works from the keyboard (Tab to a control,
arrows to move it).

While the notebook is graded (:func:`helpers.nbgrader_env.under_grading`) the explorers
build nothing and return a one-line note instead: grading needs no sliders.

Explorers, by chapter: :func:`kernel_walk` (1), :func:`channels` (2),
:func:`padding_stride` (3), :func:`feature_maps` (4), :func:`receptive_field` (5),
:func:`pooling` (6), :func:`activation_histograms` (7), :func:`arithmetic` (8).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from .nbgrader_env import under_grading

__all__ = ["Explorer", "Skipped", "kernel_walk", "channels", "padding_stride", "feature_maps",
           "receptive_field", "pooling", "activation_histograms", "arithmetic"]

OWN_KERNEL = "my own (type below)"
DIGITS = list(range(10))
#: Which example of each digit the explorers show first: the clear 7 of chapter 1 is ``digit(7, 4)``.
INDEX = 4
_STYLE = {"description_width": "110px"}


class Skipped:
    """What an explorer returns while nbgrader grades: a one-line note, no widget."""

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"({self.name}: interactive explorer, not built while grading)"


class Explorer(widgets.VBox):
    """Controls stacked above a view; any control change redraws the view.

    Attributes:
        controls: the controls by name (also the first children, in this order).
        status: the result in words (an :class:`ipywidgets.HTML` of class ``cc-live``, made a polite
            live region in JupyterLab): the view's notes as one plain sentence, or the problem.
        view: the :class:`ipywidgets.HTML` the pictures are drawn in (the last child).
    """

    def __init__(self, controls: dict[str, widgets.ValueWidget], render: Callable[[Explorer], str], **kwargs):
        self.controls = controls
        self.view = widgets.HTML()
        # read by screen readers, not shown twice: the same words are in the view's notes
        self.status = widgets.HTML(layout=widgets.Layout(height="1px", width="1px", overflow="hidden",
                                                         margin="0", padding="0"))
        self.status.add_class("cc-live")
        self._render = render
        self._busy = False
        super().__init__(children=[*controls.values(), self.status, self.view], **kwargs)
        for control in controls.values():
            control.observe(self._changed, names="value")
        self.redraw()

    def __getitem__(self, name: str) -> Any:
        return self.controls[name].value

    def _changed(self, _change: dict) -> None:
        if not self._busy:  # a render that adjusts a slider's range must not redraw twice
            self.redraw()

    def redraw(self) -> None:
        """Recompute and redraw the view from the controls' current values."""
        self._busy = True
        try:
            self.view.value = self._render(self)
            self.status.value = html.escape(spoken(self.view.value))
        except ValueError as problem:  # a learner's input that makes no sense: say why, keep going
            self.view.value = f'<div class="cc-error" style="color:#b00;">{html.escape(str(problem))}</div>'
            self.status.value = html.escape(f"Problem: {problem}")
        finally:
            self._busy = False


def spoken(view: str) -> str:
    """The words of a view's notes (:func:`helpers.explorers.note`), as one plain text to be read out."""
    import re

    said = [re.sub(r"<[^>]+>", "", part) for part in re.findall(r"<div [^>]*data-cc-note[^>]*>(.*?)</div>", view)]
    return " ".join(" ".join(html.unescape(s).split()) for s in said)


#: The description every slider carries (its tooltip, the accessible description of its handle).
SLIDER_HELP = ("Arrow keys move it by one step, Home and End to its ends; the pictures and the sentence under "
               "them follow.")


def _slider(description: str, value: int, low: int, high: int, **kwargs) -> widgets.IntSlider:
    return widgets.IntSlider(value=value, min=low, max=high, description=description, continuous_update=True,
                             style=_STYLE, layout=widgets.Layout(width="420px"),
                             tooltip=f"{description}: {SLIDER_HELP}", **kwargs)


def _digit_menu(label: int) -> widgets.Dropdown:
    return widgets.Dropdown(options=DIGITS, value=label, description="digit",
                            style=_STYLE)


def _set_range(slider: widgets.IntSlider, high: int) -> None:
    """Change a slider's maximum, keeping its value inside."""
    high = max(high, 0)
    if slider.value > high:
        slider.value = high
    slider.max = high


def _image(label: int, index: int = INDEX):
    from helpers.data import digit

    return digit(label, index)


def kernel_walk(label: int = 7, index: int = INDEX, row: int = 7, col: int = 15) -> Explorer | Skipped:
    """Chapter 1: slide a 3x3 kernel over a real digit, one position at a time.

    Shows the block under the kernel, the nine products, their sum and the output map
    filled in up to that position. Pick one of the four edge kernels, a blur, a sharpen,
    or type your own nine numbers.

    Args:
        label, index: which digit (see :func:`helpers.data.digit`); chapter 1's 7 by default.
        row, col: where the kernel starts (centre of the block), as in chapter 1.
    """
    if under_grading():
        return Skipped("kernel walk")
    from helpers.explorers import KERNELS, kernel_walk_html, kernel_walk_state, parse_kernel

    size = _image(label, index).shape[0]
    controls = {
        "digit": _digit_menu(label),
        "kernel": widgets.Dropdown(options=[*KERNELS, OWN_KERNEL], value="top edge", description="kernel",
                                   style=_STYLE),
        "own": widgets.Text(value="0 -1 0; -1 4 -1; 0 -1 0", description="my own kernel",
                            continuous_update=False, style=_STYLE,
                            layout=widgets.Layout(width="420px")),
        "row": _slider("row (centre)", row, 1, size - 2),
        "col": _slider("column (centre)", col, 1, size - 2),
    }

    def render(ex: Explorer) -> str:
        name = ex["kernel"]
        kernel = parse_kernel(ex["own"]) if name == OWN_KERNEL else KERNELS[name]
        state = kernel_walk_state(_image(ex["digit"], index), kernel, ex["row"], ex["col"])
        return kernel_walk_html(state, "your kernel" if name == OWN_KERNEL else name)

    return Explorer(controls, render)


def channels(weight=None, bias=None, label: int = 7, index: int = INDEX) -> Explorer | Skipped:
    """Chapter 2: each output map of a layer over two input maps, taken apart channel by channel.

    The two input maps are a digit's top-edge and left-edge maps, as in chapter 2. Pick an
    output map to see each input map convolved with its own slice of that map's kernel, the
    per-channel parts, and their sum plus the bias: the output map.

    Args:
        weight: the layer's weight, shape ``[out, 2, kh, kw]`` (chapter 2's ``weight``);
            by default three kernels drawn with a fixed random seed.
        bias: its bias, shape ``[out]``; zeros if ``None`` and ``weight`` is given.
        label, index: the digit (chapter 2's 7 by default).
    """
    if under_grading():
        return Skipped("channels")
    import torch

    from helpers.explorers import channel_example, channel_html, channel_state, edge_maps

    if weight is None:
        _, weight, default_bias = channel_example(_image(label, index))
        bias = default_bias if bias is None else bias
    weight = torch.as_tensor(weight, dtype=torch.float32).detach()
    if weight.ndim != 4 or weight.shape[1] != 2:
        raise ValueError(f"weight must have shape [out, 2, kh, kw] (two input maps); it has {tuple(weight.shape)}")
    bias = torch.zeros(weight.shape[0]) if bias is None else torch.as_tensor(bias, dtype=torch.float32).detach()
    controls = {
        "digit": _digit_menu(label),
        "out": _slider("output map", 0, 0, weight.shape[0] - 1),
    }

    def render(ex: Explorer) -> str:
        inputs = edge_maps(_image(ex["digit"], index))
        return channel_html(channel_state(inputs, weight, bias, ex["out"]), ("top edges", "left edges"))

    return Explorer(controls, render)


def padding_stride(n: int = 7, ks: int = 3, pad: int = 1, stride: int = 2) -> Explorer | Skipped:
    """Chapter 3: how image size, kernel size, padding and stride decide every kernel position.

    Draws the padded grid with every position of the kernel, the output grid, and the
    output-size formula with your numbers in it, including the cases PyTorch floors.
    """
    if under_grading():
        return Skipped("padding and stride")
    from helpers.explorers import padding_stride_html, padding_stride_state

    controls = {
        "n": _slider("image size n", n, 1, 14),
        "ks": _slider("kernel size ks", ks, 1, 7),
        "pad": _slider("padding", pad, 0, 4),
        "stride": _slider("stride", stride, 1, 4),
        "position": _slider("kernel position", 0, 0, 15),
    }

    def render(ex: Explorer) -> str:
        state = padding_stride_state(ex["n"], ex["ks"], ex["pad"], ex["stride"])
        _set_range(ex.controls["position"], len(state.positions) - 1)
        return padding_stride_html(state, ex["position"])

    return Explorer(controls, render)


def feature_maps(model=None, label: int = 7, index: int = 1) -> Explorer | Skipped:
    """Chapter 4: every map of a layer of a trained CNN, for a digit you pick.

    Args:
        model: an ``nn.Sequential`` taking ``(N, 1, 28, 28)`` images, such as the trained
            ``simple_cnn`` of chapter 4; each of its top-level layers can be picked. By default
            the course's own ``simple_cnn`` trained as chapter 4 trains it
            (:func:`helpers.models.trained_simple_cnn`), so the explorer needs no answer.
        label, index: the digit shown first (chapter 4 looks at ``digit(7, 1)``).
    """
    if under_grading():
        return Skipped("feature maps")
    from helpers.explorers import feature_maps_html, layer_activations, layer_names

    if model is None:
        from helpers.models import trained_simple_cnn

        model = trained_simple_cnn()
    names = layer_names(model)
    controls = {
        "digit": _digit_menu(label),
        "example": _slider("which example", index, 0, 19),
        "layer": widgets.SelectionSlider(options=[(name, i) for i, name in enumerate(names)], value=0,
                                         description="layer", continuous_update=True, style=_STYLE,
                                         tooltip=f"layer: {SLIDER_HELP}",
                                         layout=widgets.Layout(width="620px")),
    }
    cache: dict[tuple[int, int], list] = {}

    def render(ex: Explorer) -> str:
        key = (ex["digit"], ex["example"])
        if key not in cache:
            cache[key] = layer_activations(model, _image(*key))
        return feature_maps_html(_image(*key), cache[key][ex["layer"]], names[ex["layer"]], ex["digit"])

    return Explorer(controls, render)


def receptive_field(model=None, label: int = 3, index: int = 0) -> Explorer | Skipped:
    """Chapter 5: the input region that feeds one cell of a layer, by formula and by gradients.

    Args:
        model: an ``nn.Sequential`` CNN; by default chapter 4's ``simple_cnn`` as trained there
            (:func:`helpers.models.trained_simple_cnn`, a couple of seconds the first time). The
            formula's box depends only on the architecture; the model's gradient shows which
            pixels the trained weights actually use for this digit.
        label, index: the digit (chapter 5's 3 by default).
    """
    if under_grading():
        return Skipped("receptive field")
    from helpers.explorers import (default_cnn, layer_names, layer_shapes, receptive_field_html,
                                   receptive_field_state)

    if model is None:
        try:
            from helpers.models import trained_simple_cnn
        except ImportError:  # the architecture alone, with seeded weights
            model = default_cnn()
        else:
            model = trained_simple_cnn()
    shapes = layer_shapes(model)
    names = layer_names(model)
    spatial = [i for i, s in enumerate(shapes) if len(s) == 3]
    first = spatial[min(1, len(spatial) - 1)]
    controls = {
        "digit": _digit_menu(label),
        "layer": widgets.Dropdown(options=[(names[i], i) for i in spatial], value=first, description="layer",
                                  style=_STYLE, layout=widgets.Layout(width="520px")),
        "row": _slider("cell row", shapes[first][1] // 2, 0, shapes[first][1] - 1),
        "col": _slider("cell column", shapes[first][2] // 2, 0, shapes[first][2] - 1),
    }

    def render(ex: Explorer) -> str:
        _, h, w = shapes[ex["layer"]]
        _set_range(ex.controls["row"], h - 1)
        _set_range(ex.controls["col"], w - 1)
        image = _image(ex["digit"], index)
        state = receptive_field_state(model, image, ex["layer"], ex["row"], ex["col"])
        return receptive_field_html(state, image, names[ex["layer"]], ex["digit"])

    return Explorer(controls, render)


def pooling(label: int = 7, index: int = INDEX, kernel: str = "top edge") -> Explorer | Skipped:
    """Chapter 6: max or average pooling on a real feature map (a digit's edge map, after ReLU).

    By default the top-edge map of chapter 6's 7.

    Pick the window size, the stride and max or average, and move through the output cells
    to see which window each one pools.
    """
    if under_grading():
        return Skipped("pooling")
    from helpers.explorers import KERNELS, feature_map, pool_html, pool_state

    controls = {
        "digit": _digit_menu(label),
        "map": widgets.Dropdown(options=list(KERNELS)[:4], value=kernel, description="feature map",
                                style=_STYLE),
        "size": _slider("window size", 2, 1, 6),
        "stride": _slider("stride", 2, 1, 6),
        "mode": widgets.ToggleButtons(options=["max", "average"], value="max", description="pooling",
                                      style=_STYLE),
        "position": _slider("output cell", 0, 0, 168),
    }
    cache: dict[tuple[int, str], Any] = {}
    # start on the strongest output cell, so the first picture shows something
    first = pool_state(feature_map(_image(label, index), kernel), 2, 2, "max")
    controls["position"].value = int(first.output.argmax())

    def render(ex: Explorer) -> str:
        key = (ex["digit"], ex["map"])
        if key not in cache:
            cache[key] = feature_map(_image(ex["digit"], index), ex["map"])
        fmap = cache[key]
        out = (fmap.shape[0] - ex["size"]) // ex["stride"] + 1
        _set_range(ex.controls["position"], out * out - 1)
        state = pool_state(fmap, ex["size"], ex["stride"], ex["mode"], ex["position"])
        return pool_html(state, f"{ex['map']} map of a {ex['digit']}, after ReLU")

    return Explorer(controls, render)


def activation_histograms(runs=None, layer: int = -1) -> Explorer | Skipped:
    """Chapter 7: one layer's activation histogram through training, step by step, for several runs.

    ``runs`` are recorded runs (:func:`helpers.stability.train_recorded`); by default three short runs on
    the ten digits are trained once per session (a few seconds): learning rate 0.01, learning rate 0.06,
    and learning rate 0.06 with batch norm. Pick the run and the ReLU, and move through the steps.
    """
    if under_grading():
        return Skipped("activation histograms")
    from helpers.explorers import activation_html, activation_state
    from helpers.stability import explorer_runs

    runs = list(runs) if runs is not None else list(explorer_runs())
    if not runs:
        raise ValueError("give at least one recorded run")
    by_label = {run.label: run for run in runs}
    first = runs[0]
    layers = len(first.stats.layers)
    controls = {
        "run": widgets.Dropdown(options=list(by_label), value=first.label, description="run", style=_STYLE),
        "layer": _slider("ReLU", layer % layers + 1, 1, layers),
        "step": _slider("training step", 1, 1, first.stats.steps),
    }

    def render(ex: Explorer) -> str:
        run = by_label[ex["run"]]
        _set_range(ex.controls["layer"], len(run.stats.layers))
        _set_range(ex.controls["step"], run.stats.steps)
        state = activation_state(run, ex["layer"] - 1, ex["step"] - 1)
        return activation_html(run, state)

    return Explorer(controls, render)


def arithmetic(n: int = 7, ks: int = 3, stride: int = 2, pad: int = 1, dilation: int = 1) -> Explorer | Skipped:
    """Chapter 8: stride, padding and dilation on a small grid, and the transposed convolution going back.

    Draws the padded input with the taps of one output cell (holes when dilated), the output grid,
    and, beside them, how many stamps of the transposed convolution with the same settings cover each
    pixel on the way back, with both size formulas and the output_padding the way back needs.
    """
    if under_grading():
        return Skipped("convolution arithmetic")
    from helpers.explorers import arithmetic_html, arithmetic_state

    controls = {
        "n": _slider("input size n", n, 1, 12),
        "ks": _slider("kernel size ks", ks, 1, 5),
        "stride": _slider("stride", stride, 1, 4),
        "pad": _slider("padding", pad, 0, 3),
        "dilation": _slider("dilation", dilation, 1, 3),
        "cell": _slider("output cell", 0, 0, 143),
    }

    def render(ex: Explorer) -> str:
        state = arithmetic_state(ex["n"], ex["ks"], ex["stride"], ex["pad"], ex["dilation"], ex["cell"])
        _set_range(ex.controls["cell"], state.out * state.out - 1)
        return arithmetic_html(state)

    return Explorer(controls, render)


def depth(depth: int = 20, scale: float = 1.0) -> Explorer | Skipped:
    """Chapter 9: a stack's activation and gradient sizes per layer, plain and residual, by depth and scale.

    ``scale`` multiplies Kaiming's standard deviation (1 keeps a plain ReLU stack steady). Both stacks are
    drawn for the same settings, each with a line saying in words whether the signal vanished, exploded or
    stayed steady going forward, and the gradient going back.
    """
    if under_grading():
        return Skipped("depth and initialisation")
    from helpers.explorers import depth_html, depth_stats

    controls = {
        "depth": _slider("depth (layers)", depth, 1, 40),
        "scale": widgets.FloatLogSlider(value=scale, base=2, min=-2, max=2, step=0.25,
                                        description="scale x Kaiming", continuous_update=False, style=_STYLE,
                                        tooltip=f"scale x Kaiming: {SLIDER_HELP}"),
    }

    def render(ex: Explorer) -> str:
        scale_now = round(float(ex["scale"]), 4)
        return depth_html(depth_stats(ex["depth"], scale_now, False), depth_stats(ex["depth"], scale_now, True))

    return Explorer(controls, render)
