"""What a learner sees under a test cell: a verdict in words, and for the known mistakes a hint naming them.

Each wrong answer below is code a learner could write; it is run through ``check()``
from a notebook-like namespace, exactly as a visible test cell runs it.
"""

import re

import pytest

from grader import cells
from grader.authoring import notebooks
from helpers.checks import CheckFailed, exercises

CONV = """
def _conv(img, kernel):
    kh, kw = kernel.shape
    out = torch.zeros(img.shape[0] - kh + 1, img.shape[1] - kw + 1)
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = (img[i:i + kh, j:j + kw] * kernel).sum()
    return out
"""

# (exercise, the learner's wrong code, text the hint must contain, the misconception in words)
MISTAKES = [
    ("output_size", "def output_size(n, ks, pad=0, stride=1):\n    return (n + pad - ks) // stride + 1",
     "n + 2*pad - ks, not n + pad - ks", "padding counted once"),
    ("output_size", "def output_size(n, ks, pad=0, stride=1):\n    return (n + 2 * pad - ks) / stride + 1",
     "use // (floor division), not /", "/ instead of //"),
    ("same_padding", "def same_padding(ks):\n    if ks % 2 == 0:\n        raise ValueError('even')\n"
     "    return (ks - 1) / 2", "use // (floor division)", "/ instead of //"),
    ("apply_kernel", "def apply_kernel(img, row, col, kernel):\n"
     "    return (img[row - 1:row + 2, col - 1:col + 2] * kernel.flip(0).flip(1)).sum()",
     "you flipped the kernel", "a flipped kernel"),
    ("convolve", CONV + "def convolve(img, kernel):\n    return _conv(img, kernel.flip(0).flip(1))",
     "you flipped the kernel", "a flipped kernel"),
    ("conv2d_padded", CONV + "def conv2d_padded(img, kernel, pad=0, stride=1):\n"
     "    padded = F.pad(img, (pad, pad, pad, pad))\n"
     "    return _conv(padded, kernel.flip(0).flip(1))[::stride, ::stride]",
     "you flipped the kernel", "a flipped kernel"),
    ("conv_channels", CONV + "def conv_channels(x, weight, bias):\n"
     "    n_in, n_out = weight.shape[0], weight.shape[1]    # read as [in, out, kh, kw]\n"
     "    maps = []\n"
     "    for o in range(n_out):\n"
     "        total = bias[o]\n"
     "        for c in range(n_in):\n"
     "            total = total + _conv(x[c], weight[c, o])\n"
     "        maps.append(total)\n"
     "    return torch.stack(maps)",
     "[out, in, kh, kw]", "[in, out, k, k] instead of [out, in, k, k]"),
    ("quiz_weight_shape", "quiz_weight_shape = (3, 16, 5, 5)", "[out, in, kh, kw]",
     "[in, out, k, k] instead of [out, in, k, k]"),
    ("quiz_stride_shape", "quiz_stride_shape = (1, 8, 8, 11)", "round down", "rounding up"),
]


def _namespace(code: str) -> dict:
    import torch
    import torch.nn.functional as F

    ns = {"__name__": "__main__", "torch": torch, "F": F}
    exec(code, ns)
    return ns


@pytest.mark.parametrize("key, code, hint, mistake", MISTAKES, ids=[f"{m[0]}: {m[3]}" for m in MISTAKES])
def test_known_mistake_gets_its_hint(key, code, hint, mistake, capsys):
    ns = _namespace(code)
    call = f'check("{key}", hidden=True)' if "hidden" in mistake else f'check("{key}")'
    with pytest.raises(CheckFailed) as failed:
        exec(call, {**ns, "check": __import__("helpers.checks", fromlist=["check"]).check})
    text = str(failed.value)
    title = failed.value.verdict.title
    assert text.startswith(f"{title}: "), text
    # what was expected and what was got; or, when the answer crashed, the error it raised
    assert re.search(r"\bexpected\b.*\bgot\b", text) or re.search(r"raised \w+Error", text), text
    assert f"\nHint: " in text and hint in text, f"{mistake}: the hint is missing from: {text}"
    # IPython shows the verdict, never a stack of frames
    shown = "\n".join(failed.value._render_traceback_())
    assert "Traceback" not in shown and hint in shown


def test_a_wrong_shape_is_reported_before_any_value():
    ns = _namespace("def convolve(img, kernel):\n    return torch.zeros(img.shape[0] - 2, img.shape[1] - 3) - 1")
    from helpers.checks import check

    with pytest.raises(CheckFailed) as failed:
        check("convolve", ns["convolve"])
    assert re.search(r"expected shape \(\d+, \d+\), got \(\d+, \d+\)", str(failed.value)), str(failed.value)
    assert "values differ" not in str(failed.value)


def test_values_are_reported_with_where_they_differ():
    ns = _namespace(CONV + "def convolve(img, kernel):\n    return _conv(img, kernel) + 0.5")
    from helpers.checks import check

    with pytest.raises(CheckFailed) as failed:
        check("convolve", ns["convolve"])
    assert re.search(r"values differ; at index \(\d+, \d+\) expected -?[\d.]+, got -?[\d.]+", str(failed.value))


def test_an_error_in_the_answer_is_a_verdict_not_a_traceback():
    ns = _namespace("def output_size(n, ks, pad=0, stride=1):\n    return n + undefined_name")
    from helpers.checks import check

    with pytest.raises(CheckFailed) as failed:
        check("output_size", ns["output_size"])
    assert "raised NameError" in str(failed.value) and "Traceback" not in str(failed.value)


@pytest.mark.parametrize("chapter", notebooks.chapters())
def test_every_visible_test_cell_checks_in_words(chapter):
    """Every exercise's visible test is ``check(key)``, never a bare assert; the chapter ends with its summary."""
    nb = notebooks.read(notebooks.notebook_path(chapter, "notebooks"))
    tests = {cells.grade_id(c): c.source for c in nb.cells if cells.is_grade(c) and cells.is_code(c)}
    for ex in exercises(chapter):
        source = tests[ex.key]
        assert f'check("{ex.key}")' in source, f"{chapter}/{ex.key}: {source!r}"
        assert not re.search(r"^\s*assert\b", source, re.MULTILINE), f"{chapter}/{ex.key} has a bare assert"
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    assert code[-1].source.strip() == f'summary("{chapter}");'


def test_summary_table_names_each_state(capsys):
    from helpers.checks import summary

    def not_done(*args):
        raise NotImplementedError()

    ns = _namespace("def output_size(n, ks, pad=0, stride=1):\n    return (n + 2 * pad - ks) // stride + 1\n"
                    "def same_padding(ks):\n    return ks / 2\nquiz_stride_shape = (1, 8, 8, 10)")
    ns["conv2d_padded"] = not_done
    verdicts = {v.exercise: v.status for v in summary("03-padding-and-strides", ns)}
    assert verdicts == {"output_size": "passed", "same_padding": "failed", "conv2d_padded": "not attempted",
                        "quiz_stride_shape": "passed", "quiz_even_padding": "not attempted",
                        "quiz_unused_columns": "not attempted"}
    table = capsys.readouterr().out
    assert re.search(r"output_size\(n, ks, pad, stride\)\s+passed\s+2 of 2", table), table
    assert re.search(r"same_padding\(ks\)\s+failed\s+0 of 1", table), table
    assert re.search(r"total\s+3 of 9", table), table
