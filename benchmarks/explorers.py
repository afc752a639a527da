"""How long an explorer takes to redraw after a slider move (Python time), for every explorer.

Each explorer is built once, then its controls are moved the way a learner moves them
(mostly the position sliders, sometimes a menu); every move is timed from setting the
control's value to the redrawn view (state computed, pictures encoded, HTML built). The
budget is 50 ms at the 95th percentile. It also checks that no matplotlib figure is left
open after all the moves.

    .venv/bin/python -m benchmarks.explorers
"""

from __future__ import annotations

import itertools
import statistics
import time

from .common import one_thread, save, table

MOVES = 120
BUDGET_MS = 50.0


def _moves(name: str, explorer) -> list[tuple[str, object]]:
    """A learner's session: ``(control, value)`` pairs, ``MOVES`` long."""
    plans = {
        "kernel_walk": [("col", c) for c in range(1, 27)] + [("row", r) for r in range(1, 27)]
        + [("kernel", k) for k in ("blur", "sharpen", "left edge", "top edge")]
        + [("digit", d) for d in (3, 7)],
        "channels": [("out", o) for o in (0, 1, 2, 1)] + [("digit", d) for d in (7, 3)],
        "padding_stride": [("position", p) for p in range(16)] + [("stride", s) for s in (1, 2, 3, 2)]
        + [("pad", p) for p in (0, 1, 2, 1)] + [("ks", k) for k in (2, 3, 4, 3)]
        + [("n", n) for n in (8, 10, 14, 7)],
        "feature_maps": [("layer", layer) for layer in range(len(explorer.controls["layer"].options))]
        + [("digit", d) for d in (3, 7)] if name == "feature_maps" else [],
        "receptive_field": [("col", c) for c in range(7)] + [("row", r) for r in range(7)]
        + [("layer", layer) for layer in (0, 2, 1)],
        "pooling": [("position", p) for p in range(0, 169, 7)] + [("mode", m) for m in ("average", "max")]
        + [("size", s) for s in (3, 2)] + [("stride", s) for s in (1, 2)],
        "activation_histograms": [("step", s) for s in range(2, 64, 3)] + [("layer", n) for n in (1, 2, 3, 4)] + [("run", r) for r in ("lr 0.06", "batch norm, lr 0.06", "lr 0.01")],
        "arithmetic": [("cell", c) for c in range(16)] + [("dilation", d) for d in (2, 3, 1)]
        + [("n", n) for n in (12, 9, 7)] + [("stride", s) for s in (1, 3, 2)] + [("pad", p) for p in (0, 3, 1)] + [("ks", k) for k in (5, 2, 3)],
    }
    return list(itertools.islice(itertools.cycle(plans[name]), MOVES))


def measure() -> dict[str, dict]:
    import matplotlib.pyplot as plt

    from helpers import widgets
    from helpers.data import load_digits
    from helpers.explorers import default_cnn

    load_digits()  # the one-off parse is not a redraw
    try:  # the model chapter 4 trains, as the learner explores it
        from helpers.models import trained_simple_cnn

        model = trained_simple_cnn()
    except ImportError:
        model = default_cnn()
    builders = {
        "kernel_walk": widgets.kernel_walk,
        "channels": widgets.channels,
        "padding_stride": widgets.padding_stride,
        "feature_maps": lambda: widgets.feature_maps(model),
        "receptive_field": lambda: widgets.receptive_field(model),
        "pooling": widgets.pooling,
        "activation_histograms": widgets.activation_histograms,
        "arithmetic": widgets.arithmetic,
    }
    figures_before = len(plt.get_fignums())
    results = {}
    for name, build in builders.items():
        start = time.perf_counter()
        explorer = build()
        built_ms = (time.perf_counter() - start) * 1000
        times = []
        changed = 0
        for control, value in _moves(name, explorer):
            before = explorer.view.value
            start = time.perf_counter()
            if explorer.controls[control].value == value:
                explorer.redraw()  # the same value again: time a redraw all the same
            else:
                explorer.controls[control].value = value  # the observer redraws
            times.append((time.perf_counter() - start) * 1000)
            changed += explorer.view.value != before
        times.sort()
        results[name] = {
            "build_ms": round(built_ms, 2),
            "moves": len(times),
            "moves_that_changed_the_view": changed,
            "median_ms": round(statistics.median(times), 2),
            "p95_ms": round(times[int(0.95 * (len(times) - 1))], 2),
            "max_ms": round(times[-1], 2),
        }
    results_open = len(plt.get_fignums()) - figures_before
    return {"explorers": results, "figures_left_open": results_open, "budget_p95_ms": BUDGET_MS}


def main() -> None:
    one_thread()
    figures = measure()
    rows = [[name, r["moves"], r["median_ms"], r["p95_ms"], r["max_ms"], r["build_ms"],
             "yes" if r["p95_ms"] < BUDGET_MS else "NO"]
            for name, r in figures["explorers"].items()]
    print(table(["explorer", "moves", "median ms", "p95 ms", "max ms", "build ms", f"p95 < {BUDGET_MS:g} ms"], rows))
    print(f"matplotlib figures left open after all moves: {figures['figures_left_open']}")
    print(f"wrote {save('explorers', figures)}")


if __name__ == "__main__":
    main()
