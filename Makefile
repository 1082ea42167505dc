# qm7-book: two commands do everything.
#   make book   execute every notebook on the real QM7 data, then build the HTML book
#   make test   the whole test suite (CI runs exactly this)
# Both create .venv and install the dependencies themselves on first use, the exact versions of
# requirements/lock.txt (the versions the stored outputs were computed with).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
STAMP  := $(VENV)/.installed
UV     := $(BIN)/uv
# The lock: every package at one version, with its hashes, for Python 3.11 on Linux x86_64
# (`make lock` refreshes it).
LOCK   := requirements/lock.txt
UV_VERSION := 0.13.9
# `make lock UPGRADE=1` moves every package to its newest release allowed by pyproject.toml.
UPGRADE ?=
# pytest exits with 5 when it collects nothing: not a failure here.
PYTEST  = $(BIN)/pytest
define pytest_ok
$(1) || { rc=$$?; [ $$rc -eq 5 ] && echo "(no tests collected)" || exit $$rc; }
endef

export KERAS_BACKEND := jax
export PYTHONHASHSEED := 0

.PHONY: help install lock lab book run html test lint clean

help:
	@echo "make book   execute every notebook (papermill) and build the HTML book into _build/html"
	@echo "make test   run the whole test suite"
	@echo "make run    execute the notebooks only       make html   build the book only"
	@echo "make lint   ruff and zizmor (workflows)       make clean  remove build outputs"
	@echo "make lab    open the notebooks in JupyterLab   make lock   refresh requirements/lock.txt"

# uv installs the lock in 15-20 s from empty caches, pip in 60-83 s (README, "Installs").
$(UV):
	@test -n "$(PYTHON)" || { echo "Python 3.11 not found: install it or pass PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -c 'import sys; assert (3, 11, 5) <= sys.version_info < (3, 12), "$(LOCK) is for Python 3.11 (3.11.5 or later), got " + sys.version.split()[0] + ": pass PYTHON=/path/to/python3.11"'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet "uv==$(UV_VERSION)"

# Exactly the lock's versions, each checked against its hash; then the package itself.
$(STAMP): $(LOCK) pyproject.toml | $(UV)
	$(UV) pip install --quiet --python $(PY) --require-hashes -r $(LOCK)
	$(UV) pip install --quiet --python $(PY) --no-deps -e .
	touch $@

install: $(STAMP)

# Refresh the lock after a change to the dependencies in pyproject.toml: versions already
# locked are kept where they still fit. Then `make install`, rerun the book and `make test`.
lock: | $(UV)
	$(UV) pip compile pyproject.toml --extra book --extra test --python-version 3.11.5 \
	  --python-platform x86_64-manylinux_2_28 --generate-hashes --custom-compile-command "make lock" \
	  $(if $(UPGRADE),--upgrade) --quiet --output-file $(LOCK)

# JupyterLab on the notebooks; they name the kernel `python3`, this environment's Python.
lab: $(STAMP)
	JUPYTER_PREFER_ENV_PATH=1 $(BIN)/jupyter lab notebooks $(LAB_ARGS)

run: $(STAMP)
	$(PY) -m qm7utils.book.run

html: $(STAMP)
	$(BIN)/jupyter-book build . --path-output . -W --keep-going

book: run html

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/zizmor --offline --no-progress .github/workflows

# The whole suite, in five steps; each stops the run when it fails.
#  1. lint; 2. unit, project and notebook tests (the quick profile, parameters through
#  papermill, the stored outputs); 3. nbval reruns every notebook and compares the cells marked
#  NBVAL_CHECK_OUTPUT (results go to a scratch copy, never over results/); 4. the book builds
#  with warnings as errors; 5. the built book in files and in headless Chromium.
test: $(STAMP)
	@echo "== 1/5 ruff ($$(date +%T))"
	$(BIN)/ruff check .
	@echo "== 2/5 unit, project and notebook tests ($$(date +%T))"
	$(call pytest_ok,$(PYTEST) tests --ignore=tests/book --durations=10)
	@echo "== 3/5 nbval: rerun the notebooks, compare the checked outputs ($$(date +%T))"
	scratch=$$(mktemp -d); if [ -d results ]; then cp -r results/. "$$scratch"/; fi; \
	$(call pytest_ok,TQDM_DISABLE=1 QM7_RESULTS_DIR=$$scratch $(PYTEST) --nbval-lax notebooks \
	  --nbval-sanitize-with tests/nbval_sanitize.cfg -p no:cacheprovider --durations=12)
	@echo "== 4/5 jupyter-book build -W ($$(date +%T))"
	$(BIN)/jupyter-book build . --path-output . -W --keep-going
	@echo "== 5/5 the built book, in files and in Chromium ($$(date +%T))"
	$(call pytest_ok,$(PYTEST) tests/book)
	@echo "== all passed ($$(date +%T))"

clean:
	rm -rf _build
