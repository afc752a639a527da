"""What a chapter says when a cell needs an exercise that is not done yet.

In a blank chapter each answer cell raises ``NotImplementedError`` (so Run All stops
at the first exercise, as in any nbgrader notebook), and, run on cell by cell, every
later cell that uses an unfinished answer would fail with a ``NameError`` or a
``NotImplementedError`` and a traceback through torch or matplotlib. After
:func:`enable` (each chapter's first code cell calls it) such a cell prints one line
naming the exercise to finish instead, and still counts as an error, so Run All stops
there too. So does any error of a cell that uses what such a cell left undefined or
half-made. Every other error keeps its usual traceback.

A name a failed cell would have defined (chapter 6's ``model = pool_cnn()``) is
remembered as waiting for the same exercise, so the cells after it name ``pool_cnn``
and not ``model``. :func:`explain_cell` is the same reasoning on text alone, for
``python -m grader check``, which sees only each cell's source and its error's first line.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable

from .checks.catalog import Entry, by_answer, entries
from .protocol import NOT_ATTEMPTED_ERROR, answer_id, not_attempted

_NAME_ERROR = re.compile(r"name '([A-Za-z_][A-Za-z0-9_]*)' is not defined")


def assigned_names(source: str) -> set[str]:
    """The names a cell's top level defines (assignments, loops, ``with ... as``, ``def``, imports)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names: set[str] = set()

    def targets(node: ast.AST) -> None:
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, (ast.Tuple, ast.List)):
            for element in node.elts:
                targets(element)
        elif isinstance(node, ast.Starred):
            targets(node.value)

    for node in tree.body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                targets(target)
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets(node.target)
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            targets(node.target)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                if item.optional_vars is not None:
                    targets(item.optional_vars)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return names


def used_names(source: str) -> set[str]:
    """Every name a cell reads (anywhere in it)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", source))
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}


def _is_stub(source: str) -> bool:
    """An answer cell as released: its top level raises ``NotImplementedError`` itself."""
    return any(line.startswith(f"raise {NOT_ATTEMPTED_ERROR}") for line in source.splitlines())


def stub_message(entry: Entry | None) -> str:
    """The one line of an answer cell that still holds its stub."""
    what = f"{entry.title} is" if entry else "this exercise is"
    return f"Not done yet: {what} still `raise NotImplementedError()`. Replace it with your answer and run this cell."


def needs_message(needed: Iterable[Entry]) -> str:
    """The one line of a cell that uses answers not written yet."""
    items = list(dict.fromkeys(needed))
    names = " and ".join(f"`{e.answer}` ({e.title})" if e.title != e.answer else f"`{e.answer}`" for e in items)
    return (f"This cell needs {names}, not done yet: finish {'it' if len(items) == 1 else 'them'} above, "
            "run its cell, then this one.")


class Tracker:
    """Which exercise each undefined name waits for, learned cell by cell."""

    def __init__(self, chapter: str | None = None):
        self.answers = by_answer(chapter)
        self.keys = {answer_id(e.key): e for e in entries(chapter)}
        self.waiting: dict[str, Entry] = {}  # a name a failed cell would have defined -> what it waits for
        self.last: list[Entry] = []  # what the last explained cell waits for

    def explain(self, source: str, error: str, *, cell_id: str | None = None,
                functions: Iterable[str] = (), unfinished: Iterable[str] = ()) -> str | None:
        """One line for a cell that stopped at an unfinished exercise, or ``None`` for any other error.

        Args:
            source: the cell's code.
            error: the error's first line, e.g. ``"NameError: name 'top_edge' is not defined"``.
            cell_id: the cell's id (an answer cell's is ``<key>_answer``).
            functions: the functions the error passed through, innermost last (from its traceback).
            unfinished: answers known to be unfinished (``grader check``: exercises not attempted).
        """
        kind = error.split(":", 1)[0].split(" ", 1)[0].strip()
        needed: list[Entry] = []
        self.last = []
        if not_attempted(kind):
            own = not [f for f in functions if f in self.answers]
            if own and (cell_id in self.keys or (cell_id is None and _is_stub(source))):
                entry = self.keys.get(cell_id or "")
                self._remember(source, entry)
                self.last = [entry] if entry else []
                return stub_message(entry)
            needed = [self.answers[f] for f in functions if f in self.answers]
            if not needed:
                used = used_names(source)
                needed = [self.answers[n] for n in unfinished if n in used and n in self.answers]
                needed += [self.waiting[n] for n in sorted(used) if n in self.waiting]
        elif kind == "NameError":
            found = _NAME_ERROR.search(error)
            name = found.group(1) if found else None
            if name in self.answers:
                needed = [self.answers[name]]
            elif name in self.waiting:
                needed = [self.waiting[name]]
        else:  # e.g. plotting a result an earlier cell left half-made when it stopped at an exercise
            used = used_names(source)
            needed = [self.waiting[n] for n in sorted(used) if n in self.waiting]
        if not needed:
            return None
        needed = list(dict.fromkeys(needed))
        self._remember(source, needed[0])
        self.last = needed
        return needs_message(needed)

    def defined(self, source: str) -> None:
        """A cell ran cleanly: what it defined no longer waits for anything."""
        for name in assigned_names(source):
            self.waiting.pop(name, None)

    def _remember(self, source: str, entry: Entry | None) -> None:
        if entry is None:
            return
        for name in assigned_names(source):
            if name != entry.answer and name not in self.answers:
                self.waiting[name] = entry


def explain_cell(tracker: Tracker, source: str, error: str | None, **kwargs) -> str | None:
    """:meth:`Tracker.explain` for a cell that raised, :meth:`Tracker.defined` for one that did not."""
    if error is None:
        tracker.defined(source)
        return None
    return tracker.explain(source, error, **kwargs)


# ---------------------------------------------------------------------------
# IPython


def _functions(tb) -> list[str]:
    names = []
    while tb is not None:
        names.append(tb.tb_frame.f_code.co_name)
        tb = tb.tb_next
    return names


def enable(chapter: str | None = None, shell=None) -> None:
    """From now on, a cell that needs an unfinished exercise prints one line naming it.

    Does nothing outside IPython. The cell still ends in an error (Run All stops, a grader
    sees the error); only what is shown changes. Calling it again replaces the earlier hook.
    """
    if shell is None:
        try:
            from IPython import get_ipython
        except ImportError:  # pragma: no cover - the course always has IPython
            return
        shell = get_ipython()
    if shell is None:
        return
    tracker = Tracker(chapter)
    current: dict[str, object] = {}

    def pre_run_cell(info) -> None:
        current["source"] = info.raw_cell or ""
        current["cell_id"] = getattr(info, "cell_id", None)

    def post_run_cell(result) -> None:
        if result.success:
            tracker.defined(str(current.get("source", "")))

    def handler(self, etype, value, tb, tb_offset=None):
        text = str(value).strip().splitlines()[0] if str(value).strip() else ""
        error = f"{etype.__name__}: {text}" if text else etype.__name__
        line = tracker.explain(str(current.get("source", "")), error, cell_id=current.get("cell_id"),  # type: ignore[arg-type]
                               functions=_functions(tb))
        if line is None:
            self.showtraceback((etype, value, tb), tb_offset=tb_offset, running_compiled_code=True)
            return None
        self._showtraceback(etype, value, [line])
        return None

    for event, callback in (("pre_run_cell", pre_run_cell), ("post_run_cell", post_run_cell)):
        for old in [cb for cb in shell.events.callbacks[event] if getattr(cb, "_conv_course", False)]:
            shell.events.unregister(event, old)
        callback._conv_course = True  # type: ignore[attr-defined]
        shell.events.register(event, callback)
    shell.set_custom_exc((Exception,), handler)
