# gearsdash: `make run` starts the demo, `make test` runs the whole suite, `make bench-load` loads it through gunicorn.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
ADDR ?= 127.0.0.1:8000

# The demo: plain HTTP on 127.0.0.1, the bundled simulator as the upstream.
DEMO_ENV := DJANGO_HTTPS=0 GEARS_BASE_URL=$${GEARS_BASE_URL:-http://127.0.0.1:8001}

.PHONY: run test install install-test clean bench-load

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

test: install-test
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest --numprocesses=auto --maxprocesses=4

# Locust against gunicorn, the simulator and a cluster, on PostgreSQL (LOAD_DATABASE_URL, a throw-away
# database: it is dropped and created again) and on SQLite; LOAD_ARGS passes options (see bench/load_run.py).
bench-load: install
	$(BIN)/pip install --quiet -r bench/requirements-load.txt
	$(BIN)/python bench/load_run.py $(LOAD_ARGS)

clean:
	rm -rf $(VENV) var/static .pytest_cache
