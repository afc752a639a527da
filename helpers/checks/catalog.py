"""The course's exercises by name, title and points, read without running anything.

``python -m grader progress`` and the messages about unfinished exercises need only
who is who: an exercise's key, the name its answer defines, its title and points.
Importing the chapter modules for that means importing PyTorch and building every
check (seconds); this module reads the same ``Exercise(...)`` definitions from the
chapter modules' source instead, so there is still one definition of each exercise
(a test keeps the two readings equal).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

_HERE = Path(__file__).parent
_FIELDS = ("key", "chapter", "answer", "title", "points")


@dataclass(frozen=True)
class Entry:
    """Who an exercise is: what a learner sees of it before any check runs."""

    key: str
    chapter: str
    answer: str  # the name the answer cell defines
    title: str
    points: int


def _literal(node: ast.AST, constants: dict[str, object]) -> object:
    if isinstance(node, ast.Name) and node.id in constants:
        return constants[node.id]
    return ast.literal_eval(node)


def _read(module: str) -> list[Entry]:
    tree = ast.parse((_HERE / f"{module}.py").read_text(encoding="utf-8"))
    constants: dict[str, object] = {}
    found: dict[str, Entry] = {}
    order: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            target, value = node.targets[0].id, node.value
            if isinstance(value, ast.Constant):
                constants[target] = value.value
            elif isinstance(value, ast.Call) and getattr(value.func, "id", None) == "Exercise":
                kwargs = {k.arg: _literal(k.value, constants) for k in value.keywords if k.arg in _FIELDS}
                found[target] = Entry(**kwargs)  # type: ignore[arg-type]
            elif target == "EXERCISES" and isinstance(value, (ast.List, ast.Tuple)):
                order = [e.id for e in value.elts if isinstance(e, ast.Name)]
    return [found[name] for name in order]


@lru_cache(maxsize=1)
def _all() -> tuple[Entry, ...]:
    from . import CHAPTER_MODULES

    entries: list[Entry] = []
    for module in CHAPTER_MODULES:
        if (_HERE / f"{module}.py").exists():
            entries += _read(module)
    return tuple(entries)


def entries(chapter: str | None = None) -> list[Entry]:
    """Every exercise (or one chapter's), in the order the chapter modules list them."""
    return [e for e in _all() if chapter is None or e.chapter == chapter]


def by_answer(chapter: str | None = None) -> dict[str, Entry]:
    """``{name the answer defines: entry}``."""
    return {e.answer: e for e in entries(chapter)}
