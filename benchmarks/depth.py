"""Chapter 9's depth experiment over ten seeds: a plain 20-convolution CNN against the same depth with shortcuts.

Prints, for each network, the final training loss (mean over the last quarter of the steps) per seed and
its minimum, mean, maximum and standard deviation, then how many seeds the residual net ended below the
plain one. The chapter's prose states these figures; ``grader/catalogue/ch09.py`` holds them as claims.

    .venv/bin/python -m benchmarks.depth
"""

from __future__ import annotations

import statistics

from benchmarks.common import one_thread, save, table


def main() -> None:
    one_thread()
    from helpers.deep import SEEDS, seed_study

    study = seed_study(SEEDS)
    rows, figures = [], {}
    for name, losses in study.items():
        figures[name] = {"losses": list(losses), "min": min(losses), "mean": statistics.mean(losses),
                         "max": max(losses), "sd": statistics.stdev(losses)}
        f = figures[name]
        rows.append([name, f"{f['min']:.3f}", f"{f['mean']:.3f}", f"{f['max']:.3f}", f"{f['sd']:.3f}",
                     " ".join(f"{v:.2f}" for v in losses)])
    print(table(["net", "min", "mean", "max", "sd", "final training loss per seed"], rows))
    below = sum(r < p for r, p in zip(study["residual"], study["plain"]))
    print(f"residual below plain on {below} of {len(SEEDS)} seeds")
    figures["residual_below_plain"] = below
    print(f"written to {save('depth', figures)}")


if __name__ == "__main__":
    main()
