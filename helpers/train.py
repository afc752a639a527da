"""A small, honest training loop for the course's CNNs.

* :func:`three_vs_seven`: the offline 3s and 7s as training and validation tensors.
* :func:`fit`: mini-batch training with Adam and cross-entropy, a text progress
  bar, and a :class:`History` of losses and accuracies (``plot_history`` in
  :mod:`helpers.plots` draws it).
* :func:`accuracy`: the fraction of images a model classifies correctly.
* :func:`budget`: a smaller training budget when
  the notebook is graded (:func:`helpers.nbgrader_env.under_grading`).

Introduced in chapter 4, "``nn.Conv2d`` and a first CNN"; chapter 6 reuses it.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import TextIO

import torch
import torch.nn.functional as F
from torch import nn

from .nbgrader_env import under_grading

Tensors = tuple[torch.Tensor, torch.Tensor]


def budget(full: int, graded: int) -> int:
    """``full`` normally, ``graded`` when nbgrader runs the notebook (grading needs no good model)."""
    return graded if under_grading() else full


def three_vs_seven(valid_fraction: float = 0.2) -> tuple[Tensors, Tensors]:
    """The offline 3s (class 0) and 7s (class 1): ``(train_x, train_y), (valid_x, valid_y)``.

    800 training and 200 validation images of shape ``[1, 28, 28]`` in ``[0, 1]``.
    """
    from .data import as_tensors, load_digits, split

    x, y = as_tensors(load_digits(), labels=(3, 7))
    return split(x, y, valid_fraction)


@dataclass
class History:
    """What happened during :func:`fit`.

    Attributes:
        step_loss: training loss of every mini-batch, in order.
        steps_per_epoch: mini-batches per epoch (to place epochs on the step axis).
        train_loss: mean training loss of each epoch.
        valid_loss: validation loss after each epoch.
        valid_accuracy: validation accuracy (0 to 1) after each epoch.
        seconds: wall-clock time of the whole fit.
        lrs: learning rate of every mini-batch, in order (chapter 7's schedules).
    """

    step_loss: list[float] = field(default_factory=list)
    steps_per_epoch: int = 0
    train_loss: list[float] = field(default_factory=list)
    valid_loss: list[float] = field(default_factory=list)
    valid_accuracy: list[float] = field(default_factory=list)
    seconds: float = 0.0
    lrs: list[float] = field(default_factory=list)

    @property
    def epochs(self) -> int:
        return len(self.valid_accuracy)


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 500) -> tuple[float, float]:
    """Mean cross-entropy loss and accuracy of ``model`` on ``(x, y)``, without training it."""
    was_training = model.training
    model.eval()
    total_loss, correct = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(y), batch_size):
            out = model(x[i:i + batch_size])
            total_loss += float(F.cross_entropy(out, y[i:i + batch_size], reduction="sum"))
            correct += int((out.argmax(dim=1) == y[i:i + batch_size]).sum())
    model.train(was_training)
    return total_loss / len(y), correct / len(y)


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of the images in ``x`` whose highest score is their label ``y``."""
    return evaluate(model, x, y)[1]


def _bar(done: int, total: int, width: int = 24) -> str:
    filled = round(width * done / total) if total else width
    return "#" * filled + "." * (width - filled)


def fit(model: nn.Module, train: Tensors, valid: Tensors, *, epochs: int = 5, lr: float = 1e-2,
        batch_size: int = 64, seed: int = 0, progress: bool = True, stream: TextIO | None = None,
        schedule: str = "constant") -> History:
    """Train ``model`` with Adam on cross-entropy; return its :class:`History`.

    Each epoch visits the training images once in a random order (from ``seed``,
    so a run can be repeated exactly) in mini-batches of ``batch_size``, then
    measures loss and accuracy on ``valid``. With ``progress`` a one-line text
    bar per epoch shows how far it got (no widgets: it works in any front end
    and in logs). ``schedule="onecycle"`` moves the learning rate with
    ``torch.optim.lr_scheduler.OneCycleLR`` (peak ``lr``) instead of keeping it
    constant (chapter 7).
    """
    out = stream or sys.stdout
    train_x, train_y = train
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    n_batches = (len(train_y) + batch_size - 1) // batch_size
    if schedule not in ("constant", "onecycle"):
        raise ValueError(f"schedule must be 'constant' or 'onecycle', not {schedule!r}")
    scheduler = (torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=epochs * n_batches)
                 if schedule == "onecycle" else None)
    history = History(steps_per_epoch=n_batches)
    start = time.perf_counter()
    model.train()
    for epoch in range(1, epochs + 1):
        order = torch.randperm(len(train_y), generator=generator)
        losses = []
        for b in range(n_batches):
            idx = order[b * batch_size:(b + 1) * batch_size]
            loss = F.cross_entropy(model(train_x[idx]), train_y[idx])
            optimizer.zero_grad()
            loss.backward()
            history.lrs.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            losses.append(loss.item())
            if progress and (b + 1 == n_batches or (b + 1) % max(1, n_batches // 4) == 0):
                print(f"\repoch {epoch}/{epochs} [{_bar(b + 1, n_batches)}] loss {losses[-1]:.3f}",
                      end="", file=out, flush=True)
        history.step_loss += losses
        history.train_loss.append(sum(losses) / len(losses))
        valid_loss, valid_acc = evaluate(model, *valid)
        history.valid_loss.append(valid_loss)
        history.valid_accuracy.append(valid_acc)
        if progress:
            print(f"\repoch {epoch}/{epochs} [{_bar(1, 1)}] train loss {history.train_loss[-1]:.3f}"
                  f"  valid loss {valid_loss:.3f}  valid accuracy {valid_acc:.1%}", file=out, flush=True)
    history.seconds = time.perf_counter() - start
    model.eval()
    return history
