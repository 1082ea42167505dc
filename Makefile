# qm7-book: two commands do everything.
#   make book   execute every notebook on the real QM7 data, then build the HTML book
#   make test   the whole test suite (CI runs exactly this)
# Both create .venv and install the dependencies themselves on first use.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
STAMP  := $(VENV)/.installed
# pytest exits with 5 when it collects nothing: not a failure here.
PYTEST  = $(BIN)/pytest
define pytest_ok
$(1) || { rc=$$?; [ $$rc -eq 5 ] && echo "(no tests collected)" || exit $$rc; }
endef

export KERAS_BACKEND := jax
export PYTHONHASHSEED := 0

.PHONY: help install book run html test lint clean

help:
	@echo "make book   execute every notebook (papermill) and build the HTML book into _build/html"
	@echo "make test   run the whole test suite"
	@echo "make run    execute the notebooks only       make html   build the book only"
	@echo "make lint   ruff check                        make clean  remove build outputs"

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11 not found: install it or pass PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "qm7-book needs Python >= 3.11, got " + sys.version'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[book,test]"
	touch $@

install: $(STAMP)

run: $(STAMP)
	$(PY) -m qm7utils.book.run

html: $(STAMP)
	$(BIN)/jupyter-book build . --path-output . -W --keep-going

book: run html

lint: $(STAMP)
	$(BIN)/ruff check .

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
