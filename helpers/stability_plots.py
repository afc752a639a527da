"""Figures of training stability: activation statistics, the "colourful dimension", schedules.

Each function draws one labelled figure from recorded numbers
(:class:`helpers.stability.ActivationStats`, a :class:`helpers.train.History`)
and returns it, like :mod:`helpers.plots`, without touching pyplot.

Introduced in chapter 7, "Colour images and training that stays stable".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .plots import new_figure


def plot_activation_stats(runs: Sequence, title: str = "activation statistics during training"):
    """Mean, standard deviation and near-zero share of every watched layer, per training step.

    One row per run (:class:`helpers.stability.Run`), one line per layer (darker = deeper).
    """
    from .stability import NEAR_ZERO

    fig = new_figure(12.5, 2.9 * len(runs) + 0.4)
    grid = np.atleast_2d(fig.subplots(len(runs), 3, squeeze=False))
    for row, run in zip(grid, runs):
        layers = run.stats.layers
        colours = [(0.15, 0.3 + 0.5 * (1 - i / max(len(layers) - 1, 1)), 0.75) for i in range(len(layers))]
        for stats, colour in zip(layers, colours):
            steps = np.arange(1, len(stats.mean) + 1)
            label = f"ReLU {layers.index(stats) + 1}"
            row[0].plot(steps, stats.mean, color=colour, label=label)
            row[1].plot(steps, stats.std, color=colour, label=label)
            row[2].plot(steps, 100 * np.asarray(stats.near_zero), color=colour, label=label)
        row[0].set_ylabel(f"{run.label}\n\nmean")
        row[1].set_ylabel("standard deviation")
        row[2].set_ylabel(f"% with |a| < {NEAR_ZERO}")
        row[2].set_ylim(0, 101)
        row[0].set_title(f"mean ({run.label}: {100 * run.accuracy:.1f}% accuracy)", fontsize=9)
        row[1].set_title("standard deviation", fontsize=9)
        row[2].set_title("share of near-zero activations", fontsize=9)
        for ax in row:
            ax.set_xlabel("training step (batch)")
        row[2].legend(fontsize=7, loc="lower right")
    fig.suptitle(title, fontsize=11)
    return fig


def plot_colourful(runs: Sequence, layer: int = -1, title: str | None = None):
    """fastai's "colourful dimension": one layer's activation histogram at every step, side by side.

    Each column is one training step, each row one bin of activation values (0 at the bottom);
    the colour is ``log(1 + count)``. A healthy layer shows a smooth band spread over many
    values; a collapsing one, a bright line at the bottom (everything near zero).
    """
    from .stability import HIST_MAX

    fig = new_figure(12.5, 3.2)
    axes = np.atleast_1d(fig.subplots(1, len(runs)))
    for ax, run in zip(axes, runs):
        stats = run.stats.layers[layer]
        hist = run.stats.layers[layer].histograms().numpy()
        shown = ax.imshow(np.log1p(hist.T), origin="lower", aspect="auto", cmap="viridis",
                          extent=(0.5, len(hist) + 0.5, 0, HIST_MAX))
        ax.set_xlabel("training step (batch)")
        ax.set_ylabel("activation value")
        ax.set_title(f"{run.label}: layer {stats.name}, {100 * run.accuracy:.1f}% accuracy", fontsize=9)
        fig.colorbar(shown, ax=ax, label="log(1 + count)")
    position = "last" if layer == -1 else f"#{layer + 1}"
    fig.suptitle(title or f"histogram of the {position} ReLU's activations at every step", fontsize=11)
    return fig


def plot_schedules(schedules: Mapping[str, Sequence[float]], title: str = "learning rate at every step"):
    """Learning rate against training step, one line per schedule."""
    fig = new_figure(8.0, 3.2)
    ax = fig.add_subplot()
    for name, lrs in schedules.items():
        ax.plot(np.arange(len(lrs)), lrs, label=name)
    ax.set_xlabel("training step (batch)")
    ax.set_ylabel("learning rate")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)
    ax.set_title(title, fontsize=11)
    return fig


def plot_runs(histories: Mapping[str, object], title: str = "validation accuracy after each epoch"):
    """Validation accuracy per epoch of several runs, with each run's final value labelled."""
    fig = new_figure(8.0, 3.4)
    ax = fig.add_subplot()
    for name, history in histories.items():
        acc = 100 * np.asarray(history.valid_accuracy)
        epochs = np.arange(1, len(acc) + 1)
        line, = ax.plot(epochs, acc, "o-", label=f"{name}: {acc[-1]:.1f}%")
        ax.annotate(f"{acc[-1]:.1f}", (epochs[-1], acc[-1]), textcoords="offset points", xytext=(6, 0),
                    fontsize=7, color=line.get_color(), va="center")
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation accuracy (%)")
    ax.set_ylim(0, 100)
    ax.set_xticks(np.arange(1, max(len(h.valid_accuracy) for h in histories.values()) + 1))
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title(title, fontsize=11)
    return fig


def plot_batchnorm(before, after, title: str = "one channel before and after batch normalisation"):
    """Histograms of one channel's values before and after ``nn.BatchNorm2d`` (training mode)."""
    fig = new_figure(8.0, 3.0)
    ax = fig.add_subplot()
    b, a = np.asarray(before, dtype=float).ravel(), np.asarray(after, dtype=float).ravel()
    ax.hist(b, bins=50, alpha=0.6, label=f"before: mean {b.mean():.2f}, std {b.std():.2f}")
    ax.hist(a, bins=50, alpha=0.6, label=f"after: mean {a.mean():.2f}, std {a.std():.2f}")
    ax.set_xlabel("value")
    ax.set_ylabel("count")
    ax.legend(fontsize=8)
    ax.set_title(title, fontsize=11)
    return fig
