# The one way in: `make run` to try the platform, `make test` to check it.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
HOST ?= 127.0.0.1
PORT ?= 5000
CHROMIUM := /usr/bin/chromium

.PHONY: run serve test audit fuzz bench-load pdf-libraries bench bench-eligibility bench-matching bench-indicators lint format install install-test browser clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade 'pip>=26.2' 'setuptools>=83'

$(VENV)/.installed: pyproject.toml | $(BIN)/python pdf-libraries
	$(BIN)/pip install --quiet -e .
	touch $@

## pdf-libraries: Debian's Pango, which WeasyPrint draws the weekly report's PDF with
pdf-libraries:
	@/sbin/ldconfig -p | grep -q libpangoft2-1.0.so.0 || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0; }

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

$(VENV)/.installed-bench: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[bench]'
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

## run: install, migrate the embedded SQLite database, load the demonstration data once, serve
run: install
	APP_ENV=development $(FLASK) db upgrade
	APP_ENV=development $(FLASK) seed-demo
	@echo "Plateforme VDSI sur http://$(HOST):$(PORT)/ (Ctrl-C pour arrêter)"
	APP_ENV=development PUBLIC_BASE_URL=$${PUBLIC_BASE_URL:-http://$(HOST):$(PORT)} $(FLASK) run --host $(HOST) --port $(PORT)

## serve: production-style (gunicorn); needs SECRET_KEY and DATABASE_URL (PostgreSQL)
serve: install
	@test -n "$$SECRET_KEY" || { echo "SECRET_KEY doit être défini (voir README)"; exit 1; }
	APP_ENV=production $(FLASK) db upgrade
	APP_ENV=production $(BIN)/gunicorn --bind $(HOST):$(PORT) --workers $${WEB_CONCURRENCY:-2} \
		--worker-class gthread --threads $${GUNICORN_THREADS:-4} \
		--access-logfile - --access-logformat '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms' \
		'app.wsgi:application'

## browser: Debian's Chromium for the browser tests (never a downloaded browser build)
browser:
	@test -x $(CHROMIUM) || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

## test: the whole suite (SQLite; also PostgreSQL when TEST_DATABASE_URL is set)
test: install-test browser
	$(BIN)/pytest

## bench: performance figures, printed as tables (PostgreSQL too when BENCH_DATABASE_URL is set)
bench: bench-eligibility bench-matching bench-indicators

bench-eligibility: install
	$(BIN)/python -m benchmarks.eligibility

## bench-matching: the planner against the bounds, PyVRP, VROOM and the broadcast (docs/benchmarks.md)
bench-matching: $(VENV)/.installed-bench
	$(BIN)/python -m benchmarks.matching $(BENCH_ARGS)

## bench-indicators: the steering indicators on a year of data, 100 000 visits (docs/benchmarks.md)
bench-indicators: install
	$(BIN)/python -m benchmarks.indicators

## fuzz: the hostile-input suite with many more generated cases per API operation
fuzz: install-test
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-200} $(BIN)/pytest -q tests/test_hostile_input.py

## bench-load: gunicorn and PostgreSQL on loopback at rising request rates (docs/reliability.md)
bench-load: $(VENV)/.installed-bench
	$(BIN)/python -m benchmarks.load $(LOAD_ARGS)

## audit: known vulnerabilities in the installed dependencies (PyPI advisories; needs network)
audit: install-test
	$(BIN)/pip install --quiet 'pip-audit>=2.9,<3'
	$(BIN)/pip-audit --strict --skip-editable --progress-spinner off

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
