"""The hints for mistakes nobody listed (helpers.checks.relations): named when the relation holds, never else."""

import pytest
import torch

from helpers.checks import exercise
from helpers.checks.relations import RELATIONS, diagnose, name_of

g = torch.Generator().manual_seed(0)
E = torch.rand(5, 7, generator=g)
X4 = torch.rand(2, 3, 4, 5, generator=g)


def _border_wrong() -> torch.Tensor:
    b = E.clone()
    b[0, 3] += 1
    b[-1, 0] -= 2
    return b


@pytest.mark.parametrize("name, got, expected", [
    ("transposed", E.T.contiguous(), E),
    ("mirrored left-right", E.flip(-1), E),
    ("mirrored upside down", E.flip(-2), E),
    ("rotated", E.flip(-2, -1), E),
    ("axes", X4.permute(1, 0, 2, 3), X4),
    ("size off by one", E[:-1], E),
    ("size off by one", E[:, 1:], E),
    ("size off by one", torch.cat([E, torch.zeros(1, 7)]), E),
    ("shifted", torch.roll(E, 1, 0), E),
    ("shifted", torch.roll(E, -1, 1), E),
    ("border only", _border_wrong(), E),
    ("scaled", 9 * E, E),
    ("scaled", -E, E),
    ("offset", E + 0.5, E),
    ("rounded", (E * 10).long(), E * 10),
    ("off by one", 27, 28),
    ("twice or half", 56, 28),
    ("twice or half", 14, 28),
])
def test_a_relation_that_holds_is_named(name, got, expected):
    assert name_of([(got, expected)]) == name, diagnose([(got, expected)])


@pytest.mark.parametrize("got, expected", [
    (E + 0.01 * torch.rand(5, 7, generator=g), E),      # noise: no relation
    (torch.rand(5, 7, generator=g), E),                 # unrelated values
    (E.flip(-1)[:-1], E),                               # two mistakes at once: neither named alone
    (torch.zeros(5, 7), torch.zeros(5, 7) + 0),         # a constant map tells nothing
    (30, 28),
    (E.T.contiguous(), E.T.contiguous().T.contiguous() @ torch.ones(7, 7)),
])
def test_no_relation_is_invented(got, expected):
    assert diagnose([(got, expected)]) is None


def test_a_relation_must_hold_on_every_failing_case():
    other = torch.rand(4, 4, generator=g)
    assert diagnose([(E.T.contiguous(), E), (other.T.contiguous(), other)]) is not None
    assert diagnose([(E.T.contiguous(), E), (other + 1e-2 * torch.rand(4, 4, generator=g), other)]) is None


def test_a_symmetric_map_is_not_called_transposed():
    s = E[:5, :5] + E[:5, :5].T
    assert name_of([(s.flip(-1), s)]) != "transposed"


def test_every_relation_has_a_hint_that_names_no_value():
    for name, _, hint in RELATIONS:
        words = hint.replace("180 degrees", "").replace("+ 1", "").replace("- 1", "")
        assert hint.endswith(".") and not any(ch.isdigit() for ch in words), name


def _convolve_mean(img, kernel):
    kh, kw = kernel.shape
    out = torch.zeros(img.shape[0] - kh + 1, img.shape[1] - kw + 1)
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = (img[i:i + kh, j:j + kw] * kernel).mean()
    return out


def test_an_unlisted_mistake_gets_a_relation_hint_and_a_quiz_never_does():
    v = exercise("convolve").verdict(_convolve_mean)
    assert not v.passed and v.hint and "times a constant" in v.hint, v.explain()

    def padded_transposed(img, kernel, pad=0, stride=1):
        big = torch.nn.functional.pad(img, (pad,) * 4)
        return (_convolve_mean(big, kernel) * kernel.numel())[::stride, ::stride].T
    v = exercise("conv2d_padded").verdict(padded_transposed)
    assert not v.passed and v.hint and "transposed" in v.hint, v.explain()
    v = exercise("quiz_even_padding").verdict(6)
    assert not v.passed and "twice or half" not in (v.hint or "")
