"""Build the course's website into ``build/site/html`` (``make site``, ``python -m website``).

The chapters are whatever ``notebooks/NN-slug/NN-slug.ipynb`` holds when the build runs
(new chapters appear by themselves). Each becomes one page (see :mod:`website.chapters`);
an index page lists them. Sphinx with MyST-NB and the Sphinx Book Theme renders them, and
everything a page needs is copied next to it: the build and the site work offline.

Launch links (Colab, Binder) need the repository's GitHub name: ``COURSE_REPOSITORY``
(``owner/name``), or ``GITHUB_REPOSITORY``, which GitHub Actions sets; without it the
pages say how to run the chapter from a clone instead.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat

from . import audit
from .chapters import chapter_page

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
CHAPTER_RE = re.compile(r"^\d\d-[a-z0-9-]+$")
#: What a page's cells depend on besides the notebook: a change here re-runs the chapters.
CODE_ROOTS = ("helpers", "website/plan.py", "website/snapshot.py", "website/chapters.py")


def chapter_notebooks(root: Path = ROOT) -> list[Path]:
    """``notebooks/NN-slug/NN-slug.ipynb`` of every released chapter, in order."""
    base = root / "notebooks"
    return [d / f"{d.name}.ipynb" for d in sorted(base.iterdir())
            if d.is_dir() and CHAPTER_RE.match(d.name) and (d / f"{d.name}.ipynb").is_file()]


def repository() -> str:
    """``owner/name`` of the course on GitHub, or "" when unknown."""
    return os.environ.get("COURSE_REPOSITORY") or os.environ.get("GITHUB_REPOSITORY") or ""


def launch_cell(chapter: str, repo: str, branch: str = "main") -> nbformat.NotebookNode:
    """A line of links that open the chapter where it runs."""
    path = f"notebooks/{chapter}/{chapter}.ipynb"
    if repo:
        colab = f"https://colab.research.google.com/github/{repo}/blob/{branch}/{path}"
        binder = f"https://mybinder.org/v2/gh/{repo}/{branch}?urlpath=lab/tree/{path}"
        text = (f"Run this chapter: [Open in Colab]({colab}) · [Launch on Binder]({binder}) · "
                f"or in a clone, `make lab` and open `{path}`.")
    else:
        text = f"Run this chapter: in a clone of the course, `make lab` and open `{path}`."
    cell = nbformat.v4.new_markdown_cell(text)
    cell.metadata["tags"] = ["cc-launch"]
    return cell


def _title(nb) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            match = re.search(r"^#\s+(.+)$", cell.source, re.M)
            if match:
                return match.group(1).strip()
    raise ValueError("the chapter has no '# title'")


def _intro(root: Path) -> str:
    """The README's opening paragraph: what the course is."""
    text = (root / "README.md").read_text(encoding="utf-8")
    paragraphs = [p.strip() for p in text.split("\n\n") if p.strip() and not p.lstrip().startswith("#")]
    return paragraphs[0]


def index_page(titles: dict[str, str], root: Path, repo: str) -> str:
    toc = "\n".join(f"chapters/{name}" for name in titles)
    clone = f"https://github.com/{repo}" if repo else "the course's repository"
    return f"""# Conv Course

{_intro(root)}

Each chapter below is the notebook you work in, as it looks before you write anything: the
explanations, the figures, and the exercises with empty answer cells. Outputs that depend on
your answers appear when you run the chapter in JupyterLab, where the explorers move too.
To run it, clone {clone}, then `make lab`; or use a chapter's Colab or Binder link.

```{{toctree}}
:maxdepth: 1
:caption: Chapters

{toc}
```
"""


def mathjax_files() -> Path:
    import jupyter_server_mathjax

    return Path(jupyter_server_mathjax.__file__).parent / "static"


def _write(path: Path, text: str) -> None:
    """Write ``text`` unless the file already holds it (Sphinx then skips the page)."""
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _copy(source: str, target: str) -> None:
    if not Path(target).exists() or Path(source).read_bytes() != Path(target).read_bytes():
        shutil.copy2(source, target)


def prepare(src: Path, cache: Path, root: Path = ROOT, log=print) -> dict[str, str]:
    """Write the Sphinx source folder (only what changed); returns ``{chapter: title}``."""
    (src / "chapters").mkdir(parents=True, exist_ok=True)
    repo = repository()
    titles = {}
    for notebook in chapter_notebooks(root):
        started = time.monotonic()
        nb, ran = chapter_page(notebook, cache, [root / name for name in CODE_ROOTS])
        titles[notebook.stem] = _title(nb)
        nb.cells.insert(1, launch_cell(notebook.stem, repo))
        _write(src / "chapters" / notebook.name, nbformat.writes(nb))
        log(f"  {notebook.stem}: {'ran' if ran else 'cached'} ({time.monotonic() - started:.0f} s)")
    if not titles:
        raise SystemExit("no chapters in notebooks/")
    for stale in (src / "chapters").iterdir():
        if stale.stem not in titles:
            stale.unlink()
    _write(src / "index.md", index_page(titles, root, repo))
    _write(src / "conf.py", (HERE / "conf.py").read_text(encoding="utf-8"))
    shutil.copytree(HERE / "_static", src / "_static", dirs_exist_ok=True, copy_function=_copy)
    shutil.copytree(HERE / "_templates", src / "_templates", dirs_exist_ok=True, copy_function=_copy)
    shutil.copytree(mathjax_files(), src / "_static" / "mathjax", ignore=shutil.ignore_patterns("localization"),
                    dirs_exist_ok=True, copy_function=_copy)
    return titles


def size_of(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def build(out: Path | None = None, root: Path = ROOT, log=print) -> Path:
    """Build the site; returns the folder holding ``index.html``.

    Incremental, like Sphinx itself: chapters whose notebook and drawing code did not change
    come from the cache, and only changed pages are rendered again.
    """
    out = out or root / "build" / "site"
    src, html = out / "src", out / "html"
    started = time.monotonic()
    log(f"chapters from {root / 'notebooks'}:")
    titles = prepare(src, out / "cache", root, log)
    done = subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-q", "-W", "--keep-going",
                           "-d", str(out / "doctrees"), str(src), str(html)], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"sphinx-build failed:\n{done.stdout}{done.stderr}")
    for stale in (html / "chapters").glob("*.html"):  # a chapter removed since the last build
        if stale.stem not in titles:
            stale.unlink()
    found = audit.leaks(audit.site_texts(html), audit.course_secrets(root, src / "chapters"))
    if found:
        raise SystemExit("the site shows what only solutions/ may hold:\n  " + "\n  ".join(found))
    log(f"site built in {time.monotonic() - started:.0f} s: {html / 'index.html'} "
        f"({size_of(html) / 2**20:.1f} MiB, {len(list(html.rglob('*.html')))} pages)")
    return html


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m website", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="build folder (default build/site); the site is in its html/")
    args = parser.parse_args(argv)
    build(args.out)
    return 0
