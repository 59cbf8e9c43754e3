# gearsdash: `make run` starts the demo, `make test` runs the whole suite,
# `make serve` runs production (gunicorn and a cluster), `make worker` a cluster only,
# `make bench-load` loads the site through gunicorn.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
ADDR ?= 127.0.0.1:8000

# The demo: plain HTTP on 127.0.0.1, the bundled simulator as the upstream.
DEMO_ENV := GEARSDASH_DEMO=1 DJANGO_HTTPS=0 GEARS_BASE_URL=$${GEARS_BASE_URL:-http://127.0.0.1:8001}

.PHONY: run serve worker test test-unit test-integration install install-test clean bench-load

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-test: requirements-test.txt requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-test.txt
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

run: install
	$(DEMO_ENV) $(BIN)/python manage.py migrate --noinput
	$(DEMO_ENV) $(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(DEMO_ENV) $(BIN)/python manage.py load_demo
	$(DEMO_ENV) exec $(BIN)/python manage.py rundemo --addr $(ADDR)

# Production: DATABASE_URL and Q_CLUSTER_REDIS_URL as the user sets them (docs/production.md).
# SERVE_ARGS passes options to `manage.py serve` (--clusters 2, --allow-sqlite).
serve: install
	exec $(BIN)/python manage.py serve --prepare $(SERVE_ARGS)

# Another machine's cluster(s): the same two URLs, no site.
worker: install
	exec $(BIN)/python manage.py serve --no-site $(SERVE_ARGS)

# The whole suite: the linter, the contracts, the unit and browser tests in parallel, then the integration
# suite (real processes on PostgreSQL and Redis) once, on its own.
test: test-unit test-integration

test-unit: install-test
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest -m "not integration" --numprocesses=auto --maxprocesses=4

# Needs PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379 (skips without them, fails in CI).
# Two test files at a time (the cloud outage mostly waits out its two minutes), sharing one template database.
test-integration: install-test
	$(BIN)/python -m pytest -m integration devices/tests/deployment --numprocesses=2 --dist=loadfile

# Locust against gunicorn, the simulator and a cluster, on PostgreSQL (LOAD_DATABASE_URL, a throw-away
# database: it is dropped and created again) and on SQLite; LOAD_ARGS passes options (see bench/load_run.py).
bench-load: install
	$(BIN)/pip install --quiet -r bench/requirements-load.txt
	$(BIN)/python bench/load_run.py $(LOAD_ARGS)

clean:
	rm -rf $(VENV) var/static .pytest_cache
