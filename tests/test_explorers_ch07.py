"""Chapter 7's explorer: a layer's activation histogram through training, without a browser."""

import subprocess
import sys

import matplotlib.figure
import numpy as np
import pytest
import torch

from helpers import widgets
from helpers.explorers import activation_html, activation_state, colourful_rgb
from helpers.stability import ActivationStats, digit_cnn, ten_digits, train_recorded


@pytest.fixture(scope="module")
def runs():
    """Two short recorded runs (12 steps each) on a slice of the ten digits: one healthy, one dead."""
    (train_x, train_y), (valid_x, valid_y) = ten_digits()
    data = (train_x[:768], train_y[:768]), (valid_x[:200], valid_y[:200])
    recorded = []
    for label, lr in (("lr 0.01", 0.01), ("lr 3", 3.0)):
        torch.manual_seed(0)
        recorded.append(train_recorded(label, digit_cnn(), epochs=1, lr=lr, data=data))
    return recorded


def test_the_recorder_sees_every_relu_once_per_training_step(runs):
    run = runs[0]
    assert [s.name for s in run.stats.layers] == ["0.1", "1.1", "2.1", "3.1"]  # the ReLUs inside conv() blocks
    assert run.stats.steps == len(run.history.step_loss) == 12  # evaluation passes are not recorded
    for layer in run.stats.layers:
        assert len(layer.mean) == len(layer.std) == len(layer.near_zero) == len(layer.hist) == 12
        assert all(0 <= z <= 1 for z in layer.near_zero)
    assert not any(m._forward_hooks for m in run.model.modules()), "hooks left on the model"


def test_recorded_statistics_are_the_activations_of_that_step():
    torch.manual_seed(1)
    model = digit_cnn().train()
    batch = torch.rand(8, 1, 28, 28)
    with ActivationStats(model) as stats:
        model(batch)
    first_relu = torch.relu(model[0][0](batch)).detach()
    layer = stats.layers[0]
    assert layer.mean[0] == pytest.approx(float(first_relu.mean()), rel=1e-5)
    assert layer.std[0] == pytest.approx(float(first_relu.std()), rel=1e-5)
    assert layer.near_zero[0] == pytest.approx(float((first_relu.abs() < 0.01).float().mean()))
    assert float(layer.hist[0].sum()) == first_relu.numel()
    model.eval()
    with ActivationStats(model) as stats:
        model(batch)
    assert stats.steps == 0


def test_a_dead_run_shows_as_dead(runs):
    dead = activation_state(runs[1], layer=-1, step=11)
    assert dead.near_zero > 0.99 and "dead" in activation_html(runs[1], dead)
    alive = activation_state(runs[0], layer=-1, step=11)
    assert alive.near_zero < 0.9 and "dead" not in activation_html(runs[0], alive)


def test_state_is_clipped_and_html_carries_the_numbers(runs):
    state = activation_state(runs[0], layer=7, step=99)
    assert (state.layer, state.step) == (3, 11)
    text = activation_html(runs[0], state)
    assert '<b class="cc-step">12</b>' in text
    assert f'<b class="cc-zero">{100 * state.near_zero:.1f}%</b>' in text
    assert f'<b class="cc-loss">{runs[0].history.step_loss[11]:.3f}</b>' in text


def test_colourful_picture_has_zero_at_the_bottom():
    hist = torch.zeros(3, 40)
    hist[:, 0] = 100  # everything in the first bin (value 0)
    rgb = colourful_rgb(hist)
    assert rgb.shape == (40, 3, 3)
    assert rgb[-1].mean() > rgb[0].mean()  # the bottom row is the bright one


def test_every_control_redraws_and_no_figure_is_made(runs, monkeypatch, capsys):
    made = []
    original = matplotlib.figure.Figure.__init__
    monkeypatch.setattr(matplotlib.figure.Figure, "__init__", lambda self, *a, **k: (made.append(1), original(self, *a, **k))[1])
    explorer = widgets.activation_histograms(runs)
    assert list(explorer.controls) == ["run", "layer", "step"]
    assert explorer.controls["step"].max == 12 and explorer.controls["layer"].value == 4
    for control, value in [("step", 4), ("layer", 1), ("run", "lr 3"), ("step", 2)]:
        before = explorer.view.value
        explorer.controls[control].value = value
        assert explorer.view.value != before, f"moving {control} to {value!r} changed nothing"
    assert made == [] and capsys.readouterr().out == ""


def test_builds_nothing_while_grading(monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    result = widgets.activation_histograms()
    assert isinstance(result, widgets.Skipped) and "not built while grading" in repr(result)


def test_importing_the_chapter_7_helpers_does_nothing():
    code = ("import sys; import helpers.stability, helpers.stability_plots, helpers.photos, helpers.explorers.activations; "
            "assert 'helpers.data' not in sys.modules, 'data imported'; "
            "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'; "
            "assert 'sklearn' not in sys.modules, 'scikit-learn imported'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""


def test_the_photo_is_scikit_learns_own():
    from sklearn.datasets import load_sample_image

    from helpers.photos import chw, grayscale, photo

    img = photo("flower")
    assert img.dtype == np.uint8 and img.shape == (427, 640, 3)
    assert np.array_equal(img, load_sample_image("flower.jpg"))
    assert np.array_equal(photo("flower", step=4), img[::4, ::4])
    img[0, 0] = (1, 2, 3)  # a copy: the next call is untouched
    assert np.array_equal(photo("flower")[0, 0], load_sample_image("flower.jpg")[0, 0])
    x = chw(photo("china", step=8))
    assert x.shape == (3, 54, 80) and x.dtype == torch.float32 and 0 <= float(x.min()) and float(x.max()) <= 1
    gray = grayscale(photo("china", step=8))
    assert torch.allclose(gray, 0.299 * x[0] + 0.587 * x[1] + 0.114 * x[2])
    with pytest.raises(ValueError, match="no photo"):
        photo("sunset")
