"""The class report and the similar-answers list: counts, misconceptions, escaping, bad input.

The pure parts run on made report entries (no kernel); one module-level batch grades a made
class of chapter 3 with the real grader and checks the report against its ``grades.csv``.
"""

import csv
import json
from collections import Counter
from pathlib import Path

import pytest

from grader.__main__ import main
from grader.grading.classreport import (ReportError, concept_of, load_run, message_pattern, render_html,
                                        render_similar, render_students, spreadsheet_safe, summarise, write_report)
from grader.grading.similarity import Pair, fingerprints, normalise, similar_pairs
from tests.support import hand_in, student_notebook

CH3 = "03-padding-and-strides"
PADDING_ONCE = "padding is added on both sides"

CONV = '''def conv2d_padded(img, kernel, pad=0, stride=1):
    kh, kw = kernel.shape
    padded = F.pad(img, (pad, pad, pad, pad))
    rows = (padded.shape[0] - kh) // stride + 1
    cols = (padded.shape[1] - kw) // stride + 1
    out = torch.zeros(rows, cols)
    for i in range(rows):
        for j in range(cols):
            r, c = i * stride, j * stride
            out[i, j] = (padded[r:r + kh, c:c + kw] * kernel).sum()
    return out
'''
# The same answer with every name changed, comments added and spacing moved: a copy.
CONV_RENAMED = '''def conv2d_padded(picture, filt, pad=0, stride=1):
    # my own solution
    fh, fw = filt.shape
    bigger = F.pad(picture, (pad, pad, pad, pad))   # zeros all round
    n_rows = (bigger.shape[0] - fh)//stride + 1
    n_cols = (bigger.shape[1] - fw)//stride + 1
    result = torch.zeros(n_rows, n_cols)
    for a in range(n_rows):
        for b in range(n_cols):
            y, x = a*stride, b*stride
            result[a, b] = (bigger[y:y + fh, x:x + fw] * filt).sum()
    return result
'''
# A correct answer written independently: explicit zero padding, four loops, no slicing.
CONV_OTHER = '''def conv2d_padded(img, kernel, pad=0, stride=1):
    height, width = img.shape
    size_h, size_w = kernel.shape
    grid = torch.zeros(height + 2 * pad, width + 2 * pad)
    grid[pad:pad + height, pad:pad + width] = img
    out_h = (height + 2 * pad - size_h) // stride + 1
    out_w = (width + 2 * pad - size_w) // stride + 1
    answer = torch.zeros(out_h, out_w)
    for y in range(out_h):
        for x in range(out_w):
            total = 0.0
            for u in range(size_h):
                for v in range(size_w):
                    total = total + grid[y * stride + u, x * stride + v] * kernel[u, v]
            answer[y, x] = total
    return answer
'''
STUB = "def conv2d_padded(img, kernel, pad=0, stride=1):\n    # YOUR CODE HERE\n    raise NotImplementedError()\n"


# ---------------------------------------------------------------------------
# similarity, pure


def test_normalising_ignores_names_numbers_comments_and_spacing():
    assert normalise(CONV) == normalise(CONV_RENAMED)
    assert normalise("x = 1  # one\n") == normalise("total=2\n")
    assert normalise("a.sum()") != normalise("a.max()"), "attribute names are kept"


def test_a_renamed_copy_is_found_and_independent_answers_are_not():
    pairs = similar_pairs("conv2d_padded", {"ann": CONV, "ben": CONV_RENAMED, "cat": CONV_OTHER}, [STUB])
    assert [(p.first, p.second) for p in pairs] == [("ann", "ben")]
    assert pairs[0].similarity == 1.0
    low = similar_pairs("conv2d_padded", {"ann": CONV, "cat": CONV_OTHER}, [STUB], threshold=0.0)
    assert low and low[0].similarity < 0.5, low


def test_the_stub_and_short_answers_are_not_evidence():
    assert similar_pairs("conv2d_padded", {"a": STUB, "b": STUB}, [STUB]) == []
    one_liner = "def output_size(n, ks, pad=0, stride=1):\n    return (n + 2 * pad - ks) // stride + 1\n"
    stub = "def output_size(n, ks, pad=0, stride=1):\n    # YOUR CODE HERE\n    raise NotImplementedError()\n"
    assert similar_pairs("output_size", {"a": one_liner, "b": one_liner}, [stub]) == []


def test_code_most_of_a_large_class_shares_is_not_evidence():
    # 40 students hand in the same answer (e.g. worked through in class): no pair is listed,
    # while one renamed copy of a rarer answer still is.
    answers = {f"s{i:02d}": CONV for i in range(40)}
    answers.update({"x": CONV_OTHER, "y": CONV_OTHER.replace("grid", "g2").replace("answer", "res")})
    pairs = similar_pairs("conv2d_padded", answers, [STUB])
    assert [(p.first, p.second) for p in pairs] == [("x", "y")]


def test_unparsable_answers_are_still_compared():
    broken = CONV + "    if (\n"
    assert fingerprints(broken) and fingerprints(broken) & fingerprints(CONV)


# ---------------------------------------------------------------------------
# the report, pure


def _sub(student, statuses, *, hints=None, messages=None, status="graded", chapter=CH3, cells=()):
    rows = []
    for key, st in statuses.items():
        rows.append({"exercise": key, "title": key.replace("_", " "), "score": 1.0 if st == "passed" else 0.0,
                     "max_score": 1.0, "status": st, "message": (messages or {}).get(key, ""),
                     "hint": (hints or {}).get(key)})
    return {"student": student, "file": "nb.ipynb", "assignment": chapter, "status": status, "reason": "",
            "score": sum(r["score"] for r in rows), "max_score": float(len(rows)), "exercises": rows,
            "tampering": [], "cells": list(cells)}


def _made_class():
    hint = f"{PADDING_ONCE}, so it counts twice: n + 2*pad - ks, not n + pad - ks."
    subs = [_sub(f"p{i}", {"output_size": "passed", "same_padding": "passed"}) for i in range(5)]
    subs += [_sub(f"h{i}", {"output_size": "failed", "same_padding": "passed"}, hints={"output_size": hint},
                  messages={"output_size": f"for n={20 + i}, expected {20 + i}, got {19 + i} (3 of 12 checks failed)"})
             for i in range(3)]
    subs += [_sub(f"u{i}", {"output_size": "failed", "same_padding": "not attempted"},
                  messages={"output_size": f"for n={i}, expected {i + 1}, got {i + 7} (1 of 12 checks failed)"},
                  cells=[{"cell": f"cell {30 + i} (output_size_answer)", "cause": "ran past the 300 s limit"}])
             for i in range(2)]
    subs.append({"student": "z", "file": "x.ipynb", "assignment": None, "status": "unreadable",
                 "reason": "not JSON", "score": 0, "max_score": 0, "exercises": [], "tampering": [], "cells": []})
    return subs, hint


def test_counts_misconceptions_and_grouped_messages():
    subs, hint = _made_class()
    summary = summarise(subs)
    ch = summary.chapters[CH3]
    assert ch.graded == 10 and summary.unidentified == Counter({"unreadable": 1})
    ex = ch.exercises["output_size"]
    assert ex.counts == Counter({"passed": 5, "failed": 5})
    assert ex.misconceptions == Counter({hint: 3})
    assert list(ex.unnamed.values()) == [2], "numbers are blanked, so both unnamed failures are one group"
    assert ch.cell_problems.most_common(1)[0] == (("output_size_answer", "ran past the # s limit"), 2)
    (n, of, chapter, exercise, top_hint), = summary.misconceptions()
    assert (n, of, chapter, exercise.key, top_hint) == (3, 10, CH3, "output_size", hint)
    assert message_pattern("expected 28, got 27.5") == "expected #, got #"


def _monday_class():
    """30 submissions of chapter 3: 3 blank, 5 with padding counted once in output_size, 1 in quiz_stride_shape,
    one whose sandbox timed out in a cell without a grade id, and an unreadable file."""
    size_hint = "Padding is added on both sides, so it counts twice: n + 2*pad - ks, not n + pad - ks."
    quiz_hint = "Padding goes on both sides of the image, so it counts twice."
    subs = [_sub(f"s{i:02d}", {"output_size": "passed", "quiz_stride_shape": "passed"}) for i in range(21)]
    subs += [_sub(f"blank{i}", {"output_size": "not attempted", "quiz_stride_shape": "not attempted"})
             for i in range(3)]
    subs += [_sub(f"once{i}", {"output_size": "failed", "quiz_stride_shape": "passed"},
                  hints={"output_size": size_hint}) for i in range(5)]
    subs.append(_sub("quizzer", {"output_size": "passed", "quiz_stride_shape": "failed"},
                     hints={"quiz_stride_shape": quiz_hint},
                     cells=[{"cell": "cell 58", "cause": "ran past the 300 s limit and was interrupted"}]))
    subs.append({"student": "zed", "file": "hw3 (1).ipynb", "assignment": None, "status": "unreadable",
                 "reason": "not a notebook: the file is not JSON (line 1, column 1)", "score": 0, "max_score": 0,
                 "exercises": [], "tampering": [], "cells": []})
    return subs, size_hint, quiz_hint


def test_monday_report_groups_concepts_names_who_and_counts_attempts(tmp_path):
    subs, size_hint, quiz_hint = _monday_class()
    assert concept_of("output_size", size_hint) == concept_of("quiz_stride_shape", quiz_hint) == "padding counted once"
    assert concept_of("output_size", "something else entirely") is None
    summary = summarise(subs)
    (concept,) = summary.concepts()
    assert (concept.name, concept.count, concept.of) == ("padding counted once", 6, 54)  # 27 attempts each
    assert concept.students == [*(f"once{i}" for i in range(5)), "quizzer"]
    assert [(n, of) for n, of, *_ in summary.misconceptions()] == [(5, 27), (1, 27)], "blank ones left out"
    write_report(tmp_path, subs, submissions_dir=None, root=Path("."), similarity=False)
    page = (tmp_path / "class-report.html").read_text(encoding="utf-8")
    assert "5 of 27 (19%)" in page and "5 of 30" not in page
    assert "padding counted once" in page and "6 of 54 (11%)" in page
    assert "cell 58" in page and "ran past the 300 s limit" in page and "cell #" not in page and "# s" not in page
    assert "once0" not in page and "quizzer" not in page and "zed" not in page, "the shareable page names nobody"
    assert "class-report-students.html" in page
    private = (tmp_path / "class-report-students.html").read_text(encoding="utf-8")
    assert "Instructor only" in private and "do not share" in private
    section = private[private.index("padding counted once"):private.index("Files that were not graded")]
    assert all(f"once{i}/nb.ipynb" in section for i in range(5)) and "quizzer/nb.ipynb" in section
    assert "s00" not in section and "blank0" not in section
    assert "zed/hw3 (1).ipynb" in private and "not a notebook: the file is not JSON" in private
    rows = list(csv.DictReader(open(tmp_path / "class-report.csv", encoding="utf-8")))
    (grouped,) = [r for r in rows if r["kind"] == "concept"]
    assert (grouped["exercise"], grouped["what"], grouped["count"], grouped["of"]) == (
        "output_size, quiz_stride_shape", "padding counted once", "6", "54")


def test_names_are_escaped_in_html_and_neutralised_in_csv(tmp_path):
    subs, _ = _made_class()
    subs[0]["exercises"][0]["title"] = "<img src=x onerror=alert(1)>"
    subs[5]["exercises"][0]["hint"] = "=HYPERLINK(\"http://x\")"
    pair = Pair("output_size", "<script>alert(1)</script>/nb.ipynb", "=cmd|' /C calc'!A0/nb.ipynb", 0.9, 12)
    page = render_html(summarise(subs), [pair])
    assert "<img src=x" not in page and "&lt;img src=x" in page
    assert "<script" not in page.lower() and "nb.ipynb" not in page, "the shareable page names nobody"
    private = render_students(summarise(subs), [pair])
    assert "<script" not in private.lower() and "&lt;script&gt;alert(1)&lt;/script&gt;/nb.ipynb" in private
    assert "src=\"http" not in page and "href=\"http" not in page, "nothing is loaded from elsewhere"
    side = render_similar([pair], {("output_size", pair.first): "print('<b>hi</b>')"})
    assert "<b>hi</b>" not in side and "&lt;b&gt;hi&lt;/b&gt;" in side and "<script" not in side.lower()
    write_report(tmp_path, subs, submissions_dir=None, root=Path("."), similarity=False)
    rows = list(csv.DictReader(open(tmp_path / "class-report.csv", encoding="utf-8")))
    assert any(r["what"] == "'=HYPERLINK(\"http://x\")" for r in rows)
    assert not any(v.startswith(("=", "+", "@")) for r in rows for v in r.values() if v)
    assert spreadsheet_safe("-2+3") == "'-2+3" and spreadsheet_safe(3) == 3
    assert not (tmp_path / "similar-answers.html").exists(), "similarity was turned off"


def test_counts_in_the_csv_add_up(tmp_path):
    subs, _ = _made_class()
    write_report(tmp_path, subs, submissions_dir=None, root=Path("."), similarity=False)
    rows = list(csv.DictReader(open(tmp_path / "class-report.csv", encoding="utf-8")))
    status = {r["what"]: int(r["count"]) for r in rows if r["exercise"] == "output_size" and r["kind"] == "status"}
    assert status == {"passed": 5, "failed": 5, "not attempted": 0, "error": 0}
    assert all(int(r["of"]) == 10 for r in rows if r["kind"] in ("status", "misconception"))


def test_bad_output_folders_get_one_clear_line(tmp_path, capsys):
    with pytest.raises(ReportError, match="not a folder"):
        load_run(tmp_path / "nowhere")
    (tmp_path / "grades.csv").write_text("student\n")
    with pytest.raises(ReportError, match="interrupted"):
        load_run(tmp_path)
    (tmp_path / "report.json").write_text('{"submissions": [')
    with pytest.raises(ReportError, match="cannot be read"):
        load_run(tmp_path)
    old = {"submissions": [{"student": "a", "status": "graded",
                            "exercises": [{"exercise": "x", "status": "failed", "score": 0}]}]}
    (tmp_path / "report.json").write_text(json.dumps(old))
    with pytest.raises(ReportError, match="another version"):
        load_run(tmp_path)
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and len(err.splitlines()) == 1


# ---------------------------------------------------------------------------
# a made class graded for real


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("class")
    subs = tmp / "submissions"
    once = "def output_size(n, ks, pad=0, stride=1):\n    return (n + pad - ks) // stride + 1\n"
    hand_in(subs, "ann", student_notebook(CH3, {"conv2d_padded_answer": CONV}), f"{CH3}.ipynb")
    hand_in(subs, "ben", student_notebook(CH3, {"conv2d_padded_answer": CONV_RENAMED,
                                                "output_size_answer": once}), "homework.ipynb")
    hand_in(subs, "cat", student_notebook(CH3, {"conv2d_padded_answer": CONV_OTHER,
                                                "output_size_answer": once}), "nb.ipynb")
    hand_in(subs, "=cmd|' /C calc'!A0", student_notebook(CH3, "blank"), "nb.ipynb")
    out = tmp / "out"
    assert main(["autograde", str(subs), "--out", str(out), "--workers", "2"]) == 0
    return subs, out


@pytest.mark.slow
def test_a_grading_run_writes_the_class_report(graded_class):
    _, out = graded_class
    grades = list(csv.DictReader(open(out / "grades.csv", encoding="utf-8")))
    report = list(csv.DictReader(open(out / "class-report.csv", encoding="utf-8")))
    by_grades = Counter((r["exercise"], r["status"]) for r in grades)
    by_report = {(r["exercise"], r["what"]): int(r["count"]) for r in report if r["kind"] == "status"}
    assert {k: v for k, v in by_report.items() if v} == dict(by_grades)
    padding = [r for r in report if r["kind"] == "misconception" and r["what"].startswith(PADDING_ONCE)]
    # of the 3 that attempted output_size: the blank notebook is no evidence of a misconception
    assert [(r["exercise"], r["count"], r["of"]) for r in padding] == [("output_size", "2", "3")]
    page = (out / "class-report.html").read_text(encoding="utf-8")
    assert "Re-teach first" in page and "2 of 3 (67%)" in page and "<svg" in page
    assert "padding counted once" in page and "ben" not in page, "the concept, and no student named"
    private = (out / "class-report-students.html").read_text(encoding="utf-8")
    assert "Instructor only" in private and "ben/homework.ipynb" in private and "cat/nb.ipynb" in private
    assert "def conv2d_padded" not in page, "the class report shows no student code"


@pytest.mark.slow
def test_the_renamed_copy_is_listed_and_the_independent_answer_is_not(graded_class):
    _, out = graded_class
    pairs = [r for r in csv.DictReader(open(out / "class-report.csv", encoding="utf-8"))
             if r["kind"].startswith("similar")]
    assert [(r["exercise"], r["what"]) for r in pairs] == [
        ("conv2d_padded", f"ann/{CH3}.ipynb and ben/homework.ipynb")]
    side_by_side = (out / "similar-answers.html").read_text(encoding="utf-8")
    assert "picture" in side_by_side and "cat/nb.ipynb" not in side_by_side


@pytest.mark.slow
def test_report_command_rebuilds_it_from_the_run(graded_class, tmp_path):
    subs, out = graded_class
    first = (out / "class-report.csv").read_bytes()
    assert main(["report", str(out), "--submissions", str(subs)]) == 0
    assert (out / "class-report.csv").read_bytes() == first
    assert main(["report", str(out), "--no-similarity"]) == 0
    assert b"similar" not in (out / "class-report.csv").read_bytes()
    names = [r["what"] for r in csv.DictReader(open(out / "class-report.csv", encoding="utf-8"))]
    assert not any(n.startswith("=") for n in names)


def test_the_similarity_pass_reads_the_release_without_nbformat(tmp_path):
    """The class report runs at the end of every grading run: it reads the course's release as plain JSON,
    since importing nbformat (and jsonschema) alone costs about a second per run."""
    import subprocess
    import sys

    hand_in(tmp_path / "subs", "alice", student_notebook(CH3), f"{CH3}.ipynb")
    code = ("import json, sys; from pathlib import Path; from grader.grading.classreport import answer_cells; "
            f"answers, stubs = answer_cells(Path({str(tmp_path / 'subs')!r}), Path.cwd()); "
            f"print(json.dumps([sorted(stubs[{CH3!r}]), 'nbformat' in sys.modules, 'jsonschema' in sys.modules]))")
    shown = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parent.parent,
                           capture_output=True, text=True, check=True).stdout
    stubs, nbformat_imported, jsonschema_imported = json.loads(shown)
    assert "conv2d_padded" in stubs and "output_size" in stubs, stubs
    assert not nbformat_imported and not jsonschema_imported
