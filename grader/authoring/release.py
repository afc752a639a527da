"""Deriving the student notebooks (``notebooks/``) from the sources (``solutions/``).

nbgrader's ``generate_assignment`` does the work (solutions replaced by stubs,
hidden tests removed, checksums computed); the result is then normalised so
that regenerating an unchanged source gives byte-identical files, which is
what lets CI fail when ``notebooks/`` drifts from ``solutions/``.
"""

from __future__ import annotations

import filecmp
import os
import shutil
import sys
import tempfile
from pathlib import Path

from traitlets.config import Config

from . import notebooks
from .config import ROOT, SOURCE_DIR, configure


def ensure_tools_on_path() -> None:
    """nbgrader runs ``alembic`` by name: make this interpreter's scripts folder findable."""
    scripts = str(Path(sys.executable).parent)
    if scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")


class ReleaseError(RuntimeError):
    """nbgrader could not generate a chapter's release."""


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
            raise ReleaseError(f"nbgrader could not release {chapter}:\n{result.get('log', '')}"
                               f"{result.get('error', '')}")
        produced = staging / chapter / f"{chapter}.ipynb"
        nb = notebooks.read(produced)
        _carry_reference_outputs(nb, notebooks.read(notebooks.notebook_path(chapter, SOURCE_DIR, root)))
        nb = notebooks.normalize(nb)
        target = out_dir / chapter / f"{chapter}.ipynb"
        if target.parent.exists():
            shutil.rmtree(target.parent)
        notebooks.write(nb, target)
    return target


def _carry_reference_outputs(release, source) -> None:
    """Give the release the solution's stored outputs of the ``nbval-check-output`` cells.

    A learner can then run nbval on their own notebook and see which of the outputs their answers
    determine (an output size, a shape, a parameter count) differ from the reference.
    """
    stored = {cell.get("id"): cell for cell in source.cells
              if cell.cell_type == "code" and notebooks.CHECK_OUTPUT_TAG in notebooks.tags(cell)}
    for cell in release.cells:
        reference = stored.get(cell.get("id"))
        if reference is not None and cell.cell_type == "code":
            cell.outputs = [dict(o) for o in reference.outputs]
            cell.execution_count = reference.execution_count


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
