# okno — the README offers two commands: `make run` and `make test`.
# Everything else here is for developers. Extra arguments go in ARGS, e.g.
#   make test ARGS="-k intake -x"      make run ARGS="--config okno.yaml"

SHELL := /bin/bash
.DEFAULT_GOAL := help
ARGS ?=
VENV := .venv/bin

.PHONY: help run test lint fmt bench catalogs bootstrap services

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

run: ## run the service (SQLite, in-process queues) on http://127.0.0.1:8080
	@bash scripts/run.sh $(ARGS)

test: ## run all tests on SQLite, then on PostgreSQL + Redis (starts them if needed)
	@bash scripts/test.sh $(ARGS)

lint: bootstrap ## ruff check, ruff format --check, mypy, import-linter
	$(VENV)/ruff check .
	$(VENV)/ruff format --check .
	$(VENV)/mypy
	$(VENV)/lint-imports

fmt: bootstrap ## format the code and apply safe ruff fixes
	$(VENV)/ruff format .
	$(VENV)/ruff check --fix .

bench: bootstrap ## run the benchmarks (scripts/bench.sh)
	@if [[ -f scripts/bench.sh ]]; then bash scripts/bench.sh $(ARGS); \
	else echo "make bench: scripts/bench.sh does not exist yet, no benchmarks to run"; fi

catalogs: bootstrap ## extract messages, update the .po catalogs, compile them
	$(VENV)/pybabel extract -F babel.cfg -o locales/messages.pot .
	$(VENV)/pybabel update -i locales/messages.pot -d locales -D messages
	$(VENV)/pybabel compile -d locales -D messages

bootstrap: ## install uv and the locked virtualenv, compile catalogs
	@bash scripts/bootstrap.sh

services: ## make sure PostgreSQL and Redis answer on 127.0.0.1 (root to install/start)
	@bash scripts/services.sh
