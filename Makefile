# User-facing commands. Each sets up first (idempotent, seconds when nothing changed).
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup sweep smoke test test-all lint dashboard
STUDY ?= studies/default

setup:
	@bash scripts/setup.sh

## The default sweep: the toy-scale study (six variants x 3 seeds, PushCube + PullCube; docs/study.md) in its
## own workspace $(STUDY), then its report (tables with intervals + scatter) in $(STUDY)/study-report.
## Re-running it resumes: finished stages are DVC cache hits.
sweep: setup
	@bash scripts/with-env.sh $(BIN)/vlaser workspace $(STUDY) --preset study
	@VLASER_WORKSPACE=$(abspath $(STUDY)) bash scripts/with-env.sh $(BIN)/vlaser sweep
	@bash scripts/with-env.sh $(BIN)/vlaser report $(STUDY)/reports --out $(STUDY)/study-report

## The quick smoke test: the tiny preset, six variants, in this checkout (minutes).
smoke: setup
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
