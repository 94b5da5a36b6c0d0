# powerfirst — the README's commands.
#   make demo   create .venv, install, build the default cubes if missing, serve http://localhost:5006
#   make test   create/update .venv with the test extras, run the whole suite (unit, notebooks, browser)
#   make lab    JupyterLab on notebooks/
#   make bench  run the benchmarks in benchmarks/ (each prints its figures and a last JSON line)
#   make docs   build the docs (Sphinx, warnings as errors) into docs/_build/html

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# benchmarks get their own venv: skforecast (the forecast benchmark's baseline) pins pandas < 3
BENCH_VENV ?= .venv-bench
PORT ?= 5006
# the suite runs on every core (pytest-xdist); PYTEST_ARGS="-n 0" runs it serially
PYTEST_ARGS ?= -n auto
# pip prints one harmless line per ignored local index location; keep its exit status
PIP := $(BIN)/python -m pip --disable-pip-version-check
QUIET_PIP = 2> >(grep -v "^WARNING: Location" >&2)

.PHONY: demo test lab bench docs cubes lint clean help

help:
	@sed -n '2,7p' Makefile

$(BIN)/python:
	@echo "creating the virtual environment $(VENV) ..."
	$(PYTHON) -m venv $(VENV)

# pip shows what it collects and downloads (progress bars on a terminal): the first install takes minutes
$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	@echo "installing powerfirst and its dependencies into $(VENV) (a few minutes the first time) ..."
	$(PIP) install --progress-bar on -e . $(QUIET_PIP)
	@touch $@
	@echo "installed powerfirst into $(VENV)"

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	@echo "installing powerfirst with its test extras into $(VENV) (a few minutes the first time) ..."
	$(PIP) install -q -e '.[test]' $(QUIET_PIP)
	touch $@ $(VENV)/.installed-run

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(PIP) install -q -e '.[dev]' $(QUIET_PIP)
	touch $@ $(VENV)/.installed-run $(VENV)/.installed-test

cubes: $(VENV)/.installed-run
	$(BIN)/powerfirst demo --no-serve

# powerfirst demo says each step: building the default cubes, then serving at http://127.0.0.1:$(PORT)
demo: $(VENV)/.installed-run
	@echo "starting the demo (powerfirst demo --port $(PORT)) ..."
	$(BIN)/powerfirst demo --port $(PORT)

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest tests $(PYTEST_ARGS)

lab: $(VENV)/.installed-test
	$(BIN)/jupyter lab notebooks/

$(BENCH_VENV)/.installed-bench: pyproject.toml
	test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip --disable-pip-version-check install -q -e '.[bench]' $(QUIET_PIP)
	touch $@

bench: $(BENCH_VENV)/.installed-bench
	@set -e; for b in benchmarks/*.py; do echo "== $$b"; $(BENCH_VENV)/bin/python $$b; done

$(VENV)/.installed-docs: pyproject.toml | $(BIN)/python
	$(PIP) install -q -e '.[docs]' $(QUIET_PIP)
	touch $@ $(VENV)/.installed-run

docs: $(VENV)/.installed-docs
	$(BIN)/sphinx-build -W --keep-going -b html docs docs/_build/html

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check toolkit tests benchmarks data/*.py

clean:
	rm -rf $(VENV) $(BENCH_VENV) .pytest_cache data/cubes
