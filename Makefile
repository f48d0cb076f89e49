# Open City: the two commands are `make run` and `make test` (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help
PY := .venv/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
BOOTSTRAP := python3 geocity/bootstrap.py
# Exports DATABASE_URL: the caller's, or the private cluster's under var/ (started if needed).
WITH_DB = DB_URL=$$($(BOOTSTRAP) db) || exit 1; export DATABASE_URL=$$DB_URL;

STACK := $(PY) geocity/stack.py

.PHONY: help run test stop bench lint system system-browser deps messages check-deploy \
	serve status system-stack fuzz

help:
	@echo "make run    install what is missing, start PostGIS, migrate, load the demo city, serve"
	@echo "make test   the whole test suite on a real PostGIS (and Chromium for UI flows)"
	@echo "make serve  the production stack: nginx, gunicorn, Celery, Redis, PostGIS (REPLICA=1"
	@echo "            adds a streaming replica, DEMO=1 loads the demo city)"
	@echo "make stop   stop the production stack and the private PostgreSQL cluster under var/"
	@echo "make bench  benchmarks on generated data (1M reports; takes a while)"
	@echo "make lint   ruff"
	@echo "make fuzz   the long schema-driven fuzzing run (FUZZ_EXAMPLES per operation, role)"

system:
	@$(BOOTSTRAP) system

system-browser:
	@$(BOOTSTRAP) system --browser --stack

system-stack:
	@$(BOOTSTRAP) system --stack

.venv/.installed: pyproject.toml constraints.txt
	@echo "==> Installing Python packages into .venv"
	@test -x $(PY) || python3 -m venv .venv
	@$(PY) -m pip install --upgrade "pip>=24" > .venv/pip.log 2>&1 && \
	$(PY) -m pip install -c constraints.txt -e '.[dev]' >> .venv/pip.log 2>&1 || \
		{ grep -v "^WARNING: Location" .venv/pip.log | tail -40; \
		  echo "*** Installing the Python packages failed (full log: .venv/pip.log)." >&2; exit 1; }
	@touch $@

node_modules/.installed: package.json package-lock.json
	@echo "==> Installing browser libraries (npm ci)"
	@npm ci --no-audit --no-fund --loglevel=error
	@touch $@

deps: system .venv/.installed node_modules/.installed

run: deps
	@$(WITH_DB) \
	$(PY) manage.py migrate --noinput -v 0 && \
	$(PY) manage.py load_demo_city && \
	port=$$($(BOOTSTRAP) free-port $(HOST) $(PORT)) && \
	echo "" && \
	echo "Open City: http://$(HOST):$$port/   admin: http://$(HOST):$$port/admin/" && \
	echo "Demo accounts: admin, official, moderator, staff.roads, staff.lighting, staff.dsns, resident" && \
	echo "Demo password: $${DEMO_PASSWORD:-demo}" && \
	echo "" && \
	exec $(PY) manage.py runserver $(HOST):$$port

test: system-browser deps
	@$(WITH_DB) $(PY) -m pytest $(PYTEST_ARGS)

# The production stack on this machine (geocity/stack.py; README "Deployment").
serve: system-stack deps
	@$(STACK) start $(if $(REPLICA),--replica) $(if $(DEMO),--demo)

status:
	@python3 geocity/stack.py status

stop:
	@python3 geocity/stack.py stop

# The long fuzzing run (make test runs 25 derandomized examples per operation and role).
FUZZ_EXAMPLES ?= 1000
fuzz: system-browser deps
	@$(WITH_DB) FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest tests/reliability -k fuzz $(PYTEST_ARGS)

bench: system-stack deps
	@$(PY) -m pip install -c constraints.txt -e '.[dev,bench]' > .venv/pip-bench.log 2>&1 || \
		{ tail -40 .venv/pip-bench.log; echo "*** Installing the bench extras failed." >&2; exit 1; }
	@$(WITH_DB) $(PY) -m benchmarks $(BENCH_ARGS)

# ruff's linter only: the code is laid out by hand (aligned continuation lines), which
# `ruff format` would rewrite in 133 files.
lint: .venv/.installed
	@$(PY) -m ruff check .

messages: .venv/.installed
	@$(WITH_DB) $(PY) manage.py makemessages -l uk -l en --ignore=node_modules --ignore=.venv --ignore=var && \
	$(PY) manage.py compilemessages --ignore=node_modules --ignore=.venv

check-deploy: .venv/.installed
	@$(WITH_DB) SECRET_KEY=$$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))') \
	ALLOWED_HOSTS=city.example.org $(PY) manage.py check --deploy --settings=geocity.settings.production
