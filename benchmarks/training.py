"""Training chapter 4's ``simple_cnn`` with the course's helper against a plain PyTorch loop.

Both train the same model (same initial weights), on the same offline 3s and 7s, with the same
optimiser, batch size, epochs and batch order, in one run; each is run three times, alternating, and the
faster time of each counts. Target: the course's ``helpers.train.fit`` no more than 10% slower.

    .venv/bin/python -m benchmarks.training
"""

from __future__ import annotations

import copy
import io
import time

from benchmarks.common import one_thread, save, table

EPOCHS, LR, BATCH, SEED = 8, 1e-2, 64, 0


def plain_loop(model, train, valid):
    """The loop a PyTorch user writes by hand: Adam, cross-entropy, shuffled mini-batches."""
    import torch
    import torch.nn.functional as F

    x, y = train
    generator = torch.Generator().manual_seed(SEED)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    n_batches = (len(y) + BATCH - 1) // BATCH
    model.train()
    for _ in range(EPOCHS):
        order = torch.randperm(len(y), generator=generator)
        for b in range(n_batches):
            idx = order[b * BATCH:(b + 1) * BATCH]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            model.eval()
            (model(valid[0]).argmax(1) == valid[1]).float().mean()
            model.train()
    model.eval()
    with torch.no_grad():
        return float((model(valid[0]).argmax(1) == valid[1]).float().mean())


def course_fit(model, train, valid):
    from helpers.train import accuracy, fit

    fit(model, train, valid, epochs=EPOCHS, lr=LR, batch_size=BATCH, seed=SEED, stream=io.StringIO())
    return accuracy(model, *valid)


def main() -> dict:
    one_thread()
    import torch

    from helpers.models import simple_cnn
    from helpers.train import three_vs_seven

    train, valid = three_vs_seven()
    torch.manual_seed(SEED)
    initial = simple_cnn()
    runs: dict[str, list[tuple[float, float]]] = {"plain PyTorch loop": [], "helpers.train.fit": []}
    for _ in range(3):
        for name, fn in [("plain PyTorch loop", plain_loop), ("helpers.train.fit", course_fit)]:
            model = copy.deepcopy(initial)
            start = time.perf_counter()
            acc = fn(model, train, valid)
            runs[name].append((time.perf_counter() - start, acc))
    best = {name: min(r[0] for r in rs) for name, rs in runs.items()}
    acc = {name: rs[-1][1] for name, rs in runs.items()}
    base = best["plain PyTorch loop"]
    rows = [[name, round(best[name], 2), f"{acc[name]:.1%}", round(best[name] / base, 3)] for name in runs]
    print(f"simple_cnn on the offline 3s vs 7s ({len(train[1])} training, {len(valid[1])} validation images), "
          f"{EPOCHS} epochs, batch {BATCH}, one thread")
    print(table(["loop", "seconds", "valid accuracy", "x plain"], rows))
    overhead = best["helpers.train.fit"] / base - 1
    print(f"\nhelpers.train.fit overhead: {overhead:+.1%} (target: at most +10%)")
    result = {"epochs": EPOCHS, "seconds": {k: round(v, 3) for k, v in best.items()},
              "valid_accuracy": {k: round(v, 4) for k, v in acc.items()}, "overhead": round(overhead, 4),
              "target_overhead": 0.10}
    print(f"written to {save('training', result)}")
    return result


if __name__ == "__main__":
    main()
