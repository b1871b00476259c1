# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5000

.PHONY: run test bench audit catalogs messages lint clean

# The venv is rebuilt when pyproject.toml changes; the stamp files record what is installed.
$(VENV)/.base: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.test: $(VENV)/.base
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# Compiled catalogs are build output (not committed): make them from the .po files.
catalogs: $(VENV)/.base
	$(BIN)/pybabel compile --statistics -d locales 2>&1 | grep -v '^compiling' || true

# Re-extract messages from code and flows, and merge them into every catalog.
messages: $(VENV)/.base
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k _ --no-location --sort-output \
		--project=baraza -o locales/messages.pot .
	$(BIN)/pybabel update -i locales/messages.pot -d locales --width=100 --ignore-obsolete

run: $(VENV)/.base catalogs
	$(BIN)/baraza db upgrade
	$(BIN)/baraza demo seed --if-empty
	PORT=$(PORT) $(BIN)/baraza serve

test: $(VENV)/.test catalogs
	scripts/install-test-deps
	$(BIN)/baraza flows check
	$(BIN)/pytest -q

bench: $(VENV)/.test catalogs
	scripts/install-test-deps
	$(BIN)/python -m bench

# Known vulnerabilities in every installed package; a warning, not a failure, when the
# vulnerability service cannot be reached (scripts/audit).
audit: $(VENV)/.test
	scripts/audit $(BIN)/pip-audit

lint: $(VENV)/.test
	$(BIN)/ruff check app workers tests bench

clean:
	rm -rf $(VENV) instance
	find locales -name '*.mo' -delete
