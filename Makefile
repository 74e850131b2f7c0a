# Two commands for a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
export STUDYGROUP_ENV ?= development

.PHONY: run test test-postgres lint translations messages fonts browser icaljs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Stamps re-run the install whenever pyproject.toml changes.
$(VENV)/.installed-app: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@ $(VENV)/.installed-app

translations: $(VENV)/.installed-app
	$(BIN)/pybabel compile -d studygroup/translations

# After changing user-visible strings: refresh the template and the catalogs, then translate
# the new entries in studygroup/translations/ja/LC_MESSAGES/messages.po.
messages: $(VENV)/.installed-app
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k lazy_ngettext:1,2 --no-location --sort-output \
		--omit-header --width 100 -o studygroup/translations/messages.pot .
	$(BIN)/pybabel update -i studygroup/translations/messages.pot -d studygroup/translations \
		--no-fuzzy-matching --ignore-obsolete --width 100

run: $(VENV)/.installed-app translations fonts
	$(FLASK) db upgrade
	$(FLASK) demo
	@echo "studygroup is serving on http://127.0.0.1:5000 (Ctrl-C to stop)"
	$(FLASK) run --host 127.0.0.1 --port 5000

# The Japanese font the sharing cards are drawn with (fonts-noto-cjk).
fonts:
	@scripts/ensure-fonts

browser: fonts
	@scripts/ensure-chromium

# Mozilla's ical.js (Thunderbird's parser), a second reader of our feeds in the tests.
icaljs: tests/icaljs/node_modules/.installed
tests/icaljs/node_modules/.installed: tests/icaljs/package.json tests/icaljs/package-lock.json
	@if command -v npm >/dev/null; then \
		npm ci --prefix tests/icaljs --no-audit --no-fund --silent && touch $@; \
	else echo "npm not found: the ical.js checks will skip (and fail in CI)"; fi

# Lint first (`ruff check` and `ruff format --check`), then the suite.
test: $(VENV)/.installed-dev lint translations fonts browser icaljs
	$(BIN)/pytest

# The same suite against the local PostgreSQL server (each run makes its own database).
test-postgres: $(VENV)/.installed-dev lint translations fonts browser icaljs
	TEST_DATABASE_URL=$${TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test} $(BIN)/pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts tests/icaljs/node_modules
	find studygroup/translations -name '*.mo' -delete
