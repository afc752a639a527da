# Conv Course: the two set-up commands of the README, and the commands authors use.
#   make lab    create or reuse .venv, install everything, start JupyterLab on the course
#   make test   create or reuse .venv, install everything, run the whole test suite (one pytest worker
#               per core, pytest-xdist; a test file stays on one worker, so its shared fixtures run once;
#               files are handed out slowest first, tests/conftest.py's SLOWEST_FIRST)
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

.PHONY: setup lab test test-fast site release outputs check-release mistakes clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(if $(TORCH_INDEX),$(BIN)/python -m pip install --quiet --index-url $(TORCH_INDEX) \
		$$(grep -E '^torch(vision)?==' requirements.txt),)
	$(BIN)/python -m pip install --quiet -r requirements.txt -e .
	$(BIN)/jupyter labextension list 2>&1 | grep -q jupyterlab_widgets
	touch $(STAMP)

setup: $(STAMP)

# LAB_ARGS passes extra JupyterLab options, e.g. make lab LAB_ARGS="--no-browser --port=8899"
LAB_ARGS ?=
lab: setup
	$(BIN)/jupyter lab $(ROOT_FLAG) --ServerApp.root_dir="$(CURDIR)" $(LAB_ARGS) $(FIRST)

# TEST_JOBS: pytest-xdist workers (default: one per core; TEST_JOBS=0 runs in this process).
TEST_JOBS ?= auto
test: setup
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
