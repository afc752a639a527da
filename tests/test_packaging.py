"""The install story: one list of pins, conda mirrors it, helpers import cleanly."""

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _pins(lines) -> dict[str, str]:
    pins = {}
    for line in lines:
        line = line.split("#", 1)[0].strip().lstrip("- ").strip()
        match = re.fullmatch(r"([A-Za-z0-9_.-]+(?:\[[A-Za-z0-9_,-]+\])?)==([A-Za-z0-9_.+-]+)", line)
        if match:
            pins[match.group(1).lower()] = match.group(2)
    return pins


def test_every_requirement_is_pinned_exactly():
    lines = [l.split("#", 1)[0].strip() for l in (ROOT / "requirements.txt").read_text().splitlines()]
    lines = [l for l in lines if l]
    assert lines, "requirements.txt lists nothing"
    unpinned = [l for l in lines if "==" not in l]
    assert not unpinned, f"not pinned with ==: {unpinned}"


def test_environment_yml_names_the_same_packages_and_versions():
    pip_pins = _pins((ROOT / "requirements.txt").read_text().splitlines())
    text = (ROOT / "environment.yml").read_text()
    conda_pins = _pins(text.splitlines())
    assert conda_pins == pip_pins
    assert re.search(r"^\s*- python=3\.11\b", text, re.M), "environment.yml must ask for Python 3.11"
    for line in text.splitlines():
        if "==" in line:
            assert "#" in line and line.split("#", 1)[1].strip(), f"no comment saying what uses: {line.strip()}"


def test_pyproject_reads_requirements_txt():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert data["project"]["dynamic"] == ["dependencies"]
    assert data["tool"]["setuptools"]["dynamic"]["dependencies"]["file"] == ["requirements.txt"]


def test_torch_pair_is_the_matched_one():
    pins = _pins((ROOT / "requirements.txt").read_text().splitlines())
    assert (pins["torch"], pins["torchvision"]) == ("2.14.1", "0.29.1")


def test_importing_helpers_has_no_side_effects(tmp_path):
    """``import helpers`` loads nothing heavy; importing every module prints, loads and writes nothing."""
    code = ("import sys, helpers; "
            "print([m for m in ('torch', 'matplotlib', 'mlxtend') if m in sys.modules])")
    env = {"CONV_COURSE_CACHE": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert done.stdout.strip() == "[]", done.stdout
    code = ("import pkgutil, importlib, helpers, helpers.checks; "
            "[importlib.import_module(m.name) for m in pkgutil.walk_packages(helpers.__path__, 'helpers.')]; "
            "import helpers.data; assert helpers.data.load_digits.cache_info().currsize == 0")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""
    assert not (tmp_path / "cache").exists(), "importing helpers wrote a cache"


def test_helpers_importable_from_anywhere(tmp_path):
    """Notebooks import helpers with no sys.path edits, wherever the kernel starts."""
    done = subprocess.run([sys.executable, "-c", "import helpers.data, helpers.plots; print('ok')"],
                          cwd=tmp_path, capture_output=True, text=True)
    assert done.stdout.strip() == "ok", done.stderr


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    blocks = re.findall(r"```(?:bash|sh)?\n(.*?)```", readme, re.S)
    commands = [l.strip() for b in blocks for l in b.splitlines() if l.strip().startswith("make ")]
    assert "make lab" in commands and "make test" in commands
    assert re.search(r"^make test$", ci, re.M)
