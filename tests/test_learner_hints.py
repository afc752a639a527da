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

def _first_hinted_mistakes() -> list[tuple[str, str, str, str]]:
    """One catalogued mistake per exercise (grader/catalogue), the first whose visible check names it."""
    from grader import catalogue

    seen, rows = set(), []
    for ch in catalogue.chapters():
        for e in ch.wrong:
            if e.key not in seen and e.hint and not e.hidden_only:
                seen.add(e.key)
                rows.append((e.key, e.code, e.hint, e.mistake))
    return rows


# (exercise, the learner's wrong code, text the hint must contain, the misconception in words), run through
# the notebook's own path: ``check(key)`` from the learner's namespace, the verdict rendered as IPython shows it
MISTAKES = _first_hinted_mistakes()


def _namespace(code: str) -> dict:
    import textwrap

    from grader import catalogue

    ns = catalogue.namespace()
    exec(textwrap.dedent(code), ns)
    return ns


@pytest.mark.parametrize("key, code, hint, mistake", MISTAKES, ids=[f"{m[0]}: {m[3]}" for m in MISTAKES])
def test_known_mistake_gets_its_hint(key, code, hint, mistake, capsys):
    from helpers.protocol import WRAP_WIDTH

    ns = _namespace(code)
    with pytest.raises(CheckFailed) as failed:
        exec(f'check("{key}")', {**ns, "check": __import__("helpers.checks", fromlist=["check"]).check})
    text = str(failed.value)
    title = failed.value.verdict.title
    assert text.startswith(f"{title}: "), text
    assert f"\nHint: " in text and hint in text, f"{mistake}: the hint is missing from: {text}"
    # IPython shows the verdict, never a stack of frames, wrapped at word boundaries
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in failed.value._render_traceback_()]
    shown = " ".join(" ".join(lines).split())
    assert "Traceback" not in shown and " ".join(hint.split()) in shown, shown
    assert all(len(line) <= WRAP_WIDTH or " " not in line.strip() for line in lines), lines


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
    # a visible pass claims no points: only "up to" what grading may give
    assert re.search(r"output_size\(n, ks, pad, stride\)\s+passed\s+up to 2\n", table), table
    assert re.search(r"same_padding\(ks\)\s+failed\s+0 of 1", table), table
    assert re.search(r"total\s+up to 3 of 9", table), table
    assert not re.search(r"\b2 of 2\b|\b3 of 9\b", table.replace("up to 3 of 9", "")), table
