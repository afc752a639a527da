"""Code that reaches for the grader's guard or the sandbox, listed for the instructor to read.

The by-hand guard (:mod:`helpers.checks.byhand`) and the sandbox refuse what they can; what a
submission *tried* is worth an instructor's look too, whether it worked or not: a learner who
imports ``ctypes`` or walks ``gc`` in a convolution exercise is rarely exploring. This module reads
every code cell of each submitted notebook (it runs nothing), parses it (IPython's own
transformation first, so ``!cmd`` and ``%%bash`` are seen as the calls they are) and walks the
syntax tree, resolving import aliases (``import ctypes as c``; ``from os import fork``), for the
families of :data:`REACHES`: memory and frames (``ctypes``, ``gc``, frames, tracing, a function's
``__code__``), torch's internals (``torch.ops``, ``torch._C``, the dispatch modes), the grader's own
checking code, processes and threads, sockets and shared memory, ``/proc``, strided storage
(``as_strided``, ``set_``, NumPy stride tricks, ``ndarray(..., strides=...)``, an
``__array_interface__``), a library's private modules (``scipy.signal._sigtools``) and code built at
run time (``exec``, ``__import__``).

A syntax tree, not a search of the text: a word in a comment or a string (other than a ``/proc``
path) is not code, and ``np.lib.stride_tricks`` under any alias is. Cells the course itself gives,
unchanged, are skipped. The result is a list of places (submission, cell, line, what), shown in
the class report as *something to read, never a verdict*: honest code can start a thread.
"""

from __future__ import annotations

import ast
import html
from dataclasses import dataclass
from pathlib import Path

#: What each family of reaches is, in the report's words, and the dotted names (after import
#: aliases are resolved) that belong to it: a name matches when it is one of these or starts with
#: one followed by a dot.
REACHES: dict[str, tuple[str, ...]] = {
    "memory or frames (what finds the grader's objects)": (
        "ctypes", "_ctypes", "gc", "sys._getframe", "sys._current_frames", "sys._current_exceptions",
        "sys.settrace", "sys.setprofile", "sys.addaudithook", "inspect.currentframe", "inspect.stack",
        "inspect.getouterframes", "inspect.trace", "threading.settrace", "threading.setprofile", "cffi"),
    "torch's internals (operators below the dispatcher)": (
        "torch.ops", "torch._C", "torch.library", "torch.utils._python_dispatch", "torch._ops",
        "torch._dispatch", "torch._prims", "torch._refs", "torch._decomp"),
    "the grader's own checking code": (
        "helpers.checks.byhand", "helpers.checks.core", "helpers.checks.allowed_ops", "helpers.protocol",
        "helpers.checks.exercise", "helpers.checks.exercises", "grader"),
    "processes or threads": (
        "subprocess", "multiprocessing", "concurrent.futures", "threading", "_thread", "os.fork", "os.forkpty",
        "os.system", "os.popen", "os.posix_spawn", "os.posix_spawnp", "os.spawnl", "os.spawnle", "os.spawnlp",
        "os.spawnv", "os.spawnve", "os.spawnvp", "os.execv", "os.execve", "os.execl", "os.execle", "os.execlp",
        "os.execvp", "os.execvpe", "os.kill", "os.killpg", "pty", "signal.pthread_kill"),
    "sockets, pipes or shared memory": (
        "socket", "socketserver", "http.server", "xmlrpc", "asyncio.start_server", "asyncio.open_connection",
        "asyncio.start_unix_server", "asyncio.open_unix_connection", "mmap", "os.mkfifo", "os.pipe",
        "multiprocessing.shared_memory", "zmq"),
    "strided storage (windows without a refused operator)": (
        "numpy.lib.stride_tricks", "numpy.lib._stride_tricks_impl", "torch.as_strided", "torch.Tensor.set_",
        "torch.Tensor.as_strided"),
    "code built at run time (it can hide what it reaches for)": (
        "exec", "eval", "compile", "__import__", "importlib", "builtins", "marshal", "types.CodeType",
        "types.FunctionType"),
}

#: Attributes that reach the same places whatever object they are read from.
ATTRIBUTES: dict[str, str] = {
    **dict.fromkeys(("tb_frame", "f_back", "f_globals", "f_locals", "f_code", "gi_frame", "cr_frame", "ag_frame",
                     "__code__", "__globals__", "__closure__", "__subclasses__"),
                    "memory or frames (what finds the grader's objects)"),
    **dict.fromkeys(("as_strided", "as_strided_", "set_", "untyped_storage", "storage", "_storage",
                     "sliding_window_view", "unfold_copy", "__array_interface__", "__array_struct__"),
                    "strided storage (windows without a refused operator)"),
}

#: An import of a library's private module (``scipy.signal._sigtools``): compiled code no refusal names.
_PRIVATE = "a library's private module (compiled code no refusal names)"


def _private(name: str) -> bool:
    return any(part.startswith("_") and not part.startswith("__") for part in name.split(".")[1:])

#: IPython cell magics and shell escapes that run another program.
SHELL_MAGICS = frozenset({"bash", "sh", "script", "system", "python", "python2", "python3", "perl", "ruby", "pypy"})
_PROC = "/proc"
_PROCESSES = "processes or threads"


@dataclass(frozen=True)
class Reach:
    """One place in one submission: its cell, the line in that cell, what it reaches for and the line's code."""

    who: str  # student/file, as the report names a submission
    chapter: str
    cell: str  # the grade id of an answer cell, else "cell N" (N counts the notebook's cells from 1)
    line: int
    what: str  # the family (a key of REACHES) and the name, e.g. "processes or threads: subprocess.run"
    code: str


def _family(name: str) -> str | None:
    for family, names in REACHES.items():
        if any(name == n or name.startswith(n + ".") for n in names):
            return family
    return None


class _Walker(ast.NodeVisitor):
    """Finds the reaches of one cell: ``(line, what)``, with import aliases resolved as Python would."""

    def __init__(self) -> None:
        self.aliases: dict[str, str] = {}
        self.found: list[tuple[int, str]] = []

    def note(self, node: ast.AST, family: str, name: str) -> None:
        self.found.append((getattr(node, "lineno", 0), f"{family}: {name}"))

    def dotted(self, node: ast.AST) -> str | None:
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        parts.append(self.aliases.get(node.id, node.id))
        return ".".join(reversed(parts))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.asname:  # import numpy.lib as npl: npl is numpy.lib
                self.aliases[alias.asname] = alias.name
            else:  # import os.path: the name bound is os
                top = alias.name.split(".")[0]
                self.aliases[top] = top
            family = _family(alias.name) or (_PRIVATE if _private(alias.name) else None)
            if family:
                self.note(node, family, f"import {alias.name}")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        for alias in node.names:
            full = f"{base}.{alias.name}" if base else alias.name
            self.aliases[alias.asname or alias.name] = full
            family = _family(full) or (_PRIVATE if _private(full) else None)
            if family:
                self.note(node, family, f"from {base} import {alias.name}")

    def _name(self, node: ast.AST) -> bool:
        name = self.dotted(node)
        family = _family(name) if name else None
        if family:
            self.note(node, family, name)
            return True
        return False

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if self._name(node):
            return  # the longest dotted name only: `torch.ops.aten.conv2d` once, not four times
        if node.attr in ATTRIBUTES:
            self.note(node, ATTRIBUTES[node.attr], f".{node.attr}")
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in self.aliases or node.id in ("exec", "eval", "compile", "__import__"):
            self._name(node)

    def visit_Call(self, node: ast.Call) -> None:
        name = self.dotted(node.func) or ""
        keywords = {k.arg for k in node.keywords}
        if name.split(".")[-1] == "ndarray" and keywords & {"strides", "buffer"}:
            self.note(node, "strided storage (windows without a refused operator)",
                      f"{name}({', '.join(f'{k}=...' for k in sorted(keywords & {'buffer', 'strides'}))})")
        tail = node.func.attr if isinstance(node.func, ast.Attribute) else name
        first = node.args[0].value if node.args and isinstance(node.args[0], ast.Constant) else None
        magic = tail in ("run_cell_magic", "run_line_magic") and isinstance(first, str) and first in SHELL_MAGICS
        if magic or tail in ("system", "getoutput") and "get_ipython" in ast.unparse(node.func):
            self.note(node, _PROCESSES, "a shell command (!, %%bash, %system)")
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and _PROC in node.value:
            self.note(node, "the sandbox's processes (/proc)", repr(node.value[:60]))


def _python(source: str) -> str:
    """The cell as Python: IPython's transformation of magics and shell escapes (the text itself without IPython)."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:  # pragma: no cover - IPython is a dependency of the course
        return source
    try:
        return TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 - a cell IPython cannot transform is read as it is
        return source


def reaches(source: str) -> list[tuple[int, str]]:
    """``(line, what)`` for each reach in one cell's code, in order; ``[]`` for code that does not parse."""
    try:
        tree = ast.parse(_python(source))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    walker = _Walker()
    try:
        walker.visit(tree)
    except RecursionError:
        pass
    seen, found = set(), []
    for line, what in sorted(walker.found, key=lambda f: f[0]):
        if (line, what) not in seen:
            seen.add((line, what))
            found.append((line, what))
    return found


def _source(cell: dict) -> str:
    text = cell.get("source", "")
    return "".join(text) if isinstance(text, list) else text if isinstance(text, str) else ""


def scan(submissions_dir: Path, root: Path) -> list[Reach]:
    """Every reach in every identified submission of ``submissions_dir``, the course's own cells left out."""
    from .. import cells
    from ..authoring import notebooks
    from ..authoring.config import RELEASE_DIR
    from .sanitize import read_json
    from .submissions import discover

    given: dict[str, set[str]] = {}
    found: list[Reach] = []
    for sub in discover(submissions_dir, root):
        if sub.problem or not sub.chapter:
            continue
        try:
            if sub.chapter not in given:
                release = notebooks.load(notebooks.notebook_path(sub.chapter, RELEASE_DIR, root))
                given[sub.chapter] = {_source(c).strip() for c in release["cells"] if cells.is_code(c)}
            data, _ = read_json(sub.path)
            notebook_cells = data.get("cells") if isinstance(data, dict) else None
        except Exception:  # noqa: BLE001 - a notebook the grader could not read has nothing to show
            continue
        for index, cell in enumerate(notebook_cells if isinstance(notebook_cells, list) else [], start=1):
            if not cells.is_code(cell):
                continue
            source = _source(cell)
            if source.strip() in given[sub.chapter]:
                continue
            lines = source.splitlines()
            label = cells.grade_id(cell) or f"cell {index}"
            for line, what in reaches(source):
                code = lines[line - 1].strip() if 0 < line <= len(lines) else ""
                found.append(Reach(sub.label, sub.chapter, label, line, what, code[:160]))
    return found


def render(found: list[Reach] | None, limit: int = 300) -> str:
    """The class report's section (HTML, every value escaped)."""
    e = html.escape
    out = ["<h2>Code that reaches for the grader or the sandbox</h2>"]
    if found is None:
        out.append("<p class=\"muted\">Not read (the submissions were not given).</p>")
        return "\n".join(out)
    if not found:
        out.append("<p>No submission's code reaches for the grader's guard or the sandbox.</p>")
        return "\n".join(out)
    who = sorted({r.who for r in found})
    out.append(f"<p>{len(who)} submission(s) have code that uses ctypes, gc, frames or tracing, torch's internals, "
               "the grader's own checking code, processes or threads, sockets or shared memory, <code>/proc</code>, "
               "strided storage or code built at run time. This is something to read, not a verdict: honest code "
               "can start a thread, and the grade already counts only what the guard let through.</p>")
    out.append("<table><tr><th>submission</th><th>cell</th><th>line</th><th>what</th><th>code</th></tr>")
    for r in found[:limit]:
        out.append(f"<tr><td>{e(r.who)}</td><td><code>{e(r.cell)}</code></td><td class=\"n\">{r.line}</td>"
                   f"<td>{e(r.what)}</td><td><code>{e(r.code)}</code></td></tr>")
    out.append("</table>")
    if len(found) > limit:
        out.append(f"<p class=\"muted\">{len(found) - limit} more not shown.</p>")
    return "\n".join(out)
