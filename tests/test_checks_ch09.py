"""Chapter 9's checks: what the catalogue cannot express (case design, references independent of the solution).

The catalogue (grader/catalogue/ch09.py) proves each check by the wrong answers it rejects and the right
ones it accepts; here the references themselves are tested against a third computation, the cases
against what they are meant to contain, and a measured check against the seeds it could meet.
"""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from helpers.checks import ch09, exercise

torch.set_num_threads(1)


# -- learn_kernel ---------------------------------------------------------------------------------

@pytest.mark.parametrize("hidden", [False, True])
def test_the_least_squares_kernel_is_where_the_gradient_vanishes_and_fits_to_the_noise(hidden):
    """The reference is the loss's minimum (its gradient, computed by autograd, is 0 there), and what it
    leaves unexplained is no more than the targets' noise."""
    ex = exercise("learn_kernel")
    for case in ex.make_cases(hidden):
        images, targets, ks, _, _ = case.args
        best = ex.reference(case).double().requires_grad_()
        loss = ((F.conv2d(images.double()[:, None], best[None, None])[:, 0] - targets.double()) ** 2).mean()
        (grad,) = torch.autograd.grad(loss, (best,))
        assert grad.abs().max() < 1e-6
        # the noise is small: the best kernel explains all but about the noise's share of the targets
        assert loss.item() < 2 * ch09._LK_NOISE ** 2


def test_learn_kernel_cases_try_other_kernel_sizes_and_non_square_images_only_in_hiding():
    ex = exercise("learn_kernel")
    visible = {(c.args[2], c.args[0].shape[1] == c.args[0].shape[2]) for c in ex.make_cases()}
    hidden = {c.args[2] for c in ex.make_cases(hidden=True)}
    assert {ks for ks, _ in visible} == {3} and {2, 5} <= hidden
    assert any(not square for _, square in visible)


def test_a_diverging_update_gets_a_one_line_hint_not_a_traceback():
    def climbs(images, targets, ks, steps, lr):
        kernel = torch.zeros(ks, ks)
        for _ in range(steps):
            kernel = kernel + lr * (kernel + 1)
        return kernel

    verdict = exercise("learn_kernel").verdict(climbs)
    assert not verdict.passed and "diverged" in verdict.message and "kernel -= lr * gradient" in verdict.hint


# -- kaiming_init ---------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [c.args[0] for c in exercise("kaiming_init").make_cases(hidden=True)])
def test_the_measured_variance_of_a_right_answer_cannot_flip_with_the_seed(shape):
    """Over 30 seeds a correct draw always rounds to fan_in * variance = 2.0 and sqrt(fan_in) * mean = 0.0."""
    fan_in = math.prod(shape[1:])
    for seed in range(30):
        w = torch.randn(shape, generator=torch.Generator().manual_seed(seed)) * math.sqrt(2 / fan_in)
        assert round(float(w.double().var(unbiased=False)) * fan_in, 1) == 2.0
        assert round(float(w.double().mean()) * math.sqrt(fan_in), 1) + 0.0 == 0.0


def test_every_kaiming_mistake_differs_from_the_right_answer_on_the_visible_convolution():
    """(On a linear layer's shape, fan_in without the kernel is the right count: the mistake is invisible there.)"""
    ex = exercise("kaiming_init")
    for case in [c for c in ex.make_cases() if len(c.args[0]) == 4]:
        right = ex.reference(case)
        for hint, wrong in ex.mistakes.items():
            assert wrong(case) != right, hint


# -- grad_check -----------------------------------------------------------------------------------

@pytest.mark.parametrize("hidden", [False, True])
def test_the_central_difference_reference_agrees_with_autograd(hidden):
    ex = exercise("grad_check")
    for case in ex.make_cases(hidden):
        x, grad, eps = case.args
        numeric, _ = ex.reference(case)
        exact = ch09._gc_true_grad(case.extra["f"], x)
        assert torch.allclose(numeric.double(), exact, atol=1e-3 * max(1.0, float(exact.abs().max())))


def test_grad_check_cases_include_right_and_wrong_gradients_and_a_function_that_mixes_entries():
    for hidden in (False, True):
        cases = exercise("grad_check").make_cases(hidden)
        errors = [exercise("grad_check").reference(c)[1] for c in cases]
        assert min(errors) < 1e-4 and max(errors) > 0.01
        assert any(c.extra["f"] == "a conv loss" for c in cases)  # a nudge never undone shows only there


# -- batchnorm_backward ---------------------------------------------------------------------------

@pytest.mark.parametrize("hidden", [False, True])
def test_the_autograd_reference_agrees_with_batch_norm_written_out(hidden):
    """F.batch_norm's gradients (the reference) equal those of the formulas differentiated by autograd."""
    ex = exercise("batchnorm_backward")
    for case in ex.make_cases(hidden):
        expected = ex.reference(case)
        if expected == ch09.REFUSED:
            with pytest.raises(ValueError, match="more than 1 value per channel"):
                F.batch_norm(case.args[1], None, None, training=True)
            continue
        for a, b in zip(expected, ch09.batchnorm_gradients(*case.args)):
            assert torch.allclose(a, b, atol=1e-5, rtol=1e-4)


def test_batchnorm_cases_hold_a_lone_value_per_channel_and_a_channel_near_eps():
    visible = exercise("batchnorm_backward").make_cases()
    hidden = exercise("batchnorm_backward").make_cases(hidden=True)
    assert any(ch09._one_per_channel(c) for c in visible)
    tiny = [c for c in hidden if not ch09._one_per_channel(c) and float(c.args[1][:, 0].var()) < 1e-4]
    assert tiny, "no hidden case has a channel whose variance is comparable to eps"


# -- res_block ------------------------------------------------------------------------------------

@pytest.mark.parametrize("c_in, c_out, stride", [(8, 8, 1), (4, 8, 2), (6, 6, 2), (5, 3, 1), (16, 32, 2)])
def test_the_parameter_formula_counts_what_real_layers_hold(c_in, c_out, stride):
    layers = [nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out),
              nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False), nn.BatchNorm2d(c_out)]
    if c_in != c_out or stride != 1:
        layers += [nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out)]
    assert ch09.block_params(c_in, c_out, stride) == sum(p.numel() for m in layers for p in m.parameters())


def test_res_block_cases_cover_identity_and_projection_in_sight_and_more_in_hiding():
    kinds = lambda cases: {(c.args[0] == c.args[1], c.args[2]) for c in cases}
    assert kinds(exercise("res_block").make_cases()) == {(True, 1), (False, 2)}
    assert {(True, 2), (False, 1)} <= kinds(exercise("res_block").make_cases(hidden=True))


def test_the_quiz_answers_are_measured_on_real_layers():
    block = nn.Sequential(nn.Conv2d(16, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32),
                          nn.Conv2d(32, 32, 3, 1, 1, bias=False), nn.BatchNorm2d(32),
                          nn.Conv2d(16, 32, 1, 2, bias=False), nn.BatchNorm2d(32))
    assert exercise("quiz_block_params").reference(None) == sum(p.numel() for p in block.parameters())
    shape = tuple(nn.Conv2d(16, 32, 3, 2, 1)(torch.zeros(8, 16, 15, 15)).shape)
    assert exercise("quiz_block_shape").reference(None) == shape


# -- the depth explorer ---------------------------------------------------------------------------

def test_the_depth_explorer_says_in_words_what_the_numbers_show():
    from helpers.explorers import depth_stats, verdict_in_words

    plain, residual = depth_stats(20, 0.5, False), depth_stats(20, 0.5, True)
    assert len(plain.activation_rms) == len(plain.gradient_rms) == 20
    assert plain.gradient_rms[0] < plain.gradient_rms[-1] / 100
    assert "gradient reaching layer 1 vanished" in verdict_in_words(plain)
    assert "vanished" not in verdict_in_words(residual)
    assert "exploded" in verdict_in_words(depth_stats(20, 2.0, False))
    with pytest.raises(ValueError, match="depth must be at least 1"):
        depth_stats(0, 1.0, False)


def test_the_depth_widget_labels_every_control_and_redraws_on_a_move():
    from helpers.widgets import depth

    explorer = depth(depth=10, scale=0.5)
    assert all(control.description for control in explorer.controls.values())
    before = explorer.view.value
    assert 'role="img"' in before and "cc-depth" in before
    explorer.controls["depth"].value = 30
    assert explorer.view.value != before and "30 plain layers" in explorer.view.value


# -- res_cnn --------------------------------------------------------------------------------------

def _digits(n: int = 16) -> torch.Tensor:
    from helpers.stability import ten_digits

    _, (valid_x, _) = ten_digits()
    return valid_x[:n]


def test_the_shortcut_probe_tells_the_depth_experiments_nets_apart():
    """helpers.deep's two nets (no batch norm, written for the experiment, not from the solution): the same 18
    hidden convolutions, the residual one survives their silencing, the plain one does not."""
    from helpers.deep import plain_net, residual_net

    x = _digits()
    for make, expected in ((plain_net, False), (residual_net, True)):
        torch.manual_seed(0)
        model = make().eval()
        assert len(ch09.hidden_convs(model, x[:8])) == 18
        before = [p.clone() for p in model.parameters()]
        assert ch09.bypassed(model, x[:8], x[8:]) is expected
        assert all(torch.equal(p, q) for p, q in zip(before, model.parameters())), "the probe changed the model"


def test_a_shortcut_around_some_layers_only_is_not_enough():
    """A residual block followed by two plain convolutions: one silenced plain layer cuts every path."""
    class Residual(nn.Module):
        def __init__(self, width):
            super().__init__()
            self.conv1, self.conv2 = nn.Conv2d(width, width, 3, padding=1), nn.Conv2d(width, width, 3, padding=1)

        def forward(self, x):
            return F.relu(x + self.conv2(F.relu(self.conv1(x))))

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 8, 3, 2, 1), nn.ReLU(), Residual(8), nn.Conv2d(8, 8, 3, padding=1),
                          nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10)).eval()
    x = _digits()
    assert len(ch09.hidden_convs(model, x[:8])) == 3
    assert not ch09.bypassed(model, x[:8], x[8:])


def test_res_cnn_grading_trains_another_seed_and_probes_other_batches():
    visible, = exercise("res_cnn").make_cases()
    hidden, = exercise("res_cnn").make_cases(hidden=True)
    assert visible.args != hidden.args
    assert 1 in visible.extra["batches"] and 5 in hidden.extra["batches"]
    assert 0 < ch09.ACCURACY_BAR < 1 and ch09.MIN_HIDDEN_CONVS >= 4
