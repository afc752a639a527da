"""Chapter 2's exercise definitions against right answers, plausible wrong ones and shortcuts."""

import dataclasses

import pytest
import torch
import torch.nn.functional as F

from helpers.checks import exercise


def verdict(key, answer, hidden=True):
    return exercise(key).verdict(answer, hidden=hidden)


# -- right answers, written differently from the solution notebook --------------

def conv_multi_in_positions(x, kernel):
    """Two loops over positions; each window is a 3-D block multiplied by the 3-D kernel."""
    c, kh, kw = kernel.shape
    h, w = x.shape[1:]
    out = torch.empty(h - kh + 1, w - kw + 1)
    for i in range(h - kh + 1):
        for j in range(w - kw + 1):
            out[i, j] = (x[:, i:i + kh, j:j + kw] * kernel).sum()
    return out


def conv_channels_einsum(x, weight, bias):
    """All kernel offsets at once: shifted copies of x, contracted with the weight by einsum."""
    out_c, in_c, kh, kw = weight.shape
    h, w = x.shape[1:]
    shifts = torch.stack([torch.stack([x[:, u:u + h - kh + 1, v:v + w - kw + 1] for v in range(kw)])
                          for u in range(kh)])                                   # [kh, kw, in, h', w']
    return torch.einsum("uvcij,ocuv->oij", shifts, weight) + bias.reshape(-1, 1, 1)


def conv_param_count_layers(in_channels, out_channels, ks):
    return in_channels * out_channels * ks ** 2 + out_channels * 1


@pytest.mark.parametrize("hidden", [False, True])
def test_right_answers_pass(hidden):
    for key, answer in [("conv_multi_in", conv_multi_in_positions), ("conv_channels", conv_channels_einsum),
                        ("conv_param_count", conv_param_count_layers), ("quiz_weight_shape", (16, 3, 5, 5)),
                        ("quiz_layer_output_shape", (8, 28, 16))]:
        v = verdict(key, answer, hidden)
        assert v.passed, f"{key}: {v.explain()}"
        assert v.points == v.max_points > 0


def test_hidden_cases_are_nastier_than_visible_ones():
    cases = exercise("conv_channels").make_cases(hidden=True)
    shapes = [(c.args[0].shape, c.args[1].shape) for c in cases]
    assert any(x[1] != x[2] for x, _ in shapes), "a non-square input"
    assert any(w[2] != w[3] for _, w in shapes), "a non-square kernel"
    assert any(w[0] != w[1] for _, w in shapes), "in != out"
    assert any(w[0] == 1 for _, w in shapes) and any(w[1] == 1 for _, w in shapes)


# -- wrong answers ------------------------------------------------------------------

def test_conv_multi_in_wrong_answers():
    def per_channel(x, kernel):
        return torch.stack([conv_multi_in_positions(x[c:c + 1], kernel[c:c + 1]) for c in range(x.shape[0])])
    v = verdict("conv_multi_in", per_channel, hidden=False)
    assert not v.passed and "ONE output map" in v.hint

    def mean(x, kernel):
        return conv_multi_in_positions(x, kernel) / x.shape[0]
    assert "averaged" in verdict("conv_multi_in", mean).hint

    def last_only(x, kernel):
        for c in range(x.shape[0]):
            out = conv_multi_in_positions(x[c:c + 1], kernel[c:c + 1])
        return out
    assert "last channel" in verdict("conv_multi_in", last_only).hint

    def first_only(x, kernel):
        return conv_multi_in_positions(x[:1], kernel[:1])
    assert "first channel" in verdict("conv_multi_in", first_only).hint


def test_conv_multi_in_square_only_fails_visible_and_hidden():
    def square_only(x, kernel):
        n, k = x.shape[1], kernel.shape[1]
        out = torch.zeros(n - k + 1, n - k + 1)
        for i in range(n - k + 1):
            for j in range(n - k + 1):
                out[i, j] = (x[:, i:i + k, j:j + k] * kernel).sum()
        return out
    assert not verdict("conv_multi_in", square_only, hidden=False).passed
    assert not verdict("conv_multi_in", square_only, hidden=True).passed


def test_conv_channels_forgotten_bias_is_named():
    def no_bias(x, weight, bias):
        return conv_channels_einsum(x, weight, torch.zeros_like(bias))
    for hidden in (False, True):
        v = verdict("conv_channels", no_bias, hidden)
        assert not v.passed and "bias is missing" in v.hint


def test_conv_channels_bias_per_input_channel_is_named():
    def bias_inside(x, weight, bias):
        return torch.stack([sum(conv_multi_in_positions(x[c:c + 1], weight[o, c:c + 1]) + bias[o]
                                for c in range(x.shape[0])) for o in range(weight.shape[0])])
    v = verdict("conv_channels", bias_inside)
    assert not v.passed and "once, after summing" in v.hint


def test_conv_channels_swapped_weight_axes():
    def swapped(x, weight, bias):
        """Reads the weight as [in, out, kh, kw]."""
        n_in, n_out = weight.shape[0], weight.shape[1]
        return torch.stack([sum(conv_multi_in_positions(x[c:c + 1], weight[c, o][None]) for c in range(n_in))
                            + bias[o] for o in range(n_out)])
    # visible: the square case with in == out gets the hint by its values ...
    exercise_ = exercise("conv_channels")
    cases = exercise_.make_cases(False)
    square = [c for c in cases if c.args[1].shape[0] == c.args[1].shape[1]]
    assert square, "the visible cases need one with in == out"
    v = verdict("conv_channels", swapped, hidden=False)
    assert not v.passed and "[out, in, kh, kw]" in v.explain(), v.explain()
    # ... a case with in == out runs without error and gets the hint from the wrong-answer model:
    v = dataclasses.replace(exercise_, cases=lambda g, hidden: square).verdict(swapped)
    assert not v.passed and "you read the weight as [in, out, kh, kw]" in v.hint, v.explain()
    # ... and where in != out the learner's code either breaks or gives the wrong number of maps:
    # both are explained with the layout.
    v = verdict("conv_channels", swapped, hidden=True)
    assert not v.passed and "[out, in, kh, kw]" in v.explain(), v.explain()

    def swapped_loops(x, weight, bias):
        """The same confusion, written with indices: x[c] for c < weight.shape[0] runs past x."""
        return torch.stack([sum(conv_multi_in_positions(x[c][None], weight[c, o][None])
                                for c in range(weight.shape[0])) + bias[o] for o in range(weight.shape[1])])
    v = verdict("conv_channels", swapped_loops, hidden=True)
    assert not v.passed and "out of bounds" in v.message and "[out, in, kh, kw]" in v.hint, v.explain()


def test_conv_channels_one_output_map():
    def first_kernel_only(x, weight, bias):
        return conv_channels_einsum(x, weight[:1], bias[:1])
    v = verdict("conv_channels", first_kernel_only)
    assert not v.passed and "one per kernel" in v.hint


@pytest.mark.parametrize("key", ["conv_multi_in", "conv_channels"])
@pytest.mark.parametrize("name", ["F.conv2d", "nn.Conv2d", "unfold"])
def test_shortcuts_are_refused(key, name):
    def layer_like(x, weight, bias=None):
        if name == "F.conv2d":
            return F.conv2d(x[None], weight, bias)[0]
        if name == "nn.Conv2d":
            layer = torch.nn.Conv2d(weight.shape[1], weight.shape[0], tuple(weight.shape[-2:]), bias=bias is not None)
            with torch.no_grad():
                layer.weight.copy_(weight)
                if bias is not None:
                    layer.bias.copy_(bias)
                return layer(x)
        kh, kw = weight.shape[-2:]
        cols = F.unfold(x[None], (kh, kw))[0]
        out = weight.reshape(weight.shape[0], -1) @ cols
        out = out.reshape(weight.shape[0], x.shape[1] - kh + 1, x.shape[2] - kw + 1)
        return out if bias is None else out + bias[:, None, None]

    answer = (lambda x, kernel: layer_like(x, kernel[None])[0]) if key == "conv_multi_in" else layer_like
    v = verdict(key, answer)
    assert not v.passed and "by hand" in v.message, v.explain()


def test_conv_param_count_wrong_answers():
    assert "biases are missing" in verdict("conv_param_count", lambda i, o, k: o * i * k * k).hint
    assert "not per input channel" in verdict("conv_param_count", lambda i, o, k: o * i * k * k + i).hint
    assert "ks * ks" in verdict("conv_param_count", lambda i, o, k: o * i * k + o).hint
    assert "in_channels too" in verdict("conv_param_count", lambda i, o, k: o * k * k + o).hint
    v = verdict("conv_param_count", lambda i, o, k: float(o * i * k * k + o))
    assert not v.passed and "int" in v.message


def test_quiz_wrong_answers():
    assert "output channels first" in verdict("quiz_weight_shape", (3, 16, 5, 5)).hint
    assert not verdict("quiz_weight_shape", [16, 3, 5, 5]).passed
    assert "four axes" in verdict("quiz_weight_shape", (16, 5, 5)).hint
    assert "one output map per kernel" in verdict("quiz_layer_output_shape", (3, 28, 16)).hint
    assert "no axis of their own" in verdict("quiz_layer_output_shape", (8, 3, 28, 16)).hint
    assert "n - 5 + 1" in verdict("quiz_layer_output_shape", (8, 27, 15)).hint
    assert not verdict("quiz_layer_output_shape", (8, 28, 28)).passed


def test_quiz_references_do_not_touch_the_global_random_state():
    state = torch.get_rng_state()
    verdict("quiz_layer_output_shape", (8, 28, 16))
    verdict("conv_param_count", conv_param_count_layers)
    assert torch.equal(state, torch.get_rng_state())
