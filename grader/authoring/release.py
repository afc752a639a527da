"""Deriving the student notebooks (``notebooks/``) from the sources (``solutions/``).

nbgrader's ``generate_assignment`` does the work (solutions replaced by stubs,
hidden tests removed, checksums computed); the result is then normalised so
that regenerating an unchanged source gives byte-identical files, which is
what lets CI fail when ``notebooks/`` drifts from ``solutions/``.

A release carries no outputs at all: every output of a source notebook was
computed with the solutions in place (a size, a shape, a parameter count, a
check's verdict), so showing one would give an answer away before the learner
wrote it. The outputs a learner's run is compared with stay in ``solutions/``
and are read there at check time (:func:`grader.check.compare_outputs`).
"""

from __future__ import annotations

import filecmp
import os
import shutil
import sys
import tempfile
from pathlib import Path

from traitlets.config import Config

from ..errors import SetupError
from . import notebooks
from .config import ROOT, SOURCE_DIR, configure


def ensure_tools_on_path() -> None:
    """nbgrader runs ``alembic`` by name: make this interpreter's scripts folder findable."""
    scripts = str(Path(sys.executable).parent)
    if scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")


class ReleaseError(SetupError):
    """nbgrader could not generate a chapter's release (its message: one line, nbgrader's last word)."""


def _first_error(result: dict) -> str:
    """The first exception nbgrader's log names (``ValidationError: Duplicate grade id: x``), else its last line."""
    import re

    lines = [line.strip() for line in f"{result.get('log') or ''}\n{result.get('error') or ''}".splitlines()
             if line.strip()]
    for line in lines:
        found = re.match(r"(?:[\w]+\.)*(\w+(?:Error|Exception): .+)", line)
        if found and "see the" not in line:  # nbgrader's own summary only points at the traceback
            return found.group(1)[:200]
    return lines[-1][:200] if lines else "no reason given"


def nbgrader_config(root: Path, db: Path, **overrides: str) -> Config:
    """The course configuration for a run of nbgrader with its own gradebook file."""
    ensure_tools_on_path()
    c = Config()
    configure(c, root)
    c.CourseDirectory.db_url = f"sqlite:///{db}"
    for key, value in overrides.items():
        setattr(c.CourseDirectory, key, value)
    c.Application.log_level = "WARN"
    return c


def generate(chapter: str, out_dir: Path, root: Path = ROOT) -> Path:
    """Generate one chapter's student notebook into ``out_dir/<chapter>/`` and normalise it."""
    from nbgrader.apps import NbGraderAPI

    with tempfile.TemporaryDirectory(prefix="conv-course-release-") as tmp:
        staging = Path(tmp) / "release"
        config = nbgrader_config(root, Path(tmp) / "gradebook.db", release_directory=str(staging))
        api = NbGraderAPI(config=config)
        result = api.generate_assignment(chapter, force=True, create=True)
        if not result.get("success"):
            raise ReleaseError(f"nbgrader could not release {chapter} ({_first_error(result)}): "
                               f"fix {SOURCE_DIR}/{chapter}/{chapter}.ipynb; `nbgrader generate_assignment {chapter} "
                               "--force` shows nbgrader's whole log")
        produced = staging / chapter / f"{chapter}.ipynb"
        nb = notebooks.normalize(notebooks.read(produced), keep_outputs=False)
        target = out_dir / chapter / f"{chapter}.ipynb"
        if target.parent.exists():
            shutil.rmtree(target.parent)
        notebooks.write(nb, target)
    return target


def release_all(out_dir: Path | None = None, root: Path = ROOT) -> list[Path]:
    """Regenerate every chapter's student notebook; returns the files written."""
    out_dir = out_dir or root / "notebooks"
    written = [generate(chapter, out_dir, root) for chapter in notebooks.chapters(SOURCE_DIR, root)]
    known = {p.parent.name for p in written}
    for stale in out_dir.iterdir() if out_dir.is_dir() else []:
        if stale.is_dir() and stale.name not in known and notebooks._CHAPTER_RE.match(stale.name):
            shutil.rmtree(stale)
    return written


def drift(root: Path = ROOT) -> list[str]:
    """What differs between the committed ``notebooks/`` and a fresh release; empty when up to date."""
    with tempfile.TemporaryDirectory(prefix="conv-course-drift-") as tmp:
        fresh = Path(tmp)
        release_all(fresh, root)
        committed = root / "notebooks"
        problems = []
        want = {p.relative_to(fresh) for p in fresh.rglob("*.ipynb")}
        have = {p.relative_to(committed) for p in committed.rglob("*.ipynb")
                if ".ipynb_checkpoints" not in p.parts} if committed.is_dir() else set()
        for rel in sorted(want - have):
            problems.append(f"missing: notebooks/{rel}")
        for rel in sorted(have - want):
            problems.append(f"not generated from solutions/: notebooks/{rel}")
        for rel in sorted(want & have):
            if not filecmp.cmp(fresh / rel, committed / rel, shallow=False):
                problems.append(f"out of date: notebooks/{rel}")
        return problems
