# MPPI: `make run` starts the whole platform on http://127.0.0.1:8000; `make test` runs every test.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
export MPPI_ADMIN_EMAIL ?= admin@mppi.local
export MPPI_ADMIN_PASSWORD ?= admin12345
export MPPI_WEBHOOK_ALLOW_PRIVATE ?= true
export PYTHONWARNINGS ?= ignore::DeprecationWarning

.PHONY: install run test lint bench clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check "setuptools<81" wheel
	$(PY) -m pip install -q --disable-pip-version-check -e ".[test]"
	touch $@

install: $(VENV)/.installed

run: install
	@$(PY) -m devtools.preflight
	$(PY) -m mppi.runtime.migrations
	$(PY) -m devtools.seed_demo
	PATH="$(abspath $(VENV))/bin:$$PATH" $(VENV)/bin/honcho -f Procfile start

lint: install
	$(VENV)/bin/ruff check .

test: install lint
	$(VENV)/bin/pytest

bench: install
	$(PY) bench/run.py

clean:
	rm -rf var .pytest_cache .ruff_cache
