"""Numbers in the prose cannot go stale: each claim (grader/catalogue CLAIMS) is recomputed and compared.

A chapter's prose states numbers a run produces ("88.7% after two epochs", "about 4 times faster").
Those not kept as outputs nbval compares are listed as claims: the text as the prose writes it, the
code that recomputes it, the value meant and a tolerance. A claim about variability rests on at least
ten seeds.
"""

import pytest

from grader import catalogue
from grader.authoring import notebooks

CLAIMS = [(ch.module, c) for ch in catalogue.chapters() for c in ch.claims]


def _prose(module: str) -> str:
    chapter = next(c for c in notebooks.chapters("solutions") if c.startswith(module[2:]))
    nb = notebooks.read(notebooks.notebook_path(chapter, "solutions"))
    return "\n".join(c.source for c in nb.cells)


@pytest.mark.parametrize("module, claim", CLAIMS, ids=[f"{m}-{c.text}" for m, c in CLAIMS])
def test_the_claim_is_in_the_prose_and_well_founded(module, claim):
    assert claim.text in _prose(module), f"{module}: the prose no longer says {claim.text!r}: update CLAIMS"
    assert claim.tolerance >= 0
    assert claim.seeds == 1 or claim.seeds >= catalogue.MIN_SEEDS, \
        f"{claim.text}: a claim about variability needs {catalogue.MIN_SEEDS} seeds, not {claim.seeds}"


@pytest.mark.slow
@pytest.mark.parametrize("module, claim", CLAIMS, ids=[f"{m}-{c.text}" for m, c in CLAIMS])
def test_the_claim_still_holds(module, claim):
    value = catalogue.recompute(claim)
    assert abs(value - claim.expected) <= claim.tolerance, \
        f"{module}: the prose says {claim.text!r} ({claim.expected}); a fresh run gives {value:.4g}"


def test_a_claim_is_recomputed_from_its_code():
    claim = catalogue.Claim("4 times", "value = torch.ones(4).sum().item()", 4.0, 0.0)
    assert catalogue.recompute(claim) == 4.0
