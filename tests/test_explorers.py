"""The explorers: their pure functions against PyTorch, and their widgets without a browser."""

from __future__ import annotations

import html

import itertools
import re
import subprocess
import sys

import matplotlib.figure
import matplotlib.pyplot as plt
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from grader.authoring import notebooks
from helpers import explorers as ex
from helpers import widgets
from helpers.data import digit


@pytest.fixture(scope="module")
def seven():
    return digit(7)


@pytest.fixture(scope="module")
def cnn():
    return ex.default_cnn()


def _text(html_text: str, cls: str) -> str:
    found = re.search(rf'class="{cls}"[^>]*>(.*?)</', html_text, re.S)
    assert found, f"no element of class {cls}"
    return found.group(1)


# ---------------------------------------------------------------------------
# chapter 1: kernel walk


def test_kernels_are_the_chapters():
    top = torch.tensor([[-1.0, -1, -1], [0, 0, 0], [1, 1, 1]])
    assert torch.equal(ex.KERNELS["top edge"], top)
    assert torch.equal(ex.KERNELS["bottom edge"], top.flip(0))
    assert torch.equal(ex.KERNELS["left edge"], top.T)
    assert torch.equal(ex.KERNELS["right edge"], top.T.flip(1))
    assert ex.KERNELS["blur"].sum().item() == pytest.approx(1.0)
    assert ex.KERNELS["sharpen"].sum().item() == pytest.approx(1.0)


@pytest.mark.parametrize("name", list(ex.KERNELS))
@pytest.mark.parametrize("row,col", [(1, 1), (5, 14), (13, 20), (26, 26)])
def test_kernel_walk_sum_is_conv2d_at_that_position(seven, name, row, col):
    kernel = ex.KERNELS[name]
    state = ex.kernel_walk_state(seven, kernel, row, col)
    full = F.conv2d(seven[None, None], kernel[None, None])[0, 0]
    assert state.total == pytest.approx(float(full[row - 1, col - 1]), abs=1e-5)
    assert torch.equal(state.block, seven[row - 1:row + 2, col - 1:col + 2])
    assert torch.allclose(state.products.sum(), torch.tensor(state.total))
    assert torch.allclose(state.output, full)


def test_kernel_walk_fills_the_output_row_by_row(seven):
    state = ex.kernel_walk_state(seven, ex.KERNELS["top edge"], 5, 14)
    known = ~torch.isnan(state.filled)
    assert (state.out_row, state.out_col) == (4, 13)
    assert known[:4].all() and known[4, :14].all()
    assert not known[4, 14:].any() and not known[5:].any()
    assert torch.equal(state.filled[known], state.output[known])


@pytest.mark.parametrize("row,col", [(0, 5), (5, 27), (27, 5)])
def test_kernel_walk_refuses_blocks_that_do_not_fit(seven, row, col):
    with pytest.raises(ValueError, match="does not fit"):
        ex.kernel_walk_state(seven, ex.KERNELS["blur"], row, col)


def test_kernel_walk_html_shows_the_sum(seven):
    state = ex.kernel_walk_state(seven, ex.KERNELS["top edge"], 5, 14)
    shown = ex.kernel_walk_html(state, "top edge")
    assert _text(shown, "cc-sum") == f"{state.total:.2f}"
    assert shown.count("data:image/png;base64,") == 2  # the digit and the output map, as PNGs
    assert "-0.00" not in shown


def test_parse_kernel():
    assert torch.equal(ex.parse_kernel("-1 -1 -1; 0 0 0; 1 1 1"), ex.KERNELS["top edge"])
    assert torch.allclose(ex.parse_kernel("1/9," * 9), ex.KERNELS["blur"])
    assert torch.equal(ex.parse_kernel("[[0, 1, 0], [1, 2, 1], [0, 1, 0]]")[1], torch.tensor([1.0, 2, 1]))
    with pytest.raises(ValueError, match="9 numbers; you typed 8"):
        ex.parse_kernel("1 2 3 4 5 6 7 8")
    with pytest.raises(ValueError, match="'x' is not a number"):
        ex.parse_kernel("1 2 3 4 x 6 7 8 9")


# ---------------------------------------------------------------------------
# chapter 2: channels


@pytest.mark.parametrize("out", [0, 1, 2])
def test_channel_parts_add_up_to_conv2d(seven, out):
    inputs, weight, bias = ex.channel_example(seven)
    assert inputs.shape == (2, 26, 26) and weight.shape == (3, 2, 3, 3)
    state = ex.channel_state(inputs, weight, bias, out)
    expected = F.conv2d(inputs[None], weight, bias)[0, out]
    assert torch.allclose(state.output, expected, atol=1e-5)
    for c in range(2):
        assert torch.allclose(state.per_channel[c], F.conv2d(inputs[None, c:c + 1], weight[out:out + 1, c:c + 1])[0, 0])
    shown = ex.channel_html(state, ("top edges", "left edges"))
    assert expected.shape == (24, 24)
    assert _text(shown, "cc-centre") == ex.fmt_number(float(expected[12, 12]))


def test_channel_state_refuses_a_missing_output_map(seven):
    inputs, weight, bias = ex.channel_example(seven)
    with pytest.raises(ValueError, match="3 output maps"):
        ex.channel_state(inputs, weight, bias, 3)


# ---------------------------------------------------------------------------
# chapter 3: padding and stride


def test_kernel_positions_of_the_issue_example():
    positions = ex.kernel_positions(n=7, ks=3, pad=1, stride=2)
    assert positions == [(r, c) for r in (0, 2, 4, 6) for c in (0, 2, 4, 6)]
    assert positions[:4] == [(0, 0), (0, 2), (0, 4), (0, 6)]


@pytest.mark.parametrize("n,ks,pad,stride", [(7, 3, 1, 2), (8, 3, 0, 2), (6, 4, 2, 1), (9, 2, 0, 3), (5, 5, 0, 1)])
def test_kernel_positions_are_the_windows_unfold_takes(n, ks, pad, stride):
    x = torch.arange(n * n, dtype=torch.float32).reshape(1, 1, n, n) + 1
    padded = F.pad(x, (pad,) * 4)[0, 0]
    columns = F.unfold(x, ks, padding=pad, stride=stride)[0]  # (ks*ks, positions)
    positions = ex.kernel_positions(n, ks, pad, stride)
    assert columns.shape[1] == len(positions)
    for i, (r, c) in enumerate(positions):
        assert torch.equal(columns[:, i], padded[r:r + ks, c:c + ks].reshape(-1))


def test_output_size_is_pytorchs_for_every_setting():
    for n, ks, pad, stride in itertools.product(range(1, 9), range(1, 6), range(0, 3), range(1, 4)):
        x = torch.zeros(1, 1, n, n)
        w = torch.zeros(1, 1, ks, ks)
        expected = ex.output_size(n, ks, pad, stride)
        if n + 2 * pad < ks:
            assert expected == 0
            with pytest.raises(RuntimeError):
                F.conv2d(x, w, padding=pad, stride=stride)
        else:
            assert F.conv2d(x, w, padding=pad, stride=stride).shape[-1] == expected, (n, ks, pad, stride)


def test_positions_that_do_not_fit_are_dropped_like_pytorch():
    state = ex.padding_stride_state(n=8, ks=3, pad=0, stride=2)  # (8 - 3) / 2 = 2.5: floored
    assert state.out == 3 == F.conv2d(torch.zeros(1, 1, 8, 8), torch.zeros(1, 1, 3, 3), stride=2).shape[-1]
    assert state.leftover == 1
    assert not state.covered[7].any() and not state.covered[:, 7].any() and state.covered[:7, :7].all()
    assert "floored" in " ".join(state.remarks)
    shown = ex.padding_stride_html(state, selected=8)
    assert _text(shown, "cc-formula") == "(8 + 2\u00d70 \u2212 3) // 2 + 1 = 5 // 2 + 1 = 2 + 1 = 3"
    assert "output cell (2, 2)" in _text(shown, "cc-position")


def test_even_kernels_are_explained_not_hidden():
    state = ex.padding_stride_state(n=7, ks=4, pad=2, stride=1)
    assert state.out == 8 == F.conv2d(torch.zeros(1, 1, 7, 7), torch.zeros(1, 1, 4, 4), padding=2).shape[-1]
    assert any("no centre pixel" in r and "8 outputs" in r for r in state.remarks)


def test_a_kernel_larger_than_the_image_is_reported():
    state = ex.padding_stride_state(n=3, ks=6, pad=1, stride=1)
    assert state.out == 0 and state.positions == [] and not state.covered.any()
    assert "raises" in state.remarks[0]
    assert "does not fit" in _text(ex.padding_stride_html(state), "cc-formula")


def test_same_padding_keeps_the_size():
    state = ex.padding_stride_state(n=7, ks=3, pad=1, stride=1)
    assert state.out == 7 and state.covered.all() and state.leftover == 0


# ---------------------------------------------------------------------------
# chapter 4: feature maps


def test_layer_activations_are_the_layers_real_outputs(cnn, seven):
    outputs = ex.layer_activations(cnn, seven)
    assert [tuple(a.shape[1:]) for a in outputs[:5]] == [(14, 14), (7, 7), (4, 4), (2, 2), (1, 1)]
    assert torch.allclose(outputs[-1], cnn(seven[None, None])[0].detach())
    assert torch.allclose(outputs[0], cnn[0](seven[None, None])[0].detach())
    assert cnn.training  # the mode is restored
    names = ex.layer_names(cnn)
    assert names[0] == "1: Conv2d(1, 4, ks=3, stride=2) + ReLU"
    shown = ex.feature_maps_html(seven, outputs[1], names[1], 7)
    assert _text(shown, "cc-layer-shape") == "8 maps of 7x7"
    assert shown.count("data:image/png;base64,") == 1 + 8


def test_feature_maps_draw_each_map_at_its_real_resolution(cnn, seven):
    outputs = ex.layer_activations(cnn, seven)
    shown = ex.feature_maps_html(seven, outputs[2], "layer 3")
    from PIL import Image
    import base64
    import io

    sizes = {Image.open(io.BytesIO(base64.b64decode(uri))).size
             for uri in re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", shown)}
    assert sizes == {(28, 28), (4, 4)}  # the digit, and 16 maps of 4x4 pixels (scaled by the browser)


# ---------------------------------------------------------------------------
# chapter 5: receptive fields


def test_receptive_box_by_hand(cnn):
    geometry = ex.layer_geometry(cnn)
    assert geometry[:5] == [[(3, 2, 1)]] * 5 and geometry[5] == []
    assert ex.receptive_box(geometry, 0, 0, 0) == ex.Box(-1, 1, -1, 1)
    assert ex.receptive_box(geometry, 1, 3, 3) == ex.Box(9, 15, 9, 15)  # the 7x7 field after two layers
    assert ex.receptive_box(geometry, 4, 0, 0).height == 63


@pytest.mark.parametrize("layer", range(5))
def test_receptive_box_is_where_the_gradient_is(cnn, seven, layer):
    shapes = ex.layer_shapes(cnn)
    _, h, w = shapes[layer]
    for row, col in {(0, 0), (h - 1, w - 1), (h // 2, w // 3)}:
        state = ex.receptive_field_state(cnn, seven, layer, row, col)
        assert ex.support_box(state.architecture_grad) == state.clipped_box
        measured = ex.support_box(state.model_grad)
        if measured is not None:  # the trained weights may switch paths off, never add cells
            box = state.clipped_box
            assert box.top <= measured.top <= measured.bottom <= box.bottom
            assert box.left <= measured.left <= measured.right <= box.right


def _walk_back(stack, row, col):
    """The recurrence of chapter 5, written out: output cells a..b read input cells a*s - p .. b*s - p + k - 1."""
    top, bottom, left, right = row, row, col, col
    for k, s, p in reversed(stack):
        top, bottom, left, right = top * s - p, bottom * s - p + k - 1, left * s - p, right * s - p + k - 1
    return ex.Box(top, bottom, left, right)


@pytest.mark.parametrize("model", [
    "cnn",
    nn.Sequential(nn.Conv2d(1, 2, 5, padding=2), nn.MaxPool2d(3, 2, 1), nn.Sequential(nn.Conv2d(2, 2, 3, 3), nn.ReLU()),
                  nn.AvgPool2d(2), nn.Conv2d(2, 1, 1)),
])
def test_receptive_box_is_the_recurrence(model, cnn):
    model = cnn if model == "cnn" else model
    geometry = ex.layer_geometry(model)
    stack = [op for ops in geometry for op in ops]
    for layer, (row, col) in itertools.product(range(len(geometry) - 1), [(0, 0), (1, 2)]):
        upto = [op for ops in geometry[:layer + 1] for op in ops]
        assert ex.receptive_box(geometry, layer, row, col) == _walk_back(upto, row, col), (layer, row, col)
    assert stack


def test_receptive_field_with_pooling():
    model = nn.Sequential(nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU()), nn.MaxPool2d(2), nn.Conv2d(2, 1, 3))
    assert ex.layer_geometry(model) == [[(3, 1, 0)], [(2, 2, 0)], [(3, 1, 0)]]
    state = ex.receptive_field_state(model, torch.rand(12, 12), 2, 1, 1)
    assert state.formula_box == ex.Box(2, 9, 2, 9)
    assert ex.support_box(state.architecture_grad) == state.clipped_box


def test_receptive_field_html_reports_the_box(cnn, seven):
    state = ex.receptive_field_state(cnn, seven, 1, 3, 3)
    shown = ex.receptive_field_html(state, seven, "layer 2")
    assert _text(shown, "cc-rf") == "7x7" and "(the same box)" in shown


# ---------------------------------------------------------------------------
# chapter 6: pooling


@pytest.mark.parametrize("size,stride", [(2, 2), (3, 2), (2, 1), (4, 3)])
@pytest.mark.parametrize("mode", ["max", "average"])
def test_pool_state_is_pytorchs_pooling(seven, size, stride, mode):
    fmap = ex.feature_map(seven, "top edge")
    assert fmap.shape == (26, 26) and fmap.min() >= 0
    pool = F.max_pool2d if mode == "max" else F.avg_pool2d
    expected = pool(fmap[None, None], size, stride)[0, 0]
    state = ex.pool_state(fmap, size, stride, mode, index=7)
    assert torch.allclose(state.output, expected)
    assert state.output.shape[0] == ex.output_size(26, size, 0, stride)
    r, c = divmod(7, expected.shape[1])
    assert (state.out_row, state.out_col) == (r, c)
    window_value = state.window.max() if mode == "max" else state.window.mean()
    assert state.value == pytest.approx(float(window_value)) == pytest.approx(float(expected[r, c]))
    assert _text(ex.pool_html(state), "cc-pool") == ex.fmt_number(state.value)


# ---------------------------------------------------------------------------
# the widgets, without a browser


@pytest.fixture
def figure_count(monkeypatch):
    """Counts every matplotlib figure created while the test runs."""
    made = []
    original = matplotlib.figure.Figure.__init__

    def counting(self, *args, **kwargs):
        made.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "__init__", counting)
    return made


def _explorers(cnn):
    return {
        "kernel_walk": (widgets.kernel_walk, {"own": "1 1 1 1 1 1 1 1 1", "row": 10, "col": 3, "digit": 3,
                                              "kernel": "sharpen"}),
        "channels": (widgets.channels, {"out": 2, "digit": 3}),
        "padding_stride": (widgets.padding_stride, {"n": 9, "ks": 4, "pad": 0, "stride": 3, "position": 2}),
        "feature_maps": (lambda: widgets.feature_maps(cnn), {"layer": 3, "digit": 1, "example": 7}),
        "receptive_field": (lambda: widgets.receptive_field(cnn), {"layer": 0, "row": 2, "col": 5, "digit": 4}),
        "pooling": (widgets.pooling, {"size": 3, "stride": 1, "mode": "average", "position": 5, "digit": 2,
                                      "map": "left edge"}),
    }


@pytest.mark.parametrize("name", ["kernel_walk", "channels", "padding_stride", "feature_maps",
                                  "receptive_field", "pooling"])
def test_every_control_redraws_the_view(name, cnn, figure_count, capsys):
    build, moves = _explorers(cnn)[name]
    figures_before = len(plt.get_fignums())
    explorer = build()
    assert isinstance(explorer, widgets.Explorer)
    assert explorer.children[-1] is explorer.view
    assert list(explorer.children[:-2]) == list(explorer.controls.values())
    assert explorer.children[-2] is explorer.status and "cc-live" in explorer.status._dom_classes
    assert set(moves) == set(explorer.controls), "the test moves every control"
    if name == "kernel_walk":
        explorer.controls["kernel"].value = widgets.OWN_KERNEL  # so that typing a kernel shows
    for control, value in moves.items():
        before = explorer.view.value
        index = list(explorer.controls).index(control)
        explorer.children[index].value = value
        assert explorer.controls[control].value == value
        assert explorer.view.value != before, f"moving {control} to {value!r} changed nothing"
        assert 'class="cc-error"' not in explorer.view.value
        # the live region says the new result in words: the view's notes, without their markup
        said = explorer.status.value
        assert said and "<" not in said and said == html.escape(widgets.spoken(explorer.view.value)), said
    assert figure_count == [], "an explorer made a matplotlib figure"
    assert len(plt.get_fignums()) == figures_before
    assert capsys.readouterr().out == ""


def test_kernel_walk_widget_shows_conv2d_and_typed_kernels():
    seven = digit(7, 4)  # chapter 1's 7
    explorer = widgets.kernel_walk()
    assert (explorer["digit"], explorer["row"], explorer["col"]) == (7, 7, 15)  # chapter 1's block
    explorer.controls["col"].value = 16
    expected = F.conv2d(seven[None, None], ex.KERNELS["top edge"][None, None])[0, 0, 6, 15]
    assert _text(explorer.view.value, "cc-sum") == ex.fmt_number(float(expected))
    explorer.controls["kernel"].value = widgets.OWN_KERNEL
    explorer.controls["own"].value = "0 0 0; 0 2 0; 0 0 0"
    assert _text(explorer.view.value, "cc-sum") == ex.fmt_number(2 * float(seven[7, 16]))
    explorer.controls["own"].value = "0 0 0; 0 2 0"
    assert "you typed 6" in _text(explorer.view.value, "cc-error")
    explorer.controls["own"].value = "1 1 1 1 1 1 1 1 1"  # it recovers
    assert 'class="cc-error"' not in explorer.view.value


def test_sliders_follow_the_number_of_positions():
    explorer = widgets.padding_stride()
    assert explorer.controls["position"].max == 15  # 4x4 positions
    explorer.controls["position"].value = 15
    explorer.controls["stride"].value = 3  # (7 + 2 - 3) // 3 + 1 = 3: 9 positions
    assert explorer.controls["position"].max == 8 and explorer.controls["position"].value == 8
    assert "(2, 2)" in _text(explorer.view.value, "cc-position")

    pooling = widgets.pooling()
    pooling.controls["size"].value = 6
    pooling.controls["stride"].value = 6  # (26 - 6) // 6 + 1 = 4
    assert pooling.controls["position"].max == 15


def test_receptive_field_sliders_follow_the_layer(cnn):
    explorer = widgets.receptive_field(cnn)
    explorer.controls["layer"].value = 3  # 2x2
    assert explorer.controls["row"].max == 1 and explorer.controls["col"].max == 1
    explorer.controls["layer"].value = 0  # 14x14
    assert explorer.controls["row"].max == 13


@pytest.mark.parametrize("name", ["kernel_walk", "channels", "padding_stride", "receptive_field", "pooling"])
def test_explorers_build_nothing_while_grading(name, monkeypatch, capsys):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    result = getattr(widgets, name)()
    assert isinstance(result, widgets.Skipped)
    assert "\n" not in repr(result) and "not built while grading" in repr(result)
    assert capsys.readouterr().out == ""
    assert isinstance(widgets.feature_maps(None), widgets.Skipped)  # not even the model is touched


def test_importing_the_explorers_does_nothing():
    code = ("import sys; from ipywidgets.widgets import widget; "
            "import helpers.widgets, helpers.explorers; "
            "assert not widget._instances, 'a widget was created at import'; "
            "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'; "
            "assert 'helpers.data' not in sys.modules, 'data imported'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""


def test_channels_explores_chapter_2s_own_layer():
    smooth = torch.full((3, 3), 1 / 9)
    weight = torch.stack([torch.stack([smooth, smooth]), torch.stack([smooth, -smooth]), torch.randn(2, 3, 3)])
    bias = torch.tensor([0.1, 0.0, -0.2])
    explorer = widgets.channels(weight, bias)
    assert explorer.controls["out"].max == 2
    edges = ex.edge_maps(digit(7, 4))  # chapter 2's 7, the clear one of chapter 1
    expected = F.conv2d(edges[None], weight, bias)[0]
    for out in (0, 1, 2):
        explorer.controls["out"].value = out
        assert _text(explorer.view.value, "cc-centre") == ex.fmt_number(float(expected[out, 12, 12]))
    with pytest.raises(ValueError, match="two input maps"):
        widgets.channels(torch.zeros(3, 1, 3, 3))


def test_feature_maps_of_the_trained_chapter_4_model():
    from helpers.models import activations, trained_simple_cnn

    model = trained_simple_cnn()
    image = digit(7, 1)
    mine = ex.layer_activations(model, image)
    theirs = dict(activations(model, image[None, None]))
    assert torch.allclose(mine[0], theirs["0.1 ReLU"][0])
    explorer = widgets.feature_maps(model)
    assert "4 maps of 14x14" in _text(explorer.view.value, "cc-layer-shape")
    explorer.controls["layer"].value = 4
    assert "2 maps of 1x1" in _text(explorer.view.value, "cc-layer-shape")
    explorer.controls["layer"].value = 5
    assert "2 numbers (flattened)" in _text(explorer.view.value, "cc-layer-shape")


# ---------------------------------------------------------------------------
# the explorer cells in the chapters

#: Each chapter's explorer cell: its id and the one call it makes.
EXPLORER_CELLS = {
    "01-convolution-by-hand": ("explore-kernel-walk", "kernel_walk("),
    "02-feature-maps-and-channels": ("explore-channels", "channels("),
    "03-padding-and-strides": ("explore-padding-stride", "padding_stride("),
    "04-conv2d-and-a-first-cnn": ("explore-feature-maps", "feature_maps("),
    "05-receptive-fields": ("explore-receptive-field", "receptive_field("),
    "06-pooling": ("explore-pooling", "pooling("),
    "07-colour-and-stable-training": ("explore-activations", "activation_histograms("),
    "08-conv-arithmetic-and-backward": ("explore-arithmetic", "arithmetic("),
    "09-deeper-networks": ("explore-depth", "depth("),
}


@pytest.mark.parametrize("chapter", notebooks.chapters("solutions"))
def test_every_chapter_has_its_explorer_cell(chapter):
    assert chapter[:2] in {c[:2] for c in EXPLORER_CELLS}, f"{chapter}: which explorer does it get?"
    cell_id, call = next(v for k, v in EXPLORER_CELLS.items() if k[:2] == chapter[:2])
    for step in ("solutions", "notebooks"):
        nb = notebooks.read(notebooks.notebook_path(chapter, step))
        ids = [c.get("id") for c in nb.cells]
        assert cell_id in ids, f"{step}/{chapter} has no explorer cell {cell_id}"
        cell = nb.cells[ids.index(cell_id)]
        assert cell.cell_type == "code" and "nbval-ignore-output" in notebooks.tags(cell)
        assert call in cell.source and "print(" not in cell.source
        assert cell.outputs == []  # no widget state or picture stored
        assert nb.cells[ids.index(cell_id) - 1].cell_type == "markdown"  # introduced in words
        review = next(i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and "## Review" in c.source)
        assert ids.index(cell_id) < review, "the explorer comes before the review"


def test_receptive_field_defaults_to_chapter_4s_trained_model_and_chapter_5s_digit():
    explorer = widgets.receptive_field()
    assert explorer["digit"] == 3 and explorer["layer"] == 1
    assert _text(explorer.view.value, "cc-rf") == "7x7"
    assert "(the same box)" in explorer.view.value


def test_the_receptive_field_explorer_says_which_digit_its_gradient_is_on():
    """The formula's box is the same for every digit, so the spoken result names the digit and the pixels its
    gradient reaches: choosing another digit from the keyboard is heard."""
    from helpers.data import digit
    from helpers.widgets import spoken

    model = ex.default_cnn()
    said = {}
    for label in (3, 4):
        image = digit(label, 0)
        state = ex.receptive_field_state(model, image, 2, 3, 3)
        said[label] = spoken(ex.receptive_field_html(state, image, "layer 3", label))
    assert "model gradient on the 3 " in said[3] and "model gradient on the 4 " in said[4]
    assert re.search(r"non-zero on \d+ pixels, in rows 17 to 27", said[3]), said[3]
