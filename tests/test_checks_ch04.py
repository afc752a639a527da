"""Chapter 4's exercise definitions against right answers, plausible wrong ones and shortcuts."""

import math

import pytest
import torch
from torch import nn

from helpers.checks import exercise
from helpers.models import activations, conv, format_summary, layer_summary, simple_cnn as course_cnn


def verdict(key, answer, hidden=True):
    return exercise(key).verdict(answer, hidden=hidden)


# -- right answers, written differently from the solution notebook --------------

def stack_params_by_layers(channels, ks=3):
    pairs = list(zip(channels, channels[1:]))
    return sum(math.prod((nf, ni, ks, ks)) for ni, nf in pairs) + sum(channels[1:])


def conv_shapes_ceil(input_shape, filters):
    _, h, w = input_shape
    shapes = []
    for nf in filters:
        h, w = -(-h // 2), -(-w // 2)  # stride 2, ks 3, padding 1 rounds up
        shapes.append((nf, h, w))
    return shapes


class SimpleCNN(nn.Module):
    """The same network as a class with its own forward, instead of nn.Sequential."""

    def __init__(self):
        super().__init__()
        widths = [1, 4, 8, 16, 32, 2]
        self.convs = nn.ModuleList(nn.Conv2d(a, b, 3, 2, 1) for a, b in zip(widths, widths[1:]))

    def forward(self, x):
        for i, layer in enumerate(self.convs):
            x = layer(x)
            if i < len(self.convs) - 1:
                x = torch.relu(x)
        return x.flatten(1)


@pytest.mark.parametrize("hidden", [False, True])
def test_right_answers_pass(hidden):
    for key, answer in [("stack_params", stack_params_by_layers), ("conv_shapes", conv_shapes_ceil),
                        ("simple_cnn", SimpleCNN()),
                        ("simple_cnn", nn.Sequential(conv(1, 4), conv(4, 8), conv(8, 16), conv(16, 32),
                                                     conv(32, 2, act=False), nn.Flatten())),
                        ("quiz_stride2_size", 4), ("quiz_cnn_params", 6722), ("quiz_mult_adds", 18432)]:
        v = verdict(key, answer, hidden)
        assert v.passed, f"{key}: {v.explain()}"
        assert v.points == v.max_points > 0


# -- wrong answers ------------------------------------------------------------------

def test_stack_params_wrong_answers():
    no_bias = lambda channels, ks: sum(a * b * ks * ks for a, b in zip(channels, channels[1:]))
    assert "biases" in verdict("stack_params", no_bias).hint
    no_inputs = lambda channels, ks: sum(b * ks * ks + b for b in channels[1:])
    assert "input channels" in verdict("stack_params", no_inputs).hint
    ks_once = lambda channels, ks: sum(a * b * ks + b for a, b in zip(channels, channels[1:]))
    assert "ks * ks" in verdict("stack_params", ks_once).hint
    fixed_3x3 = lambda channels, ks: stack_params_by_layers(channels, 3)
    assert verdict("stack_params", fixed_3x3, hidden=False).passed
    assert not verdict("stack_params", fixed_3x3).passed, "the hidden cases vary the kernel size"
    as_float = lambda channels, ks: float(stack_params_by_layers(channels, ks))
    assert "whole number" in verdict("stack_params", as_float).message


def test_conv_shapes_floor_fails_and_is_named():
    def halving(input_shape, filters):
        _, h, w = input_shape
        return [(nf, h // 2 ** (i + 1), w // 2 ** (i + 1)) for i, nf in enumerate(filters)]
    v = verdict("conv_shapes", halving, hidden=False)
    assert not v.passed and "rounds odd sizes" in v.hint


def test_conv_shapes_square_only_fails_visible_and_hidden():
    def square(input_shape, filters):
        _, n, _ = input_shape
        return [(nf, n, n) for nf, n, _ in conv_shapes_ceil((1, n, n), filters)]
    assert not verdict("conv_shapes", square, hidden=False).passed
    assert not verdict("conv_shapes", square).passed


def test_conv_shapes_other_mistakes():
    swapped = lambda s, f: [(c, w, h) for c, h, w in conv_shapes_ceil(s, f)]
    assert "swapped" in verdict("conv_shapes", swapped).hint
    with_batch = lambda s, f: [(1, *t) for t in conv_shapes_ceil(s, f)]
    assert "batch axis" in verdict("conv_shapes", with_batch).message
    floats = lambda s, f: [(c, h / 1, w / 1) for c, h, w in conv_shapes_ceil(s, f)]
    assert "whole numbers" in verdict("conv_shapes", floats).message
    assert not verdict("conv_shapes", lambda s, f: conv_shapes_ceil(s, f)[:-1]).passed


def test_conv_shapes_running_layers_is_refused():
    def by_running(input_shape, filters):
        x = torch.zeros(1, *input_shape)
        shapes = []
        for nf in filters:
            x = conv(x.shape[1], nf)(x)
            shapes.append(tuple(x.shape[1:]))
        return shapes
    v = verdict("conv_shapes", by_running)
    assert not v.passed and "by hand" in v.message and "formula" in v.hint


def _seed_cnn(last=2, flatten=True, last_act=False, widths=(4, 8, 16, 32)):
    layers = [conv(a, b) for a, b in zip((1, *widths), widths)]
    layers.append(conv(widths[-1], last, act=last_act))
    return nn.Sequential(*layers, *([nn.Flatten()] if flatten else []))


def test_simple_cnn_wrong_models_are_named():
    assert "nn.Flatten" in verdict("simple_cnn", _seed_cnn(flatten=False), hidden=False).message
    assert "2 output channels" in verdict("simple_cnn", _seed_cnn(last=1), hidden=False).message
    assert "no ReLU" in verdict("simple_cnn", _seed_cnn(last_act=True), hidden=False).message

    class Softmaxed(SimpleCNN):
        def forward(self, x):
            return super().forward(x).softmax(dim=1)
    v = verdict("simple_cnn", Softmaxed(), hidden=False)
    assert not v.passed and "softmax" in v.message and "after the last convolution" in v.message
    v = verdict("simple_cnn", _seed_cnn(widths=(4, 4, 4, 4)), hidden=False)
    assert not v.passed and "shapes after each convolution" in v.message


def test_simple_cnn_squeeze_fails_on_a_batch_of_one():
    class Squeezed(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = _seed_cnn(flatten=False)

        def forward(self, x):
            return self.body(x).squeeze()
    for hidden in (False, True):
        v = verdict("simple_cnn", Squeezed(), hidden=hidden)
        assert not v.passed and "batch axis" in v.message


def test_simple_cnn_refuses_non_models_and_the_course_copy():
    assert "nn.Module" in verdict("simple_cnn", lambda x: torch.zeros(len(x), 2)).message
    assert "course's own copy" in verdict("simple_cnn", course_cnn()).message
    v = verdict("simple_cnn", nn.Sequential(nn.Flatten(), nn.Linear(784, 2)), hidden=False)
    assert not v.passed


def test_quiz_wrong_answers():
    assert "padding" in verdict("quiz_stride2_size", 3).hint
    assert not verdict("quiz_stride2_size", 4.0).passed
    assert "biases" in verdict("quiz_cnn_params", 6660).hint
    assert "1 channel" in verdict("quiz_cnn_params", 6722 - 289).hint
    assert "output is 2x2" in verdict("quiz_mult_adds", 4 * 4 * 32 * 16 * 9).hint
    assert "16 input channels" in verdict("quiz_mult_adds", 2 * 2 * 32 * 9).hint


# -- the helpers the chapter teaches with ---------------------------------------------

def test_layer_summary_measures_the_seed_model():
    rows = layer_summary(course_cnn())
    convs = [r for r in rows if r.kind == "Conv2d"]
    assert [r.output_shape for r in convs] == [(1, 4, 14, 14), (1, 8, 7, 7), (1, 16, 4, 4), (1, 32, 2, 2),
                                               (1, 2, 1, 1)]
    assert sum(r.params for r in rows) == sum(p.numel() for p in course_cnn().parameters()) == 6722
    # one dot product of length in_channels * 3 * 3 per output value
    assert [r.mult_adds for r in convs] == [14 * 14 * 4 * 9, 7 * 7 * 8 * 36, 4 * 4 * 16 * 72, 2 * 2 * 32 * 144,
                                            2 * 288]
    assert rows[-1].output_shape == (1, 2) and rows[-1].kind == "Flatten"
    text = format_summary(rows, (1, 1, 28, 28))
    assert "6,722" in text and "[1, 32, 2, 2]" in text
    linear = layer_summary(nn.Sequential(nn.Flatten(), nn.Linear(784, 30)), (1, 1, 28, 28))
    assert linear[-1].mult_adds == 784 * 30 and linear[-1].params == 784 * 30 + 30


def test_activations_are_every_layers_output():
    model = course_cnn()
    x = torch.rand(3, 1, 28, 28)
    acts = activations(model, x)
    assert [name for name, _ in acts][:3] == ["0.0 Conv2d", "0.1 ReLU", "1.0 Conv2d"]
    assert torch.equal(acts[-1][1], model(x).detach())
    assert torch.equal(acts[1][1], torch.relu(model[0][0](x)).detach())
    assert not any(layer._forward_hooks for layer in model.modules()), "hooks must be removed"


def test_fit_records_history_and_prints_a_text_bar():
    import io

    from helpers.train import fit, three_vs_seven

    (tx, ty), (vx, vy) = three_vs_seven()
    torch.manual_seed(0)
    out = io.StringIO()
    history = fit(course_cnn(), (tx[:128], ty[:128]), (vx[:50], vy[:50]), epochs=2, batch_size=32, stream=out)
    assert len(history.step_loss) == 2 * history.steps_per_epoch == 8
    assert len(history.valid_accuracy) == len(history.valid_loss) == len(history.train_loss) == 2
    assert all(0 <= a <= 1 for a in history.valid_accuracy)
    text = out.getvalue()
    assert "epoch 2/2 [" in text and "valid accuracy" in text and "\r" in text


def test_budget_is_smaller_under_nbgrader(monkeypatch):
    from helpers.train import budget, under_grading

    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    assert not under_grading() and budget(8, 2) == 8
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert under_grading() and budget(8, 2) == 2


def test_trained_simple_cnn_is_a_fresh_trained_copy():
    from helpers.models import trained_simple_cnn
    from helpers.train import accuracy, three_vs_seven

    first = trained_simple_cnn()
    with torch.no_grad():
        first[0][0].weight.zero_()
    second = trained_simple_cnn()
    assert second is not first and not torch.equal(second[0][0].weight, first[0][0].weight)
    _, (vx, vy) = three_vs_seven()
    assert accuracy(second, vx, vy) >= 0.97, "chapter 4 states about 98% for this model"


def test_simple_cnn_probe_leaves_the_models_mode_alone():
    model = SimpleCNN().train()
    assert verdict("simple_cnn", model, hidden=True).passed
    assert model.training
