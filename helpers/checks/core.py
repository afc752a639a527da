"""The machinery behind every exercise check: one definition, three callers.

An :class:`Exercise` is written once, in ``helpers/checks/chNN.py``, and used

* by the **visible test cell** a learner runs (``check("apply_kernel")``),
* by the **hidden test** nbgrader adds at grading (``check("apply_kernel", hidden=True)``),
* by the project's own **pytest suite**, which runs the same definition on the
  reference solution and on known wrong answers.

Checking happens in two halves so that the grader can run them in different
processes:

1. :meth:`Exercise.collect` runs the learner's code on random inputs and keeps
   only plain data (exact ``torch.Tensor``, numbers, strings, tuples) or the
   error it raised. This is the only half that runs learner code.
2. :meth:`Exercise.judge` computes the reference results independently
   (``torch.nn.functional.conv2d`` and friends, never a copy of the answer),
   compares them with what was collected, exact types first, then shapes,
   then values, and explains any difference in words, with a hint when the
   difference matches a known mistake.
"""

from __future__ import annotations

import math
import types
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import torch

from helpers.hooks import watching_ops

from ..protocol import (NOT_ATTEMPTED_ERROR, ExerciseStatus, NotPlain, describe_error, describe_type, not_attempted,
                        to_plain, wrapped, BY_HAND_REFUSAL)

Kind = Literal["function", "value"]


class CheckFailed(AssertionError):
    """Raised by a test cell when an answer is wrong; its message says what to fix."""

    def __init__(self, verdict: "Verdict") -> None:
        super().__init__(verdict.explain())
        self.verdict = verdict

    def _render_traceback_(self) -> list[str]:  # IPython: show the verdict, not a stack
        return [f"\x1b[0;31mCheckFailed\x1b[0m: {line}" if i == 0 else line
                for i, line in enumerate(wrapped(self.verdict.explain(), first=len("CheckFailed: ")))]


#: The status of an exercise whose answer is not written yet (undefined, or still the stub raising
#: ``NotImplementedError``): the one word for it in the notebook, ``grader check``, ``grader progress``
#: and the grades, defined in :mod:`helpers.protocol`.
NOT_ATTEMPTED = ExerciseStatus.NOT_ATTEMPTED


class NotAttempted(CheckFailed):
    """Raised by the test cell of an exercise not done yet; shown as one line in words, without a stack."""

    def _render_traceback_(self) -> list[str]:
        v = self.verdict
        if not_attempted(v.message):
            why = f"`{v.exercise}` still raises {NOT_ATTEMPTED_ERROR}: write your answer in its cell above"
        else:
            why = f"`{v.exercise}` is not defined yet: write it in its cell above"
        return [f"Not attempted yet: {v.title}. {why}, run that cell, then this one."]


class ShortcutUsed(RuntimeError):
    """Raised inside a learner's function that calls a built-in the exercise asks them to write by hand."""


@dataclass(frozen=True)
class Case:
    """One input for an exercise.

    Attributes:
        args: positional arguments for the learner's function (or, for a value
            exercise, for the probe that measures the value's behaviour).
        label: how to describe this case in a message, e.g. ``"a 9x13 image"``.
        extra: anything else the reference needs.
    """

    args: tuple = ()
    label: str = ""
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """What the learner's code produced for one case: a plain value or an error."""

    value: Any = None
    error: str | None = None


@dataclass
class Verdict:
    """The result of checking one exercise; whether it passed is read from its ``status``."""

    exercise: str
    title: str
    points: int
    max_points: int
    cases: int
    message: str = ""
    hint: str | None = None
    status: ExerciseStatus = ExerciseStatus.FAILED
    #: True for the learner's visible check, which never claims the points: grading runs more cases.
    visible: bool = False
    #: What the visible check leaves to grading, in words (``Exercise.untested``); said when it passes.
    untested: str = ""

    @property
    def passed(self) -> bool:
        return self.status == ExerciseStatus.PASSED

    def explain(self) -> str:
        """A short verdict in words, as printed under a test cell."""
        if self.passed and self.visible:
            checks = "1 check" if self.cases == 1 else f"{self.cases} checks"
            text = f"{self.title}: visible checks passed; grading runs more cases ({checks} run here)."
            return f"{text} Not tested here: {self.untested}." if self.untested else text
        if self.passed:
            checks = "1 check" if self.cases == 1 else f"{self.cases} checks"
            return f"Passed: {self.title} ({checks}, {self.points} of {self.max_points} points)."
        text = f"{self.title}: {self.message}"
        if self.hint:
            text += f"\nHint: {self.hint}"
        return text


# ---------------------------------------------------------------------------
# plain data: the only thing that leaves the learner's code (the rule is in helpers.protocol)


# ---------------------------------------------------------------------------
# shortcuts that an exercise may forbid

#: ATen operators that compute a convolution (or its sliding windows) for you. An exercise with a
#: non-empty ``forbid`` is checked under the allowlist of :mod:`helpers.checks.allowed_ops`, which
#: refuses these (and every other operator that is not elementary) already; ``forbid`` names what
#: must be refused besides, and marks the exercise as one done by hand.
CONVOLUTION_OPS = frozenset({
    "convolution", "_convolution", "conv2d", "conv1d", "conv3d", "cudnn_convolution",
    "mkldnn_convolution", "_slow_conv2d_forward", "thnn_conv2d", "slow_conv_dilated2d",
    "im2col", "col2im", "unfold", "as_strided", "conv_transpose2d",
})
#: ATen operators that pool for you.
POOLING_OPS = CONVOLUTION_OPS | frozenset({
    "max_pool2d", "max_pool2d_with_indices", "avg_pool2d", "adaptive_avg_pool2d",
    "_adaptive_avg_pool2d", "adaptive_max_pool2d", "max_pool1d", "avg_pool1d",
    "fractional_max_pool2d", "lp_pool2d",
})


def refusal_message(what: str, name: str) -> str:
    """The learner's one line for an operator a by-hand answer may not call (it names the operator)."""
    return (f"{what} {BY_HAND_REFUSAL}, but it called torch's built-in `{name}`, which a by-hand "
            "answer may not use (only indexing, slicing, arithmetic, sums and other elementary operators).")


#: Why a by-hand answer may not turn its tensors into NumPy arrays (see :data:`~.allowed_ops.NUMPY_BRIDGES`).
BRIDGE_REASON = "a by-hand answer computes on the tensors themselves with torch's operators, not a NumPy array of them"


#: The hint for it, whatever the exercise (it comes before an exercise's own hint for a refused shortcut).
BRIDGE_HINT = ("keep the tensors as they are and compute with torch (indexing, slicing, * and .sum()): "
               f"{BRIDGE_REASON}, so return a torch tensor too.")


def bridge_message(what: str, name: str) -> str:
    """The learner's one line for a tensor turned into a NumPy array inside a by-hand answer."""
    return f"{what} {BY_HAND_REFUSAL}, but it called `Tensor.{name}`: {BRIDGE_REASON}."


def _refuse_ops(ops: frozenset[str], what: str):
    from .allowed_ops import ALLOWED

    def on_op(name: str) -> None:  # ``name`` is ``"ns::name"`` outside the aten namespace
        if name in ops or name not in ALLOWED:
            raise ShortcutUsed(refusal_message(what, name))
    return on_op


_NOT_SET = object()


def _refusing(message: str):
    def refuse(*args, **kwargs):
        raise ShortcutUsed(message)
    return refuse


@contextmanager
def forbidding(ops: frozenset[str], what: str):
    """While inside, allow only elementary ATen operators (and no SciPy/NumPy window shortcuts).

    With a non-empty ``ops`` (an exercise's ``forbid``), every operator outside
    :data:`helpers.checks.allowed_ops.ALLOWED`, and every one in ``ops``, raises
    :class:`ShortcutUsed` naming it. Works at PyTorch's dispatcher, so it catches a shortcut
    however the learner reached it (``F.conv2d``, ``torch.conv2d``, a name imported earlier,
    a module). An empty ``ops`` checks nothing.
    """
    import sys

    from .allowed_ops import NUMPY_BRIDGES, PYTHON_SHORTCUTS

    if not ops:
        yield
        return
    saved = []

    def blocked(name: str):
        def refuse(*args, **kwargs):
            raise ShortcutUsed(f"{what} {BY_HAND_REFUSAL}, but it called `{name}`.")
        return refuse

    codes = []  # a name imported before the check (`from scipy.signal import correlate2d`) keeps the
    for module_name, names in PYTHON_SHORTCUTS.items():  # function object: refuse through its code too
        module = sys.modules.get(module_name)
        if module is None:
            continue
        for name in names:
            if hasattr(module, name):
                function = getattr(module, name)
                function = getattr(function, "_implementation", function)  # NumPy's array-function dispatchers
                if isinstance(function, types.FunctionType) and not function.__code__.co_freevars:
                    function.__globals__["__conv_course_shortcut__"] = blocked
                    refuse = f"def refuse(*a, **k):\n    __conv_course_shortcut__({module_name + '.' + name!r})()"
                    namespace: dict = {}
                    exec(refuse, namespace)
                    codes.append((function, function.__code__))
                    function.__code__ = namespace["refuse"].__code__
                saved.append((module, name, getattr(module, name)))
                setattr(module, name, blocked(f"{module_name}.{name}"))
    bridges = [(name, vars(torch.Tensor).get(name, _NOT_SET)) for name in NUMPY_BRIDGES]
    for name, _ in bridges:
        setattr(torch.Tensor, name, _refusing(bridge_message(what, name)))
    try:
        with watching_ops(_refuse_ops(ops, what)):
            yield
    finally:
        for name, original in bridges:
            if original is _NOT_SET:
                delattr(torch.Tensor, name)
            else:
                setattr(torch.Tensor, name, original)
        for module, name, original in reversed(saved):
            setattr(module, name, original)
        for function, code in reversed(codes):
            function.__code__ = code


@contextmanager
def no_autograd(what: str):
    """Refuse any autograd graph built in the block: a backward pass asked for by hand is written by hand.

    PyTorch's documented ``saved_tensors_hooks``: the first tensor autograd would save for a backward
    pass raises :class:`ShortcutUsed`, however the graph was started (``requires_grad``, ``backward``);
    ``torch.func``, which refuses to run under those hooks, is named as the autograd it is.
    """
    def refuse(tensor):
        raise ShortcutUsed(f"{what} {BY_HAND_REFUSAL}, but it asked autograd to record a graph "
                           "(requires_grad / backward): write the gradient yourself.")

    with torch.autograd.graph.saved_tensors_hooks(refuse, lambda t: t):
        try:
            yield
        except RuntimeError as exc:
            if "saved tensor hooks" in str(exc):  # torch.func refuses to run under the hooks
                raise ShortcutUsed(f"{what} {BY_HAND_REFUSAL}, but it used torch.func "
                                   "(grad / vjp are autograd): write the gradient yourself.") from None
            raise


def without_autograd(name: str, call: Callable | None = None):
    """A ``run`` for a by-hand exercise: the answer called (``answer(*case.args)``, or ``call(answer, case)``)
    with autograd refused (:func:`no_autograd`)."""
    def run(answer, case: Case):
        with no_autograd(f"`{name}`"):
            return call(answer, case) if call else answer(*case.args)
    return run


# ---------------------------------------------------------------------------
# comparisons

Compare = Callable[[Any, Any, Case], "str | None"]


def compare_tensor(got: Any, expected: torch.Tensor, case: Case, *, atol: float = 1e-4,
                   rtol: float = 1e-4) -> str | None:
    """Exact type, then shape, then values; ``None`` when they agree."""
    if type(got) is not torch.Tensor:
        return f"expected a torch.Tensor, got {type_name(got)}"
    if tuple(got.shape) != tuple(expected.shape):
        return f"expected shape {tuple(expected.shape)}, got {tuple(got.shape)}"
    if not got.dtype.is_floating_point and expected.dtype.is_floating_point:
        return f"expected a floating-point tensor, got dtype {got.dtype}"
    got_f, exp_f = got.double(), expected.double()
    bad = ~torch.isclose(got_f, exp_f, atol=atol, rtol=rtol)
    if bool(bad.any()):
        where = tuple(int(i) for i in bad.nonzero()[0])
        n_bad = int(bad.sum())
        return (f"{n_bad} of {bad.numel()} values differ; at index {where} expected "
                f"{exp_f[where].item():.4g}, got {got_f[where].item():.4g}")
    return None


def compare_number(got: Any, expected: float | int, case: Case, *, atol: float = 1e-4) -> str | None:
    """A Python or 0-d tensor number against an expected number."""
    if type(got) is torch.Tensor and got.numel() == 1:
        got = got.item()
    if type(got) not in (int, float):
        return f"expected a number, got {type_name(got)}"
    if not math.isclose(float(got), float(expected), abs_tol=atol, rel_tol=1e-4):
        return f"expected {expected:.4g}, got {got:.4g}" if isinstance(expected, float) else \
            f"expected {expected}, got {got}"
    return None


def compare_int(got: Any, expected: int, case: Case) -> str | None:
    """An exact whole number (sizes, counts): ``14`` is right, ``14.0`` and ``14.5`` are not."""
    if type(got) is torch.Tensor and got.numel() == 1 and not got.dtype.is_floating_point:
        got = int(got.item())
    if type(got) is not int:
        return f"expected a whole number (int), got {type_name(got)} {got!r}"
    if got != expected:
        return f"expected {expected}, got {got}"
    return None


def compare_equal(got: Any, expected: Any, case: Case) -> str | None:
    """Plain equality of plain data (tuples, strings, ints), types included at every level."""
    if not _same_types(got, expected):
        return f"expected {expected!r} (a {type(expected).__name__} of {_inner_types(expected)}), got " \
               f"{got!r} ({type_name(got)})"
    if got != expected:
        return f"expected {expected!r}, got {got!r}"
    return None


def _same_types(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(_same_types(x, y) for x, y in zip(a, b))
    return True


def _inner_types(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return ", ".join(sorted({type(v).__name__ for v in value})) or "nothing"
    return type(value).__name__


def type_name(value: Any) -> str:
    if type(value) is torch.Tensor:
        return f"a tensor of shape {tuple(value.shape)}"
    return f"a {describe_type(value)}"


def _agrees(got: Any, expected: Any) -> bool:
    try:
        if type(got) in (tuple, list) and any(type(v) is torch.Tensor for v in got):  # several results
            return (type(got) is type(expected) and len(got) == len(expected)
                    and all(_agrees(a, b) for a, b in zip(got, expected)))
        if type(got) is torch.Tensor and got.numel() == 1 and type(expected) in (int, float):
            got = got.item()
        if type(got) is torch.Tensor and type(expected) is torch.Tensor:
            return got.shape == expected.shape and bool(torch.allclose(got.double(), expected.double(),
                                                                          atol=1e-4, rtol=1e-4))
        if type(got) is torch.Tensor or type(expected) is torch.Tensor:
            return False
        if isinstance(got, float) or isinstance(expected, float):
            return type(got) in (int, float) and math.isclose(got, expected, abs_tol=1e-6)
        return type(got) is type(expected) and got == expected
    except Exception:  # noqa: BLE001 - any failure to compare is a disagreement
        return False


# ---------------------------------------------------------------------------
# exercises


@dataclass
class Exercise:
    """One autograded exercise, defined once.

    Attributes:
        key: the exercise's id, unique in the course; also the nbgrader ``grade_id``
            of its test cell.
        chapter: the chapter folder, e.g. ``"01-convolution-by-hand"``.
        answer: the name the learner defines in the notebook.
        title: a short description used in messages.
        points: points of the test cell (kept equal to the notebook's by a test).
        kind: ``"function"`` (call the learner's function on each case) or
            ``"value"`` (probe the learner's value with each case).
        cases: ``cases(generator, hidden)`` returns the random cases; ``hidden``
            cases are more, larger and nastier (non-square, odd sizes, floors).
        reference: the expected result for a case, computed independently.
        run: how to get a result from the answer for one case; by default the
            answer is called with ``case.args``. Runs where learner code runs.
        compare: how a result is compared with the reference.
        mistakes: known wrong answers: ``{hint: wrong_reference}``. When every
            failing case matches one, the hint is shown.
        error_hints: ``{text in the error: hint}`` for errors that betray a known mistake.
        forbid: ATen operators that must not be used (see :data:`CONVOLUTION_OPS`).
        seed: base seed; the hidden cases use a different stream. At grading, the
            hidden cases come instead from a seed derived from the instructor's course
            secret (``secret_seed``), which learners never have.
        untested: what only the hidden cases try (e.g. "non-square kernels"), said under a
            visible check that passes, so that a learner knows what grading adds.
        trial: for a check that trains the learner's model, one training run with a given seed:
            ``trial(answer, seed) -> accuracy``; ``benchmarks/seeds.py`` runs it over many seeds
            for the reference and the catalogue's wrong answers, to place the bar.
    """

    key: str
    chapter: str
    answer: str
    title: str
    points: int
    cases: Callable[[torch.Generator, bool], Sequence[Case]]
    reference: Callable[[Case], Any]
    kind: Kind = "function"
    run: Callable[[Any, Case], Any] | None = None
    compare: Compare = compare_tensor
    mistakes: dict[str, Callable[[Case], Any]] = field(default_factory=dict)
    error_hints: dict[str, str] = field(default_factory=dict)
    forbid: frozenset[str] = frozenset()
    seed: int = 0
    untested: str = ""
    trial: Callable[[Any, int], float] | None = None

    # -- the cases -------------------------------------------------------
    def make_cases(self, hidden: bool = False, secret_seed: int | None = None) -> list[Case]:
        """The exercise's cases: fixed seed, so every run checks the same inputs.

        ``secret_seed`` (hidden cases only) replaces the public seed: the instructor's
        grading draws its hidden inputs from the course secret (see :mod:`grader.grading.secret`).
        """
        seed = secret_seed if hidden and secret_seed is not None else self.seed * 2 + (1 if hidden else 0) + 1000
        generator = torch.Generator().manual_seed(seed)
        return list(self.cases(generator, hidden))

    # -- half 1: where learner code runs ---------------------------------
    def collect(self, answer: Any, hidden: bool = False, secret_seed: int | None = None) -> list[Outcome]:
        """Run the learner's answer on every case; keep plain data or the error."""
        outcomes = []
        if self.kind == "value":
            # The value is probed in :meth:`judge`; only its plain copy leaves here.
            try:
                return [Outcome(value=to_plain(answer))]
            except NotPlain as exc:
                return [Outcome(error=f"`{self.answer}` should be plain data; {exc}")]
        if not callable(answer):
            return [Outcome(error=f"`{self.answer}` should be a function, but it is {type_name(answer)}")]
        for case in self.make_cases(hidden, secret_seed):
            outcomes.append(self._run_one(answer, case))
        return outcomes

    def _run_one(self, answer: Any, case: Case, forbid: frozenset[str] | None = None) -> Outcome:
        """One call of the answer; ``forbid`` overrides :attr:`forbid` (the grader's own guard passes its copy)."""
        args = tuple(a.clone() if type(a) is torch.Tensor else a for a in case.args)
        try:
            with forbidding(self.forbid if forbid is None else forbid, f"`{self.answer}`"):
                result = self.run(answer, Case(args, case.label, case.extra)) if self.run else answer(*args)
            return Outcome(value=to_plain(result))
        except NotPlain as exc:
            return Outcome(error=f"`{self.answer}` should return plain data; {exc}")
        except ShortcutUsed as exc:
            return Outcome(error=str(exc))
        except Exception as exc:  # noqa: BLE001 - the learner's error is the verdict
            return Outcome(error=describe_error(exc))

    # -- half 2: where learner code never runs ---------------------------
    def judge(self, outcomes: Sequence[Outcome], hidden: bool = False, secret_seed: int | None = None) -> Verdict:
        """Compare collected outcomes with independent references."""
        cases = self.make_cases(hidden, secret_seed)
        fail = lambda message, hint=None: Verdict(self.key, self.title, 0, self.points,
                                                  len(cases), message, hint, ExerciseStatus.FAILED)
        if self.kind == "value":
            if len(outcomes) != 1:
                return fail("nothing was collected")
            if outcomes[0].error:
                return _not_done(fail(outcomes[0].error), outcomes[0].error)
            value = outcomes[0].value
            got_all = []
            for case in cases:
                try:
                    got_all.append(self.run(value, case) if self.run else value)
                except Exception as exc:  # noqa: BLE001
                    return _not_done(fail(f"using `{self.answer}` on {case.label or 'a test input'} failed: "
                                          f"{describe_error(exc)}"), describe_error(exc))
        else:
            if len(outcomes) != len(cases):
                return fail(f"expected {len(cases)} results, collected {len(outcomes)}")
            got_all = []
            for case, outcome in zip(cases, outcomes):
                if outcome.error:
                    where = f" on {case.label}" if case.label else ""
                    hints = {BRIDGE_REASON: BRIDGE_HINT, **self.error_hints}
                    hint = next((h for text, h in hints.items() if text in outcome.error), None)
                    return _not_done(fail(f"calling `{self.answer}`{where} raised {outcome.error}", hint),
                                     outcome.error)
                got_all.append(outcome.value)

        failures = []
        for case, got in zip(cases, got_all):
            expected = self.reference(case)
            problem = self.compare(got, expected, case)
            if problem:
                failures.append((case, got, problem))
        if not failures:
            return Verdict(self.key, self.title, self.points, self.points, len(cases),
                           status=ExerciseStatus.PASSED, visible=not hidden, untested=self.untested)
        case, got, problem = failures[0]
        if self.kind == "value":  # a single answer: say what is wrong with it, never what it should be
            problem = without_answer(got, self.reference(case))
            where = f"{case.label}: " if case.label and case.label != QUIZ_LABEL else ""
            message = f"{where}{problem}" if len(cases) == 1 else \
                f"{where}{problem} ({len(failures)} of {len(cases)} checks failed)"
            return fail(message, self._hint(failures))
        where = f"for {case.label}, " if case.label else ""
        message = f"{where}{problem} ({len(failures)} of {len(cases)} checks failed)"
        return fail(message, self._hint(failures))

    def _hint(self, failures: list[tuple[Case, Any, str]]) -> str | None:
        """The catalogued mistake every failing case agrees with; else the relation they all show."""
        for hint, wrong in self.mistakes.items():
            try:
                if all(_agrees(got, wrong(case)) for case, got, _ in failures):
                    return hint
            except Exception:  # noqa: BLE001 - a mistake model that cannot apply gives no hint
                continue
        if self.kind != "function":  # a single answer: a relation to it would give it away
            return None
        from .relations import diagnose

        try:
            return diagnose([(got, self.reference(case)) for case, got, _ in failures])
        except Exception:  # noqa: BLE001 - no relation can be read: no hint
            return None

    # -- both halves, in one process (the notebook and pytest) -----------
    def verdict(self, answer: Any, hidden: bool = False, secret_seed: int | None = None) -> Verdict:
        """Collect and judge in this process; never raises for a wrong answer."""
        return self.judge(self.collect(answer, hidden, secret_seed), hidden, secret_seed)


def _not_done(verdict: Verdict, error: str | None) -> Verdict:
    """A failure caused by the stub is "not attempted", wherever it is judged."""
    if not_attempted(error):
        verdict.status = NOT_ATTEMPTED
    return verdict


class TrainedOnce:
    """A check's training, run once per function object and case, then remembered.

    The checks of chapters 6 and 7 train the learner's model-making function; the chapter's summary
    table re-runs the visible check, and the same function object trained on the same case gives the
    same result. The function is kept with its result, so its ``id`` cannot be reused by another one.
    """

    def __init__(self, measure: Callable[[Any, Case], Any]) -> None:
        self._measure = measure
        self._done: dict[tuple, tuple] = {}

    def __call__(self, make_model: Any, case: Case) -> Any:
        key = (id(make_model), case.args, case.extra.get("batches"))
        cached = self._done.get(key)
        if cached is not None and cached[0] is make_model:
            return cached[1]
        result = self._measure(make_model, case)
        self._done[key] = (make_model, result)
        return result


#: How a review question's one case is named (it is not repeated in the message).
QUIZ_LABEL = "the quiz question"


def quiz_case(generator: torch.Generator, hidden: bool) -> list[Case]:
    """The cases of a review question: the question itself, asked once (visible and hidden alike)."""
    return [Case((), QUIZ_LABEL)]


_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth")


def without_answer(got: Any, expected: Any) -> str:
    """What is wrong with a single answer (a review question, a value exercise), never the answer itself.

    A message that printed the expected value would turn any guess into the answer: this one names
    the learner's own value, its type or length, and which entries are wrong, and leaves the rest to
    the hint, which names the misconception.
    """
    if type(expected) is torch.Tensor:
        if type(got) is not torch.Tensor:
            return f"expected a torch.Tensor, got {type_name(got)}"
        if tuple(got.shape) != tuple(expected.shape):
            return f"expected shape {tuple(expected.shape)}, got {tuple(got.shape)}"
        bad = ~torch.isclose(got.double(), expected.double(), atol=1e-4, rtol=1e-4)
        where = tuple(int(i) for i in bad.nonzero()[0]) if bool(bad.any()) else ()
        mine = f" (yours: {got.double()[where].item():.4g})" if where else ""
        return f"{int(bad.sum())} of {bad.numel()} values are not right, the first at index {where}{mine}"
    if isinstance(expected, (tuple, list)):
        kind = type(expected).__name__
        inner = _inner_types(expected)
        if not (type(got) is type(expected) and len(got) == len(expected)):
            return f"expected a {kind} of {len(expected)} ({inner}), got {got!r} ({type_name(got)})"
        if not _same_types(got, expected):
            return f"expected a {kind} of {inner}, got {got!r} ({type_name(got)} of {_inner_types(got)})"
        wrong = [i for i, (a, b) in enumerate(zip(got, expected)) if a != b]
        names = [_ORDINALS[i] if i < len(_ORDINALS) else f"#{i + 1}" for i in wrong]
        which = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        return f"{got!r} is not right: its {which} {'entry is' if len(wrong) == 1 else 'entries are'} wrong"
    if type(expected) is int and type(got) is not int:
        return f"expected a whole number (int), got {type_name(got)} {got!r}"
    if type(expected) is float and type(got) not in (int, float):
        return f"expected a number, got {type_name(got)}"
    if type(expected) is str and type(got) is not str:
        return f"expected a name (a str), got {type_name(got)}"
    return f"{got!r} is not the right answer"


def random_image(generator: torch.Generator, height: int, width: int) -> torch.Tensor:
    """A float image with values in ``[0, 1)`` drawn from ``generator``."""
    return torch.rand(height, width, generator=generator)


def randint(generator: torch.Generator, low: int, high: int) -> int:
    """A whole number in ``[low, high]`` (both ends included) drawn from ``generator``."""
    return int(torch.randint(low, high + 1, (1,), generator=generator))

