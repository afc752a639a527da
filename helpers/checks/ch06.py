"""Exercise checks for chapter 6, "Pooling".

The references are PyTorch's own pooling (``F.max_pool2d`` and
``F.avg_pool2d``), which the learner's functions cannot reach: they run with
every pooling and convolution operator switched off. The model exercise is
checked by really training a fresh copy of the learner's model for a fixed,
small budget on the offline 3s and 7s, and by looking at its layers; only
plain data (a shape, layer names, a count, an accuracy) leaves the learner's side.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .core import POOLING_OPS, Case, Exercise, TrainedOnce, compare_equal, compare_tensor, quiz_case

CHAPTER = "06-pooling"


def _pool_reference(fn, x: torch.Tensor, size: int, stride: int, **kwargs) -> torch.Tensor:
    """Apply ``fn`` (``F.max_pool2d`` / ``F.avg_pool2d``) to the last two axes of ``x``, any leading axes."""
    lead, (h, w) = x.shape[:-2], x.shape[-2:]
    out = fn(x.reshape(-1, 1, h, w).double(), size, stride, **kwargs)
    return out.reshape(*lead, *out.shape[-2:]).to(x.dtype)


def _pool_cases(g: torch.Generator, hidden: bool) -> list[Case]:
    if not hidden:
        specs = [((8, 8), 2, 2), ((3, 6, 6), 3, 3),
                 ((2, 15, 10), 3, 2)]    # not square, windows overlap, the floor drops a column; all negative
    else:
        specs = [((8, 8), 2, 2),
                 ((9, 14), 3, 2),        # overlapping windows; the floor drops the last column
                 ((2, 7, 10), 2, 2),     # odd height: the floor drops the last row
                 ((2, 3, 11, 6), 3, 1),  # stride 1: every position
                 ((5, 12), 4, 3),        # the floor drops a row and a column
                 ((1, 10, 10), 2, 3)]    # stride larger than the window: gaps
    cases = []
    for shape, size, stride in specs:
        x = torch.randn(*shape, generator=g)
        if shape in ((9, 14), (2, 15, 10)):
            x = x - 4.0  # every value negative: a maximum that starts at 0 is wrong
        dims = "x".join(map(str, shape))
        cases.append(Case((x, size, stride), f"a {dims} input, size={size}, stride={stride}"))
    return cases


def _max_expected(case: Case) -> torch.Tensor:
    x, size, stride = case.args
    return _pool_reference(F.max_pool2d, x, size, stride)


def _avg_expected(case: Case) -> torch.Tensor:
    x, size, stride = case.args
    return _pool_reference(F.avg_pool2d, x, size, stride)


def _ceil(fn):
    def wrong(case: Case) -> torch.Tensor:
        x, size, stride = case.args
        return _pool_reference(fn, x, size, stride, ceil_mode=True)
    return wrong


def _stride_ignored(fn):
    def wrong(case: Case) -> torch.Tensor:
        x, size, _ = case.args
        return _pool_reference(fn, x, size, size)
    return wrong


def _max_from_zero(case: Case) -> torch.Tensor:
    x, size, stride = case.args
    return _pool_reference(F.max_pool2d, x.clamp(min=0), size, stride)


def _avg_sum(case: Case) -> torch.Tensor:
    x, size, stride = case.args
    return _pool_reference(F.avg_pool2d, x, size, stride) * size * size


_CEIL_HINT = ("a window that does not fit entirely is dropped, as PyTorch does by default: there are "
              "(n - size)//stride + 1 windows along an axis of length n.")
_STRIDE_HINT = ("move the window by `stride`, not by `size`: windows overlap when stride < size and leave gaps "
                "when stride > size.")
_SHAPE_HINT = ("pool over the last two axes and keep any axes before them (x[..., rows, cols]); height and "
               "width need not be equal.")

MAX_POOL = Exercise(
    key="max_pool",
    chapter=CHAPTER,
    answer="max_pool",
    title="max_pool(x, size, stride)",
    points=3,
    cases=_pool_cases,
    reference=_max_expected,
    compare=compare_tensor,
    mistakes={
        _CEIL_HINT: _ceil(F.max_pool2d),
        _STRIDE_HINT: _stride_ignored(F.max_pool2d),
        "a window can hold only negative values: start the maximum from the window's own values, not from 0.":
            _max_from_zero,
    },
    error_hints={"must match the size": _SHAPE_HINT, "out of bounds": _CEIL_HINT,
                 "too many indices": _SHAPE_HINT, "values to unpack": _SHAPE_HINT},
    forbid=POOLING_OPS,
    seed=601,
)

AVG_POOL = Exercise(
    key="avg_pool",
    chapter=CHAPTER,
    answer="avg_pool",
    title="avg_pool(x, size, stride)",
    points=2,
    cases=_pool_cases,
    reference=_avg_expected,
    compare=compare_tensor,
    mistakes={
        _CEIL_HINT: _ceil(F.avg_pool2d),
        _STRIDE_HINT: _stride_ignored(F.avg_pool2d),
        "that is the sum of each window: divide by the number of values in it, size * size.": _avg_sum,
    },
    error_hints={"must match the size": _SHAPE_HINT, "out of bounds": _CEIL_HINT,
                 "too many indices": _SHAPE_HINT, "values to unpack": _SHAPE_HINT},
    forbid=POOLING_OPS,
    seed=602,
)


# -- pool_cnn: a CNN with pooling that trains --------------------------------------------

#: The training budget of the check: epochs over the 800 training 3s and 7s, in batches of 64.
TRAIN_EPOCHS = 8
#: The validation accuracy a fresh copy must reach after that budget.
ACCURACY_BAR = 0.90
#: Larger models are refused before training, so that a check stays a matter of seconds.
MAX_PARAMS = 100_000


#: Random seeds of the fresh models the check trains: a verdict must not hang on one lucky initialisation.
VISIBLE_SEEDS = (0, 1)
HIDDEN_SEEDS = (2, 3)


def _cnn_cases(g: torch.Generator, hidden: bool) -> list[Case]:
    seeds, batches = (HIDDEN_SEEDS, (1, 5, 64)) if hidden else (VISIBLE_SEEDS, (64, 1))
    return [Case((seeds,), f"{len(seeds)} fresh models (random seeds {seeds[0]} and {seeds[1]}) trained "
                           f"{TRAIN_EPOCHS} epochs each", {"batches": batches})]


def _pooling_done(model: nn.Module, x: torch.Tensor) -> tuple[tuple[str, int, int], ...]:
    """``(layer type, input positions, output positions)`` of every pooling layer, measured with hooks."""
    from helpers.hooks import trace
    from helpers.models import POOLING_TYPES

    return tuple(trace(model, x, [m for m in model.modules() if isinstance(m, POOLING_TYPES)],
                       lambda m, inputs, out: (type(m).__name__, int(inputs[0].shape[-2] * inputs[0].shape[-1]),
                                               int(out.shape[-2] * out.shape[-1]))))


def _train_and_measure(make_model, case: Case):
    from helpers.train import fit, three_vs_seven

    from .ch04 import SQUASHING_OPS, ops_after_last_layer

    (seeds,) = case.args
    if isinstance(make_model, nn.Module):
        raise TypeError("`pool_cnn` should be a function that returns a new model (def pool_cnn(): return "
                        "nn.Sequential(...)), not a model: the check trains a fresh copy")
    torch.manual_seed(seeds[0])
    model = make_model()
    if not isinstance(model, nn.Module):
        raise TypeError(f"`pool_cnn()` should return a model (an nn.Module), not a {type(model).__name__}")
    n_params = sum(p.numel() for p in model.parameters())
    if n_params > MAX_PARAMS:
        raise ValueError(f"the model has {n_params:,} parameters; keep it under {MAX_PARAMS:,} so that the check "
                         "can train it in seconds")
    convs = sum(isinstance(m, nn.Conv2d) for m in model.modules())
    wide = sum(isinstance(m, nn.Conv2d) and max(m.kernel_size) > 1 for m in model.modules())
    train, valid = three_vs_seven()
    model.eval()  # probe as a trained model is used: batch norm and dropout accept a batch of one
    pools = _pooling_done(model, valid[0][:2])
    with torch.no_grad():
        shapes = tuple(tuple(int(s) for s in model(valid[0][:b]).shape) for b in case.extra["batches"])
    shapes_right = all(shape == (b, 2) for shape, b in zip(shapes, case.extra["batches"]))
    squashed = tuple(op for op in ops_after_last_layer(model, valid[0][:2]) if op in SQUASHING_OPS) \
        if shapes_right else ()
    accuracies: list[float] = []
    if shapes_right and wide and not squashed and any(n_out < n_in for _, n_in, n_out in pools):
        for seed in seeds:  # only a model that is right in form is trained
            torch.manual_seed(seed)
            fresh = make_model()
            history = fit(fresh, train, valid, epochs=TRAIN_EPOCHS, lr=0.01, batch_size=64, seed=seed,
                          progress=False)
            accuracies.append(round(float(history.valid_accuracy[-1]), 4))
    return shapes, pools, convs, wide, squashed, tuple(accuracies)


#: Training is remembered per function object and case (see :class:`~.core.TrainedOnce`).
_cnn_run = TrainedOnce(_train_and_measure)


def _cnn_expected(case: Case):
    return tuple((b, 2) for b in case.extra["batches"]), ACCURACY_BAR


def _compare_cnn(got, expected, case: Case) -> str | None:
    shapes, pools, convs, wide, squashed, accuracies = got
    e_shapes, bar = expected
    for shape, e_shape in zip(shapes, e_shapes):
        if shape != e_shape:
            return (f"on a batch of {e_shape[0]} digits the model returned shape {shape}, expected {e_shape}: one "
                    "score for 3 and one for 7 per image (end with nn.Flatten() and a layer with 2 outputs)")
    if not pools:
        return ("the model has no pooling layer: use nn.MaxPool2d, nn.AvgPool2d or nn.AdaptiveAvgPool2d "
                "(this chapter is about pooling)")
    if not any(n_out < n_in for _, n_in, n_out in pools):
        return (f"the pooling layers {[name for name, _, _ in pools]} do not shrink anything (their input "
                "is already as small as their output): put pooling where the maps are still large")
    if convs == 0:
        return "the model has no nn.Conv2d layer: a CNN needs convolutions"
    if not wide:
        return ("every convolution has a 1x1 kernel: each looks at one pixel, so nothing compares neighbouring "
                "pixels; use kernels of 3x3 (or larger)")
    if squashed:
        return (f"`{squashed[0]}` runs after the last layer: the two scores must be free to take any value "
                "(no ReLU or softmax at the end; the loss applies its own softmax)")
    mean = sum(accuracies) / len(accuracies)
    if mean < bar:
        each = ", ".join(f"{a:.1%}" for a in accuracies)
        return (f"after {TRAIN_EPOCHS} epochs of training, {len(accuracies)} fresh copies reached {each} validation "
                f"accuracy ({mean:.1%} on average); at least {bar:.0%} on average is needed. Try more filters "
                "or fewer pooling layers")
    return None


POOL_CNN = Exercise(
    key="pool_cnn",
    chapter=CHAPTER,
    answer="pool_cnn",
    title="pool_cnn(), a CNN with pooling that trains",
    points=3,
    cases=_cnn_cases,
    run=_cnn_run,
    reference=_cnn_expected,
    compare=_compare_cnn,
    error_hints={
        "mat1 and mat2": "the size going into nn.Linear does not match its in_features: print the shape before "
                         "it (helpers.models.print_summary) and use that",
        "Expected 4D": "the model receives a batch of images [N, 1, 28, 28]",
    },
    seed=603,
)


# -- review quiz -----------------------------------------------------------------------------

def _quiz_size_expected(case: Case) -> tuple[int, int]:
    """Measured: what nn.MaxPool2d(3, stride=2) gives a 13x10 map."""
    return tuple(int(s) for s in nn.MaxPool2d(3, stride=2)(torch.zeros(1, 1, 13, 10)).shape[-2:])


QUIZ_POOL_SIZE = Exercise(
    key="quiz_pool_size",
    chapter=CHAPTER,
    answer="quiz_pool_size",
    title="review question 1 (pooled size)",
    points=1,
    kind="value",
    cases=quiz_case,
    reference=_quiz_size_expected,
    compare=compare_equal,
    mistakes={_CEIL_HINT: lambda case: (6, 5),
              "the window moves by 2 (the stride), not by 3: (n - size)//stride + 1.": lambda case: (4, 3)},
    seed=604,
)


def _quiz_params_expected(case: Case) -> int:
    """Counted: the parameters of a max-pooling and an average-pooling layer."""
    return sum(p.numel() for layer in (nn.MaxPool2d(2), nn.AvgPool2d(2)) for p in layer.parameters())


QUIZ_POOL_PARAMS = Exercise(
    key="quiz_pool_params",
    chapter=CHAPTER,
    answer="quiz_pool_params",
    title="review question 2 (parameters of pooling)",
    points=1,
    kind="value",
    cases=quiz_case,
    reference=_quiz_params_expected,
    compare=compare_equal,
    mistakes={"pooling has no weights to learn: a maximum or a mean of a window is fixed.":
              lambda case: 8},
    seed=605,
)


def _quiz_gap_expected(case: Case) -> tuple[int, ...]:
    """Measured: the shape nn.AdaptiveAvgPool2d(1) gives a batch [64, 32, 7, 7]."""
    return tuple(int(s) for s in nn.AdaptiveAvgPool2d(1)(torch.zeros(64, 32, 7, 7)).shape)


QUIZ_GAP_SHAPE = Exercise(
    key="quiz_gap_shape",
    chapter=CHAPTER,
    answer="quiz_gap_shape",
    title="review question 3 (global average pooling)",
    points=1,
    kind="value",
    cases=quiz_case,
    reference=_quiz_gap_expected,
    compare=compare_equal,
    mistakes={"the pooling keeps the batch and channel axes and makes each map 1x1: it does not flatten.":
              lambda case: (64, 32),
              "global pooling averages each channel's map separately; the 32 channels stay.":
              lambda case: (64, 1, 1, 1)},
    seed=606,
)

EXERCISES = [MAX_POOL, AVG_POOL, POOL_CNN, QUIZ_POOL_SIZE, QUIZ_POOL_PARAMS, QUIZ_GAP_SHAPE]
