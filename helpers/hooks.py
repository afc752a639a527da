"""Watching a model run: forward hooks on chosen layers, and the ATen operators it calls.

The course looks inside models in several places: the layer summary and the
feature maps (chapter 4), the checks of the learner's CNNs (chapters 4 and 6),
and the receptive-field measurement (chapter 5). Each needs "run the model once
and note something about some layers", and each used to register and remove its
own hooks. Here it is written once, in the spirit of fastai's ``Hooks``:

* :func:`forward_hooks`: a context manager that puts a forward hook on each
  given module and always removes them;
* :func:`trace`: run a model once under ``torch.no_grad`` and return what a
  function of ``(module, inputs, output)`` made of every hooked call, in call order;
* :func:`watching_ops`: a context manager that calls a function with the name of
  every ATen operator that runs (PyTorch's dispatcher, so it sees ``F.conv2d``,
  ``torch.conv2d`` and modules alike).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

__all__ = ["forward_hooks", "trace", "watching_ops"]

Hook = Callable[[nn.Module, tuple, Any], Any]


@contextmanager
def forward_hooks(modules: Iterable[nn.Module], hook: Hook) -> Iterator[None]:
    """Call ``hook(module, inputs, output)`` after each forward of each of ``modules`` while inside."""
    handles = [m.register_forward_hook(hook) for m in modules]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def trace(model: nn.Module, x: torch.Tensor, modules: Iterable[nn.Module],
          record: Callable[[nn.Module, tuple, Any], Any]) -> list:
    """Run ``model(x)`` once (no gradients) and return ``record(module, inputs, output)`` of every call
    of one of ``modules``, in the order they ran.

    Example: the output shapes of every convolution::

        trace(model, x, [m for m in model.modules() if isinstance(m, nn.Conv2d)],
              lambda m, inputs, out: tuple(out.shape))
    """
    found: list = []
    with forward_hooks(modules, lambda m, inputs, out: found.append(record(m, inputs, out))), torch.no_grad():
        model(x)
    return found


def _op_mode(on_op: Callable[[str], None]):
    from torch.utils._python_dispatch import TorchDispatchMode

    class Watch(TorchDispatchMode):
        @classmethod
        def _should_skip_dynamo(cls) -> bool:
            # Otherwise torch wraps __torch_dispatch__ to disable dynamo, which imports torch._dynamo
            # (and sympy) on first use: 2 to 5 s per kernel for nothing, since nothing here is compiled.
            return False

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            name = func._overloadpacket.__name__
            on_op(name if func.namespace == "aten" else f"{func.namespace}::{name}")
            return func(*args, **(kwargs or {}))

    return Watch()


@contextmanager
def watching_ops(on_op: Callable[[str], None]) -> Iterator[None]:
    """Call ``on_op(name)`` with the name of every ATen operator that runs inside (e.g. ``"convolution"``).

    An operator of another namespace is named with it (``"prims::convolution"``).

    ``on_op`` may raise to stop the operator from running (that is how a check forbids a shortcut).
    """
    with _op_mode(on_op):
        yield
