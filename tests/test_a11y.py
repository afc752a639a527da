"""Accessibility of what the course draws: text alternatives, contrast, colour vision, and axe on the grader's pages.

The figures' words are computed from their data (so a wrong number in the alt text is a wrong figure);
contrast is WCAG's ratio; colour vision is simulated with Machado et al. (2009), and the check is shown
to reject the colours the course used before. The feedback and class-report pages are opened in
Chromium and checked with axe-core (``tests/a11y.py``).
"""

from __future__ import annotations

import html
import itertools
import re

import numpy as np
import pytest
import torch

from helpers import plots
from helpers.colours import AA_TEXT, CATEGORICAL, CVD, contrast_ratio, delta_e, ink_for, simulate
from helpers.data import digit
from helpers.explorers import value_table
from helpers.receptive import Box

torch.set_num_threads(1)
TOP_EDGE = torch.tensor([[-1.0, -1.0, -1.0], [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
#: Two categorical colours are told apart when their CIE76 distance is at least this (about 4 just-noticeable steps).
APART = 12.0


def _alt(fig) -> str:
    bundle = fig._repr_mimebundle_()
    found = re.fullmatch(r'<img class="cc-figure" src="data:image/png;base64,([A-Za-z0-9+/=]+)" alt="([^"]*)">',
                         bundle["text/html"])
    assert found, bundle["text/html"][:200]
    assert found.group(1) == bundle["image/png"], "the HTML shows the same PNG"
    return html.unescape(found.group(2))


def test_a_kernel_figure_says_its_weights():
    alt = _alt(plots.show_kernel(TOP_EDGE, "top edge"))
    assert "top edge" in alt and "-1 -1 -1; 0 0 0; 1 1 1" in alt


def test_the_window_product_figure_says_the_block_the_kernel_and_the_sum():
    seven = digit(7, 4)
    products = seven[6:9, 14:17] * TOP_EDGE
    alt = _alt(plots.show_window_product(seven, 7, 15, TOP_EDGE))
    assert f"Sum = {float(products.sum()):.2f}" in alt and "row 7, column 15" in alt
    assert "Kernel, 3x3, values row by row: -1 -1 -1; 0 0 0; 1 1 1" in alt


def test_a_digit_figure_says_where_its_bright_ink_is():
    image = torch.zeros(28, 28)
    image[5:20, 12:15] = 1.0  # a "1": a bar in rows 5 to 19, columns 12 to 14
    alt = _alt(plots.show_image(image, "a 1"))
    assert "a 1" in alt and "45 of 784, in rows 5 to 19, columns 12 to 14" in alt


def test_a_feature_map_figure_says_where_its_strongest_values_are():
    fmap = torch.zeros(10, 10)
    fmap[2, 3], fmap[7, 8] = 5.0, -4.0
    alt = _alt(plots.show_maps({"edges": fmap}))
    assert "strongest positive (red) 5 at row 2, column 3" in alt
    assert "strongest negative (blue) -4 at row 7, column 8" in alt


def test_a_figure_drawn_without_words_of_its_own_is_described_by_its_titles_and_legend():
    fig = plots.new_figure(3, 2)
    ax = fig.add_subplot()
    ax.plot([1, 2], [3, 4], label="loss")
    ax.set_title("a curve")
    ax.set_xlabel("epoch")
    ax.legend()
    assert _alt(fig) == "a curve; x: epoch; legend: loss."


def test_no_figure_alt_is_a_file_name_or_empty():
    figures = [plots.show_pooling(torch.arange(16.0).reshape(4, 4), 2, 2),
               plots.show_conv_steps(torch.ones(3, 3), torch.ones(2, 2)),
               plots.plot_against_shift([0, 1], {"a": [0.5, 0.25]}, ylabel="y", title="t"),
               plots.show_grids({"one": torch.ones(2, 2)})]
    for fig in figures:
        alt = _alt(fig)
        assert len(alt) > 40 and not re.search(r"\.(png|jpg)\b", alt), alt


# -- contrast ----------------------------------------------------------------------------------------------------

def test_ink_is_chosen_by_contrast_ratio_not_luma():
    # luma said "dark, use white" for these; white reads 3.8:1 and 2.5:1 on them, black 5.5:1 and 8.4:1
    for background in ("#d55d4c", "#ff7f0e"):
        assert ink_for(background) == "black" and contrast_ratio("black", background) >= AA_TEXT
        assert contrast_ratio("white", background) < AA_TEXT
    for grey in range(256):  # every grey gets an ink of at least 4.5:1
        cell = (grey, grey, grey)
        assert contrast_ratio(ink_for(cell), cell) >= AA_TEXT


def test_every_number_of_an_explorer_table_reaches_4_5_to_1():
    values = torch.linspace(-3, 3, 49).reshape(7, 7)
    table = value_table(values)
    cells = re.findall(r"background:rgb\((\d+),(\d+),(\d+)\);color:(\w+);", table)
    assert len(cells) == 49
    assert all(contrast_ratio(ink, tuple(int(v) for v in rgb)) >= AA_TEXT for *rgb, ink in cells)


# -- colour vision -----------------------------------------------------------------------------------------------

def _closest_under_cvd(colours) -> tuple[float, str, tuple[str, str]]:
    """The two colours closest together under any simulated colour vision: (distance, vision, pair)."""
    return min((delta_e(simulate(a, kind), simulate(b, kind)), kind, (a, b))
               for kind in CVD for a, b in itertools.combinations(colours, 2))


def test_the_simulation_rejects_the_old_receptive_field_colours_and_keeps_the_new_apart():
    old = ["tab:orange", "tab:cyan", "tab:green", "tab:pink", "gold", "tab:red"]
    distance, kind, pair = _closest_under_cvd(old)
    assert distance < APART, "the check must catch colours that merge"
    assert _closest_under_cvd(CATEGORICAL)[0] >= APART, _closest_under_cvd(CATEGORICAL)


def test_deuteranopia_makes_red_and_green_alike_and_leaves_grey_alone():
    assert delta_e(simulate("#d62728", "deuteranopia"), simulate("#2ca02c", "deuteranopia")) < \
        0.5 * delta_e("#d62728", "#2ca02c")
    assert np.allclose(simulate("#808080", "deuteranopia"), [0.5019608] * 3, atol=0.01)


def _outlines(fig):
    from matplotlib.patches import Rectangle

    return [p for ax in fig.axes for p in ax.patches if isinstance(p, Rectangle) and not p.get_fill()
            and p.get_label() and not p.get_label().startswith("_")]


def test_the_fields_by_depth_outlines_differ_in_colour_for_every_vision_and_in_line_style():
    boxes = [(f"conv{i}", Box.span(10 - 2 * i, 10 - 2 * i, 3 + 4 * i, 3 + 4 * i)) for i in range(1, 6)]
    fig = plots.show_fields_by_depth(torch.rand(28, 28), boxes)
    outlines = _outlines(fig)
    assert len(outlines) == 5
    colours = [p.get_edgecolor()[:3] for p in outlines]
    assert _closest_under_cvd(colours)[0] >= APART
    styles = [str(p.get_linestyle()) for p in outlines]
    assert len(set(styles)) == 5, f"a second cue besides colour: {styles}"
    assert "conv3: 15x15" in _alt(fig)


def test_the_activation_lines_differ_in_colour_for_every_vision_and_in_line_style():
    from types import SimpleNamespace

    from helpers.stability_plots import plot_activation_stats

    layer = lambda k: SimpleNamespace(mean=[0.1 * k, -0.001], std=[1.0, 0.5], near_zero=[0.2, 0.9])  # noqa: E731
    run = SimpleNamespace(label="lr 0.06", accuracy=0.5, stats=SimpleNamespace(layers=[layer(k) for k in range(4)]))
    fig = plot_activation_stats([run])
    lines = fig.axes[0].get_lines()
    assert len(lines) == 4
    assert _closest_under_cvd([line.get_color() for line in lines])[0] >= APART
    assert len({line.get_linestyle() for line in lines}) == 4
    alt = _alt(fig)
    assert "ReLU 4 mean 0.30 at the first step and 0.00 at the last" in alt and "-0.00" not in alt


# -- axe on the grader's pages -----------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.browser
def test_axe_finds_no_serious_problem_in_feedback_and_the_class_report(tmp_path):
    from grader.grading.classreport import render_html, render_students, summarise
    from grader.grading.report import feedback_html
    from grader.grading.results import Result, SubmissionStatus
    from grader.grading.sanitize import load_assignment
    from tests.a11y import counts, run_axe, severe_of_course
    from tests.lab import CHROMIUM, CHROMIUM_ARGS, need_browser

    need_browser()
    from playwright.sync_api import sync_playwright

    chapter = "01-convolution-by-hand"
    assignment = load_assignment(chapter)
    verdicts = itertools.cycle(["passed", "failed", "not attempted"])
    rows = [{"exercise": gid, "title": "an exercise", "score": 0.0, "max_score": t.points, "status": next(verdicts),
             "message": "expected 26, got 28", "hint": "the output is smaller than the input"}
            for gid, t in assignment.tests.items()]
    submissions = [{"student": f"s{i}", "file": "nb.ipynb", "assignment": chapter, "status": "graded", "reason": "",
                    "score": float(i), "max_score": float(len(rows)), "tampering": [], "cells": [],
                    "exercises": [dict(r, status="passed" if k < i else "failed") for k, r in enumerate(rows)]}
                   for i in range(len(rows) + 1)]
    pages = {"feedback": feedback_html(Result("ann", "a.ipynb", chapter, SubmissionStatus.GRADED, "", 1.0,
                                              assignment.max_score, rows)),
             "class-report": render_html(summarise(submissions), []),
             "class-report-students": render_students(summarise(submissions), [])}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for name, markup in pages.items():
                path = tmp_path / f"{name}.html"
                path.write_text(markup)
                page = browser.new_page()
                page.goto(path.as_uri())
                found = run_axe(page, name, course=None)
                print(name, sorted(counts(found).items()))
                assert severe_of_course(found) == [], name
                page.close()
        finally:
            browser.close()


def test_a_colour_channel_is_drawn_bright_where_its_value_is_high():
    from helpers.colours import luminance
    from helpers.photos import show_channels

    image = np.zeros((8, 8, 3), dtype=np.uint8)
    image[:4] = 255  # the top half full on every channel
    fig = show_channels(image)
    for ax in fig.axes[1:4]:
        shown = ax.images[0]
        assert luminance(shown.to_rgba(1.0)[:3]) > luminance(shown.to_rgba(0.0)[:3]) + 0.05, ax.get_title()
    assert "bright (high) cells: 32 of 64, in rows 0 to 3" in _alt(fig)


def test_a_run_keeps_its_colour_whatever_figure_and_order_draws_it():
    """Chapter 7 once drew the batch-norm run orange in one figure and blue in the next (the colour went by
    position); the look is now the run's kind, defined once in helpers.stability_plots.RUN_LOOKS."""
    from types import SimpleNamespace

    from helpers.stability_plots import RUN_LOOKS, plot_runs

    history = lambda *acc: SimpleNamespace(valid_accuracy=list(acc))  # noqa: E731
    runs = {"your stable_cnn": history(0.9, 0.95), "digit_cnn, no batch norm": history(0.8, 0.85),
            "lr 0.06": history(0.1, 0.1)}

    def looks(order):
        fig = plot_runs({name: runs[name] for name in order})
        return {line.get_label().split(":")[0]: (line.get_color(), line.get_marker(), line.get_linestyle())
                for line in fig.axes[0].get_lines()}

    forward, backward = looks(list(runs)), looks(list(runs)[::-1])
    assert forward == backward
    assert forward["your stable_cnn"][0] == RUN_LOOKS["batch norm"]["color"]
    assert forward["digit_cnn, no batch norm"][0] == RUN_LOOKS["no batch norm"]["color"]
    assert _closest_under_cvd([look[0] for look in forward.values()])[0] >= APART
    assert len({look[1:] for look in forward.values()}) == 3, "marker and line style tell them apart too"
    # two runs of one kind in one figure still differ
    both = plot_runs({"batch norm, lr 0.06": history(0.7, 0.9), "your stable_cnn": history(0.9, 0.95)})
    assert len({line.get_color() for line in both.axes[0].get_lines()}) == 2


def test_the_colour_figures_of_chapter_7_say_their_kernels_and_parts_in_words():
    from helpers.photos import show_colour_conv, show_rgb_filters

    x = torch.zeros(3, 6, 6)
    x[0, 3:] = 1.0  # red switches on at row 3
    weight = torch.stack([TOP_EDGE, -TOP_EDGE, torch.zeros(3, 3)])
    alt = _alt(show_colour_conv(x, weight, title="red minus green"))
    assert alt.startswith("red minus green: the three channels of a 6x6 photo")
    assert "red kernel, 3x3, values row by row: -1 -1 -1; 0 0 0; 1 1 1" in alt
    assert "green kernel, 3x3, values row by row: 1 1 1; 0 0 0; -1 -1 -1" in alt
    assert "sum, the output map, 4x4, values row by row: 0 0 0 0; 3 3 3 3; 3 3 3 3; 0 0 0 0" in alt
    filters = torch.zeros(2, 3, 3, 3)
    filters[1, 2] = 0.5  # filter 1 is blue
    alt = _alt(show_rgb_filters(filters, title="two filters"))
    assert "2 filters of 3x3 pixels" in alt and "filter 1: R 0.00, G 0.00, B 0.50" in alt
