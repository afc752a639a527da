"""What grading found, as the hub's formgrader shows it (``hub.findings``): read from a ``report.json``
entry, put at the top of the autograded notebook once (grading again replaces it), escaped."""

from __future__ import annotations

from hub.findings import HEADING, MARK, annotated, findings

ENTRY = {"student": "alan", "assignment": "01-convolution-by-hand", "status": "graded",
         "tampering": ["cell 38: test cell `quiz_edge_kernel` was edited; the original was run"],
         "cells": [{"cell": "cell 12", "cause": "timed out after 300 s"},
                   {"cell": "cell 20", "cause": "the kernel died (out of memory?)"}]}
NB = {"nbformat": 4, "nbformat_minor": 5, "metadata": {},
      "cells": [{"cell_type": "markdown", "id": "a", "metadata": {}, "source": "# Chapter 1"}]}


def test_a_by_hand_refusal_is_a_finding_and_a_wrong_value_is_not():
    from helpers.checks.core import refusal_message

    entry = {"status": "graded", "exercises": [
        {"exercise": "convolve", "status": "failed", "message": refusal_message("`convolve`", "convolution")},
        {"exercise": "apply_kernel", "status": "failed", "message": "apply_kernel(img, 0, 0) returned 3.0; expected 4.0"},
        {"exercise": "top_edge", "status": "passed", "message": ""}]}
    assert findings(entry) == [f"convolve: refused: {refusal_message('`convolve`', 'convolution')}"]


def test_findings_are_the_graders_own_lines():
    assert findings(ENTRY) == ["cell 38: test cell `quiz_edge_kernel` was edited; the original was run",
                               "cell 12: timed out after 300 s", "cell 20: the kernel died (out of memory?)"]
    assert findings({"status": "graded", "tampering": [], "cells": []}) == []


def test_the_findings_cell_comes_first_once_and_goes_when_nothing_is_found():
    once = annotated(NB, findings(ENTRY))
    assert once["cells"][0]["metadata"] == {MARK: True} and HEADING in once["cells"][0]["source"]
    assert once["cells"][1:] == NB["cells"]
    assert annotated(once, findings(ENTRY)) == once  # grading again: replaced, not added
    assert annotated(once, []) == NB  # a clean resubmission: the cell goes


def test_a_finding_cannot_inject_html():
    cell = annotated(NB, ["cell 3: <img src=x onerror=alert(1)>"])["cells"][0]
    assert "<img" not in cell["source"] and "&lt;img src=x onerror=alert(1)&gt;" in cell["source"]
