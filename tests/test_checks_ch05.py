"""Chapter 5's exercise definitions and the gradient method behind them.

Right answers written differently from the solution notebook (the closed form, the backward recursion of
Araujo et al.) must pass; plausible wrong answers must fail with the hint for their mistake.
"""

import math
import random

import numpy as np
import pytest
import torch
from torch import nn

from helpers import receptive
from helpers.checks import exercise
from helpers.checks.ch05 import FIXED_STACKS, TWO_STRIDE_2, simple_cnn_like


def verdict(key, answer, hidden=True):
    return exercise(key).verdict(answer, hidden=hidden)


# -- right answers, written differently from the solution notebook -----------------------

def fields_closed_form(layers):
    """r_l = 1 + sum over i <= l of (k_i - 1) * (product of the strides before layer i)."""
    return [1 + sum((k - 1) * math.prod(s for _, s, _ in layers[:i]) for i, (k, _, _) in enumerate(layers[:n]))
            for n in range(1, len(layers) + 1)]


def region_backwards(layers, row, col):
    """Araujo et al.'s backward recursion: u_(l-1) = s*u_l - p, v_(l-1) = s*v_l - p + k - 1."""
    def span(i):
        u = v = i
        for k, s, p in reversed(layers):
            u, v = s * u - p, s * v - p + k - 1
        return (u, v)
    return (span(row), span(col))


@pytest.mark.parametrize("hidden", [False, True])
def test_right_answers_pass(hidden):
    for key, answer in [("receptive_fields", fields_closed_form), ("input_region", region_backwards),
                        ("quiz_simple_cnn_field", 125), ("quiz_edge_pixels", 28), ("quiz_jump", 32)]:
        v = verdict(key, answer, hidden)
        assert v.passed, f"{key}: {v.explain()}"
        assert v.points == v.max_points > 0


def test_hidden_cases_cover_what_the_issue_asks():
    stacks = [case.args[0] for case in exercise("receptive_fields").make_cases(hidden=True)]
    layers = [layer for stack in stacks for layer in stack]
    assert {len(s) for s in stacks} == {1, 2, 3, 4, 5}
    assert {k for k, _, _ in layers} == set(range(1, 8))
    assert {s for _, s, _ in layers} == {1, 2, 3}
    assert {p for _, _, p in layers} == {0, 1, 2, 3}
    cases = exercise("input_region").make_cases(hidden=True)
    assert len(cases) >= 40
    negative = [c for c in cases if region_backwards(*c.args)[0][0] < 0]
    interior = [c for c in cases if c.args[1] > 0 and c.args[2] > 0]
    assert negative and interior, "corner cells (fields on padding) and interior cells"


# -- wrong answers ---------------------------------------------------------------------------

def fields_with(update):
    def answer(layers):
        size, jump, out = 1, 1, []
        for k, s, p in layers:
            size, jump = update(size, jump, k, s, p)
            out.append(size)
        return out
    return answer


@pytest.mark.parametrize("update, hint", [
    (lambda r, j, k, s, p: (r + (k - 1) * s, j * s), "jump so far"),
    (lambda r, j, k, s, p: (r + (k - 1) * j * s, j * s), "before using it"),
    (lambda r, j, k, s, p: (r + k * j, j * s), "k - 1 cells"),
    (lambda r, j, k, s, p: (r + (k - 1 + 2 * p) * j, j * s), "does not make a field bigger"),
], ids=["current-stride", "jump-first", "whole-kernel", "padding-grows"])
def test_receptive_fields_mistakes_are_named(update, hint):
    wrong = fields_with(update)
    assert not verdict("receptive_fields", wrong, hidden=False).passed
    v = verdict("receptive_fields", wrong)
    assert not v.passed and v.hint and hint in v.hint, v.explain()


def test_receptive_fields_starting_from_zero_is_named():
    def from_zero(layers):
        return [r - 1 for r in fields_closed_form(layers)]
    assert "start from size 1" in verdict("receptive_fields", from_zero).hint


def test_receptive_fields_wrong_types_fail():
    assert "list" in verdict("receptive_fields", lambda layers: tuple(fields_closed_form(layers))).message
    v = verdict("receptive_fields", lambda layers: [np.int64(r) for r in fields_closed_form(layers)])
    assert v.passed, v.explain()  # NumPy's integers are whole numbers like any other
    v = verdict("receptive_fields", lambda layers: fields_closed_form(layers)[-1])
    assert not v.passed
    v = verdict("receptive_fields", lambda layers: [float(r) for r in fields_closed_form(layers)])
    assert not v.passed and "floats" in v.hint


def test_hard_coded_visible_answers_fail_the_hidden_checks():
    for key, right in (("receptive_fields", fields_closed_form), ("input_region", region_backwards)):
        table = {repr(case.args): right(*case.args) for case in exercise(key).make_cases(hidden=False)}

        def memorised(*args):
            return table.get(repr(args), right(*args[:1], *(0 for _ in args[1:])) if key == "input_region" else [1])
        assert verdict(key, memorised, hidden=False).passed
        assert not verdict(key, memorised, hidden=True).passed


def region_with(mistake):
    def answer(layers, row, col):
        size, jump, start = 1, 1, 0
        for k, s, p in layers:
            size += (k - 1) * jump
            start -= {"no_padding": 0, "unscaled": p}.get(mistake, p * jump)
            jump *= s
        if mistake == "last_stride":
            jump = layers[-1][1]

        def span(i):
            top = start + i * jump
            if mistake == "clipped":
                return (max(top, 0), top + size - 1)
            return (top, top + size if mistake == "exclusive" else top + size - 1)
        return (span(col), span(row)) if mistake == "swapped" else (span(row), span(col))
    return answer


@pytest.mark.parametrize("mistake, hint", [
    ("no_padding", "left out the padding"),
    ("unscaled", "subtract p * j_in"),
    ("exclusive", "both ends are included"),
    ("last_stride", "product of all strides"),
    ("swapped", "swapped"),
    ("clipped", "unclipped"),
])
def test_input_region_mistakes_are_named(mistake, hint):
    wrong = region_with(mistake)
    assert not verdict("input_region", wrong, hidden=False).passed
    v = verdict("input_region", wrong)
    assert not v.passed and v.hint and hint in v.hint, v.explain()


def test_input_region_wrong_shapes_fail():
    v = verdict("input_region", lambda *a: [list(x) for x in region_backwards(*a)])
    assert not v.passed and "tuple" in v.message
    v = verdict("input_region", lambda *a: tuple((t / 1, b / 1) for t, b in region_backwards(*a)))
    assert not v.passed and "floats" in v.hint
    v = verdict("input_region", lambda layers, row, col: region_backwards(layers, row, col)[0])
    assert not v.passed


def test_measuring_instead_of_computing_is_refused():
    """The exercise is the recurrence: running convolutions (the checker's own method) is refused."""
    def measured(layers, row, col):
        return receptive.field_box(layers, row, col).ranges()
    v = verdict("input_region", measured)
    assert not v.passed and "by hand" in v.message and "recurrence" in v.hint

    def measured_sizes(layers):
        return receptive.field_sizes(layers)
    assert not verdict("receptive_fields", measured_sizes).passed


def test_quiz_wrong_answers():
    assert "larger than the image" in verdict("quiz_simple_cnn_field", 28).hint
    assert "3x3 kernels" in verdict("quiz_simple_cnn_field", 63).hint
    assert not verdict("quiz_simple_cnn_field", 125.0).passed
    assert "padding" in verdict("quiz_edge_pixels", 49).hint
    assert "corner" in verdict("quiz_edge_pixels", 16).hint
    assert "own stride" in verdict("quiz_jump", 2).hint
    assert not verdict("quiz_jump", 4).passed


# -- the gradient method itself ----------------------------------------------------------------

def test_references_are_anchored_to_the_hand_computation():
    assert receptive.field_box(TWO_STRIDE_2, 3, 3).ranges() == ((9, 15), (9, 15))
    assert receptive.field_box(TWO_STRIDE_2, 0, 0).ranges() == ((-3, 3), (-3, 3))
    assert receptive.field_sizes([(3, 2, 1)] * 5) == [3, 7, 15, 31, 63]
    assert receptive.field_jumps([(3, 2, 1)] * 5) == [2, 4, 8, 16, 32]


def test_gradient_boxes_agree_with_the_backward_recursion_on_unconstrained_stacks():
    rng = random.Random(5)
    for _ in range(40):
        layers = [(rng.randint(1, 7), rng.randint(1, 3), rng.randint(0, 3)) for _ in range(rng.randint(1, 4))]
        row, col = rng.randint(0, 5), rng.randint(0, 5)
        assert receptive.field_box(layers, row, col).ranges() == region_backwards(layers, row, col), layers


def test_clipped_box_is_the_clipped_field_unless_the_field_has_holes():
    for layers in ([(3, 2, 1), (3, 2, 1)], [(5, 2, 2), (3, 1, 1), (3, 2, 1)], [(4, 2, 1), (2, 1, 0)]):
        rows, cols = receptive.map_sizes(layers, 23, 17)[-1]
        for row, col in [(0, 0), (rows - 1, cols - 1), (rows // 2, cols // 2)]:
            assert receptive.clipped_box(layers, 23, 17, row, col) == \
                receptive.field_box(layers, row, col).clip(23, 17)
    # a 1x1 kernel with stride 2 skips pixels: 9 of the 25 pixels of the box feed the cell
    grad = receptive.gradient_maps([(1, 2, 0), (3, 1, 1)], 28, 28, 6, 6)[0]
    assert int((grad != 0).sum()) == 9
    assert receptive.box_of(grad != 0) == receptive.field_box([(1, 2, 0), (3, 1, 1)], 6, 6)


def test_map_sizes_are_pytorchs():
    x = torch.zeros(1, 1, 31, 20)
    for layers in FIXED_STACKS:
        out = x
        for k, s, p in layers:
            out = nn.Conv2d(1, 1, k, stride=s, padding=p)(out)
        assert receptive.map_sizes(layers, 31, 20)[-1] == tuple(out.shape[-2:])
    with pytest.raises(ValueError, match="too small"):
        receptive.map_sizes([(7, 1, 0)] * 3, 10, 10)


def test_model_gradient_leaves_the_model_alone_and_measures_simple_cnn():
    model = simple_cnn_like()
    before = [p.detach().clone() for p in model.parameters()]
    grad = receptive.model_gradient(model[:-1], 28, 28, 0, 0)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
    assert int((grad != 0).sum()) == 28 * 28  # the one output cell sees the whole digit
    big = receptive.box_of(receptive.model_gradient(model[:-1], 160, 160, 2, 2) != 0)
    assert (big.height, big.width) == (63, 63)


def test_figures_are_labelled_and_leave_pyplot_alone():
    import matplotlib.pyplot as plt

    from helpers.plots import show_fields_by_depth, show_gradient_field, show_receptive_field

    img = torch.rand(28, 28)
    maps = [torch.rand(14, 14), torch.rand(7, 7)]
    figs = [show_receptive_field(img, maps, TWO_STRIDE_2, 0, 0),
            show_gradient_field(img, receptive.gradient_maps(TWO_STRIDE_2, 28, 28, 3, 3)[0],
                                receptive.field_box(TWO_STRIDE_2, 3, 3)),
            show_fields_by_depth(img, [("conv2", receptive.field_box(TWO_STRIDE_2, 3, 3))])]
    assert plt.get_fignums() == []
    for fig in figs:
        assert all(ax.get_title() for ax in fig.axes)
    assert figs[0]._repr_png_()[:4] == b"\x89PNG"
    assert "4x4 inside" in figs[0].axes[0].get_title()
    with pytest.raises(ValueError):
        show_receptive_field(img, maps[:1], TWO_STRIDE_2, 0, 0)
