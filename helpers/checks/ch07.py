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

from helpers.photos import LUMA

from .core import Case, Exercise, TrainedOnce, compare_tensor, quiz_case, randint, type_name

CHAPTER = "07-colour-and-stable-training"


# -- to_channels: HWC uint8 -> CHW float in [0, 1] --------------------------------------

def _image(g: torch.Generator, h: int, w: int, low: int = 0, high: int = 255) -> np.ndarray:
    return torch.randint(low, high + 1, (h, w, 3), generator=g, dtype=torch.uint8).numpy()


def _channels_cases(g: torch.Generator, hidden: bool) -> list[Case]:
    # (height, width, lowest, highest, extremes): a dim image that spans neither 0 nor 255, so that dividing
    # by the image's own maximum or stretching it to [0, 1] shows; and one holding white and black, so that
    # 255 must become exactly 1
    specs = [(4, 6, 20, 200, False), (5, 3, 0, 255, True)]
    if hidden:
        specs += [(1, 7, 40, 90, False), (9, 2, 0, 255, True), (6, 6, 0, 254, False), (13, 8, 3, 255, False)]
    cases = []
    for h, w, low, high, extremes in specs:
        img = _image(g, h, w, low, high)
        if extremes:
            img[0, 0] = (255, 0, 128)
        tone = "holding black and white" if extremes else f"a dim one, values {int(img.min())} to {int(img.max())}"
        cases.append(Case((img,), f"a {h}x{w} RGB image ({tone}; uint8, shape ({h}, {w}, 3))"))
    if hidden:
        from helpers.photos import photo

        flower = photo("flower")
        cases.append(Case((np.ascontiguousarray(flower[200:211, 300:317]),), "an 11x17 crop of the flower photo"))
        cases.append(Case((np.ascontiguousarray(flower[:9, :14]),), "a 9x14 crop of the flower photo's dark corner"))
    return cases


def _channels_run(answer, case: Case):
    from helpers.photos import answering, chw

    if answer is chw:
        raise ValueError("to_channels is helpers.photos.chw, the course's own conversion: the exercise is to write it")
    with answering("to_channels"):
        return answer(case.args[0].copy())


def _as_tensor(img: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.array(img, dtype=np.float64))


def _channels_expected(case: Case) -> torch.Tensor:
    return (_as_tensor(case.args[0]) / 255.0).permute(2, 0, 1).float()


def _compare_channels(got, expected: torch.Tensor, case: Case) -> str | None:
    problem = compare_tensor(got, expected, case)
    if problem is None and got.dtype != torch.float32:
        return f"the values are right, but their dtype is {got.dtype}, not torch.float32"
    return problem


def _channels_scaled(case: Case, scale) -> torch.Tensor:
    img = _as_tensor(case.args[0])
    return scale(img).permute(2, 0, 1)


TO_CHANNELS = Exercise(
    key="to_channels",
    chapter=CHAPTER,
    answer="to_channels",
    title="to_channels(img)",
    points=1,
    cases=_channels_cases,
    run=_channels_run,
    reference=_channels_expected,
    compare=_compare_channels,
    mistakes={
        "img / 255.0 on a NumPy array gives float64; layers compute in float32: convert with .float() "
        "(or divide a float32 tensor).": lambda case: _channels_expected(case).double(),
        "divide by 255, the largest value a uint8 can hold, not by this image's own maximum: a dim photo must "
        "stay dim.": lambda case: _channels_scaled(case, lambda img: img / img.max()),
        "stretching each image from its own minimum to its own maximum changes its contrast; an intensity is the "
        "value divided by 255, whatever else the image holds.":
            lambda case: _channels_scaled(case, lambda img: (img - img.min()) / (img.max() - img.min())),
        "// is floor division: every value below 255 becomes 0; divide with / to keep the fractions.":
            lambda case: _channels_scaled(case, lambda img: torch.div(img, 255, rounding_mode="floor")),
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
    error_hints={"numpy.ndarray": "torch.from_numpy(img) turns the array into a tensor first.",
                 "helpers.photos.chw": "the figures use the course's chw; write to_channels yourself, with "
                                       "torch.from_numpy and the operations this section names."},
    seed=701,
)


# -- rgb_kernel: a grayscale kernel for a colour image ------------------------------------

def _rgb_kernel_cases(g: torch.Generator, hidden: bool) -> list[Case]:
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
        "use the mix you are given: LUMA is only one possible mix (the check also tries others).":
            lambda case: (torch.tensor(LUMA)[:, None, None] * case.args[0])[None],
        "F.conv2d does not flip the kernel, so neither does the colour layer: scale the kernel as it is.":
            lambda case: (case.args[1][:, None, None] * case.args[0].flip(0).flip(1))[None],
        "kernel.T swaps the kernel's rows and columns: scale the kernel as it is.":
            lambda case: (case.args[1][:, None, None] * case.args[0].T)[None],
        "use the mix as it is given: dividing it by its sum changes how strongly the layer responds.":
            lambda case: (case.args[1][:, None, None] / case.args[1].sum() * case.args[0])[None],
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
    # the visible cases use neither default (momentum 0.1, eps 1e-5): an answer that ignores an argument shows
    # and the first holds a near-constant channel, where an eps of 0, 1e-5 or 1e-3 makes all the difference
    specs = [((4, 3, 5, 6), True, 0.3, 1e-3, "near-constant channel"), ((3, 3, 4, 2), False, 0.2, 1e-2, "")]
    if hidden:
        specs += [((2, 5, 3, 7), True, 0.05, 1e-2, ""), ((1, 2, 6, 5), True, 0.1, 1e-5, ""),
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
               batch_in_eval=False, swapped_momentum=False, eps_outside=False, fixed_momentum=None, fixed_eps=None,
               no_update=False, affine="gamma, beta", twice_unbiased=False):
    x, gamma, beta, rm, rv, training, momentum, eps = (a.double() if type(a) is torch.Tensor else a
                                                      for a in case.args)
    momentum = momentum if fixed_momentum is None else fixed_momentum
    eps = eps if fixed_eps is None else fixed_eps
    gamma, beta = {"gamma, beta": (gamma, beta), "beta, gamma": (beta, gamma),
                   "none": (torch.ones_like(gamma), torch.zeros_like(beta))}[affine]
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
    if (training or update_in_eval) and not no_update:
        n = x.numel() / x.shape[1]
        bmean = x.mean(dim=(0, 2, 3))
        bvar = x.var(dim=(0, 2, 3), unbiased=not biased_running) if n > 1 else x.var(dim=(0, 2, 3), unbiased=False)
        if twice_unbiased:
            bvar = bvar * n / (n - 1)
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
        if problem and type(g) is torch.Tensor and g.shape == e.shape and g.dtype.is_floating_point:
            return f"{name}: {_close_values(g, e)}"
        if problem:
            return f"{name}: {problem}"
    return None


def _close_values(got: torch.Tensor, expected: torch.Tensor) -> str:
    """Where two tensors differ, with digits enough to see it, and by how much when the difference is small.

    (Four significant digits make 1.09612 and 1.09641 look equal: a variance off by n / (n - 1) hides so.)
    """
    g, e = got.double(), expected.double()
    bad = ~torch.isclose(g, e, atol=1e-4, rtol=1e-4)
    where = tuple(int(i) for i in bad.nonzero()[0])
    gv, ev = g[where].item(), e[where].item()
    text = f"{int(bad.sum())} of {bad.numel()} values differ; at index {where} expected {ev:.6g}, got {gv:.6g}"
    if ev != 0 and abs(gv / ev - 1) < 0.05:
        text += f" ({abs(gv / ev - 1):.2%} {'larger' if abs(gv) > abs(ev) else 'smaller'})"
    return text


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
        "add eps to the variance before the square root: (x - mean) / sqrt(var + eps); without it a constant "
        "channel divides by zero.": lambda case: _bn_manual(case, fixed_eps=0.0),
        "use the eps you are given, not the default 1e-5.": lambda case: _bn_manual(case, fixed_eps=1e-5),
        "use the momentum you are given, not the default 0.1.": lambda case: _bn_manual(case, fixed_momentum=0.1),
        "in training, return the running statistics updated with this batch's mean and variance.":
            lambda case: _bn_manual(case, no_update=True),
        "gamma is the scale and beta the shift: out = gamma * x_hat + beta.":
            lambda case: _bn_manual(case, affine="beta, gamma"),
        "after normalising, scale by gamma and shift by beta: out = gamma * x_hat + beta.":
            lambda case: _bn_manual(case, affine="none"),
        "x.var() is already unbiased (it divides by n - 1): multiplying it by n / (n - 1) corrects it twice.":
            lambda case: _bn_manual(case, twice_unbiased=True),
        "x.var() divides by n - 1 unless told otherwise (unbiased=False): normalise with the biased variance, and "
        "give the running variance the unbiased one once.":
            lambda case: _bn_manual(case, unbiased_norm=True, twice_unbiased=True),
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


class ModelFailure(RuntimeError):
    """Raised by the check's broken model halfway through its forward pass (after some ReLUs have run)."""


class _Breaks(nn.Module):
    def forward(self, x):
        raise ModelFailure("the check's model fails here on purpose")


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
    if kind == "breaks":  # raises after its first ReLU: the hooks must still be removed
        return nn.Sequential(nn.Conv2d(1, 4, 3, stride=2), nn.ReLU(), _Breaks(), nn.ReLU())
    raise ValueError(kind)


#: How each kind of check model is described in a message.
_STATS_LABELS = {"digit_cnn": "a digit_cnn model in evaluation mode",
                 "digit_cnn_bn_train": "a digit_cnn model with batch norm in training mode",
                 "flat": "a model with linear layers in evaluation mode",
                 "dead": "a model with a dead layer in evaluation mode",
                 "breaks": "a model that raises an error halfway through (the error must come through)"}


def _stats_cases(g: torch.Generator, hidden: bool) -> list[Case]:
    kinds = [("digit_cnn_bn_train", 8), ("flat", 6), ("breaks", 2)] if not hidden else [
        ("digit_cnn", 16), ("flat", 8), ("digit_cnn_bn_train", 12), ("dead", 5), ("digit_cnn", 3), ("breaks", 3),
        ("flat", 2)]
    cases = []
    for kind, n in kinds:
        seed = randint(g, 0, 10_000)
        batch = torch.rand(n, 1, 28, 28, generator=g)
        cases.append(Case((batch,), f"{_STATS_LABELS[kind]} and a batch of {n}", {"kind": kind, "seed": seed}))
    return cases


#: What the collected result is in place of statistics when the model's own error came through.
RAISED = "the model's error came through"


def _stats_run(answer, case: Case):
    model = _stats_model(case.extra["kind"], case.extra["seed"])
    if not case.extra["kind"].endswith("train"):
        model.eval()
    mode = model.training
    try:
        result = answer(model, case.args[0])
    except ModelFailure:
        result = RAISED
    hooks = sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())
    return result, hooks, model.training == mode


def _reference_stats(case: Case, *, of=nn.ReLU, zero=lambda a: a.abs() < NEAR_ZERO, top_level=False,
                     percent=False, unbiased=True, inputs=False, mode=None) -> torch.Tensor:
    model = _stats_model(case.extra["kind"], case.extra["seed"])
    if not case.extra["kind"].endswith("train"):
        model.eval()
    if mode is not None:
        model.train(mode == "train")
    wanted = set(model.children()) if top_level else set(model.modules())
    rows = []

    def hook(module, args, output):
        if isinstance(module, of) and module in wanted:
            a = (args[0] if inputs else output).detach().double()
            share = zero(a).double().mean()
            rows.append(torch.stack([a.mean(), a.std(unbiased=unbiased), share * (100 if percent else 1)]))

    handle = torch.nn.modules.module.register_module_forward_hook(hook)  # every module, no per-layer hooks
    try:
        with torch.no_grad():
            model(case.args[0])
    except ModelFailure:
        return RAISED
    finally:
        handle.remove()
    return torch.stack(rows).float() if rows else torch.zeros(0, 3)


def _stats_expected(case: Case):
    return _reference_stats(case)


def _compare_stats(got, expected, case: Case) -> str | None:
    result, hooks, same_mode = got
    if isinstance(expected, str):  # the model raised: so must the answer, leaving no hook behind
        if result != RAISED:
            return ("the model raised an error, but activation_stats returned instead of letting the error through "
                    "(a failing model must not look as if it had run)")
    else:
        problem = compare_tensor(result, expected, case, atol=1e-4, rtol=2e-3)
        if problem:
            return problem
    if hooks:
        return (f"{hooks} hook(s) are still attached to the model afterwards: keep the handles register_forward_hook "
                "returns and call .remove() on each")
    if not same_mode:
        return "the model's mode (training / evaluation) changed: leave it as it was"
    return None


def _relus(case: Case) -> int:
    return sum(isinstance(m, nn.ReLU) for m in _stats_model(case.extra["kind"], case.extra["seed"]).modules())


def _stats_wrong(hooks=lambda case: 0, same_mode=True, **kwargs):
    return lambda case: (_reference_stats(case, **kwargs), hooks(case), same_mode)


def _stats_mode_changed(mode: str):
    """The learner switched the model to ``mode`` (and left it there): wrong statistics, wrong mode afterwards."""
    def model(case: Case):
        in_training = case.extra["kind"].endswith("train")
        changed = (mode == "train") != in_training
        return _reference_stats(case, mode=mode), 0, not changed
    return model


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
        "a forward pre-hook sees the ReLU's input; the statistics are of its output (a forward hook's third "
        "argument).": _stats_wrong(inputs=True),
        f"near zero means |a| < {NEAR_ZERO}, not exactly 0.": _stats_wrong(zero=lambda a: a == 0),
        "the share is a fraction from 0 to 1, not a percentage.": _stats_wrong(percent=True),
        "std as torch.std computes it divides by n - 1 (unbiased), not by n.": _stats_wrong(unbiased=False),
        "when the model raises, the lines after the forward pass never run: remove the hooks in a finally: block, "
        "which runs however the try: block ends.": lambda case: (
            (RAISED, _relus(case), True) if case.extra["kind"] == "breaks" else (_reference_stats(case), 0, True)),
        "the hooks stay on the model: remove each handle when the forward pass is done (handle.remove()).":
            _stats_wrong(hooks=_relus),
        "do not call model.eval(): statistics are taken in the mode the model is in (batch norm in training mode "
        "uses the batch's own statistics), and the model is left as it was.": _stats_mode_changed("eval"),
        "do not call model.train(): statistics are taken in the mode the model is in, and the model is left as "
        "it was.": _stats_mode_changed("train"),
        "switching the model to evaluation mode and back still takes the statistics in the wrong mode: batch norm "
        "in training mode normalises with the batch's own statistics.":
            lambda case: (_reference_stats(case, mode="eval"), 0, True),
    },
    error_hints={"stack expects a non-empty": "no ReLU output was recorded: register the hooks on the nn.ReLU "
                                               "modules before running the batch; they sit inside blocks, and "
                                               "model.modules() walks nested blocks (model.children() does not)."},
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


def _lr_run(answer, case: Case):
    """Call the answer; a NumPy float (what np.cos returns) is a number like any other, kept as a Python float."""
    value = answer(*case.args)
    return float(value) if type(value) in (np.float64, np.float32) else value


def _compare_lr(got, expected: float, case: Case) -> str | None:
    if type(got) is torch.Tensor and got.numel() == 1:
        got = got.item()
    if type(got) not in (int, float):
        return f"expected a number (float), got {type(got).__name__}"
    if not math.isclose(float(got), expected, rel_tol=1e-6, abs_tol=1e-12):
        return f"expected {expected:.6g}, got {float(got):.6g}"
    return None


def _lr_manual(case: Case, *, linear=False, end_at_max=False, peak_at=None, last=None, whole_run=False,
               flipped=False) -> float:
    step, total, max_lr, pct, div, final_div = case.args
    initial = max_lr / div
    final = max_lr / final_div if end_at_max else initial / final_div
    peak = pct * total - 1 if peak_at is None else peak_at(pct, total)
    last = total - 1 if last is None else last(total)
    if step <= peak:
        start, end, t = initial, max_lr, step / peak
    else:
        start, end, t = max_lr, final, (step - peak) / (last - peak)
    if whole_run:
        t = step / (total - 1)
    if linear:
        return start + (end - start) * t
    if flipped:
        return end + (start - end) / 2 * (1 - math.cos(math.pi * t))
    return end + (start - end) / 2 * (math.cos(math.pi * t) + 1)


ONECYCLE_LR = Exercise(
    key="onecycle_lr",
    chapter=CHAPTER,
    answer="onecycle_lr",
    title="onecycle_lr(step, total_steps, max_lr, pct_start, div_factor, final_div_factor)",
    points=2,
    cases=_lr_cases,
    run=_lr_run,
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
        "the warm-up ends at step pct_start * total_steps - 1: pct_start is a share of total_steps, not of "
        "total_steps - 1.": lambda case: _lr_manual(case, peak_at=lambda pct, total: pct * (total - 1)),
        "the last step is total_steps - 1 (steps count from 0): the annealing phase ends there.":
            lambda case: _lr_manual(case, last=lambda total: total),
        "t is the fraction of the current phase that has passed (0 at its start, 1 at its end), not of the "
        "whole run.": lambda case: _lr_manual(case, whole_run=True),
        "at t = 0 the rate must be the phase's start: (1 + cos(pi * t)) / 2 goes from 1 down to 0, "
        "(1 - cos(pi * t)) / 2 the other way.": lambda case: _lr_manual(case, flipped=True),
    },
    error_hints={"division by zero": "a phase that is one step long still needs t: check your phase boundaries."},
    seed=705,
)


# -- stable_cnn: ten digits, a fixed budget, a new seed per check -----------------------------------

#: The validation accuracy a fresh copy must reach (after ``helpers.stability.CHECK_RECIPE``). Placed by
#: ``benchmarks/seeds.py``: the reference passes on 100 of 100 seeds with margin, and every known-bad variant
#: that gets as far as training fails on 100 of 100 (figures in benchmarks/README.md).
ACCURACY_BAR = 0.89
#: Larger models are refused before training, so that a check stays a matter of seconds.
MAX_PARAMS = 150_000
#: The random seed of the fresh copy: the visible check's, then the grader's (one training each).
VISIBLE_SEEDS = (0,)
HIDDEN_SEEDS = (1,)
#: The batch sizes the model is probed with, in evaluation mode, before anything is trained.
PROBE_BATCHES = (1, 7, 64)

#: The layers whose output can be a model's scores: what a linear layer computes, and nothing squashed after.
OUTPUT_LAYERS = (nn.Linear, nn.Conv2d)
#: The layers that normalise their input with statistics (what the "no batch norm" hint looks for).
NORM_LAYERS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.GroupNorm, nn.LayerNorm, nn.InstanceNorm2d)


def _cnn_cases(g: torch.Generator, hidden: bool) -> list[Case]:
    seeds = HIDDEN_SEEDS if hidden else VISIBLE_SEEDS
    return [Case((seed,), f"a fresh model (torch.manual_seed({seed}) before stable_cnn())") for seed in seeds]


def _own_weights(module: nn.Module) -> bool:
    return any(True for _ in module.parameters(recurse=False)) or any(True for _ in module.buffers(recurse=False))


def _executed_layers(model: nn.Module, x: torch.Tensor) -> list[nn.Module]:
    """The modules without children, in the order the forward pass ran them."""
    from helpers.hooks import forward_hooks

    ran: list[nn.Module] = []
    leaves = [m for m in model.modules() if not any(True for _ in m.children())]
    with forward_hooks(leaves, lambda m, args, out: ran.append(m)), torch.no_grad():
        model(x)
    return ran


#: What can run after the output layer, as functions of its scores (flattened per image): a tail that computes
#: one of these is named in the verdict. Anything else that is not affine is "something that squashes".
_SQUASHES = {
    "nn.ReLU": torch.relu,
    "a sigmoid": torch.sigmoid,
    "a softmax": lambda z: torch.softmax(z, dim=1),
    "two softmaxes": lambda z: torch.softmax(torch.softmax(z, dim=1), dim=1),
    "a log-softmax": lambda z: torch.log_softmax(z, dim=1),
    "tanh": torch.tanh,
}


def _tail(model: nn.Module, last: nn.Module, x: torch.Tensor, g: torch.Generator) -> str:
    """What the model does to the output layer's result: "" when it is affine (a reshape, an average), else
    the name of the squashing it applies, found by feeding the rest of the model chosen scores."""
    with torch.no_grad():
        shapes = []
        handle = last.register_forward_hook(lambda m, args, out: shapes.append(out.shape))
        try:
            model(x)
        finally:
            handle.remove()
        u, v = torch.randn(shapes[-1], generator=g) * 3, torch.randn(shapes[-1], generator=g) * 3
        a = 2.5  # an affine combination that leaves the range the scores were in

        def through(z):
            handle = last.register_forward_hook(lambda m, args, out: z)
            try:
                return model(x).double()
            finally:
                handle.remove()

        yu, yv, yw = through(u), through(v), through(a * u + (1 - a) * v)
    if torch.allclose(yw, a * yu + (1 - a) * yv, atol=1e-4, rtol=1e-4):
        return ""
    flat = u.flatten(1).double()
    for name, squash in _SQUASHES.items():
        if flat.shape == yu.shape and torch.allclose(yu, squash(flat), atol=1e-5):
            return name
    return "something that squashes the scores"


def _linear(model: nn.Module, x: torch.Tensor, g: torch.Generator) -> bool:
    """Whether the whole model is affine in its input (no nonlinearity anywhere), in evaluation mode."""
    with torch.no_grad():
        u, v = x, torch.rand(x.shape, generator=g)
        a = 2.5
        yu, yv, yw = (model(t).double() for t in (u, v, a * u + (1 - a) * v))
    return bool(torch.allclose(yw, a * yu + (1 - a) * yv, atol=1e-4, rtol=1e-3))


def _same_weights(a: nn.Module, b: nn.Module) -> bool:
    pa, pb = list(a.parameters()), list(b.parameters())
    try:
        return 0 < len(pa) == len(pb) and all(p.shape == q.shape and torch.equal(p, q) for p, q in zip(pa, pb))
    except (RuntimeError, ValueError):  # lazy layers hold no weights before their first call: nothing to compare
        return False


def _fault(make_model, model: nn.Module, seed: int, valid_x: torch.Tensor) -> str:
    """The first thing wrong with the model's form, checked before (and instead of) training: "" if none."""
    torch.manual_seed(seed)
    again = make_model()
    if again is model or {id(p) for p in again.parameters()} & {id(p) for p in model.parameters()}:
        return "shared"
    torch.manual_seed(seed + 1000)
    other = make_model()
    if _same_weights(model, other):
        return "fixed"
    g = torch.Generator().manual_seed(seed)
    x = valid_x[:8]
    ran = [m for m in _executed_layers(model, x) if _own_weights(m)]
    if not ran:
        return "no weights"
    last = ran[-1]
    if not isinstance(last, OUTPUT_LAYERS):
        return f"last: {type(last).__name__}"
    squash = _tail(model, last, x, g)
    if squash:
        return f"after: {squash}"
    if _linear(model, x, g):
        return "linear"
    return ""


def _train_and_measure(make_model, case: Case):
    from helpers.stability import ten_digits, trained_copy

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
    has_norm = any(isinstance(m, NORM_LAYERS) for m in model.modules())
    _, (valid_x, _) = ten_digits()
    model.eval()  # probe as a trained model is used: batch norm accepts a batch of one
    with torch.no_grad():
        shapes = tuple(tuple(int(s) for s in model(valid_x[:b]).shape) for b in PROBE_BATCHES)
    if not all(shape == (b, 10) for shape, b in zip(shapes, PROBE_BATCHES)):
        return shapes, "", False, 0.0  # nothing else is looked at
    fault = "no conv" if not spatial else _fault(make_model, model, seed, valid_x)
    if fault:
        return shapes, fault, has_norm, 0.0
    _, history = trained_copy(make_model, seed)
    return shapes, "", has_norm, round(float(history.valid_accuracy[-1]), 4)


#: Training is remembered per function object and case (see :class:`~.core.TrainedOnce`).
_cnn_run = TrainedOnce(_train_and_measure)


def _cnn_trial(make_model, seed: int) -> float:
    """One check of ``make_model`` on ``seed`` (``benchmarks/seeds.py``): the accuracy the verdict judges,
    or NaN when the model is refused for its form before any training."""
    shapes, fault, _, accuracy = _train_and_measure(make_model, Case((seed,)))
    right = all(shape == (b, 10) for shape, b in zip(shapes, PROBE_BATCHES))
    return accuracy if right and not fault else float("nan")


def _cnn_expected(case: Case):
    return tuple((b, 10) for b in PROBE_BATCHES), ACCURACY_BAR


#: Why a fault refuses the model, in the verdict's message.
_FAULTS = {
    "no conv": "the model has no nn.Conv2d with a kernel larger than 1x1: a CNN needs convolutions that see "
               "neighbours",
    "shared": "stable_cnn() returned the same model (or the same layers) twice: each call must build a new one",
    "fixed": "stable_cnn() built models with the same weights after different random seeds: each call must draw "
             "new weights",
    "no weights": "the model has no layer with weights",
    "linear": "the model is linear in its input: nothing between its layers bends it (no ReLU), so all its "
              "layers together are one linear map",
}


def _compare_cnn(got, expected, case: Case) -> str | None:
    from helpers.stability import CHECK_RECIPE

    shapes, fault, has_norm, accuracy = got
    e_shapes, bar = expected
    for shape, e_shape in zip(shapes, e_shapes):
        if shape != e_shape:
            return (f"on a batch of {e_shape[0]} digits the model returned shape {shape}, expected {e_shape}: ten "
                    "scores per image (end with nn.Flatten(), and 10 output channels or features)")
    if fault.startswith("last: "):
        return (f"the last layer with weights (or statistics) is {fault[6:]}: the ten scores must come straight "
                "out of a linear layer (nn.Conv2d or nn.Linear), not out of a normalisation")
    if fault.startswith("after: "):
        return (f"the output layer's scores go through {fault[7:]} before they are returned: the model must return "
                "them as they are (any real number), since the loss applies its own softmax")
    if fault:
        return _FAULTS[fault]
    if accuracy < bar:
        epochs = CHECK_RECIPE["epochs"]
        return (f"after {epochs} epoch{'s' if epochs > 1 else ''} the fresh copy reached {accuracy:.1%} validation "
                f"accuracy; at least {bar:.0%} is needed")
    return None


class _Under:
    """Equal to any accuracy under the bar: a mistake model for a model that trains, only not well enough."""

    def __eq__(self, other) -> bool:
        return type(other) is float and other < ACCURACY_BAR

    __hash__ = None


def _cnn_mistake(fault: str = "", has_norm: bool = True, accuracy=0.0):
    return lambda case: (_cnn_expected(case)[0], fault, has_norm, accuracy)


_SCORES_FREE = ("end with the bare output layer (conv(..., act=False) or nn.Linear) and return its scores: "
                "cross-entropy applies the softmax itself")

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
    mistakes={
        "ten digits need ten scores per image: the last layer has 10 outputs, not the 2 of chapter 4's 3s and 7s.":
            lambda case: (tuple((b, 2) for b in PROBE_BATCHES), "", False, 0.0),
        "squeeze() drops every axis of size 1, the batch axis of a batch of one too: end with nn.Flatten().":
            lambda case: (((10,), *((b, 10) for b in PROBE_BATCHES[1:])), "", False, 0.0),
        "a ReLU after the output layer turns every negative score into 0, so the wrong digits cannot be pushed "
        "down: " + _SCORES_FREE + ".": _cnn_mistake("after: nn.ReLU"),
        "a softmax at the end is a second one: cross-entropy applies its own, and the two together flatten the "
        "scores; " + _SCORES_FREE + ".": _cnn_mistake("after: a softmax"),
        "two softmaxes at the end: " + _SCORES_FREE + ".": _cnn_mistake("after: two softmaxes"),
        "a sigmoid squeezes each score into (0, 1): " + _SCORES_FREE + ".": _cnn_mistake("after: a sigmoid"),
        "fit's cross-entropy takes raw scores (logits), not log-probabilities: " + _SCORES_FREE + ".":
            _cnn_mistake("after: a log-softmax"),
        "tanh squeezes each score into (-1, 1): " + _SCORES_FREE + ".": _cnn_mistake("after: tanh"),
        "batch norm belongs to the hidden layers: the last conv() is conv(..., act=False) with bn=False, so that "
        "its scores come out unnormalised.": _cnn_mistake("last: BatchNorm2d"),
        "build the model inside stable_cnn(): a model made once outside the function is the same object on every "
        "call, so the check (and your own experiments) would keep training one model.": _cnn_mistake("shared"),
        "build new layers inside stable_cnn() on every call, without torch.manual_seed inside it and without "
        "copying one model: each fresh copy must draw its own weights.": _cnn_mistake("fixed"),
        "put a ReLU after each hidden convolution (conv() does, unless act=False): without one, stacked layers "
        "collapse into a single linear map.": _cnn_mistake("linear"),
        "the model trains, but not far enough in this budget: without batch normalisation a deep CNN learns "
        "slowly and unevenly; put batch norm after each hidden convolution (conv(..., bn=True)).":
            _cnn_mistake(has_norm=False, accuracy=_Under()),
    },
    error_hints={
        "mat1 and mat2": "the size going into nn.Linear does not match its in_features: print the shape before "
                         "it (helpers.models.print_summary) and use that",
        "Expected 4D": "the model receives a batch of images [N, 1, 28, 28]",
        "expected 4D": "the model receives a batch of images [N, 1, 28, 28]",
        "parameters; keep it under": "use fewer filters, or shrink the maps (stride 2) before a linear layer: "
                                     "a linear layer on large maps has the most weights",
        "not a model": "def stable_cnn(): return nn.Sequential(...) builds a new model each time it is called",
        "should return a model": "stable_cnn() must return the model it builds (an nn.Module)",
    },
    trial=_cnn_trial,
    seed=706,
)


# -- review quiz ----------------------------------------------------------------------------------

def _compare_quiz(what: str, right_type):
    """A quiz's comparison: the type asked for, then the value, never saying which value is right."""
    def compare(got, expected, case: Case) -> str | None:
        if not right_type(got):
            return f"the question asks for {what}; got {type_name(got)}"
        if got != expected:
            return f"{got!r} is not the answer"
        return None
    return compare


def _ints(n: int):
    return lambda v: type(v) is tuple and len(v) == n and all(type(i) is int for i in v)


def _int(v) -> bool:
    return type(v) is int


def _quiz_shape_expected(case: Case) -> tuple[int, ...]:
    return tuple(int(s) for s in nn.Conv2d(3, 16, kernel_size=5).weight.shape)


def _shape_as(order: str):
    """The weight's shape written in another order of its axes (``"oikk"`` is PyTorch's)."""
    def model(case: Case):
        out, inp, k, _ = _quiz_shape_expected(case)
        sizes = {"o": out, "i": inp, "k": k}
        return tuple(sizes[a] for a in order)
    return model


QUIZ_RGB_WEIGHT_SHAPE = Exercise(
    key="quiz_rgb_weight_shape",
    chapter=CHAPTER,
    answer="quiz_rgb_weight_shape",
    title="review question 1 (weights of a colour layer)",
    points=1,
    kind="value",
    cases=quiz_case,
    reference=_quiz_shape_expected,
    compare=_compare_quiz("a tuple of four ints", _ints(4)),
    mistakes={"weights are [out, in, k, k]: the output channels come first, then the input channels.":
              _shape_as("iokk"),
              "each filter has a kernel for *each* input channel: the shape has an axis for the input channels.":
              _shape_as("okk"),
              "that is the [k, k, in, out] layout of Keras and TensorFlow; PyTorch keeps channels first: "
              "[out, in, k, k].": _shape_as("kkio"),
              "PyTorch keeps channels before the kernel's size: [out, in, k, k], not [out, k, k, in].":
              _shape_as("okki"),
              "a layer's weight has no batch axis: [out, in, k, k].": lambda case: (1, *_quiz_shape_expected(case)),
              "that is the shape of the bias, one number per output channel; the weight has four axes.":
              _shape_as("o"),
              "a tuple is written with round brackets; a list (square brackets) is not a shape.":
              lambda case: list(_quiz_shape_expected(case))},
    seed=707,
)


def _quiz_bn_expected(case: Case) -> int:
    return sum(p.numel() for p in nn.BatchNorm2d(32).parameters())


def _bn_counted(what: str):
    """The count of a BatchNorm2d(32) taken the wrong way: its state_dict, tensors instead of numbers..."""
    def model(case: Case):
        bn = nn.BatchNorm2d(32)
        if what == "state":
            return sum(t.numel() for t in bn.state_dict().values())
        if what == "buffers":
            return sum(t.numel() for t in (*bn.parameters(), bn.running_mean, bn.running_var))
        if what == "tensors":
            return len(list(bn.parameters()))
        if what == "gamma":
            return bn.weight.numel()
        if what == "float":
            return float(_quiz_bn_expected(case))
        return 0
    return model


QUIZ_BN_PARAMS = Exercise(
    key="quiz_bn_params",
    chapter=CHAPTER,
    answer="quiz_bn_params",
    title="review question 2 (parameters of batch norm)",
    points=1,
    kind="value",
    cases=quiz_case,
    reference=_quiz_bn_expected,
    compare=_compare_quiz("an int", _int),
    mistakes={"the running mean and variance are buffers, not parameters: they are not learned by the optimizer.":
              _bn_counted("buffers"),
              "the state_dict holds the buffers too (the running statistics and the count of batches); "
              ".parameters() yields only what the optimizer learns.": _bn_counted("state"),
              "count the numbers in each parameter (p.numel()), not the parameter tensors.": _bn_counted("tensors"),
              "batch norm learns a shift (beta, its bias) besides the scale (gamma, its weight).":
              _bn_counted("gamma"),
              "batch norm does learn something: a scale and a shift for every channel.": _bn_counted("none"),
              "a count is a whole number: write it as an int, without a decimal point.": _bn_counted("float")},
    seed=708,
)


def _quiz_peak_expected(case: Case) -> int:
    lrs = [_scheduler_lr(step, 200, 1.0, 0.25, 25.0, 1e4) for step in range(45, 56)]
    return 45 + int(np.argmax(lrs))


def _peak_as(how: str):
    def model(case: Case):
        total, pct = 200, 0.25
        return {"from 1": int(pct * total), "default pct": int(0.3 * total) - 1,
                "default pct from 1": int(0.3 * total), "middle": total // 2 - 1, "start": 0, "end": total - 1,
                "from the end": int((1 - pct) * total) - 1, "float": float(_quiz_peak_expected(case))}[how]
    return model


QUIZ_PEAK_STEP = Exercise(
    key="quiz_peak_step",
    chapter=CHAPTER,
    answer="quiz_peak_step",
    title="review question 3 (when 1cycle peaks)",
    points=1,
    kind="value",
    cases=quiz_case,
    reference=_quiz_peak_expected,
    compare=_compare_quiz("an int", _int),
    mistakes={"steps count from 0: the last step of the warm-up is one less than pct_start * total_steps.":
              _peak_as("from 1"),
              "the question sets pct_start=0.25; 0.3 is only OneCycleLR's default.": _peak_as("default pct"),
              "the question sets pct_start=0.25 (0.3 is only the default), and steps count from 0.":
              _peak_as("default pct from 1"),
              "the peak is not in the middle: the warm-up takes only the share pct_start of the steps.":
              _peak_as("middle"),
              "1cycle starts low, at max_lr / div_factor, and warms up to its peak.": _peak_as("start"),
              "1cycle ends low, far below its start: the last step is its smallest rate.": _peak_as("end"),
              "pct_start is the share of the steps spent warming up, counted from the start.":
              _peak_as("from the end"),
              "a step is a whole number: write it as an int.": _peak_as("float")},
    seed=709,
)

EXERCISES = [TO_CHANNELS, RGB_KERNEL, ACTIVATION_STATS, ONECYCLE_LR, BATCHNORM_FORWARD, STABLE_CNN,
             QUIZ_RGB_WEIGHT_SHAPE, QUIZ_BN_PARAMS, QUIZ_PEAK_STEP]
