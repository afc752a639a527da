"""The native lock's rule (:mod:`helpers.checks.native`): which compiled code a by-hand answer may run.

The rule is derived (Python, the system's C libraries, torch and what it requires), so it is
tested here on made-up ``/proc/self/maps`` text first (:func:`native.plan` is pure given it),
then for real: a forked child locks what the plan says and finds NumPy unusable and torch,
Python and the C library working, and the lock given back. The grader's side (the refusal a
learner reads) is ``tests/test_byhand.py``.
"""

from __future__ import annotations

import faulthandler
import os
import signal
import sys
import sysconfig

import numpy as np
import torch

from helpers.checks import native


def _line(path: str, perms: str = "r-xp", start: int = 0x1000) -> str:
    return f"{start:012x}-{start + 0x1000:012x} {perms} 00000000 08:01 42        {path}"


def _paths(regions) -> list[str]:
    return [r.path for r in regions]


NUMPY_CODE = os.path.join(native.HOMES[2][0], "_core", "_multiarray_umath.fake.so")
TORCH_CODE = os.path.join(os.path.dirname(torch.__file__), "lib", "libtorch_cpu.so")
STDLIB_CODE = os.path.join(sysconfig.get_config_var("DESTSHARED"), "math.fake.so")
SITE = os.path.dirname(os.path.dirname(np.__file__))


def test_numpy_and_every_library_not_derived_are_locked_while_torch_python_and_the_system_run():
    maps = "\n".join([
        _line(NUMPY_CODE),
        _line(os.path.join(SITE, "scipy", "signal", "_sigtools.fake.so")),
        _line("/tmp/learner/own.so"),
        _line("/tmp/learner/gone.so (deleted)"),
        _line("/usr/lib/python3/dist-packages/numpy/core/fake.so"),  # a system site-packages: not the system's
        _line(TORCH_CODE),
        _line(STDLIB_CODE),
        _line(os.path.realpath(sys.executable)),
        _line("/usr/lib/x86_64-linux-gnu/libc.so.6"),
        _line("/lib/x86_64-linux-gnu/libm.so.6"),
        _line(os.path.join(SITE, "scipy", "signal", "_sigtools.fake.so"), perms="r--p"),  # not code
        _line("[vdso]"), _line(""),
    ])
    plan = native.plan(maps)
    assert _paths(plan["numpy"]) == [NUMPY_CODE]
    assert _paths(plan["other"]) == [os.path.join(SITE, "scipy", "signal", "_sigtools.fake.so"), "/tmp/learner/own.so",
                                     "/tmp/learner/gone.so", "/usr/lib/python3/dist-packages/numpy/core/fake.so"]
    assert all(r.prot == 5 and r.end - r.start == 0x1000 for r in plan["numpy"] + plan["other"])


def test_torch_and_what_it_requires_are_derived_from_the_installed_metadata():
    files, folders, numpy = native.HOMES
    assert os.path.realpath(os.path.dirname(torch.__file__)) + os.sep in folders
    assert os.path.realpath(sys.executable) in files
    assert not any(f.startswith(n) for f in folders for n in numpy)  # torch does not require NumPy
    assert os.path.realpath(os.path.dirname(np.__file__)) + os.sep in numpy


def test_the_interpreters_own_libraries_run_but_nothing_in_a_folder_below_them(tmp_path):
    """A conda environment's ``lib/`` holds the C libraries its Python and torch load (``libffi``, ``libstdc++``)."""
    lib = tmp_path / "env" / "lib"
    (lib / "python3.11" / "site-packages" / "scipy").mkdir(parents=True)
    for name in ("libffi.so.8", "libstdc++.so.6.0.33", "libpython3.11.so.1.0"):
        (lib / name).write_bytes(b"")
    (lib / "python3.11" / "site-packages" / "scipy" / "_sigtools.so").write_bytes(b"")
    (lib / "pkgconfig.pc").write_text("")
    assert native.interpreter_libraries((str(tmp_path / "env"), str(tmp_path / "nowhere"))) == {
        str(lib / "libffi.so.8"), str(lib / "libstdc++.so.6.0.33"), str(lib / "libpython3.11.so.1.0")}


def test_tensors_are_found_among_the_arguments():
    assert native.given_tensors((torch.ones(2),))
    assert native.given_tensors(([(torch.ones(2), 3)],))
    assert native.given_tensors(({"w": torch.nn.Linear(2, 2)},))
    assert not native.given_tensors(([(3, 1, 1), (2, 2, 0)],))
    assert not native.given_tensors((5, "x", None))


def test_a_fault_dump_reads_as_frames_innermost_first():
    dump = ('{"locked": true}\nFatal Python error: Segmentation fault\n\nStack (most recent call first):\n'
            '  File "/tmp/ipykernel_7/123.py", line 4 in convolve\n'
            '  File "/course/helpers/checks/byhand.py", line 259 in armed\n')
    assert native.fault_frames(dump) == [("/tmp/ipykernel_7/123.py", 4, "convolve"),
                                         ("/course/helpers/checks/byhand.py", 259, "armed")]
    assert native.package_of(f"{SITE}/scipy/signal/_signaltools.py") == "scipy"
    assert native.package_of("/tmp/ipykernel_7/123.py") is None


def _in_a_locked_child(work) -> int:
    """Run ``work`` in a forked child with the plan's regions (NumPy's too) locked; its exit status."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            faulthandler.disable()  # (pytest's) a fault ends the child, as in the grader
            signal.signal(signal.SIGSEGV, signal.SIG_DFL)
            regions = native.plan()
            lock = native.Lock(regions["other"] + regions["numpy"])
            lock.lock()
            work()
            lock.unlock()
            code = 0 if float(np.ones(3).sum()) == 3.0 else 2  # given back
        finally:
            os._exit(code)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def test_locked_numpy_faults_and_torch_python_and_libc_still_run():
    assert _in_a_locked_child(lambda: np.ones(3).sum()) == -signal.SIGSEGV

    def honest():
        x = torch.arange(16.0).reshape(4, 4)
        assert float((x[1:3, 1:3] * 2).sum()) == 60.0 and sorted([3, 1, 2]) == [1, 2, 3] and os.getpid() > 0
    assert _in_a_locked_child(honest) == 0
