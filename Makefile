# Two commands for a fresh machine with Python 3.11 (see README, Quick start):
#   make run    install, load the shipped cluster into a SQLite file, start the daemon
#   make test   install dev dependencies, then lint, format check, type check, all tests
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
DB     ?= sqlite:///tracker.db

.PHONY: run test install install-dev lint clean config-docs catalogs

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .

install-dev: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'

run: install
	$(BIN)/tracker --db $(DB) init --cycle current
	$(BIN)/tracker --db $(DB) run

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest

config-docs: install-dev  # the config reference, generated from the schema (a test checks it)
	$(BIN)/python -m tracker.config.reference > docs/config.md

catalogs: install-dev  # extract, update and compile tracker/locale/*/LC_MESSAGES/*.po (a test checks them)
	$(BIN)/python -m tracker.catalogs update
	$(BIN)/python -m tracker.catalogs check

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache tracker.db* outbox-mail
