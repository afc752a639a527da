"""Chapter 7's checks beyond the catalogue (grader/catalogue/ch07.py holds every wrong and right answer).

Here: what the references mean (PyTorch's own schedule, the colour kernel on the photo, a dead layer's
statistics), the shortcuts the by-hand batch norm refuses, messages that are not hints, and that the
seed benchmark finds the solution's answer in the solution notebook.
"""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from helpers.checks import exercise


def verdict(key, answer, hidden=True):
    return exercise(key).verdict(answer, hidden=hidden)


def test_rgb_kernel_means_what_the_chapter_says_on_the_photo():
    """The reference's meaning, on real pixels: the colour layer equals the kernel on the grayscale image."""
    from helpers.checks.core import Case
    from helpers.photos import LUMA, chw, grayscale, photo

    kernel = torch.tensor([[-1., -1., -1.], [0., 0., 0.], [1., 1., 1.]])
    weight = exercise("rgb_kernel").reference(Case((kernel, torch.tensor(LUMA))))
    img = photo("flower", step=8)
    assert torch.allclose(F.conv2d(chw(img)[None], weight), F.conv2d(grayscale(img)[None, None], kernel[None, None]),
                          atol=1e-5)


def test_to_channels_cases_include_dim_images():
    """Dividing by the image's own maximum or stretching it only shows on images that do not span 0-255."""
    for hidden in (False, True):
        images = [c.args[0] for c in exercise("to_channels").make_cases(hidden)]
        assert any(img.max() < 255 and img.min() > 0 for img in images)
        assert any(img.max() == 255 for img in images)


@pytest.mark.parametrize("shortcut", ["instance_norm", "group_norm"])
def test_batchnorm_forward_refuses_other_normalisations(shortcut):
    def answer(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
        if shortcut == "instance_norm":  # a batch norm of the whole batch seen as one image
            out = F.instance_norm(x.transpose(0, 1).reshape(1, x.shape[1], -1))
        else:
            out = F.group_norm(x, x.shape[1])
        return out, running_mean, running_var
    v = verdict("batchnorm_forward", answer, hidden=False)
    assert not v.passed and "by hand" in v.message, v.explain()


def test_batchnorm_forward_wrong_return_shape_is_named():
    v = verdict("batchnorm_forward", lambda x, *args: x, hidden=False)
    assert not v.passed and "tuple (out, running_mean, running_var)" in v.message


def test_batchnorm_messages_show_a_small_difference():
    """A variance off by n / (n - 1) must not read "expected 1.096, got 1.096"."""
    from helpers.checks.ch07 import _close_values

    text = _close_values(torch.tensor([1.09641]), torch.tensor([1.09612]))
    assert "1.09612" in text and "1.09641" in text and "larger" in text


def test_activation_stats_sees_a_dead_layer():
    """The hidden case with a dead layer: its share is exactly 1, its mean and spread 0."""
    ex = exercise("activation_stats")
    case = next(c for c in ex.make_cases(hidden=True) if c.extra["kind"] == "dead")
    stats = ex.reference(case)
    assert stats.shape == (2, 3) and stats[1].tolist() == [0.0, 0.0, 1.0]


def test_activation_stats_checks_a_model_that_raises_and_one_in_training_mode_visibly():
    kinds = {c.extra["kind"] for c in exercise("activation_stats").make_cases(hidden=False)}
    assert {"breaks", "digit_cnn_bn_train"} <= kinds


def test_onecycle_reference_is_pytorchs_schedule():
    """The reference steps a real OneCycleLR: its first, peak and last rates are the documented ones."""
    from helpers.checks.ch07 import _scheduler_lr

    assert _scheduler_lr(0, 100, 1.0, 0.3, 25.0, 1e4) == pytest.approx(1 / 25)
    assert _scheduler_lr(29, 100, 1.0, 0.3, 25.0, 1e4) == pytest.approx(1.0)
    assert _scheduler_lr(99, 100, 1.0, 0.3, 25.0, 1e4) == pytest.approx(1 / 25 / 1e4)


def test_stable_cnn_refuses_form_before_training_and_names_what_ran_after_the_output_layer():
    """The structural checks are deterministic and cost no training: a squashed output is named."""
    import time

    from helpers.checks.ch07 import _train_and_measure
    from helpers.checks.core import Case
    from helpers.stability import digit_cnn

    start = time.perf_counter()
    for tail, name in [(nn.ReLU(), "nn.ReLU"), (nn.Softmax(dim=1), "a softmax"), (nn.Tanh(), "tanh")]:
        shapes, fault, has_norm, accuracy = _train_and_measure(
            lambda: nn.Sequential(*digit_cnn(bn=True), tail.__class__(**({"dim": 1} if name == "a softmax" else {}))),
            Case((0,)))
        assert fault == f"after: {name}" and accuracy == 0.0 and has_norm
    assert time.perf_counter() - start < 10


def test_the_seed_benchmark_runs_the_solutions_own_answer():
    from benchmarks.seeds import bar_of, reference_answer

    ex = exercise("stable_cnn")
    make = reference_answer(ex)
    model = make()
    assert isinstance(model, nn.Module) and make() is not model
    assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    assert 0.5 < bar_of(ex) < 1


def _solution_text() -> str:
    from grader.authoring import notebooks

    nb = notebooks.read(notebooks.notebook_path("07-colour-and-stable-training", "solutions"))
    return "\n".join(c.source for c in nb.cells)


def test_the_exercise_states_the_checks_recipe_and_bar():
    """The prose of stable_cnn says how the check trains; the recipe itself lives in helpers.stability."""
    from helpers.checks.ch07 import ACCURACY_BAR
    from helpers.stability import CHECK_RECIPE

    r = CHECK_RECIPE
    text = " ".join(_solution_text().split())
    assert (f"epochs={r['epochs']}, lr={r['lr']}, batch_size={r['batch_size']}, "
            f"schedule=\"{r['schedule']}\"") in text
    assert f"**{ACCURACY_BAR:.0%}**" in text
