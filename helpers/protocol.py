"""What crosses the sandbox wall: the protocol between the harness and the judge, written once.

The grader runs a learner's notebook in a sandboxed process (``grader/sandbox/harness.py``)
and decides grades in its own process (``grader/grading/judge.py``), where no learner code
ever ran. The two agree on the facts below, and on nothing else. This module lives in
``helpers`` because the harness must import it inside the sandbox, where the ``grader``
package is deliberately absent, and because the notebook's own ``check`` (both halves in
one process, :mod:`helpers.learner.verdicts` over :mod:`helpers.checks`) follows the same rules. It imports nothing heavy (torch
only inside the functions that handle tensors), so the grader's launcher can use it freely:

* the **commands** the grader sends (:class:`Op`; :func:`run_command`, :func:`test_command`) and
  the **replies** it gets (:class:`Reply`; :func:`reply`), one JSON object per line with the wire
  keys below (:data:`OP`, :data:`STATUS`...); a test command carries the exercise's key and whether
  its test cell has a hidden part, so the harness never reads test code; a command's time limit
  defaults to :data:`CELL_TIMEOUT`;
* the **events** of a sandbox's start and end on the same channel, and on the zygote's socket
  (:data:`READY`, :data:`PID1`, :data:`SETUP_FAILED`, :data:`EXIT`...);
* the **outcome files** a test command leaves (:func:`outcome_file`), in the sandbox's
  :data:`OUTCOMES_DIR`: a list of records ``{"value", "error"}`` (:func:`outcome_record`,
  :data:`OUTCOME_FIELDS`), at most :data:`MAX_OUTCOME_BYTES` (the judge refuses a larger file,
  a cluster worker never carries one back);
* the **plain-data rule**: only exact ``torch.Tensor``, ``bool``, ``int``, ``float``, ``str``,
  ``None`` and tuples and lists of those, at most :data:`MAX_DEPTH` deep, leave learner code
  (:func:`to_plain` makes the copy, :func:`is_plain` checks what was loaded);
* the **error text**: one line naming the exception (:func:`describe_error`, :func:`one_line`),
  at most :data:`MAX_ERROR_CHARS` (:func:`clip_error`);
* the **not-attempted rule**: an answer that raises ``NotImplementedError`` (the released
  stub) was not attempted, not failed (:func:`not_attempted`);
* the **statuses** of an exercise (:class:`ExerciseStatus`);
* the **answer cell** of an exercise: its nbgrader grade id is :func:`answer_id` of the key
  (:func:`answered_key` reads it back).
"""

from __future__ import annotations

import traceback
from enum import StrEnum
from typing import Any

#: The folder, in the sandbox's writable home, where the harness writes outcome files.
OUTCOMES_DIR = "outcomes"
#: Nesting allowed in plain data: a list of tuples of tensors is depth 2.
MAX_DEPTH = 4
#: Items allowed in one collected list or tuple (a loaded file holding more is not trusted).
MAX_ITEMS = 10_000
#: The scalar types of plain data, matched exactly (``type(x) is int``, not ``isinstance``).
PLAIN_SCALARS = (bool, int, float, str, type(None))
#: NumPy's own scalar types (matched by exact type), copied as the Python number they hold: an answer
#: computed with ``np.cos`` or ``np.prod`` is a number like any other.
NUMPY_SCALARS = frozenset({"bool", "bool_", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
                           "float16", "float32", "float64", "longlong", "ulonglong", "intc", "uintc"})
#: Longest error text a reply, an outcome or a grading row carries (:func:`clip_error`).
MAX_ERROR_CHARS = 300
#: Largest outcome file the judge reads, and a cluster worker sends back.
MAX_OUTCOME_BYTES = 32 << 20
#: Seconds a cell may run under grading (nbgrader's ``Execute.timeout`` for the course, the grader's
#: ``cell_timeout``, the harness's default); nbgrader's own 30 s is too tight for a training cell on two cores.
CELL_TIMEOUT = 300
#: The exception the released stub raises (``raise NotImplementedError()``).
NOT_ATTEMPTED_ERROR = "NotImplementedError"


#: The wire keys of a command (``OP`` and what it needs) and of a reply (``STATUS``, ``ERROR``).
OP, KEY, HIDDEN, SOURCE, TIMEOUT, STATUS, ERROR = "op", "key", "hidden", "source", "timeout", "status", "error"
#: The fields of one outcome record (:func:`outcome_record`): the plain value, or the error in words.
VALUE = "value"
OUTCOME_FIELDS = frozenset({VALUE, ERROR})
#: An exercise's answer cell has the grade id ``<key>_answer`` (:func:`answer_id`).
ANSWER_SUFFIX = "_answer"


class Op(StrEnum):
    """What the grader asks the harness to do with one step of the plan."""

    CODE = "code"  # run a learner's cell
    TEST = "test"  # collect an exercise's outcomes from the learner's namespace
    CELL = "cell"  # run a test cell that has no exercise definition (it passes if it raises nothing)


class Reply(StrEnum):
    """How a step ended, as the harness reports it (``DIED``: as the grader records it)."""

    OK = "ok"
    ERROR = "error"  # the cell raised; ``error`` says what
    TIMEOUT = "timeout"  # the cell ran past its time and was interrupted
    MISSING = "missing"  # the exercise's answer is not defined in the learner's namespace
    DIED = "died"  # the sandbox ended before replying (set by the grader, never sent)


class ExerciseStatus(StrEnum):
    """The verdict on one exercise, as the notebook, the learner's check and the grader report it."""

    PASSED = "passed"
    FAILED = "failed"
    NOT_ATTEMPTED = "not attempted"
    ERROR = "error"  # the grader could not check it (the cell never ran, the sandbox died)


#: The hidden cases' seed exchange (:mod:`grader.grading.secret`). The grader keeps a test command's
#: ``SEED`` and sends the command marked ``SEALED`` instead; the process that draws the hidden cases
#: (the harness, or the by-hand guarded child once armed) asks for it with ``{NEED_SEED: true}`` on the
#: event channel and reads ``{SEED: int or null}`` back on the command channel, once per command.
SEED, SEALED, NEED_SEED = "seed", "sealed", "need_seed"

#: The events of a sandbox's start and end, besides the replies, one JSON object per line on the event
#: channel: the harness's ``{READY: true, SECONDS: s}`` once it is loaded (``SECONDS`` also on each reply:
#: the step's time); from the zygote's intermediate process, ``{PID1: pid}`` (the harness, as the host
#: sees it, so that the grader can kill it directly), ``{SETUP_FAILED: why}`` (the walls could not be
#: built) and ``{EXIT: code, CPU: seconds}`` (how the harness ended, and the CPU seconds it used: was a
#: SIGKILL the CPU limit's?). The zygote's own socket says ``{READY: true}`` once it is loaded and
#: ``{PID: pid}`` for each sandbox it forks.
READY, SECONDS, PID1, SETUP_FAILED, EXIT, CPU, PID = "ready", "seconds", "pid1", "setup_failed", "exit", "cpu", "pid"
#: ``{SIGNALS: what}`` on the event channel: the learner's code used a way to send a signal or start a process
#: (an audit event of :data:`SIGNALLING_EVENTS`, or a wrapped :data:`UNAUDITED_SIGNALLERS`), so a later kill of
#: the sandbox may be its own doing; without it, a kill no limit explains came from outside
#: (:func:`grader.sandbox.reaping.ended_from_outside`).
SIGNALS = "signals"
#: (A fork is not one: a forked child that signals raises its own event, with the hook it inherited. Nor is
#: ctypes, which the by-hand guard itself uses for seccomp; in a sandbox, PID 1 of its namespace cannot be
#: SIGKILLed from inside it anyway, so these matter where there is no PID namespace, ``--isolation none``.)
SIGNALLING_EVENTS = frozenset({"os.kill", "os.killpg", "signal.pthread_kill", "os.system", "subprocess.Popen",
                               "os.posix_spawn", "os.spawn", "os.exec", "pty.spawn", "resource.setrlimit",
                               "resource.prlimit"})
#: The functions of the ``signal`` module that send a signal without an audit event (Python 3.12).
UNAUDITED_SIGNALLERS = ("raise_signal", "pidfd_send_signal")


def test_command(key: str, hidden: bool, seed: int | None = None) -> dict:
    """The command collecting exercise ``key``'s outcomes, with its hidden cases when ``hidden``.

    A hidden test carries the random seed of its hidden cases (``None``: the public ones), which the
    grader's :class:`~grader.sandbox.process.Sandbox` hands over only on request (see ``SEED``).
    """
    command = {OP: Op.TEST.value, KEY: key, HIDDEN: bool(hidden)}
    if hidden:
        command[SEED] = seed
    return command


def run_command(op: Op, source: str) -> dict:
    """The command running ``source``: a learner's cell (``Op.CODE``) or a bare test cell (``Op.CELL``)."""
    return {OP: Op(op).value, SOURCE: source}


def make_reply(status: Reply, error: str | None = None) -> dict:
    """A reply of the harness: how the step ended, and what went wrong in words (clipped)."""
    return {STATUS: status} if error is None else {STATUS: status, ERROR: clip_error(error)}


def outcome_record(value: Any, error: str | None) -> dict:
    """One collected case as it is written to an outcome file (``torch.save`` of a list of these)."""
    return {VALUE: value, ERROR: error}


def answer_id(key: str) -> str:
    """The nbgrader grade id of exercise ``key``'s answer cell."""
    return f"{key}{ANSWER_SUFFIX}"


def answered_key(grade_id: str | None) -> str | None:
    """The exercise whose answer cell has ``grade_id``; ``None`` for any other grade id."""
    if isinstance(grade_id, str) and grade_id.endswith(ANSWER_SUFFIX) and len(grade_id) > len(ANSWER_SUFFIX):
        return grade_id[:-len(ANSWER_SUFFIX)]
    return None


def outcome_file(key: str, hidden: bool) -> str:
    """The name of the file holding exercise ``key``'s visible or hidden outcomes."""
    return f"{key}.{'hidden' if hidden else 'visible'}.pt"


class NotPlain(TypeError):
    """The learner's code returned something that is not plain data."""


def describe_type(value: Any) -> str:
    """A value's type as a message names it: ``int``, ``numpy.float64``, ``torch.nn.parameter.Parameter``."""
    kind = type(value)
    return kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


def to_plain(value: Any, *, depth: int = 0) -> Any:
    """Copy ``value`` into plain data, refusing look-alikes (the collecting half, in the sandbox).

    Exact types only: a ``torch.Tensor`` subclass, a NumPy array or an object that claims
    to equal everything is refused with :class:`NotPlain`, so nothing the learner defined
    survives into the comparison. A ``torch.Size`` becomes a tuple of ints, and a NumPy scalar
    of NumPy's own types (``np.float64``, ``np.int64`` ...) the Python number it holds.
    """
    import torch

    if depth > MAX_DEPTH:
        raise NotPlain("the value is nested too deeply")
    kind = type(value)
    if kind is torch.Tensor:
        return value.detach().to("cpu").clone().contiguous()
    if kind in PLAIN_SCALARS:
        return value
    if kind in (tuple, list):
        return kind(to_plain(v, depth=depth + 1) for v in value)
    if kind is torch.Size:
        return tuple(int(v) for v in value)
    if kind.__module__ == "numpy" and kind.__name__ in NUMPY_SCALARS:
        return value.item()  # np.float64(0.5) is the number 0.5; a subclass of it is not let through
    raise NotPlain(f"got a {describe_type(value)}")


def is_plain(value: Any, depth: int = 0) -> bool:
    """Whether a loaded value is plain data (the judging half, on what the sandbox wrote)."""
    import torch

    if depth > MAX_DEPTH:
        return False
    kind = type(value)
    if kind is torch.Tensor:
        return value.layout is torch.strided and not value.requires_grad and value.device.type == "cpu"
    if kind in PLAIN_SCALARS:
        return True
    if kind in (tuple, list):
        return len(value) <= MAX_ITEMS and all(is_plain(v, depth + 1) for v in value)
    return False


def describe_error(exc: BaseException | None, *, line: bool = True) -> str:
    """``"ValueError (line 3): the first line of its message"``: one line, never a traceback.

    ``line``: name the line of the learner's cell that raised, when the traceback has one
    (an exercise's collected error does; a cell's error, named by its cell, does not need it).
    """
    if exc is None:
        return ""
    where = ""
    if line:
        last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
        where = f" (line {last[0].lineno})" if last and last[0].filename.startswith("<ipython") else ""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}{where}: {text}" if text else f"{type(exc).__name__}{where}"


def clip_error(text: str) -> str:
    """Error text as a reply, an outcome or a grading row carries it: at most :data:`MAX_ERROR_CHARS`."""
    return text[:MAX_ERROR_CHARS]


def one_line(exc: BaseException, what: str) -> str:
    """``what`` failed, with the exception's type and first line: ``"judging failed: KeyError: 'x'"``."""
    return clip_error(f"{what}: {describe_error(exc, line=False)}")


def not_attempted(error: str | None) -> bool:
    """Whether an error text (or a verdict's message) is the released stub's: the exercise was not attempted."""
    return bool(error) and NOT_ATTEMPTED_ERROR in error


#: The width verdicts are wrapped to: a JupyterLab output area breaks longer lines anywhere, mid-word, and the
#: formgrader's and generate_feedback's pages do not break them at all (the grader's verdict outputs, too).
WRAP_WIDTH = 100


def wrapped(text: str, first: int = 0) -> list[str]:
    """The lines of ``text`` wrapped at word boundaries (a hint's continuation lines indented under it).

    ``first`` is how much of the first line something printed before the text takes.
    """
    import textwrap

    out: list[str] = []
    for i, line in enumerate(text.splitlines() or [""]):
        indent = " " * len("Hint: ") if line.startswith("Hint: ") else ""
        lead = "x" * first if i == 0 else ""
        lines = textwrap.wrap(lead + line, WRAP_WIDTH, subsequent_indent=indent, break_long_words=False,
                              break_on_hyphens=False) or [""]
        lines[0] = lines[0][len(lead):]
        out += lines
    return out


#: The words every refusal of a by-hand answer says (an exercise's ``forbid``, :func:`helpers.checks.core.forbidding`):
#: the learner's message names the built-in; the grader's findings (hub.findings) know a refusal by them.
BY_HAND_REFUSAL = "must be computed by hand"


def refused_by_hand(message: str | None) -> bool:
    """Whether a verdict's message is the refusal of a built-in in a by-hand answer."""
    return bool(message) and BY_HAND_REFUSAL in message
