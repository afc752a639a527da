"""Exercise checks for chapter 7, "Colour images and training that stays stable".

Every reference is computed by PyTorch itself, never by a copy of an answer:
``torch.from_numpy(...).permute`` for the channel layout, ``F.conv2d`` for what
a kernel does to a colour image, ``nn.BatchNorm2d`` in both modes (its output
*and* its running statistics), a global forward hook for activation
statistics, and ``torch.optim.lr_scheduler.OneCycleLR`` stepped through a real
optimizer for the schedule. ``batchnorm_forward`` runs with PyTorch's
normalisation operators switched off (the by-hand rule of
:func:`helpers.checks.core.forbidding`). ``stable_cnn`` is checked by really
training fresh copies on several seeds for a fixed budget on the ten digits.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .core import Case, Exercise, TrainedOnce, compare_equal, compare_tensor, quiz_case, randint

CHAPTER = "07-colour-and-stable-training"


# -- to_channels: HWC uint8 -> CHW float in [0, 1] --------------------------------------

def _image(g: torch.Generator, h: int, w: int) -> np.ndarray:
    return torch.randint(0, 256, (h, w, 3), generator=g, dtype=torch.uint8).numpy()


def _channels_cases(g: torch.Generator, hidden: bool) -> list[Case]:
    sizes = [(4, 6), (5, 3)] if not hidden else [(4, 6), (1, 7), (9, 2), (6, 6), (13, 8)]
    cases = []
    for h, w in sizes:
        img = _image(g, h, w)
        img[0, 0] = (255, 0, 128)  # the extremes are always there
        cases.append(Case((img,), f"a {h}x{w} RGB image (uint8, shape ({h}, {w}, 3))"))
    if hidden:
        from helpers.photos import photo

        crop = photo("flower")[200:211, 300:317]
        cases.append(Case((np.ascontiguousarray(crop),), "an 11x17 crop of the flower photo"))
    return cases


def _channels_run(answer, case: Case):
    return answer(case.args[0].copy())


def _as_tensor(img: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.array(img, dtype=np.float64))


def _channels_expected(case: Case) -> torch.Tensor:
    return (_as_tensor(case.args[0]) / 255.0).permute(2, 0, 1).float()


TO_CHANNELS = Exercise(
    key="to_channels",
    chapter=CHAPTER,
    answer="to_channels",
    title="to_channels(img)",
    points=1,
    cases=_channels_cases,
    run=_channels_run,
    reference=_channels_expected,
    compare=compare_tensor,
    mistakes={
        "the values are still 0 to 255: divide by 255 to get intensities from 0 to 1.":
            lambda case: _as_tensor(case.args[0]).permute(2, 0, 1),
        "divide by 255, the largest uint8 value, not by 256 (a white pixel must become exactly 1).":
            lambda case: (_as_tensor(case.args[0]) / 256).permute(2, 0, 1),
        "reshape keeps the numbers in memory order and cuts them into three wrong blocks; move the channel axis "
        "with img.permute(2, 0, 1) (or np.transpose(img, (2, 0, 1))).":
            lambda case: (_as_tensor(case.args[0]) / 255).reshape(3, *case.args[0].shape[:2]),
        "permute(2, 1, 0) swaps height and width too: the order wanted is (channel, row, column), permute(2, 0, 1).":
            lambda case: (_as_tensor(case.args[0]) / 255).permute(2, 1, 0),
    },
    error_hints={"numpy.ndarray": "torch.from_numpy(img) turns the array into a tensor first."},
    seed=701,
)


# -- rgb_kernel: a grayscale kernel for a colour image ------------------------------------

def _rgb_kernel_cases(g: torch.Generator, hidden: bool) -> list[Case]:
    from helpers.photos import LUMA

    specs = [(3, None), (5, LUMA)] if not hidden else [(3, None), (1, None), (5, LUMA), (7, None), (2, (0., 1., 0.))]
    cases = []
    for k, mix in specs:
        kernel = torch.randn(k, k, generator=g)
        m = torch.rand(3, generator=g) if mix is None else torch.tensor(mix)
        cases.append(Case((kernel, m.float()), f"a {k}x{k} kernel and mix {tuple(round(float(v), 3) for v in m)}"))
    return cases


def _rgb_kernel_expected(case: Case) -> torch.Tensor:
    """The weight W with conv2d(rgb, W) == conv2d(mix . rgb, kernel): found by solving on unit images."""
    kernel, mix = case.args
    k = kernel.shape[0]
    # Probe the linear map channel by channel with F.conv2d: the response of a unit impulse in channel c
    # of the grayscale image mix . rgb is mix[c] times the (flipped) kernel, read back unflipped.
    weight = torch.zeros(1, 3, k, k, dtype=torch.float64)
    for c in range(3):
        impulse = torch.zeros(1, 3, 2 * k - 1, 2 * k - 1, dtype=torch.float64)
        impulse[0, c, k - 1, k - 1] = 1.0
        gray = (impulse[0] * mix.double()[:, None, None]).sum(0)
        response = F.conv2d(gray[None, None], kernel.double()[None, None])[0, 0]
        weight[0, c] = response.flip(0).flip(1)
    return weight.float()


RGB_KERNEL = Exercise(
    key="rgb_kernel",
    chapter=CHAPTER,
    answer="rgb_kernel",
    title="rgb_kernel(kernel, mix)",
    points=2,
    cases=_rgb_kernel_cases,
    reference=_rgb_kernel_expected,
    compare=compare_tensor,
    mistakes={
        "the same kernel in all three channels responds to R + G + B, not to the grayscale mix: scale the kernel "
        "of channel c by mix[c].":
            lambda case: case.args[0].expand(1, 3, *case.args[0].shape).float(),
        "weights are [out, in, k, k]: one output map from three input channels is [1, 3, k, k], not [3, 1, k, k].":
            lambda case: (case.args[1][:, None, None] * case.args[0])[:, None],
        "keep the output axis in front: a layer's weight is [out, in, k, k], here [1, 3, k, k].":
            lambda case: case.args[1][:, None, None] * case.args[0],
        "each channel's kernel is mix[c] * kernel; the mix is not divided by 3 (it already sums to what it should).":
            lambda case: (case.args[1][:, None, None] * case.args[0] / 3)[None],
    },
    seed=702,
)


# -- batchnorm_forward: batch normalisation by hand, both modes ---------------------------

#: ATen operators that normalise for you.
NORMALISATION_OPS = frozenset({
    "batch_norm", "native_batch_norm", "_native_batch_norm_legit", "_native_batch_norm_legit_no_training",
    "_native_batch_norm_legit_functional", "_batch_norm_impl_index", "_batch_norm_with_update",
    "_batch_norm_no_update", "cudnn_batch_norm", "miopen_batch_norm", "instance_norm", "layer_norm",
    "native_layer_norm", "group_norm", "native_group_norm", "batch_norm_elemt", "batch_norm_stats",
})


def _bn_cases(g: torch.Generator, hidden: bool) -> list[Case]:
    # (shape, training, momentum, eps, note)
    specs = [((4, 3, 5, 6), True, 0.1, 1e-5, ""), ((3, 3, 4, 2), False, 0.2, 1e-2, "")]
    if hidden:
        specs += [((2, 5, 3, 7), True, 0.3, 1e-3, ""), ((1, 2, 6, 5), True, 0.1, 1e-5, ""),
                  ((5, 4, 1, 1), True, 0.1, 1e-5, ""), ((2, 3, 4, 4), False, 0.2, 1e-2, ""),
                  ((3, 2, 3, 3), True, 0.1, 1e-2, "near-constant channel")]
    cases = []
    for shape, training, momentum, eps, note in specs:
        n, c, h, w = shape
        offsets = torch.randn(1, c, 1, 1, generator=g) * 3
        scales = torch.rand(1, c, 1, 1, generator=g) * 2 + 0.5
        x = torch.randn(*shape, generator=g) * scales + offsets  # each channel its own mean and spread
        if note:
            x[:, 0] = 0.5 + 0.01 * torch.randn(n, h, w, generator=g)
        gamma = torch.randn(c, generator=g)
        beta = torch.randn(c, generator=g)
        running_mean = torch.randn(c, generator=g)
        running_var = torch.rand(c, generator=g) * 2 + 0.2
        mode = "training" if training else "evaluation"
        label = (f"a {n}x{c}x{h}x{w} batch in {mode} mode, momentum={momentum}, eps={eps}"
                 + (f" ({note})" if note else ""))
        cases.append(Case((x, gamma, beta, running_mean, running_var, training, momentum, eps), label))
    return cases


def _bn_reference(case: Case, *, module_mode: bool | None = None):
    x, gamma, beta, rm, rv, training, momentum, eps = case.args
    layer = nn.BatchNorm2d(x.shape[1], eps=eps, momentum=momentum).double()
    with torch.no_grad():
        layer.weight.copy_(gamma)
        layer.bias.copy_(beta)
        layer.running_mean.copy_(rm)
        layer.running_var.copy_(rv)
    layer.train(training if module_mode is None else module_mode)
    with torch.no_grad():
        out = layer(x.double())
    return out.float(), layer.running_mean.float(), layer.running_var.float()


def _bn_expected(case: Case):
    return _bn_reference(case)


def _bn_manual(case: Case, *, dims=(0, 2, 3), unbiased_norm=False, biased_running=False, update_in_eval=False,
               batch_in_eval=False, swapped_momentum=False, eps_outside=False):
    x, gamma, beta, rm, rv, training, momentum, eps = (a.double() if type(a) is torch.Tensor else a
                                                      for a in case.args)
    shape = [1, -1, 1, 1]
    use_batch = training or batch_in_eval
    if use_batch:
        mean = x.mean(dim=dims, keepdim=True)
        var = x.var(dim=dims, keepdim=True, unbiased=unbiased_norm)
    else:
        mean, var = rm.view(shape), rv.view(shape)
    out = ((x - mean) / (var.sqrt() + eps) if eps_outside else (x - mean) / (var + eps).sqrt())
    out = out * gamma.view(shape) + beta.view(shape)
    new_rm, new_rv = rm, rv
    if training or update_in_eval:
        n = x.numel() / x.shape[1]
        bmean = x.mean(dim=(0, 2, 3))
        bvar = x.var(dim=(0, 2, 3), unbiased=not biased_running) if n > 1 else x.var(dim=(0, 2, 3), unbiased=False)
        a = 1 - momentum if not swapped_momentum else momentum
        new_rm = a * rm + (1 - a) * bmean
        new_rv = a * rv + (1 - a) * bvar
    return out.float(), new_rm.float(), new_rv.float()


def _compare_bn(got, expected, case: Case) -> str | None:
    if type(got) is not tuple or len(got) != 3:
        return ("expected a tuple (out, running_mean, running_var) of three tensors, got "
                + (f"a {type(got).__name__} of {len(got)}" if type(got) in (tuple, list) else repr(type(got))))
    for name, g, e in zip(("out", "running_mean", "running_var"), got, expected):
        problem = compare_tensor(g, e, case)
        if problem:
            return f"{name}: {problem}"
    return None


_AXES_HINT = ("the statistics are per channel, over the batch and every position: x.mean(dim=(0, 2, 3)), "
              "one mean and one variance per channel.")

BATCHNORM_FORWARD = Exercise(
    key="batchnorm_forward",
    chapter=CHAPTER,
    answer="batchnorm_forward",
    title="batchnorm_forward(x, gamma, beta, running_mean, running_var, training, momentum, eps)",
    points=3,
    cases=_bn_cases,
    reference=_bn_expected,
    compare=_compare_bn,
    mistakes={
        "normalise with the biased variance (divide by the count n: unbiased=False); only the running variance "
        "uses the unbiased one (divide by n - 1).": lambda case: _bn_manual(case, unbiased_norm=True),
        "PyTorch updates the running variance with the *unbiased* variance of the batch (divide by n - 1), while "
        "it normalises with the biased one.": lambda case: _bn_manual(case, biased_running=True),
        "in evaluation mode the running statistics are used and left unchanged: update them only in training.":
            lambda case: _bn_manual(case, update_in_eval=True),
        "in evaluation mode normalise with the running statistics, not with the batch's own.":
            lambda case: _bn_manual(case, batch_in_eval=True),
        "in evaluation mode use the running statistics and leave them unchanged; the batch's statistics are "
        "for training only.": lambda case: _bn_manual(case, batch_in_eval=True, update_in_eval=True),
        "momentum is the weight of the *new* batch statistic: running = (1 - momentum) * running + momentum * "
        "batch.": lambda case: _bn_manual(case, swapped_momentum=True),
        "eps goes inside the square root: (x - mean) / sqrt(var + eps).": lambda case: _bn_manual(case, eps_outside=True),
        _AXES_HINT: lambda case: _bn_manual(case, dims=(1, 2, 3)),
        _AXES_HINT + " (Over dim 0 alone you get a mean per pixel.)": lambda case: _bn_manual(case, dims=(0,)),
        _AXES_HINT + " (Over (2, 3) alone you get a mean per image and channel: instance normalisation.)":
            lambda case: _bn_manual(case, dims=(2, 3)),
    },
    error_hints={"must be computed by hand": "compute the mean and variance yourself (x.mean, x.var) and "
                                             "normalise with them; F.batch_norm and nn.BatchNorm2d are what the "
                                             "check compares with."},
    forbid=NORMALISATION_OPS,
    seed=703,
)


# -- activation_stats: statistics of every ReLU, with hooks ---------------------------------

#: |a| below this counts as near zero (the same threshold as helpers.stability.NEAR_ZERO).
NEAR_ZERO = 0.01


def _stats_model(kind: str, seed: int) -> nn.Module:
    from helpers.stability import digit_cnn

    torch.manual_seed(seed)
    if kind == "digit_cnn":
        return digit_cnn(channels=(4, 8, 8, 16))
    if kind == "digit_cnn_bn_train":
        return digit_cnn(channels=(4, 8, 16, 16), bn=True).train()
    if kind == "flat":
        return nn.Sequential(nn.Conv2d(1, 6, 3, padding=1), nn.ReLU(), nn.Conv2d(6, 6, 3, stride=2), nn.ReLU(),
                             nn.Flatten(), nn.Linear(6 * 13 * 13, 12), nn.ReLU(), nn.Linear(12, 10))
    if kind == "dead":  # a layer whose ReLU outputs nothing but zeros: its share is 1
        model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(),
                              nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.ReLU()), nn.Flatten())
        with torch.no_grad():
            model[2][0].bias.fill_(-100.0)
        return model
    raise ValueError(kind)


def _stats_cases(g: torch.Generator, hidden: bool) -> list[Case]:
    kinds = [("digit_cnn", 16), ("flat", 8)] if not hidden else [
        ("digit_cnn", 16), ("flat", 8), ("digit_cnn_bn_train", 12), ("dead", 5), ("digit_cnn", 3)]
    cases = []
    for i, (kind, n) in enumerate(kinds):
        seed = randint(g, 0, 10_000)
        batch = torch.rand(n, 1, 28, 28, generator=g)
        mode = "in training mode" if kind.endswith("train") else "in evaluation mode"
        cases.append(Case((batch,), f"a {kind.split('_bn')[0]} model{' with batch norm' if 'bn' in kind else ''} "
                                    f"{mode} and a batch of {n}", {"kind": kind, "seed": seed}))
    return cases


def _stats_run(answer, case: Case):
    model = _stats_model(case.extra["kind"], case.extra["seed"])
    if not case.extra["kind"].endswith("train"):
        model.eval()
    mode = model.training
    result = answer(model, case.args[0])
    hooks = sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())
    return result, hooks, model.training == mode


def _reference_stats(case: Case, *, of=nn.ReLU, zero=lambda a: a.abs() < NEAR_ZERO, top_level=False,
                     percent=False) -> torch.Tensor:
    model = _stats_model(case.extra["kind"], case.extra["seed"])
    if not case.extra["kind"].endswith("train"):
        model.eval()
    wanted = set(model.children()) if top_level else set(model.modules())
    rows = []

    def hook(module, inputs, output):
        if isinstance(module, of) and module in wanted:
            a = output.detach().double()
            share = zero(a).double().mean()
            rows.append(torch.stack([a.mean(), a.std(), share * (100 if percent else 1)]))

    handle = torch.nn.modules.module.register_module_forward_hook(hook)  # every module, no per-layer hooks
    try:
        with torch.no_grad():
            model(case.args[0])
    finally:
        handle.remove()
    return torch.stack(rows).float() if rows else torch.zeros(0, 3)


def _stats_expected(case: Case):
    return _reference_stats(case)


def _compare_stats(got, expected: torch.Tensor, case: Case) -> str | None:
    result, hooks, same_mode = got
    problem = compare_tensor(result, expected, case, atol=1e-4, rtol=2e-3)
    if problem:
        return problem
    if hooks:
        return (f"the statistics are right, but {hooks} hook(s) are still attached to the model afterwards: keep "
                "the handles register_forward_hook returns and call .remove() on each (in a finally: block)")
    if not same_mode:
        return "the statistics are right, but the model's mode (training / evaluation) changed: leave it as it was"
    return None


def _stats_wrong(**kwargs):
    return lambda case: (_reference_stats(case, **kwargs), 0, True)


ACTIVATION_STATS = Exercise(
    key="activation_stats",
    chapter=CHAPTER,
    answer="activation_stats",
    title="activation_stats(model, batch)",
    points=2,
    cases=_stats_cases,
    run=_stats_run,
    reference=_stats_expected,
    compare=_compare_stats,
    mistakes={
        "some ReLUs sit inside blocks (conv() returns an nn.Sequential): find them with model.modules(), which "
        "walks nested blocks, not model.children().": _stats_wrong(top_level=True),
        "those are the statistics of the convolutions' outputs, before the ReLU: hook the nn.ReLU layers.":
            _stats_wrong(of=nn.Conv2d),
        f"near zero means |a| < {NEAR_ZERO}, not exactly 0.": _stats_wrong(zero=lambda a: a == 0),
        "the share is a fraction from 0 to 1, not a percentage.": _stats_wrong(percent=True),
    },
    error_hints={"stack expects a non-empty": "no ReLU output was recorded: register the hooks on the nn.ReLU "
                                               "modules (found with model.modules()) before running the batch."},
    seed=704,
)


# -- onecycle_lr: the 1cycle schedule -----------------------------------------------------------

def _lr_cases(g: torch.Generator, hidden: bool) -> list[Case]:
    # (total_steps, max_lr, pct_start, div_factor, final_div_factor, steps)
    specs = [(100, 1.0, 0.3, 25.0, 1e4, (0, 15, 29, 30, 64, 99)),
             (37, 0.5, 0.25, 10.0, 100.0, (0, 8, 9, 36))]  # the peak, 8.25, is not a whole step
    if hidden:
        specs += [(37, 0.5, 0.25, 10.0, 100.0, (3, 20)),
                  (200, 2.0, 0.3, 25.0, 1e4, (59, 60, 150, 199)),
                  (10, 0.1, 0.5, 5.0, 1e3, (0, 1, 4, 5, 9))]
        # and one schedule drawn from the random seed (at grading, the course secret's): no table of answers fits it
        total = int(torch.randint(20, 300, (1,), generator=g))
        max_lr = round(0.05 + 2 * float(torch.rand(1, generator=g)), 3)
        pct = round(0.15 + 0.3 * float(torch.rand(1, generator=g)), 2)
        steps = tuple(sorted({int(s) for s in torch.randint(0, total, (4,), generator=g)}))
        specs.append((total, max_lr, pct, 25.0, 1e4, steps))
    cases = []
    for total, max_lr, pct, div, final_div, steps in specs:
        for step in steps:
            cases.append(Case((step, total, max_lr, pct, div, final_div),
                              f"step {step} of {total}, max_lr={max_lr}, pct_start={pct}, div_factor={div:g}, "
                              f"final_div_factor={final_div:g}"))
    return cases


def _scheduler_lr(step, total, max_lr, pct, div, final_div, anneal="cos") -> float:
    """Step a real OneCycleLR ``step`` times and read the learning rate."""
    import warnings

    p = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([p], lr=max_lr)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=max_lr, total_steps=total, pct_start=pct,
                                                    div_factor=div, final_div_factor=final_div,
                                                    anneal_strategy=anneal, cycle_momentum=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # stepping without optimizer.step()
        for _ in range(step):
            scheduler.step()
    return float(optimizer.param_groups[0]["lr"])


def _lr_expected(case: Case) -> float:
    return _scheduler_lr(*case.args)


def _compare_lr(got, expected: float, case: Case) -> str | None:
    if type(got) is torch.Tensor and got.numel() == 1:
        got = got.item()
    if type(got) not in (int, float):
        return f"expected a number (float), got {type(got).__name__}"
    if not math.isclose(float(got), expected, rel_tol=1e-6, abs_tol=1e-12):
        return f"expected {expected:.6g}, got {float(got):.6g}"
    return None


def _lr_manual(case: Case, *, linear=False, end_at_max=False, peak_at=None) -> float:
    step, total, max_lr, pct, div, final_div = case.args
    initial = max_lr / div
    final = max_lr / final_div if end_at_max else initial / final_div
    peak = pct * total - 1 if peak_at is None else peak_at(pct, total)
    if step <= peak:
        start, end, t = initial, max_lr, step / peak
    else:
        start, end, t = max_lr, final, (step - peak) / (total - 1 - peak)
    if linear:
        return start + (end - start) * t
    return end + (start - end) / 2 * (math.cos(math.pi * t) + 1)


ONECYCLE_LR = Exercise(
    key="onecycle_lr",
    chapter=CHAPTER,
    answer="onecycle_lr",
    title="onecycle_lr(step, total_steps, max_lr, pct_start, div_factor, final_div_factor)",
    points=2,
    cases=_lr_cases,
    reference=_lr_expected,
    compare=_compare_lr,
    mistakes={
        "OneCycleLR moves along half a cosine, not a straight line: lr = end + (start - end) * (1 + cos(pi * t)) / 2.":
            lambda case: _lr_manual(case, linear=True),
        "the last learning rate is the *initial* one divided by final_div_factor: max_lr / div_factor / "
        "final_div_factor.": lambda case: _lr_manual(case, end_at_max=True),
        "the warm-up ends at step pct_start * total_steps - 1 (steps count from 0), not at pct_start * total_steps.":
            lambda case: _lr_manual(case, peak_at=lambda pct, total: pct * total),
        "the warm-up ends at step pct_start * total_steps - 1, a float: do not round it.":
            lambda case: _lr_manual(case, peak_at=lambda pct, total: round(pct * total) - 1),
    },
    error_hints={"division by zero": "a phase that is one step long still needs t: check your phase boundaries."},
    seed=705,
)


# -- stable_cnn: ten digits, a fixed budget, several seeds --------------------------------------

#: The training budget of the check: epochs over the 4,000 training digits ...
TRAIN_EPOCHS = 2
#: ... in batches of this size ...
BATCH_SIZE = 128
#: ... with Adam and OneCycleLR peaking at this learning rate (exactly ``fit(..., schedule="onecycle")``).
PEAK_LR = 0.01
#: The validation accuracy every fresh copy must reach.
ACCURACY_BAR = 0.93
#: Larger models are refused before training, so that a check stays a matter of seconds.
MAX_PARAMS = 150_000
#: The seeds of the fresh copies: visible, then the grader's.
VISIBLE_SEEDS = (0, 1)
HIDDEN_SEEDS = (2, 3)


def _cnn_cases(g: torch.Generator, hidden: bool) -> list[Case]:
    seeds = HIDDEN_SEEDS if hidden else VISIBLE_SEEDS
    return [Case((seed,), f"a fresh model (seed {seed}) trained {TRAIN_EPOCHS} epochs", {"batches": (1, 7, 64)})
            for seed in seeds]


def _train_and_measure(make_model, case: Case):
    from helpers.stability import ten_digits
    from helpers.train import fit

    (seed,) = case.args
    if isinstance(make_model, nn.Module):
        raise TypeError("`stable_cnn` should be a function that returns a new model (def stable_cnn(): return "
                        "nn.Sequential(...)), not a model: the check trains fresh copies")
    torch.manual_seed(seed)
    model = make_model()
    if not isinstance(model, nn.Module):
        raise TypeError(f"`stable_cnn()` should return a model (an nn.Module), not a {type(model).__name__}")
    n_params = sum(p.numel() for p in model.parameters())
    if n_params > MAX_PARAMS:
        raise ValueError(f"the model has {n_params:,} parameters; keep it under {MAX_PARAMS:,} so that the check "
                         "can train it in seconds")
    spatial = any(isinstance(m, nn.Conv2d) and max(m.kernel_size) > 1 for m in model.modules())
    train, valid = ten_digits()
    model.eval()  # probe as a trained model is used: batch norm accepts a batch of one
    with torch.no_grad():
        shapes = tuple(tuple(int(s) for s in model(valid[0][:b]).shape) for b in case.extra["batches"])
    accuracy = 0.0
    if spatial and all(shape == (b, 10) for shape, b in zip(shapes, case.extra["batches"])):
        history = fit(model, train, valid, epochs=TRAIN_EPOCHS, lr=PEAK_LR, batch_size=BATCH_SIZE, seed=seed,
                      schedule="onecycle", progress=False)
        accuracy = float(history.valid_accuracy[-1])
    return shapes, spatial, accuracy


#: Training is remembered per function object and case (see :class:`~.core.TrainedOnce`).
_cnn_run = TrainedOnce(_train_and_measure)


def _cnn_expected(case: Case):
    return tuple((b, 10) for b in case.extra["batches"]), ACCURACY_BAR


def _compare_cnn(got, expected, case: Case) -> str | None:
    shapes, spatial, accuracy = got
    e_shapes, bar = expected
    for shape, e_shape in zip(shapes, e_shapes):
        if shape != e_shape:
            return (f"on a batch of {e_shape[0]} digits the model returned shape {shape}, expected {e_shape}: ten "
                    "scores per image (end with nn.Flatten(), and 10 output channels or features)")
    if not spatial:
        return "the model has no nn.Conv2d with a kernel larger than 1x1: a CNN needs convolutions that see neighbours"
    if accuracy < bar:
        return (f"after {TRAIN_EPOCHS} epochs it reached {accuracy:.1%} validation accuracy; at least {bar:.0%} is "
                "needed on every seed. Batch normalisation after each hidden convolution (conv(..., bn=True)) is "
                "the usual cure; the last layer must have no ReLU and no batch norm")
    return None


STABLE_CNN = Exercise(
    key="stable_cnn",
    chapter=CHAPTER,
    answer="stable_cnn",
    title="stable_cnn(), a CNN for ten digits that trains reliably",
    points=3,
    cases=_cnn_cases,
    run=_cnn_run,
    reference=_cnn_expected,
    compare=_compare_cnn,
    error_hints={
        "mat1 and mat2": "the size going into nn.Linear does not match its in_features: print the shape before "
                         "it (helpers.models.print_summary) and use that",
        "Expected 4D": "the model receives a batch of images [N, 1, 28, 28]",
        "expected 4D": "the model receives a batch of images [N, 1, 28, 28]",
    },
    seed=706,
)


# -- review quiz ----------------------------------------------------------------------------------

def _quiz_shape_expected(case: Case) -> tuple[int, ...]:
    return tuple(int(s) for s in nn.Conv2d(3, 16, kernel_size=5).weight.shape)


QUIZ_RGB_WEIGHT_SHAPE = Exercise(
    key="quiz_rgb_weight_shape",
    chapter=CHAPTER,
    answer="quiz_rgb_weight_shape",
    title="review question 1 (weights of a colour layer)",
    points=1,
    kind="value",
    cases=quiz_case,
    reference=_quiz_shape_expected,
    compare=compare_equal,
    mistakes={"weights are [out, in, k, k]: 16 kernels, each with one 5x5 slice per input channel.":
              lambda case: (3, 16, 5, 5),
              "each of the 16 filters has a 5x5 kernel for *each* of the 3 input channels: 4 numbers in the shape.":
              lambda case: (16, 5, 5)},
    seed=707,
)


def _quiz_bn_expected(case: Case) -> int:
    return sum(p.numel() for p in nn.BatchNorm2d(32).parameters())


QUIZ_BN_PARAMS = Exercise(
    key="quiz_bn_params",
    chapter=CHAPTER,
    answer="quiz_bn_params",
    title="review question 2 (parameters of batch norm)",
    points=1,
    kind="value",
    cases=quiz_case,
    reference=_quiz_bn_expected,
    compare=compare_equal,
    mistakes={"the running mean and variance are buffers, not parameters: they are not learned by the optimizer.":
              lambda case: 128,
              "batch norm learns two numbers per channel: a scale (gamma) and a shift (beta).": lambda case: 32},
    seed=708,
)


def _quiz_peak_expected(case: Case) -> int:
    lrs = [_scheduler_lr(step, 200, 1.0, 0.25, 25.0, 1e4) for step in range(45, 56)]
    return 45 + int(np.argmax(lrs))


QUIZ_PEAK_STEP = Exercise(
    key="quiz_peak_step",
    chapter=CHAPTER,
    answer="quiz_peak_step",
    title="review question 3 (when 1cycle peaks)",
    points=1,
    kind="value",
    cases=quiz_case,
    reference=_quiz_peak_expected,
    compare=compare_equal,
    mistakes={"steps count from 0: the peak is at step pct_start * total_steps - 1.": lambda case: 50},
    seed=709,
)

EXERCISES = [TO_CHANNELS, RGB_KERNEL, ACTIVATION_STATS, ONECYCLE_LR, BATCHNORM_FORWARD, STABLE_CNN,
             QUIZ_RGB_WEIGHT_SHAPE, QUIZ_BN_PARAMS, QUIZ_PEAK_STEP]
