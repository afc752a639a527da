"""Training that stays stable: all ten digits, a wider CNN, and activation statistics.

* :func:`ten_digits`: the 5,000 offline digits, all ten classes, as training
  (4,000) and validation (1,000) tensors.
* :func:`digit_cnn`: chapter 4's stride-2 ``simple_cnn`` widened for ten
  classes, with or without batch normalisation in each ``conv()``.
* :class:`ActivationStats`: forward hooks that record, at every training step,
  the mean, standard deviation, share of near-zero values and a histogram of
  chosen layers' activations (what ``plot_activation_stats`` and
  ``plot_colourful`` in :mod:`helpers.stability_plots` draw).
* :func:`train_recorded`: :func:`helpers.train.fit` with the statistics
  recorded, the one call the chapter uses to compare recipes.

Why a separate module: :mod:`helpers.train` is the plain loop of chapter 4;
what is added here (hooks, statistics, ten classes) is chapter 7's concern.

Introduced in chapter 7, "Colour images and training that stays stable".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import torch
from torch import nn

#: An activation whose absolute value is below this counts as "near zero".
NEAR_ZERO = 0.01
#: Histograms of activations use this many bins ...
HIST_BINS = 40
#: ... spread evenly over ``[0, HIST_MAX]`` (values above land in the last bin).
HIST_MAX = 4.0


def ten_digits(valid_fraction: float = 0.2):
    """All ten classes of the offline digits: ``(train_x, train_y), (valid_x, valid_y)``.

    4,000 training and 1,000 validation images ``[1, 28, 28]`` in ``[0, 1]``; labels are the digits.
    """
    from .data import as_tensors, load_digits, split

    x, y = as_tensors(load_digits())
    return split(x, y, valid_fraction)


def digit_cnn(channels: tuple[int, ...] = (8, 16, 32, 64), bn: bool = False) -> nn.Sequential:
    """``simple_cnn`` for ten classes: stride-2 ``conv()`` layers 28 -> 14 -> 7 -> 4 -> 2 -> 1, then 10 scores.

    Args:
        channels: filters of the hidden layers (chapter 4 used ``(4, 8, 16, 32)`` for two classes).
        bn: put ``nn.BatchNorm2d`` after each hidden convolution (before its ReLU).
    """
    from .models import conv

    widths = (1, *channels)
    layers = [conv(ni, nf, bn=bn) for ni, nf in zip(widths[:-1], widths[1:])]
    return nn.Sequential(*layers, conv(widths[-1], 10, act=False), nn.Flatten())


def relu_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """``(name, module)`` of every ``nn.ReLU`` inside ``model``, nested blocks included, in order."""
    return [(name, m) for name, m in model.named_modules() if isinstance(m, nn.ReLU)]


@dataclass
class LayerStats:
    """What one layer's activations looked like at each recorded training step.

    Attributes:
        name: the layer's dotted name inside the model, e.g. ``"2.1"``.
        mean, std: mean and standard deviation of all its activations in the batch, per step.
        near_zero: share (0 to 1) of activations with ``|a| < NEAR_ZERO``, per step.
        hist: one histogram per step (``HIST_BINS`` counts over ``[0, HIST_MAX]``).
    """

    name: str
    mean: list[float] = field(default_factory=list)
    std: list[float] = field(default_factory=list)
    near_zero: list[float] = field(default_factory=list)
    hist: list[torch.Tensor] = field(default_factory=list)

    def histograms(self) -> torch.Tensor:
        """All histograms as one tensor ``[steps, HIST_BINS]``."""
        return torch.stack(self.hist) if self.hist else torch.zeros(0, HIST_BINS)


class ActivationStats:
    """Record activation statistics of ``layers`` at every training step, with forward hooks.

    Use it as a context manager, so the hooks are removed however training ends::

        with ActivationStats(model) as stats:
            fit(model, train, valid, epochs=1)
        stats.layers[0].near_zero   # one number per training step

    Only forward passes in training mode are recorded (one per step); the
    validation passes ``fit`` makes in evaluation mode are skipped.

    Args:
        model: the model to watch.
        layers: ``(name, module)`` pairs; by default every ``nn.ReLU`` (:func:`relu_layers`).
    """

    def __init__(self, model: nn.Module, layers: list[tuple[str, nn.Module]] | None = None) -> None:
        self.model = model
        chosen = relu_layers(model) if layers is None else list(layers)
        if not chosen:
            raise ValueError("the model has no nn.ReLU to watch: pass layers=[(name, module), ...]")
        self.layers = [LayerStats(name) for name, _ in chosen]
        self._by_module = {m: s for (_, m), s in zip(chosen, self.layers)}
        self._hooks = None

    def _record(self, module: nn.Module, inputs, output: torch.Tensor) -> None:
        if not module.training:
            return
        stats = self._by_module[module]
        a = output.detach().float()
        stats.mean.append(float(a.mean()))
        stats.std.append(float(a.std()))
        stats.near_zero.append(float((a.abs() < NEAR_ZERO).float().mean()))
        stats.hist.append(torch.histc(a.clamp(0, HIST_MAX), HIST_BINS, 0, HIST_MAX))

    def __enter__(self) -> "ActivationStats":
        from .hooks import forward_hooks

        self._hooks = forward_hooks(self._by_module, self._record)
        self._hooks.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.remove()

    def remove(self) -> None:
        """Remove the hooks (the context manager does it for you)."""
        if self._hooks is not None:
            hooks, self._hooks = self._hooks, None
            hooks.__exit__(None, None, None)

    @property
    def steps(self) -> int:
        return len(self.layers[0].mean)


@dataclass
class Run:
    """One recorded training run: the model, its :class:`~helpers.train.History` and its statistics."""

    label: str
    model: nn.Module
    history: object
    stats: ActivationStats

    @property
    def accuracy(self) -> float:
        return float(self.history.valid_accuracy[-1])


def train_recorded(label: str, model: nn.Module, *, epochs: int = 1, lr: float = 0.01, batch_size: int = 64,
                   schedule: str = "constant", seed: int = 0, data=None, progress: bool = False) -> Run:
    """Train ``model`` on the ten digits with :func:`helpers.train.fit`, recording its ReLUs' statistics."""
    from .train import fit

    train, valid = data if data is not None else ten_digits()
    with ActivationStats(model) as stats:
        history = fit(model, train, valid, epochs=epochs, lr=lr, batch_size=batch_size, seed=seed,
                      schedule=schedule, progress=progress)
    return Run(label, model, history, stats)


#: How chapter 7's ``stable_cnn`` check trains each fresh copy: ``fit``'s arguments besides the data and the random seed.
CHECK_RECIPE = {"epochs": 2, "lr": 0.004, "batch_size": 128, "schedule": "onecycle"}


def trained_copy(make_model, seed: int):
    """``(model, history)``: ``make_model()`` built after ``torch.manual_seed(seed)`` and trained on the ten
    digits as the ``stable_cnn`` check trains it (:data:`CHECK_RECIPE`).

    Remembered per function object and seed, so the chapter's cell after the check shows the check's own
    training instead of running it again; a redefined function is a new object and is trained anew.
    """
    return _trained_copy(make_model, seed)


@lru_cache(maxsize=8)
def _trained_copy(make_model, seed: int):
    from .train import fit

    torch.manual_seed(seed)
    model = make_model()
    history = fit(model, *ten_digits(), seed=seed, progress=False, **CHECK_RECIPE)
    return model, history


#: The explorer's default runs: (label, batch norm, learning rate), one epoch each, as chapter 7 trains them.
EXPLORER_RUNS = (("lr 0.01", False, 0.01), ("lr 0.06", False, 0.06), ("batch norm, lr 0.06", True, 0.06))


@lru_cache(maxsize=2)
def _explorer_runs(seed: int) -> tuple[Run, ...]:
    runs = []
    data = ten_digits()
    for label, bn, lr in EXPLORER_RUNS:
        torch.manual_seed(seed)
        runs.append(train_recorded(label, digit_cnn(bn=bn), epochs=1, lr=lr, seed=seed, data=data))
    return tuple(runs)


def explorer_runs(seed: int = 0) -> tuple[Run, ...]:
    """The explorer's three recorded runs (:data:`EXPLORER_RUNS`), trained once per session (seconds)."""
    return _explorer_runs(seed)
