"""The cost of each way to compute a convolution, on a batch of 64 real MNIST digits.

Three implementations of the same 3x3 convolution (one input channel, 8 output channels):

* ``loop``: two Python loops over positions, as learners write it in chapter 1;
* ``unfold``: all windows gathered at once (im2col) and one matrix product;
* ``F.conv2d``: PyTorch's built-in.

Each is timed in the same run and reported as a ratio to ``F.conv2d``; all three are checked to agree.

    .venv/bin/python -m benchmarks.convolutions
"""

from __future__ import annotations

import time

from benchmarks.common import one_thread, save, table


def loop_conv(x, weight):
    """Chapter 1's loop, batched over images and filters by broadcasting at each position."""
    import torch

    n, _, h, w = x.shape
    out_c, _, kh, kw = weight.shape
    out = torch.zeros(n, out_c, h - kh + 1, w - kw + 1)
    for i in range(h - kh + 1):
        for j in range(w - kw + 1):
            window = x[:, None, :, i:i + kh, j:j + kw]          # [n, 1, in, kh, kw]
            out[:, :, i, j] = (window * weight[None]).sum((-1, -2, -3))
    return out


def unfold_conv(x, weight):
    """im2col: every window as a column, then one matrix product."""
    import torch.nn.functional as F

    n, _, h, w = x.shape
    out_c, _, kh, kw = weight.shape
    cols = F.unfold(x, (kh, kw))                               # [n, in*kh*kw, positions]
    return (weight.reshape(out_c, -1) @ cols).reshape(n, out_c, h - kh + 1, w - kw + 1)


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> dict:
    one_thread()
    import torch
    import torch.nn.functional as F

    from helpers.data import as_tensors, load_digits

    x, _ = as_tensors(load_digits())
    x = x[:64]
    weight = torch.randn(8, 1, 3, 3, generator=torch.Generator().manual_seed(0))
    reference = F.conv2d(x, weight)
    for name, fn in [("loop", loop_conv), ("unfold", unfold_conv)]:
        assert torch.allclose(fn(x, weight), reference, atol=1e-4), f"{name} disagrees with F.conv2d"
    seconds = {
        "loop": best_of(lambda: loop_conv(x, weight), 3),
        "unfold": best_of(lambda: unfold_conv(x, weight), 20),
        "F.conv2d": best_of(lambda: F.conv2d(x, weight), 50),
    }
    base = seconds["F.conv2d"]
    rows = [[name, round(s * 1000, 3), round(s / base, 1)] for name, s in seconds.items()]
    print("3x3 convolution, 8 filters, batch of 64 MNIST digits (28x28), one thread, best of several runs")
    print(table(["implementation", "milliseconds", "x F.conv2d"], rows))
    result = {"batch": 64, "filters": 8, "milliseconds": {k: round(v * 1000, 4) for k, v in seconds.items()},
              "ratio_to_conv2d": {k: round(v / base, 2) for k, v in seconds.items()}}
    print(f"written to {save('convolutions', result)}")
    return result


if __name__ == "__main__":
    main()
