"""Which cells of a learner's notebook depend on an exercise answer: the site's one rule.

The site shows a chapter as a learner sees it before writing anything, so a cell's
output is shown only when no answer feeds it. The plan is worked out from the
notebook alone, before anything runs:

* an **answer** cell (nbgrader ``solution``) is shown as the learner's stub, never run;
* a **test** cell (nbgrader ``grade``) is shown, never run: its verdict is on an answer;
* a cell that reads an answer is **needs-answer**: shown, not run. It reads an answer when
  it uses a name an answer cell defines, an exercise's name, a name computed from either
  in an earlier needs-answer cell, or a function of :mod:`helpers.checks` (they look the
  learner's answers up by name, like the progress table);
* an **explorer** cell (a call of a :mod:`helpers.widgets` function) is run for a still
  picture; when its arguments read an answer it runs with the explorer's own defaults;
* every other cell is **plain**: run, and its outputs shown.

A plain cell that still raises means the plan missed a dependency (or the chapter is
broken): the build stops and names it rather than publish a traceback.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from grader import cells as cell_meta

ANSWER, TEST, NEEDS_ANSWER, EXPLORER, PLAIN = "answer", "test", "needs-answer", "explorer", "plain"
#: Functions imported from these modules read the learner's answers by name.
ANSWER_READERS = ("helpers.checks",)
#: Functions imported from this module build the interactive explorers.
EXPLORERS = "helpers.widgets"


@dataclass
class CellPlan:
    role: str
    #: the code the site's kernel runs for this cell ("" for a cell that is not run)
    run: str = ""
    #: for a needs-answer cell, the answer names it reads
    reads: list[str] = field(default_factory=list)


def python_source(source: str) -> str:
    """A cell's source as plain Python (IPython's ``%magics`` and ``!shell`` lines translated)."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)


def _names(tree: ast.AST) -> tuple[set[str], set[str]]:
    """(names the code reads from outside, names it binds for later cells).

    Arguments and comprehension variables are local: ``for name, k in ...`` inside a
    comprehension neither reads nor leaves behind a ``k``.
    """
    loads, stores, local = set(), set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.comprehension):
            local |= {n.id for n in ast.walk(node.target) if isinstance(n, ast.Name)}
        if isinstance(node, ast.Name):
            (loads if isinstance(node.ctx, ast.Load) else stores).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            stores.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                stores.add((alias.asname or alias.name).split(".")[0])
        elif isinstance(node, ast.arg):
            local.add(node.arg)
    return loads - local, stores - local


def _imported_from(tree: ast.AST, modules: tuple[str, ...]) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in modules:
            found.update(alias.asname or alias.name for alias in node.names)
    return found


def _explorer_call(tree: ast.Module, explorers: set[str]) -> ast.Call | None:
    """The call of an explorer that ends the cell (its value is what the cell shows), if any."""
    last = tree.body[-1] if tree.body else None
    if (isinstance(last, ast.Expr) and isinstance(last.value, ast.Call)
            and isinstance(last.value.func, ast.Name) and last.value.func.id in explorers):
        return last.value
    return None


def plan(nb) -> list[CellPlan]:
    """One :class:`CellPlan` per cell of a learner's notebook (markdown cells are ``plain``)."""
    exercise_names = {cell_meta.grade_id(c) for c in nb.cells if cell_meta.is_grade(c)}
    tainted: set[str] = {name for name in exercise_names if name}
    readers: set[str] = set()
    explorers: set[str] = set()
    plans = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            plans.append(CellPlan(PLAIN))
            continue
        tree = ast.parse(python_source(cell.source))
        loads, stores = _names(tree)
        if cell_meta.is_solution(cell):
            tainted |= stores
            plans.append(CellPlan(ANSWER))
            continue
        if cell_meta.is_grade(cell):
            plans.append(CellPlan(TEST))
            continue
        readers |= _imported_from(tree, ANSWER_READERS)
        explorers |= _imported_from(tree, (EXPLORERS,))
        reads = sorted(loads & (tainted | readers))
        call = _explorer_call(tree, explorers)
        if call is not None:
            if reads:  # the explorer as it opens by default: no answer needed
                tree.body[-1] = ast.Expr(ast.Call(func=call.func, args=[], keywords=[]))
            plans.append(CellPlan(EXPLORER, run=ast.unparse(tree)))
        elif reads:
            tainted |= stores
            plans.append(CellPlan(NEEDS_ANSWER, reads=reads))
        else:
            tainted -= stores
            plans.append(CellPlan(PLAIN, run=cell.source))
    return plans
