"""Chapter 3's checks beyond the catalogue: how the cases are designed, what the references measure.

The wrong answers each check must reject (with their hints) and the other right answers live in
``grader/catalogue/ch03.py`` and run in ``tests/test_catalogue.py``; here, what those entries cannot
show: that the cases hold the inputs that tell mistakes apart, that sizes are measured from real
layers, that a known mistake gets its hint from the hidden check too, and that no reference draws
from the notebook's random numbers.
"""

import pytest
import torch

from grader import catalogue
from helpers.checks import exercise
from helpers.checks.ch03 import measured_size, whole

WRONG = [e for e in catalogue.chapter("ch03").wrong if e.hint and not e.hidden_only]


def verdict(key, answer, hidden=True):
    return exercise(key).verdict(answer, hidden=hidden)


def test_measured_size_is_what_a_layer_returns():
    torch.manual_seed(0)
    for n, ks, pad, stride in [(28, 3, 1, 2), (7, 3, 1, 2), (10, 4, 0, 3), (5, 5, 2, 1)]:
        layer = torch.nn.Conv2d(2, 3, ks, stride=stride, padding=pad)
        assert measured_size(n, ks, pad, stride) == layer(torch.rand(1, 2, n, n)).shape[-1]


def test_output_size_cases_catch_the_usual_mistakes():
    for hidden in (False, True):
        cases = [c.args for c in exercise("output_size").make_cases(hidden)]
        assert any((n + pad - ks) // s != (n + 2 * pad - ks) // s for n, ks, pad, s in cases)
        assert any((n + 2 * pad - ks) % s for n, ks, pad, s in cases), "a case where the floor matters"
        assert any(s > 2 for n, ks, pad, s in cases) and any(ks % 2 == 0 for n, ks, pad, s in cases)


def test_same_padding_visible_cases_hold_every_small_even_kernel():
    """An answer that refuses only some even kernels (ks >= 4) is caught before grading."""
    sizes = [c.args[0] for c in exercise("same_padding").make_cases(False)]
    assert {2, 4} <= set(sizes) and {1, 3, 5, 7} <= set(sizes)


@pytest.mark.parametrize("entry", WRONG, ids=[f"{e.key}-{e.mistake}" for e in WRONG])
def test_the_hidden_check_names_the_mistake_too(entry):
    """Grading gives the same hint as the visible check: the mistake models hold on every case."""
    v = catalogue.run(entry).hidden
    assert not v.passed and entry.hint in (v.hint or ""), v.explain()


def test_whole_turns_numpy_scalars_into_python_numbers():
    np = pytest.importorskip("numpy")
    assert whole(np.int64(14)) == 14 and type(whole(np.int64(14))) is int
    assert type(whole(np.float64(14.0))) is float
    assert whole("raises ValueError") == "raises ValueError"


def test_references_do_not_touch_the_global_random_state():
    state = torch.get_rng_state()
    for key, answer in [("output_size", lambda n, ks, pad=0, stride=1: (n + 2 * pad - ks) // stride + 1),
                        ("same_padding", lambda ks: ks // 2), ("quiz_stride_shape", (1, 8, 8, 10))]:
        verdict(key, answer)
    assert torch.equal(state, torch.get_rng_state())
