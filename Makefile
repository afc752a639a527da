# Conv Course: the two set-up commands of the README, and the commands authors use.
#   make lab    create or reuse .venv, install everything, start JupyterLab on the course
#   make test   create or reuse .venv, install everything, run the whole test suite (one pytest worker
#               per core, pytest-xdist; a test file stays on one worker, so its shared fixtures run once;
#               files are handed out slowest first, tests/conftest.py's SLOWEST_FIRST)
#   make hub    a JupyterHub for a class (hub/class.toml, or HUB_CLASS=FILE): JupyterHub and its proxy are
#               installed by this target only; run as root (README: "A class on JupyterHub")
#   make test-fast  the inner loop: every test that starts no kernel, no grader run, no browser (< 1 min)
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.conv-course-installed
# Online and want PyTorch's smaller CPU-only build? e.g.
#   make lab TORCH_INDEX=https://download.pytorch.org/whl/cpu
TORCH_INDEX ?=
FIRST := notebooks/01-convolution-by-hand/01-convolution-by-hand.ipynb
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
# One torch thread per process: on two cores a second thread made training 60-150x slower.
export OMP_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1

.PHONY: setup lab instructor-lab test test-fast site release outputs check-release mistakes clean hub hub-setup

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(if $(TORCH_INDEX),$(BIN)/python -m pip install --quiet --index-url $(TORCH_INDEX) \
		$$(grep -E '^torch(vision)?==' requirements.txt),)
	$(BIN)/python -m pip install --quiet -r requirements.txt -e .
	$(BIN)/jupyter labextension list 2>&1 | grep -q jupyterlab_widgets
	touch $(STAMP)

# The course's JupyterLab plug-in (accessible slider names, spoken explorer results), linked into the venv so
# every JupyterLab of the venv loads it; and axe-core (package-lock.json) for the accessibility tests.
LABEXT := $(VENV)/share/jupyter/labextensions/conv-course-a11y
$(LABEXT): | $(STAMP)
	mkdir -p $(dir $(LABEXT)) && ln -sfn "$(CURDIR)/jupyter/labextensions/conv-course-a11y" $(LABEXT)
AXE := node_modules/axe-core/axe.min.js
$(AXE): package.json package-lock.json
	@if command -v npm >/dev/null; then npm ci --no-audit --no-fund --silent && touch $(AXE); \
	else echo "npm not found: the axe-core accessibility checks will be skipped (they fail when CI is set)"; fi

setup: $(STAMP) $(LABEXT)

# LAB_ARGS passes extra JupyterLab options, e.g. make lab LAB_ARGS="--no-browser --port=8899"
LAB_ARGS ?=
# make lab: the learner's JupyterLab (jupyter/learner: no nbgrader instructor panels, no news toast);
# make instructor-lab: the same with nbgrader's Formgrader, Create Assignment and Validate.
lab: setup
	JUPYTER_CONFIG_PATH="$(CURDIR)/jupyter/learner" $(BIN)/jupyter lab $(ROOT_FLAG) --ServerApp.root_dir="$(CURDIR)" \
		$(LAB_ARGS) $(FIRST)

instructor-lab: setup
	$(BIN)/jupyter lab $(ROOT_FLAG) --ServerApp.root_dir="$(CURDIR)" $(LAB_ARGS)

# A class on JupyterHub: JupyterHub (pinned in hub/requirements.txt) into .venv, configurable-http-proxy
# (hub/package-lock.json) into hub/node_modules; then `python -m hub` prepares the exchange and the
# course directories of HUB_CLASS and runs the hub in the foreground. HUB_ARGS go to jupyterhub.
HUB_CLASS ?= hub/class.toml
HUB_ARGS ?=
HUB_STAMP := $(VENV)/.conv-course-hub-installed
$(HUB_STAMP): $(STAMP) hub/requirements.txt hub/package.json hub/package-lock.json
	$(BIN)/python -m pip install --quiet -r hub/requirements.txt
	npm ci --prefix hub --no-audit --no-fund --loglevel=error
	touch $(HUB_STAMP)

hub-setup: $(HUB_STAMP)

hub: hub-setup
	CONV_COURSE_HUB_CLASS="$(abspath $(HUB_CLASS))" $(BIN)/python -m hub $(HUB_ARGS)

# TEST_JOBS: pytest-xdist workers (default: one per core; TEST_JOBS=0 runs in this process).
TEST_JOBS ?= auto
test: setup $(AXE)
	$(BIN)/python -m pytest -n $(TEST_JOBS) --dist loadfile --no-loadscope-reorder

test-fast: setup
	$(BIN)/python -m pytest tests -m "not slow and not browser" -n $(TEST_JOBS) --dist loadfile

# The course's website, offline, into build/site/html (chapters run once, then cached).
site: setup
	$(BIN)/python -m website

# Authors: regenerate the student notebooks after editing solutions/ (commit both).
release: setup
	$(BIN)/python -m grader release

# Authors: re-run the solutions and store the outputs nbval compares.
outputs: setup
	$(BIN)/python -m grader outputs

# Authors: how the checks treat the catalogue of mistakes (grader/catalogue), chapter by chapter.
mistakes: setup
	$(BIN)/python -m grader.catalogue

check-release: setup
	$(BIN)/python -m grader release --check

clean:
	rm -rf $(VENV) *.egg-info
