"""Every check proven by its catalogue (grader/catalogue): wrong answers rejected with a hint, right ones accepted.

Each entry runs through the visible and the hidden check in this process, as a test cell and
grading run them; ``grader.catalogue.problems`` says what must hold. The completeness tests make a
new exercise without its catalogue fail the suite.
"""

import pytest

from grader import catalogue
from helpers.checks import exercise, exercises
from helpers.checks.core import TrainedOnce

ENTRIES = [(ch.module, e) for ch in catalogue.chapters() for e in [*ch.wrong, *ch.right]]


def _id(item) -> str:
    module, e = item
    what = e.mistake if isinstance(e, catalogue.Wrong) else f"right: {e.how}"
    return f"{module}-{e.key}-{what}"


def _marks(item):
    module, e = item
    return [pytest.mark.slow] if isinstance(exercise(e.key).run, TrainedOnce) else []


@pytest.mark.parametrize("module, entry", [pytest.param(*item, id=_id(item), marks=_marks(item)) for item in ENTRIES])
def test_entry_is_proven(module, entry):
    assert catalogue.problems(catalogue.run(entry)) == []


@pytest.mark.parametrize("ex", exercises(), ids=lambda ex: ex.key)
def test_every_exercise_has_its_catalogue(ex):
    module = f"ch{ex.chapter[:2]}"
    ch = catalogue.chapter(module)
    wrong = [e for e in ch.wrong if e.key == ex.key]
    right = [e for e in ch.right if e.key == ex.key]
    need = catalogue.MIN_WRONG_HARD if catalogue.is_hard(ex) else catalogue.MIN_WRONG
    assert len(wrong) >= need, f"{ex.key}: {len(wrong)} wrong answers in grader/catalogue/{module}.py, need {need}"
    if ex.key not in ch.no_alternatives:
        assert len(right) >= catalogue.MIN_RIGHT, \
            f"{ex.key}: {len(right)} correct alternatives, need {catalogue.MIN_RIGHT} (or NO_ALTERNATIVES with why)"
    for e in wrong:
        assert e.code.strip() and e.mistake.strip()
        assert e.hidden_only is None or e.hidden_only.strip(), f"{ex.key}: hidden_only needs its reason"


@pytest.mark.parametrize("ch", catalogue.chapters(), ids=lambda ch: ch.module)
def test_most_mistakes_get_a_hint_naming_them(ch):
    if not ch.wrong:
        pytest.fail(f"grader/catalogue/{ch.module}.py has no wrong answers")
    hinted = sum(e.hint is not None for e in ch.wrong)
    assert hinted / len(ch.wrong) >= catalogue.MIN_HINTED, \
        f"{ch.module}: {hinted} of {len(ch.wrong)} wrong answers name a hint, need {catalogue.MIN_HINTED:.0%}"


def test_revealed_finds_the_answer_in_any_form():
    assert catalogue.revealed(64, "expected 64, got 128") == "64"
    assert catalogue.revealed(64, "got 128; a 3x3 kernel has 9 weights") is None
    assert catalogue.revealed((1, 8, 8, 10), "expected (1, 8, 8, 10)") == "1, 8, 8, 10"
    assert catalogue.revealed((1, 8, 8, 10), "a map of 1x8x8x10") == "1x8x8x10"
    assert catalogue.revealed(0.25, "the rate is 0.25 here") == "0.25"
    assert catalogue.revealed(0.25, "got 0.255") is None
