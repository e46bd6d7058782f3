# make demo   run the example project against a local S3/STS emulator, with live video
# make test   the whole suite on SQLite and PostgreSQL, with coverage, then the Django 5.2
#             LTS line (Python 3.11, no Tasks framework) on both databases
# make lint   ruff + mypy --strict + import contracts + mkdocs --strict
# make bench  the performance benchmark
# make publisher-js  rebuild broadcast_api/static/broadcast_api/publisher.js from js/publisher
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PYTEST := $(VENV)/bin/pytest
# The Django 5.2 LTS line: Python 3.11, Django 5.2, no Tasks framework installed.
VENV_LTS := .venv-lts
VENV_DEMO := .venv-demo
PYTEST_LTS := $(VENV_LTS)/bin/pytest
COVERAGE_MIN := 95
# The PostgreSQL pass runs what uses the test database; the suites that bring their own
# servers and databases (rgw, e2e, browser, live) and the builds (packaging) run once, in
# the first pass.
ON_TEST_DATABASE := not rgw and not e2e and not browser and not live and not packaging
# The LTS line runs everything on the test database, on both databases, and the
# startproject host (a newcomer's Django 5.2 project built from the installation page).
LTS_HOST := tests/test_host_project.py

.PHONY: help venv venv-lts venv-demo hls-assets publisher-js test test-main test-lts test-sqlite test-postgres coverage lint format demo bench schema tox clean

help:
	@sed -n '1,6p' Makefile

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml scripts/bootstrap.sh
	@scripts/bootstrap.sh

venv-lts: $(VENV_LTS)/.installed

# The demo's own, smaller venv: the package and the demo dependency group only.
venv-demo: $(VENV_DEMO)/.installed

$(VENV_DEMO)/.installed: pyproject.toml scripts/bootstrap.sh
	@scripts/bootstrap.sh --demo

$(VENV_LTS)/.installed: pyproject.toml scripts/bootstrap.sh
	@scripts/bootstrap.sh --lts

hls-assets: example_project/static/vendor/hls.min.js

example_project/static/vendor/hls.min.js: example_project/package.json example_project/package-lock.json
	cd example_project && npm ci --no-audit --no-fund --loglevel=error
	mkdir -p example_project/static/vendor
	cp example_project/node_modules/hls.js/dist/hls.min.js $@

# The browser publisher, built from its source and lockfile (esbuild) into the app's
# static files; the file is committed, and tests/test_publisher_bundle.py fails when it is
# not what this builds.
publisher-js:
	cd js/publisher && npm ci --no-audit --no-fund --loglevel=error && npm run build

test: test-main test-lts

test-main: venv hls-assets
	@rm -f .coverage .coverage.*
	BROADCAST_TEST_DB=sqlite $(PYTEST) --cov --cov-report= -p no:randomly --durations=10
	BROADCAST_TEST_DB=postgres $(PYTEST) --cov --cov-append --cov-report= -m "$(ON_TEST_DATABASE)"
	$(VENV)/bin/coverage report --fail-under=$(COVERAGE_MIN)

test-lts: venv-lts
	$(VENV_LTS)/bin/python -c 'import django, sys; print("LTS line: Django", django.get_version(), "on Python", sys.version.split()[0])'
	BROADCAST_TEST_DB=sqlite $(PYTEST_LTS) -p no:randomly -m "$(ON_TEST_DATABASE)"
	BROADCAST_TEST_DB=postgres $(PYTEST_LTS) -p no:randomly -m "$(ON_TEST_DATABASE)"
	BROADCAST_TEST_DB=sqlite $(PYTEST_LTS) -p no:randomly $(LTS_HOST)

test-sqlite: venv hls-assets
	BROADCAST_TEST_DB=sqlite $(PYTEST)

test-postgres: venv
	BROADCAST_TEST_DB=postgres $(PYTEST) -m "$(ON_TEST_DATABASE)"

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/lint-imports
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet

format: venv
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

schema: venv
	BROADCAST_API_UPDATE_SCHEMA=1 $(PYTEST) tests/test_schema.py -q

demo: venv-demo hls-assets
	$(VENV_DEMO)/bin/python -m devtools.demo

bench: venv
	$(PY) -m benchmarks

tox: venv
	$(VENV)/bin/tox run-parallel

clean:
	rm -rf $(VENV) $(VENV_LTS) $(VENV_DEMO) build dist .tox .coverage .coverage.* example_project/node_modules example_project/static/vendor js/publisher/node_modules test-output
