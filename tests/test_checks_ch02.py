"""Chapter 2's exercise definitions: what the catalogue (grader/catalogue/ch02.py) does not prove.

The right answers, the wrong ones and the shortcuts of every exercise live in the catalogue,
run by tests/test_catalogue.py; here: the design of the cases the hints rely on, and the
references' independence from the global random state.
"""

import dataclasses

import torch

from helpers.checks import exercise


def verdict(key, answer, hidden=True):
    return exercise(key).verdict(answer, hidden=hidden)


def conv_channels_swapped(x, weight, bias):
    """Reads the weight as [in, out, kh, kw] (vectorised, so that it runs wherever in == out)."""
    out_c, in_c, kh, kw = weight.shape
    h, w = x.shape[1:]
    shifts = torch.stack([torch.stack([x[:, u:u + h - kh + 1, v:v + w - kw + 1] for v in range(kw)])
                          for u in range(kh)])
    return torch.einsum("uvcij,couv->oij", shifts, weight) + bias.reshape(-1, 1, 1)


def test_hidden_cases_are_nastier_than_visible_ones():
    cases = exercise("conv_channels").make_cases(hidden=True)
    shapes = [(c.args[0].shape, c.args[1].shape) for c in cases]
    assert any(x[1] != x[2] for x, _ in shapes), "a non-square input"
    assert any(w[2] != w[3] for _, w in shapes), "a non-square kernel"
    assert any(w[0] != w[1] for _, w in shapes), "in != out"
    assert any(w[0] == 1 for _, w in shapes) and any(w[1] == 1 for _, w in shapes)


def test_the_visible_cases_of_conv_channels_let_each_hint_be_exact():
    """in != out (a swapped layout then fails loudly), in == out (it runs and its values are named), and maps
    as wide as there are output maps (a bias added along the columns runs, and is named by its values)."""
    cases = exercise("conv_channels").make_cases(hidden=False)
    shapes = [(tuple(c.args[0].shape), tuple(c.args[1].shape)) for c in cases]
    assert any(w[0] != w[1] for _, w in shapes) and any(w[0] == w[1] for _, w in shapes), shapes
    assert any(w[2] != w[3] for _, w in shapes), shapes
    assert all(x[2] - w[3] + 1 == w[0] != x[1] - w[2] + 1 for x, w in shapes), shapes


def test_a_swapped_layout_that_runs_gets_the_layout_hint_from_its_values():
    ex = exercise("conv_channels")
    square = [c for c in ex.make_cases(False) if c.args[1].shape[0] == c.args[1].shape[1]]
    v = dataclasses.replace(ex, cases=lambda g, hidden: square).verdict(conv_channels_swapped)
    assert not v.passed and "you read the weight as [in, out, kh, kw]" in v.hint, v.explain()


def test_quiz_references_do_not_touch_the_global_random_state():
    state = torch.get_rng_state()
    verdict("quiz_layer_output_shape", (8, 28, 16))
    verdict("conv_param_count", lambda i, o, k: o * i * k * k + o)
    assert torch.equal(state, torch.get_rng_state())
