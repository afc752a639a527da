"""Chapter 8's explorer (its computation against PyTorch's own layers, the widget driven like a learner)
and its stamps figure."""

import itertools
import re

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from helpers import widgets
from helpers.explorers import arithmetic_html, arithmetic_state

SETTINGS = [(n, ks, stride, pad, d) for n, ks, stride, pad, d in
            itertools.product(range(1, 11), range(1, 5), range(1, 4), range(0, 3), range(1, 4))]


def _text(html: str, cls: str) -> str:
    match = re.search(rf'class="{cls}"[^>]*>(.*?)</(b|div)>', html, re.S)
    assert match, f"no element of class {cls}"
    return re.sub(r"<[^>]+>", "", match.group(1))


@pytest.mark.parametrize("n,ks,stride,pad,d", SETTINGS[::7])
def test_state_agrees_with_pytorch(n, ks, stride, pad, d):
    state = arithmetic_state(n, ks, stride, pad, d, index=10**6)  # any index: clamped to the last cell
    span = d * (ks - 1) + 1
    if n + 2 * pad < span:
        assert state.out == 0 and state.cell is None and not state.taps
        with pytest.raises(RuntimeError):
            nn.Conv2d(1, 1, ks, stride, pad, dilation=d)(torch.zeros(1, 1, n, n))
        return
    conv = nn.Conv2d(1, 1, ks, stride=stride, padding=pad, dilation=d, bias=False)
    assert state.out == conv(torch.zeros(1, 1, n, n)).shape[-1]
    # the taps of the last cell: exactly the padded pixels its output value depends on
    x = torch.zeros(1, 1, n + 2 * pad, n + 2 * pad, requires_grad=True)
    nn.init.constant_(conv.weight, 1.0)
    conv.padding = (0, 0)
    conv(x)[0, 0, state.cell[0], state.cell[1]].backward()
    assert set(map(tuple, x.grad[0, 0].nonzero().tolist())) == set(state.taps)
    # reads per padded pixel: how many windows use it
    reads = F.conv_transpose2d(torch.ones(1, 1, state.out, state.out), torch.ones(1, 1, ks, ks), stride=stride,
                               dilation=d)[0, 0]
    full = torch.zeros(n + 2 * pad, n + 2 * pad)
    full[:reads.shape[0], :reads.shape[1]] = reads
    assert torch.equal(torch.from_numpy(state.reads).float(), full)
    # the way back: a real transposed convolution, with the output_padding the state found
    back = F.conv_transpose2d(torch.ones(1, 1, state.out, state.out), torch.ones(1, 1, ks, ks), stride=stride,
                              padding=pad, output_padding=state.output_padding or 0, dilation=d)[0, 0]
    assert state.back + (state.output_padding or 0) == back.shape[-1]
    if state.output_padding is not None:
        assert back.shape[-1] == n
    assert torch.equal(torch.from_numpy(state.coverage).float(), back)


def test_output_padding_is_found_exactly_when_pytorch_allows_it():
    state = arithmetic_state(8, 3, 2, 1, 1)       # 8 -> 4 -> 7: one more row needed
    assert (state.out, state.back, state.output_padding) == (4, 7, 1)
    assert any("output_padding=1" in r for r in state.remarks)
    state = arithmetic_state(9, 3, 4, 0, 1)       # 9 -> 2 -> 7: two more rows, allowed under stride 4
    assert state.output_padding == 2
    state = arithmetic_state(9, 2, 1, 0, 1)       # stride 1 round trip is exact
    assert state.output_padding == 0
    state = arithmetic_state(10, 3, 3, 0, 1)      # 10 -> 3 -> 9: output_padding 1 < 3
    assert state.output_padding == 1


def test_remarks_name_holes_skipped_pixels_and_the_checkerboard():
    dilated = arithmetic_state(9, 3, 1, 0, 3)
    assert any("Dilation 3" in r and "7x7" in r for r in dilated.remarks)
    skipped = arithmetic_state(7, 1, 2, 0, 1)     # a 1x1 kernel with stride 2 reads one pixel in four
    assert any("never read" in r for r in skipped.remarks)
    uneven = arithmetic_state(7, 3, 2, 1, 1)
    assert any("checkerboard" in r for r in uneven.remarks)
    even = arithmetic_state(8, 4, 2, 1, 1)        # kernel a multiple of the stride: even overlap inside
    assert not any("never read" in r for r in even.remarks)
    with pytest.raises(ValueError):
        arithmetic_state(0, 3, 1, 0, 1)


def test_html_shows_both_formulas_with_the_numbers():
    html = arithmetic_html(arithmetic_state(7, 3, 2, 1, 2, index=3))
    assert _text(html, "cc-arith-forward").startswith("(7 + 2\u00d71 \u2212 5) // 2 + 1 = 3")
    assert "= 7" in _text(html, "cc-arith-transposed")
    assert "output cell 3 = row 1, column 0" in html
    assert html.count("<td") == 9 * 9 + 3 * 3 + 7 * 7  # padded input, output, way back


def test_widget_follows_its_sliders_and_clamps_the_cell():
    explorer = widgets.arithmetic()
    assert "= 4" in _text(explorer.view.value, "cc-arith-forward")
    explorer.controls["cell"].value = 15
    explorer.controls["stride"].value = 3  # 7 -> 3x3: the cell slider shrinks to 0..8
    assert explorer.controls["cell"].max == 8 and explorer["cell"] == 8
    assert "= 3" in _text(explorer.view.value, "cc-arith-forward")
    explorer.controls["ks"].value = 5
    explorer.controls["dilation"].value = 3  # spans 13 > 9: no output, a sentence instead of an error
    assert "does not fit" in explorer.view.value
    assert "PyTorch raises an error" in explorer.view.value


def test_every_control_redraws_the_view_without_figures_or_prints(capsys):
    import matplotlib.pyplot as plt

    figures_before = len(plt.get_fignums())
    explorer = widgets.arithmetic()
    assert list(explorer.children[:-2]) == list(explorer.controls.values())
    assert explorer.children[-2] is explorer.status and explorer.status.value  # the result in words
    moves = {"n": 9, "ks": 4, "stride": 1, "pad": 2, "dilation": 2, "cell": 7}
    assert set(moves) == set(explorer.controls), "the test moves every control"
    for control, value in moves.items():
        before = explorer.view.value
        explorer.controls[control].value = value
        assert explorer.view.value != before, f"moving {control} to {value!r} changed nothing"
        assert 'class="cc-error"' not in explorer.view.value
    assert len(plt.get_fignums()) == figures_before
    assert capsys.readouterr().out == ""


def test_grading_builds_nothing(monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert "not built while grading" in repr(widgets.arithmetic())


def test_the_stamps_figure_shares_one_scale_and_writes_every_number():
    from helpers.colours import AA_TEXT, contrast_ratio
    from helpers.plots import show_grids

    stamps = {"one": torch.ones(3, 3), "four": torch.full((3, 3), 4.0), "sum": torch.arange(9.0).reshape(3, 3)}
    fig = show_grids(stamps, suptitle="stamps")
    axes = [ax for ax in fig.axes if ax.images]
    assert len(axes) == 3 and {ax.images[0].get_clim() for ax in axes} == {(0.0, 8.0)}
    assert [len(ax.texts) for ax in axes] == [9, 9, 9]
    assert [t.get_text() for t in axes[2].texts] == [str(v) for v in range(9)]
    for ax in axes:  # every number at least 4.5:1 on its cell (WCAG's ratio: not luma, which misjudges mid blues)
        image = ax.images[0]
        for text, value in zip(ax.texts, image.get_array().ravel()):
            cell = image.to_rgba(value)[:3]
            assert contrast_ratio(text.get_color(), cell) >= AA_TEXT, (text.get_text(), cell)
