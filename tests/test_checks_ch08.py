"""Chapter 8's exercise definitions against right answers, the named mistakes and shortcuts."""


import numpy as np
import pytest
import torch
import torch.nn.functional as F

from helpers.checks import exercise, exercises
from tests.support import solution_code

CHAPTER = "08-conv-arithmetic-and-backward"


def verdict(key, answer, hidden=True):
    return exercise(key).verdict(answer, hidden=hidden)


@pytest.fixture(scope="module")
def solution():
    """The chapter's own answers, run from the solution notebook's answer cells."""
    namespace = {}
    exec("import torch\nimport torch.nn.functional as F\nfrom torch import nn\n", namespace)
    for code in solution_code(CHAPTER).values():
        exec(code, namespace)
    return namespace


def test_the_solution_passes_every_check(solution):
    keys = [ex.key for ex in exercises(CHAPTER)]
    assert len([k for k in keys if not k.startswith("quiz_")]) >= 6
    for ex in exercises(CHAPTER):
        for hidden in (False, True):
            v = ex.verdict(solution[ex.answer], hidden=hidden)
            assert v.passed, f"{ex.key} (hidden={hidden}): {v.explain()}"
            assert v.points == v.max_points > 0


# -- the wrong and right answers live in grader/catalogue/ch08.py (tests/test_catalogue.py runs them); what
# -- follows tests the design of the cases, the references, messages and the by-hand rule.

def test_conv_backward_returns_three_tensors():
    v = verdict("conv_backward", lambda dout, x, weight, stride=1, pad=0: torch.zeros_like(x), hidden=False)
    assert not v.passed and "tuple of 3 tensors" in v.message
    v = verdict("conv_backward", lambda dout, x, weight, stride=1, pad=0: [torch.zeros_like(x)] * 3, hidden=False)
    assert not v.passed and "tuple of 3 tensors" in v.message


def test_sizes_must_be_whole_numbers():
    v = verdict("dilated_size",
                lambda n, ks, pad=0, stride=1, dilation=1: float((n + 2 * pad - dilation * (ks - 1) - 1) // stride + 1))
    assert not v.passed and "int" in v.message


def test_by_hand_rule_leaves_autograd_working_afterwards():
    def by_autograd(dout, x, weight, stride=1, pad=0):
        x, weight = x.clone().requires_grad_(), weight.clone().requires_grad_()
        bias = torch.zeros(weight.shape[0], requires_grad=True)
        F.conv2d(x, weight, bias, stride=stride, padding=pad).backward(dout)
        return x.grad, weight.grad, bias.grad

    assert not verdict("conv_backward", by_autograd, hidden=False).passed
    x = torch.ones(3, requires_grad=True)
    (x * x).sum().backward()
    assert torch.equal(x.grad, torch.full((3,), 2.0))


def test_references_agree_with_the_formulas():
    """The measured references agree with the chapter's formulas on many random settings."""
    from helpers.checks.ch08 import measured_dilated_size, measured_params, measured_transposed_size

    g = torch.Generator().manual_seed(8)
    for _ in range(50):
        n, ks, pad, stride, d = (int(torch.randint(lo, hi, (1,), generator=g))
                                 for lo, hi in ((1, 30), (1, 6), (0, 4), (1, 5), (1, 4)))
        if n + 2 * pad >= d * (ks - 1) + 1:
            assert measured_dilated_size(n, ks, pad, stride, d) == (n + 2 * pad - d * (ks - 1) - 1) // stride + 1
        op = int(torch.randint(0, max(stride, d), (1,), generator=g))
        if (n - 1) * stride - 2 * pad + d * (ks - 1) + op + 1 >= 1:
            assert measured_transposed_size(n, ks, stride, pad, op, d) == \
                (n - 1) * stride - 2 * pad + d * (ks - 1) + op + 1
    assert measured_params(32, 64, 3, 32, True) == 64 * 1 * 9 + 64


# -- the named mistakes, as a learner writes them, through check() in a notebook-like namespace ------

LEARNER_MISTAKES = [
    ("dilated_size", "def dilated_size(n, ks, pad=0, stride=1, dilation=1):\n"
     "    return (n + 2 * pad - ks) // (stride * dilation) + 1", "not the steps", "dilation applied to the stride"),
    ("transposed_size", "def transposed_size(n, ks, stride=1, pad=0, output_padding=0, dilation=1):\n"
     "    return (n - 1) * stride - 2 * pad + dilation * (ks - 1) + 1", "add output_padding",
     "transposed size off by the output padding"),
    ("maxpool_backward", "def maxpool_backward(dout, x, size, stride, ceil_mode=False):\n"
     "    dx = torch.zeros_like(x)\n"
     "    for i in range(dout.shape[-2]):\n        for j in range(dout.shape[-1]):\n"
     "            dx[..., i*stride:i*stride+size, j*stride:j*stride+size] += dout[..., i, j, None, None]\n"
     "    return dx", "only the maximum gets its gradient", "gradient routed to every pixel of a window"),
    ("conv_backward", "def conv_backward(dout, x, weight, stride=1, pad=0):\n"
     "    n, c, h, w = x.shape\n    kh, kw = weight.shape[-2:]\n"
     "    xp = torch.zeros(n, c, h + 2 * pad, w + 2 * pad)\n    xp[:, :, pad:pad + h, pad:pad + w] = x\n"
     "    dxp, dw = torch.zeros_like(xp), torch.zeros_like(weight)\n"
     "    for i in range(dout.shape[2]):\n        for j in range(dout.shape[3]):\n"
     "            win = (slice(None), slice(None), slice(i*stride, i*stride+kh), slice(j*stride, j*stride+kw))\n"
     "            dw += torch.einsum('nf,nckl->fckl', dout[:, :, i, j], xp[win])\n"
     "            dxp[win] += torch.einsum('nf,fckl->nckl', dout[:, :, i, j], weight)\n"
     "    return dxp[:, :, pad:pad + h, pad:pad + w], dw, dout.sum(dim=(2, 3))",
     "sums dout over the batch", "bias gradient not summed over the batch"),
]


@pytest.mark.parametrize("key, code, hint, mistake", LEARNER_MISTAKES, ids=[m[3] for m in LEARNER_MISTAKES])
def test_the_named_mistakes_get_their_hint_under_the_visible_test_cell(key, code, hint, mistake):
    from helpers.checks import CheckFailed, check

    namespace = {"__name__": "__main__", "torch": torch, "F": F}
    exec(code, namespace)
    with pytest.raises(CheckFailed) as failed:
        exec(f'check("{key}")', {**namespace, "check": check})
    text = str(failed.value)
    assert text.startswith(f"{failed.value.verdict.title}: ") and "\nHint: " in text and hint in text, text
    assert "Traceback" not in "\n".join(failed.value._render_traceback_())


# -- case design: the visible cases hold what the chapter's mistakes need to show ----------------------


def _window_view(x, size, stride, i, j):
    return x[..., i * stride:i * stride + size, j * stride:j * stride + size]


@pytest.mark.parametrize("hidden", [False, True])
def test_maxpool_cases_hold_ties_negative_windows_and_overlap(hidden):
    """PyTorch sends a tied window's gradient to one value: the cases must have ties for that to be checked."""
    cases = exercise("maxpool_backward").make_cases(hidden)
    tied = negative = overlapping = hanging = 0
    for case in cases:
        dout, x, size, stride, ceil = case.args
        overlapping += stride < size
        for i in range(dout.shape[-2]):
            for j in range(dout.shape[-1]):
                window = _window_view(x, size, stride, i, j).flatten(-2)
                best = window.amax(-1, keepdim=True)
                tied += int(((window == best).sum(-1) > 1).sum())
                negative += int((best <= 0).sum())
                hanging += ceil and window.shape[-1] < size * size
    assert tied >= 10 and negative >= 10 and overlapping and hanging


def test_maxpool_reference_sends_a_tie_to_the_first_maximum_as_pytorch_does():
    """The reference is autograd through F.max_pool2d; on ties it agrees with max_pool2d's own indices,
    which name the first maximum of each window in reading order."""
    from helpers.checks.ch08 import maxpool_gradient

    x = torch.tensor([[[[0., 3., 3., 1.], [3., 1., 1., 3.], [0., 0., 2., 2.], [0., 0., 2., 2.]]]])
    dout = torch.tensor([[[[1., 2.], [3., 4.]]]])
    _, where = F.max_pool2d(x, 2, return_indices=True)
    assert where.flatten().tolist() == [1, 2, 8, 10]
    expected = torch.zeros(16).index_add_(0, where.flatten(), dout.flatten()).reshape(x.shape)
    assert torch.equal(maxpool_gradient(dout, x, 2, 2), expected)


def test_im2col_visible_cases_drop_a_window_that_does_not_fit():
    """An answer that counts windows with ceil fails the visible check (it used to pass it)."""
    dropped = [case for case in exercise("im2col").make_cases()
               if (case.args[0].shape[1] + 2 * case.args[3] - case.args[1]) % case.args[2]]
    assert dropped


def test_conv_backward_visible_cases_leave_rows_of_x_unread():
    """Rows of x that no window reads (not only padding): a dx sized by the stamps shows there."""
    unread = []
    for case in exercise("conv_backward").make_cases():
        dout, x, weight, stride, pad = case.args
        reached = (dout.shape[2] - 1) * stride + weight.shape[2]
        unread.append(reached < x.shape[2] + pad)
    assert any(unread)


def test_quiz_messages_never_show_the_answer():
    from grader.catalogue import revealed

    for key, tries in (("quiz_1x1_params", [0, 1, 2079, 2081, 2080.0, "2080", [2080], -2080]),
                       ("quiz_dilated_field", [0, 30, 32, 31.0, "31", (31,), None]),
                       ("quiz_transposed_shape", [(2, 8, 10, 11), (2, 8, 10, 12, 1), [2, 8, 10, 12],
                                                  (2.0, 8, 10, 12), "(2, 8, 10, 12)", (2, 8, 12, 10)])):
        ex = exercise(key)
        expected = ex.reference(ex.make_cases()[0])
        for value in tries:
            v = ex.verdict(value)
            assert not v.passed
            text = f"{v.message}\n{v.hint or ''}"
            for own in {repr(value), str(value)}:  # the learner's own value, repeated, tells them nothing
                text = text.replace(own, "")
            assert revealed(expected, text) is None, v.explain()


def test_numpy_integers_are_the_numbers_they_hold():
    assert verdict("grouped_params", lambda c_in, c_out, ks, groups=1, bias=True:
                   np.int64(c_out * (c_in // groups) * ks * ks + c_out * bias)).passed
    v = verdict("grouped_params", lambda c_in, c_out, ks, groups=1, bias=True:
                np.float64(c_out * (c_in // groups) * ks * ks + c_out * bias))
    assert not v.passed
