"""Hidden cases learners can't know (the course secret), and the CSV a spreadsheet opens safely.

No sandbox here: the exercise definitions are called in this process, with the public seed
(what a learner's ``grader check`` uses) and with seeds drawn from a course secret (what the
instructor's grading uses).
"""

from __future__ import annotations

import csv
import io
import json
import os
import stat

import pytest
import torch

from grader.authoring.config import ROOT
from grader.check import HIDDEN_CASES_NOTE, CheckReport, render
from grader.grading import secret
from grader.grading.report import write_outputs
from grader.grading.results import Result
from grader.grading.records import FORMULA_START, previous, spreadsheet_safe
from grader.grading.sanitize import load_assignment
from helpers.checks import exercise, exercises
from tests.support import solution_namespace

KEY = b"an instructor's course secret, 32+ bytes long"
#: Exercises whose inputs are a handful of small numbers: every possible input is a case, secret or not.
SMALL_DOMAIN = {"same_padding", "pool_cnn"}
#: Exercises whose answer is a model-building function, checked by training it on fixed seeds: no table of
#: outputs can stand in for it, and the training's cost and thresholds are measured on those seeds (the
#: exercises that declare a ``trial`` for ``benchmarks.seeds``).
TRAINED = {ex.key for ex in exercises() if ex.trial is not None} - SMALL_DOMAIN


def _signature(cases) -> list:
    return [tuple((tuple(a.shape), a.double().sum().item()) if type(a) is torch.Tensor else repr(a) for a in c.args)
            for c in cases]


def test_secret_hidden_cases_differ_from_the_public_ones():
    same = set()
    for ex in exercises():
        if ex.kind != "function":
            continue
        public = _signature(ex.make_cases(hidden=True))
        drawn = _signature(ex.make_cases(hidden=True, secret_seed=secret.case_seed(KEY, ex.key, "ada")))
        if drawn == public:
            same.add(ex.key)
    assert same == SMALL_DOMAIN | TRAINED


def test_the_visible_cases_stay_public():
    ex = exercise("convolve")
    assert _signature(ex.make_cases(False, secret_seed=123)) == _signature(ex.make_cases(False))


@pytest.mark.parametrize("chapter", ["01-convolution-by-hand",
                                     "03-padding-and-strides", "05-receptive-fields"])
def test_correct_answers_pass_the_public_and_the_secret_hidden_cases(chapter):
    namespace = solution_namespace(chapter)
    checked = 0
    for ex in exercises(chapter):
        if ex.kind != "function" or ex.answer not in namespace:
            continue
        for seed in (None, secret.case_seed(KEY, ex.key, "ada"), secret.case_seed(KEY, ex.key, "grace"),
                     secret.case_seed(b"another course secret, long enough", ex.key, "ada")):
            v = ex.verdict(namespace[ex.answer], hidden=True, secret_seed=seed)
            assert v.passed, f"{ex.key} (seed {seed}): {v.explain()}"
        checked += 1
    assert checked >= 2


@pytest.mark.parametrize("key", ["convolve", "output_size", "conv_multi_in", "max_pool", "input_region"])
def test_a_table_of_the_public_cases_fails_grading(key):
    ex = exercise(key)
    table = {}
    for hidden in (False, True):  # everything a learner can list with the course's own API
        for case in ex.make_cases(hidden):
            table[repr([(a.tolist() if type(a) is torch.Tensor else a) for a in case.args])] = ex.reference(case)

    def lookup(*args):
        return table[repr([(a.tolist() if type(a) is torch.Tensor else a) for a in args])]

    assert ex.verdict(lookup, hidden=True).passed, "the table should pass the public cases"
    graded = ex.verdict(lookup, hidden=True, secret_seed=secret.case_seed(KEY, key, "ada"))
    assert not graded.passed and "KeyError" in graded.message


def test_grader_check_says_the_instructors_hidden_cases_differ(tmp_path):
    text = render(CheckReport(tmp_path / "nb.ipynb", "01-convolution-by-hand", "graded"))
    assert HIDDEN_CASES_NOTE in text and "differ" in HIDDEN_CASES_NOTE and "course secret" in HIDDEN_CASES_NOTE


# -- the course secret ---------------------------------------------------------------------------

def test_the_secret_is_created_once_outside_the_repository(tmp_path):
    path, key = secret.create(tmp_path / "conf" / "grading-secret")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600 and secret.load(path) == key and len(key) == 64
    with pytest.raises(secret.SecretError, match="exists"):
        secret.create(path)
    _, again = secret.create(path, force=True)
    assert again != key
    with pytest.raises(secret.SecretError, match="inside the course repository"):
        secret.create(ROOT / "grading-secret")
    assert not (ROOT / "grading-secret").exists()
    (tmp_path / "short").write_text("abc")
    with pytest.raises(secret.SecretError, match="too short"):
        secret.load(tmp_path / "short")


def test_fingerprints_and_seeds_are_stable_and_distinct():
    assert secret.fingerprint(KEY) == secret.fingerprint(KEY) != secret.fingerprint(KEY + b"!")
    assert KEY.decode() not in secret.fingerprint(KEY)
    seeds = {secret.case_seed(KEY, ex.key, learner) for ex in exercises() for learner in ("ada", "grace")}
    assert len(seeds) == 2 * len(exercises()) and all(0 <= s < 2 ** 62 for s in seeds)
    assert secret.case_seed(KEY, "convolve", "ada") == secret.case_seed(KEY, "convolve", "ada")


# -- hidden cases per learner ---------------------------------------------------------------------

def _flipped(img, kernel):  # a true convolution (kernel flipped): catalogued as a mistake in chapter 1
    kernel = kernel.flip(0, 1)
    h, w = img.shape[0] - kernel.shape[0] + 1, img.shape[1] - kernel.shape[1] + 1
    return torch.stack([torch.stack([(img[i:i + kernel.shape[0], j:j + kernel.shape[1]] * kernel).sum()
                                     for j in range(w)]) for i in range(h)])


def test_two_learners_get_different_hidden_inputs_stable_across_re_grades():
    from grader.grading.config import GradingConfig

    config = GradingConfig(secret=KEY)
    ada, grace = config.seeds("ada"), config.seeds("grace")
    assert ada == config.seeds("ada"), "a re-grade of the same learner draws the same cases"
    differ = {key for key in ada if ada[key] != grace[key]}
    assert differ == {ex.key for ex in exercises()}
    ex = exercise("convolve")
    assert _signature(ex.make_cases(True, secret_seed=ada["convolve"])) != \
        _signature(ex.make_cases(True, secret_seed=grace["convolve"]))
    # grader check (no secret) keeps the public cases, the same for everyone
    assert GradingConfig().seeds("ada") is None
    said = config.hidden_cases()
    assert "per learner" in said["seeds"] and "re-grade" in said["seeds"]
    assert said["fingerprint"] == secret.fingerprint(KEY)


def test_a_mistake_on_each_learners_own_inputs_still_groups_in_the_class_report_and_similarity():
    from grader.grading.classreport import summarise
    import inspect

    from grader.grading.similarity import similar_pairs

    ex = exercise("convolve")
    subs = []
    for learner in ("ada", "grace"):
        verdict = ex.verdict(_flipped, hidden=True, secret_seed=secret.case_seed(KEY, "convolve", learner))
        assert not verdict.passed
        subs.append({"student": learner, "assignment": "01-convolution-by-hand", "status": "graded", "score": 0,
                     "max_score": 1, "exercises": [{"exercise": "convolve", "status": "failed", "score": 0,
                                                    "max_score": 1, "message": verdict.message,
                                                    "hint": verdict.hint}]})
    summary = summarise(subs)
    # the same named mistake, found on each learner's own inputs: one line of the report for both
    assert subs[0]["exercises"][0]["message"] != subs[1]["exercises"][0]["message"]
    assert [(n, of, hint) for n, of, _, _, hint in summary.misconceptions()] == [(2, 2, subs[0]["exercises"][0]["hint"])]
    code = inspect.getsource(_flipped)
    pairs = similar_pairs("convolve", {"ada": code, "grace": code.replace("kernel", "k")})
    assert [(p.first, p.second, p.similarity) for p in pairs] == [("ada", "grace", 1.0)]


# -- spreadsheet-safe CSV, raw names in the report, and resuming -------------------------------------

@pytest.mark.parametrize("start", FORMULA_START)
def test_a_cell_starting_with_a_formula_character_is_text(start):
    assert spreadsheet_safe(start + "1+1") == "'" + start + "1+1"
    assert spreadsheet_safe("Ada " + start) == "Ada " + start and spreadsheet_safe(8.0) == 8.0


def test_grades_csv_neutralises_names_and_report_json_keeps_them(tmp_path):
    chapter = "01-convolution-by-hand"
    assignment = load_assignment(chapter)
    names = ['=HYPERLINK("http://x","y")', "+1", "-2+3", "@SUM(A1:A2)", "\tTab", "\rReturn", "Ada, \"the\" first",
             "b\udcffytes"]
    results = []
    for name in names:
        rows = [{"exercise": gid, "score": test.points, "max_score": test.points, "status": "passed",
                 "message": "", "hint": None, "title": gid} for gid, test in assignment.tests.items()]
        results.append(Result(name, "nb.ipynb", chapter, "graded", score=8.0, max_score=8.0, exercises=rows,
                              sha256="0" * 64))
    results.append(Result("=cmd|' /C calc'!A0", "nb.ipynb", chapter, "grading-failed", "a reason"))
    write_outputs(results, tmp_path, {chapter: assignment}, {}, hidden={"fingerprint": None})
    text = (tmp_path / "grades.csv").open(encoding="utf-8", newline="").read()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 9 * len(assignment.tests)
    for row in rows:
        for value in row.values():
            assert not value.startswith(FORMULA_START), row
    assert {r["student"] for r in rows} >= {"'" + n for n in names[:6]}
    report = json.loads((tmp_path / "report.json").read_text())
    assert [s["student"] for s in report["submissions"]] == sorted(names + ["=cmd|' /C calc'!A0"])
    assert not list(tmp_path.glob(".*.part"))  # the atomic writes left no temporary file


def test_resuming_keeps_only_the_same_file_with_the_same_hidden_cases(tmp_path):
    report = {"hidden_cases": {"fingerprint": "sha256:aaaa"}, "submissions": [
        {"student": "ada", "file": "nb.ipynb", "status": "graded", "sha256": "1" * 64},
        {"student": "bob", "file": "nb.ipynb", "status": "grading-failed", "sha256": "2" * 64}]}
    (tmp_path / "report.json").write_text(json.dumps(report))
    kept, why = previous(tmp_path, "sha256:aaaa")
    assert set(kept) == {("ada", "nb.ipynb", "1" * 64)} and why is None
    kept, why = previous(tmp_path, "sha256:bbbb")
    assert kept == {} and "other hidden cases" in why
    (tmp_path / "report.json").write_text("[" * 100_000)
    kept, why = previous(tmp_path, "sha256:aaaa")
    assert kept == {} and "could not be read" in why
