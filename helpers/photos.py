"""A real colour photo, offline, and the figures that split it into channels.

scikit-learn (installed with ``mlxtend``) ships two real photographs, 427x640
pixels in RGB, read by ``sklearn.datasets.load_sample_image``: no download.
:func:`photo` returns one as a NumPy ``uint8`` array of shape
``(height, width, 3)``, the layout image files and most imaging libraries use
(channels last, "HWC"); PyTorch layers want channels first (``[3, H, W]``),
which is chapter 7's first exercise.

The figures (:func:`show_channels`, :func:`show_colour_conv`) take plain
arrays or tensors and return a figure, like everything in :mod:`helpers.plots`.

Introduced in chapter 7, "Colour images and training that stays stable".
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache

import numpy as np

#: The photos scikit-learn ships, by short name.
PHOTOS = {"flower": "flower.jpg", "china": "china.jpg"}
#: How much of red, green and blue make the brightness a grayscale image keeps (ITU-R BT.601).
LUMA = (0.299, 0.587, 0.114)
#: Names of the three channels of an RGB image, in order.
CHANNEL_NAMES = ("red", "green", "blue")

#: The exercise being checked whose answer :func:`chw` is, if any (see :func:`answering`).
_ANSWERING: ContextVar[str | None] = ContextVar("answering", default=None)


@contextmanager
def answering(exercise: str) -> Iterator[None]:
    """While a learner's ``exercise`` is checked, :func:`chw` (the course's own answer to it) refuses to run.

    Without this, ``def to_channels(img): return chw(img)`` would pass the check it is meant to be written
    for; the refusal is an error the check names, inside the call and any helper it makes.
    """
    token = _ANSWERING.set(exercise)
    try:
        yield
    finally:
        _ANSWERING.reset(token)


@lru_cache(maxsize=4)
def _load(name: str) -> np.ndarray:
    """The photo's pixels, read from scikit-learn's package folder.

    Importing ``sklearn.datasets`` (what ``load_sample_image`` needs) takes seconds; reading the JPEG
    it would read, with Pillow as it does, takes milliseconds and gives the same array.
    """
    import importlib.util
    from pathlib import Path

    from PIL import Image

    if name not in PHOTOS:
        raise ValueError(f"no photo {name!r}; there are {', '.join(PHOTOS)}")
    spec = importlib.util.find_spec("sklearn")
    path = Path(spec.origin).parent / "datasets" / "images" / PHOTOS[name] if spec and spec.origin else None
    if path is not None and path.is_file():
        with Image.open(path) as file:
            image = np.array(file.convert("RGB"))
    else:  # a layout we do not know: let scikit-learn find it
        from sklearn.datasets import load_sample_image

        image = load_sample_image(PHOTOS[name])
    image.setflags(write=False)
    return image


def photo(name: str = "flower", step: int = 1) -> np.ndarray:
    """A real colour photo as a ``uint8`` array of shape ``(height, width, 3)`` (channels last).

    Args:
        name: ``"flower"`` or ``"china"``.
        step: keep every ``step``-th row and column (``step=4`` gives 107x160), for speed.

    Returns a new array each time, so changing it changes nothing for the next call.
    """
    if step < 1:
        raise ValueError(f"step must be at least 1, not {step!r}")
    return np.array(_load(name)[::step, ::step], order="C", copy=True)


def chw(image: np.ndarray):
    """Channels first, as a float tensor ``[3, H, W]`` in ``[0, 1]``: what the figures draw from.

    (Chapter 7 asks you to write this yourself as ``to_channels``.)
    """
    import torch

    if _ANSWERING.get() is not None:
        raise RuntimeError(f"helpers.photos.chw is the course's own {_ANSWERING.get()}: it cannot be its answer")
    return torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0).permute(2, 0, 1).contiguous()


def grayscale(image: np.ndarray):
    """Brightness ``0.299 R + 0.587 G + 0.114 B`` as a float tensor ``[H, W]`` in ``[0, 1]``."""
    x = chw(image)
    return sum(w * x[c] for c, w in enumerate(LUMA))


# ---------------------------------------------------------------------------
# figures


def show_channels(image: np.ndarray, title: str = "a colour photo is three maps of numbers"):
    """The photo, then its red, green and blue channels, each drawn in its own colour with a colour bar.

    Each channel goes from black (0) to its full colour (1), as a screen adds it: a high value is bright,
    as the prose says (matplotlib's "Reds" and the like would draw it dark).
    """
    from matplotlib.colors import LinearSegmentedColormap

    from .plots import describe_map, new_figure

    x = chw(image).numpy()
    fig = new_figure(12.5, 3.0)
    axes = fig.subplots(1, 4)
    axes[0].imshow(np.asarray(image))
    axes[0].set_title(f"the photo, {image.shape[0]}x{image.shape[1]}x3", fontsize=9)
    for ax, values, name, full in zip(axes[1:], x, CHANNEL_NAMES, ("#ff0000", "#00ff00", "#0000ff")):
        cmap = LinearSegmentedColormap.from_list(f"black to {name}", ["#000000", full])
        shown = ax.imshow(values, cmap=cmap, vmin=0, vmax=1)
        ax.set_title(f"{name} channel (mean {values.mean():.2f})", fontsize=9)
        fig.colorbar(shown, ax=ax, shrink=0.75, label="intensity (0 to 1)")
    for ax in axes:
        ax.set_xlabel("column")
        ax.set_ylabel("row")
    fig.suptitle(title, fontsize=11)
    fig.alt = (f"{title}: a {image.shape[0]}x{image.shape[1]} colour photo and its three channels, each drawn from "
               "black (0) to its full colour (1). " + ". ".join(
                   describe_map(values, signed=False, name=f"{name} channel, mean {values.mean():.2f}")
                   for values, name in zip(x, CHANNEL_NAMES)) + ".")
    return fig


def show_colour_conv(x, weight, title: str = "one output map = the sum of one kernel per channel"):
    """How one output channel of a colour convolution is made.

    ``x`` is ``[3, H, W]``, ``weight`` is ``[3, k, k]`` (one output channel's kernels). Top row: the
    three input channels and their kernels; bottom row: each channel convolved with its own kernel,
    and their sum, which is what ``nn.Conv2d(3, 1, k)`` outputs (no bias).
    """
    import torch
    import torch.nn.functional as F

    from .plots import SIGNED_CMAP, describe_map, new_figure

    x = torch.as_tensor(x, dtype=torch.float32)
    weight = torch.as_tensor(weight, dtype=torch.float32)
    parts = [F.conv2d(x[c][None, None], weight[c][None, None])[0, 0] for c in range(3)]
    total = F.conv2d(x[None], weight[None])[0, 0]
    fig = new_figure(12.5, 5.6)
    grid = fig.subplots(2, 4)
    limit = float(max(p.abs().max() for p in [*parts, total])) or 1.0
    klimit = float(weight.abs().max()) or 1.0
    for c, name in enumerate(CHANNEL_NAMES):
        grid[0, c].imshow(x[c].numpy(), cmap="gray", vmin=0, vmax=1)
        grid[0, c].set_title(f"{name} channel", fontsize=9)
        grid[1, c].imshow(parts[c].numpy(), cmap=SIGNED_CMAP, vmin=-limit, vmax=limit)
        grid[1, c].set_title(f"{name} * its kernel", fontsize=9)
    grid[0, 3].imshow(weight.permute(1, 0, 2).reshape(weight.shape[1], -1).numpy(), cmap=SIGNED_CMAP,
                      vmin=-klimit, vmax=klimit)
    grid[0, 3].set_title("the three kernels (red | green | blue)", fontsize=9)
    for c in range(1, 3):
        grid[0, 3].axvline(c * weight.shape[2] - 0.5, color="black", linewidth=1)
    shown = grid[1, 3].imshow(total.numpy(), cmap=SIGNED_CMAP, vmin=-limit, vmax=limit)
    grid[1, 3].set_title("sum = the output map", fontsize=9)
    fig.colorbar(shown, ax=grid[1, :].tolist(), shrink=0.8, label="response (blue < 0 < red)")
    for ax in grid.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title, fontsize=11)
    fig.alt = (f"{title}: the three channels of a {x.shape[1]}x{x.shape[2]} photo (gray, bright is high), each "
               "convolved with its own kernel (blue negative, red positive), and their sum. " + ". ".join(
                   [describe_map(weight[c], signed=True, name=f"{name} kernel") for c, name in enumerate(CHANNEL_NAMES)]
                   + [describe_map(parts[c], signed=True, name=f"{name} part") for c, name in enumerate(CHANNEL_NAMES)]
                   + [describe_map(total, signed=True, name="sum, the output map")]) + ".")
    return fig


def show_rgb_filters(weight, title: str = "first-layer filters as colour pictures", columns: int = 8):
    """Filters ``[out, 3, k, k]`` drawn as small RGB pictures (each scaled to fill 0 to 1)."""
    import torch

    from .plots import new_figure

    w = torch.as_tensor(weight).detach().float()
    n = w.shape[0]
    rows = -(-n // columns)
    fig = new_figure(1.3 * columns, 1.4 * rows + 0.5)
    axes = np.atleast_1d(fig.subplots(rows, columns)).reshape(-1)
    for i, ax in enumerate(axes):
        ax.set_xticks([])
        ax.set_yticks([])
        if i >= n:
            ax.axis("off")
            continue
        f = w[i]
        f = (f - f.min()) / (f.max() - f.min() + 1e-12)
        ax.imshow(f.permute(1, 2, 0).numpy())
        ax.set_title(f"filter {i}", fontsize=8)
    fig.suptitle(title, fontsize=11)
    k = w.shape[-1]
    fig.alt = (f"{title}: {n} filters of {k}x{k} pixels, each drawn as a colour picture whose red, green and blue "
               "come from its three channel kernels (each filter scaled to fill 0 to 1). Per filter, the mean weight "
               "of each channel: " + "; ".join(f"filter {i}: {describe([float(v) for v in w[i].mean(dim=(1, 2))])}"
                                                for i in range(n)) + ".")
    return fig


def describe(values: Sequence[float]) -> str:
    """``"R 0.57, G 0.45, B 0.17"``: three per-channel numbers in one line."""
    return ", ".join(f"{name[0].upper()} {v:.2f}" for name, v in zip(CHANNEL_NAMES, values))
