# OneCard — common commands. `make run` and `make test` are the two a new user needs.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ONECARD := $(BIN)/onecard
PORT ?= 8000
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: install run test test-postgres test-browser test-api-fuzz lint format messages clean-db

$(STAMP): requirements.lock pyproject.toml package.json package-lock.json
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "OneCard needs Python 3.11 or newer")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	npm ci --no-audit --no-fund --loglevel=error
	touch $(STAMP)

install: $(STAMP)

## Serve OneCard on http://127.0.0.1:$(PORT): migrate, load demo data the first time, print logins.
run: install
	$(ONECARD) serve --port $(PORT)

## The whole suite on SQLite (browser tests run too when Chromium is installed).
test: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(ONECARD) makemigrations --check --dry-run
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)

## The same suite on PostgreSQL, plus the concurrency tests only a real server shows.
test-postgres: install
	ONECARD_TEST_DATABASE_URL=$${ONECARD_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/onecard_ci} \
	  ONECARD_SKIP_BROWSER=1 $(BIN)/pytest -n 2 $(PYTEST_ARGS)

## Browser tests only (Playwright driving Debian's chromium).
test-browser: install
	ONECARD_REQUIRE_BROWSER=1 $(BIN)/pytest -m browser $(PYTEST_ARGS)

## The OpenAPI schema's fuzz (schemathesis) against a live server on a throw-away demo database:
## fails on any 5xx and any answer that breaks the schema. FUZZ_ARGS="--max-time 600" fuzzes longer.
FUZZ_ARGS ?=
test-api-fuzz: install
	$(BIN)/python -m onecard.testing.api_fuzz $(FUZZ_ARGS)

## Style, formatting and the import contracts (pyproject.toml [tool.importlinter]: the layers of docs/architecture.md).
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## Re-extract translatable strings and compile the .mo files (needs GNU gettext).
messages: install
	cd onecard && ../$(ONECARD) makemessages -l zh_Hans -l en --no-obsolete
	cd onecard && ../$(ONECARD) compilemessages
