"""Chapter 4's checks beyond the catalogue, and the helpers the chapter teaches with.

The wrong answers each check must reject (with their hints) and the other right answers live in
``grader/catalogue/ch04.py`` and run in ``tests/test_catalogue.py``; here, what those entries cannot
show: the hidden check's hints, the case design, the linearity probe over many seeds, references that
draw no random numbers, and the summary, activations and training helpers.
"""

import pytest
import torch
from torch import nn

from grader import catalogue
from helpers.checks import exercise
from helpers.checks.ch04 import is_affine
from helpers.models import activations, format_summary, layer_summary, simple_cnn as course_cnn


WRONG = [e for e in catalogue.chapter("ch04").wrong if e.hint and not e.hidden_only]


def verdict(key, answer, hidden=True):
    return exercise(key).verdict(answer, hidden=hidden)


@pytest.mark.parametrize("entry", WRONG, ids=[f"{e.key}-{e.mistake}" for e in WRONG])
def test_the_hidden_check_names_the_mistake_too(entry):
    """Grading gives the same hint as the visible check: the mistake models hold on every case."""
    v = catalogue.run(entry).hidden
    assert not v.passed and entry.hint in (v.hint or ""), v.explain()


def test_stack_params_visible_cases_vary_the_kernel_size():
    assert {c.args[1] for c in exercise("stack_params").make_cases(False)} - {3}


def _chapter_cnn(linear=False):
    layers = [nn.Conv2d(a, b, 3, stride=2, padding=1) for a, b in [(1, 4), (4, 8), (8, 16), (16, 32), (32, 2)]]
    if not linear:
        layers = [m for conv_layer in layers[:-1] for m in (conv_layer, nn.ReLU())] + layers[-1:]
    return nn.Sequential(*layers, nn.Flatten()).eval()


def test_is_affine_tells_a_relu_network_from_a_linear_one_for_every_seed():
    """The structural check of simple_cnn is deterministic: its probe inputs are fixed, and on 30 random
    initialisations no ReLU network is called linear and every stack of bare convolutions is."""
    for seed in range(30):
        torch.manual_seed(seed)
        assert not is_affine(_chapter_cnn())
        torch.manual_seed(seed)
        assert is_affine(_chapter_cnn(linear=True))
    batch_norm = nn.Sequential(nn.Conv2d(1, 4, 3, 2, 1), nn.BatchNorm2d(4), nn.Conv2d(4, 2, 3, 2, 1)).eval()
    assert is_affine(batch_norm), "batch norm in eval mode is affine: no non-linearity"
    dead = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Conv2d(2, 2, 3)).eval()
    with torch.no_grad():
        dead[0].weight.zero_()
        dead[0].bias.fill_(-1.0)  # every ReLU off: a constant output
    assert not is_affine(dead), "a constant (dead) model is not reported as linear: its fault is another one"


def test_references_do_not_touch_the_global_random_state():
    state = torch.get_rng_state()
    for key in ("stack_params", "conv_shapes", "quiz_stride2_size", "quiz_cnn_params", "quiz_mult_adds"):
        ex = exercise(key)
        for case in ex.make_cases(hidden=True):
            ex.reference(case)
    for case in exercise("simple_cnn").make_cases(hidden=False):
        exercise("simple_cnn").reference(case)
    assert torch.equal(state, torch.get_rng_state())


# -- the helpers the chapter teaches with ---------------------------------------------

def test_layer_summary_measures_the_seed_model():
    rows = layer_summary(course_cnn())
    convs = [r for r in rows if r.kind == "Conv2d"]
    assert [r.output_shape for r in convs] == [(1, 4, 14, 14), (1, 8, 7, 7), (1, 16, 4, 4), (1, 32, 2, 2),
                                               (1, 2, 1, 1)]
    assert sum(r.params for r in rows) == sum(p.numel() for p in course_cnn().parameters()) == 6722
    # one dot product of length in_channels * 3 * 3 per output value
    assert [r.mult_adds for r in convs] == [14 * 14 * 4 * 9, 7 * 7 * 8 * 36, 4 * 4 * 16 * 72, 2 * 2 * 32 * 144,
                                            2 * 288]
    assert rows[-1].output_shape == (1, 2) and rows[-1].kind == "Flatten"
    text = format_summary(rows, (1, 1, 28, 28))
    assert "6,722" in text and "[1, 32, 2, 2]" in text
    linear = layer_summary(nn.Sequential(nn.Flatten(), nn.Linear(784, 30)), (1, 1, 28, 28))
    assert linear[-1].mult_adds == 784 * 30 and linear[-1].params == 784 * 30 + 30


def test_activations_are_every_layers_output():
    model = course_cnn()
    x = torch.rand(3, 1, 28, 28)
    acts = activations(model, x)
    assert [name for name, _ in acts][:3] == ["0.0 Conv2d", "0.1 ReLU", "1.0 Conv2d"]
    assert torch.equal(acts[-1][1], model(x).detach())
    assert torch.equal(acts[1][1], torch.relu(model[0][0](x)).detach())
    assert not any(layer._forward_hooks for layer in model.modules()), "hooks must be removed"


def test_fit_records_history_and_prints_a_text_bar():
    import io

    from helpers.train import fit, three_vs_seven

    (tx, ty), (vx, vy) = three_vs_seven()
    torch.manual_seed(0)
    out = io.StringIO()
    history = fit(course_cnn(), (tx[:128], ty[:128]), (vx[:50], vy[:50]), epochs=2, batch_size=32, stream=out)
    assert len(history.step_loss) == 2 * history.steps_per_epoch == 8
    assert len(history.valid_accuracy) == len(history.valid_loss) == len(history.train_loss) == 2
    assert all(0 <= a <= 1 for a in history.valid_accuracy)
    text = out.getvalue()
    assert "epoch 2/2 [" in text and "valid accuracy" in text and "\r" in text


def test_budget_is_smaller_under_nbgrader(monkeypatch):
    from helpers.train import budget, under_grading

    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    assert not under_grading() and budget(8, 2) == 8
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert under_grading() and budget(8, 2) == 2


def test_trained_simple_cnn_is_a_fresh_trained_copy():
    from helpers.models import trained_simple_cnn
    from helpers.train import accuracy, three_vs_seven

    first = trained_simple_cnn()
    with torch.no_grad():
        first[0][0].weight.zero_()
    second = trained_simple_cnn()
    assert second is not first and not torch.equal(second[0][0].weight, first[0][0].weight)
    _, (vx, vy) = three_vs_seven()
    assert accuracy(second, vx, vy) >= 0.97, "chapter 4 states about 98% for this model"


def test_simple_cnn_probe_leaves_the_models_mode_alone():
    model = _chapter_cnn().train()
    assert verdict("simple_cnn", model, hidden=True).passed
    assert model.training
