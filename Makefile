# Two commands for a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
export STUDYGROUP_ENV ?= development

.PHONY: run test test-postgres lint translations messages browser clean

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
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output \
		--omit-header -o studygroup/translations/messages.pot .
	$(BIN)/pybabel update -i studygroup/translations/messages.pot -d studygroup/translations \
		--no-fuzzy-matching --ignore-obsolete

run: $(VENV)/.installed-app translations
	$(FLASK) db upgrade
	$(FLASK) demo
	@echo "studygroup is serving on http://127.0.0.1:5000 (Ctrl-C to stop)"
	$(FLASK) run --host 127.0.0.1 --port 5000

browser:
	@scripts/ensure-chromium

test: $(VENV)/.installed-dev translations browser
	$(BIN)/ruff check .
	$(BIN)/pytest

# The same suite against the local PostgreSQL server (each run makes its own database).
test-postgres: $(VENV)/.installed-dev translations browser
	TEST_DATABASE_URL=$${TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test} $(BIN)/pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts
	find studygroup/translations -name '*.mo' -delete
