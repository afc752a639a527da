"""Chapter 6's exercise definitions: what their cases cover and how the model check decides.

Right and wrong answers, each with the hint it must get, live in the catalogue (grader/catalogue/ch06.py,
run by tests/test_catalogue.py). Here: the cases the pooling checks draw, and the structural part of the
pool_cnn check, which decides without training and so the same on every seed.
"""

import torch
import torch.nn.functional as F
from torch import nn

from helpers.checks import ch06, exercise


def test_the_visible_pooling_cases_cover_what_grading_punishes_most():
    """4-D input, non-square maps, overlapping windows and gaps, floors on both axes, only negative values."""
    cases = exercise("max_pool").make_cases(hidden=False)
    shapes = [tuple(c.args[0].shape) for c in cases]
    assert {len(s) for s in shapes} == {2, 3, 4}
    assert any(s[-2] != s[-1] for s in shapes)
    assert any(size > stride for _, size, stride in (c.args for c in cases))
    assert any(size < stride for _, size, stride in (c.args for c in cases))
    assert any(float(c.args[0].max()) < 0 for c in cases)
    for x, size, stride in (c.args for c in cases):  # a partial window the floor drops is one that ceil_mode keeps
        kept = F.max_pool2d(x.reshape(-1, 1, *x.shape[-2:]), size, stride, ceil_mode=True).shape[-2:]
        if tuple(kept) != tuple(F.max_pool2d(x.reshape(-1, 1, *x.shape[-2:]), size, stride).shape[-2:]):
            break
    else:
        raise AssertionError("no visible case where ceil_mode keeps a partial window")


def _solution():
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(32, 2))


def test_pooling_is_measured_where_it_runs():
    x = torch.zeros(2, 1, 28, 28)
    assert ch06.pooling_done(_solution(), x) == (("MaxPool2d", 28, 28, 14, 14), ("MaxPool2d", 14, 14, 7, 7),
                                                 ("AdaptiveAvgPool2d", 7, 7, 1, 1))


def test_shared_tensors_sees_layers_shared_between_two_models():
    a = _solution()
    assert ch06.shared_tensors(a, _solution()) == 0
    assert ch06.shared_tensors(a, nn.Sequential(*a)) == len(a.state_dict())
    assert ch06.shared_tensors(a, nn.Sequential(*a[:3], *_solution()[3:])) == 2  # the first conv's weight and bias


def test_is_affine_tells_a_linear_model_from_a_cnn():
    x, y = torch.rand(4, 1, 28, 28), torch.rand(4, 1, 28, 28)
    linear = nn.Sequential(nn.Conv2d(1, 4, 3), nn.AvgPool2d(2), nn.Flatten(), nn.Linear(4 * 13 * 13, 2))
    assert ch06.is_affine(linear.eval(), x, y) is True
    assert ch06.is_affine(_solution().eval(), x, y) is False
    constant = _solution()
    nn.init.zeros_(constant[-1].weight)
    assert ch06.is_affine(constant.eval(), x, y) is None  # nothing to judge before training


def test_a_structural_failure_fails_every_seed_alike():
    """What the seed benchmark sees of a model that fails in form: 0.0 on every seed, never a training run."""
    shared = _solution()
    assert {ch06.trial(lambda: shared, seed) for seed in range(5)} == {0.0}
    assert {ch06.trial(lambda: nn.Sequential(*shared), seed) for seed in range(5)} == {0.0}
