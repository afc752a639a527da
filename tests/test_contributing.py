"""For forks and contributors: the GitHub workflows pass actionlint, the pre-commit hooks work offline."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def _actionlint(*paths) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "actionlint"), "-no-color", *map(str, paths)], capture_output=True,
                          text=True, cwd=ROOT)


def test_workflows_pass_actionlint():
    assert {p.name for p in WORKFLOWS} >= {"ci.yml", "site.yml"}
    done = _actionlint(*WORKFLOWS)
    assert done.returncode == 0 and done.stdout == "", done.stdout + done.stderr


def test_actionlint_rejects_a_broken_workflow(tmp_path):
    broken = (ROOT / ".github" / "workflows" / "ci.yml").read_text().replace("runs-on:", "runs_on:")
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    path = tmp_path / ".github" / "workflows" / "broken.yml"
    path.write_text(broken + "      - run: echo ${{ matrix.nothing }}\n")
    done = subprocess.run([str(BIN / "actionlint"), "-no-color", str(path)], capture_output=True, text=True,
                          cwd=tmp_path)
    assert done.returncode == 1
    assert "runs_on" in done.stdout and "matrix" in done.stdout


def test_ci_workflow_runs_ci_run_with_pip_cache_and_site_workflow_runs_make_site():
    ci = (ROOT / ".github" / "workflows" / "ci.yml").read_text()
    assert re.search(r"^\s+run: bash \.ci/run$", ci, re.M)
    assert "actions/cache@" in ci and "hashFiles('requirements.txt'" in ci and "PIP_CACHE_DIR" in ci
    site = (ROOT / ".github" / "workflows" / "site.yml").read_text()
    assert re.search(r"^\s+run: make site$", site, re.M) and "path: build/site/html" in site
    ci_run = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make site$", ci_run, re.M) and re.search(r"^make test$", ci_run, re.M)


def _precommit(*args, cwd) -> subprocess.CompletedProcess:
    env = {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(cwd.parent / "home"), "PRE_COMMIT_HOME": str(cwd.parent / "pc")}
    return subprocess.run([str(BIN / "pre-commit"), *args], capture_output=True, text=True, cwd=cwd, env=env)


def test_precommit_config_is_valid_and_all_local():
    done = _precommit("validate-config", ".pre-commit-config.yaml", cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    text = (ROOT / ".pre-commit-config.yaml").read_text()
    assert re.findall(r"^\s+- repo: (\S+)", text, re.M) == ["local"]
    assert "python -m grader release --check" in text and "tools/normalize_notebooks.py" in text


@pytest.mark.slow
def test_precommit_normalises_a_notebook_a_contributor_ran(tmp_path):
    """In a scratch repository: a run notebook (counts, widget state, a figure) is fixed and the commit stopped."""
    repo = tmp_path / "repo"
    (repo / "solutions" / "01-demo").mkdir(parents=True)
    shutil.copy(ROOT / ".pre-commit-config.yaml", repo)
    shutil.copytree(ROOT / "tools", repo / "tools")
    shutil.copytree(ROOT / "grader", repo / "grader", ignore=shutil.ignore_patterns("__pycache__"))
    quiet = nbformat.read(str(ROOT / "solutions" / "01-convolution-by-hand" / "01-convolution-by-hand.ipynb"), 4)
    run = nbformat.from_dict(json.loads(json.dumps(quiet)))
    run.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}, "version_major": 2,
                                                                             "version_minor": 0}}
    code = [c for c in run.cells if c.cell_type == "code"]
    for n, cell in enumerate(code, 1):
        cell.execution_count = n
    plain = next(c for c in code if "nbval-check-output" not in c.metadata.get("tags", []))
    plain.outputs = [nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"})]
    target = repo / "solutions" / "01-demo" / "01-demo.ipynb"
    nbformat.write(run, str(target))
    git = lambda *a: subprocess.run(["git", *a], cwd=repo, capture_output=True, text=True, check=True)
    git("init", "-q")
    git("add", "-A")
    done = _precommit("run", "normalize-notebooks", "--all-files", cwd=repo)
    assert done.returncode == 1 and "01-demo.ipynb: normalised" in done.stdout, done.stdout + done.stderr
    fixed = nbformat.read(str(target), 4)
    assert "widgets" not in fixed.metadata
    assert all(not o.get("data", {}).get("image/png") for c in fixed.cells if c.cell_type == "code" for o in c.outputs)
    assert target.read_text() == (ROOT / "solutions" / "01-convolution-by-hand" / "01-convolution-by-hand.ipynb").read_text()
    git("add", "-A")
    again = _precommit("run", "normalize-notebooks", "--all-files", cwd=repo)
    assert again.returncode == 0, again.stdout


def test_committed_notebooks_are_already_quiet():
    files = sorted(map(str, ROOT.glob("solutions/*/*.ipynb"))) + sorted(map(str, ROOT.glob("notebooks/*/*.ipynb")))
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "normalize_notebooks.py"), *files],
                          capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout == "", done.stdout
