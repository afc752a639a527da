"""Figures of training stability: activation statistics, the "colourful dimension", schedules.

Each function draws one labelled figure from recorded numbers
(:class:`helpers.stability.ActivationStats`, a :class:`helpers.train.History`)
and returns it, like :mod:`helpers.plots`, without touching pyplot.

Introduced in chapter 7, "Colour images and training that stays stable".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .colours import CATEGORICAL, CATEGORICAL_STYLES
from .plots import figure_text, new_figure


def _two(x: float) -> str:
    """Two decimals, and never "-0.00"."""
    text = f"{x:.2f}"
    return "0.00" if text == "-0.00" else text


def plot_activation_stats(runs: Sequence, title: str = "activation statistics during training"):
    """Mean, standard deviation and near-zero share of every watched layer, per training step.

    One row per run (:class:`helpers.stability.Run`), one line per layer, each layer with its own
    colour and line style (:data:`helpers.colours.CATEGORICAL`), so the layers differ without colour too.
    """
    from .stability import NEAR_ZERO

    fig = new_figure(12.5, 2.9 * len(runs) + 0.4)
    grid = np.atleast_2d(fig.subplots(len(runs), 3, squeeze=False))
    for row, run in zip(grid, runs):
        layers = run.stats.layers
        for i, stats in enumerate(layers):
            steps = np.arange(1, len(stats.mean) + 1)
            look = dict(color=CATEGORICAL[i % len(CATEGORICAL)], linestyle=CATEGORICAL_STYLES[i % len(CATEGORICAL)],
                        linewidth=1.6, label=f"ReLU {i + 1}")
            row[0].plot(steps, stats.mean, **look)
            row[1].plot(steps, stats.std, **look)
            row[2].plot(steps, 100 * np.asarray(stats.near_zero), **look)
        row[0].set_ylabel(f"{run.label}\n\nmean")
        row[1].set_ylabel("standard deviation")
        row[2].set_ylabel(f"% with |a| < {NEAR_ZERO}")
        row[2].set_ylim(0, 101)
        row[0].set_title(f"mean ({run.label}: {100 * run.accuracy:.1f}% accuracy)", fontsize=9)
        row[1].set_title("standard deviation", fontsize=9)
        row[2].set_title("share of near-zero activations", fontsize=9)
        for ax in row:
            ax.set_xlabel("training step (batch)")
        row[2].legend(fontsize=9, loc="lower right", handlelength=3.2)
    fig.suptitle(title, fontsize=11)
    fig.alt = f"{title}. " + " ".join(
        f"Run {run.label}, {100 * run.accuracy:.1f}% accuracy: " + "; ".join(
            f"ReLU {i + 1} mean {_two(stats.mean[0])} at the first step and {_two(stats.mean[-1])} at the last, "
            f"standard deviation {_two(stats.std[0])} then {_two(stats.std[-1])}, near zero "
            f"{100 * stats.near_zero[0]:.0f}% then {100 * stats.near_zero[-1]:.0f}%"
            for i, stats in enumerate(run.stats.layers)) + "." for run in runs)
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
    fig.alt = (f"{figure_text(fig)} Bright colours are many activations with that value at that step; "
               "a bright line along the bottom means most activations are near zero. " + " ".join(
                   f"{run.label}: {100 * run.stats.layers[layer].near_zero[0]:.0f}% near zero at the first step, "
                   f"{100 * run.stats.layers[layer].near_zero[-1]:.0f}% at the last." for run in runs))
    return fig


def plot_schedules(schedules: Mapping[str, Sequence[float]], title: str = "learning rate at every step"):
    """Learning rate against training step, one line per schedule."""
    fig = new_figure(8.0, 3.2)
    ax = fig.add_subplot()
    for (name, lrs), colour, style in zip(schedules.items(), CATEGORICAL * 3, CATEGORICAL_STYLES * 3):
        ax.plot(np.arange(len(lrs)), lrs, label=name, color=colour, linestyle=style, linewidth=1.8)
    ax.set_xlabel("training step (batch)")
    ax.set_ylabel("learning rate")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)
    ax.set_title(title, fontsize=11)
    fig.alt = f"{title}: learning rate against training step. " + " ".join(
        f"{name}: {len(lrs)} steps, from {float(lrs[0]):.3g} to a peak of {float(max(lrs)):.3g} at step "
        f"{int(np.argmax(lrs))}, ending at {float(lrs[-1]):.3g}." for name, lrs in schedules.items())
    return fig


#: The look of each kind of run chapter 7 compares, defined once: whichever figure draws it and in whatever order,
#: a run with batch norm (the chapter's runs and its stable network) is blue with squares and a solid line, a
#: run without (the baseline ``digit_cnn``) orange with circles and dashes. The kind is read from the run's name
#: (:func:`run_kind`); other runs take the remaining colours in order.
RUN_LOOKS = {"batch norm": dict(color=CATEGORICAL[1], marker="s", linestyle="solid"),
             "no batch norm": dict(color=CATEGORICAL[0], marker="o", linestyle="dashed")}
_OTHER_LOOKS = [dict(color=c, marker=m, linestyle=s) for c, m, s in
                zip(CATEGORICAL[2:], "D^v<", CATEGORICAL_STYLES[2:])]


def run_kind(name: str) -> str | None:
    """Which of :data:`RUN_LOOKS` a run's name says it is: "no batch norm" (or "without batch norm"),
    "batch norm" (or the chapter's ``stable_cnn``), or None."""
    lowered = name.lower()
    if "no batch norm" in lowered or "without batch norm" in lowered:
        return "no batch norm"
    if "batch norm" in lowered or "stable_cnn" in lowered:
        return "batch norm"
    return None


def run_looks(names: Sequence[str]) -> dict[str, dict]:
    """Colour, marker and line style of each run: its kind's from :data:`RUN_LOOKS`, else (no kind, or a second
    run of a kind already in the figure, which must not look the same) the next of the other looks."""
    others, taken, looks = iter(_OTHER_LOOKS * 3), set(), {}
    for name in names:
        kind = run_kind(name)
        looks[name] = dict(RUN_LOOKS[kind]) if kind and kind not in taken else dict(next(others))
        taken.add(kind)
    return looks


def plot_runs(histories: Mapping[str, object], title: str = "validation accuracy after each epoch"):
    """Validation accuracy per epoch of several runs, with each run's final value labelled; each run drawn
    in the look of its kind (:func:`run_looks`), the same in every figure."""
    fig = new_figure(8.0, 3.4)
    ax = fig.add_subplot()
    looks = run_looks(list(histories))
    for name, history in histories.items():
        acc = 100 * np.asarray(history.valid_accuracy)
        epochs = np.arange(1, len(acc) + 1)
        line, = ax.plot(epochs, acc, **looks[name], label=f"{name}: {acc[-1]:.1f}%")
        ax.annotate(f"{acc[-1]:.1f}", (epochs[-1], acc[-1]), textcoords="offset points", xytext=(6, 0),
                    fontsize=7, color=line.get_color(), va="center")
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation accuracy (%)")
    ax.set_ylim(0, 100)
    ax.set_xticks(np.arange(1, max(len(h.valid_accuracy) for h in histories.values()) + 1))
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title(title, fontsize=11)
    fig.alt = f"{title}: " + "; ".join(
        f"{name}: " + ", ".join(f"{100 * a:.1f}%" for a in history.valid_accuracy)
        for name, history in histories.items()) + " (validation accuracy after each epoch)."
    return fig


def plot_batchnorm(before, after, title: str = "one channel before and after batch normalisation"):
    """Histograms of one channel's values before and after ``nn.BatchNorm2d`` (training mode)."""
    fig = new_figure(8.0, 3.0)
    ax = fig.add_subplot()
    b, a = np.asarray(before, dtype=float).ravel(), np.asarray(after, dtype=float).ravel()
    before_label = f"before: mean {_two(b.mean())}, std {_two(b.std())}"
    after_label = f"after: mean {_two(a.mean())}, std {_two(a.std())}"
    ax.hist(b, bins=50, alpha=0.6, color=CATEGORICAL[0], label=before_label)
    ax.hist(a, bins=50, alpha=0.6, color=CATEGORICAL[1], hatch="//", label=after_label)
    ax.set_xlabel("value")
    ax.set_ylabel("count")
    ax.legend(fontsize=8)
    ax.set_title(title, fontsize=11)
    fig.alt = (f"{title}: histograms of {b.size} values; {before_label}, from {_two(b.min())} to {_two(b.max())}; "
               f"{after_label}, from {_two(a.min())} to {_two(a.max())}.")
    return fig
