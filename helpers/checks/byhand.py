"""Collecting a by-hand answer at grading, in a child process whose guard the answer cannot take down.

In a notebook, the visible check of a by-hand exercise (``convolve``, ``max_pool``...) runs
the learner's function under a dispatch mode (:func:`helpers.checks.core.forbidding`). That
mode lives in the learner's own thread and process, so code the learner writes can reach
it: patch the checker from an earlier cell, pop the mode inside the answer and push it back,
compute in another thread (modes are per thread) or in a child process. At grading the
sandboxed harness therefore collects a by-hand answer with :func:`collect` instead, in
layers, each of which alone defeats one of those routes:

1. **A child process per collection** (``fork``), so nothing the answer does to the
   process outlives the check, and nothing the harness does next runs on a changed process.
   One child collects a test cell's public and hidden cases both (the fork and the arming are
   most of a collection's cost), and leaves everything it inherited to the parent's garbage
   collector (``gc.freeze``: a collection in the child would copy every page of the heap).
2. **No threads, no processes** in that child: a seccomp filter (installed before the
   answer is called, and which nothing in the process can remove) makes ``clone``,
   ``fork``, ``vfork``, ``execve`` and ``kill`` fail with ``EPERM``. The child has exactly one
   thread, so the guard below covers the whole process.
3. **The dispatcher, twice, by allowlist** (:mod:`~helpers.checks.allowed_ops`, the one list the
   learner's visible check uses too): only elementary operators (creation, indexing, views that
   build no windows, arithmetic, reductions, copies) may run. A dispatch mode refuses every other
   operator by name (as in the notebook), and the CPU kernels of every refused compute operator
   (convolutions, pooling, FFTs... about 550, derived from torch's registry) are replaced
   process-wide by a refusal (``torch.library``, below every dispatch mode, so popping modes does
   not get past it). A kernel a future torch adds is refused by default.
4. **Python shortcuts** (SciPy's ``correlate2d``, NumPy's ``sliding_window_view``...) have
   their code replaced by a refusal, so a reference saved in an earlier cell is refused too.
5. **A trip-wire and probes after every call**: any refusal during a call fails that case
   even if the answer caught the error; after each call the collecting code checks that
   both dispatcher layers still refuse and that the SciPy and NumPy refusals are in place.
6. **A snapshot of the checking code** taken before any student code ran (this module's
   and :mod:`~helpers.checks.core`'s globals, the code of their functions, each exercise's
   fields): an earlier cell that patched any of it costs the exercise its points.
7. **Hidden inputs the harness never sees**: the random seed of the hidden cases (derived from the
   instructor's course secret) is asked for by the child, from the grader, only once the
   guard is armed; the harness process, where earlier cells' hooks may run unguarded,
   never holds it, so no hook can compute the answers ahead of the guarded call.

8. **Python audit hooks** (PEP 578, which no Python code can remove) armed exactly while the
   answer runs: ``ctypes``, ``gc.get_objects``/``get_referrers``, frames (``sys._getframe``, a
   traceback's ``tb_frame``), tracing and rewriting a function's ``__code__`` are refused, so the
   answer cannot find this module's objects in memory to switch a layer off and on again.

9. **No other library's compiled code** (:mod:`~helpers.checks.native`): while the answer runs,
   the executable pages of every shared library but Python's, the system's and torch's (NumPy's
   too, when the answer is given tensors) are locked (``mprotect``), so neither a NumPy strided
   view (``type(a)(shape, buffer=a, strides=s)``, an ``__array_interface__``) nor a private
   compiled routine (``scipy.signal._sigtools``) can compute for it. Running locked code is a
   fault the child does not survive; :func:`collect` names it with the line that made the call.

10. **Nothing started earlier computes for the answer**: the child closes every descriptor it
   inherited but its own channels, and asks the sandbox's warden (:mod:`helpers.freezing`, forked
   before any student code) to stop every other process of the sandbox, the harness and its
   threads included, while the answer runs; it checks in ``/proc`` that they are stopped, and
   they are resumed when it ends. A server, thread or helper process an earlier cell started
   answers nothing.

What remains possible is said in the README's security section.
"""

from __future__ import annotations

import ctypes
import faulthandler
import functools
import gc
import json
import linecache
import os
import platform
import signal
import struct
import sys
import types
import warnings
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode, _disable_current_modes

from . import allowed_ops, core, native
from .core import Case, Outcome, ShortcutUsed
from .. import freezing
from ..protocol import NEED_SEED, SEED

# Kept at import, before any student code: what the collecting code calls around the guarded child.
_getitimer, _closerange, _listdir, _open_file = signal.getitimer, os.closerange, os.listdir, open
_set_handler, _fault_enable, _fault_disable = signal.signal, faulthandler.enable, faulthandler.disable
_gc_disable, _gc_enable, _gc_isenabled, _gc_freeze = gc.disable, gc.enable, gc.isenabled, gc.freeze

#: The collecting child's word, before and after each call, that other libraries' code is locked.
_LOCKED, _UNLOCKED = b'{"locked": true}\n', b'{"locked": false}\n'

#: Made before any guard is armed: the armed child only writes these bytes.
_SEED_REQUEST = (json.dumps({NEED_SEED: True}) + "\n").encode()

# System calls refused in the collecting child (x86_64 and aarch64 numbers).
_ARCH = {"x86_64": (0xC000003E, {"clone": 56, "fork": 57, "vfork": 58, "execve": 59, "execveat": 322,
                                 "kill": 62, "tkill": 200, "tgkill": 234, "clone3": 435}),
         "aarch64": (0xC00000B7, {"clone": 220, "execve": 221, "execveat": 281, "kill": 129, "tkill": 130,
                                  "tgkill": 131, "clone3": 435})}
_SECCOMP_RET_ALLOW, _SECCOMP_RET_ERRNO = 0x7FFF0000, 0x00050000
_EPERM, _ENOSYS = 1, 38
_PR_SET_NO_NEW_PRIVS, _PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 38, 22, 2

#: Python's ways to a ``fork()``, which runs every library's at-fork handlers before the kernel refuses it
#: (``subprocess`` falls back to ``fork()`` when ``vfork()`` is refused): refused first, as the kernel would.
_FORKS = frozenset({"os.fork", "os.forkpty", "subprocess.Popen"})
#: Audit events (PEP 578) refused while an answer runs: what finds the guard's objects in memory.
_AUDITED = frozenset({"gc.get_objects", "gc.get_referrers", "gc.get_referents", "sys._getframe",
                      "sys._current_frames", "sys._current_exceptions", "sys.settrace", "sys.setprofile",
                      "object.__getattr__"})  # the last: frames reached through tracebacks and generators

#: Exit code of a collecting child that ended the way it should.
DONE = 0


class GuardError(RuntimeError):
    """The guard could not be armed, or was found switched off: the answer gets no points."""


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def refuse_spawning() -> None:
    """Make thread and process creation (and signalling other processes) fail with EPERM, for good.

    A seccomp filter: the kernel applies it to this process and any it could create, and
    nothing in the process can remove it. ``clone3`` answers ``ENOSYS``, so the C library
    falls back to ``clone``, which is refused.
    """
    arch = _ARCH.get(platform.machine())
    if arch is None:
        raise GuardError(f"no seccomp filter for the {platform.machine()} architecture")
    audit_arch, numbers = arch

    def stmt(code: int, k: int) -> bytes:
        return struct.pack("HBBI", code, 0, 0, k)

    def jeq(k: int, jt: int, jf: int) -> bytes:
        return struct.pack("HBBI", 0x15, jt, jf, k)  # BPF_JMP | BPF_JEQ | BPF_K

    load, ret = 0x20, 0x06  # BPF_LD | BPF_W | BPF_ABS, BPF_RET | BPF_K
    program = [stmt(load, 4), jeq(audit_arch, 1, 0), stmt(ret, _SECCOMP_RET_ERRNO | _EPERM), stmt(load, 0)]
    for name, number in numbers.items():
        errno = _ENOSYS if name == "clone3" else _EPERM
        program += [jeq(number, 0, 1), stmt(ret, _SECCOMP_RET_ERRNO | errno)]
    program.append(stmt(ret, _SECCOMP_RET_ALLOW))
    code = ctypes.create_string_buffer(b"".join(program))

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = SockFprog(len(program), ctypes.cast(code, ctypes.c_void_p))
    libc = _libc()
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 or \
            libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        raise GuardError(f"the seccomp filter could not be installed ({os.strerror(ctypes.get_errno())})")


class _Guard:
    """The armed guard of one collecting child: its layers, its trip-wire and its probes."""

    def __init__(self, ops: frozenset[str], what: str, lock: native.Lock | None = None,
                 report: int | None = None) -> None:
        self.ops, self.what, self.lock, self.report = ops, what, lock, report
        self.tripped: str | None = None
        self.last_layer: str | None = None
        self.armed = False
        guard = self

        def refusal(name: str, layer: str, message: str | None = None):
            def refuse(*args, **kwargs):
                guard.tripped = guard.tripped or name
                guard.last_layer = layer
                raise ShortcutUsed(message or f"{what} must be computed by hand, but it called `{name}`.")
            return refuse

        # layer: torch.library, process-wide, below every dispatch mode
        self.library = torch.library.Library("aten", "IMPL")
        self.kernels = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "overriding a previously registered kernel": that is the point
            for op in allowed_ops.kernel_ops():
                name = op.split(".")[0]
                try:
                    self.library.impl(op, refusal(f"torch's built-in `{name}`", "library",
                                                  core.refusal_message(what, name)), "CPU")
                    self.kernels.append(op)
                except Exception:  # noqa: BLE001 - an operator this torch does not have
                    continue

        # layer: a dispatch mode naming the operator, as in the notebook
        class Forbid(TorchDispatchMode):
            @classmethod
            def _should_skip_dynamo(cls) -> bool:
                return False

            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                name = func._overloadpacket.__name__
                if name in ops or not allowed_ops.allowed(func.namespace, name):
                    name = name if func.namespace == "aten" else f"{func.namespace}::{name}"
                    refusal(f"torch's built-in `{name}`", "mode", core.refusal_message(what, name))()
                return func(*args, **(kwargs or {}))

        self.mode = Forbid()
        self.mode.__enter__()

        # layer: Python shortcuts, refused through their code objects
        self.swapped: list[tuple[Any, types.CodeType]] = []
        for module_name, names in allowed_ops.PYTHON_SHORTCUTS.items():
            module = sys.modules.get(module_name)
            for name in names if module is not None else ():
                target = getattr(module, name, None)
                function = getattr(target, "_implementation", target)  # NumPy's array-function dispatchers
                if not isinstance(function, types.FunctionType) or function.__code__.co_freevars:
                    continue
                label = f"{module_name}.{name}"
                namespace = {}
                exec(f"def refuse(*args, **kwargs):\n    return __conv_course_refuse__({label!r})", namespace)
                function.__globals__["__conv_course_refuse__"] = lambda label: refusal(label, "python")()
                function.__code__ = namespace["refuse"].__code__
                self.swapped.append((function, function.__code__))
        # layer: the tensor's way into NumPy, named (the native lock refuses whatever else runs NumPy)
        for name in allowed_ops.NUMPY_BRIDGES:
            setattr(torch.Tensor, name, refusal(f"`Tensor.{name}`: {core.BRIDGE_REASON}", "bridge",
                                                    core.bridge_message(what, name)))
        # layer: Python audit hooks (PEP 578), which no Python code can remove: while the answer runs,
        # no ctypes, no gc walk of the heap, no frames (where the guard's objects could be found)
        def audit(event: str, args: tuple) -> None:
            if guard.armed and event in _FORKS:  # refused as the seccomp filter would, before any at-fork
                # handler runs: a library's handler is compiled code the native lock has locked
                raise PermissionError(1, "Operation not permitted")
            if guard.armed and (event in _AUDITED or event.startswith("ctypes.") or
                                (event == "object.__setattr__" and len(args) > 1 and args[1] == "__code__")):
                guard.tripped = guard.tripped or f"`{event}` (reaching for the grader's own objects)"
                guard.last_layer = "audit"
                raise ShortcutUsed(f"{what} must be computed by hand, but it called `{event}`, which reaches for "
                                   "the grader's own objects: a by-hand answer may not use ctypes, gc or frames.")

        sys.addaudithook(audit)
        self.conv2d = F.conv2d
        self.probe_input = (torch.ones(1, 1, 3, 3), torch.ones(1, 1, 2, 2))

    def arming(self, answer: Any) -> Any:
        """``answer``, with the audit refusals armed exactly while it runs (not while its error is described)."""
        guard = self

        lock, report = self.lock, self.report

        @functools.wraps(answer)
        def armed(*args, **kwargs):
            collecting = _gc_isenabled()
            if lock is not None:  # no collection of garbage while locked: a NumPy array freed would fault
                _gc_disable()
                os.write(report, _LOCKED)
                lock.lock()
            guard.armed = True
            try:
                return answer(*args, **kwargs)
            finally:
                guard.armed = False
                if lock is not None:
                    lock.unlock()
                    os.write(report, _UNLOCKED)
                    if collecting:
                        _gc_enable()
        return armed

    def _refused(self, *, modes: bool) -> str | None:
        """Which layer refused a convolution just now (``None``: none did: the guard is off)."""
        self.last_layer = None
        try:
            if modes:
                self.conv2d(*self.probe_input)
            else:
                with _disable_current_modes():
                    self.conv2d(*self.probe_input)
        except ShortcutUsed:
            return self.last_layer
        except Exception:  # noqa: BLE001 - refused by something else: not ours
            return None
        return None

    def intact(self) -> str | None:
        """``None`` when every layer is in place, else what was found switched off."""
        saved = self.tripped
        try:
            if self._refused(modes=True) != "mode":
                return "the dispatch mode that refuses torch's built-ins was removed"
            if "convolution" in self.kernels and self._refused(modes=False) != "library":
                return "torch's convolution kernels were restored"
            for function, code in self.swapped:
                if function.__code__ is not code:
                    return f"the refusal of `{function.__module__}.{function.__name__}` was undone"
            return None
        finally:
            self.tripped = saved


# ---------------------------------------------------------------------------
# the snapshot of the checking code


def snapshot(exercises: dict[str, core.Exercise]) -> tuple:
    """What an earlier cell could patch to switch the guard off, as it is now (before any student code)."""
    modules = [sys.modules[__name__], core, allowed_ops, native]  # every value of these: the allowlist is a frozenset
    values = [(module, dict(vars(module))) for module in modules]
    codes = [(f, f.__code__) for module in modules for f in vars(module).values() if isinstance(f, types.FunctionType)]
    for cls in (core.Exercise, TorchDispatchMode, torch.library.Library, native.Lock):
        codes += [(f, f.__code__) for f in vars(cls).values() if isinstance(f, types.FunctionType)]
    # every course module the case generators use: its functions and classes (not its caches) must stay
    for name, module in list(sys.modules.items()):
        if (name == "helpers" or name.startswith("helpers.")) and module is not None and module not in modules:
            kept = {k: v for k, v in vars(module).items() if isinstance(v, (types.FunctionType, type))
                    and getattr(v, "__module__", None) == name}
            values.append((module, kept))
            codes += [(f, f.__code__) for f in kept.values() if isinstance(f, types.FunctionType)]
    fields = [(ex, dict(vars(ex))) for ex in exercises.values()]
    classes = [(cls, dict(vars(cls))) for cls in (core.Exercise, core.Case, core.Outcome)]
    return values, codes, fields, classes


def tampered(snap: tuple) -> str | None:
    """What was changed since :func:`snapshot`, in words, or ``None``."""
    values, codes, fields, classes = snap
    for module, saved in values:
        now = vars(module)
        for name, value in saved.items():
            if now.get(name, saved) is not value and not name.startswith("__"):
                return f"`{module.__name__}.{name}` was replaced"
    for function, code in codes:
        if function.__code__ is not code:
            return f"the code of `{function.__module__}.{function.__qualname__}` was replaced"
    for owner, saved in fields + classes:
        now = vars(owner)
        for name, value in saved.items():
            if now.get(name, saved) is not value and not name.startswith("__"):
                what = f"exercise `{owner.key}`" if isinstance(owner, core.Exercise) else f"`{owner.__name__}`"
                return f"the field `{name}` of {what} was replaced"
    return None


# ---------------------------------------------------------------------------
# collecting


def _read_line(fd: int, limit: int = 4096) -> bytes:
    line = b""
    while not line.endswith(b"\n") and len(line) < limit:
        chunk = os.read(fd, 1)
        if not chunk:
            break
        line += chunk
    return line


def _message(error: str, answer: str) -> str:
    """The one-line reason for a case whose call was refused something by the guard."""
    if "can't start new thread" in error:
        return (f"`{answer}` tried to start a thread: a by-hand answer is checked with threads and processes "
                f"refused ({error})")
    if "Operation not permitted" in error or "[Errno 1]" in error:
        return (f"`{answer}` tried to start a process or signal one: a by-hand answer is checked with threads and "
                f"processes refused ({error})")
    return error


def collect(ex: core.Exercise, answer: Any, *, runs: tuple[tuple[bool, str], ...], forbid: frozenset[str], save,
            run_one, make_cases, snap: tuple, events_fd: int | None, commands_fd: int | None,
            warden: tuple[int, int, frozenset[str]] | None = None) -> str | None:
    """Collect ``ex``'s outcomes on ``answer`` in a guarded child; ``None`` on success, else why not (one line).

    ``runs`` is ``((hidden, path), ...)``: the public and/or hidden cases, each run's outcomes saved
    at its path, all in the one child (its fork and arming are most of a collection's cost).
    ``run_one``, ``make_cases`` and ``save`` are the harness's copies taken before any student code.
    With ``events_fd``/``commands_fd``, the child asks the grader for the hidden cases' seed
    (``{"need_seed": true}``) once its guard is armed and reads ``{"seed": ...}`` back.
    With ``warden`` (its channel's descriptor, its pid, :mod:`helpers.freezing`, and the threads the
    harness had before any student code), every other process
    of the sandbox is frozen while the answer runs (the harness too, so its deadline travels with the
    request: the warden ends the child at it).
    A ``CellTimeout`` (or any exception) in the waiting parent kills the child and propagates.
    """
    problem = tampered(snap)
    if problem:
        return (f"the checking code was changed by an earlier cell ({problem}); a by-hand exercise is not "
                "graded on a changed checker")
    report_r, report_w = os.pipe()
    deadline = _getitimer(signal.ITIMER_REAL)[0]  # what is left of the cell's time
    pid = os.fork()
    if pid == 0:  # the collecting child: never returns
        code = 70
        try:
            os.close(report_r)
            code = _child(ex, answer, runs=runs, forbid=forbid, save=save, run_one=run_one,
                          make_cases=make_cases, snap=snap, events_fd=events_fd, commands_fd=commands_fd,
                          report=report_w, warden=warden, deadline=deadline)
        except Exception as exc:  # noqa: BLE001 - the collecting code itself failed: said, never silent
            try:
                os.write(report_w, (json.dumps({"error": f"the by-hand check failed: {type(exc).__name__}: "
                                                         f"{exc}"[:300]}) + "\n").encode())
            except OSError:
                pass
        finally:
            os._exit(code)
    os.close(report_w)
    try:
        _, status = os.waitpid(pid, 0)
    except BaseException:
        try:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        except OSError:
            pass
        os.close(report_r)
        raise
    chunks = []
    while True:
        chunk = os.read(report_r, 65536)
        if not chunk or sum(map(len, chunks)) > 1 << 16:
            break
        chunks.append(chunk)
    os.close(report_r)
    lines = b"".join(chunks).decode("utf-8", "replace").splitlines()
    errors = []
    for line in lines:
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if isinstance(message, dict) and isinstance(message.get("error"), str):
            errors.append(message["error"])
    if errors:
        return errors[0][:400]
    code = os.waitstatus_to_exitcode(status)
    said = {_LOCKED.decode().strip(): True, _UNLOCKED.decode().strip(): False}
    locked = [said[line] for line in lines if line in said]
    if code in (-signal.SIGSEGV, -signal.SIGBUS) and locked and locked[-1]:
        return _locked_code_run(ex.answer, "\n".join(lines))
    if code != DONE or '{"done": true}' not in lines:
        how = f"was killed by signal {-code}" if code < 0 else f"ended with exit code {code}"
        return f"checking `{ex.answer}` ended its process early (it {how})"
    return None


def _locked_code_run(answer: str, dump: str) -> str:
    """The learner's line for an answer that ran another library's compiled code (a fault while locked)."""
    frames = native.fault_frames(dump)
    package = native.package_of(frames[0][0]) if frames else None
    course = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
    own = [(file, line) for file, line, _ in frames
           if not native.package_of(file) and not file.startswith((course, sys.prefix, sys.base_prefix))]
    where = ""
    if own:
        file, line = own[0]
        text = linecache.getline(file, line).strip()
        where = f" (line {line}{': `' + text[:80] + '`' if text else ''})"
    whose = f"`{package}`" if package else "a library other than torch"
    return (f"`{answer}` {core.BY_HAND_REFUSAL}, but it ran compiled code of {whose}{where}; a by-hand answer "
            "runs Python and torch's operators on its tensors, and no other library's compiled code.")


def _close_inherited(keep: set[int]) -> None:
    """Close every descriptor but ``keep``: no pipe, socket or file an earlier cell opened reaches the answer."""
    start = 0
    for fd in sorted(keep) + [1 << 20]:
        if fd > start:
            _closerange(start, fd)
        start = fd + 1


def _frozen(warden: tuple[int, int, frozenset[str]], deadline: float) -> str | None:
    """Ask the warden to freeze the sandbox's other processes, and check for ourselves; ``None`` when done."""
    channel, warden_pid, _ = warden
    if not freezing.ask(channel, deadline):
        return "the process that freezes the sandbox's other processes did not answer (an earlier cell ended it?)"
    still = freezing.running(warden_pid, {os.getpid()})
    if still:
        names = ", ".join(f"{pid} ({freezing.command(pid)})" for pid in still[:3])
        return f"other processes of the sandbox were still running: {names}"
    return None


def _child(ex, answer, *, runs, forbid, save, run_one, make_cases, snap, events_fd, commands_fd,
           report: int, warden: tuple[int, int, frozenset[str]] | None = None, deadline: float = 0.0) -> int:
    def tell(message: dict) -> None:
        os.write(report, (json.dumps(message) + "\n").encode())

    # Everything inherited is left to the parent's collector: a full collection here would write to every
    # object of the learner's kernel, copying each page of the forked heap (most of a submission's time).
    _gc_freeze()
    sys.settrace(None)
    sys.setprofile(None)
    _close_inherited({0, 1, 2, report, *(fd for fd in (events_fd, commands_fd) if fd is not None),
                      *([warden[0]] if warden else [])})
    # what the answer prints goes nowhere (as in the harness), whatever an earlier cell made sys.stdout
    sys.stdout = sys.stderr = _open_file(os.devnull, "w")
    # a fault (locked code run) dumps the stack on the report channel, whatever handler an earlier cell set
    # (faulthandler enabled already, by pytest or a cell, would only change its file: off first)
    _fault_disable()
    for fault in (signal.SIGSEGV, signal.SIGBUS):
        _set_handler(fault, signal.SIG_DFL)
    _fault_enable(file=report, all_threads=False)
    if warden is not None:
        problem = _frozen(warden, deadline)
        if problem:
            tell({"error": f"`{ex.answer}` was not checked: a by-hand answer is checked with every other process "
                           f"of the sandbox frozen, and {problem}"})
            return 75
    try:
        _libc().prctl(1, 9, 0, 0, 0)  # PR_SET_PDEATHSIG, SIGKILL: never outlive the process that waits for it
        refuse_spawning()
        threads = len(_listdir("/proc/self/task"))
        if threads != 1:
            raise GuardError(f"the checking process has {threads} threads, not one (started by an earlier cell's "
                             "hook)")
    except Exception as exc:  # noqa: BLE001
        tell({"error": f"the by-hand guard could not be armed: {type(exc).__name__}: {exc}"})
        return 71
    problem = tampered(snap)
    if problem:
        tell({"error": f"the by-hand guard was not in place before `{ex.answer}` was called ({problem})"})
        return 72
    secret_seed = None
    if any(hidden for hidden, _ in runs) and events_fd is not None and commands_fd is not None:
        os.write(events_fd, _SEED_REQUEST)
        try:
            reply = json.loads(_read_line(commands_fd))
            secret_seed = reply.get(SEED) if isinstance(reply, dict) else None
        except ValueError:
            tell({"error": "the grader's seed for the hidden cases could not be read"})
            return 73
        if secret_seed is not None and type(secret_seed) is not int:
            tell({"error": "the grader's seed for the hidden cases was malformed"})
            return 73
    # The cases are drawn by the course's own code (checked unchanged just above), which may run real
    # convolutions (chapter 5 measures map sizes with nn.Conv2d): before torch's refusals are armed.
    drawn = [(list(make_cases(ex, hidden, secret_seed)), path) for hidden, path in runs]
    try:
        regions = native.plan()
        tensors = any(cases and native.given_tensors(cases[0].args) for cases, _ in drawn)
        lock = native.Lock(regions["other"] + (regions["numpy"] if tensors else ()))
        guard = _Guard(forbid, f"`{ex.answer}`", lock, report)
    except Exception as exc:  # noqa: BLE001
        tell({"error": f"the by-hand guard could not be armed: {type(exc).__name__}: {exc}"})
        return 71
    problem = guard.intact()
    if problem:
        tell({"error": f"the by-hand guard was not in place before `{ex.answer}` was called ({problem})"})
        return 72
    # processes and threads an earlier cell started, frozen now (the harness, our parent, is not one of them;
    # its own threads are counted beyond those it had before any student code ran, by thread id)
    frozen = 0
    if warden:
        frozen = len([pid for pid in freezing.below(warden[1]) if pid not in (os.getpid(), os.getppid())])
        try:
            frozen += len(set(_listdir(f"/proc/{os.getppid()}/task")) - warden[2])
        except OSError:
            pass
    armed = guard.arming(answer) if callable(answer) else answer
    for cases, path in drawn:
        problem = _run_cases(ex, armed, cases, path, guard=guard, frozen=frozen, run_one=run_one, save=save,
                             snap=snap)
        if problem:
            tell({"error": problem})
            return 74
    tell({"done": True})
    return DONE


def _run_cases(ex, armed, cases, path, *, guard, frozen, run_one, save, snap) -> str | None:
    """One run's cases through the armed answer, its outcomes saved at ``path``; why not, if the guard went off."""
    outcomes = []
    for case in cases:
        guard.tripped = None
        # the guard above is the only one: a second mode on top would hide refusals from the trip-wire
        outcome = run_one(ex, armed, Case(case.args, case.label, case.extra), frozenset())
        if guard.tripped:
            outcome = Outcome(error=f"`{ex.answer}` must be computed by hand, but it called {guard.tripped}.")
        elif outcome.error:
            outcome = Outcome(error=_message(outcome.error, ex.answer) + (
                f" (while a by-hand answer runs, every other process of the sandbox is frozen: the {frozen} "
                "processes and threads earlier cells started answer nothing)" if frozen else ""))
        problem = guard.intact() or tampered(snap)
        if problem:
            return (f"the by-hand guard was switched off while `{ex.answer}` ran ({problem}); "
                    "an answer that does that gets no points")
        outcomes.append(outcome)
    save([{"value": o.value, "error": o.error} for o in outcomes], path)
    return None
