# User-facing commands. Each sets up first (idempotent, seconds when nothing changed).
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup sweep test lint dashboard clean-workspace

setup:
	@bash scripts/setup.sh

## The default sweep: tiny preset, six variants, cpu-default suite, end to end on CPU.
sweep: setup
	@bash scripts/with-env.sh $(BIN)/vlaser sweep

## The whole test suite (what CI runs).
test: setup
	@bash scripts/with-env.sh $(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: setup
	@$(BIN)/ruff check vlaser pipelines flows dashboard tests benchmarks

dashboard: setup
	@bash scripts/with-env.sh $(BIN)/vlaser dashboard

## The tracking stack (PostgreSQL + MLflow server + Prefect server on 127.0.0.1); see docs/scaling.md.
.PHONY: stack-up stack-down
stack-up: setup
	@bash scripts/with-env.sh $(BIN)/vlaser stack up --prefect

stack-down:
	@bash scripts/with-env.sh $(BIN)/vlaser stack down
