# User-facing commands. Each sets up first (idempotent, seconds when nothing changed).
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup sweep test test-all lint dashboard

setup:
	@bash scripts/setup.sh

## The default sweep: tiny preset, six variants, cpu-default suite, end to end on CPU.
sweep: setup
	@bash scripts/with-env.sh $(BIN)/vlaser sweep

## The test suite CI runs (about 40 min on 2 cores): everything except tests marked `slow`.
test: setup
	@bash scripts/with-env.sh $(BIN)/python -m pytest -q -m "not slow" $(PYTEST_ARGS)

## Everything, including the slow drills: fault suite, scale-out stack, multi-process training,
## full SIGKILL-and-resume sweep (about 40 min more).
test-all: setup
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
