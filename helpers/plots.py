"""Figures drawn from real computations.

Every function here is pure: it takes tensors, draws one labelled figure and
returns the ``matplotlib`` figure, without touching global state (no
``plt.show`` and no figure left registered with pyplot). Notebooks display the
figure; tests and the interactive explorers call the same functions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from helpers.colours import CATEGORICAL, CATEGORICAL_STYLES, ink_for

#: Colour map for images: ink bright on a dark background, as the numbers are stored.
IMAGE_CMAP = "gray"
#: Colour map for signed maps (kernels, feature maps): blue negative, red positive, white zero.
SIGNED_CMAP = "RdBu_r"


class CourseFigure(Figure):
    """A matplotlib figure that shows itself in a notebook without pyplot, with a text alternative.

    It is never registered with pyplot, so drawing one leaves no open figure
    behind, and it displays wherever IPython shows a value: as an HTML ``<img>``
    whose ``alt`` says in words what the figure shows (JupyterLab's own PNG
    renderer has no ``alt``; the website uses the same HTML), with the PNG and
    the words as plain text beside it for front ends that show no HTML.

    ``alt`` is written by the function that draws the figure, from the data it
    draws (:func:`describe_map` for maps); a figure drawn without one is described
    from its own titles, axis labels and legend (:func:`figure_text`).

    A chapter numbers and captions each figure where it shows it, with
    :meth:`captioned` ("Figure 3.2: ..."), so that its prose can say "Figure 3.2";
    the number is written in the notebook, in order (``tests/test_figures.py``
    checks every chapter: each figure numbered in turn, captioned, and referred to
    in the prose). The caption is the figure's visible ``<figcaption>``, in
    JupyterLab and on the website alike; the alt text still says what it shows.
    """

    #: What the figure shows, in words (set by the function that draws it).
    alt: str = ""
    #: The figure's number in its chapter ("3.2") and caption, set by :meth:`captioned`.
    number: str = ""
    caption: str = ""

    def captioned(self, number: str, caption: str) -> CourseFigure:
        """This figure as "Figure ``number``: ``caption``" (e.g. ``"3.2"``, one sentence); returns it, to display."""
        import re

        if not re.fullmatch(r"[1-9][0-9]*\.[1-9][0-9]*", number):
            raise ValueError(f"a figure number is chapter.figure, such as '3.2', not {number!r}")
        if not caption.strip():
            raise ValueError(f"Figure {number} needs a caption that says what it shows")
        self.number, self.caption = number, " ".join(caption.split())
        return self

    @property
    def label(self) -> str:
        """"Figure 3.2: caption", or "" for a figure shown without a number."""
        return f"Figure {self.number}: {self.caption}" if self.number else ""

    def description(self) -> str:
        """The figure's text alternative: :attr:`alt`, or its titles, labels and legend in words."""
        return self.alt or figure_text(self)

    def _repr_png_(self) -> bytes:
        import io

        buffer = io.BytesIO()
        # "tight": the saved picture grows to hold every title, label and colour bar, so none is clipped
        self.savefig(buffer, format="png", dpi=100, bbox_inches="tight", pad_inches=0.08)
        return buffer.getvalue()

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        import base64
        import html

        png = base64.b64encode(self._repr_png_()).decode("ascii")
        alt = self.description()
        img = f'<img class="cc-figure" src="data:image/png;base64,{png}" alt="{html.escape(alt)}">'
        if not self.number:
            return {"text/html": img, "image/png": png, "text/plain": f"Figure: {alt}"}
        caption = (f'<figcaption style="font-size:0.95em;margin-top:0.3em;"><strong>Figure {self.number}:</strong> '
                   f"{html.escape(self.caption)}</figcaption>")
        return {"text/html": f'<figure class="cc-figure-numbered" id="figure-{self.number.replace(".", "-")}" '
                             f'style="margin:0;">{img}{caption}</figure>',
                "image/png": png, "text/plain": f"{self.label} ({alt})"}


def figure_text(fig: Figure) -> str:
    """A figure's own words in reading order: its title, each panel's title and axis labels, legends, footnote."""
    parts = []
    if fig.get_suptitle():
        parts.append(fig.get_suptitle())
    for ax in fig.axes:
        if ax.get_label() == "<colorbar>":
            continue
        words = [w for w in (ax.get_title(), ax.get_xlabel() and f"x: {ax.get_xlabel()}",
                             ax.get_ylabel() and f"y: {ax.get_ylabel()}") if w]
        legend = ax.get_legend()
        if legend is not None:
            words.append("legend: " + ", ".join(t.get_text() for t in legend.get_texts()))
        if words:
            parts.append("; ".join(words))
    if fig.get_supxlabel():
        parts.append(fig.get_supxlabel())
    return ". ".join(" ".join(p.split()) for p in parts) + "." if parts else "A figure without words."


def _n(x: float) -> str:
    """A number as the figures write it: 3 significant digits, no "-0"."""
    text = f"{x:.3g}"
    return "0" if text in ("-0", "-0.0") else text


def describe_map(values, *, signed: bool | None = None, name: str = "map") -> str:
    """A 2-D map in words: its size, its range and where its strong values are.

    Unsigned maps (images) say where the bright cells (above half the range) lie; signed
    ones (kernels, feature maps, drawn blue-white-red) where the strongest positive (red)
    and negative (blue) values are. Small maps (up to 5x5) list every value, row by row.
    """
    arr = _array(values)
    if arr.ndim == 1:
        arr = arr[None, :]
    h, w = arr.shape
    signed = bool((arr < 0).any()) if signed is None else signed
    finite = arr[np.isfinite(arr)]
    text = f"{name}, {h}x{w}"
    if finite.size == 0:
        return text + ", empty"
    low, high = float(finite.min()), float(finite.max())
    if h * w <= 25:
        rows = "; ".join(" ".join(_n(v) for v in row) for row in arr)
        return f"{text}, values row by row: {rows}"
    text += f", values from {_n(low)} to {_n(high)}"
    if low == high:
        return text + " (all equal)"
    if signed:
        r, c = np.unravel_index(np.nanargmax(arr), arr.shape)
        text += f"; strongest positive (red) {_n(high)} at row {r}, column {c}" if high > 0 else ""
        r, c = np.unravel_index(np.nanargmin(arr), arr.shape)
        text += f"; strongest negative (blue) {_n(low)} at row {r}, column {c}" if low < 0 else ""
        limit = max(abs(low), abs(high))
        strong = int((np.abs(np.nan_to_num(arr)) > 0.5 * limit).sum())
        return text + f"; {strong} of {h * w} cells are strong (beyond half the largest size)"
    bright = np.nan_to_num(arr, nan=low) > low + 0.5 * (high - low)
    rows, cols = np.nonzero(bright)
    return (text + f"; bright (high) cells: {int(bright.sum())} of {h * w}, in rows {rows.min()} to {rows.max()}, "
            f"columns {cols.min()} to {cols.max()}")


def new_figure(width: float, height: float) -> CourseFigure:
    """A figure not registered with pyplot, so nothing accumulates between redraws."""
    return CourseFigure(figsize=(width, height), layout="constrained")


def _array(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().double().numpy()
    return np.asarray(x, dtype=float)


def _signed_limits(values: np.ndarray) -> float:
    limit = float(np.abs(values).max()) if values.size else 1.0
    return limit if limit > 0 else 1.0


def draw_image(ax, img, *, title: str = "", cmap: str = IMAGE_CMAP, signed: bool = False,
               colorbar: bool = False, ticks: bool = False, limits: tuple[float, float] | None = None):
    """Draw a 2-D tensor on ``ax``; ``signed`` centres the colours on zero; ``limits`` fixes the scale."""
    values = _array(img)
    if signed:
        limit = max(abs(limits[0]), abs(limits[1])) if limits else _signed_limits(values)
        shown = ax.imshow(values, cmap=SIGNED_CMAP, vmin=-limit, vmax=limit)
    elif limits:
        shown = ax.imshow(values, cmap=cmap, vmin=limits[0], vmax=limits[1])
    else:
        shown = ax.imshow(values, cmap=cmap)
    ax.set_title(title, fontsize=10)
    if not ticks:
        ax.set_xticks([])
        ax.set_yticks([])
    else:
        ax.set_xlabel("column")
        ax.set_ylabel("row")
    if colorbar:
        ax.figure.colorbar(shown, ax=ax, shrink=0.8)
    return shown


def annotate_values(ax, values, *, fmt: str = "{:.2f}", fontsize: int = 9, signed: bool = True) -> None:
    """Write each value in its cell, in black or white, whichever contrasts more with the cell.

    The cell's colour is read from the image already drawn on ``ax`` (its colour map and scale), and
    the ink chosen by WCAG's contrast ratio (:func:`helpers.colours.ink_for`), so every number reaches
    4.5:1 on the colour really under it. Without an image, ``signed`` cells (drawn with
    :data:`SIGNED_CMAP`) count as dark far from zero and unsigned ones (:data:`IMAGE_CMAP`) near zero.
    """
    arr = _array(values)
    limit = _signed_limits(arr)
    image = ax.images[-1] if ax.images else None
    for (r, c), v in np.ndenumerate(arr):
        if image is not None:
            ink = ink_for(image.to_rgba(v)[:3])
        else:
            dark = abs(v) > 0.6 * limit if signed else v < 0.5 * max(1.0, float(arr.max()))
            ink = "white" if dark else "black"
        text = fmt.format(v + 0.0)
        text = text[1:] if text.startswith("-") and not text.strip("-0.") else text  # no "-0.00"
        ax.text(c, r, text, ha="center", va="center", fontsize=fontsize, color=ink)


def show_image(img, title: str = "", *, size: float = 3.0, ticks: bool = True) -> Figure:
    """One image, with row and column numbers so positions can be read off."""
    fig = new_figure(size, size)
    draw_image(fig.add_subplot(), img, title=title, ticks=ticks)
    fig.alt = describe_map(img, signed=False, name=f"Image{': ' + title if title else ''}") + \
        " (drawn in grey: dark low, bright high)."
    return fig


def show_kernel(kernel, title: str = "kernel") -> Figure:
    """A kernel as a grid of its weights, negative blue and positive red."""
    kernel = _array(kernel)
    fig = new_figure(1.0 + 0.6 * kernel.shape[1], 0.8 + 0.6 * kernel.shape[0])
    ax = fig.add_subplot()
    draw_image(ax, kernel, title=title, signed=True)
    annotate_values(ax, kernel, fmt="{:g}")
    fig.alt = describe_map(kernel, signed=True, name=f"Kernel: {title}") + " (each weight written in its cell)."
    return fig


def show_window(img, row: int, col: int, size: int = 3, title: str = "") -> Figure:
    """An image with the ``size x size`` window centred on ``(row, col)`` outlined."""
    fig = new_figure(3.2, 3.2)
    ax = fig.add_subplot()
    draw_image(ax, img, title=title or f"window centred on row {row}, column {col}", ticks=True)
    outline_window(ax, row - size // 2, col - size // 2, size, size)
    top, left = row - size // 2, col - size // 2
    fig.alt = (f"{describe_map(img, signed=False, name='Image')}; outlined: the {size}x{size} window centred on "
               f"row {row}, column {col} (rows {top} to {top + size - 1}, columns {left} to {left + size - 1}).")
    return fig


def outline_window(ax, top: int, left: int, height: int, width: int, *, colour: str = "tab:orange",
                   linewidth: float = 2.0) -> Rectangle:
    """Outline the cells from ``(top, left)`` spanning ``height x width`` on an image axis."""
    patch = Rectangle((left - 0.5, top - 0.5), width, height, fill=False, edgecolor=colour,
                      linewidth=linewidth)
    ax.add_patch(patch)
    return patch


def show_window_product(img, row: int, col: int, kernel) -> Figure:
    """Window x kernel = products, and their sum: one output value, computed and drawn.

    Draws the 3x3 block of ``img`` centred on ``(row, col)``, the kernel, their
    element-wise products, and titles the last panel with the sum: the value of
    the output map at that position.
    """
    img = torch.as_tensor(img, dtype=torch.float32)
    kernel = torch.as_tensor(kernel, dtype=torch.float32)
    kh, kw = kernel.shape
    block = img[row - kh // 2: row - kh // 2 + kh, col - kw // 2: col - kw // 2 + kw]
    products = block * kernel
    fig = new_figure(9.5, 3.0)
    axes = fig.subplots(1, 3)
    draw_image(axes[0], block, title=f"image block around ({row}, {col})")
    axes[0].images[0].set_clim(0.0, max(1.0, float(block.max())))
    annotate_values(axes[0], block, signed=False)
    draw_image(axes[1], kernel, title="kernel", signed=True)
    annotate_values(axes[1], kernel, fmt="{:g}")
    draw_image(axes[2], products, title=f"products; sum = {float(products.sum()):.2f}", signed=True)
    annotate_values(axes[2], products)
    fig.suptitle("one output value = sum of (block x kernel)", fontsize=11)
    fig.alt = (f"One output value as the sum of block times kernel, at row {row}, column {col}. "
               f"{describe_map(block, signed=False, name='Image block')}. {describe_map(kernel, name='Kernel')}. "
               f"{describe_map(products, name='Products')}. Sum = {float(products.sum()):.2f}.")
    return fig


def show_maps(maps: Mapping[str, torch.Tensor] | Sequence[tuple[str, torch.Tensor]], *,
              signed: bool = True, size: float = 2.6, suptitle: str = "", colorbar: bool = True,
              shared: Sequence[str] = ()) -> Figure:
    """Several maps side by side, each titled, on its own colour scale with a colour bar.

    Use it for an image and its feature maps: ``show_maps({"digit": img, "top edges": out})``.
    The maps named in ``shared`` are drawn on one colour scale, with one colour bar after the last
    of them, so that their strengths can be compared (a map of zeros is then the scale's bottom,
    not a mid-grey of its own).
    """
    items = list(maps.items()) if isinstance(maps, Mapping) else list(maps)
    fig = new_figure(size * len(items) + 0.4, size + 0.5)
    axes = np.atleast_1d(fig.subplots(1, len(items)))
    together = [_array(v) for t, v in items if t in shared]
    limits = None
    if together:
        low, high = min(float(a.min()) for a in together), max(float(a.max()) for a in together)
        limits = (low, high if high > low else low + 1.0)
    last_shared = max((i for i, (t, _) in enumerate(items) if t in shared), default=-1)
    for i, (ax, (title, values)) in enumerate(zip(axes, items)):
        arr = _array(values)
        own = title not in shared
        draw_image(ax, arr, title=f"{title}\n{arr.shape[0]}x{arr.shape[1]}",
                   signed=signed and bool(((arr if own else np.array([limits[0]])) < 0).any()),
                   colorbar=colorbar and (own or i == last_shared), limits=None if own else limits)
    if suptitle:
        fig.suptitle(suptitle, fontsize=11)
    fig.alt = (f"{suptitle + '. ' if suptitle else ''}{len(items)} maps side by side: "
               + ". ".join(describe_map(v, signed=signed and bool((_array(v) < 0).any()), name=t)
                           for t, v in items) + ".")
    return fig


# ---------------------------------------------------------------------------
# Chapter 2, "Feature maps and channels"


def show_channel_sums(x, weight, bias=None, *, input_names: Sequence[str] | None = None,
                      size: float = 1.75) -> Figure:
    """A convolution with several input maps, every piece of it computed and drawn.

    Each row but the last is one input map ``x[c]``; then, for every kernel
    ``o``, its slice ``weight[o, c]`` and the map that slice gives on ``x[c]``.
    The last row shows, under each kernel, its bias and the output map: the sum
    of the per-channel maps above it plus the bias, as ``F.conv2d`` computes it.

    Args:
        x: input maps, shape ``[in, h, w]``.
        weight: kernels, shape ``[out, in, kh, kw]`` (PyTorch's layout).
        bias: one number per output map, shape ``[out]``, or ``None``.
        input_names: titles of the input maps (default ``"input map 0"``, ...).

    Introduced in chapter 2, "Feature maps and channels".
    """
    import torch.nn.functional as F

    x = torch.as_tensor(x, dtype=torch.float32)
    weight = torch.as_tensor(weight, dtype=torch.float32)
    n_in, n_out = x.shape[0], weight.shape[0]
    if weight.shape[1] != n_in:
        raise ValueError(f"weight has {weight.shape[1]} input slices but x has {n_in} maps; "
                         "weight must be [out, in, kh, kw]")
    # map c convolved with slice weight[o, c], for every o and c: shape [out, in, h', w']
    per_channel = torch.stack([F.conv2d(x[c][None, None], weight[:, c:c + 1])[0] for c in range(n_in)], dim=1)
    outputs = F.conv2d(x[None], weight, None if bias is None else torch.as_tensor(bias, dtype=torch.float32))[0]
    names = list(input_names) if input_names is not None else [f"input map {c}" for c in range(n_in)]
    fig = new_figure(size * (1 + 2 * n_out) + 0.4, size * (n_in + 1) + 0.9)
    axes = np.atleast_2d(fig.subplots(n_in + 1, 1 + 2 * n_out))
    for c in range(n_in):
        draw_image(axes[c, 0], x[c], title=f"{names[c]}\n{x.shape[1]}x{x.shape[2]}", signed=bool((x[c] < 0).any()))
        for o in range(n_out):
            k_ax, m_ax = axes[c, 1 + 2 * o], axes[c, 2 + 2 * o]
            draw_image(k_ax, weight[o, c], title=f"weight[{o}, {c}]", signed=True)
            if weight.shape[-1] * weight.shape[-2] <= 25:
                annotate_values(k_ax, weight[o, c], fmt="{:.2f}", fontsize=9)
            draw_image(m_ax, per_channel[o, c], title=f"map {c} with weight[{o}, {c}]", signed=True)
    axes[n_in, 0].axis("off")
    axes[n_in, 0].text(0.5, 0.5, "sum of the\nmaps above\n+ bias\n=\noutput maps", ha="center", va="center",
                       fontsize=10, transform=axes[n_in, 0].transAxes)
    for o in range(n_out):
        b_ax, out_ax = axes[n_in, 1 + 2 * o], axes[n_in, 2 + 2 * o]
        b_ax.axis("off")
        b = 0.0 if bias is None else float(torch.as_tensor(bias)[o])
        b_ax.text(0.5, 0.5, f"kernel {o}\nbias[{o}]\n= {b:+.2f}", ha="center", va="center", fontsize=10,
                  transform=b_ax.transAxes)
        draw_image(out_ax, outputs[o], title=f"output map {o}\n{outputs.shape[1]}x{outputs.shape[2]}",
                   signed=True)
        out_ax.patch.set_edgecolor("tab:orange")
        for spine in out_ax.spines.values():
            spine.set_edgecolor("tab:orange")
            spine.set_linewidth(2)
    fig.suptitle(f"{n_in} input maps, {n_out} kernels of shape {tuple(weight.shape[1:])}: each output map is "
                 "the sum over input maps of (map convolved with its slice), plus a bias", fontsize=11)
    biases = [0.0 if bias is None else float(torch.as_tensor(bias)[o]) for o in range(n_out)]
    fig.alt = (f"{n_in} input maps and {n_out} kernels: each output map is the sum over input maps of the map "
               "convolved with its slice of the kernel, plus a bias. "
               + ". ".join(describe_map(x[c], name=names[c]) for c in range(n_in)) + ". "
               + ". ".join(f"{describe_map(weight[o, c], name=f'weight[{o}, {c}]')}" for o in range(n_out)
                           for c in range(n_in)) + ". "
               + ". ".join(f"bias[{o}] = {biases[o]:+.2f}; {describe_map(outputs[o], name=f'output map {o}')}"
                           for o in range(n_out)) + ".")
    return fig


# ---------------------------------------------------------------------------
# Chapter 4, "nn.Conv2d and a first CNN": training curves, costs per layer, learned filters


def plot_history(history, title: str = "training") -> Figure:
    """Loss and accuracy of a :class:`helpers.train.History`, against epochs.

    The left panel shows the loss of every mini-batch (faint), its mean per
    epoch and the validation loss after each epoch; the right panel shows the
    validation accuracy after each epoch.
    """
    fig = new_figure(9.0, 3.4)
    loss_ax, acc_ax = fig.subplots(1, 2)
    per_epoch = max(history.steps_per_epoch, 1)
    steps = (np.arange(len(history.step_loss)) + 1) / per_epoch
    epochs = np.arange(1, history.epochs + 1)
    loss_ax.plot(steps, history.step_loss, color="tab:blue", alpha=0.25, linewidth=1, label="training (each batch)")
    loss_ax.plot(epochs, history.train_loss, "o-", color="tab:blue", label="training (epoch mean)")
    loss_ax.plot(epochs, history.valid_loss, "s-", color="tab:orange", label="validation")
    loss_ax.set_xlabel("epoch")
    loss_ax.set_ylabel("cross-entropy loss")
    loss_ax.set_title("loss")
    loss_ax.set_ylim(bottom=0)
    loss_ax.legend(fontsize=8)
    acc_ax.plot(epochs, 100 * np.asarray(history.valid_accuracy), "s-", color="tab:orange")
    for e, a in zip(epochs, history.valid_accuracy):
        acc_ax.annotate(f"{100 * a:.1f}", (e, 100 * a), textcoords="offset points", xytext=(0, 6),
                        ha="center", fontsize=8)
    acc_ax.set_xlabel("epoch")
    acc_ax.set_ylabel("validation accuracy (%)")
    acc_ax.set_title(f"accuracy: {100 * history.valid_accuracy[-1]:.1f}% after {history.epochs} epochs"
                     if history.epochs else "accuracy")
    acc_ax.set_xticks(epochs)
    loss_ax.set_xticks(epochs)
    fig.suptitle(title, fontsize=11)
    per = lambda values, f: ", ".join(f(v) for v in values)  # noqa: E731
    fig.alt = (f"{title}: loss and validation accuracy over {history.epochs} epochs. Training loss per epoch "
               f"(blue circles): {per(history.train_loss, lambda v: f'{v:.3f}')}. Validation loss (orange "
               f"squares): {per(history.valid_loss, lambda v: f'{v:.3f}')}. Validation accuracy: "
               f"{per(history.valid_accuracy, lambda v: f'{100 * v:.1f}%')}.")
    return fig


def plot_layer_costs(summaries: Mapping[str, Sequence], title: str = "multiply-adds per layer") -> Figure:
    """Multiply-adds of each weighted layer, one group of bars per layer, one colour per model.

    ``summaries`` maps a model's name to its :func:`helpers.models.layer_summary`.
    """
    fig = new_figure(9.0, 3.6)
    ax = fig.add_subplot()
    names = list(summaries)
    width = 0.8 / max(len(names), 1)
    n_layers = 0
    for k, name in enumerate(names):
        rows = [r for r in summaries[name] if r.mult_adds > 0]
        n_layers = max(n_layers, len(rows))
        xs = np.arange(len(rows)) + (k - (len(names) - 1) / 2) * width
        bars = ax.bar(xs, [r.mult_adds for r in rows], width, label=name)
        for bar, r in zip(bars, rows):
            c, h, w = r.output_shape[1:] if len(r.output_shape) == 4 else (r.output_shape[-1], 1, 1)
            ax.annotate(f"{r.mult_adds:,}\n{c}x{h}x{w}", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                        textcoords="offset points", xytext=(0, 2), ha="center", fontsize=8)
    ax.set_xticks(np.arange(n_layers), [f"conv {i + 1}" for i in range(n_layers)])
    ax.set_xlabel("weighted layer (label: multiply-adds and output channels x height x width)")
    ax.set_ylabel("multiply-adds per image")
    ax.set_ylim(top=ax.get_ylim()[1] * 1.2)
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.alt = f"Bar chart, {title}, one bar per weighted layer and model: " + "; ".join(
        f"{name}: " + ", ".join(f"conv {i + 1} {r.mult_adds:,}" for i, r in
                                enumerate(r for r in summaries[name] if r.mult_adds > 0)) for name in names) + "."
    return fig


def show_filters(weight, title: str = "learned filters", max_filters: int = 16) -> Figure:
    """The kernels of a convolution layer (``weight`` of shape ``[out, in, kh, kw]``), one panel each.

    For a layer with several input channels, each panel shows the kernel's
    first input slice. Colours are signed: red positive, blue negative.
    """
    w = _array(weight)
    n = min(w.shape[0], max_filters)
    fig = new_figure(1.6 * n + 0.4, 2.1)
    axes = np.atleast_1d(fig.subplots(1, n))
    for i, ax in enumerate(axes):
        draw_image(ax, w[i, 0], title=f"filter {i}", signed=True)
        annotate_values(ax, w[i, 0], fmt="{:.1f}", fontsize=9)
    fig.suptitle(title, fontsize=11)
    fig.alt = (f"{title}: the first {n} of {w.shape[0]} kernels, weights written in their cells, red positive, "
               "blue negative. " + ". ".join(describe_map(w[i, 0], signed=True, name=f"filter {i}")
                                              for i in range(n)) + ".")
    return fig


# ---------------------------------------------------------------------------
# Chapter 5, "Receptive fields": fields measured by gradients (helpers.receptive), drawn.

#: Colour of the cells outside an image (padding) in chapter 5's figures.
PADDING_COLOUR = "#cfc6e6"
#: The colour of "the chosen cell and everything that feeds it" in chapter 5's figures.
FIELD_COLOUR = "tab:orange"


def _draw_padded(ax, values, ring: int, *, title: str = "", signed: bool = False, ticks: bool = True,
                 cmap: str = IMAGE_CMAP):
    """Draw a map with a ring of ``ring`` padding cells around it, in the map's own coordinates.

    Cell ``(r, c)`` stays at ``(r, c)``; the ring (rows and columns from ``-ring``) is drawn in
    :data:`PADDING_COLOUR`, so a box that hangs over the border can be drawn where it really is.
    """
    import matplotlib

    arr = _array(values)
    h, w = arr.shape
    canvas = np.full((h + 2 * ring, w + 2 * ring), np.nan)
    canvas[ring:ring + h, ring:ring + w] = arr
    extent = (-ring - 0.5, w + ring - 0.5, h + ring - 0.5, -ring - 0.5)
    if signed:
        limit = _signed_limits(arr)
        cmap = matplotlib.colormaps[SIGNED_CMAP].with_extremes(bad=PADDING_COLOUR)
        ax.imshow(canvas, cmap=cmap, vmin=-limit, vmax=limit, extent=extent, interpolation="nearest")
    else:
        shaded = matplotlib.colormaps[cmap].with_extremes(bad=PADDING_COLOUR)
        ax.imshow(canvas, cmap=shaded, extent=extent, interpolation="nearest")
    ax.add_patch(Rectangle((-0.5, -0.5), w, h, fill=False, edgecolor="0.45", linewidth=0.8))
    ax.set_title(title, fontsize=9.5)
    if ticks:
        from matplotlib.ticker import MaxNLocator

        ax.set_xlabel("column")
        ax.set_ylabel("row")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    else:
        ax.set_xticks([])
        ax.set_yticks([])


def _ring_for(box, height: int, width: int, at_least: int = 0) -> int:
    """How many padding cells a panel needs to show all of ``box``."""
    if box is None:
        return at_least
    return max(at_least, -box.top, -box.left, box.bottom - (height - 1), box.right - (width - 1), 0)


def show_receptive_field(image, maps: Sequence, layers: Sequence[tuple[int, int, int]], row: int, col: int,
                         names: Sequence[str] | None = None) -> Figure:
    """The receptive field of one cell, measured: one cell of the last map and all that feeds it.

    Panels: the input and each layer's output map (``maps``, as computed by the layers
    ``layers`` = ``[(kernel, stride, padding), ...]``). The chosen cell ``(row, col)`` of the
    last map, the cells of each earlier map that feed it and the input pixels that feed it
    are outlined in orange; the regions come from :func:`helpers.receptive.field_box`
    (gradients), so they hang over the border where the field does. Padding is shaded.
    On the input, the dashed boxes are the 3x3 (kernel-sized) windows of the first and last
    cells of the first map that feed the cell: the field spans from one to the other.
    Introduced in chapter 5.
    """
    from helpers.receptive import field_box

    panels = [image, *maps]
    if len(panels) != len(layers) + 1:
        raise ValueError(f"give the input and one map per layer: {len(layers)} layers, {len(maps)} maps")
    names = list(names) if names else ["input"] + [f"conv{i}" for i in range(1, len(layers) + 1)]
    last = len(layers)
    fig = new_figure(3.5 * len(panels), 4.6)
    axes = np.atleast_1d(fig.subplots(1, len(panels)))
    for level, (ax, values, name) in enumerate(zip(axes, panels, names)):
        h, w = _array(values).shape
        if level == last:
            box = None
            ring = 0
            title = f"{name} output, {h}x{w}\nthe cell ({row}, {col})"
        else:
            box = field_box(layers[level:], row, col)
            ring = _ring_for(box, h, w, at_least=layers[level][2])
            inside = box.clip(h, w)
            what = "input" if level == 0 else f"{name} output"
            title = (f"{what}, {h}x{w}\nrows {box.top} to {box.bottom}, columns {box.left} to {box.right} "
                     f"({box.height}x{box.width})")
            if inside is not None and (inside.height, inside.width) != (box.height, box.width):
                title += f"\n{inside.height}x{inside.width} inside, the rest on padding"
        _draw_padded(ax, values, ring, title=title, ticks=level == 0)
        if box is None:
            outline_window(ax, row, col, 1, 1, colour=FIELD_COLOUR, linewidth=2.5)
        else:
            outline_window(ax, box.top, box.left, box.height, box.width, colour=FIELD_COLOUR, linewidth=2.5)
    if last >= 2:
        h1, w1 = _array(maps[0]).shape
        first_map = field_box(layers[1:], row, col).clip(h1, w1)  # padding cells have no window
        for r, c in ((first_map.top, first_map.left), (first_map.bottom, first_map.right)):
            window = field_box(layers[:1], r, c)
            outline_window(axes[0], window.top, window.left, window.height, window.width, colour="tab:cyan",
                           linewidth=2.0).set_linestyle("--")
    fig.suptitle(f"everything that feeds cell ({row}, {col}) of {names[-1]}", fontsize=11)
    note = "orange: the cell and what feeds it; shaded: padding (zeros)"
    if last >= 2:
        note += f"; dashed: the windows of the first and last {names[1]} cells it reads"
    fig.supxlabel(note, fontsize=9)
    fig.alt = f"{describe_map(image, signed=False, name='The input image')}. {figure_text(fig)}"
    return fig


def show_gradient_field(image, grad, box=None, *, title: str = "", annotate: bool | None = None) -> Figure:
    """The gradient check of a receptive field: which pixels a cell's gradient reaches, and how strongly.

    Left: ``image`` with the pixels whose gradient is not zero tinted orange and, if given,
    ``box`` (a :class:`helpers.receptive.Box`, e.g. the field from the recurrence) outlined.
    Right: the gradient itself, zoomed on the field; with weights of 1 each value counts
    the paths from that pixel to the cell. Introduced in chapter 5.
    """
    from helpers.receptive import box_of

    img, g = _array(image), _array(grad)
    h, w = img.shape
    found = box_of(torch.as_tensor(g != 0))
    frame = box if box is not None else found
    ring = _ring_for(frame, h, w, at_least=1) + 1  # one cell beyond the box, so its edges show
    fig = new_figure(8.4, 4.4)
    left, right = fig.subplots(1, 2)
    tint = np.zeros((h + 2 * ring, w + 2 * ring, 4))
    tint[ring:ring + h, ring:ring + w][g != 0] = (1.0, 0.55, 0.0, 0.55)
    n_found = int((g != 0).sum())
    heading = f"{n_found} pixels get a non-zero gradient (orange)"
    if box is not None:
        heading += f"\nbox from the recurrence: {box.height}x{box.width}"
    _draw_padded(left, img, ring, title=heading)
    left.imshow(tint, extent=(-ring - 0.5, w + ring - 0.5, h + ring - 0.5, -ring - 0.5), interpolation="nearest")
    if box is not None:
        outline_window(left, box.top, box.left, box.height, box.width, colour="tab:cyan", linewidth=2.0)
    _draw_padded(right, g, ring, title="gradient of the cell with respect to each pixel\n(paths from the pixel "
                 "to the cell)", cmap="magma")
    if frame is not None:
        # left: the image and the whole box; right: zoomed on the box; never past the drawn ring
        def clamp(lo, hi, size):
            return max(lo, -ring) - 0.5, min(hi, size - 1 + ring) + 0.5
        for ax, (r0, r1), (c0, c1) in (
                (left, (min(frame.top, 0) - 1, max(frame.bottom, h - 1) + 1),
                 (min(frame.left, 0) - 1, max(frame.right, w - 1) + 1)),
                (right, (frame.top - 1, frame.bottom + 1), (frame.left - 1, frame.right + 1))):
            top, bottom = clamp(r0, r1, h)
            lft, rgt = clamp(c0, c1, w)
            ax.set_xlim(lft, rgt)
            ax.set_ylim(bottom, top)
        if annotate is None:
            annotate = frame.height <= 12 and frame.width <= 12
        if annotate:
            peak = float(np.abs(g).max()) or 1.0
            for r in range(max(frame.top, 0), min(frame.bottom, h - 1) + 1):
                for c in range(max(frame.left, 0), min(frame.right, w - 1) + 1):
                    right.text(c, r, f"{g[r, c]:g}", ha="center", va="center", fontsize=7,
                               color=ink_for(right.images[0].to_rgba(g[r, c])[:3]))
    fig.suptitle(title or "the receptive field measured by backpropagation", fontsize=11)
    rows, cols = np.nonzero(g)
    reach = (f" in rows {rows.min()} to {rows.max()}, columns {cols.min()} to {cols.max()}" if n_found else "")
    fig.alt = (f"{figure_text(fig)} {n_found} pixels of the {h}x{w} image get a non-zero gradient{reach}; "
               f"the largest gradient is {_n(float(np.abs(g).max()))}.")
    return fig


def show_fields_by_depth(image, boxes: Sequence[tuple[str, object]], *, title: str = "") -> Figure:
    """Several receptive fields on one image, e.g. one cell per layer, each box in its own colour and line style.

    ``boxes`` is ``[(label, Box), ...]`` (:class:`helpers.receptive.Box`, input coordinates);
    the canvas grows a padding ring wide enough for the largest. The colours are
    :data:`helpers.colours.CATEGORICAL` (apart for every common colour vision) and each has its own
    line style too, so no box is told from another by colour alone. Introduced in chapter 5.
    """
    img = _array(image)
    h, w = img.shape
    ring = max([_ring_for(box, h, w, at_least=1) for _, box in boxes] + [1])
    fig = new_figure(7.4, 4.4)  # a square picture and its legend: no empty band above or below
    ax = fig.add_subplot()
    _draw_padded(ax, img, ring, title=title or "receptive field of one cell, layer by layer")
    top, left, bottom, right = -1, -1, h, w
    for (label, box), colour, style in zip(boxes, CATEGORICAL * 3, CATEGORICAL_STYLES * 3):
        patch = outline_window(ax, box.top, box.left, box.height, box.width, colour=colour, linewidth=2.4)
        patch.set_linestyle(style)
        patch.set_label(f"{label}: {box.height}x{box.width}")
        top, left = min(top, box.top - 1), min(left, box.left - 1)
        bottom, right = max(bottom, box.bottom + 1), max(right, box.right + 1)
    ax.set_xlim(left - 0.5, right + 0.5)
    ax.set_ylim(bottom + 0.5, top - 0.5)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9, title="field of one cell of",
              title_fontsize=9, frameon=False, handlelength=3.2)
    fig.alt = (f"{ax.get_title()}: on the {h}x{w} image, one outlined box per layer, each layer's box larger. "
               + "; ".join(f"{label}: {box.height}x{box.width}, rows {box.top} to {box.bottom}, columns {box.left} "
                           f"to {box.right}" for label, box in boxes) + ".")
    return fig


# ---------------------------------------------------------------------------
# Chapter 3, "Padding and strides"


def _cell_grid(ax, values: np.ndarray, *, top: float = 0.0, left: float = 0.0, cmap: str = "Blues",
               vmax: float | None = None, hide: np.ndarray | None = None, shade: np.ndarray | None = None,
               fmt: str = "{:g}") -> None:
    """Draw ``values`` as a grid of annotated square cells whose top-left corner is at ``(top, left)``.

    ``hide`` marks cells drawn empty (not computed yet); ``shade`` marks cells drawn as padding.
    The cells and their numbers are left out of the layout computation, which keeps large grids fast.
    """
    from matplotlib import colormaps
    from matplotlib.collections import PatchCollection

    colours = colormaps[cmap]
    vmax = float(np.abs(values).max()) if vmax is None else vmax
    vmax = vmax if vmax > 0 else 1.0
    plain, plain_faces, padding = [], [], []
    for (r, c), v in np.ndenumerate(values):
        hidden = hide is not None and hide[r, c]
        is_pad = shade is not None and shade[r, c]
        cell = Rectangle((left + c, top + r), 1, 1)
        if is_pad:
            padding.append(cell)
        else:
            plain.append(cell)
            plain_faces.append("white" if hidden else colours(0.15 + 0.6 * min(abs(v) / vmax, 1.0)))
        if not hidden:
            ax.text(left + c + 0.5, top + r + 0.5, fmt.format(v), ha="center", va="center", fontsize=9,
                    color="#555555" if is_pad else "black").set_in_layout(False)
    for cells, faces, hatch in ((plain, plain_faces, None), (padding, "#e6e6e6", "//")):
        if cells:
            collection = PatchCollection(cells, facecolors=faces, edgecolors="#8c8c8c", linewidths=0.6,
                                         hatch=hatch)
            collection.set_in_layout(False)
            ax.add_collection(collection)


def show_conv_steps(img, kernel, *, pad: int = 0, stride: int = 1,
                    positions: Sequence[tuple[int, int]] | None = None, title: str = "",
                    max_columns: int = 3, cell: float = 0.4) -> Figure:
    """Where a kernel goes: every position on a small input, with padding and stride, computed.

    For each chosen output position ``(i, j)`` two panels are drawn: above, the
    (zero-padded) input with the kernel's window outlined, padding hatched
    grey, and input cells that **no** window ever touches marked with a red
    cross (found from the gradient of the output with respect to the input);
    below, the output of ``F.conv2d(img, kernel, padding=pad, stride=stride)``
    with the values computed so far and the current one outlined.

    Args:
        img: a small 2-D input (a few cells a side; its values are written in the cells).
        kernel: a 2-D kernel.
        pad: zeros added on every side.
        stride: how far the kernel moves between positions.
        positions: output positions to show, in order; by default every position (at most 15).
        max_columns: positions per row of the figure (3 keeps the numbers readable at a notebook's width).

    Introduced in chapter 3, "Padding and strides".
    """
    import torch.nn.functional as F

    img = torch.as_tensor(img, dtype=torch.float32)
    kernel = torch.as_tensor(kernel, dtype=torch.float32)
    out_values = F.conv2d(img[None, None], kernel[None, None], padding=pad, stride=stride)[0, 0].numpy()
    # which input cells some window covers: the gradient of a sum of windows (a kernel of ones) is non-zero there
    x = torch.ones_like(img)[None, None].requires_grad_(True)
    F.conv2d(x, torch.ones_like(kernel)[None, None], padding=pad, stride=stride).sum().backward()
    touched = (x.grad[0, 0] != 0).numpy()
    out_values = out_values.astype(float)
    padded = F.pad(img, (pad, pad, pad, pad)).numpy().astype(float)
    is_pad = np.ones(padded.shape, bool)
    is_pad[pad:pad + img.shape[0], pad:pad + img.shape[1]] = False
    oh, ow = out_values.shape
    if positions is None:
        positions = [(i, j) for i in range(oh) for j in range(ow)]
        if len(positions) > 15:
            raise ValueError(f"{len(positions)} positions are too many to draw: pass `positions=`")
    positions = list(positions)
    kh, kw = kernel.shape
    ph, pw = padded.shape
    n_cols = min(max_columns, len(positions))
    n_rows = -(-len(positions) // n_cols)
    fig = new_figure(n_cols * cell * (pw + 1) + 0.3, n_rows * cell * (ph + oh + 3) + 0.8)
    grids = fig.add_gridspec(2 * n_rows, n_cols, height_ratios=[ph + 1, oh + 2] * n_rows)
    done = np.ones((oh, ow), bool)
    vmax = float(np.abs(padded).max())
    for k, (i, j) in enumerate(positions):
        row, col = divmod(k, n_cols)
        top_ax = fig.add_subplot(grids[2 * row, col])
        bottom_ax = fig.add_subplot(grids[2 * row + 1, col])
        _cell_grid(top_ax, padded, shade=is_pad, vmax=vmax)
        unused_rows, unused_cols = np.nonzero(~touched)
        if len(unused_rows):
            top_ax.plot(unused_cols + pad + 0.5, unused_rows + pad + 0.5, linestyle="none", marker="x",
                        markersize=14, markeredgewidth=1.5, color="tab:red", alpha=0.8)[0].set_in_layout(False)
        top_ax.add_patch(Rectangle((j * stride, i * stride), kw, kh, fill=False, edgecolor="tab:orange",
                                   linewidth=2.5))
        if pad:
            top_ax.add_patch(Rectangle((pad, pad), img.shape[1], img.shape[0], fill=False, edgecolor="black",
                                       linewidth=1.2, linestyle="--"))
        top_ax.set_title(f"rows {i * stride}-{i * stride + kh - 1}, cols {j * stride}-{j * stride + kw - 1}",
                         fontsize=9)
        done[i, j] = False
        left = (pw - ow) / 2
        _cell_grid(bottom_ax, out_values, left=left, cmap="Greens", hide=done, fmt="{:.3g}")
        bottom_ax.add_patch(Rectangle((left + j, i), 1, 1, fill=False, edgecolor="tab:orange", linewidth=2.5))
        bottom_ax.set_title(f"out[{i}, {j}] = {out_values[i, j]:.3g}", fontsize=9)
        for ax, height in ((top_ax, ph), (bottom_ax, oh)):
            ax.set_xlim(-0.1, pw + 0.1)
            ax.set_ylim(height + 0.1, -0.1)
            ax.set_aspect("equal")
            ax.axis("off")
    described = (f"{img.shape[0]}x{img.shape[1]} input ({ph}x{pw} with padding {pad}), {kh}x{kw} kernel, "
                 f"stride {stride}: {oh}x{ow} output" if pad else
                 f"{img.shape[0]}x{img.shape[1]} input, {kh}x{kw} kernel, stride {stride}: {oh}x{ow} output")
    if not touched.all():
        described += f"; red crosses: input cells no window covers"
    fig.suptitle(f"{title}\n{described}" if title else described, fontsize=10)
    fig.alt = (f"{title + ': ' if title else ''}{described}. Input values: {describe_map(img, name='input')}. "
               + "; ".join(f"window at rows {i * stride} to {i * stride + kh - 1}, columns {j * stride} to "
                           f"{j * stride + kw - 1} gives out[{i}, {j}] = {out_values[i, j]:.3g}"
                           for i, j in positions) + ".")
    return fig


# ---------------------------------------------------------------------------
# Chapter 6, "Pooling": a pooling window drawn, and what a shift changes


def show_pooling(x, size: int, stride: int, row: int = 0, col: int = 0, mode: str = "max") -> Figure:
    """A small 2-D map and its pooled version, values written in, one window and its result outlined.

    The output is computed by ``F.max_pool2d`` (``mode="max"``) or ``F.avg_pool2d``
    (``mode="avg"``); the window of output cell ``(row, col)`` is outlined on the input.
    """
    import torch.nn.functional as F

    x = torch.as_tensor(x, dtype=torch.float32)
    pool = {"max": F.max_pool2d, "avg": F.avg_pool2d}[mode]
    out = pool(x[None, None], size, stride)[0, 0]
    h, w = x.shape
    oh, ow = out.shape
    fig = new_figure(max(2.4 + 0.5 * (w + ow), 5.5), 1.5 + 0.5 * max(h, oh))
    left, right = fig.subplots(1, 2, width_ratios=[w, max(ow, 1)])
    integers = bool((x == x.round()).all())
    draw_image(left, x, title=f"input {h}x{w}", cmap="Blues")
    annotate_values(left, x, fmt="{:.0f}" if integers else "{:.1f}")
    outline_window(left, row * stride, col * stride, size, size)
    draw_image(right, out, title=f"{mode} pooled {oh}x{ow}", cmap="Blues")
    annotate_values(right, out, fmt="{:.0f}" if bool((out == out.round()).all()) else "{:.2f}")
    outline_window(right, row, col, 1, 1)
    fig.suptitle(f"{mode} pooling, size {size}, stride {stride}: ({h} - {size})//{stride} + 1 = {oh} rows, "
                 f"({w} - {size})//{stride} + 1 = {ow} columns\noutlined: output ({row}, {col}) and its window",
                 fontsize=10)
    fig.alt = (f"{mode} pooling, size {size}, stride {stride}, of a {h}x{w} input into {oh}x{ow}. "
               f"{describe_map(x, signed=False, name='Input')}. {describe_map(out, signed=False, name='Pooled')}. "
               f"Outlined: output ({row}, {col}) = {float(out[row, col]):.3g} and its window, rows {row * stride} to "
               f"{row * stride + size - 1}, columns {col * stride} to {col * stride + size - 1}.")
    return fig


def plot_against_shift(shifts: Sequence[int], curves: Mapping[str, Sequence[float]], *, ylabel: str,
                       title: str, percent: bool = False) -> Figure:
    """One line per named curve against the shift of the input in pixels (chapter 6's translation demos)."""
    fig = new_figure(6.0, 3.4)
    ax = fig.add_subplot()
    scale = 100.0 if percent else 1.0
    for name, values in curves.items():
        ax.plot(list(shifts), [scale * v for v in values], "o-", label=name)
    ax.set_xlabel("shift of the digit (pixels right and down)")
    ax.set_ylabel(ylabel)
    ax.set_xticks(list(shifts))
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    fig.alt = (f"{title}: {ylabel} against the shift of the digit in pixels ({', '.join(map(str, shifts))}). "
               + "; ".join(f"{name}: " + ", ".join(_n(scale * v) for v in values) for name, values in curves.items())
               + ".")
    return fig


# ---------------------------------------------------------------------------
# Chapter 8, "The rest of convolution arithmetic"


def show_grids(maps: Mapping[str, torch.Tensor], *, suptitle: str = "", fmt: str = "{:g}",
               size: float = 2.0) -> Figure:
    """Small maps side by side on one shared colour scale, each value written in its cell.

    For grids whose numbers are the lesson (the stamps of a transposed convolution and their sum):
    one scale, so a stamp of 4 looks twice as bright as a stamp of 2.
    """
    items = list(maps.items())
    arrays = [_array(v) for _, v in items]
    low = min(float(a.min()) for a in arrays)
    high = max(float(a.max()) for a in arrays)
    fig = new_figure(size * len(items) + 0.4, size + 0.7)
    axes = np.atleast_1d(fig.subplots(1, len(items)))
    for ax, (title, _), arr in zip(axes, items, arrays):
        image = ax.imshow(arr, cmap="Blues", vmin=low, vmax=high if high > low else low + 1)
        ax.set_title(f"{title}\n{arr.shape[0]}x{arr.shape[1]}", fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
        for (r, c), v in np.ndenumerate(arr):
            ax.text(c, r, fmt.format(v + 0.0), ha="center", va="center", fontsize=9,
                    color=ink_for(image.to_rgba(v)[:3]))  # the ink that contrasts more with the cell drawn
    if suptitle:
        fig.suptitle(suptitle, fontsize=11)
    fig.alt = (f"{suptitle + '. ' if suptitle else ''}Grids on one colour scale, each value written in its cell: "
               + ". ".join(describe_map(a, signed=False, name=t) for (t, _), a in zip(items, arrays)) + ".")
    return fig
