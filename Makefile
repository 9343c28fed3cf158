# Offerdesk: `make run` serves the portal, `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi
HOST ?= 127.0.0.1
PORT ?= 5000
# the address the receivers of automatic fulfillment steps call back
export PUBLIC_URL ?= http://$(HOST):$(PORT)
WORKERS ?= 4
# pytest-xdist processes for the suite: the development VM and CI have 2 cores
TEST_WORKERS ?= 2
PYTEST := $(BIN)/python -m pytest -p no:cacheprovider -n $(TEST_WORKERS)

.PHONY: run serve test test-sqlite test-postgres setup system-deps lint format bench clean \
	translations compile-translations check-translations

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# Message catalogs (app/translations/<lang>/LC_MESSAGES/messages.po, German for now). The
# compiled .mo files are built here, never committed.
CATALOGS := $(wildcard app/translations/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGS:.po=.mo)
$(COMPILED): %.mo: %.po | $(VENV)/.installed
	$(BIN)/pybabel compile -i $< -o $@ --statistics

compile-translations: $(COMPILED)

# After changing strings: extract them afresh, merge them into each catalog (new ones come in
# empty), compile, and list what still lacks a translation.
translations: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k lazy_ngettext:1,2 --no-location --sort-output \
		--project Offerdesk -o app/translations/messages.pot .
	$(BIN)/pybabel update -i app/translations/messages.pot -d app/translations \
		--no-fuzzy-matching --ignore-obsolete --ignore-pot-creation-date
	$(MAKE) compile-translations
	$(BIN)/python -m tests.i18n.catalog

check-translations: $(VENV)/.installed
	$(BIN)/python -m tests.i18n.catalog

setup: $(VENV)/.installed compile-translations
	$(BIN)/flask db upgrade
	$(BIN)/flask seed
	$(BIN)/flask search reindex

# The web server and one job worker together (Procfile, run by honcho); Ctrl-C stops both.
run: setup
	BIN=$(BIN) WEB="$(BIN)/flask run --host $(HOST) --port $(PORT)" $(BIN)/honcho start

serve: setup
	BIN=$(BIN) WEB="$(BIN)/gunicorn --workers $(WORKERS) --bind $(HOST):$(PORT) --access-logfile - wsgi:app" \
		$(BIN)/honcho start

# Debian's Chromium (for the browser tests), PostgreSQL (for the second run), redis-server
# (for the job worker tests) and Node.js with npm (the OpenID provider of the sign-in tests),
# when missing.
system-deps:
	@missing=""; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	[ -x /usr/bin/redis-server ] || missing="$$missing redis-server"; \
	command -v node >/dev/null || missing="$$missing nodejs"; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
		echo "Installing Debian packages:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

# The OpenID provider the sign-in tests start (oidc-provider, from the npm registry).
OIDC_PROVIDER := tests/oidc/node_modules/.installed
$(OIDC_PROVIDER): tests/oidc/package.json tests/oidc/package-lock.json | system-deps
	cd tests/oidc && npm ci --no-audit --no-fund --silent
	touch $@

lint: $(VENV)/.installed
	$(BIN)/ruff check app tests
	$(BIN)/ruff format --check app tests
	$(BIN)/lint-imports

format: $(VENV)/.installed
	$(BIN)/ruff format app tests
	$(BIN)/ruff check --fix app tests

test-sqlite: $(VENV)/.installed compile-translations system-deps $(OIDC_PROVIDER)
	@echo "=== Test suite on SQLite ==="
	$(PYTEST)

test-postgres: $(VENV)/.installed compile-translations system-deps $(OIDC_PROVIDER)
	@echo "=== Test suite on PostgreSQL ==="
	bash tests/with_postgres.sh $(PYTEST)

test: lint test-sqlite test-postgres

# The benchmarks of docs/benchmarks.md on SQLite (data in /tmp; the page bench generates its
# 10,000 offers, 100,000 subscriptions and 1,000,000 usage rows first).
bench: $(VENV)/.installed
	$(BIN)/python -m tests.bench.bench_jobs --jobs 2000 --workers 2
	$(BIN)/python -m tests.bench.bench_search --database-url sqlite:////tmp/bench-search.db --generate 10000
	$(BIN)/python -m tests.bench.bench_pages --database-url sqlite:////tmp/bench.db --generate
	$(BIN)/python -m pytest -p no:cacheprovider -n 0 -s tests/bench/bench_first_delivery.py

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache tests/oidc/node_modules
