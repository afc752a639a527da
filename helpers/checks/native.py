"""The compiled code a by-hand answer may run at grading: Python's, the system's and torch's.

The by-hand allowlist (:mod:`~helpers.checks.allowed_ops`) guards torch's dispatcher, and the
audit hooks of :mod:`~helpers.checks.byhand` refuse ``ctypes``. Other libraries' compiled code
is reached by neither: NumPy builds a strided view of any memory from its C type's constructor
(``type(a)(shape, buffer=a, strides=s)``, a ``strides`` setter, any object that offers an
``__array_interface__``), and SciPy keeps private compiled convolutions
(``scipy.signal._sigtools``) that no Python-level refusal reaches. Refusing those by name is
the list the allowlist replaced, so the rule here is the other way round too: while a by-hand
answer runs in the grader's collecting child, the executable pages of every shared library
that is not allowed are made inaccessible (``mprotect(PROT_NONE)``), and given back when the
answer returns. Running any of that code is a fault the child does not survive; the
collecting parent reads the fault as a refusal, named with the line that made the call
(:func:`fault_frames`). Nothing in the answer can give the pages back: ``mprotect`` is reached
only through ``ctypes``, which the audit hooks refuse while the answer runs.

What may run is derived, so a library installed later is refused by default:

* the Python executable, ``libpython`` and the standard library's extension modules, with the
  libraries directly in the interpreter's ``lib/`` folder (a conda environment's ``libffi``,
  ``libstdc++``...: :func:`interpreter_libraries`);
* the system's C libraries (``/lib``, ``/usr/lib``; never a ``site-packages`` or
  ``dist-packages`` folder);
* torch and the distributions it requires (its CUDA libraries, ``triton``...), read from the
  installed packages' metadata: torch's own operators are guarded at its dispatcher.

NumPy is locked only while the answer is given tensors (or modules): an exercise that passes
plain numbers (``receptive_fields``) may do its arithmetic with NumPy; one that passes tensors
is answered with torch's operators on those tensors. The notebook's own check says so earlier,
with a message, when the answer turns a tensor into a NumPy array (``Tensor.numpy``,
``__array__``: :data:`~helpers.checks.allowed_ops.NUMPY_BRIDGES`); here no NumPy code runs at all.

Only the forked child that collects one answer locks anything: the learner's kernel and the
notebook's check keep every library.
"""

from __future__ import annotations

import ctypes
import importlib.metadata as metadata
import os
import re
import sys
import sysconfig
from dataclasses import dataclass

import torch

__all__ = ["HOMES", "Lock", "fault_frames", "given_tensors", "interpreter_libraries", "package_of", "plan"]

_PROT = {"r": 1, "w": 2, "x": 4}
_PROT_NONE = 0
_SYSTEM = ("/lib/", "/lib64/", "/usr/lib/", "/usr/lib64/")
_PACKAGES = re.compile(r"/(site|dist)-packages/")
#: A frame line of :mod:`faulthandler`'s dump (``File "x.py", line 4 in f``).
_FRAME = re.compile(r'^\s*File "(?P<file>.*)", line (?P<line>\d+) in (?P<name>\S+)')


def _closure(name: str, extras: tuple[str, ...] = (), seen: dict | None = None) -> dict:
    """The installed distribution ``name`` and every one it requires (with the extras asked for), by name."""
    from packaging.requirements import Requirement

    seen = {} if seen is None else seen
    key = re.sub(r"[-_.]+", "-", name).lower()
    if key in seen:
        return seen
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return seen
    seen[key] = dist
    for line in dist.requires or ():
        req = Requirement(line)
        if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in (extras or ("",))):
            _closure(req.name, tuple(req.extras), seen)
    return seen


def _folders(dists) -> tuple[str, ...]:
    """The top-level folders (``torch/``, ``nvidia/``, ``numpy.libs/``) the distributions installed."""
    found = set()
    for dist in dists:
        tops = {line.split("/", 1)[0] for line in (dist.read_text("RECORD") or "").splitlines() if "/" in line}
        for top in tops - {".."}:
            if not top.endswith(".dist-info") and top != "__pycache__":
                found.add(os.path.realpath(dist.locate_file(top)) + os.sep)
    return tuple(sorted(found))


def interpreter_libraries(prefixes: tuple[str, ...]) -> set[str]:
    """The shared libraries directly in each prefix's ``lib/`` folder, never in a folder below it.

    Those are the interpreter's own: ``libpython``, and in a conda environment the C libraries its
    interpreter and extension modules are linked against (``libffi``, ``libstdc++``...), which torch's
    libraries load from there too. Packages live in folders below (``lib/python3.11/site-packages``).
    """
    found = set()
    for prefix in prefixes:
        folder = os.path.join(prefix, "lib")
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            path = os.path.join(folder, name)
            if ".so" in name and os.path.isfile(path):
                found.add(os.path.realpath(path))
    return found


def _find_homes() -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(files, folders) whose code may run, and NumPy's folders."""
    files = {os.path.realpath(sys.executable)}
    # where this interpreter runs from now (a relocated copy, as the hub's, is not where it was built:
    # LIBDIR and DESTSHARED say the build's folders, sys.base_prefix says this one's)
    library = sysconfig.get_config_var("INSTSONAME") or sysconfig.get_config_var("LDLIBRARY") or ""
    libdir = sysconfig.get_config_var("LIBDIR")
    if libdir and library:
        files.add(os.path.realpath(os.path.join(libdir, library)))
    files |= interpreter_libraries(tuple(dict.fromkeys((sys.base_prefix, sys.prefix))))
    import _ctypes  # a standard extension module, loaded from this interpreter's lib-dynload

    dynload = getattr(_ctypes, "__file__", None)
    dynload = os.path.dirname(dynload) if dynload else os.path.join(
        sys.base_prefix, "lib", f"python{sys.version_info[0]}.{sys.version_info[1]}", "lib-dynload")
    folders = {os.path.realpath(dynload) + os.sep}
    folders |= set(_folders(_closure("torch").values()))
    try:
        numpy = _folders([metadata.distribution("numpy")])
    except metadata.PackageNotFoundError:
        numpy = ()
    return tuple(sorted(files)), tuple(sorted(folders)), numpy


#: Read once, at import (in the grader's zygote, before any student code): what an earlier cell does to the
#: package metadata cannot widen it.
HOMES = _find_homes()


def _allowed(path: str) -> bool:
    files, folders, _ = HOMES
    if path in files or path.startswith(folders):
        return True
    return path.startswith(_SYSTEM) and not _PACKAGES.search(path)


@dataclass(frozen=True)
class Region:
    """One executable mapping of a library file: where, how it was protected, and whose it is."""

    start: int
    end: int
    prot: int
    path: str


def plan(maps: str | None = None) -> dict[str, tuple[Region, ...]]:
    """The executable mappings to lock, as ``{"numpy": ..., "other": ...}`` (read from ``/proc/self/maps``).

    Pure given ``maps`` (the file's text), so the rule is tested without locking anything.
    """
    if maps is None:
        with open("/proc/self/maps") as f:
            maps = f.read()
    numpy = HOMES[2]
    groups: dict[str, list[Region]] = {"numpy": [], "other": []}
    for line in maps.splitlines():
        parts = line.split(None, 5)
        if len(parts) < 6 or "x" not in parts[1] or not parts[5].startswith("/"):
            continue  # anonymous memory, [vdso], [vsyscall]: not a library's code
        path = parts[5].strip().removesuffix(" (deleted)")
        real = os.path.realpath(path) if os.path.exists(path) else path
        if _allowed(real):
            continue
        start, end = (int(x, 16) for x in parts[0].split("-"))
        prot = sum(_PROT.get(c, 0) for c in parts[1][:3])
        groups["numpy" if real.startswith(numpy) else "other"].append(Region(start, end, prot, real))
    return {name: tuple(regions) for name, regions in groups.items()}


def given_tensors(args, depth: int = 3) -> bool:
    """Are there tensors (or modules, which hold them) among ``args``, looking into lists, tuples and dicts?"""
    for arg in args:
        if isinstance(arg, (torch.Tensor, torch.nn.Module)):
            return True
        if depth and isinstance(arg, (list, tuple)) and given_tensors(arg, depth - 1):
            return True
        if depth and isinstance(arg, dict) and given_tensors(list(arg.values()), depth - 1):
            return True
    return False


class Lock:
    """The locked state of one collecting child: :meth:`lock` before the answer, :meth:`unlock` after.

    Made before any guard is armed (it calls ``mprotect`` through ``ctypes``, which the audit hooks
    refuse while the answer runs); :meth:`lock` and :meth:`unlock` are called outside the answer.
    """

    def __init__(self, regions: tuple[Region, ...]) -> None:
        self.regions = regions
        libc = ctypes.CDLL(None, use_errno=True)
        self._mprotect = libc.mprotect
        self._mprotect.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
        self._mprotect.restype = ctypes.c_int

    def _set(self, locked: bool) -> None:
        for region in self.regions:
            prot = _PROT_NONE if locked else region.prot
            if self._mprotect(region.start, region.end - region.start, prot) != 0:
                raise OSError(ctypes.get_errno(), f"mprotect of {region.path} failed")

    def lock(self) -> None:
        self._set(True)

    def unlock(self) -> None:
        self._set(False)


def package_of(file: str) -> str | None:
    """The installed package a source file belongs to (``numpy`` for ``.../site-packages/numpy/x.py``), if any."""
    found = re.search(r"/(?:site|dist)-packages/([^/]+)/", file)
    return found[1].removesuffix(".libs") if found else None


def fault_frames(dump: str) -> list[tuple[str, int, str]]:
    """The frames of a :mod:`faulthandler` dump, innermost first: ``(file, line, function)``."""
    return [(m["file"], int(m["line"]), m["name"]) for m in map(_FRAME.match, dump.splitlines()) if m]
