# make demo   run the example project against a local S3/STS emulator, with live video
# make test   the whole suite on SQLite and PostgreSQL, with coverage
# make lint   ruff + mypy --strict + import contracts      make bench   the benchmark
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PYTEST := $(VENV)/bin/pytest
COVERAGE_MIN := 95
# The PostgreSQL pass runs what uses the test database; the suites that bring their own
# servers and databases (rgw, e2e, browser, live) run once, in the first pass.
ON_TEST_DATABASE := not rgw and not e2e and not browser and not live

.PHONY: help venv hls-assets test test-sqlite test-postgres coverage lint format demo bench schema tox clean

help:
	@sed -n '1,3p' Makefile

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml scripts/bootstrap.sh
	@scripts/bootstrap.sh

hls-assets: example_project/static/vendor/hls.min.js

example_project/static/vendor/hls.min.js: example_project/package.json example_project/package-lock.json
	cd example_project && npm ci --no-audit --no-fund --loglevel=error
	mkdir -p example_project/static/vendor
	cp example_project/node_modules/hls.js/dist/hls.min.js $@

test: venv hls-assets
	@rm -f .coverage .coverage.*
	BROADCAST_TEST_DB=sqlite $(PYTEST) --cov --cov-report= -p no:randomly --durations=10
	BROADCAST_TEST_DB=postgres $(PYTEST) --cov --cov-append --cov-report= -m "$(ON_TEST_DATABASE)"
	$(VENV)/bin/coverage report --fail-under=$(COVERAGE_MIN)

test-sqlite: venv hls-assets
	BROADCAST_TEST_DB=sqlite $(PYTEST)

test-postgres: venv
	BROADCAST_TEST_DB=postgres $(PYTEST) -m "$(ON_TEST_DATABASE)"

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/lint-imports

format: venv
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

schema: venv
	BROADCAST_API_UPDATE_SCHEMA=1 $(PYTEST) tests/test_schema.py -q

demo: venv hls-assets
	$(PY) scripts/demo.py

bench: venv
	$(PY) benchmarks/run.py

tox: venv
	$(VENV)/bin/tox run-parallel

clean:
	rm -rf $(VENV) build dist .tox .coverage .coverage.* example_project/node_modules example_project/static/vendor test-output
