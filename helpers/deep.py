"""Chapter 9's depth experiment: a plain 20-layer CNN against the same depth with residual connections.

Both networks have the same 20 convolutions (a stride-2 stem, 18 hidden 3x3 layers, a 1x1 head) with
PyTorch's default initialisation and no batch norm, so that the one difference is the shortcut: the plain
net computes ``h = relu(conv(h))`` eighteen times, the residual net ``h = relu(h + conv(relu(conv(h))))``
nine times. :func:`training_loss` trains one on a fixed slice of the digits with a given seed and returns
its mean training loss over the last quarter of the steps: the quantity the chapter's claim compares over
seeds (training loss, so that the difference cannot be overfitting).

The notebook, the catalogue's claim and the benchmark all call these functions: the experiment is written once.
"""

from __future__ import annotations

from functools import lru_cache

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["plain_net", "residual_net", "training_loss", "seed_study", "SEEDS", "TRAIN_IMAGES", "STEPS", "WIDTH"]

#: Channels of every hidden layer, training images, steps of Adam, batch size and learning rate.
WIDTH, TRAIN_IMAGES, STEPS, BATCH, LR = 8, 1000, 120, 32, 3e-3
#: Hidden 3x3 layers after the stem: with the stem and the head, 20 convolutions.
HIDDEN = 18


class _Residual(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(width, width, 3, padding=1)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1)

    def forward(self, x):
        return F.relu(x + self.conv2(F.relu(self.conv1(x))))


def _stem(width: int) -> list[nn.Module]:
    return [nn.Conv2d(1, width, 3, stride=2, padding=1), nn.ReLU()]


def _head(width: int) -> list[nn.Module]:
    return [nn.Conv2d(width, 10, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten()]


def plain_net(width: int = WIDTH) -> nn.Sequential:
    """20 convolutions in a row, each hidden one followed by a ReLU."""
    hidden = []
    for _ in range(HIDDEN):
        hidden += [nn.Conv2d(width, width, 3, padding=1), nn.ReLU()]
    return nn.Sequential(*_stem(width), *hidden, *_head(width))


def residual_net(width: int = WIDTH) -> nn.Sequential:
    """The same 20 convolutions, the hidden ones paired into 9 blocks with identity shortcuts."""
    return nn.Sequential(*_stem(width), *[_Residual(width) for _ in range(HIDDEN // 2)], *_head(width))


def training_loss(make_model, seed: int) -> float:
    """Train a fresh ``make_model()`` (Adam, fixed budget) and return its mean loss over the last quarter of steps."""
    from helpers.stability import ten_digits

    (x, y), _ = ten_digits()
    x, y = x[:TRAIN_IMAGES], y[:TRAIN_IMAGES]
    torch.manual_seed(seed)
    model = make_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    order = torch.Generator().manual_seed(seed)
    losses = []
    model.train()
    for _ in range(STEPS):
        idx = torch.randint(0, len(y), (BATCH,), generator=order)
        loss = F.cross_entropy(model(x[idx]), y[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    tail = losses[-STEPS // 4:]
    return sum(tail) / len(tail)


#: The seeds the chapter's claim rests on.
SEEDS = tuple(range(10))


@lru_cache(maxsize=2)
def seed_study(seeds: tuple[int, ...] = SEEDS) -> dict[str, tuple[float, ...]]:
    """``{"plain": losses, "residual": losses}``, one final training loss per seed (cached: the chapter's
    claims and the benchmark read the same study; about 20 trainings, minutes on one thread)."""
    return {"plain": tuple(training_loss(plain_net, s) for s in seeds),
            "residual": tuple(training_loss(residual_net, s) for s in seeds)}
