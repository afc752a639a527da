"""Chapter 5's exercise definitions and the gradient method behind them.

Right and wrong answers, each with the hint it must get, live in the catalogue (grader/catalogue/ch05.py,
run by tests/test_catalogue.py); here: what the cases cover, and the gradient method the references rest on.
"""

import random

import pytest
import torch
from torch import nn

from helpers import receptive
from helpers.checks import exercise
from helpers.checks.ch05 import FIXED_STACKS, TWO_STRIDE_2, simple_cnn_like


def region_backwards(layers, row, col):
    """Araujo et al.'s backward recursion: u_(l-1) = s*u_l - p, v_(l-1) = s*v_l - p + k - 1."""
    def span(i):
        u = v = i
        for k, s, p in reversed(layers):
            u, v = s * u - p, s * v - p + k - 1
        return (u, v)
    return (span(row), span(col))


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


def test_the_visible_check_has_a_field_of_even_size():
    """A region counted from a centre is only wrong for a field of even size: the visible check has one."""
    sizes = {region_backwards(*c.args)[0][1] - region_backwards(*c.args)[0][0] + 1
             for c in exercise("input_region").make_cases(hidden=False)}
    assert any(size % 2 == 0 for size in sizes), sizes


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
