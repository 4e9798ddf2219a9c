# MPPI: `make run` starts the whole platform on http://127.0.0.1:8000; `make test` runs every test.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
export MPPI_ADMIN_EMAIL ?= admin@mppi.local
export MPPI_ADMIN_PASSWORD ?= admin12345
export MPPI_WEBHOOK_ALLOW_PRIVATE ?= loopback
export PYTHONWARNINGS ?= ignore::DeprecationWarning

.PHONY: install services run test test-faults lint bench clean chromium screenshots

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check "setuptools<81" wheel
	$(PY) -m pip install -q --disable-pip-version-check -e ".[test]"
	touch $@

install: $(VENV)/.installed

services:  # RabbitMQ (management and shovel plugins on) and PostgreSQL: installed with apt-get if missing, started if stopped
	@devtools/services.sh

run: install services
	@$(PY) -m devtools.preflight
	$(PY) -m mppi.runtime.migrations
	$(PY) -m devtools.seed_demo
	PATH="$(abspath $(VENV))/bin:$$PATH" $(VENV)/bin/honcho -f Procfile start

lint: install
	$(VENV)/bin/ruff check .

chromium:  # the browser tests drive Debian's chromium (Playwright's own browser download does not work offline)
	@command -v chromium >/dev/null 2>&1 || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -yq chromium; }

k8s-check: install  # both Kubernetes overlays render (the venv's kubectl) and validate offline; policy tests
	@out=$$(mktemp -d) && trap 'rm -rf "$$out"' EXIT && \
	for o in dev dev/migrations production production/migrations; do \
	  $(VENV)/bin/kubectl kustomize deploy/k8s/overlays/$$o > "$$out/$${o//\//-}.yaml" || exit 1; \
	done && $(VENV)/bin/kubernetes-validate --strict --quiet --no-warn "$$out"/*.yaml
	$(VENV)/bin/pytest -q tests/deploy

test: install services lint chromium k8s-check
	$(VENV)/bin/pytest --ignore=tests/deploy  # k8s-check ran those
	$(VENV)/bin/pytest tests_browser

screenshots: install chromium  # the main pages, phone and desktop, into docs/screenshots (shown in the README)
	MPPI_SCREENSHOTS=docs/screenshots $(VENV)/bin/pytest -q tests_browser

test-faults: install services  # kills services, restarts RabbitMQ and PostgreSQL under a stream of submissions
	$(VENV)/bin/pytest -s -m faults tests/faults  # -s: each fault prints its counts

bench: install services
	$(PY) bench/run.py

clean:
	rm -rf var .pytest_cache .ruff_cache
