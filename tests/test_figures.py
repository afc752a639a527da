"""Figures a learner can read: numbers contrast with their cell, maps meant to be compared share a scale;
every figure of every chapter is numbered in turn, captioned, and referred to by its number in the prose."""

from __future__ import annotations

import ast
import html
import re

import nbformat
import numpy as np
import pytest
import torch

from grader.authoring import notebooks
from helpers import plots

torch.set_num_threads(1)


def _luminance(rgba) -> float:
    red, green, blue = rgba[:3]
    return 0.299 * red + 0.587 * green + 0.114 * blue


def _texts_contrast(ax) -> int:
    image = ax.images[-1]
    values = image.get_array()
    checked = 0
    for text in ax.texts:
        c, r = (int(round(v)) for v in text.get_position())
        cell = _luminance(image.to_rgba(values[r, c]))
        ink = _luminance(np.array(plt_colour(text.get_color())))
        assert abs(cell - ink) > 0.35, f"{text.get_text()!r} at ({r}, {c}) is hard to read on its cell"
        checked += 1
    return checked


def plt_colour(name):
    from matplotlib.colors import to_rgba

    return to_rgba(name)


def test_every_number_of_the_pooling_figure_contrasts_with_its_cell():
    small = torch.randint(0, 10, (5, 7), generator=torch.Generator().manual_seed(6)).float()
    fig = plots.show_pooling(small, size=3, stride=2, row=1, col=2, mode="max")
    assert sum(_texts_contrast(ax) for ax in fig.axes if ax.images) == 5 * 7 + 2 * 3


def test_kernel_numbers_contrast_and_never_read_minus_zero():
    x = torch.rand(2, 8, 8)
    weight = torch.tensor([[[[-0.001, 0.5, -0.2]] * 3] * 2]).reshape(1, 2, 3, 3)
    fig = plots.show_channel_sums(x, weight)
    kernels = [ax for ax in fig.axes if ax.get_title().startswith("weight[")]
    assert kernels and all(_texts_contrast(ax) == 9 for ax in kernels)
    assert not any(t.get_text() == "-0.00" for ax in kernels for t in ax.texts)


def test_maps_named_as_shared_use_one_colour_scale():
    dead, live = torch.zeros(6, 6), torch.rand(6, 6) * 3
    fig = plots.show_maps({"digit": torch.rand(28, 28), "map 0": dead, "map 1": live}, signed=False,
                          shared=["map 0", "map 1"])
    digit_ax, dead_ax, live_ax = fig.axes[:3]
    assert dead_ax.images[0].get_clim() == live_ax.images[0].get_clim() == (0.0, float(live.max()))
    assert digit_ax.images[0].get_clim() != live_ax.images[0].get_clim()
    assert len(fig.axes) == 3 + 2  # a colour bar for the digit, one for the shared maps


def test_conv_steps_keep_three_positions_a_row():
    five = torch.arange(25.0).reshape(5, 5)
    fig = plots.show_conv_steps(five, torch.ones(3, 3), pad=1, stride=2,
                                positions=[(0, 0), (0, 1), (0, 2), (1, 0), (2, 2)])
    width, _ = fig.get_size_inches()
    assert width <= 10.5  # about a notebook's width at 100 dpi: the numbers stay their real size


def test_a_long_title_is_not_clipped_in_the_notebook_picture():
    import io

    from PIL import Image

    fig = plots.show_maps({"the 7, padded with zeros": torch.rand(30, 30), "its top edges": torch.randn(28, 28)},
                          suptitle="1 pixel of zero padding: a 3x3 kernel gives a 28x28 map of a 28x28 image")
    width, _ = Image.open(io.BytesIO(fig._repr_png_())).size
    fig.canvas.draw()
    title = fig._suptitle.get_window_extent()  # pixels at the figure's dpi, 100 as in the PNG
    assert fig.dpi == 100 and title.width <= width, (title.width, width)
    assert title.width > fig.get_size_inches()[0] * fig.dpi  # the case that used to be cut off


# -- numbered, captioned figures that the prose refers to -----------------------------------------------------

#: The modules whose figure functions (``show_*``, ``plot_*``, ``new_figure``) return a figure to show.
FIGURE_MODULES = ("helpers.plots", "helpers.photos", "helpers.stability_plots")
#: How far from its figure (in cells) the prose that names it may be.
NEAR = 3
_REFERENCE = re.compile(r"Figures? ((?:\d+\.\d+(?:, | and )?)+)")


def figure_problems(nb, chapter: int) -> list[str]:
    """Every figure of a chapter numbered ``chapter.1``, ``chapter.2``, ... in order with ``.captioned``, each with
    a caption of a sentence, and named ("Figure 3.2", "Figures 3.1 and 3.2") by a Markdown cell near it."""
    problems, drawers, numbers = [], set(), []
    referred: dict[str, list[int]] = {}
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            for group in _REFERENCE.findall(cell.source):
                for number in re.findall(r"\d+\.\d+", group):
                    referred.setdefault(number, []).append(index)
            continue
        if cell.cell_type != "code":
            continue
        tree = ast.parse("\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!"))))
        drawers |= {a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
                    and n.module in FIGURE_MODULES for a in n.names if a.name.startswith(("show_", "plot_", "new_figure"))}
        draws = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
                 and n.func.id in drawers]
        captions = sorted((n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
                           and n.func.attr == "captioned"), key=lambda n: (n.lineno, n.col_offset))
        where = f"cell {index} ({cell.get('id')})"
        if draws and not captions:
            problems.append(f"{where} draws a figure without .captioned(number, caption)")
        for call in captions:
            args = [a.value if isinstance(a, ast.Constant) and isinstance(a.value, str) else None for a in call.args]
            if len(args) != 2 or None in args:
                problems.append(f"{where}: .captioned takes the number and the caption as written strings")
                continue
            number, caption = args
            numbers.append((number, index, where))
            if len(caption) < 25 or not caption.endswith(".") or not caption[0].isupper() and not caption[0].isdigit():
                problems.append(f"{where}: Figure {number}'s caption is not a sentence that says what it shows")
    expected = [f"{chapter}.{i}" for i in range(1, len(numbers) + 1)]
    if [n for n, _, _ in numbers] != expected:
        problems.append(f"figures numbered {[n for n, _, _ in numbers]}, not {expected}")
    for number, index, where in numbers:
        if not any(abs(at - index) <= NEAR for at in referred.get(number, [])):
            problems.append(f"{where}: no prose within {NEAR} cells says Figure {number}")
    return problems


@pytest.mark.parametrize("chapter", notebooks.chapters("solutions"))
def test_every_figure_is_numbered_captioned_and_named_in_the_prose(chapter):
    nb = notebooks.read(notebooks.notebook_path(chapter, "solutions"))
    assert figure_problems(nb, int(chapter[:2])) == []


def test_the_figure_audit_rejects_an_unnumbered_a_misnumbered_and_an_unnamed_figure():
    imports = notebooks.code("from helpers.plots import show_image")
    prose = nbformat.v4.new_markdown_cell("Figure 2.1 is a digit, Figure 2.2 its edges.")

    def book(*cells):
        return notebooks.new_notebook([imports, prose, *cells])

    right = [notebooks.code('show_image(x).captioned("2.1", "A digit, drawn in shades of gray.")'),
             notebooks.code('show_image(y).captioned("2.2", "Its top edges, red where a stroke begins.")')]
    assert figure_problems(book(*right), 2) == []
    bare = figure_problems(book(right[0], notebooks.code("show_image(y)")), 2)
    assert any("without .captioned" in p for p in bare)
    skipped = figure_problems(book(right[0], notebooks.code('show_image(y).captioned("2.3", "Its edges, in red.")')), 2)
    assert any("not ['2.1', '2.2']" in p for p in skipped)
    unnamed = notebooks.code('show_image(z).captioned("2.3", "A third figure nobody mentions.")')
    assert any("says Figure 2.3" in p for p in figure_problems(book(*right, unnamed), 2))
    terse = notebooks.code('show_image(z).captioned("2.3", "x")')
    assert any("not a sentence" in p for p in figure_problems(book(*right, terse), 2))


def test_a_numbered_figure_shows_its_caption_under_the_picture_and_keeps_its_alt():
    fig = plots.show_image(torch.eye(4), "a diagonal").captioned("3.2", "A diagonal line of ink, 4 pixels long.")
    bundle = fig._repr_mimebundle_()
    found = re.fullmatch(r'<figure class="cc-figure-numbered" id="figure-3-2"[^>]*>(<img [^>]*>)'
                         r"<figcaption[^>]*><strong>Figure 3.2:</strong> (.*)</figcaption></figure>", bundle["text/html"])
    assert found, bundle["text/html"][:300]
    assert html.unescape(found.group(2)) == "A diagonal line of ink, 4 pixels long."
    assert 'alt="' in found.group(1) and "a diagonal" in found.group(1)
    assert bundle["text/plain"].startswith("Figure 3.2: A diagonal line of ink, 4 pixels long. (")
    for wrong in ("3", "3.0", "Figure 3.2", "x.1"):
        with pytest.raises(ValueError, match="chapter.figure"):
            plots.show_image(torch.eye(2)).captioned(wrong, "A caption.")
    with pytest.raises(ValueError, match="needs a caption"):
        plots.show_image(torch.eye(2)).captioned("3.3", "  ")
