"""Chapter 7's exercise definitions against right answers, the listed wrong ones and shortcuts.

Every listed mistake must fail the *visible* check (a learner never reads "Passed" for it) and the
hidden one, with its hint.
"""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from helpers.checks import exercise
from helpers.checks.ch07 import ACCURACY_BAR, NEAR_ZERO
from helpers.models import conv
from helpers.stability import digit_cnn


def verdict(key, answer, hidden=True):
    return exercise(key).verdict(answer, hidden=hidden)


def fails_with(key, answer, hint_part):
    """The answer fails the visible and the hidden check, and both name the mistake."""
    for hidden in (False, True):
        v = verdict(key, answer, hidden)
        assert not v.passed, f"{key} passed a wrong answer (hidden={hidden})"
        assert v.hint and hint_part in v.hint, f"{key} (hidden={hidden}): {v.explain()}"


# -- right answers, written differently from the solution notebook ------------------------------

def to_channels_numpy(img):
    return torch.tensor(np.transpose(img, (2, 0, 1)), dtype=torch.float32) / 255.0


def rgb_kernel_loop(kernel, mix):
    w = torch.empty(1, 3, *kernel.shape)
    for c in range(3):
        w[0, c] = kernel * float(mix[c])
    return w


def batchnorm_per_channel(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    out = torch.empty_like(x)
    new_mean, new_var = running_mean.clone(), running_var.clone()
    for c in range(x.shape[1]):
        values = x[:, c]
        if training:
            n = values.numel()
            mean = values.sum() / n
            var = ((values - mean) ** 2).sum() / n
            new_mean[c] = (1 - momentum) * running_mean[c] + momentum * mean
            new_var[c] = (1 - momentum) * running_var[c] + momentum * var * n / max(n - 1, 1)
        else:
            mean, var = running_mean[c], running_var[c]
        out[:, c] = (values - mean) / torch.sqrt(var + eps) * gamma[c] + beta[c]
    return out, new_mean, new_var


def activation_stats_pre_hooks(model, batch):
    """Hooks on the ReLUs' *inputs* (forward pre-hooks), the ReLU applied by hand: same numbers."""
    rows, handles = [], []

    def before(module, inputs):
        a = F.relu(inputs[0])
        rows.append([a.mean().item(), a.std().item(), (a.abs() < NEAR_ZERO).double().mean().item()])

    for m in model.modules():
        if isinstance(m, nn.ReLU):
            handles.append(m.register_forward_pre_hook(before))
    try:
        with torch.no_grad():
            model(batch)
    finally:
        for h in handles:
            h.remove()
    return torch.tensor(rows)


def onecycle_by_phases(step, total_steps, max_lr, pct_start=0.3, div_factor=25.0, final_div_factor=1e4):
    low = max_lr / div_factor
    phases = [(0.0, pct_start * total_steps - 1, low, max_lr),
              (pct_start * total_steps - 1, total_steps - 1, max_lr, low / final_div_factor)]
    for begin, end, a, b in phases:
        if step <= end or end == phases[-1][1]:
            frac = (step - begin) / (end - begin)
            return b + (a - b) * (math.cos(math.pi * frac) + 1) / 2
    raise AssertionError


def stable_cnn_pooled():
    """A different design from the solution's: stride-1 convolutions, batch norm, max pooling, a linear head."""
    return nn.Sequential(nn.Conv2d(1, 16, 5, padding=2, bias=False), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(32 * 49, 10))


@pytest.mark.parametrize("hidden", [False, True])
def test_right_answers_pass(hidden):
    for key, answer in [("to_channels", to_channels_numpy), ("rgb_kernel", rgb_kernel_loop),
                        ("batchnorm_forward", batchnorm_per_channel), ("activation_stats", activation_stats_pre_hooks),
                        ("onecycle_lr", onecycle_by_phases), ("quiz_rgb_weight_shape", (16, 3, 5, 5)),
                        ("quiz_bn_params", 64), ("quiz_peak_step", 49)]:
        v = verdict(key, answer, hidden)
        assert v.passed, f"{key}: {v.explain()}"
        assert v.points == v.max_points > 0


def test_a_different_stable_cnn_passes_on_every_seed():
    v = verdict("stable_cnn", stable_cnn_pooled, hidden=True)
    assert v.passed and v.cases == 2, v.explain()


def test_the_solutions_stable_cnn_passes_visible_and_hidden():
    def solution():
        return nn.Sequential(conv(1, 8, bn=True), conv(8, 16, bn=True), conv(16, 32, bn=True), conv(32, 64, bn=True),
                             conv(64, 10, act=False), nn.Flatten())
    for hidden in (False, True):
        v = verdict("stable_cnn", solution, hidden)
        assert v.passed, v.explain()


# -- to_channels ----------------------------------------------------------------------------------

def test_to_channels_mistakes():
    fails_with("to_channels", lambda img: torch.from_numpy(img).permute(2, 0, 1).float(), "divide by 255")
    fails_with("to_channels", lambda img: torch.from_numpy(img).permute(2, 0, 1).float() / 256, "not by 256")
    fails_with("to_channels", lambda img: torch.from_numpy(img).float().reshape(3, *img.shape[:2]) / 255, "reshape")
    fails_with("to_channels", lambda img: torch.from_numpy(img).permute(2, 1, 0).float() / 255, "permute(2, 0, 1)")
    v = verdict("to_channels", lambda img: torch.from_numpy(img).permute(2, 0, 1), hidden=False)
    assert not v.passed and "floating-point" in v.message
    v = verdict("to_channels", lambda img: np.transpose(img, (2, 0, 1)) / 255, hidden=False)
    assert not v.passed and "numpy.ndarray" in v.message


# -- rgb_kernel -------------------------------------------------------------------------------------

def test_rgb_kernel_mistakes():
    fails_with("rgb_kernel", lambda k, mix: k.repeat(1, 3, 1, 1), "scale the kernel")
    fails_with("rgb_kernel", lambda k, mix: (mix[:, None, None] * k)[:, None], "not [3, 1, k, k]")
    fails_with("rgb_kernel", lambda k, mix: mix[:, None, None] * k, "output axis")
    fails_with("rgb_kernel", lambda k, mix: (mix[:, None, None] * k / 3)[None], "not divided by 3")


def test_rgb_kernel_means_what_the_chapter_says_on_the_photo():
    """The reference's meaning, on real pixels: the colour layer equals the kernel on the grayscale image."""
    from helpers.photos import LUMA, chw, grayscale, photo

    kernel = torch.tensor([[-1., -1., -1.], [0., 0., 0.], [1., 1., 1.]])
    weight = exercise("rgb_kernel").reference(exercise("rgb_kernel").make_cases()[0].__class__(
        (kernel, torch.tensor(LUMA))))
    img = photo("flower", step=8)
    assert torch.allclose(F.conv2d(chw(img)[None], weight), F.conv2d(grayscale(img)[None, None], kernel[None, None]),
                          atol=1e-5)


# -- batchnorm_forward ------------------------------------------------------------------------------

def _bn(**wrong):
    def forward(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
        dims = wrong.get("dims", (0, 2, 3))
        use_batch = training or wrong.get("batch_in_eval")
        if use_batch:
            mean = x.mean(dim=dims, keepdim=True)
            var = x.var(dim=dims, keepdim=True, unbiased=bool(wrong.get("unbiased_norm")))
        else:
            mean, var = running_mean.view(1, -1, 1, 1), running_var.view(1, -1, 1, 1)
        if wrong.get("eps_outside"):
            out = (x - mean) / (var.sqrt() + eps)
        else:
            out = (x - mean) / (var + eps).sqrt()
        out = out * gamma.view(1, -1, 1, 1) + beta.view(1, -1, 1, 1)
        if training or wrong.get("update_in_eval"):
            batch_mean = x.mean(dim=(0, 2, 3))
            batch_var = x.var(dim=(0, 2, 3), unbiased=not wrong.get("biased_running"))
            keep = momentum if wrong.get("swapped") else 1 - momentum
            running_mean = keep * running_mean + (1 - keep) * batch_mean
            running_var = keep * running_var + (1 - keep) * batch_var
        return out, running_mean, running_var
    return forward


def test_batchnorm_forward_as_written_here_is_right():
    assert verdict("batchnorm_forward", _bn()).passed


@pytest.mark.parametrize("wrong, hint", [
    ({"unbiased_norm": True}, "normalise with the biased variance"),
    ({"biased_running": True}, "running variance with the *unbiased*"),
    ({"update_in_eval": True}, "update them only in training"),
    ({"batch_in_eval": True}, "not with the batch's own"),
    ({"batch_in_eval": True, "update_in_eval": True}, "for training only"),
    ({"swapped": True}, "weight of the *new* batch statistic"),
    ({"eps_outside": True}, "inside the square root"),
    ({"dims": (1, 2, 3)}, "per channel, over the batch and every position"),
    ({"dims": (0,)}, "a mean per pixel"),
    ({"dims": (2, 3)}, "instance normalisation"),
])
def test_batchnorm_forward_mistakes(wrong, hint):
    fails_with("batchnorm_forward", _bn(**wrong), hint)


@pytest.mark.parametrize("shortcut", ["F.batch_norm", "nn.BatchNorm2d", "instance_norm", "group_norm"])
def test_batchnorm_forward_must_be_by_hand(shortcut):
    def answer(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
        rm, rv = running_mean.clone(), running_var.clone()
        if shortcut == "F.batch_norm":
            out = F.batch_norm(x, rm, rv, gamma, beta, training, momentum, eps)
        elif shortcut == "nn.BatchNorm2d":
            layer = nn.BatchNorm2d(x.shape[1], eps=eps, momentum=momentum)
            layer.load_state_dict({"weight": gamma, "bias": beta, "running_mean": rm, "running_var": rv,
                                   "num_batches_tracked": torch.tensor(0)})
            layer.train(training)
            out = layer(x).detach()
            rm, rv = layer.running_mean, layer.running_var
        elif shortcut == "instance_norm":  # a batch norm of the whole batch seen as one image
            out = F.instance_norm(x.transpose(0, 1).reshape(1, x.shape[1], -1))
        else:
            out = F.group_norm(x, x.shape[1])
        return out, rm, rv
    v = verdict("batchnorm_forward", answer, hidden=False)
    assert not v.passed and "by hand" in v.message, v.explain()


def test_batchnorm_forward_wrong_return_shape():
    v = verdict("batchnorm_forward", lambda *args: _bn()(*args)[0], hidden=False)
    assert not v.passed and "tuple (out, running_mean, running_var)" in v.message


# -- activation_stats -------------------------------------------------------------------------------

def _stats(*, modules=lambda model: model.modules(), of=nn.ReLU, zero=lambda a: a.abs() < NEAR_ZERO,
           scale=1.0, leave_hooks=False, switch_mode=False):
    def answer(model, batch):
        rows = []
        hook = lambda m, i, out: rows.append(torch.stack([out.mean(), out.std(), zero(out).float().mean() * scale]))
        handles = [m.register_forward_hook(hook) for m in modules(model) if isinstance(m, of)]
        if switch_mode:
            model.eval() if model.training else model.train()
        with torch.no_grad():
            model(batch)
        if not leave_hooks:
            for h in handles:
                h.remove()
        return torch.stack(rows)
    return answer


def test_activation_stats_as_written_here_is_right():
    assert verdict("activation_stats", _stats()).passed


def test_activation_stats_mistakes():
    v = verdict("activation_stats", _stats(modules=lambda model: model.children()), hidden=False)
    assert not v.passed and "model.modules()" in v.hint, v.explain()
    fails_with("activation_stats", _stats(of=nn.Conv2d), "before the ReLU")
    fails_with("activation_stats", _stats(zero=lambda a: a == 0), "not exactly 0")
    fails_with("activation_stats", _stats(scale=100.0), "not a percentage")
    for hidden in (False, True):
        v = verdict("activation_stats", _stats(leave_hooks=True), hidden)
        assert not v.passed and "still attached" in v.message, v.explain()
        v = verdict("activation_stats", _stats(switch_mode=True), hidden)
        assert not v.passed and "mode" in v.message, v.explain()


def test_activation_stats_sees_a_dead_layer():
    """The hidden case with a dead layer: its share is exactly 1, its mean and spread 0."""
    ex = exercise("activation_stats")
    case = next(c for c in ex.make_cases(hidden=True) if c.extra["kind"] == "dead")
    stats = ex.reference(case)
    assert stats.shape == (2, 3) and stats[1].tolist() == [0.0, 0.0, 1.0]


# -- onecycle_lr ------------------------------------------------------------------------------------

def _lr(*, linear=False, end_at_max=False, peak=lambda pct, total: pct * total - 1):
    def answer(step, total_steps, max_lr, pct_start=0.3, div_factor=25.0, final_div_factor=1e4):
        initial = max_lr / div_factor
        final = (max_lr if end_at_max else initial) / final_div_factor
        p = peak(pct_start, total_steps)
        start, end, t = (initial, max_lr, step / p) if step <= p else \
            (max_lr, final, (step - p) / (total_steps - 1 - p))
        if linear:
            return start + (end - start) * t
        return end + (start - end) * (1 + math.cos(math.pi * t)) / 2
    return answer


def test_onecycle_lr_mistakes():
    assert verdict("onecycle_lr", _lr()).passed
    fails_with("onecycle_lr", _lr(linear=True), "half a cosine")
    fails_with("onecycle_lr", _lr(end_at_max=True), "*initial* one divided")
    fails_with("onecycle_lr", _lr(peak=lambda pct, total: pct * total), "count from 0")
    fails_with("onecycle_lr", _lr(peak=lambda pct, total: round(pct * total) - 1), "do not round")
    v = verdict("onecycle_lr", lambda *args: str(_lr()(*args)), hidden=False)
    assert not v.passed and "expected a number" in v.message


def test_onecycle_reference_is_pytorchs_schedule():
    """The reference steps a real OneCycleLR: its first, peak and last rates are the documented ones."""
    from helpers.checks.ch07 import _scheduler_lr

    assert _scheduler_lr(0, 100, 1.0, 0.3, 25.0, 1e4) == pytest.approx(1 / 25)
    assert _scheduler_lr(29, 100, 1.0, 0.3, 25.0, 1e4) == pytest.approx(1.0)
    assert _scheduler_lr(99, 100, 1.0, 0.3, 25.0, 1e4) == pytest.approx(1 / 25 / 1e4)


# -- stable_cnn -------------------------------------------------------------------------------------

def test_stable_cnn_without_batch_norm_fails_on_accuracy():
    v = verdict("stable_cnn", digit_cnn, hidden=False)
    assert not v.passed and "validation accuracy" in v.message and f"{ACCURACY_BAR:.0%}" in v.message, v.explain()


def test_stable_cnn_wrong_shapes_kinds_and_sizes():
    v = verdict("stable_cnn", lambda: nn.Sequential(conv(1, 8, bn=True), conv(8, 2, act=False),
                                                    nn.AdaptiveAvgPool2d(1), nn.Flatten()), hidden=False)
    assert not v.passed and "expected (1, 10)" in v.message

    class Squeeze(nn.Module):
        def forward(self, x):
            return x.squeeze()
    v = verdict("stable_cnn", lambda: nn.Sequential(*digit_cnn(bn=True)[:-1], Squeeze()), hidden=False)
    assert not v.passed and "batch of 1" in v.message

    v = verdict("stable_cnn", digit_cnn(bn=True), hidden=False)
    assert not v.passed and "function that returns a new model" in v.message
    v = verdict("stable_cnn", lambda: "a model", hidden=False)
    assert not v.passed and "nn.Module" in v.message
    v = verdict("stable_cnn", lambda: nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10)),
                hidden=False)
    assert not v.passed and "larger than 1x1" in v.message
    v = verdict("stable_cnn", lambda: nn.Sequential(nn.Conv2d(1, 64, 3, padding=1), nn.Flatten(),
                                                    nn.Linear(64 * 784, 10)), hidden=False)
    assert not v.passed and "parameters" in v.message


def test_quiz_wrong_answers():
    assert "[out, in, k, k]" in verdict("quiz_rgb_weight_shape", (3, 16, 5, 5)).hint
    assert "4 numbers" in verdict("quiz_rgb_weight_shape", (16, 5, 5)).hint
    assert not verdict("quiz_rgb_weight_shape", [16, 3, 5, 5]).passed
    assert "buffers" in verdict("quiz_bn_params", 128).hint
    assert "two numbers per channel" in verdict("quiz_bn_params", 32).hint
    assert "count from 0" in verdict("quiz_peak_step", 50).hint
