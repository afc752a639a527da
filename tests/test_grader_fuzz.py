"""Thousands of mutated notebooks against the grader's reading and planning steps (hypothesis).

Every submitted file goes through the same steps before any code runs: it is read and
identified (:func:`grader.grading.submissions.identify`, which picks the chapter), read again
as a notebook (:func:`~grader.grading.sanitize.read_json`) and turned into a grading plan
(:func:`~grader.grading.sanitize.plan`). Whatever the file holds, these steps must end with a
chapter and a plan, or with one short line saying why not: never an exception, which would
cost every other student in the batch their grades. The mutations start from a real
chapter-1 submission and replace any value anywhere with any JSON (huge strings, wrong types,
nested values), delete keys, replace cells with things that are not cells, change the
nbformat version, and nest the JSON far past the parser's recursion limit. A folder of such
files then goes through :func:`~grader.grading.submissions.discover` and the batch's
resume bookkeeping, which must give one honest row per file.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader.grading.records import file_digest
from grader.grading.results import Problem
from grader.grading.sanitize import Plan, load_assignment, plan, read_json
from grader.grading.submissions import chapter_grade_ids, discover, identify
from tests.support import student_notebook

CH1 = "01-convolution-by-hand"
BASE = json.loads(json.dumps(student_notebook(CH1)))
KNOWN = chapter_grade_ids()
ASSIGNMENT = load_assignment(CH1)
FUZZ = settings(max_examples=1500, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
                    st.text(max_size=20), st.sampled_from(["", "x" * 200_000, "code", "markdown", "raw",
                                                           "convolve", "convolve_answer", "top_edge", "\x00\ud800"]))
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                            st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                           max_leaves=12)


def _paths(node, prefix=()):
    """Every place in a JSON tree: tuples of keys and indexes."""
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, prefix + (index,))


ALL_PATHS = list(_paths(BASE))
# the places a grader reads: cell types, sources, metadata and nbgrader fields, the format version
INTERESTING = [p for p in ALL_PATHS if any(k in p for k in ("metadata", "nbgrader", "cell_type", "source",
                                                            "nbformat", "grade_id", "points", "tags"))]


def _replace(doc, path, value):
    if not path:
        return value
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return doc


def _delete(doc, path):
    if path:
        node = doc
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]
    return doc


@st.composite
def mutated(draw) -> bytes:
    """The bytes of a mutated chapter-1 submission."""
    doc = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["replace", "replace", "delete", "cell", "nbformat", "wrap"]))
        paths = list(_paths(doc))
        path = draw(st.sampled_from(paths if kind != "replace" or draw(st.booleans()) else
                                    [p for p in INTERESTING if p in set(paths)] or paths))
        if kind == "replace":
            doc = _replace(doc, path, draw(json_values))
        elif kind == "delete":
            doc = _delete(doc, path)
        elif kind == "cell" and isinstance(doc, dict) and isinstance(doc.get("cells"), list) and doc["cells"]:
            index = draw(st.integers(0, len(doc["cells"]) - 1))
            doc["cells"][index] = draw(json_values)
        elif kind == "nbformat" and isinstance(doc, dict):
            doc["nbformat"] = draw(st.one_of(st.integers(-5, 99), json_values))
            if draw(st.booleans()):
                doc["worksheets"] = [{"cells": doc.pop("cells", [])}]
        elif kind == "wrap":
            doc = draw(st.sampled_from([[doc], {"cells": doc}, {"notebook": doc}]))
    text = json.dumps(doc, ensure_ascii=draw(st.booleans()))
    tail = draw(st.sampled_from(["", "", "", "truncate", "deep", "garbage"]))
    if tail == "truncate":
        text = text[: draw(st.integers(0, len(text)))]
    elif tail == "deep":
        depth = draw(st.sampled_from([10, 1000, 100_000]))
        text = '{"cells": [' + "[" * depth + "]" * depth + "]}"
    elif tail == "garbage":
        text += draw(st.text(max_size=20))
    return text.encode("utf-8", "surrogatepass")


def _one_line(reason) -> bool:
    reason = str(reason) if isinstance(reason, Problem) else reason  # a submission's problem: kind and reason
    return isinstance(reason, str) and reason and "\n" not in reason and len(reason) <= 400


def _through_the_steps(path: Path) -> str:
    """Identify, read and plan one file as the batch does; what became of it (raises on any grader bug)."""
    chapter, problem = identify(path, KNOWN)
    assert (chapter is None) != (problem is None)
    if problem:
        assert _one_line(problem), problem
        return "refused"
    data, problem = read_json(path)
    if problem:
        assert _one_line(problem), problem
        return "refused"
    steps = plan(data, ASSIGNMENT)
    assert isinstance(steps, Plan)
    assert all(isinstance(s.source, str) and isinstance(s.label, str) for s in steps.steps)
    assert {s.grade_id for s in steps.steps if s.kind == "test"} == set(ASSIGNMENT.tests)  # every test, once
    assert all(_one_line(note) and len(note) <= 300 for note in steps.tampering), steps.tampering
    return "planned"


@FUZZ
@given(mutated())
def test_reading_and_planning_never_raise(tmp_path_factory, raw):
    path = tmp_path_factory.mktemp("fuzz") / "homework.ipynb"
    path.write_bytes(raw)
    _through_the_steps(path)


@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(st.lists(mutated(), min_size=1, max_size=8))
def test_a_folder_of_mutated_notebooks_gives_one_honest_row_each(tmp_path_factory, files):
    folder = tmp_path_factory.mktemp("class")
    for number, raw in enumerate(files):
        (folder / f"student{number:02d}").mkdir()
        (folder / f"student{number:02d}" / "homework.ipynb").write_bytes(raw)
    (folder / "good").mkdir()
    (folder / "good" / "homework.ipynb").write_text(json.dumps(BASE))
    found = discover(folder)
    assert sorted(s.student for s in found) == sorted([f"student{n:02d}" for n in range(len(files))] + ["good"])
    for sub in found:
        assert (sub.chapter is None) != (sub.problem is None)
        assert sub.problem is None or _one_line(sub.problem)
        if sub.chapter:
            file_digest(sub.path)
            _through_the_steps(sub.path)
    good = next(s for s in found if s.student == "good")
    assert good.chapter == CH1 and _through_the_steps(good.path) == "planned"


@pytest.mark.parametrize("text, words", [
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ('{"cells": ' + "[" * 50_000 + "]" * 50_000 + "}", "nested too deeply"),
    ('{"nbformat": 3, "worksheets": [{"cells": []}]}', "nbformat 3"),
    ('{"cells": [1, "two", null, [], {"cell_type": 5}]}', "no cell of this notebook"),
    ("[1, 2, 3]", "not an object"),
    ('{"cells": {"0": {}}}', "no list of cells"),
    ("1" * 5000, "could not be read"),
])
def test_each_kind_of_broken_file_gets_its_own_reason(tmp_path, text, words):
    path = tmp_path / "homework.ipynb"
    path.write_text(text)
    chapter, problem = identify(path, KNOWN)
    assert chapter is None and words in str(problem) and _one_line(problem)
